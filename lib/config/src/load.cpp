// The file half of load.hpp: TOML into StackConfig, ConfigError::message(), finalize()'s derived
// defaults and cross-field rules, to_toml() and config_keys(). The flags are in flags.cpp.
#include "ustcp/config/load.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <utility>

#include "schema.hpp"

namespace ustcp::config {

using detail::KeyDef;
using detail::Problem;
using Kind = ConfigErrorKind;

std::string ConfigError::message() const {
    if (kind == Kind::HelpRequested) return problem;
    std::string s;
    if (!file.empty()) {
        s = file;
        if (line != 0) {
            s += ':' + std::to_string(line);
            if (kind == Kind::Syntax && column != 0) s += ':' + std::to_string(column);
        }
        s += ": ";
    } else {
        s = "command line: ";
    }
    const std::string subject = flag.empty() ? "key " + key : flag;
    switch (kind) {
        case Kind::FileUnreadable: s += "cannot read: " + problem; break;
        case Kind::Syntax: s += problem; break;
        case Kind::UnknownKey:
            s += flag.empty() ? "unknown key " + key : "unknown flag " + flag;
            if (!suggestion.empty()) {
                s += "; did you mean " + suggestion + "?";
            } else if (!expected.empty()) {
                s += "; expected one of: " + expected;
            } else if (!flag.empty()) {
                s += " (--help lists the flags)";
            }
            break;
        case Kind::Missing:
            s += subject + " is missing";
            if (!expected.empty()) s += "; expected " + expected;
            break;
        default:
            s += subject + ": " + value + " " + problem;
            if (!expected.empty()) s += "; expected " + expected;
            break;
    }
    return s;
}

std::vector<std::string> config_keys() {
    std::vector<std::string> out;
    for (const auto& k : detail::stack_keys()) {
        if (detail::section_of(k.name).empty()) out.push_back(k.name);
    }
    for (const auto& k : detail::port_keys()) out.push_back("port." + k.name);
    for (const auto& k : detail::stack_keys()) {
        if (!detail::section_of(k.name).empty()) out.push_back(k.name);
    }
    return out;
}

namespace {

std::string port_key(std::size_t i, std::string_view leaf) {
    return "port[" + std::to_string(i) + "]" + (leaf.empty() ? "" : ".") + std::string(leaf);
}

/// The keys an unknown key in `section` could have been, for the error's `expected`.
std::string keys_of_section(std::string_view section) {
    std::string out;
    auto add = [&out](std::string_view s) { out += (out.empty() ? "" : ", ") + std::string(s); };
    if (section == "port") {
        for (const auto& k : detail::port_keys()) add(k.name);
        return out;
    }
    for (const auto& k : detail::stack_keys()) {
        if (detail::section_of(k.name) == section) add(detail::leaf_of(k.name));
    }
    if (section.empty()) add("[[port]]");
    for (const auto& s : detail::sections()) {
        if (detail::section_of(s) == section) add("[" + s + "]");
    }
    return out;
}

/// Names an unknown key may be a typo of: every key, with port keys as "port.KEY" (or, inside the
/// i-th port table, "port[i].KEY"), and the section names.
std::vector<std::string> candidates(int port) {
    std::vector<std::string> out;
    for (const auto& k : detail::port_keys()) out.push_back(port < 0 ? "port." + k.name : port_key(port, k.name));
    for (const auto& k : detail::stack_keys()) out.push_back(k.name);
    for (const auto& s : detail::sections()) out.push_back(s);
    return out;
}

/// Walks a parsed document into a StackConfig. Every problem is noted and the earliest in the file wins,
/// so that the user fixes the file top to bottom.
class FileLoader {
public:
    FileLoader(std::string file, StackConfig& cfg) : file_(std::move(file)), cfg_(cfg) {}

    std::optional<ConfigError> run(const toml::table& root) {
        collect(root, "");
        std::stable_sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) {
            return a.pos.line != b.pos.line ? a.pos.line < b.pos.line : a.pos.column < b.pos.column;
        });
        for (const Entry& e : entries_) process(e);
        return first_;
    }

private:
    struct Entry {
        std::string key;   ///< as errors name it: "tcp.mss", "port[0].mtu"
        int port = -1;     ///< the [[port]] table it is in, or -1
        std::string leaf;  ///< port keys: the bare name
        const toml::node* node = nullptr;
        toml::source_position pos{};
    };

