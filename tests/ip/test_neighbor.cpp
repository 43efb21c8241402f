// The neighbour cache on a fake clock: miss -> one request, retries every second, give-up
// and drop of queued packets, release in order, queue and table limits, REACHABLE -> STALE
// -> unicast re-check, eviction, and a randomized check of the open-addressing index.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "ip_test_util.hpp"
#include "ustcp/ip/neighbor.hpp"

using namespace ustcp;
using namespace ustcp::ip;
using namespace iptest;

namespace {

int g_pkts[64];
PacketHandle pkt(int i) { return &g_pkts[i]; }

const ArpRequest kBroadcastReq{kPeerIp, MacAddr::broadcast()};

std::vector<PacketHandle> vec(std::span<const PacketHandle> s) { return {s.begin(), s.end()}; }

}  // namespace

TEST(NeighborConfig, Validation) {
    EXPECT_TRUE(NeighborConfig{}.validate().ok());
    EXPECT_EQ(NeighborConfig{.capacity = 0}.validate().error(), NeighborConfigError::BadCapacity);
    EXPECT_EQ(NeighborConfig{.capacity = kMaxNeighborCapacity + 1}.validate().error(),
              NeighborConfigError::BadCapacity);
    EXPECT_EQ(NeighborConfig{.max_requests = 0}.validate().error(), NeighborConfigError::NoRequests);
    EXPECT_EQ(NeighborConfig{.reachable_time = Duration::zero()}.validate().error(),
              NeighborConfigError::BadReachableTime);
    EXPECT_EQ(NeighborConfig{.retry_interval = Duration::millis(-1)}.validate().error(),
              NeighborConfigError::BadRetryInterval);
    EXPECT_EQ(to_string(NeighborConfigError::BadCapacity), "bad-capacity");
    EXPECT_EQ(to_string(NeighborState::Stale), "STALE");
    const char* drops[] = {"queue-full", "table-full", "resolution-failed", "flushed"};
    static_assert(std::size(drops) == kNeighborDropCount);
    for (std::size_t i = 0; i < kNeighborDropCount; ++i) EXPECT_EQ(to_string(NeighborDrop(i)), drops[i]);
}

TEST(NeighborCache, MissAsksOnceThenQueues) {
    NeighborCache c(NeighborConfig{});
    EXPECT_EQ(c.next_deadline(), std::nullopt);
    auto r = c.resolve(kPeerIp, pkt(0), at_ms(100));
    EXPECT_EQ(r.status, ResolveStatus::Queued);
    ASSERT_TRUE(r.request);
    EXPECT_EQ(*r.request, kBroadcastReq);
    EXPECT_FALSE(r.request->unicast());
    auto r2 = c.resolve(kPeerIp, pkt(1), at_ms(200));
    EXPECT_EQ(r2.status, ResolveStatus::Queued);
    EXPECT_FALSE(r2.request);  // one request per retry interval, from on_deadline
    auto r3 = c.resolve(kPeerIp, nullptr, at_ms(300));
    EXPECT_EQ(r3.status, ResolveStatus::Queued);
    EXPECT_FALSE(r3.request);
    EXPECT_EQ(c.next_deadline(), at_ms(1100));
    auto e = c.lookup(kPeerIp, at_ms(300));
    ASSERT_TRUE(e);
    EXPECT_EQ(e->state, NeighborState::Incomplete);
    EXPECT_EQ(e->queued, 2);
    EXPECT_EQ(e->requests_sent, 1);
    EXPECT_EQ(c.queued(), 2u);
    EXPECT_EQ(c.counters().misses, 1u);
    EXPECT_EQ(c.counters().requests_sent, 1u);
    EXPECT_EQ(c.counters().queued, 2u);
}

