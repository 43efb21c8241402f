// Small parsers for command-line values, shared by the programs' own flags.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace ustcp {

/// A decimal integer of at most 15 digits (no sign, no spaces) within [lo, hi], or nullopt.
[[nodiscard]] constexpr std::optional<std::uint64_t> parse_uint(std::string_view s, std::uint64_t lo,
                                                                std::uint64_t hi) noexcept {
    if (s.empty() || s.size() > 15) return std::nullopt;
    std::uint64_t v = 0;
    for (char ch : s) {
        if (ch < '0' || ch > '9') return std::nullopt;
        v = v * 10 + static_cast<std::uint64_t>(ch - '0');
    }
    if (v < lo || v > hi) return std::nullopt;
    return v;
}

}  // namespace ustcp
