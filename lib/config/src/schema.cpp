#include "schema.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <limits>
#include <sstream>
#include <type_traits>
#include <utility>

#include "ustcp/sim/fault.hpp"

namespace ustcp::config::detail {

namespace {

using Kind = ConfigErrorKind;

constexpr std::string_view kDurationExpected = "an integer with a unit (e.g. 40ms, 1s; units ns, us, ms, s, min, h)";
constexpr std::string_view kSizeExpected =
    "a size in bytes (e.g. 262144, \"256KiB\", \"1MiB\"; units B, KiB, MiB, GiB)";
constexpr std::string_view kLcoresExpected = "lcore ids 0..127 as \"1\", \"1-3\" or \"1,3-5\", each once";
constexpr std::string_view kFaultExpected =
    "\"[rx:|tx:]SPEC[;rx:|tx:SPEC]\" with SPEC as \"loss=1%,reorder=2%,delay=2ms,...\" (keys: loss, burst, burst_len, "
    "burst_slot, reorder, reorder_delay, dup, corrupt, delay, jitter, rate, queue, seed), or \"\" for none";
constexpr std::string_view kListenExpected = "a list of TCP ports 1..65535, each once (e.g. [7, 9])";

// ---- Readers for the value types ----

Problem wrong(std::string what, std::string_view expected) {
    return Problem{Kind::WrongType, "is not " + std::move(what), std::string(expected)};
}
Problem bad(std::string problem, std::string_view expected) {
    return Problem{Kind::BadValue, std::move(problem), std::string(expected)};
}
Problem out_of_range(std::string_view expected) {
    return Problem{Kind::OutOfRange, "is out of range", std::string(expected)};
}

/// A whole decimal integer, optionally negative; nothing else.
std::optional<std::int64_t> parse_decimal(std::string_view s) {
    std::int64_t v = 0;
    if (s.empty() || s.front() == '+') return std::nullopt;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
    return v;
}

/// Leading digits of `s` as a non-negative number; `rest` is what follows. nullopt without digits or
/// on overflow.
std::optional<std::uint64_t> leading_digits(std::string_view s, std::string_view& rest) {
    std::size_t n = 0;
    while (n < s.size() && s[n] >= '0' && s[n] <= '9') ++n;
    if (n == 0) return std::nullopt;
    std::uint64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + n, v);
    if (ec != std::errc{}) return std::nullopt;
    rest = s.substr(n);
    return v;
}

Check read_integer(const toml::node& n, bool from_flag, std::int64_t& out, std::string_view expected) {
    if (const auto* v = n.as_integer()) {
        out = v->get();
        return std::nullopt;
    }
    if (const auto* s = n.as_string(); s && from_flag) {
        if (auto v = parse_decimal(s->get())) {
            out = *v;
            return std::nullopt;
        }
        return bad("is not an integer", expected);
    }
    return wrong("an integer", expected);
}

Check read_bool(const toml::node& n, bool from_flag, bool& out) {
    if (const auto* v = n.as_boolean()) {
        out = v->get();
        return std::nullopt;
    }
    if (const auto* s = n.as_string(); s && from_flag) {
        // A flag given alone (`--tcp.nodelay`) arrives as "".
        if (s->get() == "true" || s->get().empty()) {
            out = true;
            return std::nullopt;
        }
        if (s->get() == "false") {
            out = false;
            return std::nullopt;
        }
        return bad("is not a boolean", "true or false");
    }
    return wrong("a boolean", "true or false");
}

Check read_string(const toml::node& n, std::string& out, std::string_view expected) {
    if (const auto* s = n.as_string()) {
        out = s->get();
        return std::nullopt;
    }
    return wrong("a string", expected);
}

struct Unit {
    std::string_view name;
    std::int64_t scale;
};
constexpr std::array<Unit, 6> kTimeUnits{{
    {"h", 3'600'000'000'000},
    {"min", 60'000'000'000},
    {"s", 1'000'000'000},
    {"ms", 1'000'000},
    {"us", 1'000},
    {"ns", 1},
}};
constexpr std::array<Unit, 4> kSizeUnits{{
    {"GiB", std::int64_t{1} << 30},
    {"MiB", std::int64_t{1} << 20},
    {"KiB", std::int64_t{1} << 10},
    {"B", 1},
}};

/// "40ms": digits, then one unit of kTimeUnits; no sign, space or fraction.
std::optional<Duration> parse_duration(std::string_view s) {
    std::string_view unit;
    auto v = leading_digits(s, unit);
    if (!v) return std::nullopt;
    for (const Unit& u : kTimeUnits) {
        if (unit != u.name) continue;
        if (*v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max() / u.scale)) return std::nullopt;
        return Duration::nanos(static_cast<std::int64_t>(*v) * u.scale);
    }
    return std::nullopt;
}

/// "256KiB" or "262144": digits, then optionally one unit of kSizeUnits.
std::optional<std::uint64_t> parse_size(std::string_view s) {
    std::string_view unit;
    auto v = leading_digits(s, unit);
    if (!v) return std::nullopt;
    if (unit.empty()) return v;
    for (const Unit& u : kSizeUnits) {
        if (unit != u.name) continue;
        if (*v > std::numeric_limits<std::uint64_t>::max() / static_cast<std::uint64_t>(u.scale)) return std::nullopt;
        return *v * static_cast<std::uint64_t>(u.scale);
    }
    return std::nullopt;
}

/// "1-3,5" -> {1, 2, 3, 5}. Spaces around items are allowed.
Check parse_lcores(std::string_view s, std::vector<unsigned>& out) {
    std::vector<unsigned> ids;
    std::vector<bool> seen(kMaxLcores, false);
    auto add = [&](std::uint64_t id) -> Check {
        if (id >= kMaxLcores) {
            return Problem{Kind::OutOfRange, "names lcore " + std::to_string(id), std::string(kLcoresExpected)};
        }
        if (seen[id]) return bad("lists lcore " + std::to_string(id) + " twice", kLcoresExpected);
        seen[id] = true;
        ids.push_back(static_cast<unsigned>(id));
        return std::nullopt;
    };
    std::size_t start = 0;
    while (start <= s.size()) {
        std::size_t comma = s.find(',', start);
        std::string_view item = s.substr(start, comma == std::string_view::npos ? comma : comma - start);
        while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
        while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
        std::string_view rest;
        auto lo = leading_digits(item, rest);
        if (!lo) return bad("is not an lcore list", kLcoresExpected);
        std::uint64_t hi = *lo;
        if (!rest.empty()) {
            std::string_view tail;
            auto h = rest.front() == '-' ? leading_digits(rest.substr(1), tail) : std::nullopt;
            if (!h || !tail.empty() || *h < *lo) return bad("is not an lcore list", kLcoresExpected);
            hi = *h;
        }
        for (std::uint64_t id = *lo; id <= hi; ++id) {
            if (auto p = add(id)) return p;
        }
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    std::sort(ids.begin(), ids.end());
    out = std::move(ids);
    return std::nullopt;
}

/// "key=value[,key=value...]" as DPDK's kvargs takes it; a value may hold commas inside [...].
bool valid_kvargs(std::string_view s) {
    if (s.empty()) return false;
    int depth = 0;
    std::size_t item_start = 0;
    auto item_ok = [](std::string_view item) {
        std::size_t eq = item.find('=');
        if (eq == 0 || eq == std::string_view::npos || eq + 1 == item.size()) return false;
        for (char c : item.substr(0, eq)) {
            if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) return false;
        }
        return true;
    };
    for (std::size_t i = 0; i <= s.size(); ++i) {
        char c = i < s.size() ? s[i] : ',';
        if (c == '[') ++depth;
        if (c == ']' && --depth < 0) return false;
        if (c == ',' && depth == 0) {
            if (!item_ok(s.substr(item_start, i - item_start))) return false;
            item_start = i + 1;
        }
    }
    return depth == 0;
}

constexpr std::string_view kVdevExpected =
    "a virtual ethdev \"net_<driver><n>[,key=value...]\" (e.g. \"net_tap0,iface=ustcp0\")";
constexpr std::string_view kPciExpected = "a PCI address \"dddd:bb:dd.f\" (e.g. \"0000:01:00.0\")";
constexpr std::string_view kDevargsExpected = "driver arguments \"key=value[,key=value...]\"";
constexpr std::string_view kPrefixExpected = "an address with a prefix (e.g. \"198.18.0.2/24\")";
constexpr std::string_view kExtraIpsExpected =
    "a range \"A.B.C.D-A.B.C.E\" of at most 4096 unicast addresses (e.g. \"198.18.0.10-198.18.0.200\"), or \"\"";
constexpr std::string_view kMacExpected = "a unicast MAC address (e.g. \"02:00:00:00:00:01\")";
constexpr std::string_view kNameExpected = "1 to 32 letters, digits, '_' or '-'";

bool valid_vdev(std::string_view s) {
    std::size_t comma = s.find(',');
    std::string_view name = s.substr(0, comma);
    if (name.size() <= 4 || name.substr(0, 4) != "net_") return false;
    for (char c : name) {
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
    }
    return comma == std::string_view::npos || valid_kvargs(s.substr(comma + 1));
}

/// "0000:01:00.0" or "01:00.0" -> "0000:01:00.0" (lower case); nullopt if not a PCI address.
std::optional<std::string> normalise_pci(std::string_view s) {
    auto hex = [](std::string_view h, std::size_t max_digits, unsigned max_value) -> std::optional<unsigned> {
        if (h.empty() || h.size() > max_digits) return std::nullopt;
        unsigned v = 0;
        auto [p, ec] = std::from_chars(h.data(), h.data() + h.size(), v, 16);
        if (ec != std::errc{} || p != h.data() + h.size() || v > max_value) return std::nullopt;
        return v;
    };
    unsigned domain = 0;
    std::size_t c1 = s.find(':');
    if (c1 == std::string_view::npos) return std::nullopt;
    std::string_view rest = s;
    if (s.find(':', c1 + 1) != std::string_view::npos) {
        auto d = hex(s.substr(0, c1), 4, 0xffff);
        if (!d) return std::nullopt;
        domain = *d;
        rest = s.substr(c1 + 1);
    }
    std::size_t c2 = rest.find(':');
    std::size_t dot = rest.find('.');
    if (c2 == std::string_view::npos || dot == std::string_view::npos || dot < c2) return std::nullopt;
    auto bus = hex(rest.substr(0, c2), 2, 0xff);
    auto dev = hex(rest.substr(c2 + 1, dot - c2 - 1), 2, 0x1f);
    auto fn = hex(rest.substr(dot + 1), 1, 7);
    if (!bus || !dev || !fn) return std::nullopt;
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04x:%02x:%02x.%x", domain, *bus, *dev, *fn);
    return std::string(buf);
}

/// Why `a` cannot be a host's address, or nullptr.
const char* not_unicast(Ipv4Addr a) {
    std::uint32_t v = a.value();
    if (v >> 24 == 0) return "is in 0.0.0.0/8 (\"this network\")";
    if (v >> 24 == 127) return "is a loopback address";
    if (v >> 28 == 0xe) return "is a multicast address";
    if (v >> 28 == 0xf) return "is a reserved or broadcast address";
    return nullptr;
}

std::string join_choices(const std::vector<std::string_view>& names) {
    std::string s;
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (i > 0) s += i + 1 == names.size() ? " or " : ", ";
        s += names[i];
    }
    return s;
}

// ---- Key factories. `ref` is a generic lambda `[](auto& c) -> auto& { return c.field; }`, so that
// the same lambda reads from a const target and writes to a mutable one. ----

template <class Target, class Ref>
KeyDef<Target> int_key(std::string name, std::string help, std::int64_t lo, std::int64_t hi, Ref ref) {
    KeyDef<Target> k{std::move(name), std::move(help), "", false, {}, {}};
    const std::string range = std::to_string(lo) + ".." + std::to_string(hi);
    k.expected = "an integer " + range;
    k.set = [lo, hi, ref, range, expected = k.expected](Target& t, const toml::node& n, bool flag) -> Check {
        std::int64_t v = 0;
        if (auto p = read_integer(n, flag, v, expected)) return p;
        if (v < lo || v > hi) return out_of_range(range);
        using T = std::remove_cvref_t<decltype(ref(t))>;
        ref(t) = static_cast<T>(v);
        return std::nullopt;
    };
    k.get = [ref](const Target& t) -> std::optional<std::string> { return std::to_string(ref(t)); };
    return k;
}

template <class Target, class Ref>
KeyDef<Target> bool_key(std::string name, std::string help, Ref ref) {
    KeyDef<Target> k{std::move(name), std::move(help), "true or false", true, {}, {}};
    k.set = [ref](Target& t, const toml::node& n, bool flag) -> Check {
        bool v = false;
        if (auto p = read_bool(n, flag, v)) return p;
        ref(t) = v;
        return std::nullopt;
    };
    k.get = [ref](const Target& t) -> std::optional<std::string> { return ref(t) ? "true" : "false"; };
    return k;
}

/// `hi_exclusive`: the value must be below `hi` (a MUST of an RFC).
template <class Target, class Ref>
KeyDef<Target> duration_key(std::string name, std::string help, Duration lo, Duration hi, bool hi_exclusive, Ref ref) {
    KeyDef<Target> k{std::move(name), std::move(help), std::string(kDurationExpected), false, {}, {}};
    const std::string range = hi_exclusive
        ? format_duration(lo) + " up to (not including) " + format_duration(hi)
        : format_duration(lo) + ".." + format_duration(hi);
    k.set = [lo, hi, hi_exclusive, range, ref](Target& t, const toml::node& n, bool) -> Check {
        const auto* s = n.as_string();
        if (s == nullptr) return wrong("a duration", kDurationExpected);
        auto d = parse_duration(s->get());
        if (!d) return bad("is not a duration", kDurationExpected);
        if (*d < lo || *d > hi || (hi_exclusive && *d == hi)) return out_of_range(range);
        ref(t) = *d;
        return std::nullopt;
    };
    k.get = [ref](const Target& t) -> std::optional<std::string> { return quote(format_duration(ref(t))); };
    return k;
}

template <class Target, class Ref>
KeyDef<Target> size_key(std::string name, std::string help, std::uint64_t lo, std::uint64_t hi, Ref ref) {
    KeyDef<Target> k{std::move(name), std::move(help), std::string(kSizeExpected), false, {}, {}};
    const std::string range = format_size(lo) + ".." + format_size(hi);
    k.set = [lo, hi, range, ref](Target& t, const toml::node& n, bool) -> Check {
        std::optional<std::uint64_t> v;
        if (const auto* i = n.as_integer()) {
            if (i->get() < 0) return out_of_range(range);
            v = static_cast<std::uint64_t>(i->get());
        } else if (const auto* s = n.as_string()) {
            v = parse_size(s->get());
            if (!v) return bad("is not a size", kSizeExpected);
        } else {
            return wrong("a size", kSizeExpected);
        }
        if (*v < lo || *v > hi) return out_of_range(range);
        using T = std::remove_cvref_t<decltype(ref(t))>;
        ref(t) = static_cast<T>(*v);
        return std::nullopt;
    };
    k.get = [ref](const Target& t) -> std::optional<std::string> {
        const std::uint64_t v = ref(t);
        return v != 0 && v % 1024 == 0 ? quote(format_size(v)) : std::to_string(v);  // "256KiB" or 1500
    };
    return k;
}

template <class E>
struct Choice {
    std::string_view name;
    E value;
};

/// An enumeration written as one of `choices`. `allow_bool`: true/false stand for "on"/"off".
template <class Target, class E, class Ref>
KeyDef<Target> choice_key(std::string name, std::string help, std::vector<Choice<E>> choices, Ref ref,
                          bool allow_bool = false) {
    std::vector<std::string_view> names;
    for (const auto& c : choices) names.push_back(c.name);
    KeyDef<Target> k{std::move(name), std::move(help), join_choices(names), false, {}, {}};
    k.set = [choices, ref, allow_bool, expected = k.expected](Target& t, const toml::node& n, bool) -> Check {
        std::string_view s;
        if (const auto* str = n.as_string()) {
            s = str->get();
        } else if (const auto* b = n.as_boolean(); b && allow_bool) {
            s = b->get() ? "on" : "off";
        } else {
            return wrong("a string", expected);
        }
        for (const auto& c : choices) {
            if (c.name == s) {
                ref(t) = c.value;
                return std::nullopt;
            }
        }
        return bad("is not one of the accepted values", expected);
    };
    k.get = [choices, ref](const Target& t) -> std::optional<std::string> {
        for (const auto& c : choices) {
            if (c.value == ref(t)) return quote(c.name);
        }
        return std::nullopt;
    };
    return k;
}

template <class Target>
KeyDef<Target> toggle_key(std::string name, std::string help, Toggle Target::*member) {
    return choice_key<Target, Toggle>(std::move(name), std::move(help),
                                      {{"auto", Toggle::Auto}, {"on", Toggle::On}, {"off", Toggle::Off}},
                                      [member](auto& p) -> auto& { return p.*member; }, true);
}

/// A key whose reader and writer are written out in full.
template <class Target>
KeyDef<Target> custom_key(std::string name, std::string help, std::string_view expected,
                          std::function<Check(Target&, const toml::node&, bool)> set,
                          std::function<std::optional<std::string>(const Target&)> get) {
    return KeyDef<Target>{std::move(name), std::move(help), std::string(expected), false, std::move(set),
                          std::move(get)};
}

std::vector<KeyDef<StackConfig>> make_stack_keys() {
    using S = StackConfig;
    const Duration ms = Duration::millis(1);
    const Duration sec = Duration::seconds(1);
    const Duration ten_min = Duration::seconds(600);
    const std::uint64_t kib = 1024;
    std::vector<KeyDef<S>> keys;

    // ---- top level ----
    keys.push_back(custom_key<S>(
        "lcores", "worker lcores; each owns queue q of every port", kLcoresExpected,
        [](S& c, const toml::node& n, bool) -> Check {
            if (const auto* i = n.as_integer()) {
                if (i->get() < 0 || i->get() >= static_cast<std::int64_t>(kMaxLcores)) {
                    return Problem{Kind::OutOfRange, "names lcore " + std::to_string(i->get()),
                                   std::string(kLcoresExpected)};
                }
                c.lcores = {static_cast<unsigned>(i->get())};
                return std::nullopt;
            }
            const auto* str = n.as_string();
            if (str == nullptr) return wrong("an lcore list", kLcoresExpected);
            return parse_lcores(str->get(), c.lcores);
        },
        [](const S& c) -> std::optional<std::string> { return quote(format_lcores(c.lcores)); }));
    keys.push_back(int_key<S>("burst", "RX/TX burst size", 1, 512, [](auto& c) -> auto& { return c.burst; }));
    keys.push_back(duration_key<S>("shutdown_timeout", "graceful close on SIGINT/SIGTERM before the rest are reset",
                                   Duration::zero(), ten_min, false, [](auto& c) -> auto& { return c.shutdown_timeout; }));
    keys.push_back(custom_key<S>(
        "pcap", "pcapng file of every frame received and sent; \"\": off", "a file path, or \"\" for no capture",
        [](S& c, const toml::node& n, bool) -> Check {
            constexpr std::string_view expected = "a file path, or \"\" for no capture";
            std::string v;
            if (auto e = read_string(n, v, expected)) return e;
            if (v.find('\0') != std::string::npos) return bad("holds a NUL character", expected);
            c.pcap = std::move(v);
            return std::nullopt;
        },
        [](const S& c) -> std::optional<std::string> { return quote(c.pcap); }));
    keys.push_back(custom_key<S>(
        "fault", "seeded faults on every port's RX/TX for experiments (\"rx:loss=2%\"); \"\": none", kFaultExpected,
        [](S& c, const toml::node& n, bool) -> Check {
            std::string v;
            if (auto e = read_string(n, v, kFaultExpected)) return e;
            if (auto f = sim::parse_port_faults(v); !f) return bad("is not a fault spec (" + f.error() + ")", kFaultExpected);
            c.fault = std::move(v);
            return std::nullopt;
        },
        [](const S& c) -> std::optional<std::string> { return quote(c.fault); }));

    // ---- [mempool] ----
    keys.push_back(int_key<S>("mempool.mbufs_per_lcore", "mbufs in each lcore's pool", 511, 16'777'215,
                              [](auto& c) -> auto& { return c.mempool.mbufs_per_lcore; }));
    keys.push_back(int_key<S>("mempool.cache", "per-lcore cache of the pool", 0, 512,
                              [](auto& c) -> auto& { return c.mempool.cache; }));
    keys.push_back(int_key<S>("mempool.data_room", "mbuf data room in bytes, headroom included", 256, 65535,
                              [](auto& c) -> auto& { return c.mempool.data_room; }));

    // ---- [tcp]: tcp::Config, field by field ----
    keys.push_back(int_key<S>("tcp.mss", "our MSS option (default: smallest port mtu - 40)", 88, 8960,
                              [](auto& c) -> auto& { return c.tcp.mss; }));
    keys.push_back(int_key<S>("tcp.default_peer_mss", "peer MSS assumed when its SYN has none", 88, 8960,
                              [](auto& c) -> auto& { return c.tcp.default_peer_mss; }));
    keys.push_back(bool_key<S>("tcp.window_scaling", "RFC 7323 window scaling",
                               [](auto& c) -> auto& { return c.tcp.window_scaling; }));
    keys.push_back(bool_key<S>("tcp.timestamps", "RFC 7323 timestamps",
                               [](auto& c) -> auto& { return c.tcp.timestamps; }));
    keys.push_back(bool_key<S>("tcp.sack", "RFC 2018 SACK", [](auto& c) -> auto& { return c.tcp.sack; }));
    keys.push_back(bool_key<S>("tcp.rack", "RFC 8985 RACK-TLP loss detection and tail-loss probes (with SACK)",
                               [](auto& c) -> auto& { return c.tcp.rack; }));
    keys.push_back(size_key<S>("tcp.send_buffer", "send buffer per connection", 4 * kib, kib * kib * kib,
                               [](auto& c) -> auto& { return c.tcp.send_buffer; }));
    keys.push_back(size_key<S>("tcp.recv_buffer", "receive buffer per connection (sets the window scale)", 4 * kib,
                               kib * kib * kib, [](auto& c) -> auto& { return c.tcp.recv_buffer; }));
    keys.push_back(duration_key<S>("tcp.msl", "maximum segment lifetime; TIME-WAIT lasts 2 * msl", ms, ten_min, false,
                                   [](auto& c) -> auto& { return c.tcp.msl; }));
    keys.push_back(duration_key<S>("tcp.rto_initial", "RTO before any RTT sample (RFC 6298)", ms, ten_min, false,
                                   [](auto& c) -> auto& { return c.tcp.rto_initial; }));
    keys.push_back(duration_key<S>("tcp.rto_min", "lower bound of the RTO", ms, ten_min, false,
                                   [](auto& c) -> auto& { return c.tcp.rto_min; }));
    keys.push_back(duration_key<S>("tcp.rto_max", "upper bound of the RTO", ms, ten_min, false,
                                   [](auto& c) -> auto& { return c.tcp.rto_max; }));
    keys.push_back(int_key<S>("tcp.syn_retries", "SYN retransmissions before ETIMEDOUT", 1, 127,
                              [](auto& c) -> auto& { return c.tcp.syn_retries; }));
    keys.push_back(int_key<S>("tcp.synack_retries", "SYN-ACK retransmissions before giving up", 1, 255,
                              [](auto& c) -> auto& { return c.tcp.synack_retries; }));
    keys.push_back(int_key<S>("tcp.data_retries", "data/FIN retransmissions before ETIMEDOUT", 1, 255,
                              [](auto& c) -> auto& { return c.tcp.data_retries; }));
    keys.push_back(duration_key<S>("tcp.user_timeout", "abort when data stays unacknowledged this long; 0s: off",
                                   Duration::zero(), Duration::seconds(86400), false,
                                   [](auto& c) -> auto& { return c.tcp.user_timeout; }));
    keys.push_back(duration_key<S>("tcp.delayed_ack", "longest an ACK waits; 0s: ACK every segment",
                                   Duration::zero(), Duration::millis(500), true,
                                   [](auto& c) -> auto& { return c.tcp.delayed_ack; }));
    keys.push_back(int_key<S>("tcp.quickack", "first data segments acknowledged at once", 0, 255,
                              [](auto& c) -> auto& { return c.tcp.quickack; }));
    keys.push_back(bool_key<S>("tcp.nodelay", "TCP_NODELAY by default (Nagle off)",
                               [](auto& c) -> auto& { return c.tcp.nodelay; }));
    keys.push_back(duration_key<S>("tcp.persist_max", "longest interval between zero-window probes", ms, ten_min, false,
                                   [](auto& c) -> auto& { return c.tcp.persist_max; }));
    keys.push_back(bool_key<S>("tcp.keepalive", "keepalive probes by default",
                               [](auto& c) -> auto& { return c.tcp.keepalive; }));
    keys.push_back(duration_key<S>("tcp.keepalive_idle", "idle time before the first probe", sec,
                                   Duration::seconds(32767), false,
                                   [](auto& c) -> auto& { return c.tcp.keepalive_idle; }));
    keys.push_back(duration_key<S>("tcp.keepalive_interval", "time between probes", sec, Duration::seconds(32767),
                                   false, [](auto& c) -> auto& { return c.tcp.keepalive_interval; }));
    keys.push_back(int_key<S>("tcp.keepalive_count", "unanswered probes before ETIMEDOUT", 1, 127,
                              [](auto& c) -> auto& { return c.tcp.keepalive_count; }));
    keys.push_back(choice_key<S, tcp::cc::Algorithm>("tcp.congestion_control", "congestion control of new connections",
                                                    {{"newreno", tcp::cc::Algorithm::NewReno}, {"cubic", tcp::cc::Algorithm::Cubic}},
                                                    [](auto& c) -> auto& { return c.tcp.cc.algorithm; }));
    keys.push_back(bool_key<S>("tcp.rfc5961", "RFC 5961 RST/SYN/ACK hardening",
                               [](auto& c) -> auto& { return c.tcp.rfc5961; }));
    keys.push_back(int_key<S>("tcp.challenge_acks_per_conn_per_sec", "challenge ACK limit per connection", 0, 65535,
                              [](auto& c) -> auto& { return c.tcp.challenge_acks_per_conn_per_sec; }));
    keys.push_back(int_key<S>("tcp.challenge_acks_per_engine_per_sec", "challenge ACK limit per lcore", 0, 1'000'000,
                              [](auto& c) -> auto& { return c.tcp.challenge_acks_per_engine_per_sec; }));
    keys.push_back(choice_key<S, tcp::SynCookieMode>(
        "tcp.syn_cookies", "SYN cookies",
        {{"off", tcp::SynCookieMode::Off}, {"on-overflow", tcp::SynCookieMode::OnOverflow},
         {"always", tcp::SynCookieMode::Always}},
        [](auto& c) -> auto& { return c.tcp.syn_cookies; }));
    keys.push_back(choice_key<S, tcp::AcceptOverflow>(
        "tcp.accept_overflow", "a full accept queue drops the final ACK or resets",
        {{"drop", tcp::AcceptOverflow::Drop}, {"reset", tcp::AcceptOverflow::Reset}},
        [](auto& c) -> auto& { return c.tcp.accept_overflow; }));
    keys.push_back(int_key<S>("tcp.syn_backlog", "SYN-RECEIVED connections per listener and lcore", 1, 1 << 20,
                              [](auto& c) -> auto& { return c.backlog.syn; }));
    keys.push_back(int_key<S>("tcp.accept_backlog", "connections waiting in accept() per listener and lcore", 1,
                              1 << 20, [](auto& c) -> auto& { return c.backlog.accept; }));
    keys.push_back(int_key<S>("tcp.max_connections",
                              "connections each lcore's engine holds per port (its pool; about 1 KiB each when used)",
                              1, 1 << 24, [](auto& c) -> auto& { return c.max_connections; }));
    keys.push_back(int_key<S>("tcp.fixed_iss", "ISS of every connection, for replaying captures and tests; 0: RFC 6528",
                              0, 4'294'967'295, [](auto& c) -> auto& { return c.tcp.fixed_iss; }));

    // ---- [tcp.newreno]: cc::NewRenoConfig ----
    using NR = tcp::cc::NewRenoConfig;
    keys.push_back(int_key<S>("tcp.newreno.abc_limit_segments", "RFC 3465's L in SMSS", 1, 255,
                              [](auto& c) -> auto& { return c.tcp.cc.newreno.abc_limit_segments; }));
    keys.push_back(choice_key<S, NR::CaGrowth>(
        "tcp.newreno.ca_growth", "congestion avoidance growth",
        {{"byte-counting", NR::CaGrowth::ByteCounting}, {"per-ack", NR::CaGrowth::PerAck}},
        [](auto& c) -> auto& { return c.tcp.cc.newreno.ca_growth; }));
    keys.push_back(choice_key<S, NR::RecoveryExit>(
        "tcp.newreno.recovery_exit", "cwnd on leaving fast recovery (RFC 6582 3.2 step 3)",
        {{"flight-size", NR::RecoveryExit::FlightSize}, {"ssthresh", NR::RecoveryExit::Ssthresh}},
        [](auto& c) -> auto& { return c.tcp.cc.newreno.recovery_exit; }));

    // ---- [app] ----
    keys.push_back(choice_key<S, AppKind>(
        "app.name", "what ustcp-server serves",
        {{"echo", AppKind::Echo}, {"discard", AppKind::Discard}, {"iperf", AppKind::Iperf}, {"iperf3", AppKind::Iperf3},
         {"http", AppKind::Http}, {"welcome", AppKind::Welcome}, {"print", AppKind::Print},
         {"perf", AppKind::Perf}},
        [](auto& c) -> auto& { return c.app.name; }));
    keys.push_back(custom_key<S>(
        "app.listen", "TCP ports to listen on (default: the app's port)", kListenExpected,
        [](S& c, const toml::node& n, bool flag) -> Check {
            std::vector<std::int64_t> raw;
            if (const auto* i = n.as_integer()) {
                raw.push_back(i->get());
            } else if (const auto* a = n.as_array()) {
                for (const auto& e : *a) {
                    const auto* i2 = e.as_integer();
                    if (i2 == nullptr) return wrong("a list of integers", kListenExpected);
                    raw.push_back(i2->get());
                }
            } else if (const auto* str = n.as_string(); str && flag) {
                std::string_view t = str->get();
                for (std::size_t start = 0;;) {
                    std::size_t comma = t.find(',', start);
                    auto v = parse_decimal(t.substr(start, comma == std::string_view::npos ? comma : comma - start));
                    if (!v) return bad("is not a list of ports", kListenExpected);
                    raw.push_back(*v);
                    if (comma == std::string_view::npos) break;
                    start = comma + 1;
                }
            } else {
                return wrong("a list of integers", kListenExpected);
            }
            if (raw.empty()) return bad("is empty", kListenExpected);
            std::vector<std::uint16_t> ports;
            for (std::int64_t p : raw) {
                if (p < 1 || p > 65535) {
                    return Problem{Kind::OutOfRange, "names port " + std::to_string(p), std::string(kListenExpected)};
                }
                if (std::find(ports.begin(), ports.end(), p) != ports.end()) {
                    return bad("lists port " + std::to_string(p) + " twice", kListenExpected);
                }
                ports.push_back(static_cast<std::uint16_t>(p));
            }
            c.app.listen = std::move(ports);
            return std::nullopt;
        },
        [](const S& c) -> std::optional<std::string> {
            std::string s = "[";
            for (std::size_t i = 0; i < c.app.listen.size(); ++i) {
                s += (i ? ", " : "") + std::to_string(c.app.listen[i]);
            }
            return s + "]";
        }));
    keys.push_back(size_key<S>("app.http_max_bytes", "http: the largest N of GET /bytes/N", 0, kib * kib * kib * kib,
                               [](auto& c) -> auto& { return c.app.http_max_bytes; }));
    keys.push_back(duration_key<S>("app.http_idle_timeout", "http: idle connections are closed after this long",
                                   Duration::millis(1), Duration::seconds(3600), false,
                                   [](auto& c) -> auto& { return c.app.http_idle_timeout; }));
    keys.push_back(duration_key<S>("app.iperf3_idle_timeout",
                                   "iperf3: a test whose control connection is silent this long is ended",
                                   Duration::millis(100), Duration::seconds(3600), false,
                                   [](auto& c) -> auto& { return c.app.iperf3_idle_timeout; }));
    keys.push_back(size_key<S>("app.http_max_request", "http: request head (414/431) and body (413) limit", 256,
                               kib * kib, [](auto& c) -> auto& { return c.app.http_max_request; }));
    return keys;
}

std::vector<KeyDef<PortConfig>> make_port_keys() {
    using P = PortConfig;
    std::vector<KeyDef<P>> keys;
    keys.push_back(custom_key<P>(
        "name", "a unique name for the port", kNameExpected,
        [](P& p, const toml::node& n, bool) -> Check {
            std::string v;
            if (auto e = read_string(n, v, kNameExpected)) return e;
            bool ok = !v.empty() && v.size() <= 32 && std::all_of(v.begin(), v.end(), [](char c) {
                return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
            });
            if (!ok) return bad("is not a port name", kNameExpected);
            p.name = std::move(v);
            return std::nullopt;
        },
        [](const P& p) -> std::optional<std::string> { return quote(p.name); }));
    keys.push_back(custom_key<P>(
        "vdev", "a virtual ethdev and its arguments", kVdevExpected,
        [](P& p, const toml::node& n, bool) -> Check {
            std::string v;
            if (auto e = read_string(n, v, kVdevExpected)) return e;
            if (!valid_vdev(v)) return bad("is not a virtual ethdev", kVdevExpected);
            p.kind = DeviceKind::Vdev;
            p.device = std::move(v);
            return std::nullopt;
        },
        [](const P& p) -> std::optional<std::string> {
            if (p.kind != DeviceKind::Vdev || p.device.empty()) return std::nullopt;
            return quote(p.device);
        }));
    keys.push_back(custom_key<P>(
        "pci", "a PCI device", kPciExpected,
        [](P& p, const toml::node& n, bool) -> Check {
            std::string v;
            if (auto e = read_string(n, v, kPciExpected)) return e;
            auto norm = normalise_pci(v);
            if (!norm) return bad("is not a PCI address", kPciExpected);
            p.kind = DeviceKind::Pci;
            p.device = std::move(*norm);
            return std::nullopt;
        },
        [](const P& p) -> std::optional<std::string> {
            if (p.kind != DeviceKind::Pci || p.device.empty()) return std::nullopt;
            return quote(p.device);
        }));
    keys.push_back(custom_key<P>(
        "devargs", "extra driver arguments appended to the device", kDevargsExpected,
        [](P& p, const toml::node& n, bool) -> Check {
            std::string v;
            if (auto e = read_string(n, v, kDevargsExpected)) return e;
            if (!v.empty() && !valid_kvargs(v)) return bad("is not a list of driver arguments", kDevargsExpected);
            p.devargs = std::move(v);
            return std::nullopt;
        },
        [](const P& p) -> std::optional<std::string> {
            if (p.devargs.empty()) return std::nullopt;
            return quote(p.devargs);
        }));
    keys.push_back(custom_key<P>(
        "ip", "address and prefix of the port", kPrefixExpected,
        [](P& p, const toml::node& n, bool) -> Check {
            std::string v;
            if (auto e = read_string(n, v, kPrefixExpected)) return e;
            auto pre = Ipv4Prefix::parse(v);
            if (!pre) return bad("is not an address with a prefix", kPrefixExpected);
            if (const char* why = not_unicast(pre->addr)) return bad(why, "a unicast host address with a prefix");
            if (pre->len <= 30) {
                const std::string hosts = "a host address of the prefix (" +
                                          Ipv4Addr(pre->network().value() + 1).to_string() + ".." +
                                          Ipv4Addr(pre->broadcast().value() - 1).to_string() + ")";
                if (pre->addr == pre->network()) return bad("is the network address of its prefix", hosts);
                if (pre->addr == pre->broadcast()) return bad("is the broadcast address of its prefix", hosts);
            }
            p.ip = *pre;
            return std::nullopt;
        },
        [](const P& p) -> std::optional<std::string> {
            if (p.ip.len == 0) return std::nullopt;
            return quote(p.ip.to_string());
        }));
    keys.push_back(custom_key<P>(
        "gateway", "next hop outside the prefix", "an IPv4 address inside the port's prefix (e.g. \"198.18.0.1\")",
        [](P& p, const toml::node& n, bool) -> Check {
            constexpr std::string_view expected = "an IPv4 address inside the port's prefix (e.g. \"198.18.0.1\")";
            std::string v;
            if (auto e = read_string(n, v, expected)) return e;
            auto a = Ipv4Addr::parse(v);
            if (!a) return bad("is not an IPv4 address", expected);
            if (const char* why = not_unicast(*a)) return bad(why, "a unicast address inside the port's prefix");
            p.gateway = *a;
            return std::nullopt;
        },
        [](const P& p) -> std::optional<std::string> {
            if (!p.gateway) return std::nullopt;
            return quote(p.gateway->to_string());
        }));
    keys.push_back(custom_key<P>(
        "extra_ips", "secondary addresses of the port, a range inside its prefix; \"\": none", kExtraIpsExpected,
        [](P& p, const toml::node& n, bool) -> Check {
            std::string v;
            if (auto e = read_string(n, v, kExtraIpsExpected)) return e;
            if (v.empty()) {
                p.extra_first = Ipv4Addr{};
                p.extra_count = 0;
                return std::nullopt;
            }
            const auto dash = v.find('-');
            auto lo = dash == std::string::npos ? std::nullopt : Ipv4Addr::parse(v.substr(0, dash));
            auto hi = dash == std::string::npos ? std::nullopt : Ipv4Addr::parse(v.substr(dash + 1));
            if (!lo || !hi) return bad("is not a range of IPv4 addresses", kExtraIpsExpected);
            if (hi->value() < lo->value()) return bad("ends before it starts", kExtraIpsExpected);
            if (hi->value() - lo->value() >= 4096) return bad("holds more than 4096 addresses", kExtraIpsExpected);
            if (const char* why = not_unicast(*lo)) return bad(why, kExtraIpsExpected);
            if (const char* why = not_unicast(*hi)) return bad(why, kExtraIpsExpected);
            p.extra_first = *lo;
            p.extra_count = hi->value() - lo->value() + 1;
            return std::nullopt;
        },
        [](const P& p) -> std::optional<std::string> {
            if (p.extra_count == 0) return std::nullopt;
            return quote(p.extra_first.to_string() + "-" + Ipv4Addr(p.extra_first.value() + p.extra_count - 1).to_string());
        }));
    keys.push_back(custom_key<P>(
        "mac", "replaces the port's MAC address", kMacExpected,
        [](P& p, const toml::node& n, bool) -> Check {
            std::string v;
            if (auto e = read_string(n, v, kMacExpected)) return e;
            auto m = MacAddr::parse(v);
            if (!m) return bad("is not a MAC address", kMacExpected);
            if (m->is_zero() || (m->bytes()[0] & 1) != 0) return bad("is not a unicast MAC address", kMacExpected);
            p.mac = *m;
            return std::nullopt;
        },
        [](const P& p) -> std::optional<std::string> {
            if (!p.mac) return std::nullopt;
            return quote(p.mac->to_string());
        }));
    keys.push_back(int_key<P>("mtu", "IPv4 MTU", 68, 9000, [](auto& p) -> auto& { return p.mtu; }));
    keys.push_back(int_key<P>("rx_queues", "RX queues (default: one per lcore, 1 without RSS)", 1, kMaxLcores,
                              [](auto& p) -> auto& { return p.rx_queues; }));
    keys.push_back(int_key<P>("tx_queues", "TX queues (default: one per lcore)", 1, kMaxLcores,
                              [](auto& p) -> auto& { return p.tx_queues; }));
    keys.push_back(int_key<P>("rx_desc", "RX ring size", 32, 32768, [](auto& p) -> auto& { return p.rx_desc; }));
    keys.push_back(int_key<P>("tx_desc", "TX ring size", 32, 32768, [](auto& p) -> auto& { return p.tx_desc; }));
    keys.push_back(toggle_key<P>("rss", "RSS over the RX queues", &P::rss));
    keys.push_back(toggle_key<P>("checksum_offload", "IPv4/TCP checksum offload", &P::checksum_offload));
    keys.push_back(toggle_key<P>("tso", "TCP segmentation offload", &P::tso));
    return keys;
}

}  // namespace

const std::vector<KeyDef<StackConfig>>& stack_keys() {
    static const std::vector<KeyDef<StackConfig>> keys = make_stack_keys();  // immutable after first use
    return keys;
}

const std::vector<KeyDef<PortConfig>>& port_keys() {
    static const std::vector<KeyDef<PortConfig>> keys = make_port_keys();
    return keys;
}

const std::vector<std::string>& sections() {
    static const std::vector<std::string> s{"mempool", "tcp", "tcp.newreno", "app"};
    return s;
}

bool is_section(std::string_view path) {
    const auto& s = sections();
    return std::find(s.begin(), s.end(), path) != s.end();
}

std::string_view section_of(std::string_view key) {
    std::size_t dot = key.rfind('.');
    return dot == std::string_view::npos ? std::string_view{} : key.substr(0, dot);
}

std::string_view leaf_of(std::string_view key) {
    std::size_t dot = key.rfind('.');
    return dot == std::string_view::npos ? key : key.substr(dot + 1);
}

std::string quote(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\t': out += "\\t"; break;
            case '\r': out += "\\r"; break;
            default:
                if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
                    out += buf;
                } else {
                    out += c;
                }
        }
    }
    return out + "\"";
}

