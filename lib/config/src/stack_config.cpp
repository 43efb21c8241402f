#include "ustcp/config/stack_config.hpp"

#include <charconv>

namespace ustcp::config {

std::optional<Ipv4Prefix> Ipv4Prefix::parse(std::string_view s) noexcept {
    std::size_t slash = s.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    auto addr = Ipv4Addr::parse(s.substr(0, slash));
    std::string_view len = s.substr(slash + 1);
    unsigned n = 0;
    if (!addr || len.empty() || len.size() > 2 || len.front() == '+') return std::nullopt;
    auto [p, ec] = std::from_chars(len.data(), len.data() + len.size(), n);
    if (ec != std::errc{} || p != len.data() + len.size() || n < 1 || n > 32) return std::nullopt;
    return Ipv4Prefix{*addr, static_cast<std::uint8_t>(n)};
}

std::string Ipv4Prefix::to_string() const { return addr.to_string() + "/" + std::to_string(len); }

std::string PortConfig::devargs_string() const {
    if (device.empty()) return {};
    return devargs.empty() ? device : device + "," + devargs;
}

std::string PortConfig::device_name() const { return device.substr(0, device.find(',')); }

std::string_view to_string(AppKind a) noexcept {
    switch (a) {
        case AppKind::Echo: return "echo";
        case AppKind::Discard: return "discard";
        case AppKind::Iperf: return "iperf";
        case AppKind::Iperf3: return "iperf3";
        case AppKind::Http: return "http";
        case AppKind::Welcome: return "welcome";
        case AppKind::Print: return "print";
        case AppKind::Perf: return "perf";
    }
    return "echo";
}

std::uint16_t default_port(AppKind a) noexcept {
    switch (a) {
        case AppKind::Echo: return 7;
        case AppKind::Discard: return 9;
        case AppKind::Iperf: return 5001;
        case AppKind::Iperf3: return 5201;
        case AppKind::Http: return 80;
        case AppKind::Welcome: return 20000;
        case AppKind::Print: return 8000;
        case AppKind::Perf: return 5555;
    }
    return 7;
}

}  // namespace ustcp::config