    ConfigError at(toml::source_position pos, Kind kind, std::string key) const {
        ConfigError e;
        e.kind = kind;
        e.file = file_;
        e.line = pos.line;
        e.column = pos.column;
        e.key = std::move(key);
        return e;
    }

    void note(ConfigError e) {
        auto before = [](const ConfigError& a, const ConfigError& b) {
            return a.line != b.line ? a.line < b.line : a.column < b.column;
        };
        if (!first_ || before(e, *first_)) first_ = std::move(e);
    }

    void note_problem(const Entry& e, const toml::node& value, Problem p) {
        ConfigError err = at(e.pos, p.kind, e.key);
        err.value = detail::render(value);
        err.problem = std::move(p.problem);
        err.expected = std::move(p.expected);
        note(std::move(err));
    }

    void collect(const toml::table& t, const std::string& prefix) {
        for (auto&& [k, v] : t) {
            const std::string full = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
            const toml::source_position pos = k.source().begin;
            if (full == "port") {
                collect_ports(v, pos);
            } else if (detail::is_section(full)) {
                if (const auto* sub = v.as_table()) {
                    collect(*sub, full);
                } else {
                    ConfigError e = at(pos, Kind::WrongType, full);
                    e.value = detail::render(v);
                    e.problem = "is not a table";
                    e.expected = "a [" + full + "] table";
                    note(std::move(e));
                }
            } else {
                entries_.push_back(Entry{full, -1, "", &v, pos});
            }
        }
    }

    void collect_ports(const toml::node& v, toml::source_position pos) {
        const auto* arr = v.as_array();
        if (arr == nullptr || arr->empty() || !arr->is_array_of_tables()) {
            ConfigError e = at(pos, Kind::WrongType, "port");
            e.value = detail::render(v);
            e.problem = "is not an array of tables";
            e.expected = "one [[port]] table per port";
            note(std::move(e));
            return;
        }
        cfg_.ports.resize(arr->size());
        device_key_.assign(arr->size(), nullptr);
        for (std::size_t i = 0; i < arr->size(); ++i) {
            const auto& table = *arr->get(i)->as_table();
            cfg_.ports[i].name = "port" + std::to_string(i);
            const auto tpos = table.source().begin;
            cfg_.sources.keys[port_key(i, "")] = Origin{file_, tpos.line, tpos.column, ""};
            for (auto&& [k, pv] : table) {
                entries_.push_back(
                    Entry{port_key(i, k.str()), static_cast<int>(i), std::string(k.str()), &pv, k.source().begin});
            }
        }
    }

    void unknown(const Entry& e) {
        ConfigError err = at(e.pos, Kind::UnknownKey, e.key);
        err.suggestion = detail::nearest(e.key, candidates(e.port));
        if (err.suggestion.empty()) {
            err.expected = keys_of_section(e.port >= 0 ? std::string_view("port") : detail::section_of(e.key));
        }
        note(std::move(err));
    }

    void process(const Entry& e) {
        if (e.port < 0) {
            const auto* def = detail::find_key(detail::stack_keys(), e.key);
            if (def == nullptr) return unknown(e);
            if (auto p = def->set(cfg_, *e.node, false)) return note_problem(e, *e.node, std::move(*p));
        } else {
            const auto* def = detail::find_key(detail::port_keys(), e.leaf);
            if (def == nullptr) return unknown(e);
            const auto port = static_cast<std::size_t>(e.port);
            if (e.leaf == "vdev" || e.leaf == "pci") {
                if (const Entry* other = device_key_[port]; other != nullptr && other->leaf != e.leaf) {
                    ConfigError err = at(e.pos, Kind::Conflict, e.key);
                    err.value = detail::render(*e.node);
                    err.problem = "conflicts with " + other->key + " on line " + std::to_string(other->pos.line);
                    err.expected = "one device per port: vdev or pci";
                    return note(std::move(err));
                }
                device_key_[port] = &e;
            }
            if (auto p = def->set(cfg_.ports[port], *e.node, false)) return note_problem(e, *e.node, std::move(*p));
        }
        cfg_.sources.keys[e.key] = Origin{file_, e.pos.line, e.pos.column, ""};
    }

