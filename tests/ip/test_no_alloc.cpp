// lib/ip allocates only in constructors (NeighborCache's tables). This binary replaces every
// global operator new/delete with counting versions, builds all inputs first, and then runs
// the per-packet and per-deadline calls many times -- Router::route, Ipv4Input::receive (good
// datagrams and drops), IcmpHandler::receive (echo in place and into a buffer, errors),
// Ipv4Output::write_header, ArpHandler::receive (replies, learning, releases, conflicts),
// NeighborCache::resolve / update / on_deadline (retries, give-ups, evictions) / remove /
// flush, the frame builders and every to_string -- asserting that nothing allocated.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include "ip_test_util.hpp"
#include "ustcp/ip/arp.hpp"
#include "ustcp/ip/icmp.hpp"
#include "ustcp/ip/ipv4.hpp"
#include "ustcp/ip/neighbor.hpp"

#include "counting_new.hpp"

using namespace ustcp;
using namespace ustcp::ip;
using namespace iptest;

TEST(IpNoAlloc, PerPacketAndPerDeadlineCallsDoNotAllocate) {
    // --- everything that may allocate, before counting ---
    const Interface ifc = test_interface();
    Router router(ifc);
    Ipv4Input in(ifc);
    Ipv4Output tx(ifc);
    IcmpHandler icmp(ifc);
    ArpHandler arp(ifc);
    NeighborCache cache(NeighborConfig{.capacity = 64, .queue_per_entry = 4, .max_requests = 3});

    const Buf tcp = ipv4(kPeerIp, kOurIp, wire::kIpProtoTcp, tcp_segment(kPeerIp, kOurIp, 1234, 80, 1));
    Buf bad_csum = tcp;
    bad_csum[8] ^= 1;
    Buf frag = ipv4(kPeerIp, kOurIp, wire::kIpProtoTcp, Buf(16, 0));
    frag[6] = 0x20;
    fix_ipv4_checksum(frag);
    const Buf echo = ipv4(kPeerIp, kOurIp, wire::kIpProtoIcmp, icmp_echo(8, 7, 7, Buf(56, 0x61)));
    Buf ours = ipv4(kOurIp, kRemoteIp, wire::kIpProtoTcp, tcp_segment(kOurIp, kRemoteIp, 5000, 443, 9));
    Buf unreach_msg(8 + 28, 0);
    unreach_msg[0] = 3;
    unreach_msg[1] = 4;
    std::memcpy(unreach_msg.data() + 8, ours.data(), 28);
    store_be16(&unreach_msg[2], wire::internet_checksum(unreach_msg));
    const Buf unreach = ipv4(kGwIp, kOurIp, wire::kIpProtoIcmp, unreach_msg);
    const Buf arp_req = arp_msg(wire::kArpOpRequest, kPeerMac, kPeerIp, MacAddr{}, kOurIp);
    const Buf arp_conflict = arp_msg(wire::kArpOpReply, kPeerMac, kOurIp, MacAddr{}, kOurIp);
    std::vector<Buf> replies;
    for (std::uint32_t i = 0; i < 200; ++i) {
        replies.push_back(arp_msg(wire::kArpOpReply, kPeer2Mac, Ipv4Addr(0x0a000000u + 20 + i), kOurMac, kOurIp));
    }
    std::array<std::uint8_t, 2048> work{};
    std::array<std::uint8_t, 2048> reply_buf{};
    std::array<std::uint8_t, kArpFrameLen> frame{};
    int handles[8];
    std::uint64_t ok = 0, dropped = 0, released = 0, requests = 0, freed = 0, sink = 0;

    g_allocs.store(0);
    g_counting.store(true);
    for (int it = 0; it < 200; ++it) {
        const Instant t0 = at_ms(it * 10'000);
        ok += router.route(kPeerIp).ok() + router.route(kRemoteIp).ok() + !router.route(kOurIp).ok();
        ok += in.receive(tcp).ok() + !in.receive(bad_csum).ok() + in.receive(frag).ok();

        std::memcpy(work.data(), echo.data(), echo.size());
        if (auto p = in.receive(wire::Bytes(work.data(), echo.size()))) {
            ok += icmp.receive(*p, work, tx).ok();
        }
        if (auto p = in.receive(echo)) ok += icmp.receive(*p, reply_buf, tx, TxChecksum::Offload).ok();
        if (auto p = in.receive(unreach)) {
            auto r = icmp.receive(*p, reply_buf, tx);
            ok += r.ok() && r->action == IcmpAction::Error;
        }
        ok += tx.write_header(reply_buf, kPeerIp, wire::kIpProtoTcp, 1000).ok();

        // Resolution of several next hops; retries; some answered, the rest given up.
        for (int k = 0; k < 8; ++k) {
            const Ipv4Addr nh(0x0a000000u + 20 + static_cast<std::uint32_t>((it * 8 + k) % 200));
            auto r = cache.resolve(nh, &handles[k], t0);
            if (r.request) requests += build_arp_request(ifc, *r.request, frame).ok();
            dropped += r.status == ResolveStatus::Dropped;
        }
        for (int s = 1; s <= 4; ++s) {
            if (s == 2) {  // answers for half of them
                for (int k = 0; k < 8; k += 2) {
                    const Buf& msg = replies[static_cast<std::size_t>((it * 8 + k) % 200)];
                    auto o = arp.receive(msg, t0 + Duration::seconds(2), cache, frame);
                    if (o) released += o->released.size();
                }
            }
            auto d = cache.on_deadline(t0 + Duration::seconds(s));
            for (const ArpRequest& q : d.requests) requests += build_arp_request(ifc, q, frame).ok();
            freed += d.dropped.size();
        }
        auto a = arp.receive(arp_req, t0, cache, frame);
        ok += a.ok() && a->sent == ArpSent::Reply;
        ok += arp.receive(arp_conflict, t0, cache, frame).ok();
        ok += build_arp_announcement(ifc, frame).ok();
        ok += cache.confirm_reachable(kPeerIp, t0);
        freed += cache.remove(Ipv4Addr(0x0a000000u + 20 + static_cast<std::uint32_t>(it % 200))).size();
        sink += to_string(Ipv4Drop(it % kIpv4DropCount)).size() + to_string(IcmpDrop(it % kIcmpDropCount)).size() +
                to_string(ArpDrop(it % kArpDropCount)).size() + to_string(NeighborDrop(it % kNeighborDropCount)).size();
        sink += cache.lookup(kPeerIp, t0).has_value();
    }
    freed += cache.flush().size();
    g_counting.store(false);
    const std::size_t allocs = g_allocs.load();

    EXPECT_EQ(allocs, 0u);
    EXPECT_GT(ok, 200u * 10);
    EXPECT_GT(requests, 0u);
    EXPECT_GT(released, 0u);
    EXPECT_GT(freed, 0u);
    EXPECT_GT(cache.counters().evictions, 0u);
    EXPECT_GT(cache.counters().failed, 0u);
    EXPECT_EQ(cache.queued(), 0u);
    EXPECT_GT(sink, 0u);
    (void)dropped;
}
