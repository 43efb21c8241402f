// ustcp-raw-link [EAL args] -- --role reflect|pingpong|tx|rx [--size BYTES] [--duration S]
//                [--warmup S] [--json FILE]
//
// The raw limit of a DPDK link, with no stack on it: what bench/run.sh puts beside ustcp and
// Linux. One port (the first ethdev EAL made, e.g. --vdev=net_memif0,role=client,...), one
// queue pair, one lcore (the main one), frames of --size bytes (Ethernet header included, no
// FCS: 64 and 1514 are the usual sizes). As ustcp-server, it adds --no-pci (unless devices are
// named) and its own --file-prefix when they are not given (dpdk::start_eal).
//
//   reflect   sends every frame it receives straight back (the ping-pong peer);
//   pingpong  one frame in flight: send, spin until it comes back, record the round trip;
//   tx        sends bursts of frames as fast as the link takes them (the one-way generator);
//   rx        counts the frames and bytes it receives (the one-way sink: its rate is the one
//             reported, since a generator's own count includes what the link dropped).
//
// The active roles (pingpong, tx) wait for the link to come up, run --warmup then --duration
// seconds, report, stop sending and close their port. The passive roles (reflect, rx) wait
// for the link, serve until it goes down again (the active peer closed) or SIGINT/SIGTERM,
// then report. That order (traffic stops, the link goes down, then each side exits) is the
// safe one for memif: a peer leaving mid-transfer has crashed the other process here.
//
// Report: one line on stdout (`pingpong size 64: 2104511 rt/s p50 0.42us p99 0.61us ...`) and,
// with --json FILE, an object: {"role", "size", "seconds", "frames", "rate" (per second: round
// trips for pingpong, frames for tx/rx), "gbps" (frame bytes, rx/tx), "p50_us", "p90_us",
// "p99_us", "p999_us", "max_us" (pingpong)}. Exit status 0 on success, 1 on failure (no link
// within 30 s, no mbufs, a timeout), 2 on bad arguments.
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "ustcp/dpdk/runtime.hpp"

namespace {

enum class Role { Reflect, PingPong, Tx, Rx };

struct Options {
    Role role = Role::Reflect;
    std::uint32_t size = 64;
    double duration_s = 5;
    double warmup_s = 1;
    std::string json;
};

constexpr std::uint16_t kBurst = 32;
constexpr std::uint16_t kDesc = 1024;
constexpr double kLinkWaitS = 30;
constexpr double kPingTimeoutS = 1;  // one frame not back within this: the link lost it

std::atomic<bool> g_stop{false};

void on_signal(int) { g_stop.store(true, std::memory_order_relaxed); }

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr,
                 "ustcp-raw-link: %s\n"
                 "usage: ustcp-raw-link [EAL args] -- --role reflect|pingpong|tx|rx [--size 60..9000]\n"
                 "       [--duration S (0.1..3600, default 5)] [--warmup S (0..600, default 1)] [--json FILE]\n",
                 why);
    std::exit(2);
}

double parse_seconds(const char* s, double lo, double hi, const char* flag) {
    char* end = nullptr;
    const double v = std::strtod(s, &end);
    if (end == s || *end != '\0' || !(v >= lo && v <= hi)) {
        std::fprintf(stderr, "ustcp-raw-link: %s %s: want seconds in %g..%g\n", flag, s, lo, hi);
        std::exit(2);
    }
    return v;
}

