// ustcp's counters and connections through DPDK's telemetry socket, so that
// `dpdk-telemetry.py -f PREFIX` (or any client of /var/run/dpdk/PREFIX/dpdk_telemetry.v2)
// reads them from a running ustcp-server:
//
//   /ustcp/stats            totals over every lcore: engine, tcp and port counters,
//                           connections by state, the list of lcores, and with `fault`
//                           the FaultPorts' counters ("faults": rx_lost, tx_duplicated...)
//   /ustcp/stats,LCORE      the same for one lcore
//   /ustcp/conns,LCORE[,N]  that lcore's connections from the N-th on, each under its index
//                           ("17": {"local", "remote", "state", bytes...}); at most kConnsPerReply
//                           a reply; "total", and "next" where the following reply starts (-1:
//                           none). The order is the flow table's: stable while nothing changes.
//
//   dpdk::Telemetry tel;                                 // one per process, before the engines
//   cfg.readers = tel.readers();                         // every engine's flow table
//   tel.add(lcore, engine);                              // each engine, before the workers run
//   if (auto r = tel.start(); !r) report(r.error());     // registers the commands
//   ...                                                  // workers poll
//   tel.stop();                                          // before the engines go
//
// Threads. DPDK runs each telemetry client on a thread of its own; the callbacks take a
// mutex among themselves (never the workers'), read counters from each engine's published
// copy and walk connections through the flow table's lock-free read side, as one QSBR reader
// (rte_rcu_qsbr) that is online only while it walks: a worker never waits for it, and a slot
// it may still look at is not reused until it reports. rte_telemetry cannot unregister a
// command: after stop() the commands answer with no lcores.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ustcp/base/result.hpp"
#include "ustcp/dpdk/rcu.hpp"
#include "ustcp/engine/engine.hpp"
#include "ustcp/engine/reclaim.hpp"
#include "ustcp/sim/fault_port.hpp"

namespace ustcp::dpdk {

/// Counters summed over some engines' published copies (what /ustcp/stats and the console's
/// `show stats` print). Counters only grow; `states` and `connections` are gauges.
struct StatsSnapshot {
    engine::EngineCounters ec{};
    tcp::Counters tc{};
    engine::PortStats ps{};
    std::array<std::uint64_t, tcp::kStateCount> states{};
    std::array<std::uint64_t, ip::kIpv4DropCount> ipv4{};
    std::array<std::uint64_t, ip::kArpDropCount> arp{};
    std::array<std::uint64_t, ip::kIcmpDropCount> icmp{};
    std::array<std::uint64_t, ip::kNeighborDropCount> neigh{};
    std::uint64_t connections = 0;
    /// lib/sim's FaultPort counters (the `fault` key), summed over the lanes that have one.
    sim::FaultCounters fault_rx{};
    sim::FaultCounters fault_tx{};
    std::uint64_t fault_no_buffer = 0;
    bool faults = false;  ///< some lane summed here has a FaultPort
};

/// Adds one engine's published counters to `into` (any thread).
void add_published(StatsSnapshot& into, const engine::PublishedStats& p) noexcept;
/// Adds a FaultPort's published counters to `into` (any thread).
void add_faults(StatsSnapshot& into, const sim::FaultPort::Published& f) noexcept;
/// Adds every counter and gauge of `s` to `into`.
void add_snapshot(StatsSnapshot& into, const StatsSnapshot& s) noexcept;
/// `a` minus `b`, counter by counter (the gauges are `a`'s): what changed since a baseline.
[[nodiscard]] StatsSnapshot since(const StatsSnapshot& a, const StatsSnapshot& b) noexcept;

class Telemetry {
public:
    static constexpr unsigned kConnsPerReply = 40;  ///< keeps a reply under the socket's 16 KiB

    /// The QS variable's allocation failing shows in start()'s error.
    Telemetry();
    Telemetry(const Telemetry&) = delete;
    Telemetry& operator=(const Telemetry&) = delete;
    ~Telemetry();

    /// The grace periods every engine's flow table must use (EngineConfig::readers).
    [[nodiscard]] engine::ReclaimerRef readers() noexcept { return engine::ReclaimerRef(*rcu_); }
    /// An engine on `lcore` serving config port `port`, over `faults` when the port has
    /// them; both must stay alive until stop().
    void add(unsigned lcore, const engine::Engine& e, std::size_t port = 0, const sim::FaultPort* faults = nullptr);
    /// Registers the commands (once per process; later calls only publish the new engines).
    /// Errors: rte_telemetry's, or telemetry disabled (--no-telemetry).
    Result<void, std::string> start();
    /// Forgets the engines; the commands answer with no lcores from here on.
    void stop();

    struct Lane {
        unsigned lcore;
        const engine::Engine* engine;
        std::size_t port;
        const sim::FaultPort* faults = nullptr;
    };

    // The reading side shared by the telemetry commands and the console (any thread; they
    // serialise among themselves on the commands' mutex, never with the workers).
    /// The engines known now, in the order they were added.
    [[nodiscard]] std::vector<Lane> lanes() const;
    /// The counters of one lane (by its index in lanes()), read from its published copy.
    [[nodiscard]] StatsSnapshot read_lane(std::size_t lane) const;
    /// f(lane, tuple, info) for every connection of the lanes on `lcore` (every lane when
    /// nullopt), walked as the QSBR reader, online only during the walk: `info` is valid only
    /// inside f. Returns false when `lcore` serves no lane.
    using ConnFn = std::function<void(const Lane&, const FourTuple&, const engine::FlowInfo&)>;
    bool walk_connections(std::optional<unsigned> lcore, const ConnFn& f) const;

private:
    friend struct TelemetryCommands;
    void walk_locked(std::optional<unsigned> lcore, const ConnFn& f) const;  // under the mutex
    std::unique_ptr<RcuQsbr> rcu_;
    std::vector<Lane> lanes_;  // under the commands' mutex once started
};

}  // namespace ustcp::dpdk
