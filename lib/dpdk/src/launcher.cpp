#include "ustcp/dpdk/launcher.hpp"

#include <numa.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "ustcp/dpdk/runtime.hpp"
#include "ustcp/dpdk/steering.hpp"
#include "ustcp/dpdk/telemetry.hpp"
#include "ustcp/sim/fault_port.hpp"
#include "ustcp/tcp/siphash.hpp"

namespace ustcp::dpdk {

namespace {

using ull = unsigned long long;

std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char* fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    const int n = std::vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return std::string(buf, static_cast<std::size_t>(std::clamp(n, 0, static_cast<int>(sizeof buf) - 1)));
}

std::string lcore_list(const std::vector<unsigned>& ids) {
    std::string out;
    for (std::size_t i = 0; i < ids.size();) {
        std::size_t j = i;
        while (j + 1 < ids.size() && ids[j + 1] == ids[j] + 1) ++j;
        if (!out.empty()) out += ",";
        out += std::to_string(ids[i]);
        if (j > i) out += "-" + std::to_string(ids[j]);
        i = j + 1;
    }
    return out;
}

std::string key_of(std::size_t port, const char* key) { return "port[" + std::to_string(port) + "]." + key; }


constexpr std::uint16_t kSoftwareRetaSize = 128;

}  // namespace

/// What one engine's counters were at a snapshot (taken on its lcore).
struct EngineSnapshot {
    engine::EngineCounters ec{};
    tcp::Counters tc{};
    engine::PortStats ps{};
    SteeringStats ss{};
    std::size_t connections = 0;
    std::string text;  // the per-lcore lines, connections and the app's report
};

struct PortRt {
    const config::PortConfig* pc = nullptr;
    std::uint16_t port_id = 0;
    PortInfo info;
    bool started = false;
    std::unique_ptr<SteeringGroup> steer;  // with more than one worker
    std::string steering_note;             // why software steering, or why none
};

struct EngineRt {
    std::size_t port = 0;
    std::unique_ptr<DpdkPort> dport;
    std::unique_ptr<SteeringPort> sport;
    std::unique_ptr<sim::FaultPort> fport;  // `fault`: over the queue (or its steering), under the engine
    engine::Port* port_if = nullptr;
    std::unique_ptr<engine::Engine> engine;
    std::unique_ptr<WorkerApp> app;
};

struct WorkerRt {
    Launcher::Impl* impl = nullptr;
    unsigned lcore = 0;
    std::uint16_t index = 0;
    unsigned socket = 0;
    int cpu = -1;
    int numa_node = -1;
    std::unique_ptr<Pool> pool;
    std::size_t payload_nodes = 0;  // per engine: the most pool buffers its connections may keep
    std::vector<EngineRt> engines;
    std::string error;  // an application's start() failed

    // Written by the worker, read by the main lcore (snapshot hand-off, one at a time).
    std::vector<EngineSnapshot> snap;
    std::atomic<unsigned> snap_seq{0};  // bumped (release) after snap is written
    std::atomic<unsigned> snap_ack{0};  // the main lcore read snap up to this seq
    std::vector<EngineSnapshot> final_snap;
    std::atomic<bool> finished{false};  // every application finished()
    std::atomic<bool> done{false};      // left its loop; final_snap written
};

struct Launcher::Impl {
    Launcher* self = nullptr;
    config::StackConfig cfg;
    std::vector<std::unique_ptr<WorkerRt>> workers;
    std::vector<PortRt> ports;
    tcp::SipKey isn_key = tcp::SipKey::random();
    tcp::SipKey cookie_key = tcp::SipKey::random();
    std::atomic<unsigned> drained{0};  // workers whose connections are all closed
    unsigned printed_req = 0;         // main lcore only
    bool ran = false;
    bool torn_down = false;
    std::string note;  // for describe()
    Telemetry telemetry;  // /ustcp/stats, /ustcp/conns: every engine's flow table reads through it

    Result<void, std::string> make_workers();
    Result<void, std::string> make_ports();
    Result<void, std::string> setup_rss(std::size_t idx, PortRt& p);
    Result<void, std::string> make_engines();

    void run_worker(WorkerRt& w);
    void snapshot(WorkerRt& w, std::vector<EngineSnapshot>& out) const;
    void control();
    [[nodiscard]] std::string render(const std::vector<const std::vector<EngineSnapshot>*>& snaps) const;
    static int launch(void* arg) {
        auto* w = static_cast<WorkerRt*>(arg);
        w->impl->run_worker(*w);
        return 0;
    }
};

Launcher::Launcher(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) { impl_->self = this; }

namespace {
std::atomic<Launcher*> g_signalled{nullptr};  // the Launcher the signal handlers serve

void on_signal(int sig) {
    Launcher* l = g_signalled.load(std::memory_order_relaxed);
    if (l == nullptr) return;
    if (sig == SIGUSR1) l->request_stats();
    else l->request_stop();
}
}  // namespace

void Launcher::handle_signals() noexcept {
    static_assert(std::atomic<Launcher*>::is_always_lock_free);
    g_signalled.store(this, std::memory_order_relaxed);
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    std::signal(SIGUSR1, on_signal);
}