    std::string file_;
    StackConfig& cfg_;
    std::vector<Entry> entries_;
    std::vector<const Entry*> device_key_;  ///< per port: the vdev or pci entry seen first
    std::optional<ConfigError> first_;
};

/// A hint for the commonest TOML mistake: a string value without quotes (delayed_ack = 40ms).
std::string syntax_problem(const toml::parse_error& e) {
    std::string d(e.description());
    std::string s = "invalid TOML: " + d;
    if (d.find("parsing value") != std::string::npos || d.find("integer") != std::string::npos ||
        d.find("floating-point") != std::string::npos || d.find("date-time") != std::string::npos ||
        d.find("bare") != std::string::npos) {
        s += " (text values need quotes, e.g. delayed_ack = \"40ms\", ip = \"198.18.0.2/24\")";
    }
    return s;
}

// ---- finalize(): derived defaults, then the rules between keys ----

std::string stack_value(const StackConfig& cfg, std::string_view key) {
    const auto* def = detail::find_key(detail::stack_keys(), key);
    return def ? def->get(cfg).value_or("") : std::string{};
}

/// Builds cross-field errors, located at the key's own origin, else at `other`'s (the key that was
/// given), else at the file as a whole (or the command line when no file was read).
class Rules {
public:
    explicit Rules(const StackConfig& cfg) : cfg_(cfg) {}

    ConfigError error(Kind kind, const std::string& key, std::string value, std::string problem,
                      std::string expected, const std::string& other = {}) const {
        ConfigError e;
        e.kind = kind;
        e.key = key;
        e.value = std::move(value);
        e.problem = std::move(problem);
        e.expected = std::move(expected);
        const Origin* own = cfg_.sources.find(key);
        const Origin* o = own ? own : (other.empty() ? nullptr : cfg_.sources.find(other));
        if (o != nullptr && !o->file.empty()) {
            e.file = o->file;
            e.line = o->line;
            e.column = o->column;
        } else if (o != nullptr && o == own) {
            e.flag = o->flag;
        } else if (o == nullptr) {
            e.file = cfg_.sources.file;
        }
        return e;
    }

