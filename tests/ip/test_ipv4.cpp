// IPv4 input (every drop reason, classification, fragments, padding) and output, on
// datagrams built with lib/wire's Ipv4Repr.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "ip_test_util.hpp"
#include "ustcp/ip/ipv4.hpp"

using namespace ustcp;
using namespace ustcp::ip;
using namespace iptest;

namespace {

Buf tcp_to_us(Ipv4Addr src = kPeerIp, Ipv4Addr dst = kOurIp) {
    return ipv4(src, dst, wire::kIpProtoTcp, tcp_segment(src, dst, 40000, 80, 1000));
}

/// Feeds `b` to a fresh Ipv4Input and expects exactly one drop, for `want`.
void expect_drop(const Buf& b, Ipv4Drop want, RxMeta meta = {}, Interface ifc = test_interface()) {
    Ipv4Input in(ifc);
    auto r = in.receive(b, meta);
    ASSERT_FALSE(r.ok()) << "expected " << to_string(want);
    EXPECT_EQ(r.error(), want) << to_string(r.error()) << " instead of " << to_string(want);
    EXPECT_EQ(in.counters().drops[want], 1u);
    EXPECT_EQ(in.counters().drops.total(), 1u);
    EXPECT_EQ(in.counters().received, 1u);
}

}  // namespace

TEST(Ipv4Input, AcceptsTcpForUsAndTrimsPadding) {
    Buf b = tcp_to_us();
    const std::size_t len = b.size();
    b.resize(46, 0xee);  // a 60-byte Ethernet minimum frame pads the 40-byte datagram with 6 bytes
    Ipv4Input in(test_interface());
    auto r = in.receive(b);
    ASSERT_TRUE(r.ok()) << to_string(r.error());
    EXPECT_EQ(r->kind, Ipv4Kind::Tcp);
    EXPECT_FALSE(r->to_broadcast);
    EXPECT_EQ(r->ip.bytes().size(), len);
    EXPECT_EQ(r->payload().size(), 20u);
    EXPECT_EQ(r->payload().data(), b.data() + 20);
    EXPECT_EQ(r->ip.src(), kPeerIp);
    EXPECT_EQ(in.counters().delivered_tcp, 1u);
    EXPECT_EQ(in.counters().drops.total(), 0u);
}

TEST(Ipv4Input, ClassifiesIcmpAndOtherProtocols) {
    Ipv4Input in(test_interface());
    auto icmp = in.receive(ipv4(kPeerIp, kOurIp, wire::kIpProtoIcmp, icmp_echo(8, 1, 1, {})));
    ASSERT_TRUE(icmp.ok());
    EXPECT_EQ(icmp->kind, Ipv4Kind::Icmp);
    auto udp = in.receive(ipv4(kPeerIp, kOurIp, wire::kIpProtoUdp, Buf(8, 0)));
    ASSERT_TRUE(udp.ok());
    EXPECT_EQ(udp->kind, Ipv4Kind::Other);
    EXPECT_EQ(in.counters().delivered_icmp, 1u);
    EXPECT_EQ(in.counters().delivered_other, 1u);
}

TEST(Ipv4Input, AcceptsBroadcastsExceptTcp) {
    Ipv4Input in(test_interface());
    for (Ipv4Addr d : {Ipv4Addr(255, 255, 255, 255), Ipv4Addr(10, 0, 0, 255)}) {
        auto r = in.receive(ipv4(kPeerIp, d, wire::kIpProtoIcmp, icmp_echo(8, 1, 1, {})), {.link_broadcast = true});
        ASSERT_TRUE(r.ok()) << d.to_string();
        EXPECT_TRUE(r->to_broadcast);
        EXPECT_EQ(r->kind, Ipv4Kind::Icmp);
    }
    expect_drop(tcp_to_us(kPeerIp, Ipv4Addr(255, 255, 255, 255)), Ipv4Drop::BroadcastTcp);
    expect_drop(tcp_to_us(kPeerIp, Ipv4Addr(10, 0, 0, 255)), Ipv4Drop::BroadcastTcp);
}

TEST(Ipv4Input, TtlIsNotCheckedOnInput) {
    // RFC 1122 §3.2.1.7: a host MUST NOT discard a datagram just because its TTL is below 2.
    Ipv4Input in(test_interface());
    for (std::uint8_t ttl : {0, 1}) {
        Buf b = ipv4(kPeerIp, kOurIp, wire::kIpProtoTcp, tcp_segment(kPeerIp, kOurIp, 1, 2, 3), 7, ttl);
        EXPECT_TRUE(in.receive(b).ok());
    }
}

