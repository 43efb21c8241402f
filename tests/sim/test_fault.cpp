// lib/sim's fault model: the spec's parser (every key, errors naming the item and the
// keys), loss rates within statistical bounds, Gilbert–Elliott bursts of the configured
// mean length, reproducibility from the seed, the bottleneck's rate and queue bound,
// reordering that reorders (and jitter that does not), duplication, and corruption that
// the TCP checksum always catches. Also the SimLink's delivery between two SimPorts.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "ustcp/base/endian.hpp"
#include "ustcp/sim/fault.hpp"
#include "ustcp/sim/link.hpp"
#include "ustcp/wire/checksum.hpp"

using namespace ustcp;
using namespace ustcp::sim;

namespace {

FaultSpec spec_of(std::string_view s) {
    auto r = parse_fault_spec(s);
    EXPECT_TRUE(r) << (r ? "" : r.error());
    return r ? *r : FaultSpec{};
}

/// Offers n frames of `len` bytes, `gap` apart, and returns each frame's copies.
std::vector<std::vector<Copy>> offer(FaultPath& p, int n, std::uint32_t len = 1000,
                                     Duration gap = Duration::micros(100)) {
    std::vector<std::vector<Copy>> out;
    Instant t = Instant::from_nanos(1'000'000'000);
    for (int i = 0; i < n; ++i, t += gap) {
        Copy c[2];
        const unsigned k = p.admit(len, {}, t, c);
        out.emplace_back(c, c + k);
    }
    return out;
}

/// |x - n p| within 5 standard deviations of a binomial(n, p).
void expect_binomial(std::uint64_t x, std::uint64_t n, double p) {
    const double mean = static_cast<double>(n) * p;
    const double sd = std::sqrt(static_cast<double>(n) * p * (1 - p));
    EXPECT_NEAR(static_cast<double>(x), mean, 5 * sd) << "n=" << n << " p=" << p;
}

/// An Ethernet + IPv4 + TCP frame with a valid TCP checksum and `payload` random bytes.
std::vector<std::uint8_t> tcp_frame(std::mt19937& rng, std::uint32_t payload) {
    std::vector<std::uint8_t> f(14 + 20 + 20 + payload);
    f[12] = 0x08;
    f[14] = 0x45;
    store_be16(&f[16], static_cast<std::uint16_t>(40 + payload));
    f[14 + 8] = 64;
    f[14 + 9] = 6;
    const Ipv4Addr src(198, 18, 0, 1), dst(198, 18, 0, 2);
    store_be32(&f[26], src.value());
    store_be32(&f[30], dst.value());
    store_be16(&f[24], wire::internet_checksum(wire::Bytes(&f[14], 20)));
    for (std::size_t i = 34; i < f.size(); ++i) f[i] = static_cast<std::uint8_t>(rng());
    f[34 + 12] = 0x50;  // data offset 5
    store_be16(&f[34 + 16], 0);
    std::uint32_t s = wire::ipv4_pseudo_header_sum(src, dst, 6, static_cast<std::uint16_t>(20 + payload));
    s = wire::checksum_partial(wire::Bytes(&f[34], 20 + payload), s);
    store_be16(&f[34 + 16], static_cast<std::uint16_t>(~wire::checksum_fold(s)));
    return f;
}

bool tcp_ok(const std::vector<std::uint8_t>& f) {
    const std::uint32_t total = load_be16(&f[16]);
    return wire::l4_checksum_ok_ipv4(Ipv4Addr(load_be32(&f[26])), Ipv4Addr(load_be32(&f[30])), 6,
                                     wire::Bytes(&f[34], total - 20));
}

}  // namespace

TEST(FaultSpec, ParsesEveryKey) {
    const FaultSpec s = spec_of(
        "loss=1%, burst=0.5%,burst_len=8,burst_slot=2ms,reorder=2%,reorder_delay=3ms,dup=1%,corrupt=0.25%,"
        "delay=2ms,jitter=500us,rate=100Mbit,queue=64,seed=42");
    EXPECT_DOUBLE_EQ(s.loss, 0.01);
    EXPECT_DOUBLE_EQ(s.burst, 0.005);
    EXPECT_DOUBLE_EQ(s.burst_len, 8);
    EXPECT_EQ(s.burst_slot, Duration::millis(2));
    EXPECT_DOUBLE_EQ(s.reorder, 0.02);
    EXPECT_EQ(s.reorder_delay, Duration::millis(3));
    EXPECT_DOUBLE_EQ(s.dup, 0.01);
    EXPECT_DOUBLE_EQ(s.corrupt, 0.0025);
    EXPECT_EQ(s.delay, Duration::millis(2));
    EXPECT_EQ(s.jitter, Duration::micros(500));
    EXPECT_EQ(s.rate_bps, 100'000'000u);
    EXPECT_EQ(s.queue, 64u);
    EXPECT_EQ(s.seed, 42u);
    EXPECT_TRUE(s.active());
    EXPECT_TRUE(s.holds_frames());
    // to_string() writes what parses back to the same spec.
    const FaultSpec t = spec_of(to_string(s));
    EXPECT_EQ(to_string(t), to_string(s));
    EXPECT_EQ(t.rate_bps, s.rate_bps);
    EXPECT_EQ(t.jitter, s.jitter);
    EXPECT_DOUBLE_EQ(t.corrupt, s.corrupt);

    EXPECT_FALSE(spec_of("").active());
    EXPECT_FALSE(spec_of("seed=3").active());
    EXPECT_FALSE(spec_of("loss=1%,dup=1%").holds_frames());
    EXPECT_EQ(spec_of("rate=1Gbit").rate_bps, 1'000'000'000u);
    EXPECT_EQ(spec_of("rate=64kbit").rate_bps, 64'000u);
    EXPECT_EQ(spec_of("delay=1s").delay, Duration::seconds(1));
    EXPECT_EQ(spec_of("delay=10ns").delay, Duration::nanos(10));
}

TEST(FaultSpec, ErrorsNameTheItemAndWhatIsAccepted) {
    struct Case {
        const char* text;
        const char* item;   // quoted in the message
        const char* hint;   // also in the message
    };
    const Case cases[] = {
        {"loss=1", "loss=1", "percentage"},
        {"loss=101%", "loss=101%", "percentage"},
        {"loss=-1%", "loss=-1%", "percentage"},
        {"drop=1%", "drop=1%", "reorder_delay"},  // the key list
        {"loss", "loss", "key=value"},
        {"delay=5", "delay=5", "ms"},
        {"delay=2h", "delay=2h", "duration"},
        {"rate=100", "rate=100", "Mbit"},
        {"rate=100mbps", "rate=100mbps", "Mbit"},
        {"rate=100Mbit,queue=0", "queue=0", "frames"},
        {"seed=x", "seed=x", "integer"},
        {"burst_len=0.5", "burst_len=0.5", "burst length"},
        {"loss=1%,,dup=1%", "", "empty item"},
        {"queue=10", "", "needs 'rate'"},
        {"burst=100%", "", "below 100%"},
    };
    for (const Case& c : cases) {
        auto r = parse_fault_spec(c.text);
        ASSERT_FALSE(r) << c.text;
        if (*c.item != '\0') {
            EXPECT_NE(r.error().find(std::string("'") + c.item + "'"), std::string::npos) << r.error();
        }
        EXPECT_NE(r.error().find(c.hint), std::string::npos) << r.error();
    }
}

TEST(FaultPath, RandomLossIsWithinStatisticalBounds) {
    for (const double p : {0.001, 0.01, 0.05, 0.10}) {
        FaultSpec s;
        s.loss = p;
        s.seed = 11;
        FaultPath path(s);
        const int n = 200'000;
        std::uint64_t delivered = 0;
        for (const auto& c : offer(path, n)) delivered += c.size();
        expect_binomial(path.counters().lost, n, p);
        EXPECT_EQ(delivered, n - path.counters().lost);
        EXPECT_EQ(path.counters().delivered, delivered);
        EXPECT_EQ(path.counters().frames, static_cast<std::uint64_t>(n));
    }
}

TEST(FaultPath, GilbertElliottLosesInBurstsOfTheMeanLength) {
    FaultSpec s;
    s.burst = 0.01;
    s.burst_len = 4;
    s.seed = 5;
    FaultPath path(s);
    const int n = 1'000'000;
    std::vector<bool> lost;
    for (const auto& c : offer(path, n)) lost.push_back(c.empty());
    // Long-run loss near 1%: a Markov chain's variance is larger than a binomial's (runs of
    // 4), so allow 15%.
    EXPECT_NEAR(static_cast<double>(path.counters().burst_lost) / n, 0.01, 0.0015);
    // The mean run of consecutive losses is burst_len.
    std::uint64_t runs = 0, in_runs = 0;
    for (int i = 0; i < n; ++i) {
        if (lost[static_cast<std::size_t>(i)]) {
            ++in_runs;
            if (i == 0 || !lost[static_cast<std::size_t>(i - 1)]) ++runs;
        }
    }
    ASSERT_GT(runs, 1000u);
    EXPECT_NEAR(static_cast<double>(in_runs) / static_cast<double>(runs), 4.0, 0.3);
    EXPECT_EQ(path.counters().lost, 0u);
}

TEST(FaultPath, GilbertElliottBurstsAreInTimeNotAcrossIdleGaps) {
    // Frames 100 ms apart (a hundred burst slots): the chain forgets its state between frames,
    // so losses are nearly independent: runs of one, at the same long-run rate.
    FaultSpec s = spec_of("burst=5%,burst_len=8,seed=6");
    FaultPath path(s);
    const int n = 200'000;
    std::vector<bool> lost;
    for (const auto& c : offer(path, n, 1000, Duration::millis(100))) lost.push_back(c.empty());
    std::uint64_t runs = 0, in_runs = 0;
    for (int i = 0; i < n; ++i) {
        if (lost[static_cast<std::size_t>(i)]) {
            ++in_runs;
            if (i == 0 || !lost[static_cast<std::size_t>(i - 1)]) ++runs;
        }
    }
    expect_binomial(in_runs, n, 0.05);
    EXPECT_LT(static_cast<double>(in_runs) / static_cast<double>(runs), 1.2);
}

TEST(FaultPath, SameSeedSameFatesDifferentSeedOthers) {
    const FaultSpec s = spec_of("loss=5%,burst=1%,reorder=5%,dup=5%,corrupt=5%,delay=1ms,jitter=1ms,seed=9");
    std::mt19937 rng(1);
    const auto frame = tcp_frame(rng, 500);
    const L4Range l4 = l4_range(frame.data(), static_cast<std::uint32_t>(frame.size()));
    auto fates = [&](const FaultSpec& spec) {
        FaultPath p(spec);
        std::vector<std::tuple<unsigned, std::int64_t, std::uint32_t>> v;
        Instant t = Instant::from_nanos(0);
        for (int i = 0; i < 20'000; ++i, t += Duration::micros(50)) {
            Copy c[2];
            const unsigned k = p.admit(static_cast<std::uint32_t>(frame.size()), l4, t, c);
            v.emplace_back(k, k > 0 ? c[0].at.nanos() : -1, k > 0 ? c[0].flip_bit : 0);
        }
        return v;
    };
    EXPECT_EQ(fates(s), fates(s));
    FaultSpec other = s;
    other.seed = 10;
    EXPECT_NE(fates(s), fates(other));
}

TEST(FaultPath, ChangingOneRateKeepsTheOtherFaultsOnTheSameFrames) {
    FaultSpec a = spec_of("dup=10%,seed=3");
    FaultSpec b = a;
    b.reorder = 0.2;  // another fault: the dup decisions stay on the same frames
    FaultPath pa(a), pb(b);
    const auto x = offer(pa, 10'000);
    const auto y = offer(pb, 10'000);
    for (std::size_t i = 0; i < x.size(); ++i) EXPECT_EQ(x[i].size(), y[i].size()) << i;
}

TEST(FaultPath, BottleneckSerialisesAtTheRateAndBoundsItsQueue) {
    // 10 Mbit/s, 1250-byte frames: one per millisecond; a queue of 10 frames.
    const FaultSpec s = spec_of("rate=10Mbit,queue=10,delay=5ms");
    FaultPath p(s);
    const Instant t0 = Instant::from_nanos(1'000'000'000);
    std::vector<Instant> arrivals;
    for (int i = 0; i < 100; ++i) {  // a burst of 100 at one instant
        Copy c[2];
        if (p.admit(1250, {}, t0, c) == 1) arrivals.push_back(c[0].at);
    }
    ASSERT_EQ(arrivals.size(), 10u);
    EXPECT_EQ(p.counters().queue_dropped, 90u);
    EXPECT_EQ(p.queued(t0), 10u);
    for (std::size_t i = 0; i < arrivals.size(); ++i) {
        EXPECT_EQ(arrivals[i], t0 + Duration::millis(static_cast<std::int64_t>(i) + 1) + Duration::millis(5));
    }
    // 4.5 ms later four have left: four more fit, the fifth does not.
    const Instant t1 = t0 + Duration::micros(4500);
    EXPECT_EQ(p.queued(t1), 6u);
    int admitted = 0;
    for (int i = 0; i < 5; ++i) {
        Copy c[2];
        admitted += static_cast<int>(p.admit(1250, {}, t1, c));
        if (i == 0) {
            EXPECT_EQ(c[0].at, t0 + Duration::millis(11) + Duration::millis(5));  // behind the tenth
        }
    }
    EXPECT_EQ(admitted, 4);
    EXPECT_EQ(p.counters().queue_dropped, 91u);
}

TEST(FaultPath, ReorderingReordersAndJitterAloneDoesNot) {
    auto inversions = [](const std::vector<std::vector<Copy>>& v) {
        int inv = 0;
        Instant latest;
        for (const auto& c : v) {
            if (c.empty()) continue;
            if (c[0].at < latest) ++inv;
            latest = std::max(latest, c[0].at);
        }
        return inv;
    };
    FaultPath jitter_only(spec_of("delay=2ms,jitter=1ms,seed=4"));
    const auto j = offer(jitter_only, 20'000);
    EXPECT_EQ(inversions(j), 0);
    // The jitter is used: arrivals are not all at the same delay.
    std::int64_t min_d = INT64_MAX, max_d = 0;
    Instant t = Instant::from_nanos(1'000'000'000);
    for (const auto& c : j) {
        min_d = std::min(min_d, (c[0].at - t).as_nanos());
        max_d = std::max(max_d, (c[0].at - t).as_nanos());
        t += Duration::micros(100);
    }
    EXPECT_GE(min_d, Duration::millis(2).as_nanos());
    EXPECT_LE(max_d, Duration::millis(3).as_nanos());
    EXPECT_GT(max_d - min_d, Duration::micros(500).as_nanos());

    FaultPath reorder(spec_of("delay=2ms,reorder=5%,reorder_delay=1ms,seed=4"));
    const auto r = offer(reorder, 20'000);  // 100 us apart: a held frame is overtaken by ~10
    expect_binomial(reorder.counters().reordered, 20'000, 0.05);
    EXPECT_GT(inversions(r), 0);
    // Every frame held back arrives after the next frame that was not.
    const Instant t0 = Instant::from_nanos(1'000'000'000);
    auto held = [&](std::size_t i) {
        return r[i][0].at - (t0 + Duration::micros(100) * static_cast<std::int64_t>(i)) == Duration::millis(3);
    };
    std::size_t checked = 0;
    for (std::size_t i = 0; i < r.size(); ++i) {
        if (!held(i)) continue;
        std::size_t k = i + 1;
        while (k < r.size() && held(k)) ++k;
        if (k == r.size()) break;
        EXPECT_GT(r[i][0].at, r[k][0].at) << i;
        ++checked;
    }
    EXPECT_EQ(checked + 1 >= reorder.counters().reordered, true);
    EXPECT_GT(checked, 0u);
}

TEST(FaultPath, DuplicatesArriveTogether) {
    FaultPath p(spec_of("dup=10%,delay=1ms,seed=8"));
    const auto v = offer(p, 50'000);
    std::uint64_t twos = 0;
    for (const auto& c : v) {
        ASSERT_GE(c.size(), 1u);
        if (c.size() == 2) {
            ++twos;
            EXPECT_EQ(c[0].at, c[1].at);
        }
    }
    EXPECT_EQ(twos, p.counters().duplicated);
    expect_binomial(twos, 50'000, 0.10);
    EXPECT_EQ(p.counters().delivered, 50'000 + twos);
}

TEST(FaultPath, CorruptionFlipsOneL4BitThatTheTcpChecksumCatches) {
    FaultPath p(spec_of("corrupt=50%,seed=2"));
    std::mt19937 rng(7);
    int corrupted = 0;
    for (int i = 0; i < 5000; ++i) {
        auto f = tcp_frame(rng, static_cast<std::uint32_t>(rng() % 1460));
        if (f.size() < 60) f.resize(60, 0);  // padded as on the wire: the padding is not touched
        ASSERT_TRUE(tcp_ok(f));
        const auto len = static_cast<std::uint32_t>(f.size());
        const L4Range l4 = l4_range(f.data(), len);
        ASSERT_EQ(l4.begin, 34u);
        ASSERT_EQ(l4.skip, 34u + 12);
        Copy c[2];
        ASSERT_EQ(p.admit(len, l4, Instant::from_nanos(i), c), 1u);
        if (c[0].flip_bit == Copy::kNoFlip) continue;
        ++corrupted;
        const std::uint32_t byte = c[0].flip_bit / 8;
        EXPECT_GE(byte, l4.begin);
        EXPECT_LT(byte, l4.end);
        EXPECT_NE(byte, l4.skip);
        const auto before = f;
        flip(f.data(), c[0].flip_bit);
        int diff = 0;
        for (std::size_t k = 0; k < f.size(); ++k) diff += std::popcount(static_cast<unsigned>(f[k] ^ before[k]));
        EXPECT_EQ(diff, 1);
        EXPECT_FALSE(tcp_ok(f)) << "bit " << c[0].flip_bit;
    }
    EXPECT_EQ(static_cast<std::uint64_t>(corrupted), p.counters().corrupted);
    expect_binomial(static_cast<std::uint64_t>(corrupted), 5000, 0.5);
    // Frames without an L4 segment (ARP) are never corrupted.
    std::vector<std::uint8_t> arp(60, 0);
    arp[12] = 0x08;
    arp[13] = 0x06;
    EXPECT_EQ(l4_range(arp.data(), 60).begin, l4_range(arp.data(), 60).end);
}

TEST(SimLink, DeliversWhatEachPortSentAfterTheDelay) {
    tcp::HeapBuffers pool_a(64, 2048), pool_b(64, 2048);
    engine::SimPort a(MacAddr({2, 0, 0, 0, 0, 1}), pool_a), b(MacAddr({2, 0, 0, 0, 0, 2}), pool_b);
    SimLink link(a, b, spec_of("delay=3ms"), spec_of("delay=1ms,loss=100%"));
    const Instant t0 = Instant::from_nanos(0);
    a.put(std::vector<std::uint8_t>(100, 0xab));
    b.put(std::vector<std::uint8_t>(100, 0xcd));
    EXPECT_EQ(link.step(t0), 0u);
    EXPECT_EQ(link.in_flight(), 1u);  // b's frame was lost
    ASSERT_TRUE(link.next_arrival());
    EXPECT_EQ(*link.next_arrival(), t0 + Duration::millis(3));
    EXPECT_EQ(link.step(t0 + Duration::millis(2)), 0u);
    EXPECT_EQ(b.pending(), 0u);
    EXPECT_EQ(link.step(t0 + Duration::millis(3)), 1u);
    EXPECT_EQ(b.pending(), 1u);
    EXPECT_EQ(a.pending(), 0u);
    EXPECT_EQ(link.ba().counters().lost, 1u);
    EXPECT_EQ(link.ab().counters().delivered, 1u);
}
