// The retransmission timer's estimator: RFC 6298's SRTT/RTTVAR/RTO with Karn's
// algorithm and exponential backoff, and RFC 7323 §4 timestamp samples with the
// Appendix G gain adjustment. One per connection; no clock, no I/O, no heap.
//
// Without timestamps, time one segment at a time (RFC 6298 §3, Karn):
//
//   RttEstimator rtt(RttConfig::from(cfg));
//   rtt.on_transmit(seg.seq + seg.len, now, /*retransmission=*/false);  // every data/SYN/FIN send
//   if (rtt.on_ack(seg.ack, now)) { ... }       // every acceptable ACK; true if it took a sample
//   deadline = now + rtt.rto();                 // RFC 6298 §5.1/5.3 (re)arm
//   on deadline: rtt.on_timeout();              // §5.5 back off, then retransmit with
//                rtt.on_transmit(end, now, /*retransmission=*/true);  // §5.4, §5.6
//
// With timestamps (RFC 7323 §4.1: for an ACK that advances SND.UNA and carries
// TSecr of a segment we sent), feed samples directly and skip on_transmit/on_ack:
//
//   rtt.sample(now - sent_time_of(seg.tsecr),
//              RttEstimator::expected_samples(flight_size, smss));  // or 1 to disable App. G
//
// Arithmetic. SRTT and RTTVAR are kept in nanoseconds with kFracBits (16)
// fractional bits, and every update is  X += (target - X) / (D * N)  with D = 8
// (alpha) or 4 (beta) and N the expected samples per RTT, the quotient truncated
// toward zero. Values that are multiples of 2^-16 ns whose deltas divide exactly
// (any hand-worked dyadic sequence) are therefore exact; otherwise each update
// loses less than 2^-16 ns, so SRTT converges to within D*N * 2^-16 ns of a
// constant RTT instead of Linux's 8 us-units bias. srtt() and rttvar() round to
// the nearest nanosecond; rto() rounds up, so the timer never fires early.
// Samples are clamped to [0, kMaxSample] so that nothing can overflow.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ustcp/base/seqnum.hpp"
#include "ustcp/base/time.hpp"
#include "ustcp/tcp/config.hpp"

namespace ustcp::tcp {

struct RttConfig {
    Duration rto_initial = Duration::seconds(1);  ///< RFC 6298 §2.1 (clamped to [rto_min, rto_max])
    Duration rto_min = Duration::millis(200);     ///< §2.4 says 1 s; 200 ms as Linux
    Duration rto_max = Duration::seconds(60);     ///< §2.5; also caps the §5.5 backoff
    /// G of §2.3/§4: the resolution at which our timers fire (the lcore timer wheel's tick).
    Duration granularity = Duration::millis(1);
    /// RFC 6298 §5 ("MAY clear SRTT and RTTVAR after backing off the timer multiple times"):
    /// after this many consecutive backoffs the next sample starts afresh as in §2.2.
    /// 0 never clears.
    std::uint32_t clear_after_backoffs = 0;

    /// rto_initial/min/max from the engine's Config; G and the rest at their defaults.
    [[nodiscard]] static constexpr RttConfig from(const Config& c) noexcept {
        RttConfig r;
        r.rto_initial = c.rto_initial;
        r.rto_min = c.rto_min;
        r.rto_max = c.rto_max;
        return r;
    }
};

/// An `ss -ti`-like summary held inline: "rtt:1.234/0.567 rto:201 backoff:2" (ms;
/// rtt/rttvar truncated to microseconds, rto to milliseconds; "rtt:" is left out
/// before the first sample and "backoff:" while it is 0).
struct RttSummary {
    std::array<char, 80> buf{};
    std::size_t len = 0;
    [[nodiscard]] std::string_view view() const noexcept { return {buf.data(), len}; }
};

class RttEstimator {
public:
    static constexpr int kFracBits = 16;
    static constexpr std::int64_t kAlphaDen = 8;  ///< alpha = 1/8 (§2.3)
    static constexpr std::int64_t kBetaDen = 4;   ///< beta = 1/4
    static constexpr std::int64_t kK = 4;         ///< K = 4
    /// Longer samples are taken as this (1 hour): it bounds every intermediate below 2^63.
    static constexpr Duration kMaxSample = Duration::seconds(3600);

    explicit RttEstimator(const RttConfig& cfg = {}) noexcept;

    // --- Samples -------------------------------------------------------------------------------