    std::optional<ConfigError> check() const {
        if (auto e = check_ports()) return e;
        if (auto e = check_tcp()) return e;
        return check_mempool();
    }

private:
    std::optional<ConfigError> check_ports() const {
        const StackConfig& c = cfg_;
        const std::size_t nl = c.lcores.size();
        if (nl == 0) return error(Kind::Missing, "lcores", "", "", "at least one worker lcore");
        if (c.ports.empty()) {
            return error(Kind::Missing, "port", "", "",
                         "at least one [[port]] table (or --ip for a port EAL made from its --vdev or -a)");
        }
        for (std::size_t i = 0; i < c.ports.size(); ++i) {
            const PortConfig& p = c.ports[i];
            auto key = [i](std::string_view leaf) { return port_key(i, leaf); };
            const std::string dev_key = key(p.kind == DeviceKind::Pci ? "pci" : "vdev");
            if (p.kind == DeviceKind::Eal && !p.devargs.empty()) {
                return error(Kind::Conflict, key("devargs"), detail::quote(p.devargs), "has no vdev or pci to go with",
                             "devargs only with vdev or pci (EAL's own -a/--vdev take their arguments inline)");
            }
            if (p.ip.len == 0) {
                return error(Kind::Missing, key("ip"), "", "", "an address with a prefix (e.g. \"198.18.0.2/24\")",
                             key(""));
            }
            for (std::size_t j = 0; j < i; ++j) {
                const PortConfig& q = c.ports[j];
                if (p.name == q.name) {
                    return error(Kind::Conflict, key("name"), detail::quote(p.name),
                                 "is also the name of " + port_key(j, ""), "a unique name per port");
                }
                if (p.kind != DeviceKind::Eal && p.device_name() == q.device_name()) {
                    return error(Kind::Conflict, dev_key, detail::quote(p.device),
                                 "names the same device as " + port_key(j, ""), "a different device per port");
                }
                if (p.ip.overlaps(q.ip)) {
                    return error(Kind::Conflict, key("ip"), detail::quote(p.ip.to_string()),
                                 "overlaps " + port_key(j, "ip") + " " + q.ip.to_string(),
                                 "disjoint prefixes per port");
                }
            }
            if (p.gateway) {
                const Ipv4Addr g = *p.gateway;
                const std::string gv = detail::quote(g.to_string());
                const std::string net = Ipv4Prefix{p.ip.network(), p.ip.len}.to_string();
                if (!p.ip.contains(g)) {
                    return error(Kind::Conflict, key("gateway"), gv, "is outside " + key("ip") + " " + p.ip.to_string(),
                                 "an address in " + net, key("ip"));
                }
                if (g == p.ip.addr) {
                    return error(Kind::Conflict, key("gateway"), gv, "is the port's own address",
                                 "another address in " + net, key("ip"));
                }
                if (p.ip.len <= 30 && (g == p.ip.network() || g == p.ip.broadcast())) {
                    return error(Kind::Conflict, key("gateway"), gv,
                                 std::string("is the ") + (g == p.ip.network() ? "network" : "broadcast") +
                                     " address of " + key("ip") + " " + p.ip.to_string(),
                                 "a host address in " + net, key("ip"));
                }
            }
            if (p.extra_count > 0) {
                const Ipv4Addr lo = p.extra_first;
                const Ipv4Addr hi(p.extra_first.value() + p.extra_count - 1);
                const std::string xv = detail::quote(lo.to_string() + "-" + hi.to_string());
                const std::string net = Ipv4Prefix{p.ip.network(), p.ip.len}.to_string();
                auto holds = [&](Ipv4Addr a) { return a.value() - lo.value() < p.extra_count; };
                if (!p.ip.contains(lo) || !p.ip.contains(hi)) {
                    return error(Kind::Conflict, key("extra_ips"), xv, "is not inside " + key("ip") + " " + p.ip.to_string(),
                                 "a range of host addresses in " + net, key("ip"));
                }
                if (holds(p.ip.addr)) {
                    return error(Kind::Conflict, key("extra_ips"), xv, "holds the port's own address " + p.ip.addr.to_string(),
                                 "a range without it", key("ip"));
                }
                if (p.gateway && holds(*p.gateway)) {
                    return error(Kind::Conflict, key("extra_ips"), xv, "holds the gateway " + p.gateway->to_string(),
                                 "a range without it", key("gateway"));
                }
                if (p.ip.len <= 30 && (holds(p.ip.network()) || holds(p.ip.broadcast()))) {
                    return error(Kind::Conflict, key("extra_ips"), xv,
                                 "holds the network or broadcast address of " + key("ip") + " " + p.ip.to_string(),
                                 "a range of host addresses in " + net, key("ip"));
                }
            }
            const std::string lcores_range = "1.." + std::to_string(nl) + " (each queue is owned by one lcore)";
            const std::string more = "is more than the " + std::to_string(nl) + " worker lcore" + (nl == 1 ? "" : "s");
            if (p.rx_queues > nl) {
                return error(Kind::Conflict, key("rx_queues"), std::to_string(p.rx_queues), more, lcores_range,
                             "lcores");
            }
            if (p.tx_queues > nl) {
                return error(Kind::Conflict, key("tx_queues"), std::to_string(p.tx_queues), more, lcores_range,
                             "lcores");
            }
            if (p.rx_queues > 1 && p.rss == Toggle::Off) {
                return error(Kind::Conflict, key("rx_queues"), std::to_string(p.rx_queues),
                             "needs RSS, but " + key("rss") + " is \"off\"",
                             "rx_queues = 1, or rss = \"auto\" or \"on\"", key("rss"));
            }
            if (p.tso == Toggle::On && p.checksum_offload == Toggle::Off) {
                return error(Kind::Conflict, key("tso"), "\"on\"",
                             "needs checksum offload, but " + key("checksum_offload") + " is \"off\"",
                             "checksum_offload = \"auto\" or \"on\", or tso = \"auto\" or \"off\"",
                             key("checksum_offload"));
            }
            const std::uint16_t ring = std::min(p.rx_desc, p.tx_desc);
            if (c.burst > ring) {
                const std::string which = p.rx_desc <= p.tx_desc ? "rx_desc" : "tx_desc";
                return error(Kind::Conflict, "burst", std::to_string(c.burst),
                             "is more than " + key(which) + " " + std::to_string(ring),
                             "at most " + std::to_string(ring), key(which));
            }
            const unsigned frame = 128u + 18u + p.mtu;  // RTE_PKTMBUF_HEADROOM + Ethernet header and CRC + mtu
            if (c.mempool.data_room < frame) {
                return error(Kind::Conflict, "mempool.data_room", std::to_string(c.mempool.data_room),
                             "cannot hold a frame of " + key("mtu") + " " + std::to_string(p.mtu),
                             "at least " + std::to_string(frame) + " (128 headroom + 14 Ethernet header + 4 CRC + mtu)",
                             key("mtu"));
            }
        }
        return std::nullopt;
    }

