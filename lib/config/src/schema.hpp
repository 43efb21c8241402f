// Internal to lib/config: the key schema that the TOML loader, the flags, to_toml() and --help share.
// One KeyDef per key: its name, help, the accepted values, how a value is read into the target struct
// and how it is written back as TOML. Value readers see a toml::node; a flag's text arrives as a TOML
// string with `from_flag` set, and readers of integers and booleans then parse the text.
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ustcp/config/load.hpp"
#include "ustcp/config/stack_config.hpp"

namespace ustcp::config::detail {

/// What is wrong with a value; the caller adds where it was and which key it was for.
struct Problem {
    ConfigErrorKind kind = ConfigErrorKind::BadValue;
    std::string problem;   ///< "is not a duration"
    std::string expected;  ///< "an integer with a unit (e.g. 40ms, 1s)"
};
using Check = std::optional<Problem>;  ///< nullopt: the value was accepted and stored

template <class Target>
struct KeyDef {
    std::string name;      ///< stack keys: the full name ("tcp.mss"); port keys: the bare name ("mtu")
    std::string help;      ///< one line, for --help
    std::string expected;  ///< the accepted values, as error messages give them
    bool boolean = false;  ///< a flag may stand alone: `--tcp.nodelay` means true
    std::function<Check(Target&, const toml::node&, bool from_flag)> set;
    std::function<std::optional<std::string>(const Target&)> get;  ///< TOML text; nullopt: not set
};

/// Every stack key, grouped by section in stack_config.hpp's order (top level first).
const std::vector<KeyDef<StackConfig>>& stack_keys();
/// Every `[[port]]` key.
const std::vector<KeyDef<PortConfig>>& port_keys();

template <class Target>
const KeyDef<Target>* find_key(const std::vector<KeyDef<Target>>& keys, std::string_view name) {
    for (const auto& k : keys) {
        if (k.name == name) return &k;
    }
    return nullptr;
}

/// The tables that hold stack keys: "mempool", "tcp", "tcp.newreno", "app" ("port" is an array).
const std::vector<std::string>& sections();
[[nodiscard]] bool is_section(std::string_view path);
/// "tcp.newreno.ca_growth" -> "tcp.newreno"; "burst" -> "".
[[nodiscard]] std::string_view section_of(std::string_view key);
/// "tcp.newreno.ca_growth" -> "ca_growth".
[[nodiscard]] std::string_view leaf_of(std::string_view key);

/// A value as the user wrote it: strings quoted, arrays in brackets, a table as "a table".
[[nodiscard]] std::string render(const toml::node& n);
/// A TOML basic string: "..." with \ and " and control characters escaped.
[[nodiscard]] std::string quote(std::string_view s);
/// The largest unit that divides `d` exactly: "2h", "75s", "40ms", "0s".
[[nodiscard]] std::string format_duration(Duration d);
/// The largest binary unit that divides `bytes` exactly: "256KiB", "1GiB", "1500B".
[[nodiscard]] std::string format_size(std::uint64_t bytes);
/// Ascending ids with runs collapsed: "1-3,5".
[[nodiscard]] std::string format_lcores(const std::vector<unsigned>& lcores);

/// Edit distance counting an adjacent transposition as one edit (optimal string alignment).
[[nodiscard]] std::size_t edit_distance(std::string_view a, std::string_view b);
/// The candidate nearest to `key` when it is near enough to be a likely typo (or has the same last
/// component, as `delayed_ack` at the top level has with `tcp.delayed_ack`); empty otherwise. Ties go
/// to the earlier candidate.
[[nodiscard]] std::string nearest(std::string_view key, const std::vector<std::string>& candidates);

}  // namespace ustcp::config::detail
