// ustcp-perf: the load generator (docs/bench.md).
//
//   ustcp-perf [EAL args] -- --mode bulk|rr|crr|hold|http|iperf --connect A.B.C.D:PORT
//      [--backend ustcp|linux] [--conns N] [--duration S] [--warmup S] [--req-size B] [--resp-size B]
//      [--depth D] [--direction send|recv] [--src-range A.B.C.D-A.B.C.E] [--interval S] [--json FILE]
//      [--timeout S] [--http-path P] [--http-close] [--wait-for FILE] [lib/config flags, ustcp backend]
//   ustcp-perf --backend linux --serve [A.B.C.D:]PORT [--busy-poll USEC]
//
// The workloads (apps/perf workload.hpp) are the same for both backends: ustcp runs them on
// the Launcher's worker lcores (connection j on worker j % workers, each engine's connect()
// picking a source port its own lcore receives), linux on kernel sockets and epoll in one
// thread (linux.cpp). Worker 0 prints each interval once every worker has published it; the
// summary and --json come after the run.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <unistd.h>

#include "options.hpp"
#include "report.hpp"
#include "ustcp/base/parse.hpp"
#include "ustcp/config/load.hpp"
#include "ustcp/dpdk/launcher.hpp"
#include "ustcp/dpdk/runtime.hpp"
#include "ustcp/engine/engine.hpp"

using namespace ustcp;
using namespace ustcp::perf;