TEST(NeighborCache, RetriesEverySecondThenGivesUpAndDropsTheQueueInOrder) {
    NeighborCache c(NeighborConfig{.max_requests = 3});
    (void)c.resolve(kPeerIp, pkt(0), at_ms(0));
    (void)c.resolve(kPeerIp, pkt(1), at_ms(10));
    (void)c.resolve(kPeerIp, pkt(2), at_ms(20));

    auto d = c.on_deadline(at_ms(999));
    EXPECT_TRUE(d.requests.empty());
    EXPECT_TRUE(d.dropped.empty());

    d = c.on_deadline(at_ms(1000));
    ASSERT_EQ(d.requests.size(), 1u);
    EXPECT_EQ(d.requests[0], kBroadcastReq);
    EXPECT_TRUE(d.dropped.empty());
    EXPECT_EQ(c.next_deadline(), at_ms(2000));
    EXPECT_TRUE(c.on_deadline(at_ms(1500)).requests.empty());

    d = c.on_deadline(at_ms(2000));
    ASSERT_EQ(d.requests.size(), 1u);
    EXPECT_EQ(c.lookup(kPeerIp, at_ms(2000))->requests_sent, 3);
    EXPECT_EQ(c.next_deadline(), at_ms(3000));

    // Three requests went out (t = 0, 1, 2 s); a second after the last, give up.
    d = c.on_deadline(at_ms(3000));
    EXPECT_TRUE(d.requests.empty());
    EXPECT_EQ(vec(d.dropped), (std::vector<PacketHandle>{pkt(0), pkt(1), pkt(2)}));
    EXPECT_FALSE(c.lookup(kPeerIp, at_ms(3000)));
    EXPECT_EQ(c.size(), 0u);
    EXPECT_EQ(c.queued(), 0u);
    EXPECT_EQ(c.next_deadline(), std::nullopt);
    EXPECT_EQ(c.counters().requests_sent, 3u);
    EXPECT_EQ(c.counters().failed, 1u);
    EXPECT_EQ(c.counters().drops[NeighborDrop::ResolutionFailed], 3u);

    // The next packet starts a new resolution with a new broadcast.
    auto r = c.resolve(kPeerIp, pkt(3), at_ms(3001));
    EXPECT_EQ(r.status, ResolveStatus::Queued);
    EXPECT_TRUE(r.request);
}

TEST(NeighborCache, OneRequestMeansGiveUpAfterOneInterval) {
    NeighborCache c(NeighborConfig{.max_requests = 1, .retry_interval = Duration::millis(250)});
    (void)c.resolve(kPeerIp, pkt(0), at_ms(0));
    auto d = c.on_deadline(at_ms(250));
    EXPECT_TRUE(d.requests.empty());
    EXPECT_EQ(vec(d.dropped), std::vector<PacketHandle>{pkt(0)});
}

TEST(NeighborCache, LateTimerStillSpacesRetriesFromWhenTheyWereSent) {
    NeighborCache c(NeighborConfig{.max_requests = 3});
    (void)c.resolve(kPeerIp, pkt(0), at_ms(0));
    // The engine was busy: the first retry goes out at 5 s, only one per call.
    auto d = c.on_deadline(at_ms(5000));
    EXPECT_EQ(d.requests.size(), 1u);
    EXPECT_EQ(c.next_deadline(), at_ms(6000));
    EXPECT_TRUE(c.on_deadline(at_ms(5999)).requests.empty());
    EXPECT_EQ(c.on_deadline(at_ms(6000)).requests.size(), 1u);
    EXPECT_EQ(c.on_deadline(at_ms(7000)).dropped.size(), 1u);
}

TEST(NeighborCache, ReplyReleasesQueueInOrderAndLaterLookupsHit) {
    NeighborCache c(NeighborConfig{});
    for (int i = 0; i < 4; ++i) (void)c.resolve(kPeerIp, pkt(i), at_ms(i));
    (void)c.on_deadline(at_ms(1000));  // one retry in flight
    auto u = c.update(kPeerIp, kPeerMac, at_ms(1200), Learned::AddressedToUs);
    EXPECT_FALSE(u.created);
    EXPECT_TRUE(u.known);
    EXPECT_EQ(u.mac, kPeerMac);
    EXPECT_EQ(vec(u.released), (std::vector<PacketHandle>{pkt(0), pkt(1), pkt(2), pkt(3)}));
    EXPECT_EQ(c.next_deadline(), std::nullopt);  // nothing to retry
    EXPECT_TRUE(c.on_deadline(at_ms(10000)).requests.empty());
    EXPECT_EQ(c.queued(), 0u);
    EXPECT_EQ(c.counters().resolved, 1u);
    EXPECT_EQ(c.counters().released, 4u);

    auto r = c.resolve(kPeerIp, pkt(9), at_ms(1300));
    EXPECT_EQ(r.status, ResolveStatus::Ready);
    EXPECT_EQ(r.mac, kPeerMac);
    EXPECT_FALSE(r.request);
    EXPECT_EQ(c.counters().hits, 1u);
}