Launcher::~Launcher() {
    Launcher* self = this;
    if (g_signalled.compare_exchange_strong(self, nullptr)) {
        std::signal(SIGINT, SIG_DFL);
        std::signal(SIGTERM, SIG_DFL);
        std::signal(SIGUSR1, SIG_DFL);
    }
    if (impl_ && !impl_->torn_down) (void)teardown();
}

std::size_t Launcher::worker_count() const noexcept { return impl_->workers.size(); }

void Launcher::for_each_port(const std::function<void(DpdkPort&)>& f) {
    for (auto& w : impl_->workers) {
        for (EngineRt& er : w->engines) {
            if (er.dport) f(*er.dport);
        }
    }
}

Result<std::unique_ptr<Launcher>, std::string> Launcher::create(const config::StackConfig& cfg) {
    auto impl = std::make_unique<Impl>();
    impl->cfg = cfg;
    if (cfg.lcores.empty()) return Err(std::string("lcores: none given"));
    if (cfg.ports.empty()) return Err(std::string("port: none given"));
    std::unique_ptr<Launcher> l(new Launcher(std::move(impl)));
    Impl& im = *l->impl_;
    if (auto r = im.make_workers(); !r) return Err(r.error());
    if (auto r = im.make_ports(); !r) return Err(r.error());
    if (auto r = im.make_engines(); !r) return Err(r.error());
    return l;
}

Result<void, std::string> Launcher::Impl::make_workers() {
    std::vector<unsigned> enabled;
    unsigned id = 0;
    RTE_LCORE_FOREACH(id) { enabled.push_back(id); }
    // The default lcore set ("1") on an EAL without that lcore (`-l 0`): run on the main lcore.
    const auto enabled_lc = [](unsigned lc) { return lc < RTE_MAX_LCORE && rte_lcore_is_enabled(lc); };
    if (!cfg.sources.given("lcores") && cfg.lcores.size() == 1 && !enabled_lc(cfg.lcores.front())) {
        cfg.lcores = {rte_get_main_lcore()};
        note = "lcores not given and the default is not an EAL lcore: the main lcore works";
    }
    for (unsigned lc : cfg.lcores) {
        if (!enabled_lc(lc)) {
            return Err("lcores: lcore " + std::to_string(lc) + " is not one of the EAL's lcores (" +
                       lcore_list(enabled) + ", from -l/-c/--lcores before `--`); expected lcores within them");
        }
    }
    const bool numa = numa_available() >= 0;
    for (std::size_t i = 0; i < cfg.lcores.size(); ++i) {
        auto w = std::make_unique<WorkerRt>();
        w->impl = this;
        w->lcore = cfg.lcores[i];
        w->index = static_cast<std::uint16_t>(i);
        w->socket = rte_lcore_to_socket_id(w->lcore);
        w->cpu = rte_lcore_to_cpu_id(static_cast<int>(w->lcore));
        if (numa && w->cpu >= 0) w->numa_node = numa_node_of_cpu(w->cpu);
        const std::string name = "ustcp_w" + std::to_string(w->lcore);
        w->pool = std::make_unique<Pool>(name, cfg.mempool.mbufs_per_lcore, cfg.mempool.cache, cfg.mempool.data_room,
                                         static_cast<int>(w->socket));
        if (!w->pool->ok()) {
            return Err("mempool (lcore " + std::to_string(w->lcore) + ", socket " + std::to_string(w->socket) +
                       "): " + w->pool->error());
        }
        workers.push_back(std::move(w));
    }
    return {};
}

