#include "ustcp/dpdk/console.hpp"

#include <cmdline.h>
#include <cmdline_parse.h>
#include <cmdline_parse_string.h>
#include <cmdline_rdline.h>
#include <cmdline_socket.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cinttypes>
#include <cstddef>
#include <cstdio>
#include <map>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include "ustcp/config/load.hpp"
#include "ustcp/dpdk/runtime.hpp"
#include "ustcp/dpdk/telemetry.hpp"
#include "ustcp/dpdk/trace.hpp"
#include "ustcp/wire/tcpdump.hpp"

namespace ustcp::dpdk {

namespace {

/// Where the string tokens of every command put what they matched.
struct Words {
    cmdline_fixed_string_t w0;
    cmdline_fixed_string_t w1;
    cmdline_fixed_string_t w2;
    cmdline_multi_string_t rest;
};

/// cmdline_parse_inst_t ends in a flexible array, which C++ cannot initialise: the same
/// layout with a fixed one, handed to rte_cmdline by address.
template <std::size_t N>
struct Inst {
    void (*f)(void*, cmdline*, void*);
    void* data;
    const char* help_str;
    cmdline_parse_token_hdr_t* tokens[N + 1];
};

cmdline_parse_token_string_t word(std::size_t offset, const char* choices) {
    cmdline_parse_token_string_t t{};
    t.hdr.ops = &cmdline_token_string_ops;
    t.hdr.offset = static_cast<unsigned>(offset);
    t.string_data.str = choices;
    return t;
}

std::string endpoint(Ipv4Addr a, std::uint16_t p) { return a.to_string() + ":" + std::to_string(p); }

template <class C>
void counters_line(std::string& out, const char* title, const C& c) {
    out += "  ";
    out += title;
    out += ":";
    for_each_counter(c, [&](const char* name, std::uint64_t v) {
        out += " ";
        out += name;
        out += " " + std::to_string(v);
    });
    out += "\n";
}

template <std::size_t N, class Name>
void drops_into(std::string& out, const char* prefix, const std::array<std::uint64_t, N>& v, Name name) {
    for (std::size_t i = 0; i < N; ++i) {
        if (v[i] != 0) out += std::string(" ") + prefix + std::string(name(i)) + " " + std::to_string(v[i]);
    }
}

std::string stats_block(const std::string& title, const StatsSnapshot& s) {
    std::string out = title + ": connections " + std::to_string(s.connections) + "\n";
    counters_line(out, "engine", s.ec);
    counters_line(out, "tcp", s.tc);
    counters_line(out, "port", s.ps);
    out += "  states:";
    for (std::size_t i = 0; i < s.states.size(); ++i) {
        out += " " + std::string(tcp::to_string(static_cast<tcp::State>(i))) + " " + std::to_string(s.states[i]);
    }
    out += "\n  drops:";
    drops_into(out, "ipv4_", s.ipv4, [](std::size_t i) { return ip::to_string(static_cast<ip::Ipv4Drop>(i)); });
    drops_into(out, "arp_", s.arp, [](std::size_t i) { return ip::to_string(static_cast<ip::ArpDrop>(i)); });
    drops_into(out, "icmp_", s.icmp, [](std::size_t i) { return ip::to_string(static_cast<ip::IcmpDrop>(i)); });
    drops_into(out, "neighbour_", s.neigh,
               [](std::size_t i) { return ip::to_string(static_cast<ip::NeighborDrop>(i)); });
    out += "\n";
    if (s.faults) {
        counters_line(out, "faults rx", s.fault_rx);
        counters_line(out, "faults tx", s.fault_tx);
    }
    return out;
}

bool iequal(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

}  // namespace

struct Console::Impl {
    Launcher* l = nullptr;
    cmdline* cl = nullptr;
    bool closed = false;
    std::thread thread;                  // when the main lcore is a worker
    std::atomic<bool> stopping{false};   // the thread ends
    std::vector<std::unique_ptr<TraceRing>> rings;
    wire::TcpdumpPrinter printer{false};
    std::vector<StatsSnapshot> base_lanes;  // `clear stats`: per Telemetry lane
    std::vector<rte_eth_stats> base_ports;  // per config port