TEST(NeighborCache, QueueOverflowRefusesTheNewPacket) {
    NeighborCache c(NeighborConfig{.queue_per_entry = 2});
    EXPECT_EQ(c.resolve(kPeerIp, pkt(0), at_ms(0)).status, ResolveStatus::Queued);
    EXPECT_EQ(c.resolve(kPeerIp, pkt(1), at_ms(0)).status, ResolveStatus::Queued);
    auto r = c.resolve(kPeerIp, pkt(2), at_ms(0));
    EXPECT_EQ(r.status, ResolveStatus::Dropped);
    EXPECT_EQ(r.drop, NeighborDrop::QueueFull);
    EXPECT_EQ(c.counters().drops[NeighborDrop::QueueFull], 1u);
    // The first packets (a SYN, typically) are the ones kept.
    EXPECT_EQ(vec(c.update(kPeerIp, kPeerMac, at_ms(1), Learned::AddressedToUs).released),
              (std::vector<PacketHandle>{pkt(0), pkt(1)}));
}

TEST(NeighborCache, ZeroQueueStillResolves) {
    NeighborCache c(NeighborConfig{.queue_per_entry = 0});
    auto r = c.resolve(kPeerIp, pkt(0), at_ms(0));
    EXPECT_EQ(r.status, ResolveStatus::Dropped);
    EXPECT_EQ(r.drop, NeighborDrop::QueueFull);
    EXPECT_TRUE(r.request);
    EXPECT_TRUE(c.update(kPeerIp, kPeerMac, at_ms(1), Learned::AddressedToUs).released.empty());
    EXPECT_EQ(c.resolve(kPeerIp, pkt(0), at_ms(2)).status, ResolveStatus::Ready);
}

TEST(NeighborCache, ExpiryMakesStaleWhichIsUsedAndRecheckedByUnicast) {
    NeighborCache c(NeighborConfig{.max_requests = 2});
    (void)c.update(kPeerIp, kPeerMac, at_ms(0), Learned::AddressedToUs);
    EXPECT_EQ(c.lookup(kPeerIp, at_ms(29999))->state, NeighborState::Reachable);
    EXPECT_EQ(c.lookup(kPeerIp, at_ms(30000))->state, NeighborState::Stale);
    EXPECT_EQ(c.next_deadline(), std::nullopt);  // expiry needs no timer

    auto r = c.resolve(kPeerIp, pkt(0), at_ms(30000));
    EXPECT_EQ(r.status, ResolveStatus::Ready);  // traffic does not stall
    EXPECT_EQ(r.mac, kPeerMac);
    ASSERT_TRUE(r.request);
    EXPECT_EQ(*r.request, (ArpRequest{kPeerIp, kPeerMac}));
    EXPECT_TRUE(r.request->unicast());
    auto again = c.resolve(kPeerIp, pkt(1), at_ms(30100));
    EXPECT_EQ(again.status, ResolveStatus::Ready);
    EXPECT_FALSE(again.request);
    EXPECT_EQ(c.counters().stale_hits, 2u);
    EXPECT_EQ(c.counters().probes_sent, 1u);

    auto d = c.on_deadline(at_ms(31000));
    ASSERT_EQ(d.requests.size(), 1u);
    EXPECT_EQ(d.requests[0], (ArpRequest{kPeerIp, kPeerMac}));

    // The answer makes it REACHABLE again and ends the re-check.
    (void)c.update(kPeerIp, kPeerMac, at_ms(31500), Learned::AddressedToUs);
    EXPECT_EQ(c.lookup(kPeerIp, at_ms(31500))->state, NeighborState::Reachable);
    EXPECT_EQ(c.next_deadline(), std::nullopt);
    EXPECT_EQ(c.resolve(kPeerIp, pkt(2), at_ms(61499)).status, ResolveStatus::Ready);
    EXPECT_EQ(c.lookup(kPeerIp, at_ms(61500))->state, NeighborState::Stale);
}

TEST(NeighborCache, UnansweredRecheckRemovesTheEntryAndReResolvesByBroadcast) {
    NeighborCache c(NeighborConfig{.max_requests = 2, .reachable_time = Duration::seconds(5)});
    (void)c.update(kPeerIp, kPeerMac, at_ms(0), Learned::AddressedToUs);
    auto r = c.resolve(kPeerIp, pkt(0), at_ms(6000));
    ASSERT_TRUE(r.request);
    EXPECT_TRUE(r.request->unicast());
    EXPECT_EQ(c.on_deadline(at_ms(7000)).requests.size(), 1u);
    auto d = c.on_deadline(at_ms(8000));
    EXPECT_TRUE(d.requests.empty());
    EXPECT_TRUE(d.dropped.empty());  // STALE entries hold no packets
    EXPECT_FALSE(c.lookup(kPeerIp, at_ms(8000)));
    EXPECT_EQ(c.counters().probe_failed, 1u);
    auto again = c.resolve(kPeerIp, pkt(1), at_ms(8001));
    EXPECT_EQ(again.status, ResolveStatus::Queued);
    ASSERT_TRUE(again.request);
    EXPECT_FALSE(again.request->unicast());
}

