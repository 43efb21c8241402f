// One bulk transfer between two engines over a SimLink, on a virtual clock: engine A
// connects to B and writes `bytes` of pseudo-random data (seeded), B reads and counts
// them, A closes after the last byte and B closes on A's FIN. Used by the long transfer
// tests (tests/sim) and the Mathis-model bench (bench/mathis).
//
//   sim::TransferSetup s;
//   s.ab = *sim::parse_fault_spec("rate=100Mbit,queue=100,delay=5ms,loss=1%,seed=1");
//   s.ba = ...;  s.bytes = 64 << 20;
//   s.on_sent = [&](auto bytes) { sha_a.update(bytes); };      // everything A wrote, in order
//   s.on_received = [&](auto bytes) { sha_b.update(bytes); };  // everything B read, in order
//   sim::TransferResult r = sim::run_transfer(s);
//   // r.completed, r.goodput_bps(), r.tcp_b.drop_bad_checksum, r.ab.corrupted, ...
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "ustcp/base/time.hpp"
#include "ustcp/engine/engine.hpp"
#include "ustcp/sim/fault.hpp"
#include "ustcp/sim/fault_port.hpp"

namespace ustcp::sim {

struct TransferSetup {
    FaultSpec ab;                 ///< frames from A (the sender) to B
    FaultSpec ba;                 ///< frames from B (ACKs) to A
    std::uint64_t bytes = 1 << 20;
    std::uint64_t data_seed = 1;  ///< the pseudo-random payload's seed
    tcp::Config tcp{};            ///< both engines' TCP (congestion control, buffers, ...)
    Duration limit = Duration::seconds(600);  ///< virtual time allowed before giving up
    std::string pcap;             ///< non-empty: a pcap of every frame delivered
    /// Faults applied by a FaultPort between each engine and its SimPort (on top of the link's).
    PortFaults port_a, port_b;
    std::function<void(std::span<const std::uint8_t>)> on_sent;      ///< A's data, in order
    std::function<void(std::span<const std::uint8_t>)> on_received;  ///< B's data, in order
};

struct TransferResult {
    bool completed = false;       ///< B read every byte and both sides closed within the limit
    std::uint64_t received = 0;
    Duration elapsed;             ///< from the connect to B's reading the last byte
    tcp::Counters tcp_a, tcp_b;
    engine::EngineCounters engine_a, engine_b;
    FaultCounters ab, ba;         ///< after the link was drained
    FaultCounters port_a_rx, port_a_tx, port_b_rx, port_b_tx;  ///< the FaultPorts'
    std::uint64_t retransmits = 0;  ///< A's RTO and fast retransmissions
    Duration longest_stall;         ///< the longest time B read nothing new (before the last byte)
    std::size_t buffers_left = 0;   ///< pool buffers not returned after both engines were gone
    [[nodiscard]] double goodput_bps() const noexcept {
        return elapsed > Duration::zero() ? static_cast<double>(received) * 8e9 / static_cast<double>(elapsed.as_nanos())
                                          : 0.0;
    }
};

/// Runs the transfer to completion or setup.limit of virtual time, then drains the link
/// (every frame in flight delivered) and tears both engines down.
[[nodiscard]] TransferResult run_transfer(const TransferSetup& setup);

}  // namespace ustcp::sim
