// ICMP: echo replies byte for byte (in place and into another buffer, with and without IP
// options, every payload length up to 200), every drop, ignored types, and the error-message
// hook that returns the embedded TCP 4-tuple.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "ip_test_util.hpp"
#include "ustcp/ip/icmp.hpp"

using namespace ustcp;
using namespace ustcp::ip;
using namespace iptest;

namespace {

Buf pattern(std::size_t n, std::uint8_t seed = 0) {
    Buf b(n);
    for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(seed + i * 37 + (i >> 3));
    return b;
}

/// The reply a correct host sends for an echo request with `data`: built independently with
/// lib/wire (full checksum over the message, Ipv4Repr header).
Buf expected_reply(std::uint16_t ident, std::uint16_t id, std::uint16_t seq, const Buf& data) {
    Buf icmp = icmp_echo(wire::kIcmpEchoReply, id, seq, data);
    return ipv4(kOurIp, kPeerIp, wire::kIpProtoIcmp, icmp, ident, 64);
}

struct Rig {
    Interface ifc = test_interface();
    Ipv4Input in{ifc};
    Ipv4Output tx{ifc, 0x4242};
    IcmpHandler icmp{ifc};
};

void check_reply_valid(wire::Bytes reply) {
    auto ip = wire::Ipv4View::checked(reply);
    ASSERT_TRUE(ip.ok());
    EXPECT_TRUE(ip->header_checksum_ok());
    auto m = wire::IcmpView::checked(ip->payload());
    ASSERT_TRUE(m.ok());
    EXPECT_TRUE(m->checksum_ok());
    EXPECT_EQ(m->type(), wire::kIcmpEchoReply);
}

}  // namespace

TEST(IcmpEcho, ReplyInPlaceIsExactlyRight) {
    Rig r;
    const Buf data = pattern(56);
    Buf dgram = ipv4(kPeerIp, kOurIp, wire::kIpProtoIcmp, icmp_echo(8, 0x1c2d, 7, data), 0x9999, 61);
    auto pkt = r.in.receive(dgram);
    ASSERT_TRUE(pkt.ok());
    auto out = r.icmp.receive(*pkt, dgram, r.tx);
    ASSERT_TRUE(out.ok()) << to_string(out.error());
    ASSERT_EQ(out->action, IcmpAction::Reply);
    EXPECT_EQ(out->reply.data(), dgram.data());
    EXPECT_EQ(Buf(out->reply.begin(), out->reply.end()), expected_reply(0x4242, 0x1c2d, 7, data));
    check_reply_valid(out->reply);
    EXPECT_EQ(r.icmp.counters().echo_replies_sent, 1u);
    EXPECT_EQ(r.icmp.counters().by_type[8], 1u);
    EXPECT_EQ(r.tx.next_ident(), 0x4243);
}

TEST(IcmpEcho, ReplyIntoAnotherBufferLeavesTheRequestAlone) {
    Rig r;
    const Buf data = pattern(33, 5);
    Buf dgram = ipv4(kPeerIp, kOurIp, wire::kIpProtoIcmp, icmp_echo(8, 1, 2, data));
    const Buf before = dgram;
    auto pkt = r.in.receive(dgram);
    ASSERT_TRUE(pkt.ok());
    Buf out(2048, 0x77);
    auto res = r.icmp.receive(*pkt, out, r.tx);
    ASSERT_TRUE(res.ok());
    EXPECT_EQ(res->reply.data(), out.data());
    EXPECT_EQ(Buf(res->reply.begin(), res->reply.end()), expected_reply(0x4242, 1, 2, data));
    EXPECT_EQ(dgram, before);
    EXPECT_EQ(out[res->reply.size()], 0x77);  // nothing past the reply
}

