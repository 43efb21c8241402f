// ustcp-client [EAL args] -- --connect A.B.C.D:PORT [--conns N] [--bytes B] [--timeout SECONDS]
//              [--wait-for FILE] [lib/config flags: --config FILE --lcores L --ip A.B.C.D/N ...]
//
// The active open on the multi-lcore runtime (lib/dpdk launcher.hpp): N connections to an echo
// server, spread over the worker lcores (connection j on worker j % workers; each engine's
// connect() picks a source port whose packets its own lcore receives), B pseudo-random bytes
// sent on each, then FIN; everything the server echoes is read until its FIN. A connection
// passes when it got back exactly what it sent (length and a 64-bit FNV-1a hash of the stream).
// Prints one line per connection and a total, and exits 0 only when every connection passed.
//
// Flags: the client's own (above; `--x V` or `--x=V`) are taken out of the argument list, the
// rest goes to lib/config's parser as ustcp-server's do (`--help` lists both). --wait-for FILE
// holds the connects until FILE exists (a test creates it once the peer is ready); --timeout
// (default 60) fails the connections still running after that many seconds.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <unistd.h>

#include "ustcp/base/parse.hpp"
#include "ustcp/config/load.hpp"
#include "ustcp/dpdk/launcher.hpp"
#include "ustcp/dpdk/runtime.hpp"
#include "ustcp/engine/engine.hpp"

using namespace ustcp;

namespace {

struct ClientOptions {
    Ipv4Addr remote;
    std::uint16_t port = 0;
    std::uint32_t conns = 1;
    std::uint64_t bytes = 1 << 20;
    std::uint32_t timeout_s = 60;
    std::string wait_for;
};

constexpr std::string_view kClientHelp =
    "ustcp-client flags (before or among the configuration flags):\n"
    "  --connect A.B.C.D:PORT   the echo server (required)\n"
    "  --conns N                connections, 1..100000 (default 1), spread over the worker lcores\n"
    "  --bytes B                bytes sent on each, 0..2^40 (default 1048576)\n"
    "  --timeout SECONDS        fail what is still running after this long, 1..86400 (default 60)\n"
    "  --wait-for FILE          connect once FILE exists\n";

/// Takes the client's flags out of argv (argv[0] stays); the rest is lib/config's.
Result<ClientOptions, std::string> take_client_flags(int argc, char** argv, std::vector<char*>& rest, bool& help) {
    ClientOptions o;
    bool have_connect = false;
    rest.push_back(argv[0]);
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "--help" || a == "-h") help = true;
        std::string_view name = a;
        std::optional<std::string_view> value;
        if (const auto eq = a.find('='); a.starts_with("--") && eq != std::string_view::npos) {
            name = a.substr(0, eq);
            value = a.substr(eq + 1);
        }
        const bool ours = name == "--connect" || name == "--conns" || name == "--bytes" || name == "--timeout" ||
                          name == "--wait-for";
        if (!ours) {
            rest.push_back(argv[i]);
            continue;
        }
        if (!value) {
            if (i + 1 >= argc) return Err(std::string(name) + ": needs a value");
            value = argv[++i];
        }
        const std::string v(*value);
        if (name == "--connect") {
            const auto colon = v.rfind(':');
            auto addr = colon == std::string::npos ? std::nullopt : Ipv4Addr::parse(v.substr(0, colon));
            auto port = colon == std::string::npos ? std::nullopt : parse_uint(v.substr(colon + 1), 1, 65535);
            if (!addr || !port) return Err("--connect: \"" + v + "\" is not an address and port; expected A.B.C.D:PORT");
            o.remote = *addr;
            o.port = static_cast<std::uint16_t>(*port);
            have_connect = true;
        } else if (name == "--conns") {
            auto n = parse_uint(v, 1, 100000);
            if (!n) return Err("--conns: \"" + v + "\" is out of range; expected 1..100000");
            o.conns = static_cast<std::uint32_t>(*n);
        } else if (name == "--bytes") {
            auto n = parse_uint(v, 0, std::uint64_t{1} << 40);
            if (!n) return Err("--bytes: \"" + v + "\" is out of range; expected 0..1099511627776");
            o.bytes = *n;
        } else if (name == "--timeout") {
            auto n = parse_uint(v, 1, 86400);
            if (!n) return Err("--timeout: \"" + v + "\" is out of range; expected 1..86400 seconds");
            o.timeout_s = static_cast<std::uint32_t>(*n);
        } else {
            o.wait_for = v;
        }
    }
    if (!have_connect && !help) return Err(std::string("--connect A.B.C.D:PORT is required"));
    return o;
}

