// NewReno (lib/tcp/cc/newreno) and the congestion-control seam (cc/congestion.hpp).
//
// Each scenario is a table of events with the cwnd/ssthresh expected after each one,
// derived by hand from RFC 5681, RFC 3465, RFC 6582 and RFC 6928 (the arithmetic is
// in the row comments). Unless a test says otherwise SMSS = 1000 bytes, so
// IW = min(10*1000, max(2*1000, 14600)) = 10000. Sequence numbers in the tables are
// offsets from kBase, chosen so that they wrap past 2^32 during every table.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <span>

#include "ustcp/tcp/cc/congestion.hpp"
#include "ustcp/tcp/cc/newreno.hpp"

namespace {

using ustcp::Duration;
using ustcp::Instant;
using ustcp::SeqNum;
using namespace ustcp::tcp::cc;

constexpr std::uint32_t kBase = 0xFFFF'F000u;
constexpr std::uint32_t kInf = kInfiniteSsthresh;

SeqNum at(std::uint32_t off) { return SeqNum(kBase + off); }

enum class Ev { Ack, Dup, Rto, Idle };

struct Row {
    Ev ev;
    std::uint32_t una;  ///< SND.UNA after the event (an Ack's bytes_acked is the advance)
    std::uint32_t max;  ///< SND.MAX reported with the event
    std::uint32_t cwnd;      ///< expected after the event
    std::uint32_t ssthresh;  ///< expected after the event
    bool rtx = false;        ///< expected Response::retransmit
    bool restart = false;    ///< expected Response::restart_rto
    bool recovery = false;   ///< expected in_recovery()
};

/// Feeds `rows` to `cc` (a NewReno or a CongestionControl), starting from SND.UNA = `una`.
template <class Cc>
void run(Cc& cc, std::span<const Row> rows, std::uint32_t una = 0) {
    Instant now = Instant::from_nanos(1'000'000'000);
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const Row& r = rows[i];
        SCOPED_TRACE(::testing::Message() << "table row " << i + 1);
        now += Duration::millis(1);
        Response got{};
        switch (r.ev) {
            case Ev::Ack:
                ASSERT_GT(r.una, una);
                got = cc.on_ack({.bytes_acked = r.una - una, .snd_una = at(r.una), .snd_max = at(r.max), .now = now});
                una = r.una;
                break;
            case Ev::Dup:
                ASSERT_EQ(r.una, una);
                got = cc.on_dup_ack({.snd_una = at(una), .snd_max = at(r.max), .now = now});
                break;
            case Ev::Rto:
                ASSERT_EQ(r.una, una);
                cc.on_timeout({.snd_una = at(una), .snd_max = at(r.max), .now = now});
                break;
            case Ev::Idle:
                cc.on_idle_restart({.now = now, .idle = Duration::seconds(5)});
                break;
        }
        EXPECT_EQ(cc.cwnd(), r.cwnd);
        EXPECT_EQ(cc.ssthresh(), r.ssthresh);
        EXPECT_EQ(got.retransmit, r.rtx);
        EXPECT_EQ(got.restart_rto, r.restart);
        EXPECT_EQ(cc.in_recovery(), r.recovery);
    }
}

constexpr Init kSmss1000{.smss = 1000};

// ---------------------------------------------------------------------------------------------
// Initial window, RFC 6928 §2: min(10*MSS, max(2*MSS, 14600)).

TEST(NewRenoInitialWindow, Rfc6928ForSeveralMss) {
    struct Case { std::uint32_t smss, iw; };
    constexpr Case kCases[] = {
        {100, 1000},     // 10*100 = 1000 < max(200, 14600)
        {536, 5360},     // 10*536 = 5360 (the RFC 9293 default MSS)
        {1000, 10000},
        {1220, 12200},   // IPv6 minimum-MTU MSS
        {1460, 14600},   // 10*1460 = 14600 = the byte cap exactly
        {1500, 14600},   // 15000 capped to max(3000, 14600)
        {4000, 14600},   // 40000 capped to max(8000, 14600)
        {8960, 17920},   // jumbo: max(2*8960, 14600) = 17920 < 89600
        {9000, 18000},
    };
    for (const auto& c : kCases) {
        SCOPED_TRACE(c.smss);
        EXPECT_EQ(initial_window(c.smss), c.iw);
        const NewReno cc(Init{.smss = c.smss});
        EXPECT_EQ(cc.cwnd(), c.iw);
        EXPECT_EQ(cc.initial_window(), c.iw);
        EXPECT_EQ(cc.ssthresh(), kInf);  // RFC 5681 §3.1: "arbitrarily high"
        EXPECT_FALSE(cc.in_recovery());
    }
    static_assert(initial_window(1460) == 14600);
}

TEST(NewRenoInitialWindow, OneSegmentAfterLostSyn) {
    // RFC 6928 §2: after a retransmitted SYN or SYN-ACK, IW is one segment.
    const NewReno cc(Init{.smss = 1460, .syn_retransmitted = true});
    EXPECT_EQ(cc.cwnd(), 1460u);
}

// ---------------------------------------------------------------------------------------------
// Slow start, RFC 5681 §3.1 with RFC 3465 byte counting, L = 2*SMSS.

TEST(NewRenoSlowStart, GrowthPerAck) {
    NewReno cc(Init{.smss = 1460});  // IW 14600
    constexpr Row kRows[] = {
        //  ev       una    max    cwnd   ssthresh
        {Ev::Ack,  1460, 30000, 16060, kInf},  // +min(1460, 2920) = 1460
        {Ev::Ack,  4380, 30000, 18980, kInf},  // delayed ACK of 2 segments: +min(2920, 2920)
        {Ev::Ack,  8760, 30000, 21900, kInf},  // stretch ACK of 3 segments: +L = 2920, not 4380
        {Ev::Ack,  9260, 30000, 22400, kInf},  // 500 bytes: +500
        {Ev::Ack, 10720, 30000, 23860, kInf},  // +1460
    };
    run(cc, kRows);
}

TEST(NewRenoSlowStart, TransitionToCongestionAvoidanceAtSsthresh) {
    NewReno cc(Init{.smss = 1000, .ssthresh = 13000});  // cwnd 10000 < ssthresh: slow start
    constexpr Row kRows[] = {
        {Ev::Ack,  2000, 50000, 12000, 13000},  // slow start +2000
        {Ev::Ack,  4000, 50000, 13000, 13000},  // +2000 would give 14000: stops at ssthresh
        // cwnd == ssthresh: congestion avoidance, +SMSS once 13000 bytes are acknowledged
        {Ev::Ack,  5000, 50000, 13000, 13000},  // bytes_acked 1000
        {Ev::Ack,  6000, 50000, 13000, 13000},  // 2000
        {Ev::Ack,  7000, 50000, 13000, 13000},  // 3000
        {Ev::Ack,  8000, 50000, 13000, 13000},
        {Ev::Ack,  9000, 50000, 13000, 13000},
        {Ev::Ack, 10000, 50000, 13000, 13000},
        {Ev::Ack, 11000, 50000, 13000, 13000},
        {Ev::Ack, 12000, 50000, 13000, 13000},
        {Ev::Ack, 13000, 50000, 13000, 13000},
        {Ev::Ack, 14000, 50000, 13000, 13000},
        {Ev::Ack, 15000, 50000, 13000, 13000},
        {Ev::Ack, 16000, 50000, 13000, 13000},  // bytes_acked 12000
        {Ev::Ack, 17000, 50000, 14000, 13000},  // 13000 >= cwnd: +1000, bytes_acked 0
        {Ev::Ack, 24000, 50000, 14000, 13000},  // 7000
        {Ev::Ack, 31000, 50000, 15000, 13000},  // 14000 >= cwnd: +1000, bytes_acked 0
    };
    run(cc, kRows);
}

// ---------------------------------------------------------------------------------------------
// Congestion avoidance: about one SMSS per RTT.

TEST(NewRenoCongestionAvoidance, ByteCountingAddsExactlyOneSmssPerRtt) {
    // ssthresh = IW = 10000: congestion avoidance from the start. Each round trip the
    // whole window is acknowledged one segment per ACK; cwnd grows by SMSS on its last ACK.
    NewReno cc(Init{.smss = 1000, .ssthresh = 10000});
    std::uint32_t una = 0;
    for (std::uint32_t round = 0; round < 6; ++round) {
        const std::uint32_t w = cc.cwnd();
        EXPECT_EQ(w, 10000 + round * 1000);
        for (std::uint32_t k = 0; k < w / 1000; ++k) {
            una += 1000;
            (void)cc.on_ack({.bytes_acked = 1000, .snd_una = at(una), .snd_max = at(una + w), .now = {}});
            EXPECT_EQ(cc.cwnd(), k + 1 < w / 1000 ? w : w + 1000) << "round " << round << " ack " << k;
        }
    }
    // The same with delayed ACKs (2 segments per ACK): still one SMSS per window acknowledged.
    NewReno d(Init{.smss = 1000, .ssthresh = 10000});
    una = 0;
    constexpr std::uint32_t kExpect[] = {10000, 10000, 10000, 10000, 11000,   // 10000 acked
                                         11000, 11000, 11000, 11000, 11000,   // 10000 of 11000
                                         12000};                              // 12000 >= 11000, 1000 left
    for (std::uint32_t want : kExpect) {
        una += 2000;
        (void)d.on_ack({.bytes_acked = 2000, .snd_una = at(una), .snd_max = at(una + 20000), .now = {}});
        EXPECT_EQ(d.cwnd(), want);
    }
}

TEST(NewRenoCongestionAvoidance, PerAckFormula) {
    // RFC 5681 eq. (3), cwnd += SMSS*SMSS/cwnd (integer division): one window of ACKs adds
    // slightly less than SMSS.
    NewReno cc(Init{.smss = 1000, .ssthresh = 10000},
               NewRenoConfig{.ca_growth = NewRenoConfig::CaGrowth::PerAck});
    constexpr Row kRows[] = {
        {Ev::Ack,  1000, 50000, 10100, 10000},  // 1e6 / 10000 = 100
        {Ev::Ack,  2000, 50000, 10199, 10000},  // 1e6 / 10100 = 99
        {Ev::Ack,  3000, 50000, 10297, 10000},  // 1e6 / 10199 = 98
        {Ev::Ack,  4000, 50000, 10394, 10000},  // 97
        {Ev::Ack,  5000, 50000, 10490, 10000},  // 96
        {Ev::Ack,  6000, 50000, 10585, 10000},  // 95
        {Ev::Ack,  7000, 50000, 10679, 10000},  // 94
        {Ev::Ack,  8000, 50000, 10772, 10000},  // 93
        {Ev::Ack,  9000, 50000, 10864, 10000},  // 92
        {Ev::Ack, 10000, 50000, 10956, 10000},  // 92: one RTT, +956 ~ 1 SMSS
    };
    run(cc, kRows);
}

// ---------------------------------------------------------------------------------------------
// Fast retransmit and NewReno fast recovery (RFC 5681 §3.2, RFC 6582 §3.2).

// Ten segments in flight; later the segments at 2000 and 5000 are lost.
constexpr Row kRecoveryPrefix[] = {
    //  ev      una    max    cwnd   ssthresh rtx    restart recovery
    {Ev::Ack,  1000, 10000, 11000, kInf},                        // slow start +1000
    {Ev::Ack,  2000, 14000, 12000, kInf},                        // +1000; 12000 in flight
    {Ev::Dup,  2000, 14000, 12000, kInf},                        // dup ACK 1
    {Ev::Dup,  2000, 14000, 12000, kInf},                        // dup ACK 2
    // 3rd dup ACK: ssthresh = max(FlightSize/2, 2*SMSS) = max(12000/2, 2000) = 6000,
    // retransmit 2000, cwnd = ssthresh + 3*SMSS = 9000, recover = SND.MAX = 14000.
    {Ev::Dup,  2000, 14000,  9000, 6000, true, false, true},
    {Ev::Dup,  2000, 14000, 10000, 6000, false, false, true},    // inflate +SMSS
    {Ev::Dup,  2000, 14000, 11000, 6000, false, false, true},
    {Ev::Dup,  2000, 14000, 12000, 6000, false, false, true},
    // Partial ACK (5000 < recover): retransmit 5000, deflate by the 3000 acknowledged and,
    // as that is >= SMSS, add SMSS back: 12000 - 3000 + 1000 = 10000. First partial ACK:
    // restart the RTO.
    {Ev::Ack,  5000, 14000, 10000, 6000, true, true, true},
    {Ev::Dup,  5000, 14000, 11000, 6000, false, false, true},    // still inflating
    // Partial ACK of 500 < SMSS: deflate only, 11000 - 500 = 10500; not the first partial ACK.
    {Ev::Ack,  5500, 14000, 10500, 6000, true, false, true},
    // Partial ACK of 1500: 10500 - 1500 + 1000 = 10000. FlightSize is 7000 < cwnd, so two
    // new segments went out: SND.MAX 16000.
    {Ev::Ack,  7000, 16000, 10000, 6000, true, false, true},
};

TEST(NewRenoRecovery, FastRetransmitPartialAcksAndFullAck) {
    NewReno cc(kSmss1000);
    run(cc, kRecoveryPrefix);
    EXPECT_EQ(cc.recover(), at(14000));

    constexpr Row kRest[] = {
        // Full ACK (14000 >= recover): leave recovery with RFC 6582 option (1),
        // cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS) = min(6000, 2000 + 1000) = 3000.
        {Ev::Ack, 14000, 16000, 3000, 6000},
        {Ev::Ack, 15000, 17000, 4000, 6000},   // slow start again (cwnd < ssthresh), +1000
        {Ev::Ack, 16000, 30000, 5000, 6000},
        {Ev::Ack, 18000, 30000, 6000, 6000},   // +2000 would give 7000: stops at ssthresh
        {Ev::Ack, 19000, 30000, 6000, 6000},   // congestion avoidance, bytes_acked 1000
        {Ev::Ack, 20000, 30000, 6000, 6000},
        {Ev::Ack, 21000, 30000, 6000, 6000},
        {Ev::Ack, 22000, 30000, 6000, 6000},
        {Ev::Ack, 23000, 30000, 6000, 6000},
        {Ev::Ack, 24000, 30000, 7000, 6000},   // 6000 acknowledged: +SMSS
    };
    std::span<const Row> all(kRest);
    run(cc, all, 7000);

    const CcCounters& n = cc.counters();
    EXPECT_EQ(n.fast_retransmits, 1u);
    EXPECT_EQ(n.partial_acks, 3u);
    EXPECT_EQ(n.recoveries, 1u);
    EXPECT_EQ(n.timeouts, 0u);
    EXPECT_EQ(n.fast_retransmits_avoided, 0u);
}

// RFC 6675 §5 (4.2) through the seam's on_loss: ssthresh = cwnd = FlightSize / 2, no
// inflation, partial ACKs change nothing (the connection sends by pipe), the ACK reaching
// SND.MAX at the loss ends recovery with cwnd = ssthresh; on_undo restores what the
// connection read before the reduction.
TEST(NewRenoSackRecovery, OnLossHalvesWithoutInflationAndOnUndoRestores) {
    NewReno cc(kSmss1000);
    Instant now = Instant::from_nanos(1'000'000'000);
    // Slow start to cwnd 14000 first.
    for (std::uint32_t una = 1000; una <= 4000; una += 1000) {
        (void)cc.on_ack({.bytes_acked = 1000, .snd_una = at(una), .snd_max = at(14000), .now = now});
    }
    ASSERT_EQ(cc.cwnd(), 14000u);
    const std::uint32_t prior_cwnd = cc.cwnd(), prior_ssthresh = cc.ssthresh();
    cc.on_loss({.snd_una = at(4000), .snd_max = at(16000), .now = now});
    EXPECT_TRUE(cc.in_recovery());
    EXPECT_EQ(cc.ssthresh(), 6000u);  // FlightSize 12000 / 2
    EXPECT_EQ(cc.cwnd(), 6000u);      // no + 3 * SMSS
    EXPECT_EQ(cc.recover(), at(16000));
    cc.on_loss({.snd_una = at(4000), .snd_max = at(16000), .now = now});  // once per episode
    EXPECT_EQ(cc.counters().loss_recoveries, 1u);
    // Duplicate ACKs are not reported with SACK; a partial ACK changes nothing.
    Response r = cc.on_ack({.bytes_acked = 3000, .snd_una = at(7000), .snd_max = at(16000), .now = now});
    EXPECT_EQ(r, Response{});
    EXPECT_EQ(cc.cwnd(), 6000u);
    EXPECT_TRUE(cc.in_recovery());
    r = cc.on_ack({.bytes_acked = 9000, .snd_una = at(16000), .snd_max = at(18000), .now = now});
    EXPECT_EQ(r, Response{});
    EXPECT_FALSE(cc.in_recovery());
    EXPECT_EQ(cc.cwnd(), 6000u);
    EXPECT_EQ(cc.counters().recoveries, 1u);
    // The reduction was spurious: back to the window before it.
    EXPECT_TRUE(cc.on_undo({.snd_una = at(16000), .snd_max = at(18000), .now = now,
                            .prior_cwnd = prior_cwnd, .prior_ssthresh = prior_ssthresh}));
    EXPECT_EQ(cc.cwnd(), 14000u);
    EXPECT_EQ(cc.ssthresh(), kInf);
    EXPECT_EQ(cc.counters().undos, 1u);
    EXPECT_FALSE(cc.on_undo({.snd_una = at(16000), .snd_max = at(18000), .now = now,
                             .prior_cwnd = prior_cwnd, .prior_ssthresh = prior_ssthresh}))
        << "one undo per reduction";
    // After an RTO, no loss recovery until SND.UNA passes its recover (RFC 6675 §5.1).
    cc.on_timeout({.snd_una = at(16000), .snd_max = at(20000), .now = now});
    cc.on_loss({.snd_una = at(16000), .snd_max = at(20000), .now = now});
    EXPECT_FALSE(cc.in_recovery());
    EXPECT_EQ(cc.counters().loss_recoveries, 1u);
}

TEST(NewRenoRecovery, FullAckExitToSsthreshOption) {
    NewReno cc(kSmss1000, NewRenoConfig{.recovery_exit = NewRenoConfig::RecoveryExit::Ssthresh});
    run(cc, kRecoveryPrefix);
    constexpr Row kRest[] = {
        {Ev::Ack, 14000, 16000, 6000, 6000},   // RFC 6582 option (2): cwnd = ssthresh
        {Ev::Ack, 15000, 17000, 6000, 6000},   // cwnd == ssthresh: congestion avoidance
    };
    run(cc, std::span<const Row>(kRest), 7000);
}

TEST(NewRenoRecovery, PartialAckDeflationAndItsFloor) {
    NewReno cc(kSmss1000);
    constexpr Row kRows[] = {
        {Ev::Dup,     0,  4000, 10000, kInf},
        {Ev::Dup,     0,  4000, 10000, kInf},
        // ssthresh = max(4000/2, 2000) = 2000, cwnd = 2000 + 3000 = 5000
        {Ev::Dup,     0,  4000,  5000, 2000, true, false, true},
        // Partial ACK of 3500: 5000 - 3500 + 1000 = 2500
        {Ev::Ack,  3500,  4000,  2500, 2000, true, true, true},
        // Partial ACK of 499 < SMSS: 2500 - 499 = 2001
        {Ev::Ack,  3999,  4000,  2001, 2000, true, false, true},
        // Full ACK with nothing left in flight: min(ssthresh, max(0, SMSS) + SMSS) = 2000.
        {Ev::Ack,  4000,  4000,  2000, 2000},
    };
    run(cc, kRows);
    EXPECT_FALSE(cc.in_recovery());

    // A partial ACK larger than cwnd would deflate below zero: cwnd stays one segment.
    NewReno b(kSmss1000);
    for (int i = 0; i < 3; ++i) (void)b.on_dup_ack({.snd_una = at(0), .snd_max = at(20000), .now = {}});
    EXPECT_EQ(b.cwnd(), 13000u);  // ssthresh 10000 + 3000
    const Response r = b.on_ack({.bytes_acked = 19000, .snd_una = at(19000), .snd_max = at(20000), .now = {}});
    EXPECT_TRUE(r.retransmit);
    EXPECT_EQ(b.cwnd(), 1000u);  // max(0 + 1000, SMSS)
}

// ---------------------------------------------------------------------------------------------
// RTO (RFC 5681 §3.1) and the careful variant (RFC 6582 §3.2 steps 1 and 4).

TEST(NewRenoTimeout, CollapseThenNoFastRetransmitBelowRecover) {
    NewReno cc(kSmss1000);
    constexpr Row kRows[] = {
        //  ev      una    max    cwnd   ssthresh rtx    restart recovery
        {Ev::Ack, 10000, 26000, 12000, kInf},                 // stretch ACK: +L = 2000
        {Ev::Ack, 12000, 26000, 14000, kInf},
        // RTO: ssthresh = max(FlightSize/2, 2*SMSS) = 14000/2 = 7000, cwnd = LW = 1000,
        // recover = 26000.
        {Ev::Rto, 12000, 26000,  1000, 7000},
        // The same segment times out again: ssthresh is held, cwnd stays 1000.
        {Ev::Rto, 12000, 26000,  1000, 7000},
        {Ev::Ack, 13000, 26000,  2000, 7000},                 // slow start after RTO
        {Ev::Ack, 15000, 26000,  3000, 7000},                 // L = 1*SMSS after an RTO: +1000, not +2000
        // Go-back-N resent segments the receiver already had: duplicate ACKs at 15000,
        // below recover = 26000. The third must not trigger fast retransmit (RFC 6582
        // §3.2 step 1) and must leave ssthresh alone.
        {Ev::Dup, 15000, 26000,  3000, 7000},
        {Ev::Dup, 15000, 26000,  3000, 7000},
        {Ev::Dup, 15000, 26000,  3000, 7000},
        {Ev::Dup, 15000, 26000,  3000, 7000},
        {Ev::Ack, 19000, 26000,  4000, 7000},
        {Ev::Ack, 26000, 30000,  5000, 7000},                 // SND.UNA reaches recover
        {Ev::Ack, 27000, 32000,  6000, 7000},
        {Ev::Ack, 28000, 35000,  7000, 7000},                 // reaches ssthresh
        {Ev::Ack, 29000, 35000,  7000, 7000},                 // congestion avoidance
        // A new loss: these duplicate ACKs cover more than recover, so the third one
        // starts fast retransmit: ssthresh = max(6000/2, 2000) = 3000, cwnd = 6000.
        {Ev::Dup, 29000, 35000,  7000, 7000},
        {Ev::Dup, 29000, 35000,  7000, 7000},
        {Ev::Dup, 29000, 35000,  6000, 3000, true, false, true},
        // RTO during recovery: ssthresh recomputed (SND.UNA moved since the last RTO),
        // max(6000/2, 2000) = 3000; cwnd = 1000; recovery abandoned; recover = 35000.
        {Ev::Rto, 29000, 35000,  1000, 3000},
        // An ACK below recover is now an ordinary slow-start ACK, not a partial ACK.
        {Ev::Ack, 30000, 35000,  2000, 3000},
    };
    run(cc, kRows);
    EXPECT_EQ(cc.recover(), at(35000));
    const CcCounters& n = cc.counters();
    EXPECT_EQ(n.timeouts, 3u);
    EXPECT_EQ(n.fast_retransmits_avoided, 1u);
    EXPECT_EQ(n.fast_retransmits, 1u);
    EXPECT_EQ(n.partial_acks, 0u);
    EXPECT_EQ(n.recoveries, 0u);
}

TEST(NewRenoTimeout, SsthreshFloorIsTwoSegments) {
    NewReno cc(kSmss1000);
    constexpr Row kRows[] = {
        {Ev::Rto,    0,  1000, 1000, 2000},  // max(1000/2, 2000) = 2000
        {Ev::Ack, 1000,  3000, 2000, 2000},  // +1000 reaches ssthresh
        {Ev::Ack, 2000,  3000, 2000, 2000},  // congestion avoidance
    };
    run(cc, kRows);
}

// ---------------------------------------------------------------------------------------------
// Restart after idle (RFC 5681 §4.1).

TEST(NewRenoIdle, RestartWindowIsMinOfIwAndCwnd) {
    NewReno cc(kSmss1000);
    constexpr Row kRows[] = {
        {Ev::Ack,  2000, 50000, 12000, kInf},
        {Ev::Ack,  4000, 50000, 14000, kInf},
        {Ev::Ack,  6000, 50000, 16000, kInf},
        {Ev::Ack,  8000, 50000, 18000, kInf},
        {Ev::Ack, 10000, 50000, 20000, kInf},
        {Ev::Idle, 10000, 50000, 10000, kInf},  // RW = min(IW, cwnd) = 10000
        {Ev::Ack, 12000, 50000, 12000, kInf},   // slow start resumes
        // RTO with 4000 in flight: ssthresh = max(2000, 2000), cwnd 1000
        {Ev::Rto, 12000, 16000,  1000, 2000},
        {Ev::Ack, 13000, 16000,  2000, 2000},   // slow start to ssthresh
        {Ev::Ack, 16000, 16000,  3000, 2000},   // CA: 3000 >= 2000, +1000 (1000 left over)
        {Ev::Idle, 16000, 16000, 3000, 2000},   // RW = min(10000, 3000): no change
    };
    run(cc, kRows);
    EXPECT_EQ(cc.counters().idle_restarts, 2u);
}

TEST(NewRenoIdle, IdleRestartDue) {
    const Instant last = Instant::from_nanos(5'000'000'000);
    const Duration rto = Duration::seconds(1);
    EXPECT_FALSE(idle_restart_due(last, last + Duration::millis(999), rto));
    EXPECT_FALSE(idle_restart_due(last, last + rto, rto));  // "exceeding": equal is not enough
    EXPECT_TRUE(idle_restart_due(last, last + rto + Duration::nanos(1), rto));
}

// ---------------------------------------------------------------------------------------------
// The seam.

static_assert(Policy<NewReno>);
static_assert(Policy<Cubic>);
// CUBIC's state (W_max, K, W_est, the epoch, HyStart++'s per-round RTTs, what an undo
// restores, the recovery counters) is the largest.
static_assert(sizeof(CongestionControl) <= 160, "the seam lives inside every connection");

TEST(CongestionSeam, DispatchesToTheSelectedPolicy) {
    CcConfig cfg;
    cfg.algorithm = Algorithm::NewReno;
    CongestionControl cc = make_congestion_control(cfg, kSmss1000);
    EXPECT_EQ(algorithm(cc), Algorithm::NewReno);
    ASSERT_NE(cc.get_if<NewReno>(), nullptr);
    EXPECT_EQ(cc.smss(), 1000u);
    run(cc, kRecoveryPrefix);
    EXPECT_EQ(cc.recover(), at(14000));
    EXPECT_EQ(cc.counters().fast_retransmits, 1u);
    EXPECT_EQ(cc.counters().partial_acks, 3u);

    // The configuration reaches the policy.
    cfg.newreno.recovery_exit = NewRenoConfig::RecoveryExit::Ssthresh;
    CongestionControl c2 = make_congestion_control(cfg, kSmss1000);
    run(c2, kRecoveryPrefix);
    (void)c2.on_ack({.bytes_acked = 7000, .snd_una = at(14000), .snd_max = at(16000), .now = {}});
    EXPECT_EQ(c2.cwnd(), 6000u);
}

TEST(CongestionSeam, SameResultsAsDirectCallsUnderRandomEvents) {
    // Seeded random events through the seam and straight to NewReno agree step by step,
    // and the invariants of the contract hold throughout.
    std::mt19937 rng(42);
    CcConfig newreno;
    newreno.algorithm = Algorithm::NewReno;
    CongestionControl seam = make_congestion_control(newreno, Init{.smss = 1448});
    NewReno direct(Init{.smss = 1448});
    std::uint32_t una = 0, max = 0;
    Instant now;
    for (int i = 0; i < 20000; ++i) {
        now += Duration::micros(50);
        max += (rng() % 4) * 1448;
        Response a{}, b{};
        switch (rng() % 10) {
            case 0: case 1: case 2: case 3: case 4: {
                if (max == una) break;
                const std::uint32_t n = 1 + rng() % (max - una);
                una += n;
                const AckEvent e{.bytes_acked = n, .snd_una = at(una), .snd_max = at(max), .now = now};
                a = seam.on_ack(e);
                b = direct.on_ack(e);
                break;
            }
            case 5: case 6: case 7: {
                if (max == una) break;
                const DupAckEvent e{.snd_una = at(una), .snd_max = at(max), .now = now};
                a = seam.on_dup_ack(e);
                b = direct.on_dup_ack(e);
                break;
            }
            case 8: {
                const TimeoutEvent e{.snd_una = at(una), .snd_max = at(max), .now = now};
                seam.on_timeout(e);
                direct.on_timeout(e);
                break;
            }
            default: {
                const IdleEvent e{.now = now, .idle = Duration::seconds(2)};
                seam.on_idle_restart(e);
                direct.on_idle_restart(e);
                break;
            }
        }
        ASSERT_EQ(a, b) << i;
        ASSERT_EQ(seam.cwnd(), direct.cwnd()) << i;
        ASSERT_EQ(seam.ssthresh(), direct.ssthresh()) << i;
        ASSERT_EQ(seam.in_recovery(), direct.in_recovery()) << i;
        ASSERT_EQ(seam.dup_acks(), direct.dup_acks()) << i;
        ASSERT_GE(seam.cwnd(), 1448u) << i;
        ASSERT_LE(seam.cwnd(), kMaxCwnd) << i;
        ASSERT_GE(seam.ssthresh(), 2u * 1448) << i;
    }
    EXPECT_EQ(seam.counters(), direct.counters());
    EXPECT_GT(seam.counters().fast_retransmits, 0u);
    EXPECT_GT(seam.counters().partial_acks, 0u);
    EXPECT_GT(seam.counters().recoveries, 0u);
}

}  // namespace
