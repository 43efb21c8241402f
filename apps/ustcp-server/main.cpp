// ustcp-server [EAL args] -- [--ip A.B.C.D/N] [--gateway A.B.C.D] [--app echo|discard]
//              [--listen PORT[,PORT...]] [--port N] [--burst N] [--max-conns N]
//
// A testpmd-style server on one ethdev port (a net_tap/net_memif/net_pcap vdev or a NIC):
// prints the port, queues, offloads and address it came up with, then serves until
// SIGINT/SIGTERM. Echo sends every byte back without copying it (the received mbufs go
// back out as clones); discard reads and drops. SIGUSR1 prints the stats; they are
// printed at exit too. One worker (the main lcore) today.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ustcp/dpdk/runtime.hpp"
#include "ustcp/engine/engine.hpp"
#include "ustcp/tcp/siphash.hpp"

using namespace ustcp;

namespace {

volatile std::sig_atomic_t g_stop = 0;
volatile std::sig_atomic_t g_stats = 0;

void on_signal(int sig) {
    if (sig == SIGUSR1) g_stats = 1;
    else g_stop = 1;
}

constexpr const char* kUsage =
    "usage: ustcp-server [EAL args] -- [--ip A.B.C.D/N] [--gateway A.B.C.D] [--app echo|discard]\n"
    "                    [--listen PORT[,PORT...]] [--port N] [--burst N] [--max-conns N]\n";

struct Options {
    Ipv4Addr ip{198, 18, 0, 2};
    std::uint8_t prefix = 24;
    std::optional<Ipv4Addr> gateway;
    std::string app = "echo";
    std::vector<std::uint16_t> listen{7};
    std::uint16_t port = 0;
    std::uint16_t burst = 32;
    std::uint32_t max_conns = 16384;
};

[[noreturn]] void usage_error(const std::string& why) {
    std::fprintf(stderr, "ustcp-server: %s\n%s", why.c_str(), kUsage);
    std::exit(2);
}

std::optional<Ipv4Addr> parse_ip(std::string_view s) {
    unsigned a, b, c, d;
    char tail;
    const std::string str(s);
    if (std::sscanf(str.c_str(), "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) != 4 || a > 255 || b > 255 || c > 255 ||
        d > 255) {
        return std::nullopt;
    }
    return Ipv4Addr(static_cast<std::uint8_t>(a), static_cast<std::uint8_t>(b), static_cast<std::uint8_t>(c),
                    static_cast<std::uint8_t>(d));
}

unsigned long parse_num(const std::string& flag, const std::string& v, unsigned long lo, unsigned long hi) {
    char* end = nullptr;
    const unsigned long n = std::strtoul(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0' || n < lo || n > hi) {
        usage_error(flag + ": \"" + v + "\" is not a number in " + std::to_string(lo) + ".." + std::to_string(hi));
    }
    return n;
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        std::string v;
        if (auto eq = a.find('='); eq != std::string::npos) {
            v = a.substr(eq + 1);
            a = a.substr(0, eq);
        } else if (a != "--help" && a != "-h") {
            if (i + 1 >= argc) usage_error(a + " needs a value");
            v = argv[++i];
        }
        if (a == "--help" || a == "-h") {
            std::fputs(kUsage, stdout);
            std::exit(0);
        } else if (a == "--ip") {
            const auto slash = v.find('/');
            auto ip = parse_ip(v.substr(0, slash));
            if (!ip) usage_error("--ip: \"" + v + "\" is not A.B.C.D/N");
            o.ip = *ip;
            if (slash != std::string::npos) o.prefix = static_cast<std::uint8_t>(parse_num("--ip prefix", v.substr(slash + 1), 1, 32));
        } else if (a == "--gateway") {
            o.gateway = parse_ip(v);
            if (!o.gateway) usage_error("--gateway: \"" + v + "\" is not A.B.C.D");
        } else if (a == "--app") {
            if (v != "echo" && v != "discard") usage_error("--app: \"" + v + "\" is not one of echo, discard");
            o.app = v;
        } else if (a == "--listen") {
            o.listen.clear();
            std::size_t at = 0;
            while (at <= v.size()) {
                const std::size_t comma = std::min(v.find(',', at), v.size());
                o.listen.push_back(static_cast<std::uint16_t>(parse_num("--listen", v.substr(at, comma - at), 1, 65535)));
                at = comma + 1;
            }
        } else if (a == "--port") {
            o.port = static_cast<std::uint16_t>(parse_num("--port", v, 0, 1023));
        } else if (a == "--burst") {
            o.burst = static_cast<std::uint16_t>(parse_num("--burst", v, 1, 512));
        } else if (a == "--max-conns") {
            o.max_conns = static_cast<std::uint32_t>(parse_num("--max-conns", v, 1, 1u << 24));
        } else {
            usage_error("unknown option " + a + " (accepted: --ip --gateway --app --listen --port --burst --max-conns)");
        }
    }
    return o;
}

/// Echo: each received buffer goes back out as it is. A buffer the send queue cannot take
/// yet is held (one per connection) until the connection is writable again; the rest stays
/// in the receive queue, so the window closes and the client slows down.
class EchoApp final : public engine::App {
public:
    explicit EchoApp(bool discard) : discard_(discard) {}
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
    std::unordered_map<tcp::Connection*, tcp::BufRef> held_;
};

void print_stats(const engine::Engine& e, const engine::Port& p) {
    const auto& c = e.counters();
    const auto& t = e.tcp_counters();
    const auto& ps = p.stats();
    std::printf(
        "stats: port rx %llu frames %llu bytes, tx %llu frames %llu bytes, tx dropped %llu, no mbuf %llu\n"
        "       engine rx %llu, arp in %llu replies %llu requests %llu, icmp echo %llu, not ipv4 %llu, bad ipv4 %llu,"
        " bad ip csum %llu, not for us %llu, fragments %llu, bad tcp %llu, no neighbour %llu\n"
        "       tcp segs in %llu out %llu, rst %llu, retransmits %llu fast %llu, delayed acks %llu, window probes %llu,"
        " ooo %llu, no buffer %llu, connections %zu (opened %llu closed %llu)\n",
        (unsigned long long)ps.rx_frames, (unsigned long long)ps.rx_bytes, (unsigned long long)ps.tx_frames,
        (unsigned long long)ps.tx_bytes, (unsigned long long)ps.tx_dropped, (unsigned long long)ps.tx_no_buffer,
        (unsigned long long)c.rx_frames, (unsigned long long)c.arp_in, (unsigned long long)c.arp_replies_sent,
        (unsigned long long)c.arp_requests_sent, (unsigned long long)c.icmp_echo_replies,
        (unsigned long long)c.rx_not_ipv4, (unsigned long long)c.rx_bad_ipv4, (unsigned long long)c.rx_bad_ip_checksum,
        (unsigned long long)c.rx_not_for_us, (unsigned long long)c.rx_fragments, (unsigned long long)c.rx_bad_tcp,
        (unsigned long long)c.tx_no_neighbour, (unsigned long long)t.segs_in, (unsigned long long)t.segs_out,
        (unsigned long long)t.rst_sent, (unsigned long long)t.retransmits, (unsigned long long)t.fast_retransmits,
        (unsigned long long)t.delayed_acks, (unsigned long long)t.window_probes, (unsigned long long)t.ooo_queued,
        (unsigned long long)t.drop_no_buffer, e.connections(), (unsigned long long)c.connections_opened,
        (unsigned long long)c.connections_closed);
    e.for_each_connection([](const tcp::Connection& conn) {
        const auto& tu = conn.tuple();
        std::printf("  %s:%u <- %s:%u %.*s\n", tu.local_addr.to_string().c_str(), tu.local_port,
                    tu.remote_addr.to_string().c_str(), tu.remote_port, static_cast<int>(conn.summary().view().size()),
                    conn.summary().view().data());
    });
    std::fflush(stdout);
}

int serve(const Options& opt, const std::vector<std::string>& eal_added);

}  // namespace

