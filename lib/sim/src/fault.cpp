#include "ustcp/sim/fault.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace ustcp::sim {

bool FaultSpec::active() const noexcept {
    return loss > 0 || burst > 0 || reorder > 0 || dup > 0 || corrupt > 0 || holds_frames();
}

bool FaultSpec::holds_frames() const noexcept {
    return delay > Duration::zero() || jitter > Duration::zero() || reorder > 0 || rate_bps > 0;
}

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

bool to_double(std::string_view s, double& out) {
    if (s.empty()) return false;
    const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
    return r.ec == std::errc{} && r.ptr == s.data() + s.size() && std::isfinite(out);
}

bool to_u64(std::string_view s, std::uint64_t& out) {
    if (s.empty()) return false;
    const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
    return r.ec == std::errc{} && r.ptr == s.data() + s.size();
}

/// Splits "12.5ms" into number "12.5" and unit "ms".
std::pair<std::string_view, std::string_view> number_unit(std::string_view v) {
    std::size_t i = 0;
    while (i < v.size() && (std::isdigit(static_cast<unsigned char>(v[i])) != 0 || v[i] == '.')) ++i;
    return {v.substr(0, i), v.substr(i)};
}

bool iequal(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

std::string bad(std::string_view item, std::string_view why) {
    std::string m = "fault spec: bad item '";
    m += item;
    m += "': ";
    m += why;
    return m;
}

bool percent(std::string_view v, double& out) {
    if (v.size() < 2 || v.back() != '%') return false;
    double p = 0;
    if (!to_double(v.substr(0, v.size() - 1), p) || p < 0 || p > 100) return false;
    out = p / 100.0;
    return true;
}

bool duration(std::string_view v, Duration& out) {
    const auto [num, unit] = number_unit(v);
    double x = 0;
    if (!to_double(num, x) || x < 0) return false;
    double ns = 0;
    if (unit == "ns") ns = x;
    else if (unit == "us") ns = x * 1e3;
    else if (unit == "ms") ns = x * 1e6;
    else if (unit == "s") ns = x * 1e9;
    else return false;
    if (ns > 3600e9) return false;  // an hour: beyond that it is a typo
    out = Duration::nanos(static_cast<std::int64_t>(std::llround(ns)));
    return true;
}

bool rate(std::string_view v, std::uint64_t& out) {
    const auto [num, unit] = number_unit(v);
    double x = 0;
    if (!to_double(num, x) || x <= 0) return false;
    double bps = 0;
    if (iequal(unit, "bit")) bps = x;
    else if (iequal(unit, "kbit")) bps = x * 1e3;
    else if (iequal(unit, "mbit")) bps = x * 1e6;
    else if (iequal(unit, "gbit")) bps = x * 1e9;
    else return false;
    if (bps < 1000 || bps > 1e12) return false;
    out = static_cast<std::uint64_t>(std::llround(bps));
    return true;
}

std::string fmt_percent(double p) {
    char b[32];
    std::snprintf(b, sizeof b, "%.6g%%", p * 100.0);
    return b;
}

std::string fmt_duration(Duration d) {
    const auto ns = d.as_nanos();
    char b[32];
    if (ns % 1'000'000 == 0) std::snprintf(b, sizeof b, "%lldms", static_cast<long long>(ns / 1'000'000));
    else if (ns % 1'000 == 0) std::snprintf(b, sizeof b, "%lldus", static_cast<long long>(ns / 1'000));
    else std::snprintf(b, sizeof b, "%lldns", static_cast<long long>(ns));
    return b;
}

}  // namespace