/// A 64-bit FNV-1a over a byte stream, and the pseudo-random stream (splitmix64) a connection sends.
struct Fnv {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    void add(const std::uint8_t* p, std::size_t n) noexcept {
        for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ULL;
    }
};
struct SplitMix {
    std::uint64_t s;
    std::uint64_t next() noexcept {
        std::uint64_t z = (s += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }
};

/// One connection's progress.
struct Conn {
    std::uint32_t index = 0;
    tcp::Connection* c = nullptr;
    FourTuple tuple{};
    SplitMix rng{0};
    std::vector<std::uint8_t> chunk;  // generated, not yet all queued
    std::size_t chunk_off = 0;
    std::uint64_t sent = 0;           // queued into the connection
    std::uint64_t received = 0;
    Fnv sent_hash;
    Fnv recv_hash;
    bool fin_sent = false;
    bool done = false;
    std::string error;                // why it failed; empty: none (yet)

    [[nodiscard]] bool ok(std::uint64_t want) const noexcept {
        return done && error.empty() && sent == want && received == want && sent_hash.h == recv_hash.h;
    }
};

/// The connections of one engine (one worker lcore).
class ClientApp final : public dpdk::WorkerApp {
public:
    ClientApp(const ClientOptions& o, const dpdk::EngineSlot& slot) : o_(o), lcore_(slot.lcore) {
        for (std::uint32_t j = slot.worker; j < o.conns; j += slot.workers) {
            Conn c;
            c.index = j;
            c.rng = SplitMix{0x5eed0000ULL + j};
            conns_.push_back(std::move(c));
        }
    }

    void after_poll(engine::Engine& e) override {
        if (!started_) {
            if (!o_.wait_for.empty() && e.now() < next_check_) return;
            next_check_ = e.now() + Duration::millis(10);
            if (!o_.wait_for.empty() && ::access(o_.wait_for.c_str(), F_OK) != 0) return;
            open_all(e);
            return;
        }
        if (!finished_ && e.now() >= deadline_) {
            for (Conn& c : conns_) {
                if (c.done) continue;
                c.error = "timed out after " + std::to_string(o_.timeout_s) + " s";
                c.done = true;
            }
        }
        if (!finished_) {
            bool all = true;
            for (const Conn& c : conns_) all = all && c.done;
            finished_ = all;
        }
    }
    [[nodiscard]] bool finished() const noexcept override { return finished_; }

    void on_connected(engine::Engine& e, tcp::Connection& c) override { pump(e, c); }
    void on_writable(engine::Engine& e, tcp::Connection& c) override { pump(e, c); }
    void on_readable(engine::Engine& e, tcp::Connection& c) override { pump(e, c); }
    void on_peer_closed(engine::Engine& e, tcp::Connection& c) override { pump(e, c); }
    void on_error(engine::Engine&, tcp::Connection& c, tcp::Error err) override {
        if (Conn* k = find(c)) fail(*k, tcp::to_string(err));
    }
    void on_closed(engine::Engine&, tcp::Connection& c) override {
        if (Conn* k = find(c)) {
            if (!k->done) fail(*k, "closed before the echo was complete");
            by_conn_.erase(&c);
            k->c = nullptr;
        }
    }

    void report(std::string& out) const override {
        char line[512];
        for (const Conn& c : conns_) {
            const bool good = c.ok(o_.bytes);
            std::snprintf(line, sizeof line,
                          "conn %u lcore %u %s:%u -> %s:%u sent %llu received %llu hash %016llx/%016llx %s%s\n",
                          c.index, lcore_, c.tuple.local_addr.to_string().c_str(), c.tuple.local_port,
                          c.tuple.remote_addr.to_string().c_str(), c.tuple.remote_port,
                          static_cast<unsigned long long>(c.sent), static_cast<unsigned long long>(c.received),
                          static_cast<unsigned long long>(c.sent_hash.h), static_cast<unsigned long long>(c.recv_hash.h),
                          good ? "ok" : (c.done ? "FAILED: " : "running"), good ? "" : c.error.c_str());
            out += line;
        }
    }
    [[nodiscard]] std::size_t total() const noexcept { return conns_.size(); }
    [[nodiscard]] std::size_t passed() const noexcept {
        std::size_t n = 0;
        for (const Conn& c : conns_) n += c.ok(o_.bytes) ? 1 : 0;
        return n;
    }

private:
    static constexpr std::size_t kChunk = 16384;

    void open_all(engine::Engine& e) {
        started_ = true;
        deadline_ = e.now() + Duration::seconds(o_.timeout_s);
        for (std::size_t i = 0; i < conns_.size(); ++i) {
            Conn& k = conns_[i];
            auto r = e.connect(o_.remote, o_.port);
            if (!r) {
                fail(k, std::string("connect: ") + tcp::to_string(r.error()));
                continue;
            }
            k.c = *r;
            k.tuple = k.c->tuple();
            by_conn_[k.c] = i;
        }
        e.flush(e.now());
    }

    Conn* find(const tcp::Connection& c) {
        auto it = by_conn_.find(&c);
        return it == by_conn_.end() ? nullptr : &conns_[it->second];
    }

    void fail(Conn& k, std::string why) {
        if (k.done) return;
        k.error = std::move(why);
        k.done = true;
    }

