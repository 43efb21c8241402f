// One IPv4 interface's configuration and the routing decision for it: which next hop a
// datagram to a destination goes to. lib/ip has one interface per port and no routing
// table beyond "on-link subnet, else the default gateway", which is what a host needs
// (RFC 1122 §3.3.1: a host sends to a destination directly when it is on a connected
// network, else to a gateway).
//
//   Interface ifc{mac, Ipv4Addr(10, 0, 0, 2), 24, Ipv4Addr(10, 0, 0, 1), 1500};
//   if (auto ok = ifc.validate(); !ok) return report(to_string(ok.error()));
//   Router router(ifc);
//   auto r = router.route(dst);              // counted on failure
//   if (!r) return drop(r.error());           // NoRoute / BadDestination
//   auto res = neighbours.resolve(r->next_hop, pkt, now);
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "ustcp/base/addr.hpp"
#include "ustcp/base/result.hpp"
#include "ustcp/ip/counters.hpp"

namespace ustcp::ip {

// ---------------------------------------------------------------------------
// Address classes (RFC 1122 §3.2.1.3, RFC 1112 §4, RFC 5735)
// ---------------------------------------------------------------------------

inline constexpr Ipv4Addr kLimitedBroadcast{0xffffffffu};

[[nodiscard]] constexpr bool is_unspecified(Ipv4Addr a) noexcept { return a.value() == 0; }
[[nodiscard]] constexpr bool is_limited_broadcast(Ipv4Addr a) noexcept { return a.value() == 0xffffffffu; }
/// 224.0.0.0/4 (class D).
[[nodiscard]] constexpr bool is_multicast(Ipv4Addr a) noexcept { return (a.value() >> 28) == 0xe; }
/// 240.0.0.0/4 (class E, reserved), which includes 255.255.255.255.
[[nodiscard]] constexpr bool is_reserved(Ipv4Addr a) noexcept { return (a.value() >> 28) == 0xf; }
/// 127.0.0.0/8: RFC 1122 §3.2.1.3(g) "MUST NOT appear outside a host".
[[nodiscard]] constexpr bool is_loopback(Ipv4Addr a) noexcept { return (a.value() >> 24) == 127; }
/// 0.0.0.0/8 ("this network"): only a source during start-up (RFC 1122 §3.2.1.3(a)).
[[nodiscard]] constexpr bool is_this_network(Ipv4Addr a) noexcept { return (a.value() >> 24) == 0; }

/// True for a group (multicast) MAC, which includes broadcast: the I/G bit of the first octet.
[[nodiscard]] constexpr bool is_group_mac(const MacAddr& m) noexcept { return (m.bytes()[0] & 0x01) != 0; }

// ---------------------------------------------------------------------------
// Interface
// ---------------------------------------------------------------------------

enum class InterfaceError : std::uint8_t {
    BadMac,          ///< all-zero, or a group (multicast/broadcast) MAC
    BadAddress,      ///< 0/8, loopback, multicast, reserved, or the subnet's own network/broadcast address
    BadPrefix,       ///< prefix length above 32
    GatewayOffLink,  ///< the gateway is not inside our subnet, or is a network/broadcast address
    GatewayIsUs,     ///< the gateway is our own address
    BadMtu,          ///< below 68 (RFC 791 §3.2: "Every internet module must be able to forward a datagram of
                     ///< 68 octets without further fragmentation")
    BadExtraAddress, ///< the secondary range leaves the subnet, holds its network/broadcast address,
                     ///< the primary address or the gateway, or wraps around
};
inline constexpr std::size_t kInterfaceErrorCount = static_cast<std::size_t>(InterfaceError::BadExtraAddress) + 1;
/// Stable names: "bad-mac", "bad-address", "bad-prefix", "gateway-off-link", "gateway-is-us", "bad-mtu",
/// "bad-extra-address".
[[nodiscard]] std::string_view to_string(InterfaceError e) noexcept;

inline constexpr std::uint16_t kMinIpv4Mtu = 68;

struct Interface {
    MacAddr mac;
    Ipv4Addr addr;
    std::uint8_t prefix_len = 24;
    std::optional<Ipv4Addr> gateway;
    /// The largest IPv4 datagram (header included) the link carries unfragmented.
    std::uint16_t mtu = 1500;
    /// Secondary addresses: extra_first .. extra_first + extra_count - 1, all in the subnet. The
    /// host answers ARP for them and accepts datagrams to them like `addr` (RFC 1122 §3.3.4.1's
    /// several addresses on one interface); a range, so that is_ours() is one subtraction.
    Ipv4Addr extra_first{};
    std::uint32_t extra_count = 0;