TEST(NeighborCache, ConfirmReachableRefreshesAndStopsARecheck) {
    NeighborCache c(NeighborConfig{.reachable_time = Duration::seconds(5)});
    EXPECT_FALSE(c.confirm_reachable(kPeerIp, at_ms(0)));
    (void)c.update(kPeerIp, kPeerMac, at_ms(0), Learned::AddressedToUs);
    (void)c.resolve(kPeerIp, pkt(0), at_ms(5000));  // STALE: re-check starts
    ASSERT_TRUE(c.next_deadline());
    EXPECT_TRUE(c.confirm_reachable(kPeerIp, at_ms(5100)));
    EXPECT_EQ(c.next_deadline(), std::nullopt);
    EXPECT_EQ(c.lookup(kPeerIp, at_ms(10099))->state, NeighborState::Reachable);
    (void)c.resolve(kPeer2Ip, pkt(1), at_ms(5200));
    EXPECT_FALSE(c.confirm_reachable(kPeer2Ip, at_ms(5300)));  // INCOMPLETE stays so
    EXPECT_EQ(c.counters().confirmations, 1u);
}

TEST(NeighborCache, OverheardEvidence) {
    NeighborCache c(NeighborConfig{});
    // Unknown sender: nothing is created.
    auto u = c.update(kPeerIp, kPeerMac, at_ms(0), Learned::Overheard);
    EXPECT_FALSE(u.created);
    EXPECT_FALSE(u.known);
    EXPECT_EQ(c.size(), 0u);
    // INCOMPLETE + overheard (e.g. the host's own announcement): queue released, STALE.
    (void)c.resolve(kPeerIp, pkt(0), at_ms(0));
    u = c.update(kPeerIp, kPeerMac, at_ms(10), Learned::Overheard);
    EXPECT_EQ(vec(u.released), std::vector<PacketHandle>{pkt(0)});
    EXPECT_EQ(c.lookup(kPeerIp, at_ms(10))->state, NeighborState::Stale);
    EXPECT_EQ(c.next_deadline(), std::nullopt);
    // REACHABLE + overheard, same MAC: unchanged.
    (void)c.update(kPeerIp, kPeerMac, at_ms(20), Learned::AddressedToUs);
    u = c.update(kPeerIp, kPeerMac, at_ms(30), Learned::Overheard);
    EXPECT_FALSE(u.mac_changed);
    EXPECT_EQ(c.lookup(kPeerIp, at_ms(30))->state, NeighborState::Reachable);
    EXPECT_EQ(c.lookup(kPeerIp, at_ms(30))->updated_at, at_ms(20));
    // A new MAC: taken, STALE until re-checked.
    u = c.update(kPeerIp, kPeer2Mac, at_ms(40), Learned::Overheard);
    EXPECT_TRUE(u.mac_changed);
    auto e = c.lookup(kPeerIp, at_ms(40));
    EXPECT_EQ(e->mac, kPeer2Mac);
    EXPECT_EQ(e->state, NeighborState::Stale);
    EXPECT_EQ(c.counters().mac_changes, 1u);
}

TEST(NeighborCache, TableFullEvictsTheLeastRecentlyUpdatedResolvedEntry) {
    NeighborCache c(NeighborConfig{.capacity = 2});
    (void)c.update(Ipv4Addr(10, 0, 0, 20), kPeerMac, at_ms(0), Learned::AddressedToUs);
    (void)c.update(Ipv4Addr(10, 0, 0, 21), kPeer2Mac, at_ms(10), Learned::AddressedToUs);
    (void)c.update(Ipv4Addr(10, 0, 0, 20), kPeerMac, at_ms(20), Learned::AddressedToUs);  // .20 now newer
    auto r = c.resolve(Ipv4Addr(10, 0, 0, 22), pkt(0), at_ms(30));
    EXPECT_EQ(r.status, ResolveStatus::Queued);
    EXPECT_FALSE(c.lookup(Ipv4Addr(10, 0, 0, 21), at_ms(30)));
    EXPECT_TRUE(c.lookup(Ipv4Addr(10, 0, 0, 20), at_ms(30)));
    EXPECT_EQ(c.counters().evictions, 1u);
    EXPECT_EQ(c.size(), 2u);
}

