// The flow table's DPDK side: engine::FlowTable with dpdk::RcuQsbr (rte_rcu_qsbr) under
// the million-flow churn with reader threads (no EAL needed), and dpdk::RteFlowTable
// (rte_hash, lock-free readers) against std::unordered_map on random operations (EAL
// initialised by init_test_eal: --no-pci --no-huge, a private --file-prefix).
#include <gtest/gtest.h>

#include <cerrno>
#include <deque>
#include <random>
#include <set>
#include <unordered_map>
#include <vector>

#include "flow_table_stress.hpp"
#include "ustcp/dpdk/flow_hash.hpp"
#include "ustcp/dpdk/rcu.hpp"
#include "ustcp/dpdk/test_eal.hpp"
#include "ustcp/engine/flow_table.hpp"
#include "ustcp/engine/reclaim.hpp"

using namespace ustcp;

static_assert(engine::Reclaimer<dpdk::RcuQsbr>);

TEST(RcuQsbr, CreateRejectsZeroReaders) {
    auto q = dpdk::RcuQsbr::create(0);
    ASSERT_FALSE(q);
    EXPECT_EQ(q.error(), EINVAL);
}

TEST(RcuQsbr, GracePeriodWaitsForOnlineReaders) {
    auto q = dpdk::RcuQsbr::create(4);
    ASSERT_TRUE(q);
    dpdk::RcuQsbr& r = **q;
    const std::uint64_t t0 = r.start();
    EXPECT_TRUE(r.check(t0));  // nobody registered
    r.register_reader(2);
    r.online(2);
    const std::uint64_t t1 = r.start();
    EXPECT_FALSE(r.check(t1));
    r.quiescent(2);
    EXPECT_TRUE(r.check(t1));
    const std::uint64_t t2 = r.start();
    EXPECT_FALSE(r.check(t2));
    r.offline(2);
    EXPECT_TRUE(r.check(t2));
    r.unregister_reader(2);
}

TEST(FlowTableRcu, ConcurrentReadersMillionFlowChurn) {
    test::StressConfig cfg;
    auto q = dpdk::RcuQsbr::create(cfg.readers);
    ASSERT_TRUE(q);
    engine::FlowTable<test::StressObj, dpdk::RcuQsbr> table({.capacity = cfg.capacity, .seed = 0xbeef}, **q);
    const test::StressResult r = test::run_flow_table_stress(table, **q, cfg);
    std::printf("writer: %llu ops in %.0f ms, p50 < %llu ns, p99.9 < %llu ns; readers: %llu lookups, %llu scans\n",
                static_cast<unsigned long long>(r.writer_ops), static_cast<double>(r.writer_total.count()) / 1e6,
                static_cast<unsigned long long>(r.writer_quantile_ns(0.5)),
                static_cast<unsigned long long>(r.writer_quantile_ns(0.999)),
                static_cast<unsigned long long>(r.lookups), static_cast<unsigned long long>(r.scans));
    EXPECT_EQ(r.torn, 0u);
    EXPECT_EQ(r.freed, 0u);
    EXPECT_EQ(r.stable_missed, 0u);
    EXPECT_EQ(r.false_misses, 0u);
    EXPECT_EQ(r.phantoms, 0u);
    EXPECT_EQ(r.pending_at_end, 0u);
    EXPECT_EQ(r.in_table_at_end, cfg.live + cfg.stable);
    EXPECT_EQ(r.reclaimed, cfg.insertions - cfg.live);
}

TEST(RteFlowTable, RandomOperationsMatchUnorderedMap) {
    if (int rc = dpdk::init_test_eal("ustcp-test-flow"); rc != 0) GTEST_SKIP() << "EAL: " << rc;
    auto q = dpdk::RcuQsbr::create(1);
    ASSERT_TRUE(q);
    constexpr std::size_t kCap = 2000;
    auto table = dpdk::RteFlowTable<int, dpdk::RcuQsbr>::create({.capacity = kCap, .seed = 7}, **q);
    ASSERT_TRUE(table);
    std::mt19937 rng(3);
    std::vector<FourTuple> keys;
    std::set<FourTuple> uniq;
    while (uniq.size() < 3 * kCap) {
        uniq.insert({Ipv4Addr(rng()), Ipv4Addr(rng()), static_cast<std::uint16_t>(rng()),
                     static_cast<std::uint16_t>(rng())});
    }
    keys.assign(uniq.begin(), uniq.end());
    std::vector<int> vals(keys.size());
    std::unordered_map<FourTuple, int*> model;
    std::size_t pending = 0;
    (*q)->register_reader(0);
    (*q)->online(0);  // holds grace periods open until it reports
    for (int op = 0; op < 100'000; ++op) {
        const std::size_t k = rng() % keys.size();
        const FourTuple& t = keys[k];
        switch (rng() % 6) {
            case 0:
            case 1: {
                const auto r = table->insert(t, &vals[k]);
                if (model.count(t) != 0) {
                    ASSERT_FALSE(r);
                    ASSERT_EQ(r.error(), dpdk::RteFlowTableError::kExists);
                } else if (model.size() + pending >= kCap) {
                    ASSERT_FALSE(r);
                } else {
                    ASSERT_TRUE(r);
                    model[t] = &vals[k];
                }
                break;
            }
            case 2: {
                const bool removed = table->remove(t);
                ASSERT_EQ(removed, model.erase(t) == 1);
                pending += removed ? 1 : 0;
                break;
            }
            case 3: {
                const bool report = rng() % 2 == 0;
                if (report) (*q)->quiescent(0);
                const std::size_t back = table->reclaim([](int*) {});
                if (report) {
                    ASSERT_EQ(back, pending);
                    pending = 0;
                } else {
                    ASSERT_EQ(back, 0u);
                }
                break;
            }
            default: {
                auto it = model.find(t);
                ASSERT_EQ(table->find(t), it == model.end() ? nullptr : it->second);
                FourTuple burst[2] = {t, keys[rng() % keys.size()]};
                int* out[2];
                table->find_burst(burst, out);
                for (int i = 0; i < 2; ++i) ASSERT_EQ(out[i], table->find(burst[i]));
            }
        }
        ASSERT_EQ(table->size(), model.size());
        ASSERT_EQ(table->pending(), pending);
    }
    std::unordered_map<FourTuple, int*> seen;
    table->for_each_concurrent([&](const FourTuple& ft, int* v) { seen.emplace(ft, v); });
    EXPECT_EQ(seen, model);
    (*q)->offline(0);
    (*q)->unregister_reader(0);
}
