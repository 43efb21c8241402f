// CUBIC congestion control (RFC 9438) with HyStart++ slow-start exit (RFC 9406), behind
// the seam of congestion.hpp. One value per connection, no allocation, no clock, no I/O:
// time and RTT samples come in the events.
//
//   cc::Cubic cc(cc::Init{.smss = 1448});
//   r = cc.on_ack({.bytes_acked = n, .snd_una = una, .snd_max = max, .now = now, .rtt = sample});
//   r = cc.on_dup_ack({una, max, now});  cc.on_timeout({una, max, now});
//   while (flight + smss <= min(cc.cwnd(), snd_wnd)) send_new_segment();
//
// Window growth in congestion avoidance (RFC 9438 §4), in segments of SMSS and seconds:
//   W_cubic(t) = C (t - K)^3 + W_max,   K = cbrt((W_max - cwnd_epoch) / C)
// with t the time since the current congestion-avoidance stage began; each ACK moves cwnd
// toward target = W_cubic(t + RTT), clamped to [cwnd, 1.5 cwnd] (§4.2, the concave and
// convex regions). The Reno-friendly estimate W_est (§4.3) grows by
// alpha = 3 (1 - beta) / (1 + beta) per window (1 once W_est reaches cwnd_prior), and
// cwnd follows it whenever W_cubic(t) < W_est.
// A congestion event (§4.6, the third duplicate ACK, or the first RTO of a segment):
// W_max = cwnd, or cwnd (1 + beta) / 2 below the previous W_max (fast convergence, §4.7);
// ssthresh = max(beta * cwnd, 2 SMSS) with beta = 0.7; then fast recovery as NewReno does
// it (RFC 6582 with the "careful" check, the RFC 5681 inflation, full/partial ACKs), or
// on an RTO cwnd = 1 SMSS (§4.8).
//
// Slow start: RFC 3465 byte counting (L = abc_limit_segments SMSS, 1 after an RTO). In the
// initial slow start HyStart++ (RFC 9406 §4.2) watches the minimum RTT per round (a round
// ends when SND.UNA passes the SND.MAX it began with): with at least N_RTT_SAMPLE = 8
// samples in a round and currentRoundMinRTT >= lastRoundMinRTT + RttThresh, RttThresh =
// clamp(lastRoundMinRTT / 8, 4 ms, 16 ms), it enters Conservative Slow Start (growth / 4);
// an RTT back below the baseline returns to slow start; CSS_ROUNDS = 5 rounds of CSS end
// slow start (ssthresh = cwnd). A loss in slow start or CSS ends it as usual.
//
// Choices where the RFCs leave room:
// - ssthresh uses min(cwnd, FlightSize) * beta, so that an application-limited sender's
//   unused cwnd does not count (RFC 9438 §4.6 allows FlightSize).
// - HyStart++ runs in the initial slow start only; after an RTO plain slow start runs
//   up to ssthresh (RFC 9406 §4.3 leaves it to the implementation).
// - The RTT in W_cubic(t + RTT) is a smoothed RTT of the samples (7/8 EWMA, as SRTT).
// - After idle (RFC 5681 §4.1 restart), the epoch start moves forward by the idle time,
//   so that the curve resumes where it was instead of jumping.
// - SACK/RACK losses (on_loss) reduce as a congestion event does, to ssthresh with no
//   inflation; the connection then sends by pipe (RFC 6675), so partial ACKs change nothing
//   here and the full ACK leaves cwnd at ssthresh.
// - A spurious reduction (on_undo, D-SACK) restores cwnd and ssthresh from the event, and
//   W_max and cwnd_prior as they were before the reduction (RFC 9438 §4.9); the next ACK in
//   congestion avoidance starts a new epoch from there.
#pragma once

#include <cstdint>

#include "ustcp/base/seqnum.hpp"
#include "ustcp/base/time.hpp"
#include "ustcp/tcp/cc/events.hpp"
#include "ustcp/tcp/cc/recovery.hpp"

namespace ustcp::tcp::cc {

struct CubicConfig {
    float c = 0.4f;       ///< RFC 9438 §5.1's C, in segments / s^3
    float beta = 0.7f;    ///< RFC 9438 §4.6's beta_cubic
    bool fast_convergence = true;  ///< RFC 9438 §4.7
    bool reno_friendly = true;     ///< RFC 9438 §4.3
    bool hystart = true;           ///< RFC 9406 HyStart++ in the initial slow start
    /// RFC 3465's L, in SMSS units, for slow start not following an RTO.
    std::uint8_t abc_limit_segments = 2;
};

class Cubic {
public:
    // RFC 9406 §4.3's constants.
    static constexpr Duration kMinRttThresh = Duration::millis(4);
    static constexpr Duration kMaxRttThresh = Duration::millis(16);
    static constexpr std::int64_t kMinRttDivisor = 8;
    static constexpr std::uint32_t kNRttSample = 8;
    static constexpr std::uint32_t kCssGrowthDivisor = 4;
    static constexpr std::uint32_t kCssRounds = 5;