    void pump(engine::Engine& e, tcp::Connection& c) {
        Conn* k = find(c);
        if (k == nullptr || k->done) return;
        // Send what fits.
        while (k->sent < o_.bytes) {
            if (k->chunk_off == k->chunk.size()) {
                const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, o_.bytes - k->sent));
                k->chunk.resize(n);
                for (std::size_t i = 0; i < n; i += 8) {
                    const std::uint64_t v = k->rng.next();
                    std::memcpy(k->chunk.data() + i, &v, std::min<std::size_t>(8, n - i));
                }
                k->sent_hash.add(k->chunk.data(), n);
                k->chunk_off = 0;
            }
            auto r = c.send(e.ctx(), e.now(),
                            wire::Bytes(k->chunk.data() + k->chunk_off, k->chunk.size() - k->chunk_off));
            if (!r) {
                if (r.error() != tcp::Error::WouldBlock) fail(*k, std::string("send: ") + tcp::to_string(r.error()));
                break;
            }
            if (*r == 0) break;
            k->chunk_off += *r;
            k->sent += *r;
        }
        if (k->done) return;
        if (k->sent == o_.bytes && !k->fin_sent) {
            if (auto r = c.shutdown_write(e.ctx(), e.now()); !r) {
                fail(*k, std::string("shutdown: ") + tcp::to_string(r.error()));
                return;
            }
            k->fin_sent = true;
        }
        // Read what came back.
        std::uint8_t buf[16384];
        for (;;) {
            auto r = c.receive(e.ctx(), e.now(), wire::MutBytes(buf, sizeof buf));
            if (!r) {
                if (r.error() != tcp::Error::WouldBlock) fail(*k, std::string("receive: ") + tcp::to_string(r.error()));
                break;
            }
            if (*r == 0) {
                // The server's FIN: the echo is complete.
                k->done = true;
                if (!k->ok(o_.bytes)) k->error = "echo differs";
                break;
            }
            k->recv_hash.add(buf, *r);
            k->received += *r;
        }
    }

    ClientOptions o_;
    unsigned lcore_;
    std::vector<Conn> conns_;
    std::unordered_map<const tcp::Connection*, std::size_t> by_conn_;  // -> position in conns_
    bool started_ = false;
    bool finished_ = false;
    Instant next_check_{};
    Instant deadline_{};
};

int run_client(const config::StackConfig& sc, const ClientOptions& o) {
    auto rt = dpdk::Launcher::create(sc);
    if (!rt) {
        std::fprintf(stderr, "ustcp-client: %s\n", rt.error().c_str());
        return 1;
    }
    dpdk::Launcher& l = **rt;
    dpdk::print_lines("ustcp-client", l.describe());
    std::printf("ustcp-client: %u connection(s) to %s:%u, %llu bytes each, over %zu worker lcore(s)%s%s\n", o.conns,
                o.remote.to_string().c_str(), o.port, static_cast<unsigned long long>(o.bytes), l.worker_count(),
                o.wait_for.empty() ? "" : "; waiting for ", o.wait_for.c_str());
    std::fflush(stdout);
    l.handle_signals();
    std::vector<ClientApp*> apps;  // made on this thread; read after run() joined the workers
    const int rc = l.run([&](const dpdk::EngineSlot& s) {
        auto a = std::make_unique<ClientApp>(o, s);
        apps.push_back(a.get());
        return a;
    });
    const std::string report = l.final_report();
    std::fwrite(report.data(), 1, report.size(), stdout);
    std::size_t total = 0;
    std::size_t passed = 0;
    for (const ClientApp* a : apps) {
        total += a->total();
        passed += a->passed();
    }
    std::printf("result: %zu of %zu connections echoed correctly\n", passed, total);
    const std::uint32_t left = l.teardown();
    std::printf("ustcp-client: mbufs still in use after shutdown: %u\n", left);
    std::fflush(stdout);
    if (rc != 0) return rc;
    if (passed != total || total != o.conns) return 4;
    return left == 0 ? 0 : 3;
}

}  // namespace

int main(int argc, char** argv) {
    auto eal = dpdk::start_eal(argc, argv);
    if (!eal) {
        std::fprintf(stderr, "ustcp-client: %s\n", eal.error().c_str());
        return 1;
    }
    std::vector<char*> rest;
    bool help = false;
    char* no_args[] = {argv[0], nullptr};
    const int app_argc = eal->app_argc > 0 ? eal->app_argc : 1;
    char** app_argv = eal->app_argc > 0 ? eal->app_argv : no_args;
    auto opts = take_client_flags(app_argc, app_argv, rest, help);
    if (!opts) {
        std::fprintf(stderr, "ustcp-client: %s\n", opts.error().c_str());
        dpdk::stop_eal();
        return 2;
    }
    if (help) std::fputs(std::string(kClientHelp).c_str(), stdout);
    auto sc = config::load_command_line(static_cast<int>(rest.size()), rest.data());
    if (!sc) {
        const bool h = sc.error().kind == config::ConfigErrorKind::HelpRequested;
        std::fprintf(h ? stdout : stderr, "%s\n", sc.error().message().c_str());
        dpdk::stop_eal();
        return h ? 0 : 2;
    }
    int rc = run_client(*sc, *opts);
    dpdk::stop_eal();
    return rc;
}