    /// Errors: BadMac, BadAddress, BadPrefix, GatewayOffLink, GatewayIsUs, BadMtu, BadExtraAddress.
    /// The rest of lib/ip assumes a validated interface.
    [[nodiscard]] Result<void, InterfaceError> validate() const noexcept;

    [[nodiscard]] constexpr std::uint32_t netmask() const noexcept {
        return prefix_len == 0 ? 0 : prefix_len >= 32 ? 0xffffffffu : ~(0xffffffffu >> prefix_len);
    }
    [[nodiscard]] constexpr Ipv4Addr network() const noexcept { return Ipv4Addr(addr.value() & netmask()); }
    /// One of the secondary addresses.
    [[nodiscard]] constexpr bool is_extra(Ipv4Addr a) const noexcept {
        return a.value() - extra_first.value() < extra_count;
    }
    /// The primary address or a secondary one: a destination we accept, a source we send from.
    [[nodiscard]] constexpr bool is_ours(Ipv4Addr a) const noexcept { return a == addr || is_extra(a); }
    /// Inside our subnet (including its network and broadcast addresses).
    [[nodiscard]] constexpr bool on_link(Ipv4Addr a) const noexcept {
        return (a.value() & netmask()) == (addr.value() & netmask());
    }
    /// The subnet-directed broadcast address, if the subnet has one: a /31 (RFC 3021 §2.1) or
    /// /32 has none.
    [[nodiscard]] constexpr std::optional<Ipv4Addr> subnet_broadcast() const noexcept {
        if (prefix_len >= 31) return std::nullopt;
        return Ipv4Addr(addr.value() | ~netmask());
    }
    /// The limited broadcast 255.255.255.255 or our subnet-directed broadcast.
    [[nodiscard]] constexpr bool is_broadcast(Ipv4Addr a) const noexcept {
        if (is_limited_broadcast(a)) return true;
        auto b = subnet_broadcast();
        return b && *b == a;
    }
    /// A unicast address of another host in our subnet, which ARP may resolve and learn:
    /// not ours, not the subnet's network address (for prefixes below 31) or broadcast.
    [[nodiscard]] constexpr bool is_on_link_host(Ipv4Addr a) const noexcept {
        if (is_ours(a) || !on_link(a) || is_broadcast(a)) return false;
        if (prefix_len < 31 && a == network()) return false;
        return !is_this_network(a) && !is_loopback(a) && !is_multicast(a) && !is_reserved(a);
    }
};

// ---------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------

enum class RouteError : std::uint8_t {
    NoRoute,         ///< off-link destination and no gateway configured ("network unreachable")
    BadDestination,  ///< not a unicast destination we can send TCP/ICMP to: 0/8, loopback, multicast,
                     ///< reserved/limited broadcast, our subnet's broadcast or network address, or ourselves
};
inline constexpr std::size_t kRouteErrorCount = static_cast<std::size_t>(RouteError::BadDestination) + 1;
/// Stable names: "no-route", "bad-destination".
[[nodiscard]] std::string_view to_string(RouteError e) noexcept;

/// Where to send a datagram: the neighbour whose MAC the Ethernet header carries.
struct Route {
    Ipv4Addr next_hop;         ///< the destination itself when on-link, else the gateway
    bool via_gateway = false;
    friend constexpr bool operator==(const Route&, const Route&) noexcept = default;
};

struct RouteCounters {
    std::uint64_t lookups = 0;
    std::uint64_t direct = 0;
    std::uint64_t via_gateway = 0;
    DropCounts<RouteError, kRouteErrorCount> drops;
};

/// The next-hop decision for one interface. Holds a copy of the interface; no state but counters.
class Router {
public:
    /// Precondition: ifc.validate() succeeded.
    explicit Router(const Interface& ifc) noexcept : ifc_(ifc) {}

    /// The next hop towards `dst`. Errors (each counted): NoRoute, BadDestination.
    [[nodiscard]] Result<Route, RouteError> route(Ipv4Addr dst) noexcept;

    [[nodiscard]] const Interface& interface() const noexcept { return ifc_; }
    [[nodiscard]] const RouteCounters& counters() const noexcept { return counters_; }

private:
    Interface ifc_;
    RouteCounters counters_;
};

}  // namespace ustcp::ip
