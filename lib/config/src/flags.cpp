// The flags half of load.hpp: one CLI11 option per key (`--tcp.mss`, `--port.ip`) plus the short forms,
// read as text and stored through the same KeyDefs as the file's values.
#include <CLI/CLI.hpp>
#include <toml++/toml.h>

#include <algorithm>
#include <map>
#include <memory>
#include <utility>

#include "schema.hpp"
#include "ustcp/config/load.hpp"

namespace ustcp::config {

using detail::KeyDef;
using Kind = ConfigErrorKind;

namespace {

/// Short forms of common flags: {alias, key}. Port keys are written "port.KEY".
const std::vector<std::pair<std::string, std::string>>& aliases() {
    static const std::vector<std::pair<std::string, std::string>> a{
        // No --vdev or --pci: those are EAL's, before the `--`; here they are --port.vdev and --port.pci.
        {"ip", "port.ip"}, {"gateway", "port.gateway"}, {"mac", "port.mac"},      {"mtu", "port.mtu"},
        {"app", "app.name"}, {"listen", "app.listen"},
    };
    return a;
}

/// One key's flags: its full name and any short form.
struct Binding {
    const KeyDef<StackConfig>* stack = nullptr;
    const KeyDef<PortConfig>* port = nullptr;
    std::vector<std::pair<std::string, CLI::Option*>> options;  ///< {"--tcp.mss", option}
};

/// A key's value from the command line: the flag that was given last and its text.
struct FlagValue {
    const KeyDef<StackConfig>* stack = nullptr;
    const KeyDef<PortConfig>* port = nullptr;
    std::string flag;
    std::string value;
};

struct ParsedFlags {
    std::optional<std::string> config;  ///< --config FILE
    std::vector<FlagValue> values;      ///< one per key given, in --help's order
};

class FlagParser {
public:
    explicit FlagParser(bool with_config) {
        app_.allow_extras();  // unknown flags are reported by us, with a suggestion
        app_.get_formatter()->column_width(44);
        app_.footer(
            "Every key of the config file is a flag: --SECTION.KEY VALUE or --SECTION.KEY=VALUE; --port.KEY sets\n"
            "the first [[port]]. Flags win over the file. Durations: \"40ms\", \"1s\" (ns, us, ms, s, min, h);\n"
            "sizes: 262144, \"256KiB\", \"1MiB\"; lists: --listen 7,9. Key reference: "
            "lib/config/include/ustcp/config/stack_config.hpp.");
        if (with_config) {
            config_ = app_.add_option("--config")->description("the TOML config file (config/*.toml)");
            config_->type_name("FILE");
        }
        bool ports_added = false;  // port keys go between the top-level keys and the sections, as in the file
        for (const auto& k : detail::stack_keys()) {
            if (!ports_added && !detail::section_of(k.name).empty()) {
                add_ports();
                ports_added = true;
            }
            Binding b;
            b.stack = &k;
            add(b, k.name, k.help, k.expected, k.get(StackConfig{}), k.boolean);
            bindings_.push_back(std::move(b));
        }
    }

    Result<ParsedFlags, ConfigError> parse(int argc, const char* const* argv) {
        const char* none[] = {"ustcp"};
        if (argc < 1 || argv == nullptr) {
            argc = 1;
            argv = none;
        }
        try {
            app_.parse(argc, argv);
        } catch (const CLI::CallForHelp&) {
            return Err(help_error());
        } catch (const CLI::CallForAllHelp&) {
            return Err(help_error());
        } catch (const CLI::ParseError& e) {
            ConfigError err;
            err.kind = Kind::Syntax;
            err.problem = e.what();
            // CLI11 says "--burst: 1 required  missing" for a flag at the end without its value.
            if (const std::size_t colon = err.problem.find(':');
                dynamic_cast<const CLI::ArgumentMismatch*>(&e) != nullptr && colon != std::string::npos &&
                err.problem.find("required", colon) != std::string::npos) {
                err.flag = err.problem.substr(0, colon);
                err.problem = err.flag + " needs a value";
            }
            return Err(std::move(err));
        }
        for (const std::string& r : app_.remaining()) {
            ConfigError err;
            if (r.size() > 1 && r[0] == '-' && r != "--") {
                err.kind = Kind::UnknownKey;
                err.flag = r.substr(0, r.find('='));
                std::string name = err.flag.substr(err.flag.find_first_not_of('-'));
                err.key = name;
                std::string s = detail::nearest(name, flag_names());
                if (!s.empty()) err.suggestion = "--" + s;
            } else {
                err.kind = Kind::Syntax;
                err.problem = "unexpected argument " + detail::quote(r);
                if (r == "--") err.problem += " (EAL's arguments go before the first --; rte_eal_init() takes them)";
            }
            return Err(std::move(err));
        }
        ParsedFlags out;
        if (config_ != nullptr && config_->count() > 0) out.config = config_->results().back();
        std::map<const CLI::Option*, std::size_t> last;  // position of each option's last occurrence
        const auto order = app_.parse_order();
        for (std::size_t i = 0; i < order.size(); ++i) last[order[i]] = i;
        for (const Binding& b : bindings_) {
            const std::pair<std::string, CLI::Option*>* given = nullptr;
            for (const auto& opt : b.options) {
                if (opt.second->count() == 0) continue;
                if (given == nullptr || last[opt.second] > last[given->second]) given = &opt;
            }
            if (given == nullptr) continue;
            std::string value = given->second->results().empty() ? "" : given->second->results().back();
            if (b.stack != nullptr && b.stack->name == "app.listen") {
                // Every occurrence of every form, in command-line order (one result per occurrence).
                value.clear();
                std::map<const CLI::Option*, std::size_t> used;
                for (const CLI::Option* o : order) {
                    auto it = std::find_if(b.options.begin(), b.options.end(),
                                           [o](const auto& opt) { return opt.second == o; });
                    if (it == b.options.end()) continue;
                    const auto& results = o->results();
                    if (std::size_t k = used[o]++; k < results.size()) value += (value.empty() ? "" : ",") + results[k];
                }
            }
            out.values.push_back(FlagValue{b.stack, b.port, given->first, std::move(value)});
        }
        return out;
    }