Result<FaultSpec, std::string> parse_fault_spec(std::string_view text) {
    FaultSpec s;
    bool queue_set = false;
    text = trim(text);
    while (!text.empty()) {
        const auto comma = text.find(',');
        const std::string_view item = trim(text.substr(0, comma));
        text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
        if (item.empty()) return Err(std::string("fault spec: empty item (two commas?); keys: ") + std::string(kFaultKeys));
        const auto eq = item.find('=');
        if (eq == std::string_view::npos) {
            return Err(bad(item, "expected key=value; keys: " + std::string(kFaultKeys)));
        }
        const std::string_view key = trim(item.substr(0, eq));
        const std::string_view val = trim(item.substr(eq + 1));
        double* prob = nullptr;
        if (key == "loss") prob = &s.loss;
        else if (key == "burst") prob = &s.burst;
        else if (key == "reorder") prob = &s.reorder;
        else if (key == "dup") prob = &s.dup;
        else if (key == "corrupt") prob = &s.corrupt;
        if (prob != nullptr) {
            if (!percent(val, *prob)) return Err(bad(item, "expected a percentage from 0% to 100%, e.g. 1% or 0.5%"));
            continue;
        }
        Duration* dur = nullptr;
        if (key == "delay") dur = &s.delay;
        else if (key == "jitter") dur = &s.jitter;
        else if (key == "reorder_delay") dur = &s.reorder_delay;
        else if (key == "burst_slot") dur = &s.burst_slot;
        if (dur != nullptr) {
            if (!duration(val, *dur)) return Err(bad(item, "expected a duration up to 1 hour with ns, us, ms or s, e.g. 2ms"));
            continue;
        }
        if (key == "rate") {
            if (!rate(val, s.rate_bps)) {
                return Err(bad(item, "expected a rate from 1kbit to 1000Gbit with bit, kbit, Mbit or Gbit, e.g. 100Mbit"));
            }
        } else if (key == "queue") {
            std::uint64_t q = 0;
            if (!to_u64(val, q) || q < 1 || q > 1'000'000) return Err(bad(item, "expected frames, 1 to 1000000"));
            s.queue = static_cast<std::uint32_t>(q);
            queue_set = true;
        } else if (key == "seed") {
            if (!to_u64(val, s.seed)) return Err(bad(item, "expected an unsigned integer"));
        } else if (key == "burst_len") {
            if (!to_double(val, s.burst_len) || s.burst_len < 1 || s.burst_len > 1e6) {
                return Err(bad(item, "expected the mean burst length in frames, 1 to 1000000"));
            }
        } else {
            return Err(bad(item, "unknown key '" + std::string(key) + "'; keys: " + std::string(kFaultKeys)));
        }
    }
    if (queue_set && s.rate_bps == 0) return Err(std::string("fault spec: 'queue' needs 'rate' (the queue is the bottleneck's)"));
    if (s.burst_slot <= Duration::zero()) return Err(std::string("fault spec: 'burst_slot' must be above 0"));
    if (s.burst >= 1) return Err(std::string("fault spec: 'burst' must be below 100% (a link that never recovers)"));
    return s;
}

std::string to_string(const FaultSpec& s) {
    const FaultSpec d;
    std::string out;
    auto add = [&](const char* k, const std::string& v) {
        if (!out.empty()) out += ',';
        out += k;
        out += '=';
        out += v;
    };
    if (s.loss != d.loss) add("loss", fmt_percent(s.loss));
    if (s.burst != d.burst) add("burst", fmt_percent(s.burst));
    if (s.burst_len != d.burst_len) {
        char b[32];
        std::snprintf(b, sizeof b, "%.6g", s.burst_len);
        add("burst_len", b);
    }
    if (s.burst_slot != d.burst_slot) add("burst_slot", fmt_duration(s.burst_slot));
    if (s.reorder != d.reorder) add("reorder", fmt_percent(s.reorder));
    if (s.reorder_delay != d.reorder_delay) add("reorder_delay", fmt_duration(s.reorder_delay));
    if (s.dup != d.dup) add("dup", fmt_percent(s.dup));
    if (s.corrupt != d.corrupt) add("corrupt", fmt_percent(s.corrupt));
    if (s.delay != d.delay) add("delay", fmt_duration(s.delay));
    if (s.jitter != d.jitter) add("jitter", fmt_duration(s.jitter));
    if (s.rate_bps != d.rate_bps) add("rate", std::to_string(s.rate_bps) + "bit");
    if (s.rate_bps != 0 && s.queue != d.queue) add("queue", std::to_string(s.queue));
    if (s.seed != d.seed) add("seed", std::to_string(s.seed));
    return out;
}

Result<PortFaults, std::string> parse_port_faults(std::string_view text) {
    PortFaults out;
    while (!text.empty()) {
        const auto semi = text.find(';');
        std::string_view part = text.substr(0, semi);
        text = semi == std::string_view::npos ? std::string_view{} : text.substr(semi + 1);
        while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
        bool rx = true, tx = true;
        std::string_view which = "both directions";
        if (part.substr(0, 3) == "rx:") {
            tx = false;
            which = "rx";
            part.remove_prefix(3);
        } else if (part.substr(0, 3) == "tx:") {
            rx = false;
            which = "tx";
            part.remove_prefix(3);
        }
        auto spec = parse_fault_spec(part);
        if (!spec) return Err("fault (" + std::string(which) + "): " + spec.error());
        if ((rx && out.rx) || (tx && out.tx)) {
            return Err("fault: " + std::string(which) + " given twice (write \"rx:SPEC;tx:SPEC\" for one of each)");
        }
        if (rx) out.rx = *spec;
        if (tx) {
            out.tx = *spec;
            if (rx) out.tx->seed = spec->seed + 1;  // the two directions' fates differ
        }
    }
    return out;
}

