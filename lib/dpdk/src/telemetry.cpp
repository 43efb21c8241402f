#include "ustcp/dpdk/telemetry.hpp"

#include <rte_telemetry.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <mutex>
#include <optional>
#include <string_view>
#include <type_traits>

namespace ustcp::dpdk {

namespace {

/// rte_telemetry accepts names of letters, digits, '_' and '/': "SYN-RECEIVED" -> "SYN_RECEIVED".
std::string tel_name(std::string_view s) {
    std::string n(s);
    for (char& c : n) {
        if (c == '-') c = '_';
    }
    return n;
}


template <class C>
rte_tel_data* counters_dict(const C& c) {
    rte_tel_data* d = rte_tel_data_alloc();
    if (d == nullptr) return nullptr;
    rte_tel_data_start_dict(d);
    for_each_counter(c, [&](const char* name, std::uint64_t v) { rte_tel_data_add_dict_u64(d, name, v); });
    return d;
}

void add_child(rte_tel_data* d, const char* name, rte_tel_data* child) {
    if (child != nullptr && rte_tel_data_add_dict_container(d, name, child, 0) != 0) rte_tel_data_free(child);
}

/// "7" -> 7; "7,40" -> (7, 40). nullopt for anything else.
std::optional<std::pair<unsigned, unsigned>> parse_params(const char* params, bool allow_second) {
    if (params == nullptr || *params == '\0') return std::nullopt;
    std::string_view s(params);
    unsigned a = 0;
    unsigned b = 0;
    auto r = std::from_chars(s.data(), s.data() + s.size(), a);
    if (r.ec != std::errc{}) return std::nullopt;
    if (r.ptr != s.data() + s.size()) {
        if (!allow_second || *r.ptr != ',') return std::nullopt;
        auto r2 = std::from_chars(r.ptr + 1, s.data() + s.size(), b);
        if (r2.ec != std::errc{} || r2.ptr != s.data() + s.size()) return std::nullopt;
    }
    return std::make_pair(a, b);
}

template <std::size_t N>
void sum_into(std::array<std::uint64_t, N>& to, const std::array<std::atomic<std::uint64_t>, N>& from) noexcept {
    for (std::size_t i = 0; i < N; ++i) to[i] += from[i].load(std::memory_order_relaxed);
}

template <std::size_t N, class Name>
void add_drops(rte_tel_data* d, const char* prefix, const std::array<std::uint64_t, N>& v, Name name) {
    for (std::size_t i = 0; i < N; ++i) rte_tel_data_add_dict_u64(d, tel_name(prefix + std::string(name(i))).c_str(), v[i]);
}

std::string endpoint(Ipv4Addr a, std::uint16_t p) { return a.to_string() + ":" + std::to_string(p); }

}  // namespace

void add_published(StatsSnapshot& into, const engine::PublishedStats& p) noexcept {
    engine::EngineCounters e;
    tcp::Counters t;
    engine::PortStats s;
    p.read(e, t, s);
    engine::add_counters(into.ec, e);
    engine::add_counters(into.tc, t);
    engine::add_counters(into.ps, s);
    for (std::size_t i = 0; i < into.states.size(); ++i) into.states[i] += p.states[i].load(std::memory_order_relaxed);
    sum_into(into.ipv4, p.ipv4_drops);
    sum_into(into.arp, p.arp_drops);
    sum_into(into.icmp, p.icmp_drops);
    sum_into(into.neigh, p.neighbour_drops);
    into.connections += p.connections.load(std::memory_order_relaxed);
}

void add_faults(StatsSnapshot& into, const sim::FaultPort::Published& f) noexcept {
    engine::add_counters(into.fault_rx, f.rx);
    engine::add_counters(into.fault_tx, f.tx);
    into.fault_no_buffer += f.no_buffer;
    into.faults = true;
}

void add_snapshot(StatsSnapshot& into, const StatsSnapshot& s) noexcept {
    engine::add_counters(into.ec, s.ec);
    engine::add_counters(into.tc, s.tc);
    engine::add_counters(into.ps, s.ps);
    for (std::size_t k = 0; k < s.states.size(); ++k) into.states[k] += s.states[k];
    for (std::size_t k = 0; k < s.ipv4.size(); ++k) into.ipv4[k] += s.ipv4[k];
    for (std::size_t k = 0; k < s.arp.size(); ++k) into.arp[k] += s.arp[k];
    for (std::size_t k = 0; k < s.icmp.size(); ++k) into.icmp[k] += s.icmp[k];
    for (std::size_t k = 0; k < s.neigh.size(); ++k) into.neigh[k] += s.neigh[k];
    into.connections += s.connections;
    if (s.faults) add_faults(into, sim::FaultPort::Published{s.fault_rx, s.fault_tx, s.fault_no_buffer});
}

namespace {
/// a -= b word by word, for the all-u64 counter structs.
template <class T>
void sub_words(T& a, const T& b) noexcept {
    static_assert(sizeof(T) % 8 == 0 && std::is_trivially_copyable_v<T>);
    std::array<std::uint64_t, sizeof(T) / 8> x;
    std::array<std::uint64_t, sizeof(T) / 8> y;
    std::memcpy(x.data(), &a, sizeof(T));
    std::memcpy(y.data(), &b, sizeof(T));
    for (std::size_t i = 0; i < x.size(); ++i) x[i] -= y[i];
    std::memcpy(static_cast<void*>(&a), x.data(), sizeof(T));
}
}  // namespace

StatsSnapshot since(const StatsSnapshot& a, const StatsSnapshot& b) noexcept {
    StatsSnapshot d = a;
    sub_words(d.ec, b.ec);
    sub_words(d.tc, b.tc);
    sub_words(d.ps, b.ps);
    sub_words(d.ipv4, b.ipv4);
    sub_words(d.arp, b.arp);
    sub_words(d.icmp, b.icmp);
    sub_words(d.neigh, b.neigh);
    sub_words(d.fault_rx, b.fault_rx);
    sub_words(d.fault_tx, b.fault_tx);
    d.fault_no_buffer -= b.fault_no_buffer;
    return d;
}

struct TelemetryCommands {
    static std::mutex mu;
    static Telemetry* current;

