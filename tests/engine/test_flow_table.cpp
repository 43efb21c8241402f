// engine::FlowTable: random insert / find / remove / reclaim against std::unordered_map
// (tables small enough to wrap and shift constantly, and a large one), grace-period
// accounting (kFull while values are pending), the hash's spread on clustered tuples, a
// writer that never waits for a stalled reader, and readers on other threads looking up
// and iterating while the writer churns a million flows (flow_table_stress.hpp).
#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <map>
#include <random>
#include <set>
#include <unordered_map>
#include <vector>

#include "flow_table_stress.hpp"
#include "ustcp/engine/flow_table.hpp"
#include "ustcp/engine/qsbr.hpp"

using namespace ustcp;
using namespace ustcp::engine;

namespace {

/// Grace periods end when the test says so: check(t) is t <= allowed.
struct ManualReclaimer {
    std::uint64_t start() noexcept { return ++token; }
    bool check(std::uint64_t t) noexcept { return t <= allowed; }
    std::uint64_t token = 0;
    std::uint64_t allowed = 0;
};
static_assert(Reclaimer<ManualReclaimer>);
static_assert(Reclaimer<Qsbr>);

std::vector<FourTuple> random_universe(std::size_t n, std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::set<FourTuple> s;
    while (s.size() < n) {
        s.insert({Ipv4Addr(rng()), Ipv4Addr(rng() % 4 == 0 ? 0x0a000001u : static_cast<std::uint32_t>(rng())),
                  static_cast<std::uint16_t>(rng() % 3 == 0 ? 80 : rng()), static_cast<std::uint16_t>(rng())});
    }
    return {s.begin(), s.end()};
}

void random_against_map(std::size_t capacity, std::size_t universe, int ops, std::uint32_t seed) {
    SCOPED_TRACE("capacity " + std::to_string(capacity) + " seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    const auto keys = random_universe(universe, seed);
    std::vector<int> vals(universe);  // the value stored for keys[i] is &vals[i]
    ManualReclaimer rec;
    FlowTable<int, ManualReclaimer> table({.capacity = capacity, .seed = seed * 31ull}, rec);
    std::unordered_map<FourTuple, int*> model;
    std::deque<std::pair<int*, std::uint64_t>> pending;  // value, token
    const int check_every = std::max(97, static_cast<int>(capacity / 8));  // full comparisons cost O(slots)

    for (int op = 0; op < ops; ++op) {
        const std::size_t k = rng() % universe;
        const FourTuple& t = keys[k];
        switch (rng() % 8) {
            case 0:
            case 1:
            case 2: {
                const auto r = table.insert(t, &vals[k]);
                if (model.count(t) != 0) {
                    ASSERT_FALSE(r);
                    ASSERT_EQ(r.error(), FlowTableError::kExists);
                } else if (model.size() + pending.size() >= capacity) {
                    ASSERT_FALSE(r);
                    ASSERT_EQ(r.error(), FlowTableError::kFull);
                } else {
                    ASSERT_TRUE(r);
                    model[t] = &vals[k];
                }
                break;
            }
            case 3:
            case 4: {
                const bool removed = table.remove(t);
                auto it = model.find(t);
                ASSERT_EQ(removed, it != model.end());
                if (removed) {
                    pending.emplace_back(it->second, rec.token);
                    model.erase(it);
                }
                break;
            }
            case 5: {
                if (rng() % 2 == 0) {  // grace periods end in order (the Reclaimer contract)
                    const std::uint64_t lag = rng() % 3;
                    rec.allowed = std::max(rec.allowed, rec.token > lag ? rec.token - lag : 0);
                }
                std::vector<int*> got;
                table.reclaim([&](int* v) { got.push_back(v); });
                std::vector<int*> want;
                while (!pending.empty() && pending.front().second <= rec.allowed) {
                    want.push_back(pending.front().first);
                    pending.pop_front();
                }
                ASSERT_EQ(got, want);
                break;
            }
            default: {
                int* v = table.find(t);
                auto it = model.find(t);
                ASSERT_EQ(v, it == model.end() ? nullptr : it->second);
                ASSERT_EQ(table.find_concurrent(t), v);
                FourTuple burst[3] = {t, keys[rng() % universe], keys[rng() % universe]};
                int* out[3];
                table.find_burst(burst, out);
                for (int i = 0; i < 3; ++i) ASSERT_EQ(out[i], table.find(burst[i]));
                break;
            }
        }
        ASSERT_EQ(table.size(), model.size());
        ASSERT_EQ(table.pending(), pending.size());
        if (op % check_every == 0) {
            std::unordered_map<FourTuple, int*> seen;
            table.for_each([&](const FourTuple& ft, int* v) { ASSERT_TRUE(seen.emplace(ft, v).second); });
            ASSERT_EQ(seen, model);
            seen.clear();
            const bool exact = table.for_each_concurrent([&](const FourTuple& ft, int* v) {
                ASSERT_TRUE(seen.emplace(ft, v).second);
            });
            ASSERT_TRUE(exact);  // no concurrent writer: nothing moved
            ASSERT_EQ(seen, model);
        }
    }
}

}  // namespace

TEST(FlowTable, RandomOperationsMatchUnorderedMapSmallTables) {
    // 2..16 slots per capacity unit: full clusters that wrap past the end and shift on every removal.
    for (std::size_t cap : {1u, 2u, 3u, 7u, 8u, 9u, 31u}) {
        for (std::uint32_t seed = 1; seed <= 4; ++seed) random_against_map(cap, cap * 3 + 2, 20'000, seed);
    }
}

TEST(FlowTable, RandomOperationsMatchUnorderedMapLarge) {
    random_against_map(5000, 12'000, 300'000, 99);
}

TEST(FlowTable, ZeroCapacityIsAlwaysFull) {
    NoReaders r;
    FlowTable<int, NoReaders> table({.capacity = 0}, r);
    int v = 0;
    const auto res = table.insert(FourTuple{}, &v);
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error(), FlowTableError::kFull);
    EXPECT_EQ(table.find(FourTuple{}), nullptr);
    EXPECT_FALSE(table.remove(FourTuple{}));
}

TEST(FlowTable, PendingValuesCountAgainstCapacity) {
    ManualReclaimer rec;
    FlowTable<int, ManualReclaimer> table({.capacity = 4, .seed = 1}, rec);
    int v[6] = {};
    FourTuple t[6];
    for (int i = 0; i < 6; ++i) {
        t[i] = {Ipv4Addr(10, 0, 0, 1), Ipv4Addr(10, 0, 0, 2), 80, static_cast<std::uint16_t>(i)};
    }
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(table.insert(t[i], &v[i]));
    EXPECT_EQ(table.insert(t[4], &v[4]).error(), FlowTableError::kFull);
    EXPECT_EQ(table.insert(t[0], &v[0]).error(), FlowTableError::kExists);
    ASSERT_TRUE(table.remove(t[0]));
    ASSERT_TRUE(table.remove(t[1]));
    EXPECT_EQ(table.find(t[0]), nullptr);
    EXPECT_EQ(table.size(), 2u);
    EXPECT_EQ(table.pending(), 2u);
    EXPECT_EQ(table.insert(t[4], &v[4]).error(), FlowTableError::kFull);  // grace periods still open
    std::vector<int*> back;
    EXPECT_EQ(table.reclaim([&](int* p) { back.push_back(p); }), 0u);
    rec.allowed = 1;  // t[0]'s removal only
    EXPECT_EQ(table.reclaim([&](int* p) { back.push_back(p); }), 1u);
    EXPECT_EQ(back, std::vector<int*>{&v[0]});
    ASSERT_TRUE(table.insert(t[4], &v[4]));
    EXPECT_EQ(table.insert(t[5], &v[5]).error(), FlowTableError::kFull);
    rec.allowed = 99;
    EXPECT_EQ(table.reclaim([&](int* p) { back.push_back(p); }), 1u);
    EXPECT_EQ(back.back(), &v[1]);
    ASSERT_TRUE(table.insert(t[5], &v[5]));
}

TEST(FlowTable, ClusteredTuplesSpreadEvenly) {
    // A server's view: one local address and port, peers from one /16 on sequential ports.
    NoReaders r;
    constexpr std::size_t kN = 1u << 19;  // 512 Ki flows in 1 Mi slots
    FlowTable<int, NoReaders> table({.capacity = kN, .seed = 0x5eed}, r);
    int dummy = 0;
    for (std::size_t i = 0; i < kN; ++i) {
        const FourTuple t{Ipv4Addr(10, 0, 0, 1), Ipv4Addr(static_cast<std::uint32_t>(0xc0a80000u + (i >> 10))), 443,
                          static_cast<std::uint16_t>(32768 + (i & 1023))};
        ASSERT_TRUE(table.insert(t, &dummy));
    }
    // Linear probing at load 1/2 with a uniform hash: the longest run over 512 Ki keys is
    // a few dozen slots; a biased hash gives thousands.
    EXPECT_LT(table.longest_probe(), 80u);
    std::size_t found = 0;
    table.for_each([&](const FourTuple& t, int*) { found += table.find(t) != nullptr ? 1 : 0; });
    EXPECT_EQ(found, kN);
}

TEST(FlowTable, CallerProvidedMemory) {
    NoReaders r;
    const std::size_t bytes = FlowTable<int, NoReaders>::memory_bytes(100);
    EXPECT_EQ(bytes, 256u * 32u);
    alignas(64) static std::byte mem[256 * 32];
    FlowTable<int, NoReaders> table({.capacity = 100, .seed = 3}, r, mem);
    EXPECT_EQ(table.slot_count(), 256u);
    int v = 0;
    ASSERT_TRUE(table.insert(FourTuple{Ipv4Addr(1), Ipv4Addr(2), 3, 4}, &v));
    EXPECT_EQ(table.find(FourTuple{Ipv4Addr(1), Ipv4Addr(2), 3, 4}), &v);
}

TEST(FlowTable, ReclaimerRefErasesTheScheme) {
    Qsbr q(2);
    ReclaimerRef ref(q);
    FlowTable<int, ReclaimerRef> table({.capacity = 8, .seed = 9}, ref);
    int v = 0;
    const FourTuple t{Ipv4Addr(1), Ipv4Addr(2), 3, 4};
    q.register_reader(1);
    q.online(1);
    ASSERT_TRUE(table.insert(t, &v));
    ASSERT_TRUE(table.remove(t));
    EXPECT_EQ(table.reclaim([](int*) {}), 0u);  // reader 1 has not reported
    q.quiescent(1);
    EXPECT_EQ(table.reclaim([](int*) {}), 1u);
    q.offline(1);
}

TEST(FlowTable, WriterNeverWaitsForAStalledReader) {
    // A reader online that never reports holds every grace period open. The writer keeps
    // going: removals return at once, reclaim() returns nothing, insert() says kFull once
    // capacity is used up by pending values; all of it comes back when the reader reports.
    Qsbr q(1);
    q.register_reader(0);
    std::atomic<int> stage{0};
    std::thread reader([&] {
        q.online(0);
        stage = 1;
        while (stage.load() != 2) std::this_thread::yield();
        q.quiescent(0);
        stage = 3;
        while (stage.load() != 4) std::this_thread::yield();
        q.offline(0);
    });
    while (stage.load() != 1) std::this_thread::yield();

    constexpr std::size_t kCap = 4096;
    FlowTable<int, Qsbr> table({.capacity = kCap, .seed = 5}, q);
    std::vector<int> vals(kCap);
    auto key = [](std::size_t i) {
        return FourTuple{Ipv4Addr(10, 0, 0, 1), Ipv4Addr(10, 1, 0, 1), 80, static_cast<std::uint16_t>(i)};
    };
    std::size_t i = 0;
    for (; i < kCap; ++i) {
        ASSERT_TRUE(table.insert(key(i), &vals[i]));
        ASSERT_TRUE(table.remove(key(i)));
        ASSERT_EQ(table.reclaim([](int*) {}), 0u);
    }
    EXPECT_EQ(table.pending(), kCap);
    EXPECT_EQ(table.insert(key(i), &vals[0]).error(), FlowTableError::kFull);

    stage = 2;
    while (stage.load() != 3) std::this_thread::yield();
    std::size_t back = table.reclaim([](int*) {});
    EXPECT_EQ(back, kCap);
    EXPECT_TRUE(table.insert(key(i), &vals[0]));
    stage = 4;
    reader.join();
}

TEST(FlowTable, ConcurrentReadersMillionFlowChurn) {
    test::StressConfig cfg;  // 1 M insertions and removals, 3 readers
    Qsbr q(cfg.readers);
    FlowTable<test::StressObj, Qsbr> table({.capacity = cfg.capacity, .seed = 0xfeed}, q);
    const test::StressResult r = test::run_flow_table_stress(table, q, cfg);
    std::printf("writer: %llu ops in %.0f ms; per op (clock reads included) p50 < %llu ns, p99 < %llu ns, "
                "p99.9 < %llu ns, max %lld us (preemption: 2 cores, %u readers); %llu inserts refused for pending "
                "values\nreaders: %llu lookups (%llu hits), %llu scans (%llu exact) of %llu entries\n",
                static_cast<unsigned long long>(r.writer_ops), static_cast<double>(r.writer_total.count()) / 1e6,
                static_cast<unsigned long long>(r.writer_quantile_ns(0.5)),
                static_cast<unsigned long long>(r.writer_quantile_ns(0.99)),
                static_cast<unsigned long long>(r.writer_quantile_ns(0.999)),
                static_cast<long long>(r.writer_max_op.count() / 1000), cfg.readers,
                static_cast<unsigned long long>(r.writer_full),
                static_cast<unsigned long long>(r.lookups), static_cast<unsigned long long>(r.hits),
                static_cast<unsigned long long>(r.scans), static_cast<unsigned long long>(r.exact_scans),
                static_cast<unsigned long long>(r.scanned_entries));
    EXPECT_EQ(r.torn, 0u);
    EXPECT_EQ(r.freed, 0u);
    EXPECT_EQ(r.stable_missed, 0u);
    EXPECT_EQ(r.false_misses, 0u);
    EXPECT_EQ(r.phantoms, 0u);
    EXPECT_EQ(r.pending_at_end, 0u);
    EXPECT_EQ(r.in_table_at_end, cfg.live + cfg.stable);
    EXPECT_GT(r.lookups, 0u);
    EXPECT_GT(r.scans, 0u);
    EXPECT_EQ(r.reclaimed, cfg.insertions - cfg.live);
}