Options parse(int argc, char** argv) {
    Options o;
    bool have_role = false;
    for (int i = 0; i < argc; ++i) {
        const std::string_view a = argv[i];
        auto value = [&]() -> const char* {
            if (i + 1 >= argc) usage(("missing value after " + std::string(a)).c_str());
            return argv[++i];
        };
        if (a == "--role") {
            const std::string_view r = value();
            if (r == "reflect") o.role = Role::Reflect;
            else if (r == "pingpong") o.role = Role::PingPong;
            else if (r == "tx") o.role = Role::Tx;
            else if (r == "rx") o.role = Role::Rx;
            else usage("--role: want reflect, pingpong, tx or rx");
            have_role = true;
        } else if (a == "--size") {
            const char* s = value();
            char* end = nullptr;
            const unsigned long v = std::strtoul(s, &end, 10);
            if (end == s || *end != '\0' || v < 60 || v > 9000) usage("--size: want 60..9000 bytes");
            o.size = static_cast<std::uint32_t>(v);
        } else if (a == "--duration") {
            o.duration_s = parse_seconds(value(), 0.1, 3600, "--duration");
        } else if (a == "--warmup") {
            o.warmup_s = parse_seconds(value(), 0, 600, "--warmup");
        } else if (a == "--json") {
            o.json = value();
        } else {
            usage(("unknown argument " + std::string(a)).c_str());
        }
    }
    if (!have_role) usage("--role is required");
    return o;
}

const char* role_name(Role r) {
    switch (r) {
        case Role::Reflect: return "reflect";
        case Role::PingPong: return "pingpong";
        case Role::Tx: return "tx";
        case Role::Rx: return "rx";
    }
    return "?";
}

struct Link {
    std::uint16_t port = 0;
    rte_mempool* pool = nullptr;
};

bool link_up(std::uint16_t port) {
    rte_eth_link l{};
    return rte_eth_link_get_nowait(port, &l) == 0 && l.link_status == RTE_ETH_LINK_UP;
}

/// Waits up to `seconds` for the link to be `up`; false on timeout or a signal.
bool wait_link(std::uint16_t port, bool up, double seconds) {
    const std::uint64_t deadline = rte_get_timer_cycles() + static_cast<std::uint64_t>(seconds * rte_get_timer_hz());
    while (link_up(port) != up) {
        if (g_stop.load(std::memory_order_relaxed) || rte_get_timer_cycles() > deadline) return false;
        rte_delay_us_sleep(1000);
    }
    return true;
}

bool open_link(Link& l, std::uint32_t size) {
    if (rte_eth_dev_count_avail() == 0) {
        std::fprintf(stderr, "ustcp-raw-link: no ethdev: give EAL a --vdev (e.g. net_memif0,role=client,socket=...)\n");
        return false;
    }
    l.port = static_cast<std::uint16_t>(rte_eth_find_next(0));
    const int socket = static_cast<int>(rte_socket_id()) == SOCKET_ID_ANY ? 0 : static_cast<int>(rte_socket_id());
    const std::uint16_t room = static_cast<std::uint16_t>(std::max<std::uint32_t>(size, RTE_MBUF_DEFAULT_DATAROOM) +
                                                          RTE_PKTMBUF_HEADROOM);
    l.pool = rte_pktmbuf_pool_create("raw_pool", 8191, 256, 0, room, socket);
    if (l.pool == nullptr) {
        std::fprintf(stderr, "ustcp-raw-link: mbuf pool: %s\n", rte_strerror(rte_errno));
        return false;
    }
    rte_eth_conf conf{};
    if (size > RTE_ETHER_MAX_LEN) conf.rxmode.mtu = size - RTE_ETHER_HDR_LEN;
    int rc = rte_eth_dev_configure(l.port, 1, 1, &conf);
    if (rc == 0) rc = rte_eth_rx_queue_setup(l.port, 0, kDesc, socket, nullptr, l.pool);
    if (rc == 0) rc = rte_eth_tx_queue_setup(l.port, 0, kDesc, socket, nullptr);
    if (rc == 0) rc = rte_eth_dev_start(l.port);
    if (rc != 0) {
        std::fprintf(stderr, "ustcp-raw-link: port %u setup: %s\n", l.port, rte_strerror(-rc));
        return false;
    }
    return true;
}

