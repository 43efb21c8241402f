#include "ustcp/tcp/cc/cubic.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace ustcp::tcp::cc {

namespace {

/// A positive duration in whole microseconds, at least 1, at most 2^32 - 2.
std::uint32_t to_us(Duration d) noexcept {
    const std::int64_t us = std::max<std::int64_t>(d.as_micros(), 1);
    return static_cast<std::uint32_t>(std::min<std::int64_t>(us, 0xfffffffe));
}

[[maybe_unused]] double seconds(Duration d) noexcept { return static_cast<double>(d.as_nanos()) * 1e-9; }

}  // namespace

Cubic::Cubic(const Init& init, const CubicConfig& cfg) noexcept
    : smss_(std::max<std::uint32_t>(init.smss, 1)),
      iw_(init.syn_retransmitted ? smss_ : cc::initial_window(smss_)),
      cwnd_(std::min(iw_, kMaxCwnd)),
      ssthresh_(std::max(init.ssthresh, 2 * smss_)),
      c_(cfg.c > 0 ? cfg.c : 0.4f),
      beta_(cfg.beta > 0 && cfg.beta < 1 ? cfg.beta : 0.7f),
      abc_limit_(std::max<std::uint8_t>(cfg.abc_limit_segments, 1)),
      fast_convergence_(cfg.fast_convergence),
      reno_friendly_(cfg.reno_friendly),
      hystart_on_(cfg.hystart) {}

Cubic::Phase Cubic::phase() const noexcept {
    if (cwnd_ >= ssthresh_) return Phase::CongestionAvoidance;
    return in_css_ ? Phase::ConservativeSlowStart : Phase::SlowStart;
}

double Cubic::w_cubic(double t) const noexcept {
    // RFC 9438 eq. (1), in segments, returned in bytes.
    const double d = t - k_;
    return (double{c_} * d * d * d + double{w_max_} / smss_) * smss_;
}

void Cubic::hystart_round(const AckEvent& e) noexcept {
    // RFC 9406 §4.2: a round ends when the ACK covers windowEnd, the SND.NXT (here SND.MAX)
    // the round began with; the next round starts with fresh minimum-RTT tracking.
    if (!round_started_ || e.snd_una >= window_end_) {
        if (round_started_ && in_css_ && ++css_rounds_ >= kCssRounds) {
            // "If CSS_ROUNDS rounds are complete, enter congestion avoidance by setting the
            // ssthresh to the current cwnd."
            ssthresh_ = std::max(cwnd_, 2 * smss_);
            hystart_on_ = false;
            in_css_ = false;
            ++hystart_exits_;
            return;
        }
        last_round_min_rtt_us_ = current_round_min_rtt_us_;
        current_round_min_rtt_us_ = kNoRtt;
        rtt_sample_count_ = 0;
        window_end_ = e.snd_max;
        round_started_ = true;
    }
    if (e.rtt > Duration::zero()) {
        current_round_min_rtt_us_ = std::min(current_round_min_rtt_us_, to_us(e.rtt));
        if (rtt_sample_count_ < 255) ++rtt_sample_count_;
    }
    if (rtt_sample_count_ < kNRttSample || current_round_min_rtt_us_ == kNoRtt || last_round_min_rtt_us_ == kNoRtt) {
        return;
    }
    if (!in_css_) {
        // RttThresh = max(MIN_RTT_THRESH, min(lastRoundMinRTT / MIN_RTT_DIVISOR, MAX_RTT_THRESH))
        const std::uint64_t thresh = std::clamp<std::uint64_t>(
            last_round_min_rtt_us_ / kMinRttDivisor, static_cast<std::uint64_t>(kMinRttThresh.as_micros()),
            static_cast<std::uint64_t>(kMaxRttThresh.as_micros()));
        if (current_round_min_rtt_us_ >= std::uint64_t{last_round_min_rtt_us_} + thresh) {
            css_baseline_min_rtt_us_ = current_round_min_rtt_us_;
            in_css_ = true;
            css_rounds_ = 0;
            if (css_entries_ < 255) ++css_entries_;
        }
    } else if (current_round_min_rtt_us_ < css_baseline_min_rtt_us_) {
        // "the previous Slow Start exit was spurious": back to slow start.
        css_baseline_min_rtt_us_ = kNoRtt;
        in_css_ = false;
        css_rounds_ = 0;
    }
}

