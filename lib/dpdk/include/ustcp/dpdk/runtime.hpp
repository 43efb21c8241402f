// DPDK runtime pieces for the engine: EAL start-up with the project's safety rules,
// per-lcore mbuf pools as lib/tcp BufferOps, ethdev ports with negotiated offloads,
// and DpdkPort, the engine::Port over one RX/TX queue pair. The only module that
// includes rte_*.h (here in the .cpp files; this header exposes none of them).
//
//   auto eal = dpdk::start_eal(argc, argv);          // adds --no-pci / --file-prefix when absent
//   dpdk::Pool pool("ustcp0", 16383, 256, 2176, socket);
//   auto info = dpdk::setup_port(0, {.queues = 1}, pool);
//   dpdk::DpdkPort port(0, 0, pool, info);
//   engine::Engine e(cfg, port, isn, cookie);
//   while (running) e.poll(dpdk::now());
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ustcp/base/addr.hpp"
#include "ustcp/base/result.hpp"
#include "ustcp/base/time.hpp"
#include "ustcp/dpdk/capture.hpp"
#include "ustcp/dpdk/fragments.hpp"
#include "ustcp/dpdk/trace.hpp"
#include "ustcp/engine/port.hpp"

struct rte_mempool;
struct rte_mbuf;

namespace ustcp::dpdk {

/// What start_eal() did. `app_argc`/`app_argv` are the arguments after `--`.
struct EalStart {
    int app_argc = 0;
    char** app_argv = nullptr;
    std::vector<std::string> added;  ///< EAL arguments we added (e.g. --no-pci), for the banner
    /// rte_pdump_init's error when it failed (e.g. IPC off with --in-memory): dpdk-dumpcap
    /// cannot attach then; empty when pdump is serving.
    std::string pdump_error;
};

/// rte_eal_init with the project's rules: `--no-pci` unless the user named devices
/// (-a/--allow/-b/--block/--no-pci), and a unique `--file-prefix` (ustcp-<pid>) unless
/// given; then rte_pdump_init, so that `dpdk-dumpcap --file-prefix=PREFIX -i PORT` can capture
/// live from this (primary) process (it needs hugepages: a --no-huge primary has no memory a
/// secondary can map). Errors: the EAL's own message (rte_strerror); a pdump failure is not
/// one (EalStart::pdump_error).
Result<EalStart, std::string> start_eal(int argc, char** argv);
/// rte_pdump_uninit, rte_eal_cleanup.
void stop_eal();

/// Monotonic time from the TSC.
Instant now() noexcept;

/// One mbuf pool (per lcore per NUMA socket), also serving lib/tcp's copying writes.
class Pool {
public:
    /// Errors are reported by ok()/error(): the pool could not be created.
    Pool(const std::string& name, std::uint32_t mbufs, std::uint32_t cache, std::uint16_t data_room, int socket);
    Pool(const Pool&) = delete;
    Pool& operator=(const Pool&) = delete;
    ~Pool();
    [[nodiscard]] bool ok() const noexcept { return mp_ != nullptr; }
    [[nodiscard]] const std::string& error() const noexcept { return error_; }
    [[nodiscard]] rte_mempool* get() const noexcept { return mp_; }
    /// lib/tcp's view of the pool: alloc an mbuf (its tailroom), free in bulk.
    [[nodiscard]] tcp::BufferOps ops() noexcept;
    /// Mbufs not in the pool now (in flight, queued in lib/tcp, held by the NIC).
    [[nodiscard]] std::uint32_t in_use() const noexcept;
    [[nodiscard]] std::uint64_t alloc_failures() const noexcept { return alloc_failed_; }

private:
    static tcp::MutBuf alloc(void* self, std::uint32_t want) noexcept;
    static void free_bulk(void* self, void* const* h, std::uint32_t n) noexcept;
    rte_mempool* mp_ = nullptr;
    std::string error_;
    std::uint64_t alloc_failed_ = 0;
};

struct PortSetup {
    std::uint16_t queues = 1;     ///< TX queues, and RX queues unless rx_queues says otherwise
    std::uint16_t rx_queues = 0;  ///< 0: `queues`
    std::uint16_t rx_desc = 1024;
    std::uint16_t tx_desc = 1024;
    std::uint16_t mtu = 1500;
    bool want_checksum_offload = true;
    /// RSS over the RX queues (when there are several and the port has a RETA) with `rss_key`
    /// (the port's hash_key_size bytes of it; empty: the driver's key) over IPv4 and IPv4 TCP.
    bool want_rss = true;
    std::span<const std::uint8_t> rss_key{};
    bool want_tso = false;        ///< enable TCP TSO on TX when the port offers it
    std::optional<MacAddr> mac;   ///< replaces the port's MAC before it starts
    /// The pool of each RX queue's buffers (the owning lcore's); shorter or null: `pool`.
    std::vector<Pool*> rx_pools{};
};

/// What setup_port() negotiated.
struct PortInfo {
    std::uint16_t port_id = 0;
    std::string driver;
    std::string name;
    MacAddr mac;
    engine::PortCaps caps;
    bool multi_seg_tx = false;  ///< chains of mbufs may be sent (zero-copy payload)
    std::uint16_t queues = 1;     ///< TX queues (and RX queues when rx_queues is the same)
    std::uint16_t rx_queues = 1;
    std::uint16_t reta_size = 0;  ///< the port's redirection table (0: none)
    std::uint16_t hash_key_size = 0;
};

/// Configures and starts ethdev `port_id`: queues, descriptors, MTU, offloads negotiated
/// from rte_eth_dev_info. Errors: the step that failed, with rte_strerror.
Result<PortInfo, std::string> setup_port(std::uint16_t port_id, const PortSetup& s, Pool& pool);
/// Probes a device from its devargs ("net_tap0,iface=ustcp0") and returns its ethdev port id
/// (the device is named `name`). Errors: rte_dev_probe's, or no ethdev of that name appeared.
Result<std::uint16_t, std::string> attach_port(const std::string& devargs, const std::string& name);
/// rte_eth_dev_stop + close.
void close_port(std::uint16_t port_id);
/// Ethdev ports the EAL probed.
std::uint16_t port_count() noexcept;

/// engine::Port over queue `queue` of `port_id`, owned by one lcore.
///
/// IPv4 fragments never reach the engine: rx_burst() reassembles them (a Reassembler per port
/// object, see fragments.hpp) and hands over whole, contiguous datagrams; tx_burst() fragments a
/// raw frame above the MTU (PortCaps::tx_ip_fragment). With set_capture(), every frame received
/// (right after rte_eth_rx_burst, fragments as they came) and sent (right before
/// rte_eth_tx_burst, fragments as they go) is written to a pcapng file.
class DpdkPort final : public engine::Port {
public:
    /// Reassembly is on unless its table or pool cannot be made (reassembly_error() says why;
    /// fragments are then dropped and counted in rx_fragments_unreassembled).
    DpdkPort(std::uint16_t port_id, std::uint16_t queue, Pool& pool, const PortInfo& info,
             const ReassemblyConfig& reassembly = {});

