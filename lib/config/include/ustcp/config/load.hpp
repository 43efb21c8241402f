// Loading a StackConfig (stack_config.hpp lists every key): a TOML file, then command-line flags with
// the same key names, flags winning; then derived defaults and cross-field checks. Any wrong key or value
// is a ConfigError that names the file, line, key, the value and what is accepted.
//
//   // ustcp-server [EAL args] -- [--config FILE] [--tcp.delayed_ack=40ms] [--ip 198.18.0.2/24] ...
//   int n = rte_eal_init(argc, argv);                   // argv[n] is now the program name
//   auto r = ustcp::config::load_command_line(argc - n, argv + n);
//   if (!r) {
//       const auto& e = r.error();
//       bool help = e.kind == ustcp::config::ConfigErrorKind::HelpRequested;
//       std::fprintf(help ? stdout : stderr, "%s\n", e.message().c_str());
//       return help ? 0 : 2;
//   }
//   std::fputs(ustcp::config::to_toml(*r).c_str(), stdout);   // the startup print / `show config`
//
// Flags: `--KEY VALUE` or `--KEY=VALUE` for every key, KEY being the full dotted name
// (`--burst 64`, `--tcp.delayed_ack=40ms`, `--tcp.newreno.ca_growth per-ack`, `--mempool.cache 128`);
// `--port.KEY` sets KEY of the first port (creating it when the file has none). Short forms:
// `--ip`, `--gateway`, `--mac`, `--mtu` for `--port.*`, `--app` for `--app.name`, `--listen` for
// `--app.listen` (not --vdev or --pci: those are EAL's). So `ustcp-server --vdev=net_tap0,iface=ustcp0
// -- --ip 198.18.0.2/24` needs no file: the port without vdev/pci is the ethdev EAL made.
// Values are read as in the file, except that a flag's value is always text: `--tcp.mss 1400` is the
// integer 1400, `--listen 7,9` (or repeated `--listen`) the list [7, 9], and a boolean flag alone
// (`--tcp.nodelay`) means true. A key given twice takes the last value.
//
// Errors (ConfigErrorKind), with the message() each gives:
//   FileUnreadable  config/x.toml: cannot read: No such file or directory
//   Syntax          config/x.toml:3:9: invalid TOML: <toml++'s description>
//                   command line: <CLI11's description>, e.g. a flag without its value
//                   command line: unexpected argument "foo"
//   UnknownKey      config/x.toml:12: unknown key tcp.delayed_acks; did you mean tcp.delayed_ack?
//                   config/x.toml:12: unknown key tcp.delack; expected one of: mss, default_peer_mss, ...
//                   command line: unknown flag --tcp.delayed_acks; did you mean --tcp.delayed_ack?
//   WrongType       config/x.toml:12: key tcp.mss: "1400" is not an integer; expected an integer 88..8960
//   BadValue        config/x.toml:12: key tcp.delayed_ack: "40" is not a duration; expected an integer with
//                   a unit (e.g. 40ms, 1s; units ns, us, ms, s, min, h)
//                   command line: --tcp.syn_cookies: "sometimes" is not one of the accepted values;
//                   expected off, on-overflow or always
//   OutOfRange      config/x.toml:20: key port[0].mtu: 9001 is out of range; expected 68..9000
//   Missing         config/x.toml:5: key port[0].ip is missing; expected an address with a prefix (e.g.
//                   "198.18.0.2/24"); also no port at all, or no lcore
//   Conflict        config/x.toml:14: key tcp.mss: 1461 does not fit port[0].mtu 1500; expected at most
//                   1460 (mtu - 40 bytes of IPv4 and TCP headers)
//   HelpRequested   --help was given: message() is the flags' help text (not an input error)
// A cross-field error names the line of the key it is about, or of the other key when the first took its
// default. Only the first error is reported: in file order for single values, then the cross-field rules.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ustcp/base/result.hpp"
#include "ustcp/config/stack_config.hpp"