int main(int argc, char** argv) {
    auto eal = dpdk::start_eal(argc, argv);
    if (!eal) {
        std::fprintf(stderr, "ustcp-server: %s\n", eal.error().c_str());
        return 1;
    }
    const Options opt = parse(eal->app_argc, eal->app_argv);
    if (dpdk::port_count() <= opt.port) {
        std::fprintf(stderr,
                     "ustcp-server: no ethdev port %u (give a device: e.g. --no-pci --vdev=net_tap0,iface=ustcp0)\n",
                     opt.port);
        dpdk::stop_eal();
        return 1;
    }
    int rc = serve(opt, eal->added);
    dpdk::stop_eal();
    return rc;
}

namespace {

int serve(const Options& opt, const std::vector<std::string>& eal_added) {
    // Everything that holds DPDK objects lives in this scope and is gone before
    // rte_eal_cleanup().
    dpdk::Pool pool("ustcp_pool0", 16383, 256, 2176, -1);
    if (!pool.ok()) {
        std::fprintf(stderr, "ustcp-server: %s\n", pool.error().c_str());
        return 1;
    }
    auto info = dpdk::setup_port(opt.port, dpdk::PortSetup{}, pool);
    if (!info) {
        std::fprintf(stderr, "ustcp-server: port %u: %s\n", opt.port, info.error().c_str());
        return 1;
    }
    std::printf("ustcp-server: port %u (%s, %s) mac %s, %u queue(s), offloads: rx-csum %s tx-ip-csum %s tx-tcp-csum %s "
                "multi-seg %s, mtu %u\n",
                info->port_id, info->name.c_str(), info->driver.c_str(), info->mac.to_string().c_str(), info->queues,
                info->caps.rx_l4_csum ? "on" : "off", info->caps.tx_ip_csum ? "on" : "off",
                info->caps.tx_l4_csum ? "on" : "off", info->multi_seg_tx ? "on" : "off", info->caps.mtu);
    for (const auto& a : eal_added) std::printf("ustcp-server: EAL %s (added)\n", a.c_str());

    engine::EngineConfig cfg;
    cfg.addr = opt.ip;
    cfg.prefix_len = opt.prefix;
    cfg.gateway = opt.gateway;
    cfg.burst = opt.burst;
    cfg.max_connections = opt.max_conns;
    dpdk::DpdkPort port(opt.port, 0, pool, *info);
    {
        engine::Engine e(cfg, port, tcp::SipKey::random(), tcp::SipKey::random());
        EchoApp app(opt.app == "discard");
        e.set_app(&app);
        std::string ports;
        for (std::uint16_t p : opt.listen) {
            if (!e.listen(p)) {
                std::fprintf(stderr, "ustcp-server: already listening on %u\n", p);
                return 1;
            }
            ports += (ports.empty() ? "" : ",") + std::to_string(p);
        }
        std::printf("ustcp-server: %s on %s/%u port %s%s%s; SIGUSR1 prints stats, SIGINT/SIGTERM stops\n",
                    opt.app.c_str(), opt.ip.to_string().c_str(), opt.prefix, ports.c_str(),
                    opt.gateway ? " gateway " : "", opt.gateway ? opt.gateway->to_string().c_str() : "");
        std::fflush(stdout);
        std::signal(SIGINT, on_signal);
        std::signal(SIGTERM, on_signal);
        std::signal(SIGUSR1, on_signal);
        while (!g_stop) {
            e.poll(dpdk::now());
            if (g_stats) {
                g_stats = 0;
                print_stats(e, port);
            }
        }
        std::printf("ustcp-server: stopping\n");
        e.abort_all(dpdk::now());
        print_stats(e, port);
    }
    dpdk::close_port(opt.port);
    std::printf("ustcp-server: mbufs still in use after shutdown: %u\n", pool.in_use());
    std::fflush(stdout);
    return pool.in_use() == 0 ? 0 : 3;
}

}  // namespace