    std::uint16_t rx_burst(engine::RxFrame* out, std::uint16_t max) noexcept override;
    std::uint16_t tx_burst(engine::TxFrame* frames, std::uint16_t n) noexcept override;
    void free_rx(void* const* handles, std::uint16_t n) noexcept override;
    bool materialize(engine::TxFrame& f) noexcept override;
    tcp::BufferOps buffer_ops() noexcept override { return pool_.ops(); }
    [[nodiscard]] MacAddr mac() const noexcept override { return info_.mac; }
    [[nodiscard]] engine::PortCaps caps() const noexcept override { return info_.caps; }
    [[nodiscard]] const engine::PortStats& stats() const noexcept override { return stats_; }

    /// Frames of this queue go to `c` too (nullptr: no capture). `c` may be shared by every
    /// port and lcore and must outlive its use here.
    void set_capture(Capture* c) noexcept { capture_ = c; }
    /// Frames of this queue are also offered to `t` (trace.hpp; nullptr: none), which must
    /// outlive its use here; this port's lcore is its only producer.
    void set_trace(TraceRing* t) noexcept { trace_ = t; }
    /// Frees the fragments of datagrams still being reassembled (at shutdown, before checking
    /// that every mbuf is back in its pool).
    void drop_held_fragments() noexcept;
    /// Reassembly's counters; nullptr when it is off.
    [[nodiscard]] const ReassemblyCounters* reassembly() const noexcept;
    [[nodiscard]] const std::string& reassembly_error() const noexcept { return reassembly_error_; }
    /// This port's own counters in one line, for the stats print:
    /// "       dpdk port 0 queue 0: rx multiseg dropped 0, fragments 3 reassembled 1 (drops: ...)...\n".
    [[nodiscard]] std::string stats_line() const;

    std::uint64_t rx_multiseg_dropped = 0;  ///< RX chains that could not be linearised
    std::uint64_t rx_fragments_unreassembled = 0;  ///< fragments dropped because reassembly is off
    std::uint64_t tx_fragmented = 0;        ///< raw frames above the MTU sent as fragments
    std::uint64_t tx_fragments = 0;         ///< the fragments they became
    std::uint64_t tx_fragment_failed = 0;   ///< raw frames above the MTU dropped (DF set, no mbuf)

private:
    static constexpr std::uint16_t kMaxTxFragments = 64;  ///< 64 * 1480 bytes > the largest datagram
    /// Payloads up to this many bytes are copied into the header's mbuf rather than chained as
    /// indirect mbufs: below it, a copy costs less than the allocations it saves.
    static constexpr std::uint32_t kTxCopyBreak = 256;
    /// rx_burst() calls without a fragment between two expiry sweeps of the reassembler.
    static constexpr std::uint32_t kExpireEvery = 64;

    rte_mbuf* build(engine::TxFrame& f, bool allow_chain) noexcept;
    /// Appends `b` to m[k..] as it is, or as fragments when it is an IPv4 frame above the MTU;
    /// marks the first mbuf of the frame in first[]. Returns the new k.
    std::uint16_t add_tx(rte_mbuf* b, bool raw, rte_mbuf** m, std::uint8_t* first, std::uint16_t k) noexcept;

    std::uint16_t port_;
    std::uint16_t queue_;
    Pool& pool_;
    PortInfo info_;
    engine::PortStats stats_;
    Capture* capture_ = nullptr;
    TraceRing* trace_ = nullptr;
    std::unique_ptr<Reassembler> reassembler_;
    std::uint32_t bursts_since_expire_ = 0;  // rx_burst() calls since the last sweep without a fragment
    std::string reassembly_error_;
};

}  // namespace ustcp::dpdk