    std::optional<ConfigError> check_tcp() const {
        const StackConfig& c = cfg_;
        const tcp::Config& t = c.tcp;
        std::size_t im = 0;
        for (std::size_t i = 1; i < c.ports.size(); ++i) {
            if (c.ports[i].mtu < c.ports[im].mtu) im = i;
        }
        const unsigned mtu = c.ports[im].mtu;
        if (t.mss + 40u > mtu) {
            return error(Kind::Conflict, "tcp.mss", std::to_string(t.mss),
                         "does not fit " + port_key(im, "mtu") + " " + std::to_string(mtu),
                         mtu > 40 + 88
                             ? "at most " + std::to_string(mtu - 40) + " (mtu - 40 bytes of IPv4 and TCP headers)"
                             : "an mtu of at least 128 (an MSS of 88 or more + 40 bytes of headers)",
                         port_key(im, "mtu"));
        }
        if (t.rto_min > t.rto_initial) {
            return error(Kind::Conflict, "tcp.rto_min", stack_value(c, "tcp.rto_min"),
                         "is more than tcp.rto_initial " + stack_value(c, "tcp.rto_initial"),
                         "tcp.rto_min <= tcp.rto_initial <= tcp.rto_max", "tcp.rto_initial");
        }
        if (t.rto_initial > t.rto_max) {
            return error(Kind::Conflict, "tcp.rto_initial", stack_value(c, "tcp.rto_initial"),
                         "is more than tcp.rto_max " + stack_value(c, "tcp.rto_max"),
                         "tcp.rto_min <= tcp.rto_initial <= tcp.rto_max", "tcp.rto_max");
        }
        if (t.persist_max < t.rto_min) {
            return error(Kind::Conflict, "tcp.persist_max", stack_value(c, "tcp.persist_max"),
                         "is less than tcp.rto_min " + stack_value(c, "tcp.rto_min"), "at least tcp.rto_min",
                         "tcp.rto_min");
        }
        const std::string mss = std::to_string(t.mss);
        if (t.send_buffer < t.mss) {
            return error(Kind::Conflict, "tcp.send_buffer", stack_value(c, "tcp.send_buffer"),
                         "is smaller than one segment (tcp.mss " + mss + ")", "at least " + mss, "tcp.mss");
        }
        if (t.recv_buffer < t.mss) {
            return error(Kind::Conflict, "tcp.recv_buffer", stack_value(c, "tcp.recv_buffer"),
                         "is smaller than one segment (tcp.mss " + mss + ")", "at least " + mss, "tcp.mss");
        }
        return std::nullopt;
    }

    std::optional<ConfigError> check_mempool() const {
        const StackConfig& c = cfg_;
        const MempoolConfig& m = c.mempool;
        if (std::uint64_t{m.cache} * 3 > std::uint64_t{m.mbufs_per_lcore} * 2) {
            return error(Kind::Conflict, "mempool.cache", std::to_string(m.cache),
                         "is too large for mempool.mbufs_per_lcore " + std::to_string(m.mbufs_per_lcore),
                         "at most " + std::to_string(std::uint64_t{m.mbufs_per_lcore} * 2 / 3) +
                             " (mbufs_per_lcore / 1.5, rte_mempool's rule)",
                         "mempool.mbufs_per_lcore");
        }
        std::uint64_t need = std::uint64_t{m.cache} + c.burst;
        for (const PortConfig& p : c.ports) need += std::uint64_t{p.rx_desc} + p.tx_desc;
        if (m.mbufs_per_lcore < need) {
            return error(Kind::Conflict, "mempool.mbufs_per_lcore", std::to_string(m.mbufs_per_lcore),
                         "cannot fill an lcore's rings and cache",
                         "at least " + std::to_string(need) + " (rx_desc + tx_desc of every port + cache + burst)");
        }
        return std::nullopt;
    }

