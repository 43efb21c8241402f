// Software steering: every flow's packets reach one lcore, on ports with or without RSS
// (DESIGN "The per-lcore engine": "a software steering stage that computes the same hash").
//
// A SteeringGroup belongs to one ethdev port and its W worker lcores: the symmetric
// Toeplitz hash (rss.hpp), a redirection table over the W workers, and one rte_ring per
// worker (multi-producer, single-consumer) that carries frames to it. Each worker's
// SteeringPort wraps its DpdkPort queue and is the engine::Port its engine sees:
//
//   auto g = dpdk::SteeringGroup::create({.name = "p0", .workers = 2, .mode = Mode::Software});
//   dpdk::SteeringPort sp(**g, /*worker*/ 1, dpdk_port, /*has_rx_queue*/ true, pool);
//   engine::Engine e(cfg, sp, isn, cookie);          // unaware of the steering
//
// rx_burst(): first the frames other workers put on this worker's ring, then this worker's
// own RX queue, where each IPv4 TCP frame (not a fragment) is hashed and, when its flow
// belongs to another worker (Mode::Software), put on that worker's ring in one enqueue per
// burst and destination. ARP frames go to the engine and, as copies flagged
// engine::kRxReplica (learn, do not answer), to every other worker. Other frames (ICMP,
// fragments, non-IPv4) stay where they arrived.
// Mode::Hardware: the NIC's RSS already spread the flows with the same hash and table, so
// nothing should need steering; a frame the NIC put elsewhere is still forwarded (and
// shows in steered_out), and ARP is replicated as well (RSS puts it on queue 0 only).
//
// owns(t) says whether flow t's packets come to this worker: connect() picks ephemeral
// ports with it. Both modes count what disagrees with it, as a check that one lcore
// handles each flow in both directions: rx_not_owned (a TCP frame handed to this engine
// whose flow is another worker's) and tx_not_owned (a TCP frame this engine sent on
// another worker's flow); both stay 0 unless the NIC's RSS hashes differently from ours.
//
// The hand-off is the only shared state: the ring (lock-free, rte_ring) and the mbufs it
// carries, which are freed into their own pools wherever they end. The group's table and
// hash are read-only after create(). A frame that does not fit a ring is freed and counted.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ustcp/base/result.hpp"
#include "ustcp/dpdk/rss.hpp"
#include "ustcp/dpdk/runtime.hpp"
#include "ustcp/engine/port.hpp"

struct rte_ring;

namespace ustcp::dpdk {

struct SteeringConfig {
    enum class Mode : std::uint8_t {
        Hardware,  ///< the NIC spreads flows by RSS (same key and table); replicate ARP only
        Software,  ///< hash every TCP frame here and forward it to its owner
    };
    std::string name = "p0";       ///< for the ring names, unique per group: at most 16 characters
    std::uint16_t workers = 1;
    Mode mode = Mode::Software;
    /// Hardware: the NIC's table, which must map to workers (queue q = worker q). Empty:
    /// Reta::spread(reta_size, workers).
    std::vector<std::uint16_t> reta;
    std::uint16_t reta_size = 128;  ///< a power of two
    std::uint32_t ring_size = 4096; ///< per worker; a power of two
    std::vector<int> ring_sockets;  ///< NUMA socket of each worker's ring; empty: any
};

/// What one worker's steering did (written by that worker only).
struct SteeringStats {
    std::uint64_t rx_tcp = 0;            ///< TCP frames handed to this engine
    std::uint64_t tx_tcp = 0;            ///< TCP frames this engine sent
    std::uint64_t steered_out = 0;       ///< frames of other workers' flows for their rings (ring_full included)
    std::uint64_t steered_in = 0;        ///< frames taken from this worker's ring (not replicas)
    std::uint64_t ring_full = 0;         ///< frames freed: the destination's ring was full
    std::uint64_t arp_replicas_out = 0;  ///< ARP copies sent to other workers
    std::uint64_t arp_replicas_in = 0;   ///< ARP copies received
    std::uint64_t replica_no_buffer = 0; ///< ARP copies not made: no mbuf
    std::uint64_t rx_not_owned = 0;      ///< TCP frames handed here whose flow is another worker's
    std::uint64_t tx_not_owned = 0;      ///< TCP frames sent here on another worker's flow
};

class SteeringGroup {
public:
    using Mode = SteeringConfig::Mode;