namespace {

constexpr std::string_view kHelp =
    "ustcp-perf flags (after `--` with the ustcp backend, among lib/config's flags):\n"
    "  --mode bulk|rr|crr|hold|http|iperf   the workload (required with --connect)\n"
    "  --connect A.B.C.D:PORT   the server: ustcp-server --app perf, ustcp-perf --serve, an HTTP server\n"
    "                           (http), iperf -s (iperf)\n"
    "  --backend ustcp|linux    ustcp (default: DPDK, the Launcher's lcores) or kernel sockets on epoll\n"
    "  --conns N                connections, 1..16777216 (default 1)\n"
    "  --duration S             measured seconds, 0.001..86400 (default 10; fractions allowed: 2.5)\n"
    "  --warmup S               seconds before measuring, 0..3600 (default 0; iperf: always 0)\n"
    "  --interval S             seconds per interval line, 0.01..3600 (default 1)\n"
    "  --req-size B, --resp-size B   rr/crr message sizes, 1..16777216 (default 64)\n"
    "  --depth D                rr: requests in flight per connection, 1..1024 (default 1)\n"
    "  --direction send|recv    bulk: the client sends (default) or receives\n"
    "  --http-path P            http: the path to GET (default /)\n"
    "  --http-close             http: `Connection: close`, a new connection per request\n"
    "  --src-range A-B          connections from the local addresses A..B (at most 4096), round robin;\n"
    "                           ustcp: each must be the port's ip or in its port.extra_ips\n"
    "  --timeout S              a connect not done in S seconds is an error, 1..3600 (default 10)\n"
    "  --idle N                 ustcp: first open N connections that stay idle (hold) on the same engines,\n"
    "                           then run the workload beside them (CRR at 1 M idle: --mode crr --idle 1000000)\n"
    "  --json FILE              the totals, percentiles and intervals as JSON (docs/bench.md)\n"
    "  --wait-for FILE          connect once FILE exists\n"
    "  --serve [A.B.C.D:]PORT   linux: serve the perf protocol (ustcp-server --app perf's twin)\n"
    "  --busy-poll USEC         linux: SO_BUSY_POLL on every socket, and epoll without sleeping\n"
    "Output: one line per interval (`[ 1.0s] 812345 req/s p50 1.1us p99 2.3us`; bulk/iperf Gbit/s,\n"
    "crr conn/s, hold established), then `summary:` and `latency:` lines. Exit status: 0 when the run\n"
    "completed (errors are counted, not fatal), 1 on a failure to run, 2 on bad flags.\n";

/// --conns at most: 16 Mi, the largest engine pool (tcp.max_connections).
constexpr std::uint64_t kMaxConns = std::uint64_t{1} << 24;

/// "3", "2.5", "0.125": seconds with up to 9 decimals.
std::optional<Duration> parse_seconds(std::string_view s) {
    const std::size_t dot = s.find('.');
    auto whole = parse_uint(s.substr(0, dot), 0, 1'000'000);
    if (!whole) return std::nullopt;
    std::int64_t ns = 0;
    if (dot != std::string_view::npos) {
        const std::string_view frac = s.substr(dot + 1);
        if (frac.empty() || frac.size() > 9) return std::nullopt;
        auto f = parse_uint(frac, 0, 999'999'999);
        if (!f) return std::nullopt;
        ns = static_cast<std::int64_t>(*f);
        for (std::size_t i = frac.size(); i < 9; ++i) ns *= 10;
    }
    return Duration::seconds(static_cast<std::int64_t>(*whole)) + Duration::nanos(ns);
}

struct Parsed {
    Options o;
    bool help = false;
    bool have_mode = false;
    bool have_connect = false;
};

/// Takes ustcp-perf's flags out of argv (argv[0] stays); the rest is lib/config's.
Result<Parsed, std::string> take_flags(int argc, char** argv, std::vector<char*>& rest) {
    Parsed p;
    Options& o = p.o;
    rest.push_back(argv[0]);
    static constexpr std::string_view kValued[] = {
        "--mode",     "--connect", "--backend",  "--conns",   "--duration",  "--warmup",  "--req-size",
        "--resp-size", "--depth",  "--direction", "--src-range", "--interval", "--json",    "--timeout",
        "--wait-for", "--serve",   "--busy-poll", "--http-path", "--idle"};
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "--help" || a == "-h") p.help = true;
        if (a == "--http-close") {
            o.w.http_close = true;
            continue;
        }
        std::string_view name = a;
        std::optional<std::string_view> value;
        if (const auto eq = a.find('='); a.starts_with("--") && eq != std::string_view::npos) {
            name = a.substr(0, eq);
            value = a.substr(eq + 1);
        }
        bool ours = false;
        for (std::string_view k : kValued) ours = ours || name == k;
        if (!ours) {
            rest.push_back(argv[i]);
            continue;
        }
        if (!value) {
            if (i + 1 >= argc) return Err(std::string(name) + ": needs a value");
            value = argv[++i];
        }
        const std::string v(*value);
        auto num = [&](std::uint64_t lo, std::uint64_t hi) -> Result<std::uint64_t, std::string> {
            auto n = parse_uint(v, lo, hi);
            if (!n) return Err(std::string(name) + ": \"" + v + "\" is out of range; expected " + std::to_string(lo) +
                               ".." + std::to_string(hi));
            return *n;
        };
        if (name == "--mode") {
            auto m = parse_mode(v);
            if (!m) return Err("--mode: \"" + v + "\" is not one of bulk, rr, crr, hold, http, iperf");
            o.w.mode = *m;
            p.have_mode = true;
        } else if (name == "--connect") {
            const auto colon = v.rfind(':');
            auto addr = colon == std::string::npos ? std::nullopt : Ipv4Addr::parse(v.substr(0, colon));
            auto port = colon == std::string::npos ? std::nullopt : parse_uint(v.substr(colon + 1), 1, 65535);
            if (!addr || !port) return Err("--connect: \"" + v + "\" is not an address and port; expected A.B.C.D:PORT");
            o.remote = *addr;
            o.port = static_cast<std::uint16_t>(*port);
            p.have_connect = true;
        } else if (name == "--backend") {
            if (v != "ustcp" && v != "linux") return Err("--backend: \"" + v + "\" is not ustcp or linux");
            o.backend = v;
        } else if (name == "--conns") {
            auto r = num(1, kMaxConns);
            if (!r) return Err(r.error());
            const std::uint64_t n = *r;
            o.conns = static_cast<std::uint32_t>(n);
        } else if (name == "--idle") {
            auto r = num(0, kMaxConns);
            if (!r) return Err(r.error());
            const std::uint64_t n = *r;
            o.idle = static_cast<std::uint32_t>(n);
        } else if (name == "--duration" || name == "--warmup" || name == "--interval") {
            // Seconds, with a fraction if wanted: "3", "2.5", "0.25".
            const std::int64_t lo_ms = name == "--warmup" ? 0 : (name == "--duration" ? 1 : 10);
            const std::int64_t hi_s = name == "--duration" ? 86400 : 3600;
            auto d = parse_seconds(v);
            if (!d || d->as_millis() < lo_ms || *d > Duration::seconds(hi_s)) {
                return Err(std::string(name) + ": \"" + v + "\" is out of range; expected seconds " +
                           (lo_ms == 0 ? "0" : lo_ms == 1 ? "0.001" : "0.01") + ".." + std::to_string(hi_s) +
                           " (e.g. 3 or 2.5)");
            }
            (name == "--duration" ? o.spec.duration : name == "--warmup" ? o.spec.warmup : o.spec.interval) = *d;
        } else if (name == "--req-size") {
            auto r = num(1, kMaxMessage);
            if (!r) return Err(r.error());
            const std::uint64_t n = *r;
            o.w.req_size = static_cast<std::uint32_t>(n);
        } else if (name == "--resp-size") {
            auto r = num(1, kMaxMessage);
            if (!r) return Err(r.error());
            const std::uint64_t n = *r;
            o.w.resp_size = static_cast<std::uint32_t>(n);
        } else if (name == "--depth") {
            auto r = num(1, Workload::kMaxDepth);
            if (!r) return Err(r.error());
            const std::uint64_t n = *r;
            o.w.depth = static_cast<std::uint32_t>(n);
        } else if (name == "--direction") {
            if (v != "send" && v != "recv") return Err("--direction: \"" + v + "\" is not send or recv");
            o.w.direction = v == "recv" ? Direction::Recv : Direction::Send;
        } else if (name == "--src-range") {
            const auto dash = v.find('-');
            auto lo = dash == std::string::npos ? std::nullopt : Ipv4Addr::parse(v.substr(0, dash));
            auto hi = dash == std::string::npos ? std::nullopt : Ipv4Addr::parse(v.substr(dash + 1));
            if (!lo || !hi || hi->value() < lo->value() || hi->value() - lo->value() >= 4096) {
                return Err("--src-range: \"" + v + "\" is not a range A.B.C.D-A.B.C.E of at most 4096 addresses");
            }
            o.sources.clear();
            for (std::uint32_t x = lo->value(); x <= hi->value(); ++x) o.sources.emplace_back(x);
        } else if (name == "--json") {
            o.json = v;
        } else if (name == "--timeout") {
            auto r = num(1, 3600);
            if (!r) return Err(r.error());
            const std::uint64_t n = *r;
            o.timeout_s = static_cast<std::uint32_t>(n);
        } else if (name == "--wait-for") {
            o.wait_for = v;
        } else if (name == "--serve") {
            std::string port = v;
            if (const auto colon = v.rfind(':'); colon != std::string::npos) {
                auto addr = Ipv4Addr::parse(v.substr(0, colon));
                if (!addr) return Err("--serve: \"" + v + "\" is not [A.B.C.D:]PORT");
                o.serve_addr = *addr;
                port = v.substr(colon + 1);
            }
            auto n = parse_uint(port, 1, 65535);
            if (!n) return Err("--serve: \"" + v + "\" is not [A.B.C.D:]PORT");
            o.serve = static_cast<std::uint16_t>(*n);
        } else if (name == "--busy-poll") {
            auto r = num(0, 1000000);
            if (!r) return Err(r.error());
            const std::uint64_t n = *r;
            o.busy_poll_us = static_cast<std::uint32_t>(n);
        } else if (name == "--http-path") {
            if (v.empty() || v.front() != '/' || v.find_first_of(" \r\n") != std::string::npos) {
                return Err("--http-path: \"" + v + "\" is not a path (it starts with '/', no spaces)");
            }
            o.http_path = v;
        }
    }
    if (p.help) return p;
    if (o.serve != 0) {
        if (o.backend != "linux") return Err(std::string("--serve is the linux backend's; ustcp-server --app perf serves on ustcp"));
        return p;
    }
    if (!p.have_connect) return Err(std::string("--connect A.B.C.D:PORT is required (or --serve PORT)"));
    if (!p.have_mode) return Err(std::string("--mode is required"));
    if (o.idle > 0 && o.backend != "ustcp") return Err(std::string("--idle is the ustcp backend's"));
    if (o.w.mode == Mode::Iperf) {
        o.spec.warmup = Duration::zero();  // the iperf server counts every byte from the first
        // The header's -t in whole seconds (rounded up); the client stops at --duration itself.
        o.w.iperf_seconds = static_cast<std::uint32_t>((o.spec.duration.as_nanos() + 999'999'999) / 1'000'000'000);
    }
    if (o.w.mode == Mode::Http) o.w.http_request = http_request(o.remote.to_string(), o.http_path, o.w.http_close);
    return p;
}

