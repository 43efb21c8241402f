// ustcp's counters and connections through DPDK's telemetry socket, so that
// `dpdk-telemetry.py -f PREFIX` (or any client of /var/run/dpdk/PREFIX/dpdk_telemetry.v2)
// reads them from a running ustcp-server:
//
//   /ustcp/stats            totals over every lcore: engine, tcp and port counters,
//                           connections by state, and the list of lcores
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

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ustcp/base/result.hpp"
#include "ustcp/dpdk/rcu.hpp"
#include "ustcp/engine/engine.hpp"
#include "ustcp/engine/reclaim.hpp"

namespace ustcp::dpdk {

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
    /// An engine on `lcore`; it must stay alive until stop().
    void add(unsigned lcore, const engine::Engine& e);
    /// Registers the commands (once per process; later calls only publish the new engines).
    /// Errors: rte_telemetry's, or telemetry disabled (--no-telemetry).
    Result<void, std::string> start();
    /// Forgets the engines; the commands answer with no lcores from here on.
    void stop();

    struct Lane {
        unsigned lcore;
        const engine::Engine* engine;
    };

private:
    friend struct TelemetryCommands;
    std::unique_ptr<RcuQsbr> rcu_;
    std::vector<Lane> lanes_;  // under the commands' mutex once started
};

}  // namespace ustcp::dpdk
