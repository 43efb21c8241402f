// ustcp-server [EAL args] -- [--config FILE] [--ip A.B.C.D/N] [--gateway A.B.C.D] [--app echo|discard]
//              [--listen PORT[,PORT...]] [--burst N] [--tcp.KEY VALUE ...]
//
// A testpmd-style server on one ethdev port (a net_tap/net_memif/net_pcap vdev or a NIC):
// prints the port, queues, offloads and address it came up with, then serves until
// SIGINT/SIGTERM. The configuration is lib/config's: a TOML file (config/*.toml) and flags
// with the same key names, flags winning (`--help` lists them). Echo sends every byte back
// without copying it (the received mbufs go back out as clones); discard reads and drops.
// SIGUSR1 prints the stats; they are printed at exit too. One worker (the main lcore) and
// the first [[port]] today.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ustcp/config/load.hpp"
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

int serve(const config::StackConfig& sc, const std::vector<std::string>& eal_added);

}  // namespace

int main(int argc, char** argv) {
    auto eal = dpdk::start_eal(argc, argv);
    if (!eal) {
        std::fprintf(stderr, "ustcp-server: %s\n", eal.error().c_str());
        return 1;
    }
    auto sc = config::load_command_line(eal->app_argc, eal->app_argv);
    if (!sc) {
        const bool help = sc.error().kind == config::ConfigErrorKind::HelpRequested;
        std::fprintf(help ? stdout : stderr, "%s\n", sc.error().message().c_str());
        dpdk::stop_eal();
        return help ? 0 : 2;
    }
    int rc = serve(*sc, eal->added);
    dpdk::stop_eal();
    return rc;
}

namespace {

int serve(const config::StackConfig& sc, const std::vector<std::string>& eal_added) {
    // Everything that holds DPDK objects lives in this scope and is gone before
    // rte_eal_cleanup().
    const config::PortConfig& pc = sc.ports.front();
    if (sc.app.name != config::AppKind::Echo && sc.app.name != config::AppKind::Discard) {
        std::fprintf(stderr, "ustcp-server: app %.*s is not built yet (echo and discard are)\n",
                     static_cast<int>(config::to_string(sc.app.name).size()), config::to_string(sc.app.name).data());
        return 2;
    }
    // The first [[port]]: an ethdev EAL made (--vdev/-a), or a vdev probed here from its devargs.
    std::uint16_t port_id = 0;
    if (pc.kind != config::DeviceKind::Eal) {
        auto id = dpdk::attach_port(pc.devargs_string(), pc.device_name());
        if (!id) {
            std::fprintf(stderr, "ustcp-server: %s: %s\n", pc.name.c_str(), id.error().c_str());
            return 1;
        }
        port_id = *id;
    } else if (dpdk::port_count() == 0) {
        std::fprintf(stderr,
                     "ustcp-server: no ethdev port (give a device: e.g. --no-pci --vdev=net_tap0,iface=ustcp0, "
                     "or port.vdev in the config)\n");
        return 1;
    }
    dpdk::Pool pool("ustcp_pool0", sc.mempool.mbufs_per_lcore, sc.mempool.cache, sc.mempool.data_room, -1);
    if (!pool.ok()) {
        std::fprintf(stderr, "ustcp-server: %s\n", pool.error().c_str());
        return 1;
    }
    dpdk::PortSetup setup;
    setup.rx_desc = pc.rx_desc;
    setup.tx_desc = pc.tx_desc;
    setup.mtu = pc.mtu;
    setup.want_checksum_offload = pc.checksum_offload != config::Toggle::Off;
    auto info = dpdk::setup_port(port_id, setup, pool);
    if (!info) {
        std::fprintf(stderr, "ustcp-server: port %u: %s\n", port_id, info.error().c_str());
        return 1;
    }
    std::printf("ustcp-server: port %u (%s, %s) mac %s, %u queue(s), offloads: rx-csum %s tx-ip-csum %s tx-tcp-csum %s "
                "multi-seg %s, mtu %u\n",
                info->port_id, info->name.c_str(), info->driver.c_str(), info->mac.to_string().c_str(), info->queues,
                info->caps.rx_l4_csum ? "on" : "off", info->caps.tx_ip_csum ? "on" : "off",
                info->caps.tx_l4_csum ? "on" : "off", info->multi_seg_tx ? "on" : "off", info->caps.mtu);
    for (const auto& a : eal_added) std::printf("ustcp-server: EAL %s (added)\n", a.c_str());

    engine::EngineConfig cfg;
    cfg.addr = pc.ip.addr;
    cfg.prefix_len = pc.ip.len;
    cfg.gateway = pc.gateway;
    cfg.tcp = sc.tcp;
    cfg.burst = sc.burst;
    cfg.accept_backlog = sc.backlog.accept;
    cfg.syn_backlog = sc.backlog.syn;
    dpdk::DpdkPort port(port_id, 0, pool, *info);
    {
        engine::Engine e(cfg, port, tcp::SipKey::random(), tcp::SipKey::random());
        EchoApp app(sc.app.name == config::AppKind::Discard);
        e.set_app(&app);
        std::string ports;
        for (std::uint16_t p : sc.app.listen) {
            if (!e.listen(p)) {
                std::fprintf(stderr, "ustcp-server: already listening on %u\n", p);
                return 1;
            }
            ports += (ports.empty() ? "" : ",") + std::to_string(p);
        }
        const std::string_view app_name = config::to_string(sc.app.name);
        std::printf("ustcp-server: %.*s on %s/%u port %s%s%s; SIGUSR1 prints stats, SIGINT/SIGTERM stops\n",
                    static_cast<int>(app_name.size()), app_name.data(), cfg.addr.to_string().c_str(), cfg.prefix_len,
                    ports.c_str(), cfg.gateway ? " gateway " : "", cfg.gateway ? cfg.gateway->to_string().c_str() : "");
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
    dpdk::close_port(port_id);
    std::printf("ustcp-server: mbufs still in use after shutdown: %u\n", pool.in_use());
    std::fflush(stdout);
    return pool.in_use() == 0 ? 0 : 3;
}

}  // namespace
