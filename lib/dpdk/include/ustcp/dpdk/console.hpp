// A testpmd-style interactive console (`ustcp-server ... -- -i`) on DPDK's rte_cmdline:
// a `ustcp>` prompt with history and tab completion, polled from the main thread while
// the workers run (Launcher::run's main_tick), so it never holds a worker up.
//
//   auto con = dpdk::Console::create(launcher);          // before run(): trace rings on the ports
//   int rc = launcher.run(factory, con->on_own_thread() ? nullptr : [&] { con->poll(); });
//   con.reset();                                         // before teardown(): joins its thread
//
// When the main lcore is a worker (Launcher::main_lcore_works()) it has no time to spare
// for a prompt: the console then runs on a thread of its own (std::thread, not an EAL
// lcore), which may block in poll(2) on stdin. Either way it reads only what any reader
// thread may: the engines' published counters and FlowInfo, through Telemetry's reading
// side (its mutex, and the flow table's QSBR reader online only while it walks), the
// ethdev stats, and the trace rings, whose single consumer it is.
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
    /// Opens the prompt on stdin/stdout and gives every port queue a trace ring; starts the
    /// console's own thread when the main lcore is a worker. Errors: rte_cmdline's failure.
    static Result<std::unique_ptr<Console>, std::string> create(Launcher& l);
    Console(const Console&) = delete;
    Console& operator=(const Console&) = delete;
    /// Stops and joins its thread (if any), restores the terminal (cmdline_stdin_exit). Before
    /// Launcher::teardown(): the console reads the engines.
    ~Console();

    /// Whether it polls itself on a thread of its own (poll() is then not to be called).
    [[nodiscard]] bool on_own_thread() const noexcept;
    /// On the main thread: reads what was typed, runs complete commands, prints trace lines.
    void poll();

    struct Impl;

private:
    explicit Console(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace ustcp::dpdk