bool write_file(const std::string& path, const std::string& text) {
    std::ofstream f(path);
    f << text;
    return static_cast<bool>(f);
}

// ---- the ustcp backend ----

class EngineIo final : public Io {
public:
    EngineIo(engine::Engine& e, tcp::Connection& c) : e_(e), c_(c) {}
    IoResult send(std::span<const std::uint8_t> b) override {
        auto r = c_.send(e_.ctx(), e_.now(), wire::Bytes(b.data(), b.size()));
        if (!r) return {0, r.error() == tcp::Error::WouldBlock ? IoStatus::WouldBlock : IoStatus::Error};
        if (*r == 0) return {0, IoStatus::WouldBlock};
        return {*r, IoStatus::Ok};
    }
    IoResult recv(std::span<std::uint8_t> b) override {
        auto r = c_.receive(e_.ctx(), e_.now(), wire::MutBytes(b.data(), b.size()));
        if (!r) return {0, r.error() == tcp::Error::WouldBlock ? IoStatus::WouldBlock : IoStatus::Error};
        if (*r == 0) return {0, IoStatus::Eof};
        return {*r, IoStatus::Ok};
    }

private:
    engine::Engine& e_;
    tcp::Connection& c_;
};

/// An engine of a port other than the first: nothing to do.
class IdleApp final : public dpdk::WorkerApp {
public:
    [[nodiscard]] bool finished() const noexcept override { return true; }
};