/// A UDP/IPv4 frame of `size` bytes (198.18.3.1:9 -> 198.18.3.2:9), its sequence number in
/// the first payload word so that the ping-pong side can tell its frame from a stale one.
rte_mbuf* make_frame(rte_mempool* pool, std::uint32_t size, std::uint64_t seq) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    if (m == nullptr) return nullptr;
    auto* p = reinterpret_cast<std::uint8_t*>(rte_pktmbuf_append(m, static_cast<std::uint16_t>(size)));
    if (p == nullptr) {
        rte_pktmbuf_free(m);
        return nullptr;
    }
    std::memset(p, 0, size);
    auto* eth = reinterpret_cast<rte_ether_hdr*>(p);
    eth->dst_addr = {{0x02, 0, 0, 0, 0x03, 0x02}};
    eth->src_addr = {{0x02, 0, 0, 0, 0x03, 0x01}};
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->total_length = rte_cpu_to_be_16(static_cast<std::uint16_t>(size - sizeof(rte_ether_hdr)));
    ip->time_to_live = 64;
    ip->next_proto_id = IPPROTO_UDP;
    ip->src_addr = rte_cpu_to_be_32(RTE_IPV4(198, 18, 3, 1));
    ip->dst_addr = rte_cpu_to_be_32(RTE_IPV4(198, 18, 3, 2));
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    auto* udp = reinterpret_cast<rte_udp_hdr*>(ip + 1);
    udp->src_port = udp->dst_port = rte_cpu_to_be_16(9);
    udp->dgram_len = rte_cpu_to_be_16(static_cast<std::uint16_t>(size - sizeof(rte_ether_hdr) - sizeof(rte_ipv4_hdr)));
    std::memcpy(udp + 1, &seq, sizeof seq);
    return m;
}

std::uint64_t frame_seq(const rte_mbuf* m) {
    std::uint64_t seq = 0;
    constexpr std::uint32_t off = sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr) + sizeof(rte_udp_hdr);
    if (rte_pktmbuf_pkt_len(m) >= off + sizeof seq) rte_memcpy(&seq, rte_pktmbuf_mtod_offset(m, const void*, off), sizeof seq);
    return seq;
}

struct Report {
    std::uint64_t frames = 0;
    std::uint64_t bytes = 0;
    double seconds = 0;
    std::vector<double> rtt_us;  // pingpong, sorted
};

double pct(const std::vector<double>& sorted, double p) {
    if (sorted.empty()) return 0;
    const auto i = static_cast<std::size_t>(p / 100.0 * static_cast<double>(sorted.size() - 1) + 0.5);
    return sorted[std::min(i, sorted.size() - 1)];
}

/// Passive: reflect or count until the link goes down or a signal; the clock runs from the
/// first frame to the last one.
bool serve(const Link& l, Role role, Report& r) {
    rte_mbuf* b[kBurst];
    std::uint64_t first = 0, last = 0;
    std::uint64_t polls = 0;
    while (!g_stop.load(std::memory_order_relaxed)) {
        const std::uint16_t n = rte_eth_rx_burst(l.port, 0, b, kBurst);
        if (n == 0) {
            // Checking the link costs a syscall-free read, but not every empty poll.
            if ((++polls & 0xffff) == 0 && !link_up(l.port)) break;
            continue;
        }
        last = rte_get_timer_cycles();
        if (first == 0) first = last;
        r.frames += n;
        for (std::uint16_t i = 0; i < n; ++i) r.bytes += rte_pktmbuf_pkt_len(b[i]);
        if (role == Role::Reflect) {
            std::uint16_t sent = 0;
            while (sent < n && !g_stop.load(std::memory_order_relaxed)) {
                sent = static_cast<std::uint16_t>(sent + rte_eth_tx_burst(l.port, 0, b + sent, n - sent));
            }
            for (std::uint16_t i = sent; i < n; ++i) rte_pktmbuf_free(b[i]);
        } else {
            rte_pktmbuf_free_bulk(b, n);
        }
    }
    r.seconds = first == 0 ? 0 : static_cast<double>(last - first) / static_cast<double>(rte_get_timer_hz());
    return true;
}

