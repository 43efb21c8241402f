// Shared by the lib/config tests: load TOML text and expect success or one error message.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "ustcp/config/load.hpp"

namespace cfgtest {

/// The smallest valid file: one port (the ethdev EAL made) with an address.
inline constexpr std::string_view kMinimal = "[[port]]\nip = \"198.18.0.2/24\"\n";

/// Parses `text` as "t.toml"; fails the test (and returns the defaults) on an error.
inline ustcp::config::StackConfig load_ok(std::string_view text) {
    auto r = ustcp::config::parse_config(text, "t.toml");
    if (!r) {
        ADD_FAILURE() << "unexpected error: " << r.error().message() << "\n--- input ---\n" << text;
        return {};
    }
    return *r;
}

/// Parses `text` as "t.toml" and returns the error; fails the test when it loads.
inline ustcp::config::ConfigError load_err(std::string_view text) {
    auto r = ustcp::config::parse_config(text, "t.toml");
    if (r) {
        ADD_FAILURE() << "loaded, but an error was expected\n--- input ---\n" << text;
        return {};
    }
    return r.error();
}

/// The message of load_err(text).
inline std::string message(std::string_view text) { return load_err(text).message(); }

/// argv for apply_flags()/load_command_line(): the program name, then `args`.
struct Argv {
    explicit Argv(std::vector<std::string> args) : strings(std::move(args)) {
        strings.insert(strings.begin(), "ustcp-server");
        for (const auto& s : strings) ptrs.push_back(s.c_str());
    }
    [[nodiscard]] int argc() const { return static_cast<int>(ptrs.size()); }
    [[nodiscard]] const char* const* argv() const { return ptrs.data(); }
    std::vector<std::string> strings;
    std::vector<const char*> ptrs;
};

}  // namespace cfgtest