Result<void, std::string> Launcher::Impl::make_ports() {
    const auto n_workers = static_cast<std::uint16_t>(workers.size());
    ports.resize(cfg.ports.size());
    // Ports EAL made come first (the k-th such [[port]] is ethdev k), then the probed ones.
    std::uint16_t eal_k = 0;
    for (std::size_t i = 0; i < cfg.ports.size(); ++i) {
        ports[i].pc = &cfg.ports[i];
        if (cfg.ports[i].kind != config::DeviceKind::Eal) continue;
        if (!rte_eth_dev_is_valid_port(eal_k)) {
            return Err("port[" + std::to_string(i) + "] (" + cfg.ports[i].name +
                       "): no ethdev port " + std::to_string(eal_k) +
                       " (give a device: e.g. --no-pci --vdev=net_tap0,iface=ustcp0, or port.vdev in the config)");
        }
        ports[i].port_id = eal_k++;
    }
    for (std::size_t i = 0; i < cfg.ports.size(); ++i) {
        const config::PortConfig& pc = cfg.ports[i];
        if (pc.kind == config::DeviceKind::Eal) continue;
        auto id = attach_port(pc.devargs_string(), pc.device_name());
        if (!id) return Err("port[" + std::to_string(i) + "] (" + pc.name + "): " + id.error());
        ports[i].port_id = *id;
    }
    for (std::size_t i = 0; i < ports.size(); ++i) {
        PortRt& p = ports[i];
        const config::PortConfig& pc = *p.pc;
        rte_eth_dev_info di{};
        if (int rc = rte_eth_dev_info_get(p.port_id, &di); rc != 0) {
            return Err("port[" + std::to_string(i) + "]: rte_eth_dev_info_get: " + rte_strerror(-rc));
        }
        const std::string drv = di.driver_name != nullptr ? di.driver_name : "?";
        if (pc.tx_queues != n_workers) {
            return Err(key_of(i, "tx_queues") + ": " + std::to_string(pc.tx_queues) + ", but each of the " +
                       std::to_string(n_workers) + " worker lcores sends on a TX queue of its own; expected " +
                       std::to_string(n_workers));
        }
        if (pc.tx_queues > di.max_tx_queues) {
            return Err(key_of(i, "tx_queues") + ": " + std::to_string(pc.tx_queues) + " is more than " + drv +
                       " has (at most " + std::to_string(di.max_tx_queues) + "); expected fewer lcores");
        }
        if (pc.rx_queues > di.max_rx_queues) {
            return Err(key_of(i, "rx_queues") + ": " + std::to_string(pc.rx_queues) + " is more than " + drv +
                       " has; expected 1.." + std::to_string(di.max_rx_queues));
        }
        const bool has_rss = (di.flow_type_rss_offloads & RTE_ETH_RSS_NONFRAG_IPV4_TCP) != 0 && di.reta_size > 0 &&
                             std::has_single_bit(static_cast<unsigned>(di.reta_size));
        if (pc.rss == config::Toggle::On && !has_rss) {
            return Err(key_of(i, "rss") + ": \"on\", but " + drv + " has no RSS for IPv4 TCP (redirection table of " +
                       std::to_string(di.reta_size) + " entries); expected \"auto\" or \"off\"");
        }
        if (pc.rss == config::Toggle::On && n_workers > 1 && pc.rx_queues != n_workers) {
            return Err(key_of(i, "rss") + ": \"on\" spreads flows over one RX queue per worker lcore, but " +
                       key_of(i, "rx_queues") + " is " + std::to_string(pc.rx_queues) + "; expected rx_queues " +
                       std::to_string(n_workers) + " or rss \"auto\"");
        }
        if (pc.tso == config::Toggle::On && !(di.tx_offload_capa & RTE_ETH_TX_OFFLOAD_TCP_TSO)) {
            return Err(key_of(i, "tso") + ": \"on\", but " + drv + " has no TCP segmentation offload; expected " +
                       "\"auto\" or \"off\"");
        }
        PortSetup s;
        s.queues = pc.tx_queues;
        s.rx_queues = pc.rx_queues;
        s.rx_desc = pc.rx_desc;
        s.tx_desc = pc.tx_desc;
        s.mtu = pc.mtu;
        s.want_checksum_offload = pc.checksum_offload != config::Toggle::Off;
        s.want_rss = pc.rss != config::Toggle::Off && n_workers > 1 && pc.rx_queues == n_workers;
        s.rss_key = kSymmetricRssKey;
        s.want_tso = pc.tso != config::Toggle::Off;
        s.mac = pc.mac;
        for (const auto& w : workers) s.rx_pools.push_back(w->pool.get());
        auto info = setup_port(p.port_id, s, *workers.front()->pool);
        if (!info) return Err("port[" + std::to_string(i) + "] (" + pc.name + "): " + info.error());
        p.info = *info;
        p.started = true;
        if (pc.tso == config::Toggle::On && !p.info.caps.tx_tso) {
            return Err(key_of(i, "tso") + ": \"on\", but TSO on " + drv + " needs multi-segment TX and the port's " +
                       "TCP checksum offload, and " + (p.info.multi_seg_tx ? "the checksum offload is not usable" :
                       "it cannot send mbuf chains") + "; expected \"auto\" or \"off\"");
        }
        if (pc.checksum_offload == config::Toggle::On) {
            std::string missing;
            if (!p.info.caps.rx_ip_csum || !p.info.caps.rx_l4_csum) missing += " RX IPv4/TCP";
            if (!p.info.caps.tx_ip_csum) missing += " TX IPv4";
            if (!p.info.caps.tx_l4_csum) missing += " TX TCP";
            if (!missing.empty()) {
                return Err(key_of(i, "checksum_offload") + ": \"on\", but " + drv + " does not offload (or ustcp " +
                           "does not use its) checksums:" + missing + "; expected \"auto\" or \"off\"");
            }
        }
        if (p.info.rx_queues != pc.rx_queues || p.info.queues != pc.tx_queues) {
            return Err("port[" + std::to_string(i) + "]: " + drv + " gave " + std::to_string(p.info.rx_queues) +
                       " RX and " + std::to_string(p.info.queues) + " TX queues");
        }
        if (n_workers > 1) {
            if (auto r = setup_rss(i, p); !r) return r;
        }
    }
    return {};
}