    cmdline_parse_token_string_t t_show = word(offsetof(Words, w0), "show");
    cmdline_parse_token_string_t t_port = word(offsetof(Words, w1), "port");
    cmdline_parse_token_string_t t_stats1 = word(offsetof(Words, w1), "stats");
    cmdline_parse_token_string_t t_stats2 = word(offsetof(Words, w2), "stats");
    cmdline_parse_token_string_t t_conn = word(offsetof(Words, w1), "conn");
    cmdline_parse_token_string_t t_rest = word(offsetof(Words, rest), TOKEN_STRING_MULTI);
    cmdline_parse_token_string_t t_config = word(offsetof(Words, w1), "config");
    cmdline_parse_token_string_t t_trace = word(offsetof(Words, w0), "trace");
    cmdline_parse_token_string_t t_onoff = word(offsetof(Words, w1), "on#off");
    cmdline_parse_token_string_t t_clear = word(offsetof(Words, w0), "clear");
    cmdline_parse_token_string_t t_quit = word(offsetof(Words, w0), "quit");
    cmdline_parse_token_string_t t_help = word(offsetof(Words, w0), "help");

    static cmdline_parse_token_hdr_t* h(cmdline_parse_token_string_t& t) { return &t.hdr; }
    static Impl& self(void* data) { return *static_cast<Impl*>(data); }
    static const Words& words(void* r) { return *static_cast<const Words*>(r); }

    Inst<3> i_port_stats{[](void*, cmdline*, void* d) { self(d).show_port_stats(); }, this,
                         "show port stats: frames and bytes in and out, drops, per port and queue",
                         {h(t_show), h(t_port), h(t_stats2), nullptr}};
    Inst<2> i_stats{[](void*, cmdline*, void* d) { self(d).show_stats(); }, this,
                    "show stats: per lcore engine and tcp counters, connections by state",
                    {h(t_show), h(t_stats1), nullptr}};
    Inst<2> i_conn{[](void*, cmdline*, void* d) { self(d).show_conn(""); }, this,
                   "show conn [state S] [port P]: connections (state, addresses, queues, srtt, cwnd, retransmits)",
                   {h(t_show), h(t_conn), nullptr}};
    Inst<3> i_conn_f{[](void* r, cmdline*, void* d) { self(d).show_conn(words(r).rest); }, this,
                     "show conn [state S] [port P]: connections (state, addresses, queues, srtt, cwnd, retransmits)",
                     {h(t_show), h(t_conn), h(t_rest), nullptr}};
    Inst<2> i_config{[](void*, cmdline*, void* d) { self(d).show_config(); }, this,
                     "show config: the running configuration as TOML", {h(t_show), h(t_config), nullptr}};
    Inst<2> i_trace{[](void* r, cmdline*, void* d) { self(d).trace(std::string_view(words(r).w1) == "on"); }, this,
                    "trace on|off: a tcpdump line for every frame received and sent", {h(t_trace), h(t_onoff), nullptr}};
    Inst<2> i_clear{[](void*, cmdline*, void* d) { self(d).clear_stats(); }, this,
                    "clear stats: the counters shown start from zero", {h(t_clear), h(t_stats1), nullptr}};
    Inst<1> i_quit{[](void*, cmdline*, void* d) { self(d).quit(); }, this,
                   "quit: stop the server gracefully, as SIGTERM does", {h(t_quit), nullptr}};
    Inst<1> i_help{[](void*, cmdline*, void* d) { self(d).help(); }, this, "help: this list", {h(t_help), nullptr}};
    std::vector<cmdline_parse_inst_t*> ctx;

    template <std::size_t N>
    void add(Inst<N>& i) {
        ctx.push_back(reinterpret_cast<cmdline_parse_inst_t*>(&i));
    }

    void print(const std::string& s) const {
        std::fwrite(s.data(), 1, s.size(), stdout);
        std::fflush(stdout);
    }

    void help() {
        std::string out = "commands:\n";
        for (cmdline_parse_inst_t* i : ctx) {
            if (i != nullptr && i != reinterpret_cast<cmdline_parse_inst_t*>(&i_conn_f)) {
                out += "  " + std::string(i->help_str) + "\n";
            }
        }
        print(out);
    }

    StatsSnapshot lane_now(std::size_t i) const {
        StatsSnapshot s = l->telemetry().read_lane(i);
        return i < base_lanes.size() ? since(s, base_lanes[i]) : s;
    }

    void show_stats() {
        const auto lanes = l->telemetry().lanes();
        std::map<unsigned, StatsSnapshot> by_lcore;
        StatsSnapshot total;
        for (std::size_t i = 0; i < lanes.size(); ++i) {
            const StatsSnapshot s = lane_now(i);
            StatsSnapshot& b = by_lcore[lanes[i].lcore];
            add_snapshot(b, s);
            add_snapshot(total, s);
        }
        std::string out;
        for (const auto& [lc, s] : by_lcore) out += stats_block("lcore " + std::to_string(lc), s);
        out += stats_block("total", total);
        print(out);
    }