TEST(Ipv4Input, DropTruncated) { expect_drop(Buf(19, 0x45), Ipv4Drop::Truncated); }

TEST(Ipv4Input, DropBadVersion) {
    Buf b = tcp_to_us();
    b[0] = 0x65;
    fix_ipv4_checksum(b);
    expect_drop(b, Ipv4Drop::BadVersion);
}

TEST(Ipv4Input, DropBadIhl) {
    Buf b = tcp_to_us();
    b[0] = 0x44;
    expect_drop(b, Ipv4Drop::BadIhl);
}

TEST(Ipv4Input, DropHeaderPastEnd) {
    Buf b = tcp_to_us();
    b[0] = 0x4f;  // 60-byte header in a 40-byte buffer
    expect_drop(b, Ipv4Drop::HeaderPastEnd);
}

TEST(Ipv4Input, DropBadTotalLength) {
    Buf b = tcp_to_us();
    store_be16(&b[2], 19);
    fix_ipv4_checksum(b);
    expect_drop(b, Ipv4Drop::BadTotalLength);
}

TEST(Ipv4Input, DropTotalLengthPastEnd) {
    Buf b = tcp_to_us();
    store_be16(&b[2], static_cast<std::uint16_t>(b.size() + 1));
    fix_ipv4_checksum(b);
    expect_drop(b, Ipv4Drop::TotalLengthPastEnd);
}

TEST(Ipv4Input, DropBadChecksum) {
    Buf b = tcp_to_us();
    b[8] ^= 1;  // TTL changed, checksum not
    expect_drop(b, Ipv4Drop::BadChecksum);
    // The NIC's verdict wins either way.
    expect_drop(tcp_to_us(), Ipv4Drop::BadChecksum, {.ip_checksum = RxChecksum::Bad});
    Ipv4Input in(test_interface());
    EXPECT_TRUE(in.receive(b, {.ip_checksum = RxChecksum::Good}).ok());
}

TEST(Ipv4Input, DropBadSource) {
    for (Ipv4Addr s : {Ipv4Addr(0, 0, 0, 0), Ipv4Addr(127, 0, 0, 1), Ipv4Addr(224, 0, 0, 1), Ipv4Addr(240, 0, 0, 1),
                       Ipv4Addr(255, 255, 255, 255), Ipv4Addr(10, 0, 0, 255), kOurIp}) {
        SCOPED_TRACE(s.to_string());
        expect_drop(ipv4(s, kOurIp, wire::kIpProtoIcmp, icmp_echo(8, 1, 1, {})), Ipv4Drop::BadSource);
    }
}

TEST(Ipv4Input, DropNotForUs) {
    for (Ipv4Addr d : {kPeerIp, kRemoteIp, Ipv4Addr(224, 0, 0, 1), Ipv4Addr(10, 0, 1, 255)}) {
        SCOPED_TRACE(d.to_string());
        expect_drop(ipv4(kPeerIp, d, wire::kIpProtoIcmp, icmp_echo(8, 1, 1, {})), Ipv4Drop::NotForUs);
    }
    // A /31 has no subnet broadcast (RFC 3021): its other address is a host, not "everyone".
    Interface p2p{kOurMac, Ipv4Addr(10, 0, 0, 0), 31, std::nullopt, 1500};
    expect_drop(ipv4(kRemoteIp, Ipv4Addr(10, 0, 0, 1), wire::kIpProtoIcmp, icmp_echo(8, 1, 1, {})),
                Ipv4Drop::NotForUs, {}, p2p);
}

TEST(Ipv4Input, DropLinkBroadcastWithUnicastDestination) {
    expect_drop(tcp_to_us(), Ipv4Drop::LinkBroadcast, {.link_broadcast = true});
}

TEST(Ipv4Input, OptionsAreWalkedAndIgnored) {
    Ipv4Input in(test_interface());
    // Record Route (type 7, length 7, pointer 4, one empty slot) + EOL.
    Buf rr = with_options(tcp_to_us(), bytes({7, 7, 4, 0, 0, 0, 0, 0}));
    auto r = in.receive(rr);
    ASSERT_TRUE(r.ok()) << to_string(r.error());
    EXPECT_EQ(r->ip.header_len(), 28u);
    EXPECT_EQ(r->payload().size(), 20u);
    auto nops = in.receive(with_options(tcp_to_us(), bytes({1, 1, 1, 1})));
    EXPECT_TRUE(nops.ok());
    EXPECT_EQ(in.counters().with_options, 2u);
}