bool pingpong(const Link& l, const Options& o, Report& r) {
    const std::uint64_t hz = rte_get_timer_hz();
    const std::uint64_t start = rte_get_timer_cycles();
    const std::uint64_t measure_from = start + static_cast<std::uint64_t>(o.warmup_s * static_cast<double>(hz));
    const std::uint64_t end = measure_from + static_cast<std::uint64_t>(o.duration_s * static_cast<double>(hz));
    const std::uint64_t timeout = static_cast<std::uint64_t>(kPingTimeoutS * static_cast<double>(hz));
    r.rtt_us.reserve(static_cast<std::size_t>(o.duration_s * 4e6));
    rte_mbuf* b[kBurst];
    for (std::uint64_t seq = 1; !g_stop.load(std::memory_order_relaxed); ++seq) {
        rte_mbuf* m = make_frame(l.pool, o.size, seq);
        if (m == nullptr) {
            std::fprintf(stderr, "ustcp-raw-link: mbuf pool empty\n");
            return false;
        }
        const std::uint64_t t0 = rte_get_timer_cycles();
        if (t0 >= end) {
            rte_pktmbuf_free(m);
            break;
        }
        while (rte_eth_tx_burst(l.port, 0, &m, 1) == 0) {
        }
        bool back = false;
        while (!back) {
            const std::uint16_t n = rte_eth_rx_burst(l.port, 0, b, kBurst);
            for (std::uint16_t i = 0; i < n; ++i) back = back || frame_seq(b[i]) == seq;
            if (n != 0) rte_pktmbuf_free_bulk(b, n);
            if (!back && rte_get_timer_cycles() - t0 > timeout) {
                std::fprintf(stderr, "ustcp-raw-link: frame %lu not back within %.0f s\n",
                             static_cast<unsigned long>(seq), kPingTimeoutS);
                return false;
            }
        }
        const std::uint64_t t1 = rte_get_timer_cycles();
        if (t0 >= measure_from) {
            r.rtt_us.push_back(static_cast<double>(t1 - t0) * 1e6 / static_cast<double>(hz));
            r.bytes += o.size;
        }
    }
    r.frames = r.rtt_us.size();
    r.seconds = o.duration_s;
    std::sort(r.rtt_us.begin(), r.rtt_us.end());
    return true;
}

bool generate(const Link& l, const Options& o, Report& r) {
    const std::uint64_t hz = rte_get_timer_hz();
    const std::uint64_t start = rte_get_timer_cycles();
    const std::uint64_t measure_from = start + static_cast<std::uint64_t>(o.warmup_s * static_cast<double>(hz));
    const std::uint64_t end = measure_from + static_cast<std::uint64_t>(o.duration_s * static_cast<double>(hz));
    // One template frame, sent by reference (refcnt) so that the generator's cost is the
    // link's, not a memset per frame.
    rte_mbuf* tmpl = make_frame(l.pool, o.size, 0);
    if (tmpl == nullptr) return false;
    rte_mbuf* b[kBurst];
    std::uint64_t now = start;
    while (now < end && !g_stop.load(std::memory_order_relaxed)) {
        for (auto& m : b) {
            m = tmpl;
        }
        rte_mbuf_refcnt_update(tmpl, kBurst);
        const std::uint16_t sent = rte_eth_tx_burst(l.port, 0, b, kBurst);
        rte_mbuf_refcnt_update(tmpl, static_cast<std::int16_t>(-(kBurst - sent)));
        now = rte_get_timer_cycles();
        if (now >= measure_from) {
            r.frames += sent;
            r.bytes += static_cast<std::uint64_t>(sent) * o.size;
        }
        // Whatever the peer sends back is dropped.
        const std::uint16_t n = rte_eth_rx_burst(l.port, 0, b, kBurst);
        if (n != 0) rte_pktmbuf_free_bulk(b, n);
    }
    rte_pktmbuf_free(tmpl);
    r.seconds = o.duration_s;
    return true;
}