/// One pool of a worker's connections and the TCBs behind its slots (both ways).
class PoolSide final : public PoolBackend {
public:
    PoolSide(const Options& o, const ClientEnv& env, Meter& meter, std::size_t n)
        : pool(env, meter, n, *this, Duration::seconds(o.timeout_s)), o_(o), conns_(n, nullptr) {
        by_conn_.reserve(n * 2 + 16);  // no rehash while running (crr inserts per connect)
    }
    void set_engine(engine::Engine& e) noexcept { e_ = &e; }
    std::optional<std::size_t> find(const tcp::Connection& c) const {
        auto it = by_conn_.find(&c);
        if (it == by_conn_.end()) return std::nullopt;
        return it->second;
    }
    void forget(const tcp::Connection& c) {
        auto it = by_conn_.find(&c);
        if (it == by_conn_.end()) return;
        conns_[it->second] = nullptr;
        by_conn_.erase(it);
    }

    ClientPool pool;

private:
    bool open(std::size_t slot, std::string& err) override {
        // --src-range: slot k connects from the k-th address, round robin (as the linux backend).
        std::optional<Ipv4Addr> local;
        if (!o_.sources.empty()) local = o_.sources[slot % o_.sources.size()];
        auto r = e_->connect(o_.remote, o_.port, local);
        if (!r) {
            err = tcp::to_string(r.error());
            return false;
        }
        conns_[slot] = *r;
        by_conn_[*r] = slot;
        e_->touch(**r);
        return true;
    }
    void close(std::size_t slot, bool reset) override {
        tcp::Connection* c = conns_[slot];
        if (c == nullptr) return;
        forget(*c);
        if (reset) c->abort(e_->ctx(), e_->now());
        else (void)c->close(e_->ctx(), e_->now());
        e_->touch(*c);
    }