    std::string help() const { return app_.help(); }

private:
    void add(Binding& b, const std::string& key, const std::string& help, const std::string& expected,
             const std::optional<std::string>& def, bool boolean) {
        std::string desc = help + "; " + expected;
        // Shown as [40ms], not ["40ms"]; a default the help describes in words ("(default: one per lcore)")
        // is derived from other keys and not shown.
        if (def && help.find("(default: ") == std::string::npos) {
            desc += " [" + (def->size() >= 2 && def->front() == '"' ? def->substr(1, def->size() - 2) : *def) + "]";
        }
        auto add_one = [&](const std::string& name) {
            // Not add_option(name, desc): with a std::string lvalue CLI11 takes it as the variable to fill.
            CLI::Option* o = app_.add_option("--" + name)->description(name == key ? desc : "same as --" + key);
            if (boolean) {
                o->expected(0, 1);
                o->type_name("[BOOL]");
            } else {
                o->type_name("VALUE");
            }
            if (key == "app.listen") {
                o->take_all();
            } else {
                o->take_last();
            }
            b.options.emplace_back("--" + name, o);
        };
        add_one(key);
        for (const auto& [alias, target] : aliases()) {
            if (target == key) add_one(alias);
        }
    }

    void add_ports() {
        for (const auto& k : detail::port_keys()) {
            Binding b;
            b.port = &k;
            add(b, "port." + k.name, k.help + " (first port)", k.expected, k.get(PortConfig{}), k.boolean);
            bindings_.push_back(std::move(b));
        }
    }

    std::vector<std::string> flag_names() const {
        std::vector<std::string> out;
        for (const Binding& b : bindings_) {
            for (const auto& o : b.options) out.push_back(o.first.substr(2));
        }
        if (config_ != nullptr) out.emplace_back("config");
        return out;
    }

    ConfigError help_error() const {
        ConfigError e;
        e.kind = Kind::HelpRequested;
        e.problem = app_.help();
        return e;
    }

    CLI::App app_{"ustcp: a DPDK TCP stack. EAL arguments come first, then --, then these flags.", "ustcp-server"};
    CLI::Option* config_ = nullptr;
    std::vector<Binding> bindings_;
};

ConfigError flag_error(const FlagValue& v, const std::string& key, detail::Problem p) {
    ConfigError e;
    e.kind = p.kind;
    e.flag = v.flag;
    e.key = key;
    e.value = detail::quote(v.value);
    e.problem = std::move(p.problem);
    e.expected = std::move(p.expected);
    return e;
}

Result<void, ConfigError> apply_values(const std::vector<FlagValue>& values, StackConfig& cfg) {
    StackConfig next = cfg;
    const FlagValue* device = nullptr;
    for (const FlagValue& v : values) {
        const toml::value<std::string> node(v.value);
        if (v.stack != nullptr) {
            if (auto p = v.stack->set(next, node, true)) return Err(flag_error(v, v.stack->name, std::move(*p)));
            next.sources.keys[v.stack->name] = Origin{"", 0, 0, v.flag};
            continue;
        }
        if (next.ports.empty()) next.ports.emplace_back();  // named port0, like a file's first port
        const std::string key = "port[0]." + v.port->name;
        const bool is_device = v.port->name == "vdev" || v.port->name == "pci";
        if (is_device && device != nullptr) {
            return Err(flag_error(v, key, {Kind::Conflict, "conflicts with " + device->flag, "one device per port"}));
        }
        if (auto p = v.port->set(next.ports[0], node, true)) return Err(flag_error(v, key, std::move(*p)));
        if (is_device) {
            device = &v;
            next.sources.keys.erase(v.port->name == "vdev" ? "port[0].pci" : "port[0].vdev");
        }
        next.sources.keys[key] = Origin{"", 0, 0, v.flag};
    }
    if (auto r = finalize(next); !r) return r;
    cfg = std::move(next);
    return {};
}

}  // namespace

Result<void, ConfigError> apply_flags(int argc, const char* const* argv, StackConfig& cfg) {
    FlagParser parser(false);
    auto parsed = parser.parse(argc, argv);
    if (!parsed) return Err(parsed.error());
    return apply_values(parsed->values, cfg);
}

Result<StackConfig, ConfigError> load_command_line(int argc, const char* const* argv) {
    FlagParser parser(true);
    auto parsed = parser.parse(argc, argv);
    if (!parsed) return Err(parsed.error());
    StackConfig cfg;
    if (parsed->config) {
        auto loaded = load_config(*parsed->config);
        if (!loaded) return Err(loaded.error());
        cfg = std::move(*loaded);
    }
    if (auto r = apply_values(parsed->values, cfg); !r) return Err(r.error());
    return cfg;
}

std::string flags_help() { return FlagParser(true).help(); }

}  // namespace ustcp::config