    void show_port_stats() {
        const auto ports = l->ports();
        const auto lanes = l->telemetry().lanes();
        std::string out;
        char buf[512];
        for (std::size_t p = 0; p < ports.size(); ++p) {
            rte_eth_stats st{};
            if (rte_eth_stats_get(ports[p].ethdev, &st) == 0) {
                if (p < base_ports.size()) {
                    const rte_eth_stats& b = base_ports[p];
                    st.ipackets -= b.ipackets;
                    st.ibytes -= b.ibytes;
                    st.opackets -= b.opackets;
                    st.obytes -= b.obytes;
                    st.imissed -= b.imissed;
                    st.ierrors -= b.ierrors;
                    st.oerrors -= b.oerrors;
                    st.rx_nombuf -= b.rx_nombuf;
                }
                std::snprintf(buf, sizeof buf,
                              "port %s (ethdev %u): rx %" PRIu64 " frames %" PRIu64 " bytes, tx %" PRIu64
                              " frames %" PRIu64 " bytes, drops: rx missed %" PRIu64 " rx errors %" PRIu64
                              " tx errors %" PRIu64 " rx no mbuf %" PRIu64 "\n",
                              ports[p].name.c_str(), ports[p].ethdev, st.ipackets, st.ibytes, st.opackets, st.obytes,
                              st.imissed, st.ierrors, st.oerrors, st.rx_nombuf);
                out += buf;
            }
            unsigned queue = 0;
            for (std::size_t i = 0; i < lanes.size(); ++i) {
                if (lanes[i].port != p) continue;
                const engine::PortStats ps = lane_now(i).ps;
                std::snprintf(buf, sizeof buf,
                              "  queue %u (lcore %u): rx %" PRIu64 " frames %" PRIu64 " bytes, tx %" PRIu64
                              " frames %" PRIu64 " bytes, drops: tx full %" PRIu64 " no mbuf %" PRIu64 "\n",
                              queue++, lanes[i].lcore, ps.rx_frames, ps.rx_bytes, ps.tx_frames, ps.tx_bytes,
                              ps.tx_dropped, ps.tx_no_buffer);
                out += buf;
            }
        }
        print(out);
    }

    void show_conn(std::string_view args) {
        // [state S] [port P], in any order.
        std::optional<std::string> state;
        std::optional<std::uint16_t> port;
        std::istringstream in{std::string(args)};
        std::string k;
        std::string v;
        while (in >> k) {
            if (!(in >> v)) {
                print("show conn: '" + k + "' needs a value; expected: show conn [state S] [port P]\n");
                return;
            }
            if (k == "state") {
                state = v;
            } else if (k == "port") {
                std::uint16_t p = 0;
                auto r = std::from_chars(v.data(), v.data() + v.size(), p);
                if (r.ec != std::errc{} || r.ptr != v.data() + v.size()) {
                    print("show conn: port '" + v + "' is not a number 0..65535\n");
                    return;
                }
                port = p;
            } else {
                print("show conn: unknown '" + k + "'; expected: show conn [state S] [port P]\n");
                return;
            }
        }
        char buf[512];
        std::snprintf(buf, sizeof buf, "%-12s %-21s %-21s %8s %8s %9s %9s %7s %10s %5s\n", "State", "Local", "Peer",
                      "Send-Q", "Recv-Q", "SRTT(us)", "Cwnd", "Retrans", "RetransB", "lcore");
        std::string out = buf;
        std::size_t n = 0;
        (void)l->telemetry().walk_connections(
            std::nullopt, [&](const Telemetry::Lane& lane, const FourTuple& t, const engine::FlowInfo& info) {
                const auto st = tcp::to_string(static_cast<tcp::State>(info.state.load(std::memory_order_relaxed)));
                if (state && !iequal(st, *state)) return;
                if (port && t.local_port != *port && t.remote_port != *port) return;
                std::snprintf(buf, sizeof buf, "%-12.*s %-21s %-21s %8u %8u %9u %9u %7u %10" PRIu64 " %5u\n",
                              static_cast<int>(st.size()), st.data(), endpoint(t.local_addr, t.local_port).c_str(),
                              endpoint(t.remote_addr, t.remote_port).c_str(),
                              info.send_queued.load(std::memory_order_relaxed),
                              info.recv_queued.load(std::memory_order_relaxed),
                              info.srtt_us.load(std::memory_order_relaxed),
                              info.cwnd.load(std::memory_order_relaxed),
                              info.retransmits.load(std::memory_order_relaxed),
                              info.bytes_retrans.load(std::memory_order_relaxed), lane.lcore);
                out += buf;
                ++n;
            });
        out += std::to_string(n) + " connection(s)\n";
        print(out);
    }

