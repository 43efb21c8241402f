// The seam between an Engine and the device it runs on: one RX/TX queue pair of
// one port, owned by one engine (one lcore). lib/dpdk implements it over an
// ethdev queue with mbufs (DpdkPort); tests implement it over heap buffers and an
// in-memory link (SimPort). The engine calls it once per burst, never per
// packet, so the calls may be virtual:
//
//   RxFrame rx[32];
//   const auto n = port.rx_burst(rx, 32);     // the engine owns rx[i].handle now
//   ...                                        // parse, TCP input, build replies
//   TxFrame tx[64]; ...                        // headers written, payload borrowed
//   port.tx_burst(tx, m);                      // built, sent; unsent frames dropped and counted
//   port.free_rx(handles, k);                  // RX buffers not kept by lib/tcp
//
// Payload buffers of TCP segments come from and go back to the port's pool through
// buffer_ops() (lib/tcp's BufferStore), so an RX buffer can be kept by a
// connection's receive queue and later sent back by an echo application without a
// copy: TxFrame::pieces borrows it, and the port attaches it (an mbuf clone) to
// the frame it builds.
#pragma once

#include <array>
#include <cstdint>

#include "ustcp/base/addr.hpp"
#include "ustcp/tcp/buffer.hpp"
#include "ustcp/tcp/send_queue.hpp"

namespace ustcp::engine {

/// What the hardware (or the port's software path) already checked on RX.
enum RxFlags : std::uint32_t {
    kRxIpCsumGood = 1u << 0,   ///< IPv4 header checksum verified
    kRxIpCsumBad = 1u << 1,
    kRxL4CsumGood = 1u << 2,   ///< TCP checksum verified
    kRxL4CsumBad = 1u << 3,
    /// A copy of a frame that other lcores' engines get too (ARP, by a steering port): learn
    /// from it, do not answer it (the engine of the frame's original queue answers).
    kRxReplica = 1u << 4,
};

/// One received frame: the port's buffer `handle` and the frame's bytes (contiguous,
/// Ethernet header first). The bytes are writable: a reply may be built in place.
struct RxFrame {
    void* handle = nullptr;
    std::uint8_t* data = nullptr;
    std::uint32_t len = 0;
    std::uint32_t flags = 0;
};

/// One frame to send. Either a complete frame the port already owns (`raw`, e.g. an RX
/// buffer rewritten into an ARP or ICMP reply, data/len inside it), or headers the engine
/// wrote (Ethernet + IPv4 + TCP, `hdr_len` bytes) followed by `len` payload bytes borrowed
/// from a connection's send queue (`pieces`), which the port attaches without copying.
struct TxFrame {
    static constexpr std::size_t kMaxHeader = 128;
    void* raw = nullptr;
    std::uint8_t* raw_data = nullptr;
    std::uint32_t raw_len = 0;

    std::array<std::uint8_t, kMaxHeader> hdr;
    std::uint16_t hdr_len = 0;
    std::uint16_t l3_offset = 14;  ///< where the IPv4 header starts (after Ethernet/VLAN)
    tcp::SendQueue::Pos pieces{};
    std::uint32_t len = 0;
    /// The TCP checksum is left for the NIC (the pseudo-header sum is in the header, as
    /// DPDK's offload expects); false: the engine computed it.
    bool l4_csum_offload = false;
    bool ip_csum_offload = false;
    /// TSO: the port cuts the payload into segments of this many bytes (the connection's
    /// MSS), each with copies of the headers, sequence numbers advanced, IPv4 lengths, IDs
    /// and both checksums fixed; FIN and PSH only on the last. 0: send as one frame. The TCP
    /// checksum field holds the pseudo-header sum without the length, as DPDK's TSO expects.
    std::uint16_t tso_segsz = 0;
    std::uint8_t l4_len = 0;  ///< TCP header bytes (for TSO)
};

/// What a port can do for the engine (from rte_eth_dev_info in lib/dpdk).
struct PortCaps {
    bool rx_ip_csum = false;
    bool rx_l4_csum = false;
    bool tx_ip_csum = false;
    bool tx_l4_csum = false;
    bool tx_tso = false;
    /// Raw frames above the MTU are fragmented by the port (rte_ip_frag): the engine may
    /// answer a reassembled echo request in full.
    bool tx_ip_fragment = false;
    bool rss = false;
    std::uint16_t mtu = 1500;
};

/// Counters a port keeps for what it could not do.
struct PortStats {
    std::uint64_t rx_frames = 0;
    std::uint64_t rx_bytes = 0;
    std::uint64_t tx_frames = 0;
    std::uint64_t tx_bytes = 0;
    std::uint64_t tx_dropped = 0;       ///< the queue was full: frames freed, counted
    std::uint64_t tx_no_buffer = 0;     ///< no mbuf for a header or a payload clone
};

/// Calls f(name, value) for every PortStats field, in declaration order.
template <class F>
void for_each_counter(const PortStats& s, F&& f) {
    f("rx_frames", s.rx_frames);
    f("rx_bytes", s.rx_bytes);
    f("tx_frames", s.tx_frames);
    f("tx_bytes", s.tx_bytes);
    f("tx_dropped", s.tx_dropped);
    f("tx_no_buffer", s.tx_no_buffer);
}
static_assert(sizeof(PortStats) == 6 * sizeof(std::uint64_t), "for_each_counter lists every field");

class Port {
public:
    virtual ~Port() = default;

    /// Up to `max` received frames. The caller owns each handle until it passes it to
    /// free_rx(), to lib/tcp (as a BufRef payload), or sends it back as a TxFrame::raw.
    virtual std::uint16_t rx_burst(RxFrame* out, std::uint16_t max) noexcept = 0;
    /// Builds and sends `n` frames; returns how many went. A frame that cannot go (queue
    /// full, no buffer) is freed and counted in stats(); nothing is retried here (TCP
    /// retransmits). Borrowed payload stays the caller's.
    virtual std::uint16_t tx_burst(TxFrame* frames, std::uint16_t n) noexcept = 0;
    /// Frees RX buffers the engine did not keep.
    virtual void free_rx(void* const* handles, std::uint16_t n) noexcept = 0;
    /// The pool lib/tcp allocates copying writes from and frees payload buffers to.
    virtual tcp::BufferOps buffer_ops() noexcept = 0;

    /// Builds `f` into one buffer of the port's pool now and turns it into a raw frame
    /// (f.raw/raw_data/raw_len; the payload is copied or cloned, so the send queue it borrowed
    /// from may change), for frames held while ARP resolves. False: no buffer (counted).
    virtual bool materialize(TxFrame& f) noexcept = 0;
    /// Whether the packets of flow `t` (local = this engine's address) arrive at this queue:
    /// connect() picks an ephemeral port for which they do (RSS or software steering on
    /// several lcores). A port that is its engine's only queue owns every flow.
    [[nodiscard]] virtual bool owns(const FourTuple& /*t*/) const noexcept { return true; }

    [[nodiscard]] virtual MacAddr mac() const noexcept = 0;
    [[nodiscard]] virtual PortCaps caps() const noexcept = 0;
    [[nodiscard]] virtual const PortStats& stats() const noexcept = 0;
};

}  // namespace ustcp::engine