TEST(IcmpEcho, IncrementalChecksumMatchesFullRecomputationForEveryLength) {
    // RFC 1624 eqn. 3 against a full RFC 1071 sum, for odd and even lengths and both modes.
    for (std::size_t n = 0; n <= 200; ++n) {
        for (bool in_place : {true, false}) {
            SCOPED_TRACE(testing::Message() << "len " << n << (in_place ? " in place" : " copy"));
            Rig r;
            const Buf data = pattern(n, static_cast<std::uint8_t>(n));
            const std::uint16_t id = static_cast<std::uint16_t>(0xffff - n * 257);
            const auto seq = static_cast<std::uint16_t>(n);
            Buf dgram = ipv4(kPeerIp, kOurIp, wire::kIpProtoIcmp, icmp_echo(8, id, seq, data));
            auto pkt = r.in.receive(dgram);
            ASSERT_TRUE(pkt.ok());
            Buf other(dgram.size() + 8);
            auto res = r.icmp.receive(*pkt, in_place ? wire::MutBytes(dgram) : wire::MutBytes(other), r.tx);
            ASSERT_TRUE(res.ok());
            EXPECT_EQ(Buf(res->reply.begin(), res->reply.end()),
                      expected_reply(0x4242, id, static_cast<std::uint16_t>(n), data));
        }
    }
}

TEST(IcmpEcho, RequestWithOptionsGetsAnOptionlessReply) {
    Rig r;
    const Buf data = pattern(20);
    // Record Route with one slot; RFC 1122 §3.2.2.6 SHOULD copy it, we reply without options.
    Buf dgram = with_options(ipv4(kPeerIp, kOurIp, wire::kIpProtoIcmp, icmp_echo(8, 3, 4, data)),
                             bytes({7, 7, 4, 0, 0, 0, 0, 0}));
    auto pkt = r.in.receive(dgram);
    ASSERT_TRUE(pkt.ok());
    Buf copy_out(256);
    auto copied = r.icmp.receive(*pkt, copy_out, r.tx);
    ASSERT_TRUE(copied.ok());
    EXPECT_EQ(Buf(copied->reply.begin(), copied->reply.end()), expected_reply(0x4242, 3, 4, data));

    auto pkt2 = r.in.receive(dgram);
    ASSERT_TRUE(pkt2.ok());
    auto res = r.icmp.receive(*pkt2, dgram, r.tx);
    ASSERT_TRUE(res.ok());
    EXPECT_EQ(res->reply.data(), dgram.data() + 8);  // trim IHL*4 - 20 bytes from the front
    EXPECT_EQ(Buf(res->reply.begin(), res->reply.end()), expected_reply(0x4243, 3, 4, data));
}

TEST(IcmpEcho, OffloadLeavesTheHeaderChecksumZero) {
    Rig r;
    Buf dgram = ipv4(kPeerIp, kOurIp, wire::kIpProtoIcmp, icmp_echo(8, 9, 9, pattern(10)));
    auto pkt = r.in.receive(dgram);
    ASSERT_TRUE(pkt.ok());
    auto res = r.icmp.receive(*pkt, dgram, r.tx, TxChecksum::Offload);
    ASSERT_TRUE(res.ok());
    EXPECT_EQ(load_be16(&res->reply[10]), 0);
    auto m = wire::IcmpView::checked(res->reply.subspan(20));
    ASSERT_TRUE(m.ok());
    EXPECT_TRUE(m->checksum_ok());
}