    static int stats(const char* /*cmd*/, const char* params, rte_tel_data* d) {
        std::lock_guard<std::mutex> g(mu);
        rte_tel_data_start_dict(d);
        std::optional<unsigned> only;
        if (params != nullptr && *params != '\0') {
            auto p = parse_params(params, false);
            if (!p) return -EINVAL;
            only = p->first;
        }
        StatsSnapshot tot;
        rte_tel_data* lcores = rte_tel_data_alloc();
        if (lcores != nullptr) rte_tel_data_start_array(lcores, RTE_TEL_INT_VAL);
        bool found = !only;
        for (const Telemetry::Lane& l : current != nullptr ? current->lanes_ : std::vector<Telemetry::Lane>{}) {
            if (lcores != nullptr) rte_tel_data_add_array_int(lcores, static_cast<int>(l.lcore));
            if (only && *only != l.lcore) continue;
            found = true;
            add_published(tot, l.engine->published());
            if (l.faults != nullptr) add_faults(tot, l.faults->published());
        }
        const auto& [ec, tc, ps, states, ipv4, arp, icmp, neigh, conns, fault_rx, fault_tx, fault_no_buffer, faults] =
            tot;
        if (!found) {
            if (lcores != nullptr) rte_tel_data_free(lcores);
            return -EINVAL;
        }
        add_child(d, "lcores", lcores);
        rte_tel_data_add_dict_u64(d, "connections", conns);
        add_child(d, "engine", counters_dict(ec));
        add_child(d, "tcp", counters_dict(tc));
        add_child(d, "port", counters_dict(ps));
        rte_tel_data* st = rte_tel_data_alloc();
        if (st != nullptr) {
            rte_tel_data_start_dict(st);
            for (std::size_t i = 0; i < states.size(); ++i) {
                rte_tel_data_add_dict_u64(st, tel_name(tcp::to_string(static_cast<tcp::State>(i))).c_str(), states[i]);
            }
            add_child(d, "states", st);
        }
        // lib/ip's drops by reason, one dict: "ipv4_bad_checksum", "arp_from_self", ...
        rte_tel_data* dr = rte_tel_data_alloc();
        if (dr != nullptr) {
            rte_tel_data_start_dict(dr);
            add_drops(dr, "ipv4_", ipv4, [](std::size_t i) { return ip::to_string(static_cast<ip::Ipv4Drop>(i)); });
            add_drops(dr, "arp_", arp, [](std::size_t i) { return ip::to_string(static_cast<ip::ArpDrop>(i)); });
            add_drops(dr, "icmp_", icmp, [](std::size_t i) { return ip::to_string(static_cast<ip::IcmpDrop>(i)); });
            add_drops(dr, "neighbour_", neigh,
                      [](std::size_t i) { return ip::to_string(static_cast<ip::NeighborDrop>(i)); });
            add_child(d, "drops", dr);
        }
        // lib/sim's faults by direction: "rx_lost", "tx_duplicated", ..., "no_buffer".
        rte_tel_data* fd = faults ? rte_tel_data_alloc() : nullptr;
        if (fd != nullptr) {
            rte_tel_data_start_dict(fd);
            for (const auto& [dir, c] : {std::pair{"rx_", &fault_rx}, std::pair{"tx_", &fault_tx}}) {
                for_each_counter(*c, [&, dir = dir](const char* name, std::uint64_t v) {
                    std::string_view n(name);
                    if (n.starts_with("fault_")) n.remove_prefix(6);
                    rte_tel_data_add_dict_u64(fd, (dir + std::string(n)).c_str(), v);
                });
            }
            rte_tel_data_add_dict_u64(fd, "no_buffer", fault_no_buffer);
            add_child(d, "faults", fd);
        }
        return 0;
    }