namespace ustcp::config {

enum class ConfigErrorKind : std::uint8_t {
    FileUnreadable,  ///< the file could not be opened or read
    Syntax,          ///< not TOML, or a command line CLI11 cannot parse
    UnknownKey,      ///< a key or flag that does not exist; `suggestion` holds the nearest one, if close
    WrongType,       ///< a value of the wrong TOML type (a string for an integer, a table for a value, ...)
    BadValue,        ///< the right type but not an accepted value (not a duration, not an address, ...)
    OutOfRange,      ///< a number, duration or size outside its range
    Missing,         ///< a required key is absent (at least one port; each port's ip)
    Conflict,        ///< a rule between keys fails (mss vs mtu, rx_queues vs lcores, gateway vs prefix, ...)
    HelpRequested,   ///< --help: message() is the help text
};

struct ConfigError {
    ConfigErrorKind kind = ConfigErrorKind::Syntax;
    std::string file;          ///< the config file; empty when the problem is on the command line
    std::uint32_t line = 0;    ///< 1-based line in `file`; 0 when not tied to a line
    std::uint32_t column = 0;  ///< 1-based column in `file`; 0 when not tied to a line
    std::string flag;          ///< the flag as given ("--ip"), when the value came from the command line
    std::string key;           ///< the full key: "tcp.delayed_ack", "port[1].ip"
    std::string value;         ///< the offending value as written: "\"40\"" (strings quoted), "9001"
    std::string problem;       ///< what is wrong: "is not a duration"; Syntax/FileUnreadable: the detail
    std::string expected;      ///< what is accepted: "an integer with a unit (e.g. 40ms, 1s)"
    std::string suggestion;    ///< UnknownKey: the nearest key ("tcp.delayed_ack") or flag, or empty

    /// One line (HelpRequested: the help text), formatted as the header above shows.
    [[nodiscard]] std::string message() const;
};

/// Reads and checks the file at `path` (flags not applied). Errors: every kind but HelpRequested.
[[nodiscard]] Result<StackConfig, ConfigError> load_config(const std::string& path);

/// The same for TOML text; `name` stands for the file in errors and ConfigSources.
[[nodiscard]] Result<StackConfig, ConfigError> parse_config(std::string_view toml, std::string_view name);

/// Applies flags over `cfg` (argv[0] is the program name and is skipped), then finalize(). `cfg` is left
/// unchanged on error. `--config` is an error here: it is load_command_line()'s. Errors: Syntax,
/// UnknownKey, WrongType, BadValue, OutOfRange, Missing, Conflict, HelpRequested.
[[nodiscard]] Result<void, ConfigError> apply_flags(int argc, const char* const* argv, StackConfig& cfg);

/// `--config FILE` (optional: without it, the defaults) and then every other flag over it. Errors: all.
[[nodiscard]] Result<StackConfig, ConfigError> load_command_line(int argc, const char* const* argv);

/// Recomputes the derived defaults (rx/tx_queues, tcp.mss, app.listen; a port's empty name) unless
/// cfg.sources records them as given, and checks every rule between keys. The functions above call it;
/// call it again after changing a config by hand, and mark a hand-set derived value as given
/// (`cfg.sources.keys["tcp.mss"] = {}`) to keep it. Errors: Missing, Conflict.
[[nodiscard]] Result<void, ConfigError> finalize(StackConfig& cfg);

/// `cfg` as a TOML document that loads back to the same values: every key, sections in the order of
/// stack_config.hpp. With `with_sources`, a value that was given ends with a comment naming its origin
/// ("# config/tap.toml:12", "# --mtu"); values without one are defaults.
[[nodiscard]] std::string to_toml(const StackConfig& cfg, bool with_sources = true);

/// The help text of load_command_line()'s flags (what --help prints).
[[nodiscard]] std::string flags_help();

/// Every key's full name as flags take it ("lcores", "port.mtu", "tcp.newreno.ca_growth", ...), in
/// stack_config.hpp's order.
[[nodiscard]] std::vector<std::string> config_keys();

}  // namespace ustcp::config