TEST(IcmpEcho, Drops) {
    Rig r;
    auto run = [&](Buf dgram, wire::MutBytes out, IcmpDrop want, RxMeta meta = {}) {
        auto pkt = r.in.receive(dgram, meta);
        ASSERT_TRUE(pkt.ok()) << to_string(pkt.error());
        const Buf before = dgram;
        auto res = r.icmp.receive(*pkt, out.empty() ? wire::MutBytes(dgram) : out, r.tx);
        ASSERT_FALSE(res.ok());
        EXPECT_EQ(res.error(), want) << to_string(res.error());
        EXPECT_EQ(dgram, before);  // nothing written on a drop
    };
    run(ipv4(kPeerIp, kOurIp, wire::kIpProtoIcmp, Buf{8, 0, 0xf7, 0xff, 0, 0, 0}), {}, IcmpDrop::Truncated);
    Buf bad = icmp_echo(8, 1, 1, pattern(8));
    bad[9] ^= 0x40;
    run(ipv4(kPeerIp, kOurIp, wire::kIpProtoIcmp, bad), {}, IcmpDrop::BadChecksum);
    run(ipv4(kPeerIp, Ipv4Addr(10, 0, 0, 255), wire::kIpProtoIcmp, icmp_echo(8, 1, 1, {})), {},
        IcmpDrop::EchoToBroadcast, {.link_broadcast = true});
    Buf small(27);
    run(ipv4(kPeerIp, kOurIp, wire::kIpProtoIcmp, icmp_echo(8, 1, 1, pattern(1))), small, IcmpDrop::BufferTooSmall);
    const auto& d = r.icmp.counters().drops;
    EXPECT_EQ(d[IcmpDrop::Truncated], 1u);
    EXPECT_EQ(d[IcmpDrop::BadChecksum], 1u);
    EXPECT_EQ(d[IcmpDrop::EchoToBroadcast], 1u);
    EXPECT_EQ(d[IcmpDrop::BufferTooSmall], 1u);
    EXPECT_EQ(r.tx.counters().sent, 0u);
    EXPECT_EQ(r.icmp.counters().by_type[8], 2u);  // by_type counts what passed the length and checksum checks
}

TEST(IcmpEcho, ReassembledRequestAboveTheMtuIsNotAnswered) {
    Interface ifc = test_interface(576);
    Ipv4Input in(ifc);
    Ipv4Output tx(ifc);
    IcmpHandler icmp(ifc);
    Buf fits = ipv4(kPeerIp, kOurIp, wire::kIpProtoIcmp, icmp_echo(8, 1, 1, pattern(576 - 28)));
    auto p1 = in.receive(fits);
    ASSERT_TRUE(p1.ok());
    EXPECT_TRUE(icmp.receive(*p1, fits, tx).ok());
    Buf big = ipv4(kPeerIp, kOurIp, wire::kIpProtoIcmp, icmp_echo(8, 1, 1, pattern(576 - 27)));
    auto p2 = in.receive(big);
    ASSERT_TRUE(p2.ok());
    auto res = icmp.receive(*p2, big, tx);
    ASSERT_FALSE(res.ok());
    EXPECT_EQ(res.error(), IcmpDrop::ReplyTooBig);
}

TEST(IcmpEcho, AnOutputWithASmallerMtuRefusesInsteadOfAsserting) {
    // The handler may allow large replies (a port that fragments) while the output it is given
    // does not: the request is refused and left as it was, never a failed write.
    Interface big_ifc = test_interface(9000);
    Interface small_ifc = test_interface(576);
    Ipv4Input in(big_ifc);
    Ipv4Output tx(small_ifc);
    IcmpHandler icmp(big_ifc);
    Buf req = ipv4(kPeerIp, kOurIp, wire::kIpProtoIcmp, icmp_echo(8, 1, 1, pattern(1000)));
    const Buf before = req;
    auto p = in.receive(req);
    ASSERT_TRUE(p.ok());
    auto res = icmp.receive(*p, req, tx);
    ASSERT_FALSE(res.ok());
    EXPECT_EQ(res.error(), IcmpDrop::ReplyTooBig);
    EXPECT_EQ(req, before);
}