Result<void, std::string> Launcher::Impl::setup_rss(std::size_t idx, PortRt& p) {
    const auto n_workers = static_cast<std::uint16_t>(workers.size());
    SteeringConfig sc;
    sc.name = "p" + std::to_string(idx);
    sc.workers = n_workers;
    for (const auto& w : workers) sc.ring_sockets.push_back(static_cast<int>(w->socket));
    sc.mode = SteeringConfig::Mode::Software;
    sc.reta_size = kSoftwareRetaSize;
    if (p.info.caps.rss) {
        // RETA entry i -> queue i % workers; then read back what the NIC holds, and check that it
        // took the symmetric key: only then do its queues match our hash.
        const std::uint16_t size = p.info.reta_size;
        std::vector<rte_eth_rss_reta_entry64> reta(std::max<std::size_t>(1, size / RTE_ETH_RETA_GROUP_SIZE));
        for (std::uint16_t e = 0; e < size; ++e) {
            auto& g = reta[e / RTE_ETH_RETA_GROUP_SIZE];
            g.mask |= 1ULL << (e % RTE_ETH_RETA_GROUP_SIZE);
            g.reta[e % RTE_ETH_RETA_GROUP_SIZE] = static_cast<std::uint16_t>(e % n_workers);
        }
        std::string why;
        if (int rc = rte_eth_dev_rss_reta_update(p.port_id, reta.data(), size); rc != 0) {
            why = std::string("rte_eth_dev_rss_reta_update: ") + rte_strerror(-rc);
        }
        std::vector<std::uint16_t> table(size);
        if (why.empty()) {
            for (auto& g : reta) std::memset(g.reta, 0xff, sizeof g.reta);
            if (int rc = rte_eth_dev_rss_reta_query(p.port_id, reta.data(), size); rc != 0) {
                why = std::string("rte_eth_dev_rss_reta_query: ") + rte_strerror(-rc);
            }
            for (std::uint16_t e = 0; e < size && why.empty(); ++e) {
                table[e] = reta[e / RTE_ETH_RETA_GROUP_SIZE].reta[e % RTE_ETH_RETA_GROUP_SIZE];
                if (table[e] >= n_workers) why = "the RETA holds queue " + std::to_string(table[e]);
            }
        }
        if (why.empty()) {
            std::vector<std::uint8_t> key(std::max<std::uint16_t>(p.info.hash_key_size, 40));
            rte_eth_rss_conf conf{};
            conf.rss_key = key.data();
            conf.rss_key_len = static_cast<std::uint8_t>(key.size());
            if (int rc = rte_eth_dev_rss_hash_conf_get(p.port_id, &conf); rc != 0) {
                why = std::string("rte_eth_dev_rss_hash_conf_get: ") + rte_strerror(-rc);
            } else {
                for (std::size_t k = 0; k < conf.rss_key_len && k < key.size() && why.empty(); ++k) {
                    if (key[k] != kSymmetricRssKey[k % kSymmetricRssKey.size()]) why = "the NIC did not take our key";
                }
            }
        }
        if (why.empty()) {
            sc.mode = SteeringConfig::Mode::Hardware;
            sc.reta = std::move(table);
        } else if (p.pc->rss == config::Toggle::On) {
            return Err(key_of(idx, "rss") + ": \"on\", but " + why + "; expected \"auto\" or \"off\"");
        } else {
            p.steering_note = "RSS unusable (" + why + ")";
            p.info.caps.rss = false;
        }
    } else {
        p.steering_note = p.info.reta_size == 0 ? "no RSS" : "RSS off";
    }
    auto g = SteeringGroup::create(sc);
    if (!g) return Err("port[" + std::to_string(idx) + "]: " + g.error());
    p.steer = std::move(*g);
    return {};
}