    const Options& o_;
    engine::Engine* e_ = nullptr;
    std::vector<tcp::Connection*> conns_;
    std::unordered_map<const tcp::Connection*, std::size_t> by_conn_;
};

/// --idle: connections held open (the hold mode's header, then nothing) on the same engine
/// while the workload runs, opened before it starts. Their meter runs for a day in hour-long
/// intervals that nobody prints.
struct IdleSet {
    IdleSet(const Options& o, std::size_t n)
        : env(idle_workload()), log(spec().intervals()), meter(spec(), log), side(o, env, meter, n), want(n) {}
    static Workload idle_workload() {
        Workload w;
        w.mode = Mode::Hold;
        return w;
    }
    static RunSpec spec() {
        RunSpec r;
        r.duration = Duration::seconds(86400);
        r.interval = Duration::seconds(3600);
        return r;
    }
    ClientEnv env;
    IntervalLog log;
    Meter meter;
    PoolSide side;
    std::size_t want;
    bool ready = false;
};

/// One worker's connections (the worker-th of every `workers`).
class PerfWorker final : public dpdk::WorkerApp {
public:
    PerfWorker(const Options& o, const dpdk::EngineSlot& slot, IntervalLog& log, Reporter* printer)
        : o_(o), env_(o.w), meter_(o.spec, log), main_(o, env_, meter_, count(o.conns, slot)), printer_(printer) {
        if (const std::size_t n = count(o.idle, slot); n > 0) idle_ = std::make_unique<IdleSet>(o, n);
    }

    static std::size_t count(std::uint32_t conns, const dpdk::EngineSlot& s) {
        return conns / s.workers + (s.worker < conns % s.workers ? 1 : 0);
    }

    void after_poll(engine::Engine& e) override {
        main_.set_engine(e);
        if (!go_) {
            if (e.now() < next_check_) return;
            next_check_ = e.now() + Duration::millis(10);
            if (!o_.wait_for.empty() && ::access(o_.wait_for.c_str(), F_OK) != 0) return;
            go_ = true;
        }
        if (idle_ && !idle_->ready) {
            // The idle connections first: the workload starts once every one is established.
            idle_->side.set_engine(e);
            if (!idle_started_) {
                idle_started_at_ = e.now();
                idle_started_ = true;
            }
            idle_->side.pool.tick(e.now());
            e.flush(e.now());
            if (idle_->side.pool.established() < idle_->want) return;
            idle_->ready = true;
            std::printf("ustcp-perf: %zu idle connection(s) established in %.1f s; the workload starts\n", idle_->want,
                        static_cast<double>((e.now() - idle_started_at_).as_millis()) / 1e3);
            std::fflush(stdout);
        }
        if (idle_) idle_->side.pool.tick(e.now());  // reopens any that failed, times out connects
        main_.pool.tick(e.now());
        e.flush(e.now());
        if (printer_ != nullptr) {
            while (auto line = printer_->next_line()) {
                std::printf("%s\n", line->c_str());
                std::fflush(stdout);
            }
        }
    }
    [[nodiscard]] bool finished() const noexcept override { return main_.pool.finished(); }

    void on_connected(engine::Engine& e, tcp::Connection& c) override {
        std::size_t i;
        if (PoolSide* s = side_of(c, i)) {
            EngineIo io(e, c);
            s->pool.on_connected(i, io, e.now());
        }
    }
    void on_readable(engine::Engine& e, tcp::Connection& c) override { event(e, c); }
    void on_writable(engine::Engine& e, tcp::Connection& c) override { event(e, c); }
    void on_peer_closed(engine::Engine& e, tcp::Connection& c) override { event(e, c); }
    void on_error(engine::Engine& e, tcp::Connection& c, tcp::Error err) override {
        std::size_t i;
        if (PoolSide* s = side_of(c, i)) {
            s->forget(c);
            s->pool.on_failed(i, e.now(), tcp::to_string(err));
        }
    }
    void on_closed(engine::Engine& e, tcp::Connection& c) override {
        std::size_t i;
        if (PoolSide* s = side_of(c, i)) {
            s->forget(c);
            s->pool.on_failed(i, e.now(), "closed by the peer");
        }
    }

