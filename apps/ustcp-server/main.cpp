// ustcp-server [EAL args] -- [--config FILE] [--lcores L] [--ip A.B.C.D/N] [--gateway A.B.C.D]
//              [--app echo|discard|iperf|iperf3|http|welcome|print|perf] [--listen PORT[,PORT...]] [--burst N]
//              [--pcap FILE] [--tcp.KEY VALUE ...]
//
// A testpmd-style server on every [[port]] (net_tap/net_memif/net_pcap vdevs or NICs) and
// every worker lcore of `lcores` (each must be in the EAL's -l; the main lcore works too
// when listed): one engine per lcore and port on queue q of each port, flows spread by RSS
// or by software steering (lib/dpdk launcher.hpp). Prints the ports (queues, offloads, RSS,
// steering) and the workers (socket, queues, pool) it came up with, then serves until
// SIGINT/SIGTERM, closes every connection gracefully (shutdown_timeout) and exits 0 when
// every mbuf is back in its pool. The configuration is lib/config's: a TOML file
// (config/*.toml) and flags with the same key names, flags winning (`--help` lists them).
// Echo sends every byte back without copying it (the received mbufs go back out as
// clones); discard reads and drops; iperf3 and iperf serve the real iperf3 and iperf 2
// clients (iperf3_app.hpp, iperf2_app.hpp); http (http_app.hpp), welcome and print
// (seed_apps.hpp) are in files of their own. SIGUSR1 prints the stats per lcore and port, then the
// totals; they are printed at exit too. `-i` (or `--interactive`) after `--` opens a
// testpmd-style `ustcp>` console (lib/dpdk console.hpp): on the main thread, or on a thread
// of its own when the main lcore is a worker.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ustcp/config/load.hpp"
#include "ustcp/dpdk/capture.hpp"
#include "ustcp/dpdk/console.hpp"
#include "ustcp/dpdk/launcher.hpp"
#include "ustcp/dpdk/runtime.hpp"
#include "ustcp/engine/engine.hpp"
#include "http_app.hpp"
#include "seed_apps.hpp"
#include "iperf2_app.hpp"
#include "iperf3_app.hpp"
#include "perf_app.hpp"

using namespace ustcp;

namespace {

/// Echo: each received buffer goes back out as it is. A buffer the send queue cannot take
/// yet is held (one per connection) until the connection is writable again; the rest stays
/// in the receive queue, so the window closes and the client slows down. One per engine.
class EchoApp final : public dpdk::WorkerApp {
public:
    EchoApp(bool discard, std::vector<std::uint16_t> ports) : discard_(discard), ports_(std::move(ports)) {}

    Result<void, std::string> start(engine::Engine& e) override {
        for (std::uint16_t p : ports_) {
            if (!e.listen(p)) return Err("already listening on " + std::to_string(p));
        }
        return {};
    }
    void on_readable(engine::Engine& e, tcp::Connection& c) override { pump(e, c); }
    void on_writable(engine::Engine& e, tcp::Connection& c) override { pump(e, c); }
    void on_peer_closed(engine::Engine& e, tcp::Connection& c) override { pump(e, c); }
    void on_closed(engine::Engine& e, tcp::Connection& c) override {
        if (auto it = held_.find(&c); it != held_.end()) {
            e.ctx().bufs.drop_handle(it->second.handle);
            held_.erase(it);
        }
    }

private:
    void pump(engine::Engine& e, tcp::Connection& c) {
        tcp::BufRef& held = held_[&c];
        for (;;) {
            if (held.handle != nullptr) {
                if (discard_) e.ctx().bufs.drop_handle(held.handle);
                else if (!c.send_buf(e.ctx(), e.now(), held)) return;  // writable brings us back
                held = {};
            }
            auto r = c.receive_bufs(e.ctx(), e.now(), std::span<tcp::BufRef>(&held, 1));
            if (!r || *r == 0) break;
        }
        // End of stream and everything echoed: close our side too.
        if (c.peer_closed() && c.bytes_readable() == 0) (void)c.close(e.ctx(), e.now());
    }