Result<void, std::string> Launcher::Impl::make_engines() {
    auto faults = sim::parse_port_faults(cfg.fault);  // lib/config checked it already
    if (!faults) return Err("fault: " + faults.error());
    for (auto& wp : workers) {
        WorkerRt& w = *wp;
        w.engines.resize(ports.size());
        // Payload the connections keep (receive and send queues) comes from the worker's pool.
        // If they could take all of it, no mbuf would be left to receive the ACKs that free
        // them: cap their buffer nodes at what the rings, the cache and the bursts leave, so
        // that a full pool drops payload (counted, retransmitted) instead of stalling.
        std::uint64_t reserve = std::uint64_t{cfg.mempool.cache} + 4u * cfg.burst + 64;
        for (const PortRt& p : ports) {
            reserve += std::uint64_t{p.pc->rx_desc} + p.pc->tx_desc;
            if (p.steer) reserve += SteeringConfig{}.ring_size;  // frames on their way to other lcores
        }
        const std::uint64_t pool = cfg.mempool.mbufs_per_lcore;
        const std::size_t nodes_per_engine =
            static_cast<std::size_t>(std::max<std::uint64_t>(pool > reserve ? pool - reserve : 0, 256) / ports.size());
        w.payload_nodes = nodes_per_engine;
        for (std::size_t i = 0; i < ports.size(); ++i) {
            PortRt& p = ports[i];
            const config::PortConfig& pc = *p.pc;
            EngineRt& er = w.engines[i];
            er.port = i;
            er.dport = std::make_unique<DpdkPort>(p.port_id, w.index, *w.pool, p.info);
            er.port_if = er.dport.get();
            if (p.steer) {
                er.sport = std::make_unique<SteeringPort>(*p.steer, w.index, *er.dport, w.index < p.info.rx_queues,
                                                          *w.pool);
                er.port_if = er.sport.get();
            }
            if (faults->any()) {
                // Each engine's faults get their own seeds, so that workers and ports differ.
                sim::PortFaults f = *faults;
                const std::uint64_t salt = (std::uint64_t{w.index} << 16) + i;
                if (f.rx) f.rx->seed += salt * 1000003u;
                if (f.tx) f.tx->seed += salt * 1000003u;
                er.fport = std::make_unique<sim::FaultPort>(*er.port_if, f, [] { return dpdk::now(); });
                er.port_if = er.fport.get();
            }
            engine::EngineConfig ec;
            ec.addr = pc.ip.addr;
            ec.prefix_len = pc.ip.len;
            ec.gateway = pc.gateway;
            ec.extra_first = pc.extra_first;
            ec.extra_count = pc.extra_count;
            ec.max_connections = cfg.max_connections;
            ec.tcp = cfg.tcp;
            ec.burst = cfg.burst;
            ec.accept_backlog = cfg.backlog.accept;
            ec.syn_backlog = cfg.backlog.syn;
            ec.mtu = pc.mtu;
            ec.announce = w.index == 0;  // one gratuitous ARP per port
            ec.buffer_nodes = nodes_per_engine;
            ec.readers = telemetry.readers();
            ec.clock = &dpdk::now;
            // TSO when the port offers it and the config allows (setup_port enabled it then):
            // 64000 bytes a segment, well inside one IPv4 datagram.
            if (pc.tso != config::Toggle::Off && p.info.caps.tx_tso) ec.tso_max = 64000;
            if (auto ok = engine::Engine::check(ec, *er.port_if); !ok) {
                return Err(key_of(i, "ip") + ": " + pc.ip.to_string() + " with mac " + p.info.mac.to_string() +
                           " is not a usable interface (" + std::string(ip::to_string(ok.error())) + ")");
            }
            er.engine = std::make_unique<engine::Engine>(ec, *er.port_if, isn_key, cookie_key);
            telemetry.add(w.lcore, *er.engine, i, er.fport.get());
        }
    }
    return {};
}

// ---------------------------------------------------------------------------
// Running
// ---------------------------------------------------------------------------

void Launcher::Impl::snapshot(WorkerRt& w, std::vector<EngineSnapshot>& out) const {
    out.resize(w.engines.size());
    for (std::size_t i = 0; i < w.engines.size(); ++i) {
        const EngineRt& er = w.engines[i];
        const engine::Engine& e = *er.engine;
        EngineSnapshot& s = out[i];
        s.ec = e.counters();
        s.tc = e.tcp_counters();
        s.ps = er.port_if->stats();
        if (er.sport) s.ss = er.sport->steering_stats();
        s.connections = e.connections();
        const PortRt& p = ports[er.port];
        s.text = format("lcore %u: worker %u port %s queue %u: connections %zu opened %llu closed %llu, rx %llu frames "
                        "%llu bytes, tx %llu frames %llu bytes, tx dropped %llu, no mbuf %llu\n",
                        w.lcore, w.index, p.pc->name.c_str(), w.index, s.connections, (ull)s.ec.connections_opened,
                        (ull)s.ec.connections_closed, (ull)s.ps.rx_frames, (ull)s.ps.rx_bytes, (ull)s.ps.tx_frames,
                        (ull)s.ps.tx_bytes, (ull)s.ps.tx_dropped, (ull)s.ps.tx_no_buffer);
        s.text += er.dport->stats_line();
        if (er.fport) {
            auto line = [](const char* dir, const sim::FaultCounters& f) {
                return format("%s %llu frames: lost %llu, burst lost %llu, queue dropped %llu, duplicated %llu, corrupted "
                              "%llu, reordered %llu, delivered %llu",
                              dir, (ull)f.frames, (ull)f.lost, (ull)f.burst_lost, (ull)f.queue_dropped,
                              (ull)f.duplicated, (ull)f.corrupted, (ull)f.reordered, (ull)f.delivered);
            };
            s.text += format("lcore %u: fault %s; %s; held %zu, no buffer %llu\n", w.lcore,
                             line("rx", er.fport->rx_counters()).c_str(), line("tx", er.fport->tx_counters()).c_str(),
                             er.fport->held(), (ull)er.fport->no_buffer());
        }
        if (i == 0) {
            s.text += format("lcore %u: pool ustcp_w%u: %u of %u mbufs in use, %llu allocations failed (payload nodes "
                             "%zu free of %zu per engine)\n",
                             w.lcore, w.lcore, w.pool->in_use(), cfg.mempool.mbufs_per_lcore,
                             (ull)w.pool->alloc_failures(), e.buffers().nodes_free(), w.payload_nodes);
        }
        if (er.sport) {
            const SteeringStats& t = s.ss;
            s.text += format("lcore %u: steering %s: rx tcp %llu, tx tcp %llu, steered out %llu in %llu, arp replicas "
                             "out %llu in %llu, ring full %llu, no copy %llu, not owned rx %llu tx %llu\n",
                             w.lcore, p.steer->mode() == SteeringConfig::Mode::Hardware ? "rss" : "software",
                             (ull)t.rx_tcp, (ull)t.tx_tcp, (ull)t.steered_out, (ull)t.steered_in,
                             (ull)t.arp_replicas_out, (ull)t.arp_replicas_in, (ull)t.ring_full,
                             (ull)t.replica_no_buffer, (ull)t.rx_not_owned, (ull)t.tx_not_owned);
        }
        // One line per connection, up to kListed of them: a stats block stays readable (and
        // cheap to build) when an engine holds millions.
        constexpr std::size_t kListed = 256;
        std::size_t listed = 0;
        e.for_each_connection([&](const tcp::Connection& c) {
            if (listed++ >= kListed) return;
            const auto& tu = c.tuple();
            const auto sum = c.summary().view();
            s.text += format("  lcore %u: %s:%u <- %s:%u %.*s\n", w.lcore, tu.local_addr.to_string().c_str(),
                             tu.local_port, tu.remote_addr.to_string().c_str(), tu.remote_port,
                             static_cast<int>(sum.size()), sum.data());
        });
        if (listed > kListed) s.text += format("  lcore %u: %zu more connection(s) not listed\n", w.lcore, listed - kListed);
        if (er.app) er.app->report(s.text);
    }
}

