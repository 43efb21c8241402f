#include "ustcp/tcp/cc/newreno.hpp"

#include <algorithm>

namespace ustcp::tcp::cc {

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
        const std::uint32_t limit = rec_.after_rto() ? smss_ : cfg_.abc_limit_segments * smss_;
        // Our choice: stop at ssthresh; the rest of this ACK is not carried into CA.
        cwnd_ = std::min(sat_add(cwnd_, std::min(n, limit)), std::max(ssthresh_, cwnd_));
        if (cwnd_ >= ssthresh_) rec_.end_after_rto();
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
    switch (rec_.on_ack(e.snd_una)) {
        case Recovery::AckKind::Grow: grow(e.bytes_acked); return {};
        // RFC 6675 §5: a partial ACK in a SACK recovery changes nothing here; the
        // connection's pipe and NextSeg decide what goes next.
        case Recovery::AckKind::PipePartial: return {};
        case Recovery::AckKind::PipeFull:
            // RFC 6675 leaves cwnd at ssthresh at the end of recovery.
            ca_bytes_acked_ = 0;
            cwnd_ = ssthresh_;
            return {};
        case Recovery::AckKind::Full:
            // RFC 6582 §3.2 step 3, full ACK: deflate and leave fast recovery.
            ca_bytes_acked_ = 0;
            cwnd_ = cfg_.recovery_exit == NewRenoConfig::RecoveryExit::Ssthresh
                        ? ssthresh_
                        : full_ack_cwnd(ssthresh_, flight_size(e.snd_una, e.snd_max), smss_);
            return {};
        case Recovery::AckKind::Partial:
            // RFC 6582 §3.2 step 5: retransmit the first unacknowledged segment and deflate.
            cwnd_ = partial_ack_cwnd(cwnd_, e.bytes_acked, smss_);
            return rec_.partial_response();
    }
    return {};
}

Response NewReno::on_dup_ack(const DupAckEvent& e) noexcept {
    switch (rec_.on_dup_ack(e)) {
        case Recovery::DupKind::None: return {};
        case Recovery::DupKind::Inflate:
            // RFC 5681 §3.2 step 4: "For each additional duplicate ACK received (after the third),
            // cwnd MUST be incremented by SMSS."
            cwnd_ = sat_add(cwnd_, smss_);
            return {};
        case Recovery::DupKind::Enter: break;
    }
    ca_bytes_acked_ = 0;
    // RFC 5681 §3.2 steps 2-3: ssthresh per eq. (4), retransmit, cwnd = ssthresh + 3*SMSS
    // ("artificially inflates the congestion window by the number of segments (three)
    // that have left the network and which the receiver has buffered").
    ssthresh_ = loss_ssthresh(e.snd_una, e.snd_max);
    cwnd_ = sat_add(ssthresh_, 3 * smss_);
    return {.retransmit = true};
}

void NewReno::on_loss(const LossEvent& e) noexcept {
    if (!rec_.on_loss(e)) return;
    ca_bytes_acked_ = 0;
    // RFC 6675 §5 (4.2): "ssthresh = cwnd = (FlightSize / 2)", with RFC 5681's floor of 2*SMSS.
    ssthresh_ = loss_ssthresh(e.snd_una, e.snd_max);
    cwnd_ = ssthresh_;
}

bool NewReno::on_undo(const UndoEvent& e) noexcept {
    if (!rec_.on_undo()) return false;
    // RFC 4015 §3.2 (and RFC 3522's response): the window as it was before the spurious
    // reduction; slow start then continues from there if ssthresh allows.
    cwnd_ = std::max(cwnd_, std::min(e.prior_cwnd, kMaxCwnd));
    ssthresh_ = std::max({ssthresh_, e.prior_ssthresh, 2 * smss_});
    ca_bytes_acked_ = 0;
    return true;
}

void NewReno::on_timeout(const TimeoutEvent& e) noexcept {
    // RFC 5681 §3.1: ssthresh per eq. (4) on the first expiry for this segment, held on a
    // repeated one (Recovery::on_timeout says which).
    if (rec_.on_timeout(e)) {
        rec_.note_reduction();
        ssthresh_ = loss_ssthresh(e.snd_una, e.snd_max);
    }
    // "Furthermore, upon a timeout (as specified in [RFC2988]) cwnd MUST be set to no more
    // than the loss window, LW, which equals 1 full-sized segment."
    cwnd_ = smss_;
    ca_bytes_acked_ = 0;
}

void NewReno::on_idle_restart(const IdleEvent&) noexcept {
    // RFC 5681 §4.1: "a TCP SHOULD set cwnd to no more than RW before beginning transmission
    // if the TCP has not sent data in an interval exceeding the retransmission timeout",
    // RW = min(IW, cwnd).
    cwnd_ = std::min(cwnd_, std::min(iw_, cwnd_));
    ca_bytes_acked_ = 0;
    rec_.count_idle_restart();
}

}  // namespace ustcp::tcp::cc