TEST(Ipv4Input, DropBadOptions) {
    for (const Buf& opts : {bytes({7, 1, 0, 0}),          // length below 2
                            bytes({1, 1, 1, 7}),          // length byte missing
                            bytes({7, 9, 4, 0, 0, 0, 0, 0}),  // runs past the header
                            bytes({68, 0, 0, 0})}) {      // length 0
        SCOPED_TRACE(testing::PrintToString(opts));
        expect_drop(with_options(tcp_to_us(), opts), Ipv4Drop::BadOptions);
    }
}

TEST(Ipv4Input, DropSourceRoute) {
    expect_drop(with_options(tcp_to_us(), bytes({131, 7, 4, 10, 0, 0, 1, 0})), Ipv4Drop::SourceRoute);  // LSRR
    expect_drop(with_options(tcp_to_us(), bytes({1, 137, 7, 4, 10, 0, 0, 1})), Ipv4Drop::SourceRoute);  // SSRR
}

TEST(Ipv4Input, FragmentsAreClassifiedForReassembly) {
    Ipv4Input in(test_interface());
    Buf first = ipv4(kPeerIp, kOurIp, wire::kIpProtoIcmp, Buf(16, 0xab));
    first[6] = 0x20;  // MF, offset 0
    fix_ipv4_checksum(first);
    Buf middle = ipv4(kPeerIp, kOurIp, wire::kIpProtoTcp, Buf(24, 0xcd));
    store_be16(&middle[6], 0x2000 | 2);  // MF, offset 16
    fix_ipv4_checksum(middle);
    Buf last = ipv4(kPeerIp, kOurIp, wire::kIpProtoTcp, Buf(13, 0xef));
    store_be16(&last[6], 5);  // offset 40, last: any length
    fix_ipv4_checksum(last);
    for (const Buf* b : {&first, &middle, &last}) {
        auto r = in.receive(*b);
        ASSERT_TRUE(r.ok()) << to_string(r.error());
        EXPECT_EQ(r->kind, Ipv4Kind::Fragment);
    }
    EXPECT_EQ(in.counters().fragments, 3u);
    EXPECT_EQ(in.counters().delivered_tcp + in.counters().delivered_icmp, 0u);
}

TEST(Ipv4Input, DropBadFragment) {
    Buf odd = ipv4(kPeerIp, kOurIp, wire::kIpProtoTcp, Buf(13, 0));
    odd[6] = 0x20;  // MF with 13 bytes: not a multiple of 8
    fix_ipv4_checksum(odd);
    expect_drop(odd, Ipv4Drop::BadFragment);
    Buf huge = ipv4(kPeerIp, kOurIp, wire::kIpProtoIcmp, Buf(16, 0));
    store_be16(&huge[6], 0x1fff);  // offset 65528 + 20 + 16 > 65535: the ping of death
    fix_ipv4_checksum(huge);
    expect_drop(huge, Ipv4Drop::BadFragment);
}

TEST(Ipv4Input, DropNamesAreStableAndDistinct) {
    const char* want[] = {"truncated", "bad-version", "bad-ihl", "header-past-end", "bad-total-length",
                          "total-length-past-end", "bad-checksum", "bad-source", "not-for-us", "link-broadcast",
                          "bad-options", "source-route", "bad-fragment", "broadcast-tcp"};
    static_assert(std::size(want) == kIpv4DropCount);
    for (std::size_t i = 0; i < kIpv4DropCount; ++i) EXPECT_EQ(to_string(Ipv4Drop(i)), want[i]);
    EXPECT_EQ(to_string(Ipv4Kind::Fragment), "fragment");
    EXPECT_EQ(to_string(Ipv4TxError::ExceedsMtu), "exceeds-mtu");
    EXPECT_EQ(to_string(Ipv4TxError::BufferTooSmall), "buffer-too-small");
}

TEST(Ipv4Input, ReceiveDoesNotWriteItsInput) {
    Buf b = tcp_to_us();
    const Buf copy = b;
    Ipv4Input in(test_interface());
    EXPECT_TRUE(in.receive(b).ok());
    EXPECT_EQ(b, copy);
}

// ---------------------------------------------------------------------------