std::string render(const toml::node& n) {
    if (const auto* s = n.as_string()) return quote(s->get());
    if (const auto* i = n.as_integer()) return std::to_string(i->get());
    if (const auto* b = n.as_boolean()) return b->get() ? "true" : "false";
    if (const auto* a = n.as_array()) {
        std::string out = "[";
        for (std::size_t i = 0; i < a->size(); ++i) out += (i ? ", " : "") + render(*a->get(i));
        return out + "]";
    }
    if (n.is_table()) return "a table";
    std::ostringstream os;  // floats, dates and times, as toml++ writes them
    n.visit([&os](const auto& v) {
        if constexpr (toml::is_value<decltype(v)>) os << v;
    });
    return os.str();
}

std::string format_duration(Duration d) {
    const std::int64_t ns = d.as_nanos();
    if (ns == 0) return "0s";
    for (const Unit& u : kTimeUnits) {
        if (ns % u.scale == 0) return std::to_string(ns / u.scale) + std::string(u.name);
    }
    return std::to_string(ns) + "ns";
}

std::string format_size(std::uint64_t bytes) {
    for (const Unit& u : kSizeUnits) {
        const auto scale = static_cast<std::uint64_t>(u.scale);
        if (bytes != 0 && bytes % scale == 0) return std::to_string(bytes / scale) + std::string(u.name);
    }
    return std::to_string(bytes) + "B";
}

