// A testpmd-style interactive console (`ustcp-server ... -- -i`) on DPDK's rte_cmdline:
// a `ustcp>` prompt with history and tab completion, polled from the main thread while
// the workers run (Launcher::run's main_tick), so it never holds a worker up.
//
//   auto con = dpdk::Console::create(launcher);          // before run(): trace rings on the ports
//   int rc = launcher.run(factory, [&] { con->poll(); });
//
// Commands (`help` lists them):
//   show port stats            per port (rte_eth_stats_get) and queue (the engines' counters)
//   show stats                 per lcore: engine, tcp and port counters, connections by state
//                              (Telemetry's reading side: the same as /ustcp/stats)
//   show conn [state S] [port P]  an ss-like table, through the flow table's lock-free read side
//   show config                config::to_toml of the running configuration
//   trace on|off               tcpdump-style lines of every frame (TraceRing per worker queue)
//   clear stats                the counters shown count from now (a baseline; the workers' own
//                              counters are not written)
//   quit                       stop the server as SIGTERM does
#pragma once

#include <memory>
#include <string>

#include "ustcp/base/result.hpp"
#include "ustcp/dpdk/launcher.hpp"

namespace ustcp::dpdk {

class Console {
public:
    /// Opens the prompt on stdin/stdout and gives every port queue a trace ring. Errors: the
    /// main lcore is a worker (the console needs the main thread), rte_cmdline's failure.
    static Result<std::unique_ptr<Console>, std::string> create(Launcher& l);
    Console(const Console&) = delete;
    Console& operator=(const Console&) = delete;
    /// Restores the terminal (cmdline_stdin_exit).
    ~Console();

    /// On the main thread: reads what was typed, runs complete commands, prints trace lines.
    void poll();

    struct Impl;

private:
    explicit Console(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace ustcp::dpdk
