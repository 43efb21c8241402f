// The console's TraceRing (one producer, one consumer, never blocking the producer) on real
// mbufs, and since(), the baseline subtraction behind `clear stats`.
#include <gtest/gtest.h>
#include <rte_mbuf.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "ustcp/dpdk/runtime.hpp"
#include "ustcp/dpdk/telemetry.hpp"
#include "ustcp/dpdk/test_eal.hpp"
#include "ustcp/dpdk/trace.hpp"

using namespace ustcp;
using ustcp::dpdk::TraceRing;

namespace {

class Trace : public ::testing::Test {
protected:
    void SetUp() override {
        if (dpdk::init_test_eal("test_dpdk_trace") != 0) GTEST_SKIP() << "no EAL";
        static int n = 0;
        pool_ = std::make_unique<dpdk::Pool>("trace_pool" + std::to_string(n++), 2047, 0, 2176, SOCKET_ID_ANY);
        ASSERT_TRUE(pool_->ok());
    }
    void TearDown() override {
        if (pool_) {
            EXPECT_EQ(pool_->in_use(), 0u);
        }
    }
    /// A frame of `len` bytes whose first four hold `seq` and the rest a pattern.
    rte_mbuf* frame(std::uint32_t len, std::uint32_t seq) {
        rte_mbuf* m = rte_pktmbuf_alloc(pool_->get());
        EXPECT_NE(m, nullptr);
        auto* d = reinterpret_cast<std::uint8_t*>(rte_pktmbuf_append(m, static_cast<std::uint16_t>(len)));
        for (std::uint32_t i = 0; i < len; ++i) d[i] = static_cast<std::uint8_t>(i * 7);
        std::memcpy(d, &seq, sizeof seq);
        return m;
    }
    std::unique_ptr<dpdk::Pool> pool_;
};

}  // namespace

TEST_F(Trace, OffRecordsNothing) {
    TraceRing ring;
    rte_mbuf* m = frame(60, 1);
    ring.push(&m, 1, false);
    TraceRing::Record r;
    EXPECT_FALSE(ring.pop(r));
    EXPECT_EQ(ring.dropped(), 0u);
    rte_pktmbuf_free(m);
}

TEST_F(Trace, RecordsTheHeadOfEachFrameInOrder) {
    TraceRing ring;
    ring.enable(true);
    rte_mbuf* m[3] = {frame(60, 1), frame(1514, 2), frame(128, 3)};
    ring.push(m, 2, false);
    ring.push(m + 2, 1, true);
    TraceRing::Record r;
    ASSERT_TRUE(ring.pop(r));
    EXPECT_EQ(r.wire_len, 60u);
    EXPECT_EQ(r.len, 60u);
    EXPECT_FALSE(r.out);
    EXPECT_EQ(std::memcmp(r.bytes.data(), rte_pktmbuf_mtod(m[0], const void*), 60), 0);
    ASSERT_TRUE(ring.pop(r));
    EXPECT_EQ(r.wire_len, 1514u);
    EXPECT_EQ(r.len, TraceRing::kSnap);  // the headers, not the payload
    EXPECT_EQ(std::memcmp(r.bytes.data(), rte_pktmbuf_mtod(m[1], const void*), TraceRing::kSnap), 0);
    ASSERT_TRUE(ring.pop(r));
    EXPECT_TRUE(r.out);
    EXPECT_FALSE(ring.pop(r));
    for (rte_mbuf* b : m) rte_pktmbuf_free(b);  // the ring copies: the frames stay the caller's
}

TEST_F(Trace, AFullRingDropsAndCountsInsteadOfWaiting) {
    TraceRing ring;
    ring.enable(true);
    rte_mbuf* m = frame(60, 0);
    for (std::uint32_t i = 0; i < TraceRing::kSlots + 10; ++i) ring.push(&m, 1, false);
    EXPECT_EQ(ring.dropped(), 10u);
    TraceRing::Record r;
    std::uint32_t popped = 0;
    while (ring.pop(r)) ++popped;
    EXPECT_EQ(popped, TraceRing::kSlots);
    ring.push(&m, 1, false);  // room again
    EXPECT_TRUE(ring.pop(r));
    rte_pktmbuf_free(m);
}

TEST_F(Trace, AProducerAndAConsumerThreadLoseNothingUncounted) {
    TraceRing ring;
    ring.enable(true);
    constexpr std::uint32_t kFrames = 200000;
    std::vector<rte_mbuf*> frames;
    for (std::uint32_t i = 0; i < 64; ++i) frames.push_back(frame(64, 0));
    std::atomic<bool> done{false};
    std::uint32_t popped = 0;
    std::uint32_t last = 0;
    bool ordered = true;
    std::thread consumer([&] {
        TraceRing::Record r;
        const auto take = [&] {
            if (!ring.pop(r)) return false;
            std::uint32_t seq = 0;
            std::memcpy(&seq, r.bytes.data(), sizeof seq);
            if (popped > 0 && seq <= last) ordered = false;
            last = seq;
            ++popped;
            return true;
        };
        while (!done.load()) (void)take();
        while (take()) {
        }
    });
    for (std::uint32_t i = 1; i <= kFrames; ++i) {
        rte_mbuf* b = frames[i % frames.size()];
        std::memcpy(rte_pktmbuf_mtod(b, void*), &i, sizeof i);  // the sequence number, as the frame's head
        ring.push(&b, 1, false);
    }
    done = true;
    consumer.join();
    EXPECT_TRUE(ordered);
    EXPECT_EQ(popped + ring.dropped(), kFrames);
    for (rte_mbuf* b : frames) rte_pktmbuf_free(b);
}

TEST(TraceStats, SinceSubtractsCountersAndKeepsGauges) {
    dpdk::StatsSnapshot base;
    base.ec.rx_frames = 10;
    base.tc.segs_in = 7;
    base.ps.tx_bytes = 1000;
    base.ipv4[0] = 2;
    base.states[static_cast<std::size_t>(tcp::State::Established)] = 5;
    base.connections = 5;
    dpdk::StatsSnapshot now = base;
    now.ec.rx_frames = 25;
    now.tc.segs_in = 7;
    now.ps.tx_bytes = 1500;
    now.ipv4[0] = 3;
    now.states[static_cast<std::size_t>(tcp::State::Established)] = 2;
    now.connections = 2;
    const dpdk::StatsSnapshot d = dpdk::since(now, base);
    EXPECT_EQ(d.ec.rx_frames, 15u);
    EXPECT_EQ(d.tc.segs_in, 0u);
    EXPECT_EQ(d.ps.tx_bytes, 500u);
    EXPECT_EQ(d.ipv4[0], 1u);
    EXPECT_EQ(d.states[static_cast<std::size_t>(tcp::State::Established)], 2u);  // a gauge: as it is now
    EXPECT_EQ(d.connections, 2u);
}