    void report(std::string& out) const override {
        for (const std::string& err : main_.pool.first_errors()) out += "perf: error: " + err + "\n";
        if (main_.pool.pending_at_end() > 0) {
            out += "perf: " + std::to_string(main_.pool.pending_at_end()) + " connect(s) still in progress at the end\n";
        }
        if (idle_) {
            out += "perf: idle: " + std::to_string(idle_->side.pool.established()) + " of " +
                   std::to_string(idle_->want) + " established\n";
            for (const std::string& err : idle_->side.pool.first_errors()) out += "perf: idle: error: " + err + "\n";
        }
    }

private:
    PoolSide* side_of(const tcp::Connection& c, std::size_t& slot) {
        if (auto i = main_.find(c)) {
            slot = *i;
            return &main_;
        }
        if (idle_) {
            if (auto i = idle_->side.find(c)) {
                slot = *i;
                return &idle_->side;
            }
        }
        return nullptr;
    }
    void event(engine::Engine& e, tcp::Connection& c) {
        std::size_t i;
        if (PoolSide* s = side_of(c, i)) {
            EngineIo io(e, c);
            s->pool.on_event(i, io, e.now());
        }
    }

    const Options& o_;
    ClientEnv env_;
    Meter meter_;
    PoolSide main_;
    Reporter* printer_;
    std::unique_ptr<IdleSet> idle_;
    bool go_ = false;
    bool idle_started_ = false;
    Instant idle_started_at_{};
    Instant next_check_{};
};

/// --src-range with the ustcp backend: every address must be the first port's (its ip or one
/// of its extra_ips), or connects from it would fail one by one. The error names the way out.
std::optional<std::string> check_sources(const config::StackConfig& sc, const Options& o) {
    if (o.sources.empty() || sc.ports.empty()) return std::nullopt;
    const config::PortConfig& p = sc.ports[0];
    for (Ipv4Addr a : o.sources) {
        if (a == p.ip.addr || a.value() - p.extra_first.value() < p.extra_count) continue;
        std::string extra = "none";
        if (p.extra_count > 0) {
            extra = p.extra_first.to_string() + "-" + Ipv4Addr(p.extra_first.value() + p.extra_count - 1).to_string();
        }
        return "--src-range: " + a.to_string() + " is not an address of port " + p.name + " (ip " + p.ip.to_string() +
               ", extra_ips " + extra + "); give the port the range with --port.extra_ips A-B";
    }
    return std::nullopt;
}

