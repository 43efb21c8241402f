// The multi-lcore runtime (DESIGN "The per-lcore engine"): from a config::StackConfig,
// every [[port]] attached and started with one RX/TX queue pair per worker lcore, one
// mbuf pool per worker on its NUMA socket, and per worker one Engine per port, each with
// its own application object; then every worker run to completion on its lcore
// (rte_eal_remote_launch; the main lcore runs one too when `lcores` names it).
//
//   auto eal = dpdk::start_eal(argc, argv);
//   auto cfg = config::load_command_line(eal->app_argc, eal->app_argv);
//   auto rt = dpdk::Launcher::create(*cfg);               // ports, pools, steering
//   std::fputs(rt->describe().c_str(), stdout);           // testpmd-style banner
//   rt->handle_signals();                                 // SIGINT/SIGTERM stop, SIGUSR1 stats
//   int rc = rt->run([](const dpdk::EngineSlot& s) { return std::make_unique<MyApp>(); });
//   std::fputs(rt->final_report().c_str(), stdout);
//   std::uint32_t left = rt->teardown();                  // mbufs not back in their pools
//
// Flows: with one worker, its engine uses the port queue directly (no steering, no cost).
// With several, each engine's Port is a SteeringPort (steering.hpp): when the NIC offers
// RSS (a redirection table, IPv4 TCP hashing, and it took our symmetric key) the NIC
// spreads the flows (RETA entry i -> queue i % workers) and steering only replicates
// ARP; otherwise (net_tap, net_pcap, net_ring, memif) frames are hashed in software and
// handed to their owner through a ring. Either way Port::owns() tells an engine which
// flows come to it, and connect() picks its ephemeral ports with it.
//
// Stopping: request_stop() (from a signal handler: it only stores to a lock-free atomic)
// makes every worker call Engine::shutdown() (listeners stop, connections get a FIN) and
// keep polling until every worker's connections are gone or `shutdown_timeout` has passed,
// then abort_all() (RST) the rest. Workers keep polling (and steering) until all of them
// are done, so that one lcore's frames still reach another that is closing. The run also
// ends when every application says finished() (a client that is done).
//
// Stats: request_stats() (signal-safe) makes each worker write a snapshot of its engines'
// counters at its next loop iteration; the main lcore prints them when all are in: one
// block per worker and port ("lcore L: ..."), then the totals ("stats: ...").
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ustcp/base/result.hpp"
#include "ustcp/config/stack_config.hpp"
#include "ustcp/engine/engine.hpp"

namespace ustcp::dpdk {

class DpdkPort;
class Telemetry;

/// One engine of one worker: what the App factory and apps are told.
struct EngineSlot {
    unsigned lcore = 0;
    std::uint16_t worker = 0;    ///< index in config `lcores`; owns queue `worker` of each port
    std::uint16_t workers = 1;
    std::size_t port = 0;        ///< index in config `ports`
    engine::Engine* engine = nullptr;
};

/// An application on one engine. Callbacks run on the worker's lcore.
class WorkerApp : public engine::App {
public:
    /// On the worker lcore, before its first poll: listen(), connect(). An error stops the run.
    virtual Result<void, std::string> start(engine::Engine& /*e*/) { return {}; }
    /// On the worker lcore, once per loop iteration, after the engine's poll().
    virtual void after_poll(engine::Engine& /*e*/) {}
    /// Whether this application is done; the run ends once every application is.
    [[nodiscard]] virtual bool finished() const noexcept { return false; }
    /// Extra lines for the stats and the final report (on the worker lcore).
    virtual void report(std::string& /*out*/) const {}
};

/// Makes each engine's application; called on the main thread before the workers start.
using AppFactory = std::function<std::unique_ptr<WorkerApp>(const EngineSlot&)>;

class Launcher {
public:
    /// Checks the lcores against the EAL's, attaches and starts every port, creates the pools,
    /// the steering and the engines. Errors name the config key: an lcore the EAL was not
    /// given, queue counts the port cannot have, rss/tso/checksum_offload "on" on a port that
    /// lacks it, a pool or port that DPDK refused (rte_strerror).
    static Result<std::unique_ptr<Launcher>, std::string> create(const config::StackConfig& cfg);
    Launcher(const Launcher&) = delete;
    Launcher& operator=(const Launcher&) = delete;
    /// teardown() if not done yet, then the pools.
    ~Launcher();

    /// The ports (queues, offloads, RSS/steering) and workers (socket, queues, pool), one per line.
    [[nodiscard]] std::string describe() const;

    /// Runs every worker until request_stop() or every application finished(), then the
    /// graceful shutdown. Returns 0, or 1 when an application's start() failed (the error
    /// is in final_report()). Once per Launcher.
    int run(const AppFactory& make_app, const std::function<void()>& main_tick = {});
    /// `main_tick`, when given, is called on the main thread about every millisecond while the
    /// workers poll (the console); only when the main lcore is not a worker (main_lcore_works()).
    [[nodiscard]] bool main_lcore_works() const noexcept;

    /// The configuration running (after create()'s defaults).
    [[nodiscard]] const config::StackConfig& config() const noexcept;
    /// The counters and connections of every engine, for readers on other threads.
    [[nodiscard]] Telemetry& telemetry() noexcept;
    struct PortRef {
        std::string name;     ///< the [[port]]'s name
        std::uint16_t ethdev;
    };
    /// The ports, in config order (Telemetry::Lane::port indexes them).
    [[nodiscard]] std::vector<PortRef> ports() const;

    /// SIGINT and SIGTERM call request_stop(), SIGUSR1 request_stats(), until this Launcher
    /// is destroyed (the handlers only store to lock-free atomics).
    void handle_signals() noexcept;
    /// Signal-safe: ask the workers to stop.
    void request_stop() noexcept { stop_.store(true, std::memory_order_relaxed); }
    /// Signal-safe: ask for a stats print.
    void request_stats() noexcept { stats_req_.fetch_add(1, std::memory_order_relaxed); }

    /// After run(): every worker's final counters, then per-port ethdev stats and totals.
    [[nodiscard]] std::string final_report() const;
    /// After run(): engines and applications destroyed, ports stopped and closed, frames
    /// left on steering rings freed. Returns the mbufs still out of their pools.
    std::uint32_t teardown();

    [[nodiscard]] std::size_t worker_count() const noexcept;
    /// Calls f(DpdkPort&) for every worker's queue of every port, before run() (e.g.
    /// set_capture()).
    void for_each_port(const std::function<void(DpdkPort&)>& f);

    struct Impl;

private:
    explicit Launcher(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
    std::atomic<bool> stop_{false};
    std::atomic<unsigned> stats_req_{0};
    friend struct Impl;
};

/// Prints each line of `text` (describe(), a report) to stdout as "PROGRAM: line".
void print_lines(std::string_view program, std::string_view text);

}  // namespace ustcp::dpdk
