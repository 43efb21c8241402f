// Seeded random mutations of valid datagrams and ARP messages (bit flips, truncation,
// random lengths) through Ipv4Input -> IcmpHandler (in place and copying) and ArpHandler ->
// NeighborCache. Under ASan (a -Db_sanitize=address build) any read or write outside
// the buffers fails; in every build, results must stay consistent: an accepted datagram's
// payload lies inside the input, an echo reply inside the output and checksummed, and no
// packet handle is lost. A stand-in for a libFuzzer target until tests/fuzz gets one.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "ip_test_util.hpp"
#include "ustcp/ip/arp.hpp"
#include "ustcp/ip/icmp.hpp"
#include "ustcp/ip/ipv4.hpp"
#include "ustcp/ip/neighbor.hpp"

using namespace ustcp;
using namespace ustcp::ip;
using namespace iptest;

namespace {

Buf mutate(const Buf& seed, std::mt19937& rng) {
    Buf b = seed;
    const int flips = static_cast<int>(rng() % 4);
    for (int i = 0; i < flips && !b.empty(); ++i) b[rng() % b.size()] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
    if (rng() % 4 == 0 && !b.empty()) b[rng() % b.size()] = static_cast<std::uint8_t>(rng());
    if (rng() % 3 == 0) b.resize(rng() % (b.size() + 8), static_cast<std::uint8_t>(rng()));
    return b;
}

bool inside(wire::Bytes part, wire::Bytes whole) {
    return part.empty() || (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

}  // namespace

TEST(Robustness, MutatedDatagramsAreRejectedOrHandledConsistently) {
    const Interface ifc = test_interface();
    Ipv4Input in(ifc);
    Ipv4Output tx(ifc);
    IcmpHandler icmp(ifc);
    Buf ours = ipv4(kOurIp, kRemoteIp, wire::kIpProtoTcp, tcp_segment(kOurIp, kRemoteIp, 5000, 443, 9));
    Buf unreach(8 + 28, 0);
    unreach[0] = 3;
    std::memcpy(unreach.data() + 8, ours.data(), 28);
    store_be16(&unreach[2], wire::internet_checksum(unreach));
    const std::vector<Buf> seeds = {
        ipv4(kPeerIp, kOurIp, wire::kIpProtoTcp, tcp_segment(kPeerIp, kOurIp, 1, 2, 3)),
        ipv4(kPeerIp, kOurIp, wire::kIpProtoIcmp, icmp_echo(8, 1, 2, Buf(40, 0x5a))),
        with_options(ipv4(kPeerIp, kOurIp, wire::kIpProtoIcmp, icmp_echo(8, 1, 2, Buf(3, 1))),
                     bytes({7, 7, 4, 0, 0, 0, 0, 0})),
        ipv4(kGwIp, kOurIp, wire::kIpProtoIcmp, unreach),
    };
    std::mt19937 rng(2024);
    std::uint64_t accepted = 0, replies = 0;
    for (int i = 0; i < 100000; ++i) {
        Buf b = mutate(seeds[static_cast<std::size_t>(i) % seeds.size()], rng);
        // RxChecksum::Good half the time, so corrupted headers get past the checksum too.
        const RxMeta meta{rng() % 2 ? RxChecksum::Good : RxChecksum::Unknown, false};
        auto p = in.receive(b, meta);
        if (!p) continue;
        ++accepted;
        ASSERT_TRUE(inside(p->ip.bytes(), b));
        ASSERT_TRUE(inside(p->payload(), b));
        if (p->kind != Ipv4Kind::Icmp) continue;
        const bool in_place = rng() % 2;
        Buf other(rng() % 128);
        wire::MutBytes out = in_place ? wire::MutBytes(b) : wire::MutBytes(other);
        auto r = icmp.receive(*p, out, tx);
        if (!r || r->action != IcmpAction::Reply) continue;
        ++replies;
        ASSERT_TRUE(inside(r->reply, out));
        auto v = wire::Ipv4View::checked(r->reply);
        ASSERT_TRUE(v.ok());
        ASSERT_TRUE(v->header_checksum_ok());
        auto m = wire::IcmpView::checked(v->payload());
        ASSERT_TRUE(m.ok());
        ASSERT_TRUE(m->checksum_ok());
    }
    EXPECT_EQ(in.counters().received, 100000u);
    EXPECT_GT(accepted, 1000u);
    EXPECT_GT(replies, 100u);
}

TEST(Robustness, MutatedArpNeverLosesAPacket) {
    const Interface ifc = test_interface();
    ArpHandler arp(ifc);
    NeighborCache cache(NeighborConfig{.capacity = 8, .queue_per_entry = 2});
    const std::vector<Buf> seeds = {
        arp_msg(wire::kArpOpRequest, kPeerMac, kPeerIp, MacAddr{}, kOurIp),
        arp_msg(wire::kArpOpReply, kPeerMac, kPeerIp, kOurMac, kOurIp),
        arp_msg(wire::kArpOpRequest, kPeer2Mac, kPeer2Ip, MacAddr{}, kPeer2Ip),
    };
    std::mt19937 rng(99);
    int handles[4];
    std::int64_t held = 0;  // handles the cache holds, by our own accounting
    Buf frame(kArpFrameLen);
    for (int i = 0; i < 50000; ++i) {
        const Instant now = at_ms(i * 10);
        const Ipv4Addr nh(0x0a000000u + 8 + rng() % 4);
        auto r = cache.resolve(nh, &handles[rng() % 4], now);
        if (r.status == ResolveStatus::Queued) ++held;
        auto o = arp.receive(mutate(seeds[static_cast<std::size_t>(i) % seeds.size()], rng), now, cache, frame);
        if (o) {
            held -= static_cast<std::int64_t>(o->released.size());
            ASSERT_TRUE(o->frame_len == 0 || o->frame_len == kArpFrameLen);
        }
        if (auto t = cache.next_deadline(); t && *t <= now) {
            held -= static_cast<std::int64_t>(cache.on_deadline(now).dropped.size());
        }
        ASSERT_EQ(held, static_cast<std::int64_t>(cache.queued()));
    }
    held -= static_cast<std::int64_t>(cache.flush().size());
    EXPECT_EQ(held, 0);
}