    void show_config() { print(config::to_toml(l->config())); }

    void trace(bool on) {
        for (auto& r : rings) r->enable(on);
        if (!on) printer.forget_conversations();
        print(std::string("trace ") + (on ? "on" : "off") + "\n");
    }

    void clear_stats() {
        const auto lanes = l->telemetry().lanes();
        base_lanes.clear();
        for (std::size_t i = 0; i < lanes.size(); ++i) base_lanes.push_back(l->telemetry().read_lane(i));
        const auto ports = l->ports();
        base_ports.assign(ports.size(), rte_eth_stats{});
        for (std::size_t p = 0; p < ports.size(); ++p) (void)rte_eth_stats_get(ports[p].ethdev, &base_ports[p]);
        print("stats cleared\n");
    }

    void quit() {
        print("stopping\n");
        l->request_stop();
        cmdline_quit(cl);
    }

    /// Trace lines, then what was typed; waits up to `wait_ms` for input (0 on the main thread).
    void step(int wait_ms);

    void drain_trace() {
        TraceRing::Record r;
        for (std::size_t i = 0; i < rings.size(); ++i) {
            // A bounded batch per ring and tick: a busy queue cannot starve the prompt.
            for (int k = 0; k < 256 && rings[i]->pop(r); ++k) {
                std::string line = std::string(r.out ? "out " : "in  ") +
                                   printer.format(wire::LinkType::Ethernet, wire::Bytes(r.bytes.data(), r.len), r.wire_len);
                line += "\n";
                std::fwrite(line.data(), 1, line.size(), stdout);
            }
        }
        std::fflush(stdout);
    }
};

Console::Console(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Console::~Console() {
    if (impl_->thread.joinable()) {
        impl_->stopping.store(true, std::memory_order_relaxed);
        impl_->thread.join();
    }
    if (impl_->cl != nullptr) cmdline_stdin_exit(impl_->cl);
}

bool Console::on_own_thread() const noexcept { return impl_->thread.joinable(); }

Result<std::unique_ptr<Console>, std::string> Console::create(Launcher& l) {
    auto impl = std::make_unique<Impl>();
    Impl& im = *impl;
    im.l = &l;
    im.add(im.i_help);
    im.add(im.i_port_stats);
    im.add(im.i_stats);
    im.add(im.i_conn);
    im.add(im.i_conn_f);
    im.add(im.i_config);
    im.add(im.i_trace);
    im.add(im.i_clear);
    im.add(im.i_quit);
    im.ctx.push_back(nullptr);
    l.for_each_port([&](DpdkPort& p) {
        im.rings.push_back(std::make_unique<TraceRing>());
        p.set_trace(im.rings.back().get());
    });
    im.cl = cmdline_stdin_new(im.ctx.data(), "ustcp> ");
    if (im.cl == nullptr) return Err(std::string("interactive: cmdline_stdin_new failed"));
    auto con = std::unique_ptr<Console>(new Console(std::move(impl)));
    if (l.main_lcore_works()) {
        // The main lcore polls its queues: the console gets a thread. It waits on stdin up to
        // 10 ms at a time, so trace lines still come out while nothing is typed and a stop
        // is noticed within 10 ms.
        Impl* p = con->impl_.get();
        p->thread = std::thread([p] {
            while (!p->stopping.load(std::memory_order_relaxed)) p->step(10);
        });
    }
    return con;
}

void Console::poll() { impl_->step(0); }

void Console::Impl::step(int wait_ms) {
    drain_trace();
    if (closed) {
        // End of input or quit: only trace lines from here on.
        if (wait_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
        return;
    }
    // Everything typed since the last step, one character per cmdline_poll.
    for (int wait = wait_ms;; wait = 0) {
        pollfd pfd{STDIN_FILENO, POLLIN, 0};
        if (::poll(&pfd, 1, wait) <= 0) return;
        const int st = cmdline_poll(cl);
        if (st < 0 || st == RDLINE_EXITED) {
            // quit, or the end of input: the server goes on until it is stopped, as without -i.
            closed = true;
            return;
        }
    }
}

}  // namespace ustcp::dpdk