    static int conns(const char* /*cmd*/, const char* params, rte_tel_data* d) {
        std::lock_guard<std::mutex> g(mu);
        auto p = parse_params(params, true);
        if (!p || current == nullptr) return -EINVAL;
        bool any = false;
        for (const Telemetry::Lane& l : current->lanes_) any = any || l.lcore == p->first;
        if (!any) return -EINVAL;
        // rte_telemetry nests one level only, and arrays hold no dicts: each connection is a
        // dict under its index in the walk.
        rte_tel_data_start_dict(d);
        const unsigned from = p->second;
        unsigned index = 0;
        unsigned shown = 0;
        const auto show = [&](const Telemetry::Lane&, const FourTuple& t, const engine::FlowInfo& info) {
            const unsigned i = index++;
            if (i < from || shown >= Telemetry::kConnsPerReply) return;
            rte_tel_data* c = rte_tel_data_alloc();
            if (c == nullptr) return;
            rte_tel_data_start_dict(c);
            rte_tel_data_add_dict_string(c, "local", endpoint(t.local_addr, t.local_port).c_str());
            rte_tel_data_add_dict_string(c, "remote", endpoint(t.remote_addr, t.remote_port).c_str());
            const auto st = static_cast<tcp::State>(info.state.load(std::memory_order_relaxed));
            rte_tel_data_add_dict_string(c, "state", std::string(tcp::to_string(st)).c_str());
            rte_tel_data_add_dict_u64(c, "bytes_in", info.bytes_in.load(std::memory_order_relaxed));
            rte_tel_data_add_dict_u64(c, "bytes_out", info.bytes_out.load(std::memory_order_relaxed));
            rte_tel_data_add_dict_u64(c, "bytes_retrans", info.bytes_retrans.load(std::memory_order_relaxed));
            rte_tel_data_add_dict_u64(c, "srtt_us", info.srtt_us.load(std::memory_order_relaxed));
            rte_tel_data_add_dict_u64(c, "cwnd", info.cwnd.load(std::memory_order_relaxed));
            rte_tel_data_add_dict_u64(c, "retransmits", info.retransmits.load(std::memory_order_relaxed));
            rte_tel_data_add_dict_u64(c, "send_queued", info.send_queued.load(std::memory_order_relaxed));
            rte_tel_data_add_dict_u64(c, "recv_queued", info.recv_queued.load(std::memory_order_relaxed));
            add_child(d, std::to_string(i).c_str(), c);
            ++shown;
        };
        current->walk_locked(p->first, show);
        rte_tel_data_add_dict_int(d, "lcore", static_cast<int>(p->first));
        rte_tel_data_add_dict_u64(d, "total", index);
        rte_tel_data_add_dict_int(d, "next", from + shown < index ? static_cast<int>(from + shown) : -1);
        return 0;
    }
};

std::mutex TelemetryCommands::mu;
Telemetry* TelemetryCommands::current = nullptr;

Telemetry::Telemetry() {
    auto q = RcuQsbr::create(1);
    if (q) {
        rcu_ = std::move(*q);
        rcu_->register_reader(0);
    }
}

Telemetry::~Telemetry() {
    stop();
    if (rcu_) rcu_->unregister_reader(0);
}

void Telemetry::add(unsigned lcore, const engine::Engine& e, std::size_t port, const sim::FaultPort* faults) {
    std::lock_guard<std::mutex> g(TelemetryCommands::mu);
    lanes_.push_back(Lane{lcore, &e, port, faults});
}

std::vector<Telemetry::Lane> Telemetry::lanes() const {
    std::lock_guard<std::mutex> g(TelemetryCommands::mu);
    return lanes_;
}

StatsSnapshot Telemetry::read_lane(std::size_t lane) const {
    std::lock_guard<std::mutex> g(TelemetryCommands::mu);
    StatsSnapshot s;
    if (lane < lanes_.size()) {
        add_published(s, lanes_[lane].engine->published());
        if (lanes_[lane].faults != nullptr) add_faults(s, lanes_[lane].faults->published());
    }
    return s;
}

void Telemetry::walk_locked(std::optional<unsigned> lcore, const ConnFn& f) const {
    // Online only for the walk: the FlowInfo objects stay valid until quiescent().
    rcu_->online(0);
    for (const Lane& l : lanes_) {
        if (lcore && *lcore != l.lcore) continue;
        l.engine->for_each_flow_concurrent([&](const FourTuple& t, const engine::FlowInfo& info) { f(l, t, info); });
    }
    rcu_->quiescent(0);
    rcu_->offline(0);
}

bool Telemetry::walk_connections(std::optional<unsigned> lcore, const ConnFn& f) const {
    std::lock_guard<std::mutex> g(TelemetryCommands::mu);
    bool any = false;
    for (const Lane& l : lanes_) any = any || !lcore || *lcore == l.lcore;
    if (!any || !rcu_) return false;
    walk_locked(lcore, f);
    return true;
}

Result<void, std::string> Telemetry::start() {
    if (!rcu_) return Err(std::string("telemetry: cannot allocate the RCU QS variable"));
    static std::once_flag once;
    static int rc = 0;
    std::call_once(once, [] {
        rc = rte_telemetry_register_cmd("/ustcp/stats", TelemetryCommands::stats,
                                        "ustcp counters: totals, or one lcore's. Parameters: [lcore]");
        if (rc == 0) {
            rc = rte_telemetry_register_cmd("/ustcp/conns", TelemetryCommands::conns,
                                            "ustcp connections of one lcore. Parameters: lcore[,first]");
        }
    });
    if (rc != 0) return Err(std::string("telemetry: rte_telemetry_register_cmd: ") + std::strerror(-rc));
    std::lock_guard<std::mutex> g(TelemetryCommands::mu);
    TelemetryCommands::current = this;
    return {};
}

void Telemetry::stop() {
    std::lock_guard<std::mutex> g(TelemetryCommands::mu);
    if (TelemetryCommands::current == this) TelemetryCommands::current = nullptr;
    lanes_.clear();
}

}  // namespace ustcp::dpdk
