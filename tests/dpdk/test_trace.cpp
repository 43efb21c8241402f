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

// `trace off` is the last word: frames recorded before it but not yet printed are not printed
// after it, nor after the next `trace on`.
TEST_F(Trace, OffHidesWhatTheEndedSessionLeftInTheRing) {
    TraceRing ring;
    ring.enable(true);
    rte_mbuf* m[2] = {frame(60, 1), frame(60, 2)};
    ring.push(m, 1, false);
    ring.enable(false);
    EXPECT_FALSE(ring.enabled());
    TraceRing::Record r;
    EXPECT_FALSE(ring.pop(r));
    ring.push(m, 1, false);  // off: not recorded
    ring.enable(true);
    ring.enable(true);  // idempotent: the same session
    EXPECT_FALSE(ring.pop(r));
    ring.push(m + 1, 1, true);
    ring.enable(true);
    ASSERT_TRUE(ring.pop(r));
    std::uint32_t seq = 0;
    std::memcpy(&seq, r.bytes.data(), sizeof seq);
    EXPECT_EQ(seq, 2u);
    EXPECT_TRUE(r.out);
    EXPECT_FALSE(ring.pop(r));
    // The records skipped free their slots: a full ring, ended, takes a whole ring's worth again.
    for (std::uint32_t i = 0; i < TraceRing::kSlots; ++i) ring.push(m, 1, false);
    ring.enable(false);
    EXPECT_FALSE(ring.pop(r));
    ring.enable(true);
    for (std::uint32_t i = 0; i < TraceRing::kSlots; ++i) ring.push(m, 1, false);
    EXPECT_EQ(ring.dropped(), 0u);
    for (rte_mbuf* b : m) rte_pktmbuf_free(b);
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

TEST_F(Trace, WrapsAroundItsSlotsInOrder) {
    // Ten rounds of 700 in, 700 out: the slot index wraps around the ring six times, partly
    // filled, and every record comes out once, in the order it went in.
    TraceRing ring;
    ring.enable(true);
    rte_mbuf* m = frame(64, 0);
    std::uint32_t next_in = 0;
    std::uint32_t next_out = 0;
    TraceRing::Record r;
    for (int round = 0; round < 10; ++round) {
        for (int k = 0; k < 700; ++k, ++next_in) {
            std::memcpy(rte_pktmbuf_mtod(m, void*), &next_in, sizeof next_in);
            ring.push(&m, 1, (next_in & 1) != 0);
        }
        for (int k = 0; k < 700; ++k, ++next_out) {
            ASSERT_TRUE(ring.pop(r)) << next_out;
            std::uint32_t seq = 0;
            std::memcpy(&seq, r.bytes.data(), sizeof seq);
            ASSERT_EQ(seq, next_out);
            EXPECT_EQ(r.out, (seq & 1) != 0);
        }
        EXPECT_FALSE(ring.pop(r));
    }
    EXPECT_GT(next_in, 6 * TraceRing::kSlots);
    EXPECT_EQ(ring.dropped(), 0u);
    rte_pktmbuf_free(m);
}

TEST_F(Trace, ABurstThatDoesNotFitKeepsItsHeadAndCountsTheRest) {
    // Five slots free after a wrap, a burst of 16: its first five are recorded, eleven dropped.
    TraceRing ring;
    ring.enable(true);
    rte_mbuf* one = frame(64, 0);
    TraceRing::Record r;
    for (std::uint32_t i = 0; i < 300; ++i) ring.push(&one, 1, false);
    for (std::uint32_t i = 0; i < 300; ++i) ASSERT_TRUE(ring.pop(r));  // the indices start past 0
    for (std::uint32_t i = 0; i < TraceRing::kSlots - 5; ++i) {
        std::memcpy(rte_pktmbuf_mtod(one, void*), &i, sizeof i);
        ring.push(&one, 1, false);
    }
    std::vector<rte_mbuf*> burst;
    for (std::uint32_t i = 0; i < 16; ++i) burst.push_back(frame(64, 100000 + i));
    ring.push(burst.data(), static_cast<std::uint16_t>(burst.size()), true);
    EXPECT_EQ(ring.dropped(), 11u);
    std::uint32_t n = 0;
    for (; ring.pop(r); ++n) {
        std::uint32_t seq = 0;
        std::memcpy(&seq, r.bytes.data(), sizeof seq);
        if (n < TraceRing::kSlots - 5) {
            EXPECT_EQ(seq, n);
            EXPECT_FALSE(r.out);
        } else {
            EXPECT_EQ(seq, 100000 + (n - (TraceRing::kSlots - 5)));
            EXPECT_TRUE(r.out);
        }
    }
    EXPECT_EQ(n, TraceRing::kSlots);
    rte_pktmbuf_free(one);
    for (rte_mbuf* b : burst) rte_pktmbuf_free(b);
}

namespace {

/// Sets every 64-bit word of a counters struct to f(index).
template <class T, class F>
void fill_words(T& t, F f) {
    static_assert(sizeof(T) % 8 == 0);
    std::uint64_t w[sizeof(T) / 8];
    for (std::size_t i = 0; i < sizeof(T) / 8; ++i) w[i] = f(i);
    std::memcpy(&t, w, sizeof(T));
}
template <class T>
std::uint64_t word(const T& t, std::size_t i) {
    std::uint64_t w[sizeof(T) / 8];
    std::memcpy(w, &t, sizeof(T));
    return w[i];
}

}  // namespace

TEST(TraceStats, SinceSubtractsEveryCounterWord) {
    // Every counter of every group: a baseline b, and a = b + d with d different per word;
    // since(a, b) gives d back, since(a, a) zero, and the gauges are a's.
    dpdk::StatsSnapshot b;
    dpdk::StatsSnapshot a;
    fill_words(b.ec, [](std::size_t i) { return 1000 + i; });
    fill_words(a.ec, [](std::size_t i) { return 1000 + i + 3 * i + 1; });
    fill_words(b.tc, [](std::size_t i) { return 50 * i; });
    fill_words(a.tc, [](std::size_t i) { return 50 * i + i + 2; });
    fill_words(b.ps, [](std::size_t i) { return (std::uint64_t{1} << 40) + i; });
    fill_words(a.ps, [](std::size_t i) { return (std::uint64_t{1} << 40) + i + 7 * i; });
    for (std::size_t i = 0; i < a.ipv4.size(); ++i) b.ipv4[i] = i, a.ipv4[i] = 2 * i + 1;
    for (std::size_t i = 0; i < a.arp.size(); ++i) b.arp[i] = i, a.arp[i] = i + 4;
    for (std::size_t i = 0; i < a.icmp.size(); ++i) b.icmp[i] = 9, a.icmp[i] = 9 + i;
    for (std::size_t i = 0; i < a.neigh.size(); ++i) b.neigh[i] = 1, a.neigh[i] = 1 + 2 * i;
    for (std::size_t i = 0; i < a.states.size(); ++i) b.states[i] = 100, a.states[i] = i;
    b.connections = 100;
    a.connections = 3;
    const dpdk::StatsSnapshot d = dpdk::since(a, b);
    for (std::size_t i = 0; i < sizeof(d.ec) / 8; ++i) EXPECT_EQ(word(d.ec, i), 3 * i + 1) << "engine word " << i;
    for (std::size_t i = 0; i < sizeof(d.tc) / 8; ++i) EXPECT_EQ(word(d.tc, i), i + 2) << "tcp word " << i;
    for (std::size_t i = 0; i < sizeof(d.ps) / 8; ++i) EXPECT_EQ(word(d.ps, i), 7 * i) << "port word " << i;
    for (std::size_t i = 0; i < d.ipv4.size(); ++i) EXPECT_EQ(d.ipv4[i], i + 1);
    for (std::size_t i = 0; i < d.arp.size(); ++i) EXPECT_EQ(d.arp[i], 4u);
    for (std::size_t i = 0; i < d.icmp.size(); ++i) EXPECT_EQ(d.icmp[i], i);
    for (std::size_t i = 0; i < d.neigh.size(); ++i) EXPECT_EQ(d.neigh[i], 2 * i);
    for (std::size_t i = 0; i < d.states.size(); ++i) EXPECT_EQ(d.states[i], i);  // gauges: a's
    EXPECT_EQ(d.connections, 3u);
    const dpdk::StatsSnapshot z = dpdk::since(a, a);
    for (std::size_t i = 0; i < sizeof(z.ec) / 8; ++i) EXPECT_EQ(word(z.ec, i), 0u);
    for (std::size_t i = 0; i < sizeof(z.tc) / 8; ++i) EXPECT_EQ(word(z.tc, i), 0u);
    for (std::size_t i = 0; i < sizeof(z.ps) / 8; ++i) EXPECT_EQ(word(z.ps, i), 0u);
}