    explicit Cubic(const Init& init, const CubicConfig& cfg = {}) noexcept;

    // ---- Events (contract in congestion.hpp) ----
    Response on_ack(const AckEvent& e) noexcept;
    Response on_dup_ack(const DupAckEvent& e) noexcept;
    void on_timeout(const TimeoutEvent& e) noexcept;
    void on_idle_restart(const IdleEvent& e) noexcept;
    /// SACK/RACK loss: a congestion event, cwnd = ssthresh, recovery until SND.MAX is acked.
    void on_loss(const LossEvent& e) noexcept;
    /// Undoes the last reduction (RFC 9438 §4.9); false when there was none since the last undo.
    bool on_undo(const UndoEvent& e) noexcept;

    // ---- Outputs ----
    [[nodiscard]] std::uint32_t cwnd() const noexcept { return cwnd_; }
    [[nodiscard]] std::uint32_t ssthresh() const noexcept { return ssthresh_; }
    [[nodiscard]] std::uint32_t smss() const noexcept { return smss_; }
    [[nodiscard]] bool in_recovery() const noexcept { return rec_.in_recovery(); }
    [[nodiscard]] SeqNum recover() const noexcept { return rec_.recover(); }
    [[nodiscard]] std::uint32_t dup_acks() const noexcept { return rec_.dup_acks(); }
    [[nodiscard]] const CcCounters& counters() const noexcept { return rec_.counters(); }

    // ---- CUBIC's and HyStart++'s state, for tests and diagnostics ----
    /// W_max in bytes (0 before the first congestion event).
    [[nodiscard]] double w_max() const noexcept { return w_max_; }
    /// K in seconds, of the current congestion-avoidance stage.
    [[nodiscard]] double k() const noexcept { return k_; }
    /// The Reno-friendly estimate W_est in bytes.
    [[nodiscard]] double w_est() const noexcept { return w_est_; }
    /// W_cubic(t) in bytes, t seconds into the current congestion-avoidance stage.
    [[nodiscard]] double w_cubic(double t) const noexcept;
    /// Whether the current stage's epoch started (the first ACK in congestion avoidance).
    [[nodiscard]] bool epoch_started() const noexcept { return epoch_valid_; }
    enum class Phase : std::uint8_t { SlowStart, ConservativeSlowStart, CongestionAvoidance };
    [[nodiscard]] Phase phase() const noexcept;
    /// HyStart++ ended slow start (CSS_ROUNDS of CSS) this many times: 0 or 1.
    [[nodiscard]] std::uint32_t hystart_exits() const noexcept { return hystart_exits_; }
    /// HyStart++ entered CSS (including entries it later found spurious; saturates at 255).
    [[nodiscard]] std::uint32_t css_entries() const noexcept { return css_entries_; }

private:
    void slow_start(const AckEvent& e) noexcept;
    void hystart_round(const AckEvent& e) noexcept;
    void avoid(const AckEvent& e) noexcept;
    void congestion_event(SeqNum snd_una, SeqNum snd_max) noexcept;

    // Kept small: the seam's value lives in every connection (congestion.hpp). Windows in
    // bytes as float (24 bits of mantissa: exact to 64 bytes at the 1 GiB kMaxCwnd), RTTs in
    // microseconds (kNoRtt: none yet).
    static constexpr std::uint32_t kNoRtt = ~0u;
    std::uint32_t smss_;
    std::uint32_t iw_;
    std::uint32_t cwnd_;
    std::uint32_t ssthresh_;
    SeqNum window_end_;        ///< HyStart++'s windowEnd
    float c_;
    float beta_;
    float w_max_ = 0;
    float k_ = 0;
    float w_est_ = 0;
    float cwnd_prior_ = 0;
    float prior_w_max_ = 0;       ///< W_max before the last reduction (on_undo restores it)
    float prior_cwnd_prior_ = 0;  ///< cwnd_prior before the last reduction
    float ca_frac_ = 0;        ///< growth below one byte, carried to the next ACK
    Instant epoch_start_;
    std::uint32_t srtt_us_ = 0;
    std::uint32_t last_round_min_rtt_us_ = kNoRtt;
    std::uint32_t current_round_min_rtt_us_ = kNoRtt;
    std::uint32_t css_baseline_min_rtt_us_ = kNoRtt;
    std::uint8_t abc_limit_;
    std::uint8_t rtt_sample_count_ = 0;
    std::uint8_t css_rounds_ = 0;
    std::uint8_t hystart_exits_ = 0;
    std::uint8_t css_entries_ = 0;
    bool fast_convergence_;
    bool reno_friendly_;
    bool hystart_on_;          ///< still in the initial slow start, HyStart++ watching
    bool in_css_ = false;
    bool round_started_ = false;
    bool epoch_valid_ = false;
    Recovery rec_;  ///< recovery entry/exit, `recover`, the RTO's record, counters (recovery.hpp)
};

}  // namespace ustcp::tcp::cc
