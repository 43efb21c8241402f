// ARP (RFC 826, RFC 5227): frame builders against literal bytes, the reception algorithm
// (reply, learn, merge, probes, conflicts and defence), every drop.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "ip_test_util.hpp"
#include "ustcp/ip/arp.hpp"

using namespace ustcp;
using namespace ustcp::ip;
using namespace iptest;

namespace {

// Literal frames, as `tcpdump -xx` shows them: Ethernet header, 28-byte ARP, 18 zero bytes.
const Buf kRequestFrame = bytes({
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06,  // eth
    0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,                                      // Ethernet/IPv4, request
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02,                          // sender: us
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x09,                          // target: 10.0.0.9
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
const Buf kReplyFrame = bytes({
    0x02, 0x00, 0x00, 0x00, 0x00, 0x09, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06,  // unicast to the asker
    0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02,                                      // reply
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02,                          // sender: us
    0x02, 0x00, 0x00, 0x00, 0x00, 0x09, 0x0a, 0x00, 0x00, 0x09,                          // target: the asker
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
const Buf kAnnounceFrame = bytes({
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06,
    0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,                                      // a request
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02,                          // sender: us
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x02,                          // target IP: us too
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});

struct Rig {
    Interface ifc = test_interface();
    ArpHandler arp{ifc};
    NeighborCache cache{NeighborConfig{.capacity = 16}};
    Buf out = Buf(kArpFrameLen + 4, 0x55);

    Result<ArpOutcome, ArpDrop> rx(const Buf& msg, Instant now = at_ms(0)) { return arp.receive(msg, now, cache, out); }
    Buf frame(const ArpOutcome& o) const { return Buf(out.begin(), out.begin() + static_cast<long>(o.frame_len)); }
};

}  // namespace

TEST(ArpFrames, RequestReplyAnnouncementBytes) {
    const Interface ifc = test_interface();
    Buf f(kArpFrameLen, 0xaa);
    auto n = build_arp_request(ifc, ArpRequest{kPeerIp, MacAddr::broadcast()}, f);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, kArpFrameLen);
    EXPECT_EQ(f, kRequestFrame);
    ASSERT_TRUE(build_arp_reply(ifc, kPeerMac, kPeerIp, f).ok());
    EXPECT_EQ(f, kReplyFrame);
    ASSERT_TRUE(build_arp_announcement(ifc, f).ok());
    EXPECT_EQ(f, kAnnounceFrame);
    // A unicast re-check goes to the cached MAC; the ARP body is the same request.
    ASSERT_TRUE(build_arp_request(ifc, ArpRequest{kPeerIp, kPeerMac}, f).ok());
    EXPECT_EQ(Buf(f.begin(), f.begin() + 6), Buf(kPeerMac.bytes().begin(), kPeerMac.bytes().end()));
    EXPECT_EQ(Buf(f.begin() + 6, f.end()), Buf(kRequestFrame.begin() + 6, kRequestFrame.end()));
    // The builders agree with lib/wire's parser.
    auto eth = wire::EthernetView::checked(kAnnounceFrame);
    ASSERT_TRUE(eth.ok());
    EXPECT_EQ(eth->ethertype(), wire::kEtherTypeArp);
    auto a = wire::ArpView::checked(eth->payload());
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a->sender_ip(), kOurIp);
    EXPECT_EQ(a->target_ip(), kOurIp);
    Buf small(kArpFrameLen - 1);
    EXPECT_EQ(build_arp_request(ifc, ArpRequest{kPeerIp, MacAddr::broadcast()}, small).error(),
              ArpBuildError::BufferTooSmall);
    EXPECT_EQ(build_arp_reply(ifc, kPeerMac, kPeerIp, small).error(), ArpBuildError::BufferTooSmall);
    EXPECT_EQ(build_arp_announcement(ifc, small).error(), ArpBuildError::BufferTooSmall);
}

TEST(ArpHandler, RequestForUsIsAnsweredAndTheSenderLearned) {
    Rig r;
    // What the peer broadcasts, cut from a frame with padding, as it arrives.
    Buf msg = arp_msg(wire::kArpOpRequest, kPeerMac, kPeerIp, MacAddr{}, kOurIp);
    msg.resize(46, 0);
    auto o = r.rx(msg, at_ms(5));
    ASSERT_TRUE(o.ok()) << to_string(o.error());
    EXPECT_EQ(o->sent, ArpSent::Reply);
    EXPECT_EQ(r.frame(*o), kReplyFrame);
    EXPECT_EQ(r.out[kArpFrameLen], 0x55);  // nothing beyond the frame
    EXPECT_TRUE(o->released.empty());
    auto e = r.cache.lookup(kPeerIp, at_ms(5));
    ASSERT_TRUE(e);
    EXPECT_EQ(e->state, NeighborState::Reachable);
    EXPECT_EQ(e->mac, kPeerMac);
    const ArpCounters& c = r.arp.counters();
    EXPECT_EQ(c.requests, 1u);
    EXPECT_EQ(c.for_us, 1u);
    EXPECT_EQ(c.replies_sent, 1u);
    EXPECT_EQ(c.learned, 1u);
}

TEST(ArpHandler, APeerSharingOurMacIsAnsweredAndLearned) {
    // DPDK's net_tap gives the kernel's end of the tap the PMD's own MAC: Linux's requests and
    // replies carry our MAC with its address. Only our own address with our MAC is a loop.
    Rig r;
    auto o = r.rx(arp_msg(wire::kArpOpRequest, kOurMac, kPeerIp, MacAddr{}, kOurIp), at_ms(5));
    ASSERT_TRUE(o.ok()) << to_string(o.error());
    EXPECT_EQ(o->sent, ArpSent::Reply);
    auto e = r.cache.lookup(kPeerIp, at_ms(5));
    ASSERT_TRUE(e);
    EXPECT_EQ(e->mac, kOurMac);
    auto reply = r.rx(arp_msg(wire::kArpOpReply, kOurMac, kPeerIp, kOurMac, kOurIp), at_ms(6));
    ASSERT_TRUE(reply.ok()) << to_string(reply.error());
    EXPECT_EQ(r.arp.counters().drops[ArpDrop::FromSelf], 0u);
}

TEST(ArpHandler, ReplyReleasesQueuedPacketsInOrder) {
    Rig r;
    int p1 = 1, p2 = 2, p3 = 3;
    auto first = r.cache.resolve(kPeerIp, &p1, at_ms(0));
    ASSERT_TRUE(first.request);
    // The request the engine sends is exactly kRequestFrame.
    Buf f(kArpFrameLen);
    ASSERT_TRUE(build_arp_request(r.ifc, *first.request, f).ok());
    EXPECT_EQ(f, kRequestFrame);
    (void)r.cache.resolve(kPeerIp, &p2, at_ms(1));
    (void)r.cache.resolve(kPeerIp, &p3, at_ms(2));
    auto o = r.rx(arp_msg(wire::kArpOpReply, kPeerMac, kPeerIp, kOurMac, kOurIp), at_ms(3));
    ASSERT_TRUE(o.ok());
    EXPECT_EQ(o->sent, ArpSent::Nothing);
    EXPECT_EQ(o->frame_len, 0u);
    ASSERT_EQ(o->released.size(), 3u);
    EXPECT_EQ(o->released[0], &p1);
    EXPECT_EQ(o->released[1], &p2);
    EXPECT_EQ(o->released[2], &p3);
    EXPECT_EQ(o->release_mac, kPeerMac);
    EXPECT_EQ(r.cache.lookup(kPeerIp, at_ms(3))->state, NeighborState::Reachable);
    EXPECT_EQ(r.arp.counters().replies, 1u);
    EXPECT_EQ(r.arp.counters().updated, 1u);
    EXPECT_EQ(r.cache.next_deadline(), std::nullopt);
}

TEST(ArpHandler, UnsolicitedReplyToUsIsLearned) {
    Rig r;
    auto o = r.rx(arp_msg(wire::kArpOpReply, kPeerMac, kPeerIp, kOurMac, kOurIp));
    ASSERT_TRUE(o.ok());
    EXPECT_EQ(o->sent, ArpSent::Nothing);
    EXPECT_EQ(r.cache.lookup(kPeerIp, at_ms(0))->state, NeighborState::Reachable);
}

TEST(ArpHandler, OverheardPacketsOnlyMergeIntoKnownEntries) {
    Rig r;
    // A request between two other hosts: no entry for either, no reply.
    auto o = r.rx(arp_msg(wire::kArpOpRequest, kPeerMac, kPeerIp, MacAddr{}, kPeer2Ip));
    ASSERT_TRUE(o.ok());
    EXPECT_EQ(o->sent, ArpSent::Nothing);
    EXPECT_EQ(r.cache.size(), 0u);
    EXPECT_EQ(r.arp.counters().not_for_us, 1u);

    // Known peer announces a new MAC (RFC 5227 announcement): merged, and STALE until checked.
    (void)r.cache.update(kPeerIp, kPeerMac, at_ms(0), Learned::AddressedToUs);
    o = r.rx(arp_msg(wire::kArpOpRequest, kPeer2Mac, kPeerIp, MacAddr{}, kPeerIp), at_ms(10));
    ASSERT_TRUE(o.ok());
    auto e = r.cache.lookup(kPeerIp, at_ms(10));
    ASSERT_TRUE(e);
    EXPECT_EQ(e->mac, kPeer2Mac);
    EXPECT_EQ(e->state, NeighborState::Stale);
    EXPECT_EQ(r.arp.counters().updated, 1u);
}

TEST(ArpHandler, ProbesAreAnsweredButNotLearned) {
    Rig r;
    // RFC 5227 §2.1.1 probe for our address: sender IP 0.0.0.0.
    auto o = r.rx(arp_msg(wire::kArpOpRequest, kPeerMac, Ipv4Addr(0, 0, 0, 0), MacAddr{}, kOurIp));
    ASSERT_TRUE(o.ok());
    ASSERT_EQ(o->sent, ArpSent::Reply);
    Buf want(kArpFrameLen);
    ASSERT_TRUE(build_arp_reply(r.ifc, kPeerMac, Ipv4Addr(0, 0, 0, 0), want).ok());
    EXPECT_EQ(r.frame(*o), want);
    EXPECT_EQ(r.cache.size(), 0u);
    EXPECT_EQ(r.arp.counters().probes_seen, 1u);
}

TEST(ArpHandler, OffLinkSenderIsAnsweredButNotLearned) {
    Rig r;
    auto o = r.rx(arp_msg(wire::kArpOpRequest, kPeerMac, kRemoteIp, MacAddr{}, kOurIp));
    ASSERT_TRUE(o.ok());
    EXPECT_EQ(o->sent, ArpSent::Reply);
    EXPECT_EQ(r.cache.size(), 0u);
    EXPECT_EQ(r.arp.counters().off_link_sender, 1u);
}

TEST(ArpHandler, ConflictsAreDefendedAtMostEveryTenSeconds) {
    Rig r;
    Buf claim = arp_msg(wire::kArpOpReply, kPeerMac, kOurIp, MacAddr{}, kOurIp);
    auto o = r.rx(claim, at_ms(1000));
    ASSERT_TRUE(o.ok());
    EXPECT_TRUE(o->conflict);
    EXPECT_EQ(o->sent, ArpSent::Defence);
    EXPECT_EQ(r.frame(*o), kAnnounceFrame);
    o = r.rx(claim, at_ms(10999));
    ASSERT_TRUE(o.ok());
    EXPECT_TRUE(o->conflict);
    EXPECT_EQ(o->sent, ArpSent::Nothing);
    o = r.rx(claim, at_ms(11000));
    ASSERT_TRUE(o.ok());
    EXPECT_EQ(o->sent, ArpSent::Defence);
    EXPECT_EQ(r.arp.counters().conflicts, 3u);
    EXPECT_EQ(r.arp.counters().defences, 2u);
    EXPECT_EQ(r.cache.size(), 0u);  // a conflicting packet teaches nothing
}

TEST(ArpHandler, Drops) {
    Rig r;
    struct Case {
        Buf msg;
        ArpDrop want;
    };
    Buf unsupported = arp_msg(wire::kArpOpRequest, kPeerMac, kPeerIp, MacAddr{}, kOurIp);
    unsupported[1] = 6;  // IEEE 802 hardware type
    Buf short_msg = arp_msg(wire::kArpOpRequest, kPeerMac, kPeerIp, MacAddr{}, kOurIp);
    short_msg.resize(27);
    const Case cases[] = {
        {Buf(7, 0), ArpDrop::Truncated},
        {short_msg, ArpDrop::Truncated},
        {unsupported, ArpDrop::Unsupported},
        {arp_msg(3, kPeerMac, kPeerIp, MacAddr{}, kOurIp), ArpDrop::BadOpcode},
        {arp_msg(wire::kArpOpRequest, kOurMac, kOurIp, MacAddr{}, kOurIp), ArpDrop::FromSelf},
        {arp_msg(wire::kArpOpRequest, MacAddr::broadcast(), kPeerIp, MacAddr{}, kOurIp), ArpDrop::BadSenderMac},
        {arp_msg(wire::kArpOpRequest, MacAddr({0x01, 0, 0x5e, 0, 0, 1}), kPeerIp, MacAddr{}, kOurIp),
         ArpDrop::BadSenderMac},
        {arp_msg(wire::kArpOpReply, MacAddr{}, kPeerIp, kOurMac, kOurIp), ArpDrop::BadSenderMac},
    };
    for (const Case& c : cases) {
        const Buf before = r.out;
        auto o = r.rx(c.msg);
        ASSERT_FALSE(o.ok()) << to_string(c.want);
        EXPECT_EQ(o.error(), c.want) << to_string(o.error());
        EXPECT_EQ(r.out, before);
    }
    Buf tiny(kArpFrameLen - 1);
    auto o = r.arp.receive(arp_msg(wire::kArpOpRequest, kPeerMac, kPeerIp, MacAddr{}, kOurIp), at_ms(0), r.cache, tiny);
    ASSERT_FALSE(o.ok());
    EXPECT_EQ(o.error(), ArpDrop::BufferTooSmall);
    const auto& d = r.arp.counters().drops;
    EXPECT_EQ(d[ArpDrop::Truncated], 2u);
    EXPECT_EQ(d[ArpDrop::Unsupported], 1u);
    EXPECT_EQ(d[ArpDrop::BadOpcode], 1u);
    EXPECT_EQ(d[ArpDrop::FromSelf], 1u);
    EXPECT_EQ(d[ArpDrop::BadSenderMac], 3u);
    EXPECT_EQ(d[ArpDrop::BufferTooSmall], 1u);
    EXPECT_EQ(r.cache.size(), 0u);
}

TEST(ArpHandler, DropNamesAreStableAndDistinct) {
    const char* want[] = {"truncated", "unsupported", "bad-opcode", "from-self", "bad-sender-mac", "buffer-too-small"};
    static_assert(std::size(want) == kArpDropCount);
    for (std::size_t i = 0; i < kArpDropCount; ++i) EXPECT_EQ(to_string(ArpDrop(i)), want[i]);
}