std::string Launcher::Impl::render(const std::vector<const std::vector<EngineSnapshot>*>& snaps) const {
    std::string out;
    EngineSnapshot tot;
    for (const auto* v : snaps) {
        for (const EngineSnapshot& s : *v) {
            out += s.text;
            engine::add_counters(tot.ec, s.ec);
            engine::add_counters(tot.tc, s.tc);
            engine::add_counters(tot.ps, s.ps);
            tot.connections += s.connections;
        }
    }
    const auto& c = tot.ec;
    const auto& t = tot.tc;
    const auto& ps = tot.ps;
    out += format("stats: port rx %llu frames %llu bytes, tx %llu frames %llu bytes, tx dropped %llu, no mbuf %llu\n",
                  (ull)ps.rx_frames, (ull)ps.rx_bytes, (ull)ps.tx_frames, (ull)ps.tx_bytes, (ull)ps.tx_dropped,
                  (ull)ps.tx_no_buffer);
    out += format("       engine rx %llu, arp in %llu replies %llu requests %llu, icmp echo %llu, not ipv4 %llu, bad "
                  "ipv4 %llu, bad ip csum %llu, not for us %llu, fragments %llu, bad tcp %llu, no neighbour %llu\n",
                  (ull)c.rx_frames, (ull)c.arp_in, (ull)c.arp_replies_sent, (ull)c.arp_requests_sent,
                  (ull)c.icmp_echo_replies, (ull)c.rx_not_ipv4, (ull)c.rx_bad_ipv4, (ull)c.rx_bad_ip_checksum,
                  (ull)c.rx_not_for_us, (ull)c.rx_fragments, (ull)c.rx_bad_tcp, (ull)c.tx_no_neighbour);
    out += format("       tcp segs in %llu out %llu, rst %llu, retransmits %llu fast %llu, delayed acks %llu, window "
                  "probes %llu, ooo %llu, no buffer %llu, connections %zu (opened %llu closed %llu) on %zu lcore(s)\n",
                  (ull)t.segs_in, (ull)t.segs_out, (ull)t.rst_sent, (ull)t.retransmits, (ull)t.fast_retransmits,
                  (ull)t.delayed_acks, (ull)t.window_probes, (ull)t.ooo_queued, (ull)t.drop_no_buffer,
                  tot.connections, (ull)c.connections_opened, (ull)c.connections_closed, snaps.size());
    return out;
}

void Launcher::Impl::control() {
    // Every application done: the run is over.
    bool all_finished = true;
    for (const auto& w : workers) all_finished = all_finished && w->finished.load(std::memory_order_acquire);
    if (all_finished) self->request_stop();
    // A stats print once every worker has written a snapshot since the last one.
    const unsigned req = self->stats_req_.load(std::memory_order_relaxed);
    if (req == printed_req) return;
    for (const auto& w : workers) {
        if (w->done.load(std::memory_order_acquire)) return;  // shutting down: the final report follows
        if (w->snap_seq.load(std::memory_order_acquire) == w->snap_ack.load(std::memory_order_relaxed)) return;
    }
    std::vector<const std::vector<EngineSnapshot>*> snaps;
    for (const auto& w : workers) snaps.push_back(&w->snap);
    const std::string text = render(snaps);
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
    for (const auto& w : workers) w->snap_ack.store(w->snap_seq.load(std::memory_order_relaxed), std::memory_order_release);
    printed_req = req;
}