TEST(NeighborCache, TableFullOfIncompleteEntriesRefuses) {
    NeighborCache c(NeighborConfig{.capacity = 2});
    (void)c.resolve(Ipv4Addr(10, 0, 0, 20), pkt(0), at_ms(0));
    (void)c.resolve(Ipv4Addr(10, 0, 0, 21), pkt(1), at_ms(0));
    auto r = c.resolve(Ipv4Addr(10, 0, 0, 22), pkt(2), at_ms(0));
    EXPECT_EQ(r.status, ResolveStatus::Dropped);
    EXPECT_EQ(r.drop, NeighborDrop::TableFull);
    EXPECT_FALSE(r.request);
    EXPECT_EQ(c.counters().drops[NeighborDrop::TableFull], 1u);
    auto u = c.update(Ipv4Addr(10, 0, 0, 23), kPeerMac, at_ms(0), Learned::AddressedToUs);
    EXPECT_FALSE(u.created);
    EXPECT_EQ(c.counters().learn_refused, 1u);
    EXPECT_EQ(c.counters().evictions, 0u);
    // Once one resolves it becomes evictable.
    (void)c.update(Ipv4Addr(10, 0, 0, 20), kPeerMac, at_ms(1), Learned::AddressedToUs);
    EXPECT_EQ(c.resolve(Ipv4Addr(10, 0, 0, 22), pkt(2), at_ms(2)).status, ResolveStatus::Queued);
    EXPECT_FALSE(c.lookup(Ipv4Addr(10, 0, 0, 20), at_ms(2)));
}

TEST(NeighborCache, EvictingAnEntryUnderRecheckCancelsItsDeadline) {
    NeighborCache c(NeighborConfig{.capacity = 1, .reachable_time = Duration::seconds(1)});
    (void)c.update(kPeerIp, kPeerMac, at_ms(0), Learned::AddressedToUs);
    (void)c.resolve(kPeerIp, pkt(0), at_ms(2000));  // STALE re-check
    ASSERT_TRUE(c.next_deadline());
    auto r = c.resolve(kPeer2Ip, pkt(1), at_ms(2100));  // evicts it
    EXPECT_EQ(r.status, ResolveStatus::Queued);
    EXPECT_EQ(c.next_deadline(), at_ms(3100));  // the new resolution's only
    auto d = c.on_deadline(at_ms(3100));
    ASSERT_EQ(d.requests.size(), 1u);
    EXPECT_EQ(d.requests[0].target, kPeer2Ip);
}

TEST(NeighborCache, DeadlinesOfSeveralEntriesComeInOrder) {
    NeighborCache c(NeighborConfig{.max_requests = 2});
    const Ipv4Addr a(10, 0, 0, 30), b(10, 0, 0, 31), d3(10, 0, 0, 32);
    (void)c.resolve(a, pkt(0), at_ms(0));
    (void)c.resolve(b, pkt(1), at_ms(300));
    (void)c.resolve(d3, pkt(2), at_ms(600));
    EXPECT_EQ(c.next_deadline(), at_ms(1000));
    auto d = c.on_deadline(at_ms(1300));
    ASSERT_EQ(d.requests.size(), 2u);
    EXPECT_EQ(d.requests[0].target, a);
    EXPECT_EQ(d.requests[1].target, b);
    EXPECT_EQ(c.next_deadline(), at_ms(1600));
    d = c.on_deadline(at_ms(1600));
    ASSERT_EQ(d.requests.size(), 1u);
    EXPECT_EQ(d.requests[0].target, d3);
    (void)c.update(b, kPeerMac, at_ms(1700), Learned::AddressedToUs);
    d = c.on_deadline(at_ms(2600));
    EXPECT_EQ(vec(d.dropped), (std::vector<PacketHandle>{pkt(0), pkt(2)}));
    EXPECT_EQ(c.size(), 1u);
}