int run_ustcp(const config::StackConfig& sc, const Options& o) {
    if (auto bad = check_sources(sc, o)) {
        std::fprintf(stderr, "ustcp-perf: %s\n", bad->c_str());
        return 2;
    }
    auto rt = dpdk::Launcher::create(sc);
    if (!rt) {
        std::fprintf(stderr, "ustcp-perf: %s\n", rt.error().c_str());
        return 1;
    }
    dpdk::Launcher& l = **rt;
    dpdk::print_lines("ustcp-perf", l.describe());
    std::vector<std::unique_ptr<IntervalLog>> logs;
    std::vector<const IntervalLog*> views;
    for (std::size_t w = 0; w < l.worker_count(); ++w) {
        logs.push_back(std::make_unique<IntervalLog>(o.spec.intervals()));
        views.push_back(logs.back().get());
    }
    ReportInfo info{o.w.mode, "ustcp", o.remote.to_string() + ":" + std::to_string(o.port), o.conns, o.w, o.spec};
    if (o.w.mode != Mode::Rr) info.w.depth = 1;
    Reporter rep(info, views);
    std::printf("ustcp-perf: %s, ustcp backend, %u connection(s) to %s:%u over %zu worker lcore(s), %.1f s (warm-up "
                "%.1f s)%s%s\n",
                std::string(to_string(o.w.mode)).c_str(), o.conns, o.remote.to_string().c_str(), o.port,
                l.worker_count(), static_cast<double>(o.spec.duration.as_millis()) / 1e3,
                static_cast<double>(o.spec.warmup.as_millis()) / 1e3, o.wait_for.empty() ? "" : "; waiting for ",
                o.wait_for.c_str());
    std::fflush(stdout);
    l.handle_signals();
    const int rc = l.run([&](const dpdk::EngineSlot& s) -> std::unique_ptr<dpdk::WorkerApp> {
        if (s.port != 0) return std::make_unique<IdleApp>();
        return std::make_unique<PerfWorker>(o, s, *logs[s.worker], s.worker == 0 ? &rep : nullptr);
    });
    const std::string report = l.final_report();
    std::fwrite(report.data(), 1, report.size(), stdout);
    rep.finish();
    std::fputs(rep.summary().c_str(), stdout);
    const std::uint32_t left = l.teardown();
    std::printf("ustcp-perf: mbufs still in use after shutdown: %u\n", left);
    std::fflush(stdout);
    if (!o.json.empty() && !write_file(o.json, rep.json())) {
        std::fprintf(stderr, "ustcp-perf: cannot write %s\n", o.json.c_str());
        return 1;
    }
    if (rc != 0) return rc;
    return left == 0 ? 0 : 3;
}

bool linux_backend(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a == "--backend=linux" || (a == "--backend" && i + 1 < argc && std::string_view(argv[i + 1]) == "linux")) {
            return true;
        }
    }
    return false;
}

}  // namespace

int main(int argc, char** argv) {
    if (linux_backend(argc, argv)) {
        // No EAL: everything (after a `--`, if one is given) is ours.
        std::vector<char*> args{argv[0]};
        for (int i = 1; i < argc; ++i) {
            if (std::strcmp(argv[i], "--") != 0) args.push_back(argv[i]);
        }
        std::vector<char*> rest;
        auto p = take_flags(static_cast<int>(args.size()), args.data(), rest);
        if (!p) {
            std::fprintf(stderr, "ustcp-perf: %s\n", p.error().c_str());
            return 2;
        }
        if (p->help) {
            std::fputs(std::string(kHelp).c_str(), stdout);
            return 0;
        }
        if (rest.size() > 1) {
            std::fprintf(stderr, "ustcp-perf: %s: not a flag of the linux backend\n", rest[1]);
            return 2;
        }
        return p->o.serve != 0 ? run_linux_server(p->o) : run_linux_client(p->o);
    }
    auto eal = dpdk::start_eal(argc, argv);
    if (!eal) {
        std::fprintf(stderr, "ustcp-perf: %s\n", eal.error().c_str());
        return 1;
    }
    std::vector<char*> rest;
    char* no_args[] = {argv[0], nullptr};
    const int app_argc = eal->app_argc > 0 ? eal->app_argc : 1;
    char** app_argv = eal->app_argc > 0 ? eal->app_argv : no_args;
    auto p = take_flags(app_argc, app_argv, rest);
    if (!p) {
        std::fprintf(stderr, "ustcp-perf: %s\n", p.error().c_str());
        dpdk::stop_eal();
        return 2;
    }
    if (p->help) std::fputs(std::string(kHelp).c_str(), stdout);
    auto sc = config::load_command_line(static_cast<int>(rest.size()), rest.data());
    if (!sc) {
        const bool h = sc.error().kind == config::ConfigErrorKind::HelpRequested;
        std::fprintf(h ? stdout : stderr, "%s\n", sc.error().message().c_str());
        dpdk::stop_eal();
        return h ? 0 : 2;
    }
    const int rc = run_ustcp(*sc, p->o);
    dpdk::stop_eal();
    return rc;
}
