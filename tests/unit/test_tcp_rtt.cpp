// RFC 6298 / RFC 7323 §4 RTT estimator (lib/tcp/rtt). Every expected value below is
// worked by hand from the RFC formulas, shown in the comment beside it:
//   first sample (2.2): SRTT = R, RTTVAR = R/2
//   later (2.3):        RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R'|  (old SRTT), SRTT = 7/8 SRTT + 1/8 R'
//   (2.4):              RTO = SRTT + max(G, 4 RTTVAR), clamped to [min, max]
// Defaults: initial 1 s, min 200 ms, max 60 s, G 1 ms.
#include <gtest/gtest.h>

#include <cstdint>
#include <string_view>

#include "ustcp/tcp/rtt.hpp"

namespace {

using ustcp::Duration;
using ustcp::Instant;
using ustcp::SeqNum;
using ustcp::tcp::RttConfig;
using ustcp::tcp::RttEstimator;

constexpr Duration ms(std::int64_t n) { return Duration::millis(n); }
constexpr Duration us(std::int64_t n) { return Duration::micros(n); }
constexpr Instant at_ms(std::int64_t n) { return Instant::from_nanos(n * 1'000'000); }

// ---------------------------------------------------------------------------------------------
// Initial state and configuration

TEST(TcpRtt, InitialRtoBeforeAnySample) {
    RttEstimator r;
    EXPECT_EQ(r.rto(), Duration::seconds(1));  // (2.1)
    EXPECT_EQ(r.base_rto(), Duration::seconds(1));
    EXPECT_FALSE(r.has_sample());
    EXPECT_EQ(r.srtt(), Duration::zero());
    EXPECT_EQ(r.rttvar(), Duration::zero());
    EXPECT_EQ(r.backoff(), 0u);
    EXPECT_FALSE(r.timing());
    EXPECT_EQ(r.to_string().view(), "rto:1000");
}

TEST(TcpRtt, ConfigFromEngineConfig) {
    ustcp::tcp::Config c;
    c.rto_initial = ms(700);
    c.rto_min = ms(50);
    c.rto_max = Duration::seconds(5);
    const RttConfig rc = RttConfig::from(c);
    EXPECT_EQ(rc.rto_initial, ms(700));
    EXPECT_EQ(rc.rto_min, ms(50));
    EXPECT_EQ(rc.rto_max, Duration::seconds(5));
    EXPECT_EQ(rc.granularity, ms(1));
    EXPECT_EQ(RttEstimator(rc).rto(), ms(700));
}

TEST(TcpRtt, InitialRtoIsClamped) {
    RttConfig c;
    c.rto_initial = Duration::seconds(100);
    EXPECT_EQ(RttEstimator(c).rto(), Duration::seconds(60));
    c.rto_initial = ms(10);
    EXPECT_EQ(RttEstimator(c).rto(), ms(200));
}

// ---------------------------------------------------------------------------------------------
// Samples

TEST(TcpRtt, FirstSample) {
    RttEstimator r;
    EXPECT_TRUE(r.sample(ms(100)));
    EXPECT_TRUE(r.has_sample());
    EXPECT_EQ(r.srtt(), ms(100));    // R
    EXPECT_EQ(r.rttvar(), ms(50));   // R/2
    EXPECT_EQ(r.rto(), ms(300));     // 100 + max(1, 4*50)
    EXPECT_EQ(r.to_string().view(), "rtt:100.000/50.000 rto:300");
}

TEST(TcpRtt, SecondAndThirdSamples) {
    RttEstimator r;
    r.sample(ms(100));
    r.sample(ms(200));
    EXPECT_EQ(r.rttvar(), us(62'500));   // 3/4*50 + 1/4*|100-200| = 37.5 + 25
    EXPECT_EQ(r.srtt(), us(112'500));    // 7/8*100 + 1/8*200 = 87.5 + 25
    EXPECT_EQ(r.rto(), us(362'500));     // 112.5 + 4*62.5
    r.sample(ms(100));
    EXPECT_EQ(r.rttvar(), ms(50));                      // 3/4*62.5 + 1/4*12.5 = 46.875 + 3.125
    EXPECT_EQ(r.srtt(), Duration::nanos(110'937'500));  // 7/8*112.5 + 1/8*100 = 98.4375 + 12.5
    EXPECT_EQ(r.rto(), Duration::nanos(310'937'500));   // 110.9375 + 200
    // ss-style: truncated to microseconds / milliseconds.
    EXPECT_EQ(r.to_string().view(), "rtt:110.937/50.000 rto:310");
}

TEST(TcpRtt, RttvarUsesSrttBeforeItsUpdate) {
    // (2.3) "the above SHOULD be computed using ... the old SRTT": with the new SRTT (112.5)
    // RTTVAR would be 3/4*50 + 1/4*87.5 = 59.375 ms, not 62.5 ms.
    RttEstimator r;
    r.sample(ms(100));
    r.sample(ms(200));
    EXPECT_EQ(r.rttvar(), us(62'500));
    EXPECT_NE(r.rttvar(), us(59'375));
}

TEST(TcpRtt, SteadyStateConvergence) {
    RttEstimator r;
    r.sample(Duration::seconds(1));
    EXPECT_EQ(r.rto(), Duration::seconds(3));  // 1 + 4*0.5
    r.sample(Duration::seconds(1));
    EXPECT_EQ(r.rttvar(), ms(375));            // 3/4*500
    EXPECT_EQ(r.rto(), ms(2500));              // 1 + 4*0.375
    r.sample(Duration::seconds(1));
    EXPECT_EQ(r.rttvar(), us(281'250));        // 3/4*375
    EXPECT_EQ(r.rto(), ms(2125));
    for (int i = 0; i < 50; ++i) r.sample(Duration::seconds(1));
    // RTTVAR = 500 ms * (3/4)^52 ~ 165 ns; 4*RTTVAR < G, so RTO = SRTT + G.
    EXPECT_EQ(r.srtt(), Duration::seconds(1));
    EXPECT_LT(r.rttvar(), us(1));
    EXPECT_EQ(r.rto(), ms(1001));
}

TEST(TcpRtt, ConvergesToANewRttWithoutTruncationBias) {
    // Linux's 1/8-us fixed point leaves SRTT up to 7 units short of a constant RTT; here the
    // residue is below 8 * 2^-16 ns, so SRTT reads exactly the new RTT once it has converged.
    RttEstimator r;
    r.sample(ms(100));
    r.sample(ms(200));
    EXPECT_EQ(r.srtt(), us(112'500));
    for (int i = 0; i < 300; ++i) r.sample(ms(200));
    EXPECT_EQ(r.srtt(), ms(200));
    EXPECT_EQ(r.rto(), ms(201));  // 200 + G (RTTVAR has decayed below 250 us)
}

TEST(TcpRtt, VarianceSpike) {
    RttEstimator r;
    r.sample(ms(100));
    r.sample(ms(100));
    r.sample(ms(100));
    EXPECT_EQ(r.rttvar(), us(28'125));   // 50 -> 37.5 -> 28.125
    EXPECT_EQ(r.rto(), us(212'500));     // 100 + 112.5
    r.sample(ms(500));
    EXPECT_EQ(r.rttvar(), Duration::nanos(121'093'750));  // 3/4*28.125 + 1/4*400 = 21.09375 + 100
    EXPECT_EQ(r.srtt(), ms(150));                         // 7/8*100 + 1/8*500 = 87.5 + 62.5
    EXPECT_EQ(r.rto(), Duration::nanos(634'375'000));     // 150 + 484.375
}

TEST(TcpRtt, MinClamp) {
    RttEstimator r;
    r.sample(ms(1));
    EXPECT_EQ(r.srtt(), ms(1));
    EXPECT_EQ(r.base_rto(), ms(200));  // 1 + max(1, 2) = 3 ms, raised to rto_min
    EXPECT_EQ(r.rto(), ms(200));
}

TEST(TcpRtt, MaxClamp) {
    RttEstimator r;
    r.sample(Duration::seconds(30));
    EXPECT_EQ(r.srtt(), Duration::seconds(30));
    EXPECT_EQ(r.rto(), Duration::seconds(60));  // 30 + 4*15 = 90 s, lowered to rto_max

    RttConfig c;
    c.rto_max = Duration::seconds(10);
    RttEstimator r2(c);
    r2.sample(Duration::seconds(3));
    EXPECT_EQ(r2.rto(), Duration::seconds(9));  // 3 + 4*1.5
    r2.sample(Duration::seconds(9));
    EXPECT_EQ(r2.srtt(), ms(3750));              // 7/8*3 + 1/8*9 = 2.625 + 1.125
    EXPECT_EQ(r2.rttvar(), ms(2625));            // 3/4*1.5 + 1/4*6 = 1.125 + 1.5
    EXPECT_EQ(r2.base_rto(), Duration::seconds(10));  // 3.75 + 10.5 = 14.25 s, lowered to 10 s
}

TEST(TcpRtt, Granularity) {
    RttConfig c;
    c.rto_min = ms(1);
    c.granularity = ms(10);
    RttEstimator coarse(c);
    coarse.sample(ms(4));
    EXPECT_EQ(coarse.rto(), ms(14));  // 4 + max(10, 4*2)

    c.granularity = ms(1);
    RttEstimator fine(c);
    fine.sample(ms(4));
    EXPECT_EQ(fine.rto(), ms(12));  // 4 + max(1, 4*2)
}

TEST(TcpRtt, SubNanosecondPrecisionAndRounding) {
    RttConfig c;
    c.rto_min = Duration::zero();
    c.granularity = Duration::zero();
    RttEstimator r(c);
    r.sample(Duration::nanos(1));
    r.sample(Duration::nanos(2));
    // RTTVAR = 3/4*0.5 + 1/4*1 = 0.625 ns; SRTT = 7/8*1 + 1/8*2 = 1.125 ns;
    // RTO = 1.125 + 2.5 = 3.625 ns, rounded up; srtt()/rttvar() round to nearest.
    EXPECT_EQ(r.srtt(), Duration::nanos(1));
    EXPECT_EQ(r.rttvar(), Duration::nanos(1));
    EXPECT_EQ(r.rto(), Duration::nanos(4));
}

TEST(TcpRtt, ZeroSampleIsValid) {
    RttEstimator r;
    EXPECT_TRUE(r.sample(Duration::zero()));
    EXPECT_EQ(r.srtt(), Duration::zero());
    EXPECT_EQ(r.rto(), ms(200));  // 0 + max(G, 0), raised to rto_min
}

TEST(TcpRtt, NegativeSampleIgnored) {
    RttEstimator r;
    r.sample(ms(100));
    r.on_timeout();
    EXPECT_FALSE(r.sample(Duration::nanos(-1)));
    EXPECT_EQ(r.srtt(), ms(100));
    EXPECT_EQ(r.backoff(), 1u);  // not a valid sample: the backoff stays
    EXPECT_EQ(r.rto(), ms(600));
}

TEST(TcpRtt, HugeSampleIsClampedWithoutOverflow) {
    RttEstimator r;
    EXPECT_TRUE(r.sample(Duration::seconds(1'000'000'000)));
    EXPECT_EQ(r.srtt(), RttEstimator::kMaxSample);
    EXPECT_EQ(r.rto(), Duration::seconds(60));
    r.sample(Duration::seconds(1'000'000'000));
    EXPECT_EQ(r.srtt(), RttEstimator::kMaxSample);
    r.sample(Duration::zero());
    EXPECT_EQ(r.srtt(), Duration::seconds(3150));  // 7/8 * 3600
}

// ---------------------------------------------------------------------------------------------
// Backoff (RFC 6298 §5.5)

TEST(TcpRtt, BackoffDoublesUpToTheCap) {
    RttEstimator r;
    r.sample(ms(100));
    ASSERT_EQ(r.rto(), ms(300));
    const std::int64_t expect_ms[] = {600, 1200, 2400, 4800, 9600, 19200, 38400, 60000, 60000, 60000};
    std::uint32_t n = 0;
    for (std::int64_t e : expect_ms) {
        r.on_timeout();
        ++n;
        EXPECT_EQ(r.rto(), ms(e)) << "after " << n << " timeouts";
        EXPECT_EQ(r.backoff(), n);
        EXPECT_EQ(r.base_rto(), ms(300));
    }
    EXPECT_EQ(r.srtt(), ms(100));  // backoff leaves the estimates alone
    EXPECT_EQ(r.to_string().view(), "rtt:100.000/50.000 rto:60000 backoff:10");
}

TEST(TcpRtt, BackoffFromInitialRto) {
    RttEstimator r;
    r.on_timeout();
    EXPECT_EQ(r.rto(), Duration::seconds(2));
    r.on_timeout();
    EXPECT_EQ(r.rto(), Duration::seconds(4));
    EXPECT_EQ(r.to_string().view(), "rto:4000 backoff:2");
}

TEST(TcpRtt, ManyTimeoutsStayAtCap) {
    RttEstimator r;
    for (int i = 0; i < 100'000; ++i) r.on_timeout();
    EXPECT_EQ(r.backoff(), 100'000u);
    EXPECT_EQ(r.rto(), Duration::seconds(60));
}

TEST(TcpRtt, NewSampleResetsBackoff) {
    RttEstimator r;
    r.sample(ms(100));
    r.on_timeout();
    r.on_timeout();
    r.on_timeout();
    ASSERT_EQ(r.rto(), ms(2400));
    EXPECT_TRUE(r.sample(ms(100)));
    EXPECT_EQ(r.backoff(), 0u);
    EXPECT_EQ(r.rttvar(), us(37'500));  // 3/4*50 + 0
    EXPECT_EQ(r.rto(), ms(250));        // 100 + 150: recomputed, not the backed-off value
}

TEST(TcpRtt, ClearAfterBackoffs) {
    RttConfig c;
    c.clear_after_backoffs = 2;
    RttEstimator r(c);
    r.sample(ms(100));
    r.on_timeout();
    EXPECT_TRUE(r.has_sample());
    r.on_timeout();
    EXPECT_FALSE(r.has_sample());  // RFC 6298 §5: SRTT/RTTVAR cleared ...
    EXPECT_EQ(r.srtt(), Duration::zero());
    EXPECT_EQ(r.rto(), ms(1200));  // ... but the backed-off RTO stays
    r.sample(ms(400));
    EXPECT_EQ(r.srtt(), ms(400));    // re-initialised per (2.2), not blended with 100 ms
    EXPECT_EQ(r.rttvar(), ms(200));
    EXPECT_EQ(r.rto(), ms(1200));    // 400 + 800
    EXPECT_EQ(r.backoff(), 0u);
}

TEST(TcpRtt, SynTimeoutRaisesRtoToThreeSeconds) {
    // §5.7: SYN timed out with RTO < 3 s and no sample -> 3 s once data transmission begins.
    RttEstimator r;
    r.on_timeout();
    EXPECT_EQ(r.rto(), Duration::seconds(2));
    r.on_handshake_done_after_syn_timeout();
    EXPECT_EQ(r.rto(), Duration::seconds(3));
    EXPECT_EQ(r.base_rto(), Duration::seconds(3));
    EXPECT_EQ(r.backoff(), 0u);
    // The first data sample then replaces it.
    r.sample(ms(100));
    EXPECT_EQ(r.rto(), ms(300));

    RttEstimator sampled;  // with a sample (e.g. from a timestamped SYN-ACK) it is left alone
    sampled.sample(ms(100));
    sampled.on_timeout();
    sampled.on_handshake_done_after_syn_timeout();
    EXPECT_EQ(sampled.rto(), ms(300));
    EXPECT_EQ(sampled.backoff(), 0u);
}

// ---------------------------------------------------------------------------------------------
// Timing one segment at a time (RFC 6298 §3, Karn)

TEST(TcpRtt, TimedSegmentGivesASample) {
    RttEstimator r;
    r.on_transmit(SeqNum(1001), at_ms(10), false);
    EXPECT_TRUE(r.timing());
    EXPECT_EQ(r.timed_seq_end(), SeqNum(1001));
    EXPECT_FALSE(r.on_ack(SeqNum(500), at_ms(50)));  // partial ACK: not yet
    EXPECT_TRUE(r.timing());
    EXPECT_TRUE(r.on_ack(SeqNum(1001), at_ms(110)));
    EXPECT_FALSE(r.timing());
    EXPECT_EQ(r.srtt(), ms(100));
    EXPECT_EQ(r.rto(), ms(300));
    EXPECT_FALSE(r.on_ack(SeqNum(1001), at_ms(120)));  // a duplicate takes nothing
    EXPECT_EQ(r.srtt(), ms(100));
}

TEST(TcpRtt, OnlyOneSegmentTimedAtOnce) {
    RttEstimator r;
    r.on_transmit(SeqNum(100), at_ms(0), false);
    r.on_transmit(SeqNum(200), at_ms(40), false);  // not timed: 100 is
    EXPECT_EQ(r.timed_seq_end(), SeqNum(100));
    EXPECT_TRUE(r.on_ack(SeqNum(200), at_ms(100)));  // a cumulative ACK covers the timed one
    EXPECT_EQ(r.srtt(), ms(100));                    // timed from 0, not 40
}

TEST(TcpRtt, KarnIgnoresRetransmittedSegment) {
    RttEstimator r;
    r.on_transmit(SeqNum(1000), at_ms(0), false);
    r.on_timeout();
    EXPECT_FALSE(r.timing());
    r.on_transmit(SeqNum(1000), at_ms(1000), true);
    EXPECT_FALSE(r.on_ack(SeqNum(1000), at_ms(1010)));  // ambiguous: no sample
    EXPECT_FALSE(r.has_sample());
    EXPECT_EQ(r.rto(), Duration::seconds(2));  // Karn: the backed-off RTO is kept ...
    EXPECT_EQ(r.backoff(), 1u);
    r.on_transmit(SeqNum(2000), at_ms(1020), false);  // ... until a fresh segment is timed
    EXPECT_TRUE(r.timing());
    EXPECT_TRUE(r.on_ack(SeqNum(2000), at_ms(1070)));
    EXPECT_EQ(r.srtt(), ms(50));
    EXPECT_EQ(r.backoff(), 0u);
    EXPECT_EQ(r.rto(), ms(200));  // 50 + 100 = 150, raised to rto_min
}

TEST(TcpRtt, KarnRetransmissionCancelsTimingAndBlocksNewTimingUntilAcked) {
    RttEstimator r;
    r.on_transmit(SeqNum(1000), at_ms(0), false);   // timed
    r.on_transmit(SeqNum(2000), at_ms(1), false);
    r.on_transmit(SeqNum(1000), at_ms(30), true);   // fast retransmit of the timed segment
    EXPECT_FALSE(r.timing());
    r.on_transmit(SeqNum(3000), at_ms(31), false);  // retransmitted data outstanding: not timed
    EXPECT_FALSE(r.timing());
    EXPECT_FALSE(r.on_ack(SeqNum(2000), at_ms(60)));  // covers the retransmission
    EXPECT_FALSE(r.has_sample());
    r.on_transmit(SeqNum(4000), at_ms(61), false);  // now timing may start again
    EXPECT_TRUE(r.timing());
    EXPECT_FALSE(r.on_ack(SeqNum(3000), at_ms(80)));
    EXPECT_TRUE(r.on_ack(SeqNum(4000), at_ms(141)));
    EXPECT_EQ(r.srtt(), ms(80));
}

TEST(TcpRtt, KarnPartialAckOfRetransmissionsKeepsBlocking) {
    RttEstimator r;
    r.on_transmit(SeqNum(1000), at_ms(0), true);
    r.on_transmit(SeqNum(3000), at_ms(0), true);  // retransmitted up to 3000
    EXPECT_FALSE(r.on_ack(SeqNum(1000), at_ms(10)));
    r.on_transmit(SeqNum(5000), at_ms(11), false);
    EXPECT_FALSE(r.timing());  // 1000..3000 still unacknowledged retransmissions
    EXPECT_FALSE(r.on_ack(SeqNum(3000), at_ms(20)));
    r.on_transmit(SeqNum(6000), at_ms(21), false);
    EXPECT_TRUE(r.timing());
}

TEST(TcpRtt, TimedSegmentAcrossSequenceWrap) {
    RttEstimator r;
    const SeqNum end = SeqNum(0xFFFF'FF00u) + 0x200;  // wraps to 0x100
    ASSERT_EQ(end, SeqNum(0x100));
    r.on_transmit(end, at_ms(0), false);
    EXPECT_FALSE(r.on_ack(SeqNum(0xFFFF'FFF0u), at_ms(5)));  // before the wrap: short of end
    EXPECT_FALSE(r.on_ack(SeqNum(0xFFu), at_ms(6)));         // after the wrap, still short
    EXPECT_TRUE(r.timing());
    EXPECT_TRUE(r.on_ack(SeqNum(0x100u), at_ms(20)));
    EXPECT_EQ(r.srtt(), ms(20));

    // Retransmission bookkeeping wraps too.
    r.on_transmit(SeqNum(0xFFFF'FFF0u), at_ms(30), true);
    r.on_transmit(SeqNum(0x10u), at_ms(30), true);  // later than 0xFFFFFFF0 modulo 2^32
    EXPECT_FALSE(r.on_ack(SeqNum(0xFFFF'FFF0u), at_ms(40)));
    r.on_transmit(SeqNum(0x20u), at_ms(41), false);
    EXPECT_FALSE(r.timing());
    EXPECT_FALSE(r.on_ack(SeqNum(0x10u), at_ms(50)));
    r.on_transmit(SeqNum(0x30u), at_ms(51), false);
    EXPECT_TRUE(r.timing());
}

// ---------------------------------------------------------------------------------------------
// Timestamp samples (RFC 7323 §4) and the Appendix G gain adjustment

TEST(TcpRtt, ExpectedSamples) {
    EXPECT_EQ(RttEstimator::expected_samples(14600, 1460), 5u);  // ceil(14600 / 2920)
    EXPECT_EQ(RttEstimator::expected_samples(2920, 1460), 1u);
    EXPECT_EQ(RttEstimator::expected_samples(2921, 1460), 2u);
    EXPECT_EQ(RttEstimator::expected_samples(1, 1460), 1u);
    EXPECT_EQ(RttEstimator::expected_samples(0, 1460), 1u);   // never 0
    EXPECT_EQ(RttEstimator::expected_samples(1000, 0), 1u);
    EXPECT_EQ(RttEstimator::expected_samples(0xFFFF'FFFFu, 1), 0x8000'0000u);
}

TEST(TcpRtt, TimestampSamplesWithScaledGains) {
    RttEstimator r;
    r.sample(ms(100), 2);  // the first sample ignores N: (2.2)
    EXPECT_EQ(r.srtt(), ms(100));
    EXPECT_EQ(r.rttvar(), ms(50));
    r.sample(ms(200), 2);  // alpha' = 1/16, beta' = 1/8
    EXPECT_EQ(r.rttvar(), us(56'250));   // 7/8*50 + 1/8*100 = 43.75 + 12.5
    EXPECT_EQ(r.srtt(), us(106'250));    // 15/16*100 + 1/16*200 = 93.75 + 12.5
    EXPECT_EQ(r.rto(), us(331'250));     // 106.25 + 225
}

TEST(TcpRtt, TimestampSamplesWithFiveExpected) {
    RttEstimator r;
    r.sample(ms(100));
    r.sample(ms(180), RttEstimator::expected_samples(14600, 1460));  // N = 5: 1/40, 1/20
    EXPECT_EQ(r.rttvar(), us(51'500));  // 19/20*50 + 1/20*80 = 47.5 + 4
    EXPECT_EQ(r.srtt(), ms(102));       // 39/40*100 + 1/40*180 = 97.5 + 4.5
    EXPECT_EQ(r.rto(), ms(308));        // 102 + 206
}

TEST(TcpRtt, ExpectedSamplesOneOrZeroIsPlainRfc6298) {
    RttEstimator a, b, c;
    for (auto* e : {&a, &b, &c}) e->sample(ms(100));
    a.sample(ms(200));
    b.sample(ms(200), 1);
    c.sample(ms(200), 0);
    for (auto* e : {&a, &b, &c}) {
        EXPECT_EQ(e->srtt(), us(112'500));
        EXPECT_EQ(e->rttvar(), us(62'500));
    }
}

TEST(TcpRtt, TimestampSampleAfterRetransmissionResetsBackoff) {
    // RFC 7323 §4: TSecr identifies the transmission, so a retransmitted segment's echo is
    // a valid sample (Karn does not apply) and it ends the backoff.
    RttEstimator r;
    r.sample(ms(100));
    r.on_timeout();
    r.on_timeout();
    ASSERT_EQ(r.rto(), ms(1200));
    r.sample(ms(100), 1);
    EXPECT_EQ(r.backoff(), 0u);
    EXPECT_EQ(r.rto(), ms(250));
}

}  // namespace
