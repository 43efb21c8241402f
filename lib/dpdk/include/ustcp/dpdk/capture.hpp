// A pcapng capture of every frame a DpdkPort receives and sends (ustcp-server --pcap FILE),
// written with DPDK's rte_pcapng: frames are copied into a small pool of the capture's own
// (rte_pcapng_copy, which adds the enhanced packet block with direction and queue) and written
// a batch at a time (rte_pcapng_write_packets).
//
//   auto cap = dpdk::Capture::open("/tmp/s.pcapng", info.caps.mtu);  // after the ports exist
//   if (!cap) { std::fprintf(stderr, "%s\n", cap.error().c_str()); return 1; }
//   port.set_capture(cap->get());   // RX right after rte_eth_rx_burst, TX right before tx_burst
//
// What lands in the file is what the wire carries: a TX frame whose IPv4/TCP checksums are left
// to the NIC is captured with those checksums filled in (the copy is fixed, the frame is not).
// Except for TSO: a frame the NIC segments (RTE_MBUF_F_TX_TCP_SEG) is recorded as the engine
// hands it, one super-segment, as tcpdump on a Linux sender shows a GSO frame (segmenting the
// copy with rte_gso would show the wire's segments; not done yet).
//
// Interfaces: DPDK 22.11's rte_pcapng_fdopen writes one interface block per ethdev that exists at
// that moment (there is no rte_pcapng_add_interface yet), so open the capture after every port
// was probed; frames of a port added later are not captured (counted as `dropped`).
//
// Several lcores may share one Capture: the pool is multi-producer/consumer, the counters are
// atomic, and each batch goes out as ONE writev() of whole pcapng blocks. Linux serialises
// writes to a regular file, so the blocks of two lcores never interleave. That holds for regular
// files only: on a pipe a write over PIPE_BUF may be split, so with more than one lcore give a
// file. A failed or short write (disk full) stops the capture (the file ends at a block boundary
// or is cut; write_errors says so); the data path goes on.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ustcp/base/result.hpp"

struct rte_mbuf;
struct rte_mempool;
struct rte_pcapng;

namespace ustcp::dpdk {

class Capture {
public:
    enum class Direction : std::uint8_t { In, Out };

    /// Creates (truncates) `path` and writes the pcapng section and interface blocks. Frames are
    /// cut to `mtu` + 18 bytes (Ethernet + one VLAN tag); the original length is recorded.
    /// Errors: "cannot open capture file PATH: <strerror>", or rte_pcapng_fdopen's or the copy
    /// pool's rte_strerror, each naming the file.
    static Result<std::unique_ptr<Capture>, std::string> open(const std::string& path, std::uint16_t mtu);
    Capture(const Capture&) = delete;
    Capture& operator=(const Capture&) = delete;
    /// Closes the file (every batch was written when its call returned) and frees the pool.
    ~Capture();

    /// Copies and writes `n` frames of (`port`, `queue`). The frames are untouched and stay the
    /// caller's. Safe to call from several lcores at once.
    void write(std::uint16_t port, std::uint16_t queue, rte_mbuf* const* frames, std::uint16_t n,
               Direction dir) noexcept;

    [[nodiscard]] const std::string& path() const noexcept { return path_; }
    [[nodiscard]] std::uint64_t written() const noexcept { return written_.load(std::memory_order_relaxed); }
    /// Frames not captured: the copy pool was empty (it refills as batches are written), or
    /// the port came after open().
    [[nodiscard]] std::uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }
    [[nodiscard]] std::uint64_t write_errors() const noexcept {
        return write_errors_.load(std::memory_order_relaxed);
    }

private:
    Capture() = default;
    /// A copy of TX frame `m` with the checksums its offload flags left to the NIC filled in.
    rte_mbuf* with_checksums(const rte_mbuf* m) noexcept;
    void flush(rte_mbuf** copies, std::uint16_t k) noexcept;

    std::string path_;
    rte_pcapng* pcapng_ = nullptr;
    rte_mempool* pool_ = nullptr;
    std::uint32_t snaplen_ = 0;
    std::vector<bool> known_ports_;  ///< ports with an interface block; fixed after open()
    std::atomic<bool> failed_{false};
    std::atomic<std::uint64_t> written_{0};
    std::atomic<std::uint64_t> dropped_{0};
    std::atomic<std::uint64_t> write_errors_{0};
};

}  // namespace ustcp::dpdk