void Launcher::Impl::run_worker(WorkerRt& w) {
    const bool is_main = w.lcore == rte_get_main_lcore();
    std::atomic<bool>& stop = self->stop_;
    const std::size_t n_workers = workers.size();
    Instant now = dpdk::now();
    for (EngineRt& er : w.engines) {
        er.engine->flush(now);  // the engine's clock starts here
        if (auto r = er.app->start(*er.engine); !r) {
            w.error = "lcore " + std::to_string(w.lcore) + ": " + r.error();
            self->request_stop();
        }
        er.engine->flush(now);
    }
    unsigned served_req = 0;
    auto iteration = [&] {
        now = dpdk::now();
        for (EngineRt& er : w.engines) {
            er.engine->poll(now);
            er.app->after_poll(*er.engine);
        }
        // A stats request: a snapshot, once the main lcore has read the previous one.
        const unsigned req = self->stats_req_.load(std::memory_order_relaxed);
        if (req != served_req &&
            w.snap_seq.load(std::memory_order_relaxed) == w.snap_ack.load(std::memory_order_acquire)) {
            snapshot(w, w.snap);
            w.snap_seq.fetch_add(1, std::memory_order_release);
            served_req = req;
        }
        if (is_main) control();
    };
    while (!stop.load(std::memory_order_relaxed)) {
        iteration();
        if (!w.finished.load(std::memory_order_relaxed)) {
            bool all = true;
            for (EngineRt& er : w.engines) all = all && er.app->finished();
            if (all) w.finished.store(true, std::memory_order_release);
        }
    }
    // Graceful shutdown: FIN everything, poll until every worker's connections are gone
    // (TIME-WAIT aside: that is ours to drop) or the grace period ends, then RST the rest.
    for (EngineRt& er : w.engines) er.engine->shutdown(now);
    const Instant deadline = now + cfg.shutdown_timeout;
    bool drained_here = false;
    for (;;) {
        iteration();
        if (!drained_here) {
            std::size_t open = 0;
            for (EngineRt& er : w.engines) {
                open += er.engine->connections() -
                        er.engine->states()[static_cast<std::size_t>(tcp::State::TimeWait)];
            }
            if (open == 0) {
                drained_here = true;
                drained.fetch_add(1, std::memory_order_acq_rel);
            }
        }
        if (drained.load(std::memory_order_acquire) == n_workers || now >= deadline) break;
    }
    for (EngineRt& er : w.engines) er.engine->abort_all(now);
    if (!drained_here) drained.fetch_add(1, std::memory_order_acq_rel);
    snapshot(w, w.final_snap);
    w.done.store(true, std::memory_order_release);
}

bool Launcher::main_lcore_works() const noexcept {
    for (const auto& w : impl_->workers) {
        if (w->lcore == rte_get_main_lcore()) return true;
    }
    return false;
}

const config::StackConfig& Launcher::config() const noexcept { return impl_->cfg; }

Telemetry& Launcher::telemetry() noexcept { return impl_->telemetry; }

std::vector<Launcher::PortRef> Launcher::ports() const {
    std::vector<PortRef> out;
    for (const PortRt& p : impl_->ports) out.push_back(PortRef{p.pc->name, p.port_id});
    return out;
}

int Launcher::run(const AppFactory& make_app, const std::function<void()>& main_tick) {
    Impl& im = *impl_;
    if (im.ran) return 1;
    im.ran = true;
    for (auto& w : im.workers) {
        for (EngineRt& er : w->engines) {
            er.app = make_app(EngineSlot{w->lcore, w->index, static_cast<std::uint16_t>(im.workers.size()), er.port,
                                         er.engine.get()});
            er.engine->set_app(er.app.get());
        }
    }
    if (auto t = im.telemetry.start(); !t) std::fprintf(stderr, "ustcp: %s (stats stay on SIGUSR1)\n", t.error().c_str());
    const unsigned main_lcore = rte_get_main_lcore();
    WorkerRt* on_main = nullptr;
    for (auto& w : im.workers) {
        if (w->lcore == main_lcore) {
            on_main = w.get();
            continue;
        }
        if (int rc = rte_eal_remote_launch(&Impl::launch, w.get(), w->lcore); rc != 0) {
            w->error = "rte_eal_remote_launch(lcore " + std::to_string(w->lcore) + "): " + rte_strerror(-rc);
            request_stop();
            w->done.store(true, std::memory_order_release);
            im.drained.fetch_add(1, std::memory_order_acq_rel);
        }
    }
    if (on_main != nullptr) {
        im.run_worker(*on_main);
    } else {
        // The main lcore is no worker: it only relays stats and notices the end.
        for (;;) {
            bool all_done = true;
            for (const auto& w : im.workers) all_done = all_done && w->done.load(std::memory_order_acquire);
            if (all_done) break;
            im.control();
            if (main_tick) main_tick();
            ::usleep(1000);
        }
    }
    rte_eal_mp_wait_lcore();
    for (const auto& w : im.workers) {
        if (!w->error.empty()) return 1;
    }
    return 0;
}