void Cubic::slow_start(const AckEvent& e) noexcept {
    if (hystart_on_) {
        hystart_round(e);
        if (cwnd_ >= ssthresh_) return;  // HyStart++ ended slow start on this ACK
    }
    // RFC 3465 §2.2/§2.3 byte counting; in CSS the increase is divided (RFC 9406 §4.2).
    const std::uint32_t limit = rec_.after_rto() ? smss_ : abc_limit_ * smss_;
    std::uint32_t n = std::min(e.bytes_acked, limit);
    if (in_css_) n /= kCssGrowthDivisor;
    cwnd_ = std::min(sat_add(cwnd_, n), std::max(ssthresh_, cwnd_));
    if (cwnd_ >= ssthresh_) rec_.end_after_rto();
}

void Cubic::avoid(const AckEvent& e) noexcept {
    const double cw = cwnd_;
    if (!epoch_valid_) {
        // RFC 9438 §4.2: the stage begins; K from W_max and cwnd_epoch (eq. 2). Above W_max
        // (slow start ended without a loss, or W_max fell under fast convergence): K = 0 and
        // W_max = cwnd, the plateau where we are (§4.8's "when slow start ends").
        epoch_valid_ = true;
        epoch_start_ = e.now;
        if (w_max_ <= cw) {
            w_max_ = static_cast<float>(cw);
            k_ = 0;
        } else {
            k_ = static_cast<float>(std::cbrt((w_max_ - cw) / smss_ / c_));
        }
        w_est_ = static_cast<float>(cw);  // §4.3: W_est = cwnd_epoch
        ca_frac_ = 0;
    }
    const double t = seconds(e.now - epoch_start_);
    // §4.2: target = W_cubic(t + RTT), at least cwnd and at most 1.5 cwnd; per ACK cwnd grows
    // by (target - cwnd) / cwnd segments for each segment acknowledged.
    const double target = std::clamp(w_cubic(t + static_cast<double>(srtt_us_) * 1e-6), cw, 1.5 * cw);
    double inc = (target - cw) * e.bytes_acked / cw;
    if (reno_friendly_) {
        // §4.3: W_est += alpha_cubic * segments_acked / cwnd; alpha_cubic = 3 (1 - beta) / (1 + beta)
        // until W_est reaches cwnd_prior, 1 after. In the Reno-friendly region (W_cubic(t) <
        // W_est) cwnd is W_est.
        const double alpha = w_est_ >= cwnd_prior_ ? 1.0 : 3.0 * (1.0 - beta_) / (1.0 + beta_);
        const double w_est = w_est_ + alpha * smss_ * e.bytes_acked / cw;
        w_est_ = static_cast<float>(w_est);
        if (w_cubic(t) < w_est) inc = std::max(inc, w_est - cw);
    }
    const double acc = ca_frac_ + inc;
    const double whole = std::floor(acc);
    ca_frac_ = static_cast<float>(acc - whole);
    cwnd_ = sat_add(cwnd_, static_cast<std::uint64_t>(std::min(whole, static_cast<double>(kMaxCwnd))));
}

void Cubic::congestion_event(SeqNum snd_una, SeqNum snd_max) noexcept {
    const double cw = cwnd_;
    rec_.note_reduction();
    prior_w_max_ = w_max_;
    prior_cwnd_prior_ = cwnd_prior_;
    cwnd_prior_ = static_cast<float>(cw);
    // RFC 9438 §4.7 fast convergence: a W_max below the previous one means the flow's share
    // is shrinking; release bandwidth sooner.
    w_max_ = static_cast<float>(fast_convergence_ && cw < w_max_ ? cw * (1.0 + beta_) / 2.0 : cw);
    // §4.6: ssthresh = max(beta_cubic * cwnd, 2 SMSS), on min(cwnd, FlightSize) (header).
    const double base = std::min(cw, static_cast<double>(flight_size(snd_una, snd_max)));
    ssthresh_ = std::max(static_cast<std::uint32_t>(std::lround(base * beta_)), 2 * smss_);  // nearest byte: 0.7f is 0.69999999
    epoch_valid_ = false;
    ca_frac_ = 0;
    hystart_on_ = false;  // a loss ends the initial slow start, HyStart++ with it
    in_css_ = false;
}