    const StackConfig& cfg_;
};

void resolve(StackConfig& c) {
    const auto nl = static_cast<std::uint16_t>(std::clamp<std::size_t>(c.lcores.size(), 1, kMaxLcores));
    for (std::size_t i = 0; i < c.ports.size(); ++i) {
        PortConfig& p = c.ports[i];
        if (p.name.empty()) p.name = "port" + std::to_string(i);
        if (!c.sources.given(port_key(i, "rx_queues"))) p.rx_queues = p.rss == Toggle::Off ? 1 : nl;
        if (!c.sources.given(port_key(i, "tx_queues"))) p.tx_queues = nl;
    }
    if (!c.sources.given("tcp.mss") && !c.ports.empty()) {
        unsigned mtu = std::numeric_limits<unsigned>::max();
        for (const PortConfig& p : c.ports) mtu = std::min<unsigned>(mtu, p.mtu);
        c.tcp.mss = static_cast<std::uint16_t>(std::clamp<unsigned>(mtu > 40 ? mtu - 40 : 0, 88, 8960));
    }
    if (!c.sources.given("app.listen")) c.app.listen = {default_port(c.app.name)};
}

}  // namespace

Result<void, ConfigError> finalize(StackConfig& cfg) {
    resolve(cfg);
    if (auto e = Rules(cfg).check()) return Err(std::move(*e));
    return {};
}

Result<StackConfig, ConfigError> parse_config(std::string_view toml_text, std::string_view name) {
    StackConfig cfg;
    cfg.sources.file = std::string(name);
    toml::table root;
    try {
        root = toml::parse(toml_text, std::string(name));
    } catch (const toml::parse_error& e) {
        ConfigError err;
        err.kind = Kind::Syntax;
        err.file = std::string(name);
        err.line = e.source().begin.line;
        err.column = e.source().begin.column;
        err.problem = syntax_problem(e);
        return Err(std::move(err));
    }
    if (auto e = FileLoader(std::string(name), cfg).run(root)) return Err(std::move(*e));
    if (auto r = finalize(cfg); !r) return Err(r.error());
    return cfg;
}

Result<StackConfig, ConfigError> load_config(const std::string& path) {
    auto fail = [&path](int err) {
        ConfigError e;
        e.kind = Kind::FileUnreadable;
        e.file = path;
        e.problem = std::strerror(err);
        return Err(std::move(e));
    };
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
    if (!f) return fail(errno);
    std::string text;
    char buf[8192];
    for (;;) {
        std::size_t n = std::fread(buf, 1, sizeof buf, f.get());
        text.append(buf, n);
        if (n < sizeof buf) {
            if (std::ferror(f.get())) return fail(errno != 0 ? errno : EIO);
            break;
        }
    }
    return parse_config(text, path);
}

std::string to_toml(const StackConfig& cfg, bool with_sources) {
    std::string out;
    if (with_sources) {
        out += "# ustcp configuration. A trailing comment says where a value came from; others are defaults.\n";
    }
    auto emit = [&](std::string_view leaf, const std::optional<std::string>& v, const std::string& key) {
        if (!v) return;
        std::string line = std::string(leaf) + " = " + *v;
        if (const Origin* o = cfg.sources.find(key); with_sources && o != nullptr) {
            line.resize(std::max<std::size_t>(line.size() + 2, 40), ' ');
            line += "# " + (o->file.empty() ? o->flag : o->file + ":" + std::to_string(o->line));
        }
        out += line + "\n";
    };
    for (const auto& k : detail::stack_keys()) {
        if (detail::section_of(k.name).empty()) emit(k.name, k.get(cfg), k.name);
    }
    for (std::size_t i = 0; i < cfg.ports.size(); ++i) {
        out += "\n[[port]]\n";
        for (const auto& k : detail::port_keys()) emit(k.name, k.get(cfg.ports[i]), port_key(i, k.name));
    }
    std::string_view current;
    for (const auto& k : detail::stack_keys()) {
        const std::string_view section = detail::section_of(k.name);
        if (section.empty()) continue;
        if (section != current) {
            out += "\n[" + std::string(section) + "]\n";
            current = section;
        }
        emit(detail::leaf_of(k.name), k.get(cfg), k.name);
    }
    return out;
}

}  // namespace ustcp::config