L4Range l4_range(const std::uint8_t* f, std::uint32_t len) noexcept {
    constexpr std::uint32_t kEth = 14;
    if (len < kEth + 20 || f[12] != 0x08 || f[13] != 0x00) return {};
    const std::uint32_t ihl = (f[kEth] & 0x0fu) * 4u;
    const std::uint32_t total = (static_cast<std::uint32_t>(f[kEth + 2]) << 8) | f[kEth + 3];
    if ((f[kEth] >> 4) != 4 || ihl < 20 || total < ihl || kEth + total > len) return {};
    L4Range r{kEth + ihl, kEth + total, kEth + total};
    if (f[kEth + 9] == 6) r.skip = r.begin + 12;  // TCP's data offset
    if (r.end - r.begin < 2) return {};
    return r;
}

FaultPath::FaultPath(const FaultSpec& spec) : spec_(spec), rng_(spec.seed) {
    if (spec_.burst > 0) {
        // A two-state chain: Bad loses every frame, Good none. Mean burst (time in Bad) is
        // burst_len frames, so P(Bad -> Good) = 1 / burst_len; the stationary share of Bad,
        // p / (p + r), is the long-run loss `burst`, so p = r * burst / (1 - burst).
        ge_bad_to_good_ = 1.0 / spec_.burst_len;
        ge_good_to_bad_ = ge_bad_to_good_ * spec_.burst / (1.0 - spec_.burst);
    }
}

double FaultPath::uniform() noexcept {
    return static_cast<double>(rng_() >> 11) * 0x1.0p-53;
}

std::size_t FaultPath::queued(Instant now) noexcept {
    while (!departures_.empty() && departures_.front() <= now) departures_.pop_front();
    return departures_.size();
}

unsigned FaultPath::admit(std::uint32_t len, const L4Range& l4, Instant now, Copy out[2]) noexcept {
    // The same seven draws for every frame, whatever its fate (see the header).
    const double u_loss = uniform();
    const double u_ge = uniform();
    const double u_dup = uniform();
    const double u_corrupt = uniform();
    const double u_where = uniform();
    const double u_reorder = uniform();
    const double u_jitter = uniform();
    ++counters_.frames;

    bool lost_burst = false;
    if (spec_.burst > 0) {
        // n steps of the chain at once: with pi = p / (p + r) and l = (1 - p - r)^n,
        // P(Bad after n | Bad) = pi + (1 - pi) l and P(Bad after n | Good) = pi - pi l.
        // n = 1 for back-to-back frames; idle time adds one step per burst_slot.
        const std::int64_t idle = counters_.frames == 1 ? 0 : (now - ge_last_).as_nanos();
        const double steps = 1.0 + static_cast<double>(std::max<std::int64_t>(idle, 0) / spec_.burst_slot.as_nanos());
        ge_last_ = now;
        const double p = ge_good_to_bad_, r = ge_bad_to_good_;
        const double pi = p / (p + r);
        const double l = std::pow(1.0 - p - r, steps);
        const double p_bad = ge_bad_ ? pi + (1 - pi) * l : pi - pi * l;
        ge_bad_ = u_ge < p_bad;
        lost_burst = ge_bad_;
    }
    if (u_loss < spec_.loss) {
        ++counters_.lost;
        return 0;
    }
    if (lost_burst) {
        ++counters_.burst_lost;
        return 0;
    }

    Instant leave = now;
    if (spec_.rate_bps > 0) {
        if (queued(now) >= spec_.queue) {
            ++counters_.queue_dropped;
            return 0;
        }
        const auto tx_ns = static_cast<std::int64_t>(static_cast<double>(len) * 8e9 / static_cast<double>(spec_.rate_bps));
        leave = std::max(now, busy_until_) + Duration::nanos(tx_ns);
        busy_until_ = leave;
        departures_.push_back(leave);
    }

    Instant at = leave + spec_.delay;
    if (spec_.jitter > Duration::zero()) {
        at += Duration::nanos(static_cast<std::int64_t>(u_jitter * static_cast<double>(spec_.jitter.as_nanos())));
    }
    if (u_reorder < spec_.reorder) {
        ++counters_.reordered;
        at += spec_.reorder_delay;  // not clamped: what comes after may overtake it
    } else {
        at = std::max(at, last_in_order_);
        last_in_order_ = at;
    }

    std::uint32_t bit = Copy::kNoFlip;
    if (u_corrupt < spec_.corrupt && l4.end > l4.begin) {
        const std::uint32_t span = l4.end - l4.begin - (l4.skip < l4.end ? 1u : 0u);
        std::uint32_t byte = l4.begin + std::min(span - 1, static_cast<std::uint32_t>(u_where * span));
        if (byte >= l4.skip) ++byte;
        bit = byte * 8 + static_cast<std::uint32_t>(u_where * span * 8) % 8;
    }

    const unsigned n = u_dup < spec_.dup ? 2u : 1u;
    for (unsigned i = 0; i < n; ++i) out[i] = Copy{at, bit};
    if (n == 2) ++counters_.duplicated;
    if (bit != Copy::kNoFlip) counters_.corrupted += n;
    counters_.delivered += n;
    return n;
}

}  // namespace ustcp::sim