std::string Launcher::final_report() const {
    const Impl& im = *impl_;
    std::string out;
    for (const auto& w : im.workers) {
        if (!w->error.empty()) out += "error: " + w->error + "\n";
    }
    std::vector<const std::vector<EngineSnapshot>*> snaps;
    for (const auto& w : im.workers) snaps.push_back(&w->final_snap);
    for (const PortRt& p : im.ports) {
        rte_eth_stats st{};
        if (!p.started || rte_eth_stats_get(p.port_id, &st) != 0) continue;
        out += format("port %s (ethdev %u): rx %" PRIu64 " frames %" PRIu64 " bytes, tx %" PRIu64 " frames %" PRIu64
                      " bytes, rx missed %" PRIu64 ", rx errors %" PRIu64 ", tx errors %" PRIu64 ", rx no mbuf %" PRIu64
                      "\n",
                      p.pc->name.c_str(), p.port_id, st.ipackets, st.ibytes, st.opackets, st.obytes, st.imissed,
                      st.ierrors, st.oerrors, st.rx_nombuf);
    }
    out += im.render(snaps);
    return out;
}

std::uint32_t Launcher::teardown() {
    Impl& im = *impl_;
    if (im.torn_down) return 0;
    im.torn_down = true;
    // Telemetry forgets the engines first; then engines (they hold payload buffers), their
    // ports, and what the NIC and the steering rings still hold.
    im.telemetry.stop();
    for (auto& w : im.workers) {
        for (EngineRt& er : w->engines) {
            er.engine.reset();
            er.app.reset();
            er.fport.reset();  // frees the frames it held
            er.sport.reset();
            if (er.dport) er.dport->drop_held_fragments();
            er.dport.reset();
        }
    }
    for (PortRt& p : im.ports) {
        if (p.started) close_port(p.port_id);
        p.started = false;
        if (p.steer) (void)p.steer->drain();
        p.steer.reset();
    }
    std::uint32_t in_use = 0;
    for (auto& w : im.workers) in_use += w->pool->in_use();
    return in_use;
}

std::string Launcher::describe() const {
    const Impl& im = *impl_;
    std::string out;
    if (!im.note.empty()) out += im.note + "\n";
    const auto on = [](bool b) { return b ? "on" : "off"; };
    for (const PortRt& p : im.ports) {
        const PortInfo& i = p.info;
        out += format("port %s: ethdev %u (%s, %s) mac %s, mtu %u, %u RX queue(s) %u TX queue(s), %u/%u descriptors\n",
                      p.pc->name.c_str(), i.port_id, i.name.c_str(), i.driver.c_str(), i.mac.to_string().c_str(),
                      i.caps.mtu, i.rx_queues, i.queues, p.pc->rx_desc, p.pc->tx_desc);
        std::string rss;
        if (i.caps.rss && p.steer) rss = format("rss on (reta %u, symmetric Toeplitz)", p.steer->reta().size());
        else rss = format("rss off%s%s%s", p.steering_note.empty() ? "" : " (", p.steering_note.c_str(),
                          p.steering_note.empty() ? "" : ")");
        std::string steering;
        if (!p.steer) steering = "steering off (one worker)";
        else if (p.steer->mode() == SteeringConfig::Mode::Hardware) steering = "steering: ARP replication only";
        else steering = format("steering on (software Toeplitz, reta %u over %u workers)", p.steer->reta().size(),
                               p.steer->workers());
        out += format("port %s: offloads rx-csum %s tx-ip-csum %s tx-tcp-csum %s multi-seg %s tso %s, %s, %s\n",
                      p.pc->name.c_str(), on(i.caps.rx_l4_csum), on(i.caps.tx_ip_csum), on(i.caps.tx_l4_csum),
                      on(i.multi_seg_tx), on(i.caps.tx_tso), rss.c_str(), steering.c_str());
    }
    if (!im.cfg.fault.empty()) {
        out += format("faults on every port: %s (TX faults turn TSO and TX checksum offload off)\n", im.cfg.fault.c_str());
    }
    for (const auto& w : im.workers) {
        std::string queues;
        for (const PortRt& p : im.ports) {
            queues += format("%s%s rx %s tx %u", queues.empty() ? "" : ", ", p.pc->name.c_str(),
                             w->index < p.info.rx_queues ? std::to_string(w->index).c_str() : "- (steered)", w->index);
        }
        std::string node = w->numa_node < 0 ? std::string("numa n/a")
                                            : format("numa node %d%s", w->numa_node,
                                                     static_cast<unsigned>(w->numa_node) == w->socket
                                                         ? ""
                                                         : " (differs from the EAL's socket)");
        out += format("lcore %u: worker %u%s, cpu %d, socket %u (%s), queues %s, pool ustcp_w%u %u mbufs (cache %u, "
                      "data room %u), connections keep at most %zu of them per port\n",
                      w->lcore, w->index, w->lcore == rte_get_main_lcore() ? " (main)" : "", w->cpu, w->socket,
                      node.c_str(), queues.c_str(), w->lcore, im.cfg.mempool.mbufs_per_lcore, im.cfg.mempool.cache,
                      im.cfg.mempool.data_room, w->payload_nodes);
    }
    return out;
}

void print_lines(std::string_view program, std::string_view text) {
    while (!text.empty()) {
        const std::size_t nl = text.find('\n');
        const std::string_view line = text.substr(0, nl);
        std::printf("%.*s: %.*s\n", static_cast<int>(program.size()), program.data(), static_cast<int>(line.size()),
                    line.data());
        if (nl == std::string_view::npos) break;
        text.remove_prefix(nl + 1);
    }
}

}  // namespace ustcp::dpdk