TEST(Ipv4Output, WritesTheHeaderWireWouldWrite) {
    Ipv4Output out(test_interface(), 0x0100);
    Buf h(20, 0xcc);
    ASSERT_TRUE(out.write_header(h, kPeerIp, wire::kIpProtoTcp, 1460).ok());
    Buf want(20);
    wire::Ipv4Repr{kOurIp, kPeerIp, wire::kIpProtoTcp, 64, 0, 0x0100, true, 1460}.emit(want);
    EXPECT_EQ(h, want);
    // Exactly: 45 00 05c8 0100 4000 40 06 cksum 0a000002 0a000009
    EXPECT_EQ(h[0], 0x45);
    EXPECT_EQ(load_be16(&h[2]), 1480);
    EXPECT_EQ(load_be16(&h[6]), 0x4000);  // DF, offset 0
    EXPECT_EQ(h[8], 64);
    EXPECT_EQ(wire::checksum_fold(wire::checksum_partial(h)), 0xffff);
    EXPECT_EQ(out.next_ident(), 0x0101);
    // The identification advances per datagram.
    ASSERT_TRUE(out.write_header(h, kPeerIp, wire::kIpProtoTcp, 0).ok());
    EXPECT_EQ(load_be16(&h[4]), 0x0101);
    EXPECT_EQ(out.counters().sent, 2u);
}

TEST(Ipv4Output, OffloadLeavesTheChecksumZeroAndTosIsCarried) {
    Ipv4Output out(test_interface());
    Buf h(20);
    ASSERT_TRUE(out.write_header(h, kPeerIp, wire::kIpProtoTcp, 100, TxChecksum::Offload, 0x02).ok());
    EXPECT_EQ(load_be16(&h[10]), 0);
    EXPECT_EQ(h[1], 0x02);
    store_be16(&h[10], wire::internet_checksum(h));
    Ipv4Input peer(Interface{kPeerMac, kPeerIp, 24, std::nullopt, 1500});
    Buf d = h;
    d.resize(120, 0);
    EXPECT_TRUE(peer.receive(d).ok());  // what the NIC would complete is a valid datagram
}

TEST(Ipv4Output, Errors) {
    Ipv4Output out(test_interface(576));
    Buf small(19);
    auto a = out.write_header(small, kPeerIp, wire::kIpProtoTcp, 10);
    ASSERT_FALSE(a.ok());
    EXPECT_EQ(a.error(), Ipv4TxError::BufferTooSmall);
    Buf h(20);
    EXPECT_TRUE(out.write_header(h, kPeerIp, wire::kIpProtoTcp, 556).ok());
    auto b = out.write_header(h, kPeerIp, wire::kIpProtoTcp, 557);
    ASSERT_FALSE(b.ok());
    EXPECT_EQ(b.error(), Ipv4TxError::ExceedsMtu);
    EXPECT_EQ(out.counters().drops[Ipv4TxError::BufferTooSmall], 1u);
    EXPECT_EQ(out.counters().drops[Ipv4TxError::ExceedsMtu], 1u);
    EXPECT_EQ(out.counters().sent, 1u);
    EXPECT_EQ(out.next_ident(), 1);  // failures take no identification
}

TEST(Ipv4Output, AboveTheMtuOnlyUpToMaxDatagramAndWithoutDf) {
    // A port that fragments what it sends: datagrams that fit the link keep DF (path MTU
    // discovery); larger ones, up to max_datagram, go without it so that the port may split them.
    Ipv4Output out(test_interface(576), 7, 2000);
    EXPECT_EQ(out.max_datagram(), 2000);
    Buf h(20);
    ASSERT_TRUE(out.write_header(h, kPeerIp, wire::kIpProtoIcmp, 556).ok());
    EXPECT_EQ(h[6] & 0x40, 0x40);
    ASSERT_TRUE(out.write_header(h, kPeerIp, wire::kIpProtoIcmp, 557).ok());
    EXPECT_EQ(h[6] & 0x40, 0);
    EXPECT_EQ(load_be16(&h[4]), 8);  // a fresh identification for a datagram that may be fragmented
    EXPECT_EQ(wire::internet_checksum(wire::Bytes(h.data(), 20)), 0);
    ASSERT_TRUE(out.write_header(h, kPeerIp, wire::kIpProtoIcmp, 1980).ok());
    auto too_big = out.write_header(h, kPeerIp, wire::kIpProtoIcmp, 1981);
    ASSERT_FALSE(too_big.ok());
    EXPECT_EQ(too_big.error(), Ipv4TxError::ExceedsMtu);
    // max_datagram never goes below the MTU.
    EXPECT_EQ(Ipv4Output(test_interface(576), 0, 100).max_datagram(), 576);
}
