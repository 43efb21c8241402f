#include "ustcp/tcp/cc/newreno.hpp"

#include <algorithm>

namespace ustcp::tcp::cc {

namespace {

/// a + b, saturating at kMaxCwnd.
constexpr std::uint32_t sat_add(std::uint32_t a, std::uint32_t b) noexcept {
    const std::uint64_t s = std::uint64_t{a} + b;
    return s > kMaxCwnd ? kMaxCwnd : static_cast<std::uint32_t>(s);
}

/// FlightSize (RFC 5681 §2): data sent but not yet cumulatively acknowledged.
constexpr std::uint32_t flight_size(SeqNum snd_una, SeqNum snd_max) noexcept {
    const std::int32_t d = snd_max - snd_una;
    return d > 0 ? static_cast<std::uint32_t>(d) : 0;
}

}  // namespace

NewReno::NewReno(const Init& init, const NewRenoConfig& cfg) noexcept
    : cfg_(cfg),
      smss_(std::max<std::uint32_t>(init.smss, 1)),
      // RFC 6928 §2: IW = min(10*MSS, max(2*MSS, 14600)), or one segment after a lost SYN.
      iw_(init.syn_retransmitted ? smss_ : cc::initial_window(smss_)),
      cwnd_(std::min(iw_, kMaxCwnd)),
      ssthresh_(std::max(init.ssthresh, 2 * smss_)) {}

std::uint32_t NewReno::loss_ssthresh(SeqNum snd_una, SeqNum snd_max) const noexcept {
    // RFC 5681 eq. (4): ssthresh = max(FlightSize / 2, 2*SMSS).
    return std::max(flight_size(snd_una, snd_max) / 2, 2 * smss_);
}

void NewReno::grow(std::uint32_t n) noexcept {
    if (cwnd_ < ssthresh_) {
        // RFC 5681 §3.1 slow start with RFC 3465 §2.2 byte counting: cwnd += min(N, L).
        // RFC 3465 §2.3: L = 1*SMSS in the slow start after an RTO, since that ACK may cover
        // segments the receiver held before the timeout.
        const std::uint32_t limit = after_rto_ ? smss_ : cfg_.abc_limit_segments * smss_;
        // Our choice: stop at ssthresh; the rest of this ACK is not carried into CA.
        cwnd_ = std::min(sat_add(cwnd_, std::min(n, limit)), std::max(ssthresh_, cwnd_));
        if (cwnd_ >= ssthresh_) after_rto_ = false;
        return;
    }
    // Congestion avoidance (RFC 5681 §3.1).
    if (cfg_.ca_growth == NewRenoConfig::CaGrowth::PerAck) {
        // Eq. (3): cwnd += SMSS*SMSS/cwnd; "if the above formula yields 0, the result
        // SHOULD be rounded up to 1 byte".
        const std::uint64_t inc = std::uint64_t{smss_} * smss_ / cwnd_;
        cwnd_ = sat_add(cwnd_, static_cast<std::uint32_t>(std::max<std::uint64_t>(inc, 1)));
        return;
    }
    // Byte counting: "When the number of bytes acknowledged reaches cwnd, then cwnd can
    // be incremented by up to SMSS bytes", and bytes_acked is reduced by cwnd.
    ca_bytes_acked_ = sat_add(ca_bytes_acked_, n);  // cwnd <= kMaxCwnd, so saturating is harmless
    if (ca_bytes_acked_ >= cwnd_) {
        ca_bytes_acked_ -= cwnd_;
        cwnd_ = sat_add(cwnd_, smss_);
    }
}

Response NewReno::on_ack(const AckEvent& e) noexcept {
    dup_acks_ = 0;
    rto_una_valid_ = false;  // SND.UNA moved: a later RTO is for a new segment

    if (in_recovery_) {
        if (pipe_recovery_ && e.snd_una < recover_) {
            // RFC 6675 §5: a partial ACK in a SACK recovery changes nothing here; the
            // connection's pipe and NextSeg decide what goes next.
            return {};
        }
        if (e.snd_una >= recover_) {
            // RFC 6582 §3.2 step 3, full ACK: "If this ACK acknowledges all of the data up
            // to and including recover, then the ACK acknowledges all the intermediate
            // segments sent between the original transmission of the lost segment and the
            // receipt of the third duplicate ACK." Deflate and leave fast recovery.
            in_recovery_ = false;
            recover_valid_ = false;
            ca_bytes_acked_ = 0;
            const bool by_pipe = pipe_recovery_;
            pipe_recovery_ = false;
            if (by_pipe) {
                // RFC 6675 leaves cwnd at ssthresh at the end of recovery.
                cwnd_ = ssthresh_;
                ++counters_.recoveries;
                return {};
            }
            cwnd_ = cfg_.recovery_exit == NewRenoConfig::RecoveryExit::Ssthresh
                        ? ssthresh_
                        : std::min(ssthresh_, std::max(flight_size(e.snd_una, e.snd_max), smss_) + smss_);
            ++counters_.recoveries;
            return {};
        }
        // RFC 6582 §3.2 step 5, partial ACK: "retransmit the first unacknowledged segment.
        // Deflate the 'pipe' by the amount of new data acknowledged by the Cumulative
        // Acknowledgment field. If the partial ACK acknowledges at least one SMSS of new
        // data, then add back SMSS bytes to the congestion window." Our floor: cwnd >= SMSS.
        std::uint32_t c = cwnd_ > e.bytes_acked ? cwnd_ - e.bytes_acked : 0;
        if (e.bytes_acked >= smss_) c = sat_add(c, smss_);
        cwnd_ = std::max(c, smss_);
        // "For the first partial ACK that arrives during fast recovery, also reset the
        // retransmit timer."
        const bool first = !partial_ack_seen_;
        partial_ack_seen_ = true;
        ++counters_.partial_acks;
        return {.retransmit = true, .restart_rto = first};
    }

    // Outside recovery, `recover` only matters until SND.UNA reaches it (RFC 6582 §3.2 step
    // 1 compares SEG.ACK with it); forgetting it then keeps the comparison from wrapping.
    if (recover_valid_ && e.snd_una >= recover_) recover_valid_ = false;
    grow(e.bytes_acked);
    return {};
}

Response NewReno::on_dup_ack(const DupAckEvent& e) noexcept {
    ++dup_acks_;
    if (in_recovery_) {
        // RFC 5681 §3.2 step 4: "For each additional duplicate ACK received (after the third),
        // cwnd MUST be incremented by SMSS."
        cwnd_ = sat_add(cwnd_, smss_);
        return {};
    }
    if (dup_acks_ != 3) return {};
    // RFC 6582 §3.2 step 1: "When the third duplicate ACK is received, the TCP sender first
    // checks the value of recover to see if the Cumulative Acknowledgment field covers more
    // than recover. ... If not, the TCP does not enter fast retransmit and does not reset
    // ssthresh." (recover_ is RFC's recover + 1, so "covers more than" is >=.)
    if (recover_valid_ && e.snd_una < recover_) {
        ++counters_.fast_retransmits_avoided;
        return {};
    }
    // "If so, the value of recover is incremented to the value of the highest sequence
    // number transmitted by the TCP so far. The TCP then enters fast retransmit."
    recover_ = e.snd_max;
    recover_valid_ = true;
    in_recovery_ = true;
    partial_ack_seen_ = false;
    after_rto_ = false;
    ca_bytes_acked_ = 0;
    // RFC 5681 §3.2 steps 2-3: ssthresh per eq. (4), retransmit, cwnd = ssthresh + 3*SMSS
    // ("artificially inflates the congestion window by the number of segments (three)
    // that have left the network and which the receiver has buffered").
    reduced_ = true;
    ssthresh_ = loss_ssthresh(e.snd_una, e.snd_max);
    cwnd_ = sat_add(ssthresh_, 3 * smss_);
    ++counters_.fast_retransmits;
    return {.retransmit = true};
}

void NewReno::on_loss(const LossEvent& e) noexcept {
    if (in_recovery_) return;
    // RFC 6675 §5.1: after an RTO no new recovery until SND.UNA reaches the RTO's `recover`.
    if (recover_valid_ && e.snd_una < recover_) return;
    reduced_ = true;
    recover_ = e.snd_max;
    recover_valid_ = true;
    in_recovery_ = true;
    pipe_recovery_ = true;
    partial_ack_seen_ = false;
    after_rto_ = false;
    ca_bytes_acked_ = 0;
    dup_acks_ = 0;
    // RFC 6675 §5 (4.2): "ssthresh = cwnd = (FlightSize / 2)", with RFC 5681's floor of 2*SMSS.
    ssthresh_ = loss_ssthresh(e.snd_una, e.snd_max);
    cwnd_ = ssthresh_;
    ++counters_.loss_recoveries;
}

bool NewReno::on_undo(const UndoEvent& e) noexcept {
    if (!reduced_) return false;
    // RFC 4015 §3.2 (and RFC 3522's response): the window as it was before the spurious
    // reduction; slow start then continues from there if ssthresh allows.
    reduced_ = false;
    cwnd_ = std::max(cwnd_, std::min(e.prior_cwnd, kMaxCwnd));
    ssthresh_ = std::max({ssthresh_, e.prior_ssthresh, 2 * smss_});
    in_recovery_ = false;
    pipe_recovery_ = false;
    recover_valid_ = false;
    rto_una_valid_ = false;
    after_rto_ = false;
    dup_acks_ = 0;
    ca_bytes_acked_ = 0;
    ++counters_.undos;
    return true;
}

void NewReno::on_timeout(const TimeoutEvent& e) noexcept {
    // RFC 5681 §3.1: "When a TCP sender detects segment loss using the retransmission timer
    // and the given segment has not yet been resent by way of the retransmission timer, the
    // value of ssthresh MUST be set to no more than the value given in equation (4)." For a
    // segment already resent by the timer, ssthresh is held.
    if (!(rto_una_valid_ && e.snd_una == rto_una_)) {
        reduced_ = true;
        ssthresh_ = loss_ssthresh(e.snd_una, e.snd_max);
    }
    rto_una_ = e.snd_una;
    rto_una_valid_ = true;
    // "Furthermore, upon a timeout (as specified in [RFC2988]) cwnd MUST be set to no more
    // than the loss window, LW, which equals 1 full-sized segment."
    cwnd_ = smss_;
    // RFC 6582 §3.2 step 4: "After a retransmit timeout, record the highest sequence number
    // transmitted in the variable recover, and exit the fast recovery procedure if applicable."
    recover_ = e.snd_max;
    recover_valid_ = true;
    in_recovery_ = false;
    pipe_recovery_ = false;
    dup_acks_ = 0;
    ca_bytes_acked_ = 0;
    after_rto_ = true;
    ++counters_.timeouts;
}

void NewReno::on_idle_restart(const IdleEvent&) noexcept {
    // RFC 5681 §4.1: "a TCP SHOULD set cwnd to no more than RW before beginning transmission
    // if the TCP has not sent data in an interval exceeding the retransmission timeout",
    // RW = min(IW, cwnd).
    cwnd_ = std::min(cwnd_, std::min(iw_, cwnd_));
    ca_bytes_acked_ = 0;
    ++counters_.idle_restarts;
}

}  // namespace ustcp::tcp::cc