std::string format_lcores(const std::vector<unsigned>& lcores) {
    std::string out;
    for (std::size_t i = 0; i < lcores.size();) {
        std::size_t j = i;
        while (j + 1 < lcores.size() && lcores[j + 1] == lcores[j] + 1) ++j;
        if (!out.empty()) out += ',';
        out += std::to_string(lcores[i]);
        if (j > i) out += (j == i + 1 ? "," : "-") + std::to_string(lcores[j]);
        i = j + 1;
    }
    return out;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
    // Optimal string alignment: insertions, deletions, substitutions and adjacent transpositions.
    std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
    for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
    for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        for (std::size_t j = 1; j <= b.size(); ++j) {
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
            }
        }
    }
    return d[a.size()][b.size()];
}

std::string nearest(std::string_view key, const std::vector<std::string>& candidates) {
    const std::string_view leaf = leaf_of(key);
    // Typos allowed: one in a short name, then one per three characters, at least two.
    const std::size_t limit = leaf.size() <= 3 ? 1 : std::max<std::size_t>(2, leaf.size() / 3);
    const std::string* best = nullptr;
    std::size_t best_score = std::numeric_limits<std::size_t>::max();
    for (const auto& c : candidates) {
        // Doubled, so that "same last component in another section" (1) beats a single typo (2).
        std::size_t score = edit_distance(key, c) * 2;
        if (leaf_of(c) == leaf) score = std::min<std::size_t>(score, 1);
        if (score < best_score) {
            best = &c;
            best_score = score;
        }
    }
    return best != nullptr && best_score <= limit * 2 ? *best : std::string{};
}

}  // namespace ustcp::config::detail