    /// One RTT measurement R (§2.2/§2.3), e.g. from TSecr (RFC 7323 §4). The first
    /// sets SRTT = R, RTTVAR = R/2; later ones apply the EWMA with gains alpha/N and
    /// beta/N, N = `expected_samples` (RFC 7323 Appendix G; 1 gives plain RFC 6298,
    /// 0 is taken as 1). Recomputes the RTO and clears the backoff (Karn: a valid
    /// sample ends the backed-off state). Negative samples (a clock or TSecr gone
    /// backwards) are ignored and return false.
    bool sample(Duration rtt, std::uint32_t expected_samples = 1) noexcept;

    /// RFC 7323 Appendix G: ceiling(FlightSize / (2 * SMSS)), at least 1.
    [[nodiscard]] static constexpr std::uint32_t expected_samples(std::uint32_t flight_size,
                                                                  std::uint32_t smss) noexcept {
        if (smss == 0) return 1;
        const std::uint64_t per = 2ull * smss;
        const std::uint64_t n = (flight_size + per - 1) / per;
        return n == 0 ? 1u : static_cast<std::uint32_t>(n);
    }

    // --- Timing one segment at a time (for connections without timestamps) --------------------

    /// A segment ending at `seq_end` (SEG.SEQ + SEG.LEN, SYN and FIN counted) left at `now`.
    /// A first transmission starts timing it unless a segment is already being timed or
    /// retransmitted data is still unacknowledged (its ACK could be held back by the hole
    /// the retransmission fills). A retransmission abandons the timing in progress
    /// (RFC 6298 §3, Karn: "RTT samples MUST NOT be made using segments that were
    /// retransmitted"), and no new timing starts until an ACK covers `seq_end`.
    void on_transmit(SeqNum seq_end, Instant now, bool retransmission) noexcept;

    /// An acceptable ACK arrived at `now`. If it covers the timed segment (ack >= its
    /// seq_end, modulo 2^32), takes `now - sent` as a sample and returns true.
    bool on_ack(SeqNum ack, Instant now) noexcept;

    /// Whether a segment is being timed, and its end.
    [[nodiscard]] bool timing() const noexcept { return timing_; }
    [[nodiscard]] SeqNum timed_seq_end() const noexcept { return timed_end_; }

    // --- Timer events --------------------------------------------------------------------------

    /// The retransmission timer expired (§5.5): RTO doubles, up to rto_max; backoff()
    /// counts on (saturating) so the caller can enforce its retry limit. Abandons the
    /// timing in progress, since the segment is about to be retransmitted.
    void on_timeout() noexcept;

    /// §5.7: the SYN (or SYN-ACK) timed out and data transmission now begins. If no
    /// sample has been taken, the RTO becomes max(current base RTO, 3 s) with backoff
    /// cleared; otherwise it only clears the backoff.
    void on_handshake_done_after_syn_timeout() noexcept;

    // --- Reading -------------------------------------------------------------------------------

    /// The timeout to arm now: base RTO * 2^backoff, capped at rto_max.
    [[nodiscard]] Duration rto() const noexcept { return rto_; }
    /// The RTO without backoff: clamp(SRTT + max(G, K*RTTVAR), min, max), or the initial RTO.
    [[nodiscard]] Duration base_rto() const noexcept { return base_rto_; }
    /// Zero before the first sample.
    [[nodiscard]] Duration srtt() const noexcept { return from_fp(srtt_fp_); }
    [[nodiscard]] Duration rttvar() const noexcept { return from_fp(rttvar_fp_); }
    [[nodiscard]] bool has_sample() const noexcept { return has_sample_; }
    /// Timeouts since the last valid sample (saturates at UINT32_MAX).
    [[nodiscard]] std::uint32_t backoff() const noexcept { return backoff_; }
    [[nodiscard]] const RttConfig& config() const noexcept { return cfg_; }

    [[nodiscard]] RttSummary to_string() const noexcept;

private:
    static constexpr std::int64_t kOne = std::int64_t{1} << kFracBits;
    static constexpr Duration from_fp(std::int64_t fp) noexcept {
        return Duration::nanos((fp + kOne / 2) >> kFracBits);
    }
    void recompute() noexcept;  // base_rto_ from SRTT/RTTVAR, then rto_
    void apply_backoff() noexcept;  // rto_ from base_rto_ and backoff_

    RttConfig cfg_;
    std::int64_t srtt_fp_ = 0;    // ns << kFracBits
    std::int64_t rttvar_fp_ = 0;  // ns << kFracBits
    Duration base_rto_;
    Duration rto_;
    std::uint32_t backoff_ = 0;
    bool has_sample_ = false;

    bool timing_ = false;
    bool retx_outstanding_ = false;
    SeqNum timed_end_;
    Instant timed_at_;
    SeqNum retx_high_;  // highest retransmitted seq_end; valid while retx_outstanding_
};

}  // namespace ustcp::tcp