TEST(NeighborCache, RemoveAndFlushHandBackEveryPacket) {
    NeighborCache c(NeighborConfig{});
    (void)c.resolve(kPeerIp, pkt(0), at_ms(0));
    (void)c.resolve(kPeerIp, pkt(1), at_ms(0));
    (void)c.resolve(kPeer2Ip, pkt(2), at_ms(0));
    (void)c.update(kGwIp, kGwMac, at_ms(0), Learned::AddressedToUs);
    EXPECT_EQ(vec(c.remove(kPeerIp)), (std::vector<PacketHandle>{pkt(0), pkt(1)}));
    EXPECT_TRUE(c.remove(kPeerIp).empty());
    EXPECT_EQ(c.size(), 2u);
    EXPECT_EQ(vec(c.flush()), std::vector<PacketHandle>{pkt(2)});
    EXPECT_EQ(c.size(), 0u);
    EXPECT_EQ(c.queued(), 0u);
    EXPECT_EQ(c.next_deadline(), std::nullopt);
    EXPECT_EQ(c.counters().drops[NeighborDrop::Flushed], 3u);
    // Still usable afterwards.
    EXPECT_EQ(c.resolve(kPeerIp, pkt(3), at_ms(1)).status, ResolveStatus::Queued);
    EXPECT_EQ(c.size(), 1u);
}

TEST(NeighborCache, FullTableAtCapacityAndBack) {
    constexpr std::uint32_t kCap = 300;
    NeighborCache c(NeighborConfig{.capacity = kCap});
    for (std::uint32_t i = 0; i < kCap; ++i) {
        (void)c.update(Ipv4Addr(0x0a000000u + 100 + i), kPeerMac, at_ms(i), Learned::AddressedToUs);
    }
    EXPECT_EQ(c.size(), kCap);
    for (std::uint32_t i = 0; i < kCap; ++i) {
        auto r = c.resolve(Ipv4Addr(0x0a000000u + 100 + i), nullptr, at_ms(kCap));
        ASSERT_EQ(r.status, ResolveStatus::Ready) << i;
    }
    EXPECT_EQ(c.counters().evictions, 0u);
    for (std::uint32_t i = 0; i < kCap; i += 2) (void)c.remove(Ipv4Addr(0x0a000000u + 100 + i));
    for (std::uint32_t i = 1; i < kCap; i += 2) {
        ASSERT_TRUE(c.lookup(Ipv4Addr(0x0a000000u + 100 + i), at_ms(kCap))) << i;
    }
    EXPECT_EQ(c.size(), kCap / 2);
}

TEST(NeighborCache, RandomOperationsMatchAModel) {
    // Small table (16 slots for 8 entries), addresses that collide, inserts and removals in
    // random order: exercises linear probing and backward-shift deletion against std::map.
    std::mt19937 rng(12345);
    NeighborCache c(NeighborConfig{.capacity = 8, .reachable_time = Duration::seconds(1000)});
    std::map<std::uint32_t, MacAddr> model;
    for (int step = 0; step < 20000; ++step) {
        const std::uint32_t ip = 0x0a000000u + (rng() % 24) * 16;
        const Instant now = at_ms(step);
        const int op = static_cast<int>(rng() % 3);
        if (op == 0 && (model.size() < 8 || model.count(ip))) {
            MacAddr m({0x02, 0, 0, 0, static_cast<std::uint8_t>(ip >> 8), static_cast<std::uint8_t>(ip)});
            (void)c.update(Ipv4Addr(ip), m, now, Learned::AddressedToUs);
            model[ip] = m;
        } else if (op == 1) {
            (void)c.remove(Ipv4Addr(ip));
            model.erase(ip);
        } else {
            auto e = c.lookup(Ipv4Addr(ip), now);
            auto it = model.find(ip);
            ASSERT_EQ(e.has_value(), it != model.end()) << "step " << step;
            if (e) {
                ASSERT_EQ(e->mac, it->second);
            }
        }
        ASSERT_EQ(c.size(), model.size());
    }
    EXPECT_EQ(c.counters().evictions, 0u);
    for (const auto& [ip, mac] : model) {
        auto e = c.lookup(Ipv4Addr(ip), at_ms(20000));
        ASSERT_TRUE(e);
        EXPECT_EQ(e->mac, mac);
    }
}

TEST(NeighborCache, MovedCacheKeepsItsState) {
    NeighborCache a(NeighborConfig{});
    (void)a.resolve(kPeerIp, pkt(0), at_ms(0));
    NeighborCache b(std::move(a));
    EXPECT_EQ(b.size(), 1u);
    EXPECT_EQ(vec(b.update(kPeerIp, kPeerMac, at_ms(1), Learned::AddressedToUs).released),
              std::vector<PacketHandle>{pkt(0)});
}
