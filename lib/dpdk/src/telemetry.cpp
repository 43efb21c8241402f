#include "ustcp/dpdk/telemetry.hpp"

#include <rte_telemetry.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <mutex>
#include <optional>
#include <string_view>

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
        engine::EngineCounters ec{};
        tcp::Counters tc{};
        engine::PortStats ps{};
        std::array<std::uint64_t, tcp::kStateCount> states{};
        std::array<std::uint64_t, ip::kIpv4DropCount> ipv4{};
        std::array<std::uint64_t, ip::kArpDropCount> arp{};
        std::array<std::uint64_t, ip::kIcmpDropCount> icmp{};
        std::array<std::uint64_t, ip::kNeighborDropCount> neigh{};
        std::uint64_t conns = 0;
        rte_tel_data* lcores = rte_tel_data_alloc();
        if (lcores != nullptr) rte_tel_data_start_array(lcores, RTE_TEL_INT_VAL);
        bool found = !only;
        for (const Telemetry::Lane& l : current != nullptr ? current->lanes_ : std::vector<Telemetry::Lane>{}) {
            if (lcores != nullptr) rte_tel_data_add_array_int(lcores, static_cast<int>(l.lcore));
            if (only && *only != l.lcore) continue;
            found = true;
            const engine::PublishedStats& p = l.engine->published();
            engine::EngineCounters e;
            tcp::Counters t;
            engine::PortStats s;
            p.read(e, t, s);
            engine::add_counters(ec, e);
            engine::add_counters(tc, t);
            engine::add_counters(ps, s);
            for (std::size_t i = 0; i < states.size(); ++i) states[i] += p.states[i].load(std::memory_order_relaxed);
            sum_into(ipv4, p.ipv4_drops);
            sum_into(arp, p.arp_drops);
            sum_into(icmp, p.icmp_drops);
            sum_into(neigh, p.neighbour_drops);
            conns += p.connections.load(std::memory_order_relaxed);
        }
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
        return 0;
    }

    static int conns(const char* /*cmd*/, const char* params, rte_tel_data* d) {
        std::lock_guard<std::mutex> g(mu);
        auto p = parse_params(params, true);
        if (!p || current == nullptr) return -EINVAL;
        std::vector<const engine::Engine*> engines;  // one per port the lcore serves
        for (const Telemetry::Lane& l : current->lanes_) {
            if (l.lcore == p->first) engines.push_back(l.engine);
        }
        if (engines.empty()) return -EINVAL;
        // rte_telemetry nests one level only, and arrays hold no dicts: each connection is a
        // dict under its index in the walk.
        rte_tel_data_start_dict(d);
        const unsigned from = p->second;
        unsigned index = 0;
        unsigned shown = 0;
        RcuQsbr& rcu = *current->rcu_;
        const auto show = [&](const FourTuple& t, const engine::FlowInfo& info) {
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
            rte_tel_data_add_dict_u64(c, "send_queued", info.send_queued.load(std::memory_order_relaxed));
            rte_tel_data_add_dict_u64(c, "recv_queued", info.recv_queued.load(std::memory_order_relaxed));
            add_child(d, std::to_string(i).c_str(), c);
            ++shown;
        };
        // Online only for the walk: the FlowInfo objects stay valid until quiescent().
        rcu.online(0);
        for (const engine::Engine* e : engines) e->for_each_flow_concurrent(show);
        rcu.quiescent(0);
        rcu.offline(0);
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

void Telemetry::add(unsigned lcore, const engine::Engine& e) {
    std::lock_guard<std::mutex> g(TelemetryCommands::mu);
    lanes_.push_back(Lane{lcore, &e});
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