    bool discard_;
    std::vector<std::uint16_t> ports_;
    std::unordered_map<tcp::Connection*, tcp::BufRef> held_;
};

/// Takes -i/--interactive out of the arguments after `--` (lib/config does not know it).
bool take_interactive(int& argc, char** argv) {
    bool found = false;
    int k = 0;
    for (int i = 0; i < argc; ++i) {
        if (i > 0 && (std::strcmp(argv[i], "-i") == 0 || std::strcmp(argv[i], "--interactive") == 0)) {
            found = true;
            continue;
        }
        argv[k++] = argv[i];
    }
    argc = k;
    return found;
}

int serve(const config::StackConfig& sc, const std::vector<std::string>& eal_added, bool interactive) {
    // Everything that holds DPDK objects lives in this scope and is gone before rte_eal_cleanup().
    auto rt = dpdk::Launcher::create(sc);
    if (!rt) {
        std::fprintf(stderr, "ustcp-server: %s\n", rt.error().c_str());
        return 1;
    }
    dpdk::Launcher& l = **rt;
    dpdk::print_lines("ustcp-server", l.describe());
    for (const auto& a : eal_added) std::printf("ustcp-server: EAL %s (added)\n", a.c_str());

    // --pcap: after the ports exist (rte_pcapng writes their interface blocks), before the workers run.
    std::unique_ptr<dpdk::Capture> capture;
    if (!sc.pcap.empty()) {
        std::uint16_t mtu = 0;
        for (const auto& pc : sc.ports) mtu = std::max(mtu, pc.mtu);
        auto c = dpdk::Capture::open(sc.pcap, mtu);
        if (!c) {
            std::fprintf(stderr, "ustcp-server: %s\n", c.error().c_str());
            return 1;
        }
        capture = std::move(*c);
        l.for_each_port([&](dpdk::DpdkPort& p) { p.set_capture(capture.get()); });
        std::printf("ustcp-server: capture on: every frame received and sent goes to %s (pcapng)\n", sc.pcap.c_str());
    }

    std::string ports;
    for (std::uint16_t p : sc.app.listen) ports += (ports.empty() ? "" : ",") + std::to_string(p);
    const std::string_view app_name = config::to_string(sc.app.name);
    const config::PortConfig& pc = sc.ports.front();
    std::printf("ustcp-server: %.*s on %s/%u port %s%s%s, %zu worker lcore(s); SIGUSR1 prints stats, SIGINT/SIGTERM "
                "stops\n",
                static_cast<int>(app_name.size()), app_name.data(), pc.ip.addr.to_string().c_str(), pc.ip.len,
                ports.c_str(), pc.gateway ? " gateway " : "", pc.gateway ? pc.gateway->to_string().c_str() : "",
                l.worker_count());
    std::fflush(stdout);
    l.handle_signals();
    // -i: the console (lib/dpdk console.hpp).
    std::unique_ptr<dpdk::Console> console;
    if (interactive) {
        auto c = dpdk::Console::create(l);
        if (!c) {
            std::fprintf(stderr, "ustcp-server: %s\n", c.error().c_str());
            return 2;
        }
        console = std::move(*c);
        std::printf("ustcp-server: interactive: `help` lists the commands, `quit` stops\n");
        std::fflush(stdout);
    }
    // The console polls on the main thread between the main lcore's ticks, or (the main lcore
    // being a worker) on a thread of its own.
    const std::function<void()> tick =
        console && !console->on_own_thread() ? std::function<void()>([&] { console->poll(); }) : nullptr;
    const bool discard = sc.app.name == config::AppKind::Discard;
    // iperf3: one registry for every engine, so a stream finds its test on any lcore.
    const auto iperf3_tests = std::make_shared<iperf3::Registry>();
    const int rc = l.run([&](const dpdk::EngineSlot& slot) -> std::unique_ptr<dpdk::WorkerApp> {
        switch (sc.app.name) {
            case config::AppKind::Http: {
                apps::HttpSettings hs;
                hs.ports = sc.app.listen;
                hs.max_bytes = sc.app.http_max_bytes;
                hs.idle_timeout = sc.app.http_idle_timeout;
                hs.limits.max_head = sc.app.http_max_request;
                hs.limits.max_body = sc.app.http_max_request;
                return std::make_unique<apps::HttpApp>(hs);
            }
            case config::AppKind::Welcome: return std::make_unique<apps::WelcomeApp>(sc.app.listen);
            case config::AppKind::Print: return std::make_unique<apps::PrintApp>(sc.app.listen);
            case config::AppKind::Iperf3: {
                iperf3::Iperf3Settings is;
                is.ports = sc.app.listen;
                is.registry = iperf3_tests;
                is.lcore = slot.lcore;
                is.idle_timeout = sc.app.iperf3_idle_timeout;
                return std::make_unique<iperf3::Iperf3App>(is);
            }
            case config::AppKind::Iperf: return std::make_unique<iperf2::Iperf2App>(sc.app.listen);
            case config::AppKind::Perf: return std::make_unique<apps::PerfApp>(sc.app.listen);
            default: return std::make_unique<EchoApp>(discard, sc.app.listen);
        }
    }, tick);
    console.reset();  // the terminal as it was
    std::printf("ustcp-server: stopping\n");
    const std::string report = l.final_report();
    std::fwrite(report.data(), 1, report.size(), stdout);
    const std::uint32_t left = l.teardown();
    capture.reset();
    std::printf("ustcp-server: mbufs still in use after shutdown: %u\n", left);
    std::fflush(stdout);
    if (rc != 0) return rc;
    return left == 0 ? 0 : 3;
}

}  // namespace

int main(int argc, char** argv) {
    auto eal = dpdk::start_eal(argc, argv);
    if (!eal) {
        std::fprintf(stderr, "ustcp-server: %s\n", eal.error().c_str());
        return 1;
    }
    const bool interactive = take_interactive(eal->app_argc, eal->app_argv);
    auto sc = config::load_command_line(eal->app_argc, eal->app_argv);
    if (!sc) {
        const bool help = sc.error().kind == config::ConfigErrorKind::HelpRequested;
        std::fprintf(help ? stdout : stderr, "%s\n", sc.error().message().c_str());
        dpdk::stop_eal();
        return help ? 0 : 2;
    }
    int rc = serve(*sc, eal->added, interactive);
    dpdk::stop_eal();
    return rc;
}
