// Interface validation and the next-hop decision (RFC 1122 §3.3.1).
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "ip_test_util.hpp"
#include "ustcp/ip/interface.hpp"

using namespace ustcp;
using namespace ustcp::ip;
using namespace iptest;

TEST(Interface, ValidatesAGoodConfig) {
    EXPECT_TRUE(test_interface().validate().ok());
    Interface no_gw = test_interface();
    no_gw.gateway.reset();
    EXPECT_TRUE(no_gw.validate().ok());
    // RFC 3021: a /31's two addresses are both hosts.
    Interface p2p{kOurMac, Ipv4Addr(10, 0, 0, 0), 31, Ipv4Addr(10, 0, 0, 1), 1500};
    EXPECT_TRUE(p2p.validate().ok());
}

TEST(Interface, EveryValidationError) {
    auto err = [](Interface i) { return i.validate().error(); };
    Interface i = test_interface();
    i.mac = MacAddr{};
    EXPECT_EQ(err(i), InterfaceError::BadMac);
    i.mac = MacAddr({0x01, 0x00, 0x5e, 0, 0, 1});
    EXPECT_EQ(err(i), InterfaceError::BadMac);
    i.mac = MacAddr::broadcast();
    EXPECT_EQ(err(i), InterfaceError::BadMac);

    for (Ipv4Addr a : {Ipv4Addr(0, 1, 2, 3), Ipv4Addr(127, 0, 0, 1), Ipv4Addr(224, 0, 0, 1), Ipv4Addr(240, 0, 0, 1),
                       Ipv4Addr(10, 0, 0, 0), Ipv4Addr(10, 0, 0, 255)}) {
        i = test_interface();
        i.addr = a;
        EXPECT_EQ(err(i), InterfaceError::BadAddress) << a.to_string();
    }
    i = test_interface();
    i.prefix_len = 33;
    EXPECT_EQ(err(i), InterfaceError::BadPrefix);
    for (Ipv4Addr g : {Ipv4Addr(192, 168, 1, 1), Ipv4Addr(10, 0, 0, 255), Ipv4Addr(10, 0, 0, 0)}) {
        i = test_interface();
        i.gateway = g;
        EXPECT_EQ(err(i), InterfaceError::GatewayOffLink) << g.to_string();
    }
    i = test_interface();
    i.gateway = kOurIp;
    EXPECT_EQ(err(i), InterfaceError::GatewayIsUs);
    i = test_interface(67);
    EXPECT_EQ(err(i), InterfaceError::BadMtu);
    EXPECT_TRUE(test_interface(68).validate().ok());
}

TEST(Interface, SubnetArithmetic) {
    const Interface i = test_interface();
    EXPECT_EQ(i.netmask(), 0xffffff00u);
    EXPECT_EQ(i.network(), Ipv4Addr(10, 0, 0, 0));
    EXPECT_EQ(i.subnet_broadcast(), Ipv4Addr(10, 0, 0, 255));
    EXPECT_TRUE(i.is_broadcast(Ipv4Addr(255, 255, 255, 255)));
    EXPECT_TRUE(i.is_broadcast(Ipv4Addr(10, 0, 0, 255)));
    EXPECT_FALSE(i.is_broadcast(Ipv4Addr(10, 0, 1, 255)));
    EXPECT_TRUE(i.is_on_link_host(kPeerIp));
    EXPECT_FALSE(i.is_on_link_host(kOurIp));
    EXPECT_FALSE(i.is_on_link_host(Ipv4Addr(10, 0, 0, 0)));
    EXPECT_FALSE(i.is_on_link_host(kRemoteIp));
    Interface host{kOurMac, kOurIp, 32, std::nullopt, 1500};
    EXPECT_EQ(host.subnet_broadcast(), std::nullopt);
    EXPECT_EQ(host.netmask(), 0xffffffffu);
    Interface all{kOurMac, kOurIp, 0, std::nullopt, 1500};
    EXPECT_EQ(all.netmask(), 0u);
    EXPECT_TRUE(all.on_link(kRemoteIp));
}

