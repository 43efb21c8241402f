#include "ustcp/ip/interface.hpp"

namespace ustcp::ip {

std::string_view to_string(InterfaceError e) noexcept {
    switch (e) {
        case InterfaceError::BadMac: return "bad-mac";
        case InterfaceError::BadAddress: return "bad-address";
        case InterfaceError::BadPrefix: return "bad-prefix";
        case InterfaceError::GatewayOffLink: return "gateway-off-link";
        case InterfaceError::GatewayIsUs: return "gateway-is-us";
        case InterfaceError::BadMtu: return "bad-mtu";
        case InterfaceError::BadExtraAddress: return "bad-extra-address";
    }
    return "unknown";
}

std::string_view to_string(RouteError e) noexcept {
    switch (e) {
        case RouteError::NoRoute: return "no-route";
        case RouteError::BadDestination: return "bad-destination";
    }
    return "unknown";
}

Result<void, InterfaceError> Interface::validate() const noexcept {
    if (mac.is_zero() || is_group_mac(mac)) return Err(InterfaceError::BadMac);
    if (prefix_len > 32) return Err(InterfaceError::BadPrefix);
    if (is_this_network(addr) || is_loopback(addr) || is_multicast(addr) || is_reserved(addr)) {
        return Err(InterfaceError::BadAddress);
    }
    // RFC 1122 §3.2.1.3: { <Network-number>, -1 } and { <Network-number>, 0 } name the network,
    // not a host; a /31 (RFC 3021) and a /32 have no such addresses.
    if (prefix_len < 31 && (is_broadcast(addr) || addr == network())) return Err(InterfaceError::BadAddress);
    if (gateway) {
        if (*gateway == addr) return Err(InterfaceError::GatewayIsUs);
        if (!is_on_link_host(*gateway)) return Err(InterfaceError::GatewayOffLink);
    }
    if (mtu < kMinIpv4Mtu) return Err(InterfaceError::BadMtu);
    if (extra_count > 0) {
        const std::uint64_t last = std::uint64_t{extra_first.value()} + extra_count - 1;
        if (last > 0xffffffffu) return Err(InterfaceError::BadExtraAddress);
        const Ipv4Addr hi(static_cast<std::uint32_t>(last));
        // Both ends inside the subnet put every address between them inside it.
        if (!on_link(extra_first) || !on_link(hi) || is_extra(addr) || (gateway && is_extra(*gateway))) {
            return Err(InterfaceError::BadExtraAddress);
        }
        if (prefix_len < 31 && (is_extra(network()) || (subnet_broadcast() && is_extra(*subnet_broadcast())))) {
            return Err(InterfaceError::BadExtraAddress);
        }
    }
    return {};
}

Result<Route, RouteError> Router::route(Ipv4Addr dst) noexcept {
    ++counters_.lookups;
    if (ifc_.is_ours(dst) || is_this_network(dst) || is_loopback(dst) || is_multicast(dst) || is_reserved(dst) ||
        ifc_.is_broadcast(dst) || (ifc_.prefix_len < 31 && dst == ifc_.network())) {
        counters_.drops.bump(RouteError::BadDestination);
        return Err(RouteError::BadDestination);
    }
    // RFC 1122 §3.3.1.1: "If the destination is on a connected network, the datagram is sent
    // directly to the destination host; otherwise, it has to be routed to a gateway".
    if (ifc_.on_link(dst)) {
        ++counters_.direct;
        return Route{dst, false};
    }
    if (!ifc_.gateway) {
        counters_.drops.bump(RouteError::NoRoute);
        return Err(RouteError::NoRoute);
    }
    ++counters_.via_gateway;
    return Route{*ifc_.gateway, true};
}

}  // namespace ustcp::ip
