// CUBIC (RFC 9438) and HyStart++ (RFC 9406) on a fake clock: the reduction by beta = 0.7 at
// a congestion event, K, window growth that follows W_cubic(t) = C (t - K)^3 + W_max
// (concave up to W_max, convex beyond), fast convergence, the Reno-friendly region, RTOs,
// HyStart++'s exit to Conservative Slow Start on an RTT increase, its return on a decrease
// and its end of slow start after CSS_ROUNDS, and the seam's Policy concept and default.
#include <gtest/gtest.h>

#include <cmath>

#include "ustcp/tcp/cc/congestion.hpp"

using namespace ustcp;
using namespace ustcp::tcp::cc;

namespace {

constexpr std::uint32_t kSmss = 1000;

SeqNum at(std::uint32_t n) { return SeqNum(1'000'000 + n); }

/// A sender with everything it sent acknowledged a round trip later, as a fluid: every
/// `step` of virtual time it acknowledges cwnd * step / rtt bytes (in whole segments) and
/// sends as much again.
struct Flow {
    Cubic& cc;
    Duration rtt;
    Instant now = Instant::from_nanos(1'000'000'000);
    std::uint32_t una = 0;
    std::uint32_t max = 0;
    double owed = 0;

    void fill() { max = std::max(max, una + cc.cwnd()); }
    /// Runs for `d` in steps of `step`.
    void run(Duration d, Duration step = Duration::millis(1)) {
        const Instant end = now + d;
        fill();
        while (now < end) {
            now += step;
            owed += static_cast<double>(cc.cwnd()) * static_cast<double>(step.as_nanos()) /
                    static_cast<double>(rtt.as_nanos());
            while (owed >= kSmss && una + kSmss <= max) {
                owed -= kSmss;
                una += kSmss;
                (void)cc.on_ack({.bytes_acked = kSmss, .snd_una = at(una), .snd_max = at(max), .now = now, .rtt = rtt});
            }
            fill();
        }
    }
    /// Three duplicate ACKs, then the full ACK that ends the recovery, arriving when the
    /// data sent during the recovery (ssthresh of it) is in flight.
    void loss() {
        fill();
        for (int i = 0; i < 3; ++i) (void)cc.on_dup_ack({at(una), at(max), now});
        const std::uint32_t recover = max;
        max += cc.ssthresh();
        una = recover;
        (void)cc.on_ack({.bytes_acked = kSmss, .snd_una = at(una), .snd_max = at(max), .now = now});
    }
};

CubicConfig no_hystart() {
    CubicConfig c;
    c.hystart = false;
    return c;
}

/// A CUBIC at cwnd `w` segments in congestion avoidance: slow start with ssthresh = w.
Cubic at_window(std::uint32_t w, CubicConfig cfg = no_hystart()) {
    return Cubic(Init{.smss = kSmss, .ssthresh = w * kSmss}, cfg);
}

}  // namespace

static_assert(Policy<Cubic>);

TEST(Cubic, CongestionEventReducesByBetaAndSetsWmaxAndK) {
    Cubic cc = at_window(100);
    Flow f{cc, Duration::millis(100)};
    f.run(Duration::seconds(3));  // slow start to 100 segments, then a little avoidance
    const std::uint32_t w = cc.cwnd();
    ASSERT_GE(w, 100 * kSmss);
    f.fill();
    ASSERT_EQ(f.max - f.una, w);  // FlightSize == cwnd
    Response r{};
    for (int i = 0; i < 3; ++i) r = cc.on_dup_ack({at(f.una), at(f.max), f.now});
    EXPECT_TRUE(r.retransmit);
    EXPECT_TRUE(cc.in_recovery());
    EXPECT_EQ(cc.ssthresh(), static_cast<std::uint32_t>(w * 0.7f));
    EXPECT_EQ(cc.cwnd(), cc.ssthresh() + 3 * kSmss);  // RFC 5681's inflation
    EXPECT_FLOAT_EQ(static_cast<float>(cc.w_max()), static_cast<float>(w));
    // The full ACK ends the recovery; the first ACK in avoidance starts the epoch with
    // K = cbrt((W_max - cwnd_epoch) / C) = cbrt(0.3 W_max / 0.4) in segments.
    f.una = f.max;
    f.max += cc.ssthresh();  // sent during the recovery
    (void)cc.on_ack({.bytes_acked = kSmss, .snd_una = at(f.una), .snd_max = at(f.max), .now = f.now});
    EXPECT_FALSE(cc.in_recovery());
    EXPECT_EQ(cc.cwnd(), cc.ssthresh());  // min(ssthresh, FlightSize + SMSS)
    f.run(Duration::millis(10));
    ASSERT_TRUE(cc.epoch_started());
    const double wmax_seg = static_cast<double>(w) / kSmss;
    const double k = std::cbrt((wmax_seg - static_cast<double>(cc.ssthresh()) / kSmss) / 0.4);
    EXPECT_NEAR(cc.k(), k, 0.01);
    EXPECT_NEAR(cc.k(), std::cbrt(wmax_seg * 0.3 / 0.4), 0.05);
    EXPECT_EQ(cc.counters().fast_retransmits, 1u);
    EXPECT_EQ(cc.counters().recoveries, 1u);
}

TEST(Cubic, SackLossReducesWithoutInflationAndUndoRestoresTheCurve) {
    // on_loss (RFC 6675 §5 (4.2) through the seam): the same reduction as a congestion
    // event, cwnd = ssthresh, no inflation; partial ACKs change nothing (the connection sends
    // by pipe), the full ACK ends the episode at ssthresh. on_undo restores cwnd, ssthresh
    // and W_max (RFC 9438 §4.9), once per reduction.
    Cubic cc = at_window(100);
    Flow f{cc, Duration::millis(100)};
    f.run(Duration::seconds(3));
    f.fill();
    const std::uint32_t w = cc.cwnd();
    const std::uint32_t ss = cc.ssthresh();
    const double wmax_before = cc.w_max();
    cc.on_loss({.snd_una = at(f.una), .snd_max = at(f.max), .now = f.now});
    EXPECT_TRUE(cc.in_recovery());
    EXPECT_EQ(cc.ssthresh(), static_cast<std::uint32_t>(w * 0.7f));
    EXPECT_EQ(cc.cwnd(), cc.ssthresh());
    EXPECT_FLOAT_EQ(static_cast<float>(cc.w_max()), static_cast<float>(w));
    cc.on_loss({.snd_una = at(f.una), .snd_max = at(f.max), .now = f.now});  // once per episode
    EXPECT_EQ(cc.counters().loss_recoveries, 1u);
    const std::uint32_t reduced = cc.cwnd();
    const Response partial =
        cc.on_ack({.bytes_acked = kSmss, .snd_una = at(f.una + kSmss), .snd_max = at(f.max), .now = f.now});
    EXPECT_FALSE(partial.retransmit);
    EXPECT_EQ(cc.cwnd(), reduced);
    EXPECT_TRUE(cc.in_recovery());

    // The retransmissions were spurious (D-SACK): back to the window before the loss.
    EXPECT_TRUE(cc.on_undo({.snd_una = at(f.una + kSmss), .snd_max = at(f.max), .now = f.now,
                            .prior_cwnd = w, .prior_ssthresh = ss}));
    EXPECT_FALSE(cc.in_recovery());
    EXPECT_EQ(cc.cwnd(), w);
    EXPECT_EQ(cc.ssthresh(), std::max(ss, reduced));
    EXPECT_FLOAT_EQ(static_cast<float>(cc.w_max()), static_cast<float>(wmax_before));
    EXPECT_FALSE(cc.on_undo({.snd_una = at(f.una + kSmss), .snd_max = at(f.max), .now = f.now,
                             .prior_cwnd = w, .prior_ssthresh = ss}));
    EXPECT_EQ(cc.counters().undos, 1u);

    // A second loss, this time acknowledged in full: the episode ends with cwnd at ssthresh.
    f.una += kSmss;
    f.fill();
    cc.on_loss({.snd_una = at(f.una), .snd_max = at(f.max), .now = f.now});
    const std::uint32_t ss2 = cc.ssthresh();
    (void)cc.on_ack({.bytes_acked = f.max - f.una, .snd_una = at(f.max), .snd_max = at(f.max + ss2), .now = f.now});
    EXPECT_FALSE(cc.in_recovery());
    EXPECT_EQ(cc.cwnd(), ss2);
    EXPECT_EQ(cc.counters().recoveries, 1u);
}

TEST(Cubic, WindowFollowsTheCubicCurveConcaveThenConvex) {
    CubicConfig cfg = no_hystart();
    cfg.reno_friendly = false;  // the cubic function alone
    Cubic cc = at_window(100, cfg);
    Flow f{cc, Duration::millis(100)};
    f.run(Duration::seconds(2));
    f.loss();
    const double w_max = cc.w_max();
    const Instant epoch = f.now;
    f.run(Duration::millis(5));
    const double k = cc.k();
    ASSERT_GT(k, 3.0);
    // Sampled along the way: cwnd stays within 3% (and 2 segments) of W_cubic(t) = C (t - K)^3 + W_max.
    double prev = cc.cwnd();
    double growth_before_k = 0, growth_after_k = 0;
    for (int i = 1; i <= 16; ++i) {
        f.run(Duration::millis(500));
        const double t = static_cast<double>((f.now - epoch).as_nanos()) * 1e-9;
        const double want = (0.4 * std::pow(t - k, 3) + w_max / kSmss) * kSmss;
        EXPECT_NEAR(cc.cwnd(), want, std::max(0.03 * want, 2.0 * kSmss)) << "t=" << t;
        const double g = cc.cwnd() - prev;
        prev = cc.cwnd();
        if (t > 1 && t < k - 0.5) growth_before_k += g;
        if (t > k + 0.5) growth_after_k += g;
        if (t < k - 0.5) {
            EXPECT_LT(cc.cwnd(), w_max) << "concave: below W_max before K, t=" << t;
        }
        if (t > k + 0.5) {
            EXPECT_GT(cc.cwnd(), w_max) << "convex: above W_max after K, t=" << t;
        }
    }
    EXPECT_GT(growth_before_k, 0);
    EXPECT_GT(growth_after_k, growth_before_k / 2);  // accelerating again past the plateau
    // No loss for long: growth per RTT is capped by target <= 1.5 cwnd.
    const std::uint32_t before = cc.cwnd();
    f.run(Duration::millis(100));
    EXPECT_LE(cc.cwnd(), before * 1.5 + kSmss);
}

TEST(Cubic, FastConvergenceLowersWmaxWhenTheShareShrinks) {
    for (const bool fc : {true, false}) {
        CubicConfig cfg = no_hystart();
        cfg.fast_convergence = fc;
        Cubic cc = at_window(100, cfg);
        Flow f{cc, Duration::millis(100)};
        f.run(Duration::seconds(2));
        f.loss();
        const double first = cc.w_max();
        f.run(Duration::millis(500));  // still below W_max
        const double w = cc.cwnd();
        ASSERT_LT(w, first);
        f.loss();
        if (fc) {
            EXPECT_NEAR(cc.w_max(), w * (1 + 0.7) / 2, 1.0);
        } else {
            EXPECT_NEAR(cc.w_max(), w, 1.0);
        }
    }
}

TEST(Cubic, RenoFriendlyRegionOnShortRtts) {
    // With a 2 ms RTT Reno's linear growth (alpha = 3 (1 - beta) / (1 + beta) segments per RTT)
    // outpaces the cubic curve near its plateau: cwnd follows W_est.
    auto grow = [](bool friendly) {
        CubicConfig cfg = no_hystart();
        cfg.reno_friendly = friendly;
        Cubic cc = at_window(100, cfg);
        Flow f{cc, Duration::millis(2)};
        f.run(Duration::millis(200), Duration::micros(100));
        f.loss();
        const Instant epoch = f.now;
        f.run(Duration::millis(400), Duration::micros(100));
        const double t = static_cast<double>((f.now - epoch).as_nanos()) * 1e-9;
        return std::tuple{cc.cwnd(), cc.w_cubic(t), cc.w_est(), cc.ssthresh()};
    };
    const auto [cw, cubic, est, ssthresh] = grow(true);
    EXPECT_GT(cw, cubic + 5 * kSmss) << "above W_cubic(t)";
    EXPECT_NEAR(cw, est, 2.0 * kSmss) << "cwnd is W_est";
    // 200 RTTs at alpha ~0.53 segments per RTT (1 once W_est passes cwnd_prior): between 100 and 200 segments.
    EXPECT_GT(cw, ssthresh + 90 * kSmss);
    const auto [cw2, cubic2, est2, ss2] = grow(false);
    EXPECT_NEAR(cw2, cubic2, 0.03 * cubic2 + 2 * kSmss) << "without the region: the cubic curve";
    EXPECT_LT(cw2, cw);
    (void)est2;
    (void)ss2;
}

TEST(Cubic, TimeoutFallsToOneSegmentWithBetaSsthreshOncePerSegment) {
    Cubic cc = at_window(50);
    Flow f{cc, Duration::millis(50)};
    f.run(Duration::seconds(1));
    f.fill();
    const std::uint32_t flight = f.max - f.una;
    const std::uint32_t w = cc.cwnd();
    cc.on_timeout({at(f.una), at(f.max), f.now});
    EXPECT_EQ(cc.cwnd(), kSmss);
    EXPECT_EQ(cc.ssthresh(), static_cast<std::uint32_t>(std::min(w, flight) * 0.7f));
    EXPECT_FLOAT_EQ(static_cast<float>(cc.w_max()), static_cast<float>(w));
    const std::uint32_t ss = cc.ssthresh();
    cc.on_timeout({at(f.una), at(f.max), f.now + Duration::millis(400)});  // the same segment again
    EXPECT_EQ(cc.ssthresh(), ss);
    EXPECT_EQ(cc.counters().timeouts, 2u);
    // Slow start after the RTO: 1 SMSS per ACK (RFC 3465 §2.3).
    (void)cc.on_ack({.bytes_acked = 2 * kSmss, .snd_una = at(f.una + 2 * kSmss), .snd_max = at(f.max), .now = f.now});
    EXPECT_EQ(cc.cwnd(), 2 * kSmss);
}

namespace {

/// One HyStart++ round: the whole cwnd sent, then acknowledged a segment at a time, each
/// ACK with RTT sample `rtt`.
void round(Cubic& cc, std::uint32_t& una, std::uint32_t& max, Duration rtt, Instant& now) {
    max = una + cc.cwnd();
    while (una < max) {
        una += kSmss;
        now += Duration::micros(100);
        (void)cc.on_ack({.bytes_acked = kSmss, .snd_una = at(una), .snd_max = at(max), .now = now, .rtt = rtt});
        if (cc.phase() == Cubic::Phase::CongestionAvoidance) return;
    }
}

}  // namespace

TEST(HyStartPlusPlus, RttIncreaseEntersCssThenCssRoundsEndSlowStart) {
    Cubic cc(Init{.smss = kSmss});
    ASSERT_EQ(cc.phase(), Cubic::Phase::SlowStart);
    std::uint32_t una = 0, max = 0;
    Instant now = Instant::from_nanos(1'000'000'000);
    for (int i = 0; i < 3; ++i) round(cc, una, max, Duration::millis(10), now);
    EXPECT_EQ(cc.phase(), Cubic::Phase::SlowStart) << "a steady RTT keeps slow start";
    EXPECT_EQ(cc.css_entries(), 0u);
    const std::uint32_t before = cc.cwnd();
    // 10 ms -> 13 ms: below RttThresh = max(4 ms, 10/8 ms) = 4 ms: still slow start.
    round(cc, una, max, Duration::millis(13), now);
    EXPECT_EQ(cc.phase(), Cubic::Phase::SlowStart);
    EXPECT_GT(cc.cwnd(), before * 3 / 2) << "slow start (ABC L = 2) about doubles per round";
    // 13 ms -> 18 ms: >= 13 + 4: Conservative Slow Start; growth is a quarter of slow start's.
    round(cc, una, max, Duration::millis(18), now);
    EXPECT_EQ(cc.phase(), Cubic::Phase::ConservativeSlowStart);
    EXPECT_EQ(cc.css_entries(), 1u);
    EXPECT_EQ(cc.ssthresh(), kInfiniteSsthresh);
    const std::uint32_t css0 = cc.cwnd();
    round(cc, una, max, Duration::millis(18), now);
    const double css_growth = static_cast<double>(cc.cwnd()) / css0;
    EXPECT_LT(css_growth, 1.3);
    EXPECT_GT(css_growth, 1.1);
    // CSS_ROUNDS (5) rounds of CSS: slow start ends, ssthresh = cwnd, CUBIC's avoidance follows.
    for (int i = 0; i < 6 && cc.phase() != Cubic::Phase::CongestionAvoidance; ++i) {
        round(cc, una, max, Duration::millis(18), now);
    }
    EXPECT_EQ(cc.phase(), Cubic::Phase::CongestionAvoidance);
    EXPECT_EQ(cc.hystart_exits(), 1u);
    EXPECT_EQ(cc.ssthresh(), cc.cwnd());
    EXPECT_EQ(cc.counters().fast_retransmits, 0u) << "left slow start without a loss";
    // Avoidance from here starts an epoch at the plateau (K = 0, W_max = cwnd).
    round(cc, una, max, Duration::millis(18), now);
    EXPECT_TRUE(cc.epoch_started());
    EXPECT_DOUBLE_EQ(cc.k(), 0.0);
}

TEST(HyStartPlusPlus, RttBackBelowTheBaselineReturnsToSlowStart) {
    Cubic cc(Init{.smss = kSmss});
    std::uint32_t una = 0, max = 0;
    Instant now = Instant::from_nanos(1'000'000'000);
    for (int i = 0; i < 2; ++i) round(cc, una, max, Duration::millis(10), now);
    round(cc, una, max, Duration::millis(20), now);
    ASSERT_EQ(cc.phase(), Cubic::Phase::ConservativeSlowStart);
    round(cc, una, max, Duration::millis(12), now);  // below the 20 ms baseline: the exit was spurious
    EXPECT_EQ(cc.phase(), Cubic::Phase::SlowStart);
    EXPECT_EQ(cc.hystart_exits(), 0u);
}

TEST(HyStartPlusPlus, OffOrWithoutRttSamplesSlowStartRunsToALoss) {
    CubicConfig cfg;
    cfg.hystart = false;
    Cubic off(Init{.smss = kSmss}, cfg);
    Cubic no_samples(Init{.smss = kSmss});
    std::uint32_t u1 = 0, m1 = 0, u2 = 0, m2 = 0;
    Instant n1 = Instant::from_nanos(1), n2 = n1;
    for (int i = 0; i < 8; ++i) {
        round(off, u1, m1, Duration::millis(10 + 10 * i), n1);
        round(no_samples, u2, m2, Duration::zero(), n2);
    }
    EXPECT_EQ(off.phase(), Cubic::Phase::SlowStart);
    EXPECT_EQ(no_samples.phase(), Cubic::Phase::SlowStart);
    EXPECT_EQ(off.css_entries(), 0u);
    EXPECT_EQ(no_samples.css_entries(), 0u);
}

TEST(CongestionSeam, CubicIsTheDefaultAndNewRenoSelectable) {
    CongestionControl d = make_congestion_control(CcConfig{}, Init{.smss = kSmss});
    EXPECT_EQ(algorithm(d), Algorithm::Cubic);
    ASSERT_NE(d.get_if<Cubic>(), nullptr);
    CcConfig nr;
    nr.algorithm = Algorithm::NewReno;
    CongestionControl n = make_congestion_control(nr, Init{.smss = kSmss});
    EXPECT_EQ(algorithm(n), Algorithm::NewReno);
    // The same loss through the seam: CUBIC keeps 70%, NewReno 50%.
    for (CongestionControl* c : {&d, &n}) {
        for (std::uint32_t i = 1; i <= 40; ++i) {
            (void)c->on_ack({.bytes_acked = kSmss, .snd_una = at(i * kSmss), .snd_max = at(i * kSmss + 40 * kSmss),
                             .now = Instant::from_nanos(i * 1000)});
        }
        const std::uint32_t flight = 40 * kSmss;
        for (int k = 0; k < 3; ++k) (void)c->on_dup_ack({at(40 * kSmss), at(80 * kSmss), Instant::from_nanos(50'000)});
        EXPECT_TRUE(c->in_recovery());
        const double share = static_cast<double>(c->ssthresh()) / flight;
        EXPECT_NEAR(share, c == &d ? 0.7 : 0.5, 0.01);
    }
}