Response Cubic::on_ack(const AckEvent& e) noexcept {
    if (e.rtt > Duration::zero()) {
        const std::uint32_t r = to_us(e.rtt);
        srtt_us_ = srtt_us_ == 0 ? r : srtt_us_ - srtt_us_ / 8 + r / 8;
    }
    switch (rec_.on_ack(e.snd_una)) {
        case Recovery::AckKind::Grow:
            if (cwnd_ < ssthresh_) slow_start(e);
            else avoid(e);
            return {};
        // RFC 6675 §5: the connection's pipe and NextSeg decide what goes next; the full ACK
        // ends the episode with cwnd at ssthresh.
        case Recovery::AckKind::PipePartial: return {};
        case Recovery::AckKind::PipeFull: cwnd_ = ssthresh_; return {};
        // As NewReno (newreno.cpp): RFC 6582 §3.2 step 3 full ACK, step 5 partial ACK.
        case Recovery::AckKind::Full:
            cwnd_ = full_ack_cwnd(ssthresh_, flight_size(e.snd_una, e.snd_max), smss_);
            return {};
        case Recovery::AckKind::Partial:
            cwnd_ = partial_ack_cwnd(cwnd_, e.bytes_acked, smss_);
            return rec_.partial_response();
    }
    return {};
}

Response Cubic::on_dup_ack(const DupAckEvent& e) noexcept {
    switch (rec_.on_dup_ack(e)) {
        case Recovery::DupKind::None: return {};
        case Recovery::DupKind::Inflate: cwnd_ = sat_add(cwnd_, smss_); return {};  // RFC 5681 §3.2 step 4
        case Recovery::DupKind::Enter: break;
    }
    congestion_event(e.snd_una, e.snd_max);
    cwnd_ = sat_add(ssthresh_, 3 * smss_);  // RFC 5681 §3.2 step 3's inflation
    return {.retransmit = true};
}

void Cubic::on_timeout(const TimeoutEvent& e) noexcept {
    // RFC 9438 §4.8: Reno's reaction to the timeout, ssthresh (and W_max) as at a congestion
    // event; a segment timing out again keeps them (RFC 5681 §3.1).
    if (rec_.on_timeout(e)) congestion_event(e.snd_una, e.snd_max);
    cwnd_ = smss_;
    epoch_valid_ = false;
}

void Cubic::on_loss(const LossEvent& e) noexcept {
    if (!rec_.on_loss(e)) return;
    congestion_event(e.snd_una, e.snd_max);
    cwnd_ = ssthresh_;  // RFC 6675 §5 (4.2): no inflation
}

bool Cubic::on_undo(const UndoEvent& e) noexcept {
    if (!rec_.on_undo()) return false;
    cwnd_ = std::max(cwnd_, std::min(e.prior_cwnd, kMaxCwnd));
    ssthresh_ = std::max({ssthresh_, e.prior_ssthresh, 2 * smss_});
    w_max_ = prior_w_max_;
    cwnd_prior_ = prior_cwnd_prior_;
    epoch_valid_ = false;  // K and the epoch start again from the restored window
    ca_frac_ = 0;
    return true;
}

void Cubic::on_idle_restart(const IdleEvent& e) noexcept {
    cwnd_ = std::min(cwnd_, std::min(iw_, cwnd_));  // RFC 5681 §4.1, RW = min(IW, cwnd)
    if (epoch_valid_) epoch_start_ += e.idle;       // the curve resumes where it stopped
    rec_.count_idle_restart();
}

}  // namespace ustcp::tcp::cc