TEST(Interface, SecondaryAddressesAreOursAndNotNeighbours) {
    Interface i = test_interface();
    i.extra_first = Ipv4Addr(10, 0, 0, 100);
    i.extra_count = 3;
    ASSERT_TRUE(i.validate().ok());
    EXPECT_TRUE(i.is_ours(kOurIp));
    EXPECT_TRUE(i.is_ours(Ipv4Addr(10, 0, 0, 100)));
    EXPECT_TRUE(i.is_ours(Ipv4Addr(10, 0, 0, 102)));
    EXPECT_FALSE(i.is_ours(Ipv4Addr(10, 0, 0, 103)));
    EXPECT_FALSE(i.is_ours(Ipv4Addr(10, 0, 0, 99)));
    EXPECT_FALSE(i.is_on_link_host(Ipv4Addr(10, 0, 0, 101)));  // ours: never an ARP neighbour
    EXPECT_TRUE(i.is_on_link_host(Ipv4Addr(10, 0, 0, 103)));
    Router r(i);
    EXPECT_FALSE(r.route(Ipv4Addr(10, 0, 0, 101)).ok());  // no route to ourselves
    i.extra_first = Ipv4Addr(10, 0, 0, 254);               // runs into the broadcast address
    EXPECT_EQ(i.validate().error(), InterfaceError::BadExtraAddress);
    i.extra_first = Ipv4Addr(0xffffffffu);                  // wraps around
    EXPECT_EQ(i.validate().error(), InterfaceError::BadExtraAddress);
}

TEST(Router, OnLinkDirectOffLinkViaGateway) {
    Router r(test_interface());
    auto direct = r.route(kPeerIp);
    ASSERT_TRUE(direct.ok());
    EXPECT_EQ(*direct, (Route{kPeerIp, false}));
    auto gw = r.route(kRemoteIp);
    ASSERT_TRUE(gw.ok());
    EXPECT_EQ(*gw, (Route{kGwIp, true}));
    EXPECT_EQ(r.counters().lookups, 2u);
    EXPECT_EQ(r.counters().direct, 1u);
    EXPECT_EQ(r.counters().via_gateway, 1u);
    EXPECT_EQ(r.counters().drops.total(), 0u);
}

TEST(Router, NoGatewayIsUnreachableAndCounted) {
    Interface i = test_interface();
    i.gateway.reset();
    Router r(i);
    auto res = r.route(kRemoteIp);
    ASSERT_FALSE(res.ok());
    EXPECT_EQ(res.error(), RouteError::NoRoute);
    EXPECT_EQ(r.counters().drops[RouteError::NoRoute], 1u);
    EXPECT_TRUE(r.route(kPeerIp).ok());
}

TEST(Router, BadDestinations) {
    Router r(test_interface());
    int n = 0;
    for (Ipv4Addr d : {Ipv4Addr(0, 0, 0, 0), Ipv4Addr(127, 0, 0, 1), Ipv4Addr(224, 0, 0, 5), Ipv4Addr(250, 1, 1, 1),
                       Ipv4Addr(255, 255, 255, 255), Ipv4Addr(10, 0, 0, 255), Ipv4Addr(10, 0, 0, 0), kOurIp}) {
        auto res = r.route(d);
        ASSERT_FALSE(res.ok()) << d.to_string();
        EXPECT_EQ(res.error(), RouteError::BadDestination);
        ++n;
    }
    EXPECT_EQ(r.counters().drops[RouteError::BadDestination], static_cast<std::uint64_t>(n));
}

TEST(Names, InterfaceAndRouteNamesAreStable) {
    EXPECT_EQ(to_string(InterfaceError::BadMac), "bad-mac");
    EXPECT_EQ(to_string(InterfaceError::BadAddress), "bad-address");
    EXPECT_EQ(to_string(InterfaceError::BadPrefix), "bad-prefix");
    EXPECT_EQ(to_string(InterfaceError::GatewayOffLink), "gateway-off-link");
    EXPECT_EQ(to_string(InterfaceError::GatewayIsUs), "gateway-is-us");
    EXPECT_EQ(to_string(InterfaceError::BadMtu), "bad-mtu");
    EXPECT_EQ(to_string(InterfaceError::BadExtraAddress), "bad-extra-address");
    EXPECT_EQ(to_string(RouteError::NoRoute), "no-route");
    EXPECT_EQ(to_string(RouteError::BadDestination), "bad-destination");
    std::set<std::string> names;
    for (std::size_t k = 0; k < kInterfaceErrorCount; ++k) names.emplace(to_string(InterfaceError(k)));
    EXPECT_EQ(names.size(), kInterfaceErrorCount);
}
