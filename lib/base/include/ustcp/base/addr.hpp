// Addresses: IPv4, Ethernet MAC, and the TCP 4-tuple that names a connection.
// All are stored in host order / as plain bytes; wire conversion happens in lib/wire.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace ustcp {

class Ipv4Addr {
public:
    constexpr Ipv4Addr() noexcept = default;
    constexpr explicit Ipv4Addr(std::uint32_t host_order) noexcept : v_(host_order) {}
    constexpr Ipv4Addr(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) noexcept
        : v_(std::uint32_t{a} << 24 | std::uint32_t{b} << 16 | std::uint32_t{c} << 8 | d) {}

    /// Dotted quad "a.b.c.d" with each part 0..255 and no leading junk; nullopt otherwise.
    static std::optional<Ipv4Addr> parse(std::string_view s) noexcept;

    [[nodiscard]] constexpr std::uint32_t value() const noexcept { return v_; }
    [[nodiscard]] std::string to_string() const;
    friend constexpr auto operator<=>(Ipv4Addr, Ipv4Addr) noexcept = default;

private:
    std::uint32_t v_ = 0;
};

class MacAddr {
public:
    constexpr MacAddr() noexcept = default;
    constexpr explicit MacAddr(const std::array<std::uint8_t, 6>& b) noexcept : b_(b) {}

    static constexpr MacAddr broadcast() noexcept { return MacAddr({0xff, 0xff, 0xff, 0xff, 0xff, 0xff}); }
    /// "aa:bb:cc:dd:ee:ff" (case-insensitive hex); nullopt otherwise.
    static std::optional<MacAddr> parse(std::string_view s) noexcept;

    [[nodiscard]] constexpr const std::array<std::uint8_t, 6>& bytes() const noexcept { return b_; }
    [[nodiscard]] constexpr bool is_zero() const noexcept {
        for (auto x : b_) {
            if (x != 0) return false;
        }
        return true;
    }
    /// Lower-case, colon separated, as tcpdump prints it.
    [[nodiscard]] std::string to_string() const;
    friend constexpr auto operator<=>(const MacAddr&, const MacAddr&) noexcept = default;

private:
    std::array<std::uint8_t, 6> b_{};
};

/// A TCP connection's name from this host's point of view.
struct FourTuple {
    Ipv4Addr local_addr;
    Ipv4Addr remote_addr;
    std::uint16_t local_port = 0;
    std::uint16_t remote_port = 0;

    /// The same connection as the peer names it.
    [[nodiscard]] constexpr FourTuple reversed() const noexcept {
        return {remote_addr, local_addr, remote_port, local_port};
    }
    friend constexpr auto operator<=>(const FourTuple&, const FourTuple&) noexcept = default;
};

}  // namespace ustcp

template <>
struct std::hash<ustcp::FourTuple> {
    std::size_t operator()(const ustcp::FourTuple& t) const noexcept {
        // 64-bit mix of the 96 bits; the flow table does its own hashing (Toeplitz/CRC),
        // this is for std containers in tests and tools.
        std::uint64_t a = (std::uint64_t{t.local_addr.value()} << 32) | t.remote_addr.value();
        std::uint64_t b = (std::uint64_t{t.local_port} << 16) | t.remote_port;
        std::uint64_t h = a * 0x9E3779B97F4A7C15ULL ^ (b + 0x632BE59BD9B4E019ULL + (a << 6) + (a >> 2));
        return static_cast<std::size_t>(h ^ (h >> 29));
    }
};