TEST(Icmp, OtherTypesAreCountedAndIgnored) {
    Rig r;
    Buf echo_reply = ipv4(kPeerIp, kOurIp, wire::kIpProtoIcmp, icmp_echo(0, 1, 1, {}));
    Buf redirect_msg(8 + 28, 0);
    redirect_msg[0] = kIcmpRedirect;
    store_be16(&redirect_msg[2], wire::internet_checksum(redirect_msg));
    Buf redirect = ipv4(kPeerIp, kOurIp, wire::kIpProtoIcmp, redirect_msg);
    Buf quench_msg(8, 0);
    quench_msg[0] = kIcmpSourceQuench;
    store_be16(&quench_msg[2], wire::internet_checksum(quench_msg));
    Buf quench = ipv4(kPeerIp, kOurIp, wire::kIpProtoIcmp, quench_msg);
    for (Buf* b : {&echo_reply, &redirect, &quench}) {
        auto pkt = r.in.receive(*b);
        ASSERT_TRUE(pkt.ok());
        auto res = r.icmp.receive(*pkt, *b, r.tx);
        ASSERT_TRUE(res.ok());
        EXPECT_EQ(res->action, IcmpAction::Ignored);
    }
    EXPECT_EQ(r.icmp.counters().ignored, 3u);
    EXPECT_EQ(r.icmp.counters().by_type[0], 1u);
    EXPECT_EQ(r.icmp.counters().by_type[kIcmpRedirect], 1u);
    EXPECT_EQ(r.icmp.counters().by_type[kIcmpSourceQuench], 1u);
}

namespace {

/// An ICMP error of `type`/`code` quoting the first `quote` bytes of `original`.
Buf icmp_error(std::uint8_t type, std::uint8_t code, const Buf& original, std::size_t quote,
               std::uint16_t mtu = 0) {
    Buf m(8 + quote, 0);
    m[0] = type;
    m[1] = code;
    store_be16(&m[6], mtu);
    std::memcpy(m.data() + 8, original.data(), quote);
    store_be16(&m[2], wire::internet_checksum(m));
    return m;
}

}  // namespace

TEST(IcmpError, DestinationUnreachableReturnsTheEmbeddedTcpTuple) {
    Rig r;
    // A segment we sent to a remote host, quoted back by a router with RFC 1191's MTU.
    Buf ours = ipv4(kOurIp, kRemoteIp, wire::kIpProtoTcp, tcp_segment(kOurIp, kRemoteIp, 49152, 443, 0xdeadbeef));
    Buf dgram = ipv4(kGwIp, kOurIp, wire::kIpProtoIcmp,
                     icmp_error(wire::kIcmpDestUnreachable, kIcmpCodeFragNeeded, ours, 28, 1400));
    auto pkt = r.in.receive(dgram);
    ASSERT_TRUE(pkt.ok());
    auto res = r.icmp.receive(*pkt, dgram, r.tx);
    ASSERT_TRUE(res.ok()) << to_string(res.error());
    ASSERT_EQ(res->action, IcmpAction::Error);
    EXPECT_EQ(res->error.type, wire::kIcmpDestUnreachable);
    EXPECT_EQ(res->error.code, kIcmpCodeFragNeeded);
    EXPECT_EQ(res->error.tuple, (FourTuple{kOurIp, kRemoteIp, 49152, 443}));
    EXPECT_EQ(res->error.seq, SeqNum(0xdeadbeef));
    EXPECT_EQ(res->error.next_hop_mtu, 1400);
    EXPECT_EQ(r.icmp.counters().errors_delivered, 1u);

    // Port unreachable (code 3) from the host itself, quoting the whole segment: no MTU.
    Buf whole = ipv4(kPeerIp, kOurIp, wire::kIpProtoIcmp, icmp_error(wire::kIcmpDestUnreachable, 3, ours, ours.size()));
    auto p2 = r.in.receive(whole);
    ASSERT_TRUE(p2.ok());
    auto r2 = r.icmp.receive(*p2, whole, r.tx);
    ASSERT_TRUE(r2.ok());
    EXPECT_EQ(r2->error.code, 3);
    EXPECT_EQ(r2->error.next_hop_mtu, 0);

    // Time exceeded works the same way.
    Buf te = ipv4(kGwIp, kOurIp, wire::kIpProtoIcmp, icmp_error(kIcmpTimeExceeded, 0, ours, 28));
    auto p3 = r.in.receive(te);
    ASSERT_TRUE(p3.ok());
    auto r3 = r.icmp.receive(*p3, te, r.tx);
    ASSERT_TRUE(r3.ok());
    EXPECT_EQ(r3->action, IcmpAction::Error);
}