    /// Errors: a bad table (size not a power of two, an entry >= workers), a ring that could
    /// not be created (rte_strerror), the mbuf field not registered.
    static Result<std::unique_ptr<SteeringGroup>, std::string> create(const SteeringConfig& cfg);
    SteeringGroup(const SteeringGroup&) = delete;
    SteeringGroup& operator=(const SteeringGroup&) = delete;
    /// Frees the frames still on the rings (drain()) and the rings.
    ~SteeringGroup();

    [[nodiscard]] Mode mode() const noexcept { return mode_; }
    [[nodiscard]] std::uint16_t workers() const noexcept { return workers_; }
    [[nodiscard]] const Toeplitz& hasher() const noexcept { return hash_; }
    [[nodiscard]] const Reta& reta() const noexcept { return reta_; }
    /// The worker flow `t` belongs to.
    [[nodiscard]] std::uint16_t owner(const FourTuple& t) const noexcept { return reta_.lookup(hash_.hash(t)); }
    [[nodiscard]] rte_ring* ring(std::uint16_t worker) const noexcept { return rings_[worker]; }
    /// Frees every frame on the rings; once the workers have stopped. Returns how many.
    std::uint32_t drain() noexcept;
    /// The mbuf dynamic field that carries a steered frame's engine::RxFlags.
    [[nodiscard]] int flags_offset() const noexcept { return flags_offset_; }

private:
    SteeringGroup(const SteeringConfig& cfg, Reta reta);

    Mode mode_;
    std::uint16_t workers_;
    Toeplitz hash_;
    Reta reta_;
    std::vector<rte_ring*> rings_;
    int flags_offset_ = -1;
};

/// engine::Port of one worker on a steered port: the worker's DpdkPort queue plus the
/// group's rings. `has_rx_queue` false: the port has fewer RX queues than workers and this
/// worker only receives what the others steer to it. ARP copies come from `pool`.
class SteeringPort final : public engine::Port {
public:
    static constexpr std::uint16_t kMaxBurst = 512;

    SteeringPort(SteeringGroup& group, std::uint16_t worker, DpdkPort& inner, bool has_rx_queue, Pool& pool);

    std::uint16_t rx_burst(engine::RxFrame* out, std::uint16_t max) noexcept override;
    std::uint16_t tx_burst(engine::TxFrame* frames, std::uint16_t n) noexcept override;
    void free_rx(void* const* handles, std::uint16_t n) noexcept override { inner_.free_rx(handles, n); }
    bool materialize(engine::TxFrame& f) noexcept override { return inner_.materialize(f); }
    tcp::BufferOps buffer_ops() noexcept override { return inner_.buffer_ops(); }
    [[nodiscard]] bool owns(const FourTuple& t) const noexcept override { return group_.owner(t) == worker_; }
    [[nodiscard]] MacAddr mac() const noexcept override { return inner_.mac(); }
    [[nodiscard]] engine::PortCaps caps() const noexcept override { return inner_.caps(); }
    /// The queue's own counters (what this worker's RX queue and TX queue saw).
    [[nodiscard]] const engine::PortStats& stats() const noexcept override { return inner_.stats(); }

    [[nodiscard]] const SteeringStats& steering_stats() const noexcept { return st_; }
    [[nodiscard]] std::uint16_t worker() const noexcept { return worker_; }
    [[nodiscard]] bool has_rx_queue() const noexcept { return has_rx_; }

private:
    void replicate_arp(const engine::RxFrame& f) noexcept;
    void flush_pending() noexcept;
    /// The worker that owns the flow of `data`, an Ethernet frame whose IPv4 header starts at
    /// `l3`; -1 when it is not IPv4 TCP (or a fragment, or too short to tell).
    [[nodiscard]] int tcp_owner(const std::uint8_t* data, std::uint32_t len, std::uint32_t l3) const noexcept;

    SteeringGroup& group_;
    std::uint16_t worker_;
    DpdkPort& inner_;
    bool has_rx_;
    Pool& pool_;
    SteeringStats st_;
    std::vector<void*> pending_;            // workers * kMaxBurst frames to put on rings
    std::vector<std::uint16_t> pending_n_;  // per destination worker
};

}  // namespace ustcp::dpdk
