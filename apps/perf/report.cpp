#include "report.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

namespace ustcp::perf {

namespace {

double secs(Duration d) { return static_cast<double>(d.as_nanos()) / 1e9; }
double per_s(std::uint64_t n, Duration d) { return d.as_nanos() > 0 ? static_cast<double>(n) / secs(d) : 0.0; }
double gbits(std::uint64_t bytes, Duration d) { return per_s(bytes, d) * 8 / 1e9; }

std::string fmt(const char* f, auto... a) {
    char b[512];
    std::snprintf(b, sizeof b, f, a...);
    return b;
}

std::uint64_t bulk_bytes(const ReportInfo& info, const Counters& c) {
    if (info.mode == Mode::Iperf) return c.bytes_sent;
    return info.w.direction == Direction::Recv ? c.bytes_received : c.bytes_sent;
}

}  // namespace

std::string format_ns(std::uint64_t ns) {
    const auto v = static_cast<double>(ns);
    if (ns < 1000) return fmt("%" PRIu64 "ns", ns);
    if (ns < 1000000) return fmt("%.1fus", v / 1e3);
    if (ns < 1000000000) return fmt("%.2fms", v / 1e6);
    return fmt("%.2fs", v / 1e9);
}

Reporter::Reporter(ReportInfo info, std::vector<const IntervalLog*> logs) : info_(std::move(info)), logs_(std::move(logs)) {}

void Reporter::merge_into(std::size_t i, Interval& out) const {
    out.c = Counters{};
    out.established = 0;
    out.latency.reset();
    bool first = true;
    for (const IntervalLog* l : logs_) {
        if (i >= l->published()) continue;
        const Interval& iv = l->at(i);
        if (first) {
            out.end = iv.end;
            out.length = iv.length;
            first = false;
        }
        out.c.add(iv.c);
        out.established += iv.established;
        out.latency.merge(iv.latency);
    }
}

std::string Reporter::line(Mode m, const Interval& iv) {
    const Counters& c = iv.c;
    if (m == Mode::Iperf) return iperf_line(secs(iv.end - iv.length), secs(iv.end), c.bytes_sent);
    std::string s = fmt("[%4.1fs]", secs(iv.end));
    switch (m) {
        case Mode::Bulk:
        case Mode::Iperf: {
            const std::uint64_t b = std::max(c.bytes_sent, c.bytes_received);
            s += fmt(" %.3f Gbit/s (%" PRIu64 " bytes)", gbits(b, iv.length), b);
            break;
        }
        case Mode::Hold: s += fmt(" %" PRIu64 " established", iv.established); break;
        case Mode::Crr:
            s += fmt(" %.0f conn/s", per_s(c.requests, iv.length));
            break;
        case Mode::Rr:
        case Mode::Http: s += fmt(" %.0f req/s", per_s(c.requests, iv.length)); break;
    }
    if (m == Mode::Rr || m == Mode::Crr || m == Mode::Http) {
        s += " p50 " + format_ns(iv.latency.percentile(50)) + " p99 " + format_ns(iv.latency.percentile(99));
    }
    if (m == Mode::Http) s += fmt(" 2xx %" PRIu64 " non-2xx %" PRIu64, c.http_2xx, c.http_non_2xx);
    if (c.errors > 0) s += fmt(" errors %" PRIu64, c.errors);
    return s;
}

std::string Reporter::iperf_line(double from, double to, std::uint64_t bytes) {
    const double mbytes = static_cast<double>(bytes) / (1024.0 * 1024.0);
    const double mbits = to > from ? static_cast<double>(bytes) * 8 / (to - from) / 1e6 : 0.0;
    return fmt("[  1] %.4f-%.4f sec  %.2f MBytes  %.2f Mbits/sec (%" PRIu64 " bytes)", from, to, mbytes, mbits, bytes);
}

std::optional<std::string> Reporter::next_line() {
    std::size_t ready = ~std::size_t{0};
    for (const IntervalLog* l : logs_) ready = std::min(ready, l->published());
    if (logs_.empty() || printed_ >= ready) return std::nullopt;
    merge_into(printed_, *tmp_);
    ++printed_;
    return line(info_.mode, *tmp_);
}

void Reporter::finish() {
    std::size_t most = 0;
    for (const IntervalLog* l : logs_) most = std::max(most, l->published());
    totals_ = Totals{};
    merged_.clear();
    merged_store_.clear();
    for (std::size_t i = 0; i < most; ++i) {
        auto iv = std::make_unique<Interval>();
        merge_into(i, *iv);
        totals_.c.add(iv->c);
        totals_.established_max = std::max(totals_.established_max, iv->established);
        totals_.measured += iv->length;
        totals_.latency->merge(iv->latency);
        merged_.push_back(iv.get());
        merged_store_.push_back(std::move(iv));
    }
}

std::string Reporter::summary() const {
    const Counters& c = totals_.c;
    const Duration d = totals_.measured;
    std::string s;
    if (info_.mode == Mode::Iperf) s = "[ ID] Interval       Transfer     Bandwidth\n" + iperf_line(0, secs(d), c.bytes_sent) + "\n";
    s += fmt("summary: %s %s, %u conns, %.1f s measured: ", std::string(to_string(info_.mode)).c_str(),
                        info_.backend.c_str(), info_.conns, secs(d));
    switch (info_.mode) {
        case Mode::Bulk:
        case Mode::Iperf: {
            const std::uint64_t b = bulk_bytes(info_, c);
            s += fmt("%" PRIu64 " bytes, %.3f Gbit/s", b, gbits(b, d));
            break;
        }
        case Mode::Hold: s += fmt("%" PRIu64 " established at most", totals_.established_max); break;
        case Mode::Crr: s += fmt("%" PRIu64 " connections, %.0f conn/s", c.requests, per_s(c.requests, d)); break;
        case Mode::Rr:
        case Mode::Http: s += fmt("%" PRIu64 " requests, %.0f req/s", c.requests, per_s(c.requests, d)); break;
    }
    if (info_.mode == Mode::Http) s += fmt(", 2xx %" PRIu64 ", non-2xx %" PRIu64, c.http_2xx, c.http_non_2xx);
    s += fmt(", errors %" PRIu64 "\n", c.errors);
    if (totals_.latency->count() > 0) {
        const Histogram& h = *totals_.latency;
        s += "latency: p50 " + format_ns(h.percentile(50)) + " p90 " + format_ns(h.percentile(90)) + " p99 " +
             format_ns(h.percentile(99)) + " p99.9 " + format_ns(h.percentile(99.9)) + " max " + format_ns(h.max()) +
             fmt(" (%" PRIu64 " samples)\n", h.count());
    }
    return s;
}

std::string Reporter::json(const std::string& extra) const {
    const Counters& c = totals_.c;
    const Duration d = totals_.measured;
    const Histogram& h = *totals_.latency;
    std::string s = "{\n";
    s += fmt("  \"mode\": \"%s\",\n  \"backend\": \"%s\",\n  \"connect\": \"%s\",\n", std::string(to_string(info_.mode)).c_str(),
             info_.backend.c_str(), info_.connect.c_str());
    s += fmt("  \"conns\": %u,\n  \"duration_s\": %.3f,\n  \"warmup_s\": %.3f,\n  \"measured_s\": %.6f,\n", info_.conns,
             secs(info_.spec.duration), secs(info_.spec.warmup), secs(d));
    s += fmt("  \"req_size\": %u,\n  \"resp_size\": %u,\n  \"depth\": %u,\n  \"direction\": \"%s\",\n", info_.w.req_size,
             info_.w.resp_size, info_.w.depth, info_.w.direction == Direction::Recv ? "recv" : "send");
    s += fmt("  \"requests\": %" PRIu64 ",\n  \"requests_per_s\": %.3f,\n", c.requests, per_s(c.requests, d));
    s += fmt("  \"connects\": %" PRIu64 ",\n  \"connects_per_s\": %.3f,\n", c.connects, per_s(c.connects, d));
    s += fmt("  \"bytes_sent\": %" PRIu64 ",\n  \"bytes_received\": %" PRIu64 ",\n", c.bytes_sent, c.bytes_received);
    s += fmt("  \"gbit_per_s\": %.6f,\n", gbits(bulk_bytes(info_, c), d));
    s += fmt("  \"errors\": %" PRIu64 ",\n  \"http_2xx\": %" PRIu64 ",\n  \"http_non_2xx\": %" PRIu64 ",\n", c.errors,
             c.http_2xx, c.http_non_2xx);
    s += fmt("  \"established_max\": %" PRIu64 ",\n", totals_.established_max);
    s += fmt("  \"latency_ns\": {\"count\": %" PRIu64 ", \"min\": %" PRIu64 ", \"mean\": %.1f, \"p50\": %" PRIu64
             ", \"p90\": %" PRIu64 ", \"p99\": %" PRIu64 ", \"p99_9\": %" PRIu64 ", \"max\": %" PRIu64 "},\n",
             h.count(), h.min(), h.mean(), h.percentile(50), h.percentile(90), h.percentile(99), h.percentile(99.9),
             h.max());
    if (!extra.empty()) s += "  " + extra + ",\n";
    s += "  \"intervals\": [";
    for (std::size_t i = 0; i < merged_.size(); ++i) {
        const Interval& iv = *merged_[i];
        s += fmt("%s\n    {\"end_s\": %.3f, \"requests\": %" PRIu64 ", \"connects\": %" PRIu64 ", \"bytes_sent\": %" PRIu64
                 ", \"bytes_received\": %" PRIu64 ", \"errors\": %" PRIu64 ", \"established\": %" PRIu64
                 ", \"p50_ns\": %" PRIu64 ", \"p99_ns\": %" PRIu64 "}",
                 i == 0 ? "" : ",", secs(iv.end), iv.c.requests, iv.c.connects, iv.c.bytes_sent, iv.c.bytes_received,
                 iv.c.errors, iv.established, iv.latency.percentile(50), iv.latency.percentile(99));
    }
    s += merged_.empty() ? "]\n}\n" : "\n  ]\n}\n";
    return s;
}

}  // namespace ustcp::perf
