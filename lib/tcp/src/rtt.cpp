// RFC 6298 / RFC 7323 §4 retransmission-timer estimator (see rtt.hpp).
#include "ustcp/tcp/rtt.hpp"

#include <charconv>
#include <limits>

namespace ustcp::tcp {

namespace {

constexpr Duration clamp_rto(Duration d, const RttConfig& c) noexcept {
    if (d < c.rto_min) d = c.rto_min;
    if (d > c.rto_max) d = c.rto_max;  // max wins if a config has min > max
    return d;
}

}  // namespace

RttEstimator::RttEstimator(const RttConfig& cfg) noexcept
    : cfg_(cfg), base_rto_(clamp_rto(cfg.rto_initial, cfg)), rto_(base_rto_) {}

bool RttEstimator::sample(Duration rtt, std::uint32_t expected_samples) noexcept {
    if (rtt < Duration::zero()) return false;
    if (rtt > kMaxSample) rtt = kMaxSample;
    const std::int64_t r = rtt.as_nanos() << kFracBits;
    if (!has_sample_) {
        // (2.2) SRTT <- R, RTTVAR <- R/2
        srtt_fp_ = r;
        rttvar_fp_ = r / 2;
        has_sample_ = true;
    } else {
        // (2.3) RTTVAR <- (1 - beta) * RTTVAR + beta * |SRTT - R'|   (with the old SRTT)
        //       SRTT   <- (1 - alpha) * SRTT + alpha * R'
        // written as X += (target - X) / den; RFC 7323 App. G divides the gains by N.
        const std::int64_t err = srtt_fp_ > r ? srtt_fp_ - r : r - srtt_fp_;
        if (expected_samples <= 1) {
            rttvar_fp_ += (err - rttvar_fp_) / kBetaDen;  // constant divisors: shifts
            srtt_fp_ += (r - srtt_fp_) / kAlphaDen;
        } else {
            const std::int64_t n = expected_samples;
            rttvar_fp_ += (err - rttvar_fp_) / (kBetaDen * n);
            srtt_fp_ += (r - srtt_fp_) / (kAlphaDen * n);
        }
    }
    backoff_ = 0;  // §5.5 / Karn: a new valid sample ends the backoff
    recompute();
    return true;
}

void RttEstimator::recompute() noexcept {
    // (2.4) RTO <- SRTT + max(G, K * RTTVAR), rounded up to whole ns; (2.4)/(2.5) clamp.
    const std::int64_t g = cfg_.granularity.as_nanos() << kFracBits;
    const std::int64_t kvar = kK * rttvar_fp_;
    const std::int64_t fp = srtt_fp_ + (kvar > g ? kvar : g);
    base_rto_ = clamp_rto(Duration::nanos((fp + kOne - 1) >> kFracBits), cfg_);
    apply_backoff();
}

void RttEstimator::apply_backoff() noexcept {
    // (5.5) RTO <- RTO * 2 per timeout, bounded by rto_max (2.5). Doubling stops as soon
    // as the cap is reached, so large backoff counts cannot overflow.
    Duration d = base_rto_;
    for (std::uint32_t i = 0; i < backoff_ && d < cfg_.rto_max && d > Duration::zero(); ++i) d = d * 2;
    rto_ = d > cfg_.rto_max ? cfg_.rto_max : d;
}

void RttEstimator::on_timeout() noexcept {
    timing_ = false;
    if (backoff_ != std::numeric_limits<std::uint32_t>::max()) ++backoff_;
    if (cfg_.clear_after_backoffs != 0 && backoff_ >= cfg_.clear_after_backoffs) {
        // RFC 6298 §5: SRTT/RTTVAR are likely bogus; the next sample re-initialises (2.2).
        // The backed-off RTO stays in force until then.
        has_sample_ = false;
        srtt_fp_ = 0;
        rttvar_fp_ = 0;
    }
    apply_backoff();
}

void RttEstimator::on_handshake_done_after_syn_timeout() noexcept {
    if (!has_sample_ && base_rto_ < Duration::seconds(3)) {
        base_rto_ = clamp_rto(Duration::seconds(3), cfg_);
    }
    backoff_ = 0;
    apply_backoff();
}

void RttEstimator::on_transmit(SeqNum seq_end, Instant now, bool retransmission) noexcept {
    if (retransmission) {
        timing_ = false;
        retx_high_ = retx_outstanding_ ? SeqNum::max(retx_high_, seq_end) : seq_end;
        retx_outstanding_ = true;
        return;
    }
    if (timing_ || retx_outstanding_) return;
    timing_ = true;
    timed_end_ = seq_end;
    timed_at_ = now;
}

bool RttEstimator::on_ack(SeqNum ack, Instant now) noexcept {
    if (retx_outstanding_ && ack >= retx_high_) retx_outstanding_ = false;
    if (!timing_ || ack < timed_end_) return false;
    timing_ = false;
    return sample(now - timed_at_);
}

RttSummary RttEstimator::to_string() const noexcept {
    RttSummary s;
    char* p = s.buf.data();
    char* const end = p + s.buf.size();
    auto put = [&](std::string_view t) noexcept {
        for (char c : t) if (p != end) *p++ = c;
    };
    auto put_int = [&](std::int64_t v) noexcept {
        auto [q, ec] = std::to_chars(p, end, v);
        if (ec == std::errc{}) p = q;
    };
    auto put_ms3 = [&](Duration d) noexcept {  // milliseconds with 3 decimals, truncated
        const std::int64_t us = d.as_micros();
        put_int(us / 1000);
        const auto frac = static_cast<int>(us % 1000);
        const char digits[3] = {static_cast<char>('0' + frac / 100),
                                static_cast<char>('0' + frac / 10 % 10),
                                static_cast<char>('0' + frac % 10)};
        put(".");
        put({digits, 3});
    };
    if (has_sample_) {
        put("rtt:");
        put_ms3(srtt());
        put("/");
        put_ms3(rttvar());
        put(" ");
    }
    put("rto:");
    put_int(rto_.as_millis());
    if (backoff_ != 0) {
        put(" backoff:");
        put_int(backoff_);
    }
    s.len = static_cast<std::size_t>(p - s.buf.data());
    return s;
}

}  // namespace ustcp::tcp
