// Drop counters indexed by a reason enum: one uint64 per reason, so the engine can
// export every reason under its stable to_string() name without a hand-written table.
//
//   DropCounts<Ipv4Drop, kIpv4DropCount> drops;
//   drops.bump(Ipv4Drop::BadChecksum);
//   for (std::size_t i = 0; i < drops.size(); ++i) export(to_string(Ipv4Drop(i)), drops.at(i));
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace ustcp::ip {

template <typename Reason, std::size_t N>
struct DropCounts {
    std::array<std::uint64_t, N> v{};

    constexpr void bump(Reason r) noexcept { ++v[static_cast<std::size_t>(r)]; }
    constexpr void add(Reason r, std::uint64_t n) noexcept { v[static_cast<std::size_t>(r)] += n; }
    [[nodiscard]] constexpr std::uint64_t operator[](Reason r) const noexcept { return v[static_cast<std::size_t>(r)]; }
    /// By index, for export loops. Precondition: i < N.
    [[nodiscard]] constexpr std::uint64_t at(std::size_t i) const noexcept { return v[i]; }
    [[nodiscard]] static constexpr std::size_t size() noexcept { return N; }
    [[nodiscard]] constexpr std::uint64_t total() const noexcept {
        std::uint64_t t = 0;
        for (auto x : v) t += x;
        return t;
    }
};

}  // namespace ustcp::ip