void report(const Options& o, const Report& r) {
    // The sink reports the frames it saw, whatever size the generator chose.
    const std::uint32_t size = o.role == Role::Rx && r.frames != 0 ? static_cast<std::uint32_t>(r.bytes / r.frames) : o.size;
    const double rate = r.seconds > 0 ? static_cast<double>(r.frames) / r.seconds : 0;
    const double gbps = r.seconds > 0 ? static_cast<double>(r.bytes) * 8 / r.seconds / 1e9 : 0;
    if (o.role == Role::PingPong) {
        std::printf("pingpong size %u: %.0f rt/s p50 %.2fus p90 %.2fus p99 %.2fus p99.9 %.2fus max %.2fus (%lu round trips)\n",
                    size, rate, pct(r.rtt_us, 50), pct(r.rtt_us, 90), pct(r.rtt_us, 99), pct(r.rtt_us, 99.9),
                    r.rtt_us.empty() ? 0 : r.rtt_us.back(), static_cast<unsigned long>(r.frames));
    } else {
        std::printf("%s size %u: %.0f frames/s %.3f Gbit/s (%lu frames in %.3f s)\n", role_name(o.role), size, rate,
                    gbps, static_cast<unsigned long>(r.frames), r.seconds);
    }
    std::fflush(stdout);
    if (o.json.empty()) return;
    FILE* f = std::fopen(o.json.c_str(), "w");
    if (f == nullptr) {
        std::fprintf(stderr, "ustcp-raw-link: --json %s: %s\n", o.json.c_str(), std::strerror(errno));
        return;
    }
    std::fprintf(f, "{\"role\": \"%s\", \"size\": %u, \"seconds\": %.6f, \"frames\": %lu, \"rate\": %.1f, \"gbps\": %.4f",
                 role_name(o.role), size, r.seconds, static_cast<unsigned long>(r.frames), rate, gbps);
    if (o.role == Role::PingPong) {
        std::fprintf(f, ", \"p50_us\": %.3f, \"p90_us\": %.3f, \"p99_us\": %.3f, \"p999_us\": %.3f, \"max_us\": %.3f",
                     pct(r.rtt_us, 50), pct(r.rtt_us, 90), pct(r.rtt_us, 99), pct(r.rtt_us, 99.9),
                     r.rtt_us.empty() ? 0 : r.rtt_us.back());
    }
    std::fprintf(f, "}\n");
    std::fclose(f);
}

}  // namespace

int main(int argc, char** argv) {
    // The project's EAL rules: --no-pci unless devices were named, a private --file-prefix.
    auto eal = ustcp::dpdk::start_eal(argc, argv);
    if (!eal) {
        std::fprintf(stderr, "ustcp-raw-link: EAL init failed: %s\n", eal.error().c_str());
        return 1;
    }
    // app_argv[0] is the program; ours follow.
    const Options o = parse(eal->app_argc - 1, eal->app_argv + 1);
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);

    Link l;
    int rc = 1;
    if (open_link(l, o.size)) {
        std::printf("ustcp-raw-link: port %u ready (%s, %u-byte frames), waiting for the link\n", l.port,
                    role_name(o.role), o.size);
        std::fflush(stdout);
        if (!wait_link(l.port, true, kLinkWaitS)) {
            std::fprintf(stderr, "ustcp-raw-link: port %u: no link within %.0f s\n", l.port, kLinkWaitS);
        } else {
            Report r;
            bool ok = false;
            switch (o.role) {
                case Role::Reflect:
                case Role::Rx: ok = serve(l, o.role, r); break;
                case Role::PingPong: ok = pingpong(l, o, r); break;
                case Role::Tx: ok = generate(l, o, r); break;
            }
            if (ok) {
                report(o, r);
                rc = 0;
            }
        }
        rte_eth_dev_stop(l.port);
        rte_eth_dev_close(l.port);
    }
    ustcp::dpdk::stop_eal();
    return rc;
}
