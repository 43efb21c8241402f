#include "ustcp/base/addr.hpp"

#include <charconv>
#include <cstdio>

namespace ustcp {

std::optional<Ipv4Addr> Ipv4Addr::parse(std::string_view s) noexcept {
    std::uint32_t v = 0;
    const char* p = s.data();
    const char* end = s.data() + s.size();
    for (int part = 0; part < 4; ++part) {
        if (part > 0) {
            if (p == end || *p != '.') return std::nullopt;
            ++p;
        }
        // Digits only, at most three, no sign: from_chars alone would accept "+1" nowhere but be explicit.
        const char* start = p;
        while (p != end && *p >= '0' && *p <= '9' && p - start < 4) ++p;
        if (p == start || p - start > 3) return std::nullopt;
        unsigned octet = 0;
        std::from_chars(start, p, octet);
        if (octet > 255) return std::nullopt;
        v = v << 8 | octet;
    }
    if (p != end) return std::nullopt;
    return Ipv4Addr(v);
}

std::string Ipv4Addr::to_string() const {
    char buf[16];
    int n = std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", v_ >> 24, (v_ >> 16) & 0xff, (v_ >> 8) & 0xff, v_ & 0xff);
    return std::string(buf, static_cast<std::size_t>(n));
}

std::optional<MacAddr> MacAddr::parse(std::string_view s) noexcept {
    if (s.size() != 17) return std::nullopt;
    std::array<std::uint8_t, 6> b{};
    for (std::size_t i = 0; i < 6; ++i) {
        if (i > 0 && s[i * 3 - 1] != ':') return std::nullopt;
        unsigned v = 0;
        auto [ptr, ec] = std::from_chars(s.data() + i * 3, s.data() + i * 3 + 2, v, 16);
        if (ec != std::errc{} || ptr != s.data() + i * 3 + 2) return std::nullopt;
        b[i] = static_cast<std::uint8_t>(v);
    }
    return MacAddr(b);
}

std::string MacAddr::to_string() const {
    char buf[18];
    std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", b_[0], b_[1], b_[2], b_[3], b_[4], b_[5]);
    return std::string(buf, 17);
}

}  // namespace ustcp