TEST(IcmpError, MalformedOrForeignEmbeddedDatagramsAreDropped) {
    Rig r;
    Buf ours = ipv4(kOurIp, kRemoteIp, wire::kIpProtoTcp, tcp_segment(kOurIp, kRemoteIp, 1, 2, 3));
    Buf udp = ipv4(kOurIp, kRemoteIp, wire::kIpProtoUdp, Buf(8, 0));
    Buf spoofed = ipv4(kPeerIp, kRemoteIp, wire::kIpProtoTcp, tcp_segment(kPeerIp, kRemoteIp, 1, 2, 3));
    Buf bad_ihl = ours;
    bad_ihl[0] = 0x44;
    struct Case {
        Buf msg;
        IcmpDrop want;
    };
    const Case cases[] = {
        {icmp_error(3, 1, ours, 27), IcmpDrop::BadEmbedded},  // only 7 bytes of TCP
        {icmp_error(3, 1, ours, 12), IcmpDrop::BadEmbedded},  // not even an IP header
        {icmp_error(3, 1, bad_ihl, 28), IcmpDrop::BadEmbedded},
        {icmp_error(3, 3, udp, 28), IcmpDrop::NotOurs},
        {icmp_error(3, 1, spoofed, 28), IcmpDrop::NotOurs},
    };
    for (const Case& c : cases) {
        Buf dgram = ipv4(kGwIp, kOurIp, wire::kIpProtoIcmp, c.msg);
        auto pkt = r.in.receive(dgram);
        ASSERT_TRUE(pkt.ok());
        auto res = r.icmp.receive(*pkt, dgram, r.tx);
        ASSERT_FALSE(res.ok());
        EXPECT_EQ(res.error(), c.want) << to_string(res.error());
    }
    EXPECT_EQ(r.icmp.counters().drops[IcmpDrop::BadEmbedded], 3u);
    EXPECT_EQ(r.icmp.counters().drops[IcmpDrop::NotOurs], 2u);
    // The hook directly: an echo request is not an error message.
    Buf echo = icmp_echo(8, 1, 1, {});
    auto v = wire::IcmpView::checked(echo);
    ASSERT_TRUE(v.ok());
    EXPECT_EQ(parse_icmp_error(*v, kOurIp).error(), IcmpDrop::BadEmbedded);
}

TEST(Icmp, DropNamesAreStableAndDistinct) {
    const char* want[] = {"truncated",      "bad-checksum", "echo-to-broadcast", "reply-too-big",
                          "buffer-too-small", "bad-embedded", "not-ours"};
    static_assert(std::size(want) == kIcmpDropCount);
    for (std::size_t i = 0; i < kIcmpDropCount; ++i) EXPECT_EQ(to_string(IcmpDrop(i)), want[i]);
}

TEST(IcmpEcho, AReassembledRequestIsAnsweredWhenTheOutputMayFragment) {
    Interface ifc = test_interface(576);
    Ipv4Input in(ifc);
    Ipv4Output tx(ifc, 0, 65535);
    IcmpHandler icmp(ifc);
    Buf req = ipv4(kPeerIp, kOurIp, wire::kIpProtoIcmp, icmp_echo(8, 1, 1, pattern(1000)));
    auto p = in.receive(req);
    ASSERT_TRUE(p.ok());
    auto res = icmp.receive(*p, req, tx);
    ASSERT_TRUE(res.ok());
    ASSERT_EQ(res->action, IcmpAction::Reply);
    ASSERT_EQ(res->reply.size(), 20u + 8u + 1000u);
    EXPECT_EQ(res->reply[6] & 0x40, 0);  // no DF: the port fragments it
}
