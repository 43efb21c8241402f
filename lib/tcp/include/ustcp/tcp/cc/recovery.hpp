// The loss-recovery bookkeeping every congestion-control policy shares: when a fast
// recovery (RFC 5681 §3.2, RFC 6582) or a SACK/RACK recovery (RFC 6675 §5) begins and
// ends, the `recover` point and RFC 6582's "careful" check, which RTO a segment has had
// (RFC 5681 §3.1 holds ssthresh on a repeated timeout), whether a reduction may still be
// undone (D-SACK), and the per-connection counters. A policy holds one Recovery as a plain
// member and asks it what an event means; it then changes only its own window (how much
// to reduce, how to grow). Nothing here is virtual and everything is inline, so each
// policy's per-ACK path is the same direct code it was when each repeated this.
//
//   cc::Response Policy::on_ack(const AckEvent& e) {
//       switch (rec_.on_ack(e.snd_una)) {
//           case AckKind::Grow: grow(e); return {};
//           case AckKind::PipePartial: return {};                     // RFC 6675: pipe decides
//           case AckKind::PipeFull: cwnd_ = ssthresh_; return {};     // RFC 6675 exit
//           case AckKind::Full: cwnd_ = full_ack_cwnd(...); return {};  // RFC 6582 step 3
//           case AckKind::Partial: cwnd_ = partial_ack_cwnd(...); return rec_.partial_response();
//       }
//   }
//   if (rec_.on_dup_ack(e) == DupKind::Enter) { reduce(); inflate(); return {.retransmit = true}; }
//   if (rec_.on_loss(e)) reduce();                 // RFC 6675 §5 (4.2)
//   if (rec_.on_timeout(e)) reduce();              // first RTO of this SND.UNA only
//   if (rec_.on_undo()) restore();
//
// Contract: the policy calls exactly one Recovery event per seam event it receives (the
// seam's contract is in congestion.hpp), and calls note_reduction() whenever it lowers
// ssthresh, so that on_undo() knows there is something to undo.
#pragma once

#include <cstdint>

#include "ustcp/base/seqnum.hpp"
#include "ustcp/tcp/cc/events.hpp"

namespace ustcp::tcp::cc {

/// a + b, saturating at kMaxCwnd.
[[nodiscard]] constexpr std::uint32_t sat_add(std::uint32_t a, std::uint64_t b) noexcept {
    const std::uint64_t s = std::uint64_t{a} + b;
    return s > kMaxCwnd ? kMaxCwnd : static_cast<std::uint32_t>(s);
}

/// FlightSize (RFC 5681 §2): data sent but not yet cumulatively acknowledged.
[[nodiscard]] constexpr std::uint32_t flight_size(SeqNum snd_una, SeqNum snd_max) noexcept {
    const std::int32_t d = snd_max - snd_una;
    return d > 0 ? static_cast<std::uint32_t>(d) : 0;
}

/// RFC 6582 §3.2 step 3 option (1), leaving fast recovery on a full ACK:
/// cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS).
[[nodiscard]] constexpr std::uint32_t full_ack_cwnd(std::uint32_t ssthresh, std::uint32_t flight,
                                                    std::uint32_t smss) noexcept {
    const std::uint32_t f = (flight > smss ? flight : smss) + smss;
    return ssthresh < f ? ssthresh : f;
}

/// RFC 6582 §3.2 step 5, a partial ACK: "Deflate the 'pipe' by the amount of new data
/// acknowledged by the Cumulative Acknowledgment field. If the partial ACK acknowledges at
/// least one SMSS of new data, then add back SMSS bytes to the congestion window." Our
/// floor: never below SMSS.
[[nodiscard]] constexpr std::uint32_t partial_ack_cwnd(std::uint32_t cwnd, std::uint32_t bytes_acked,
                                                       std::uint32_t smss) noexcept {
    std::uint32_t c = cwnd > bytes_acked ? cwnd - bytes_acked : 0;
    if (bytes_acked >= smss) c = sat_add(c, smss);
    return c > smss ? c : smss;
}

class Recovery {
public:
    /// What an ACK that moved SND.UNA means for the window.
    enum class AckKind : std::uint8_t {
        Grow,         ///< no recovery: slow start or congestion avoidance as the policy does it
        PipePartial,  ///< inside a SACK recovery, short of `recover`: the connection's pipe decides
        PipeFull,     ///< a SACK recovery ended (RFC 6675 §5 (A)): cwnd stays at ssthresh
        Full,         ///< a fast recovery ended on a full ACK (RFC 6582 §3.2 step 3)
        Partial,      ///< a partial ACK in fast recovery (RFC 6582 §3.2 step 5): retransmit
    };
    /// What a duplicate ACK means.
    enum class DupKind : std::uint8_t {
        None,     ///< count it, nothing else
        Inflate,  ///< in fast recovery: RFC 5681 §3.2 step 4, cwnd += SMSS
        Enter,    ///< the third one started fast retransmit: reduce, inflate by 3 SMSS, retransmit
    };

    /// An ACK advanced SND.UNA to `snd_una`. Ends a recovery on a full ACK (counted).
    AckKind on_ack(SeqNum snd_una) noexcept {
        dup_acks_ = 0;
        rto_una_valid_ = false;  // SND.UNA moved: a later RTO is for a new segment
        if (in_recovery_) {
            if (snd_una >= recover_) {
                // RFC 6582 §3.2 step 3: "If this ACK acknowledges all of the data up to and
                // including recover, then the ACK acknowledges all the intermediate segments
                // sent between the original transmission of the lost segment and the receipt
                // of the third duplicate ACK." RFC 6675 §5 (A): the end of loss recovery.
                const bool by_pipe = pipe_;
                in_recovery_ = false;
                recover_valid_ = false;
                pipe_ = false;
                ++counters_.recoveries;
                return by_pipe ? AckKind::PipeFull : AckKind::Full;
            }
            if (pipe_) return AckKind::PipePartial;
            first_partial_ = !partial_ack_seen_;
            partial_ack_seen_ = true;
            ++counters_.partial_acks;
            return AckKind::Partial;
        }
        // Outside recovery, `recover` only matters until SND.UNA reaches it (RFC 6582 §3.2 step
        // 1 compares SEG.ACK with it); forgetting it then keeps the comparison from wrapping.
        if (recover_valid_ && snd_una >= recover_) recover_valid_ = false;
        return AckKind::Grow;
    }

    /// The Response for the Partial ACK on_ack() just reported: retransmit, and "for the first
    /// partial ACK that arrives during fast recovery, also reset the retransmit timer" (RFC
    /// 6582 §3.2 step 5, the Impatient variant of §4).
    [[nodiscard]] Response partial_response() const noexcept { return {.retransmit = true, .restart_rto = first_partial_}; }

    /// A duplicate ACK (events.hpp).
    DupKind on_dup_ack(const DupAckEvent& e) noexcept {
        ++dup_acks_;
        if (in_recovery_) return DupKind::Inflate;
        if (dup_acks_ != 3) return DupKind::None;
        // RFC 6582 §3.2 step 1: "When the third duplicate ACK is received, the TCP sender
        // first checks the value of recover to see if the Cumulative Acknowledgment field
        // covers more than recover. ... If not, the TCP does not enter fast retransmit and
        // does not reset ssthresh." (recover_ is the RFC's recover + 1, so "covers more
        // than" is >=.)
        if (recover_valid_ && e.snd_una < recover_) {
            ++counters_.fast_retransmits_avoided;
            return DupKind::None;
        }
        // "If so, the value of recover is incremented to the value of the highest sequence
        // number transmitted by the TCP so far. The TCP then enters fast retransmit."
        enter(e.snd_max, false);
        ++counters_.fast_retransmits;
        return DupKind::Enter;
    }

    /// SACK/RACK loss (RFC 6675 §5 (4)): true when a recovery episode starts now; false
    /// inside one, or before SND.UNA passed the last `recover` (RFC 6675 §5.1: after an
    /// RTO, no new recovery until the RTO's recovery point is acknowledged).
    bool on_loss(const LossEvent& e) noexcept {
        if (in_recovery_) return false;
        if (recover_valid_ && e.snd_una < recover_) return false;
        enter(e.snd_max, true);
        dup_acks_ = 0;
        ++counters_.loss_recoveries;
        return true;
    }

    /// The retransmission timer expired. True when this is the first expiry for this SND.UNA,
    /// so the policy reduces ssthresh (RFC 5681 §3.1: "When a TCP sender detects segment loss
    /// using the retransmission timer and the given segment has not yet been resent by way
    /// of the retransmission timer, the value of ssthresh MUST be set to no more than" eq.
    /// (4)); false when the same segment timed out again (ssthresh is held). Either way any
    /// recovery ends and `recover` becomes SND.MAX (RFC 6582 §3.2 step 4: "After a
    /// retransmit timeout, record the highest sequence number transmitted in the variable
    /// recover, and exit the fast recovery procedure if applicable").
    bool on_timeout(const TimeoutEvent& e) noexcept {
        const bool first = !(rto_una_valid_ && e.snd_una == rto_una_);
        rto_una_ = e.snd_una;
        rto_una_valid_ = true;
        recover_ = e.snd_max;
        recover_valid_ = true;
        in_recovery_ = false;
        pipe_ = false;
        dup_acks_ = 0;
        after_rto_ = true;
        ++counters_.timeouts;
        return first;
    }

    /// D-SACK undo: true (counted) when a reduction happened since the last undo; then no
    /// recovery, `recover` and the RTO's record forgotten.
    bool on_undo() noexcept {
        if (!reduced_) return false;
        reduced_ = false;
        in_recovery_ = false;
        pipe_ = false;
        recover_valid_ = false;
        rto_una_valid_ = false;
        after_rto_ = false;
        dup_acks_ = 0;
        ++counters_.undos;
        return true;
    }

    /// The policy lowered ssthresh (a congestion event): on_undo() may restore it.
    void note_reduction() noexcept { reduced_ = true; }
    /// The slow start that followed an RTO reached ssthresh (RFC 3465 §2.3's L = 1 SMSS ends).
    void end_after_rto() noexcept { after_rto_ = false; }
    /// A restart after idle happened (counted here with the rest).
    void count_idle_restart() noexcept { ++counters_.idle_restarts; }

    [[nodiscard]] bool in_recovery() const noexcept { return in_recovery_; }
    /// This recovery came from on_loss: the connection sends by pipe (RFC 6675).
    [[nodiscard]] bool pipe_recovery() const noexcept { return pipe_; }
    /// One past the highest sequence number sent when the current recovery (or the last RTO)
    /// began; RFC 6582's `recover` + 1. Meaningful while in_recovery() or until SND.UNA passes it.
    [[nodiscard]] SeqNum recover() const noexcept { return recover_; }
    /// Consecutive duplicate ACKs since SND.UNA last moved (for RFC 3042 limited transmit).
    [[nodiscard]] std::uint32_t dup_acks() const noexcept { return dup_acks_; }
    /// In the slow start following an RTO (RFC 3465 §2.3: L = 1 SMSS).
    [[nodiscard]] bool after_rto() const noexcept { return after_rto_; }
    [[nodiscard]] const CcCounters& counters() const noexcept { return counters_; }

private:
    void enter(SeqNum snd_max, bool by_pipe) noexcept {
        recover_ = snd_max;
        recover_valid_ = true;
        in_recovery_ = true;
        pipe_ = by_pipe;
        partial_ack_seen_ = false;
        after_rto_ = false;
        reduced_ = true;
    }

    SeqNum recover_;
    SeqNum rto_una_;                 ///< SND.UNA at the last RTO, valid while rto_una_valid_
    std::uint32_t dup_acks_ = 0;
    bool recover_valid_ = false;     ///< `recover` constrains a new recovery (SND.UNA < recover_)
    bool rto_una_valid_ = false;     ///< no ACK advanced SND.UNA since the last RTO
    bool in_recovery_ = false;
    bool partial_ack_seen_ = false;  ///< this recovery already had a partial ACK
    bool first_partial_ = false;     ///< the last Partial was the episode's first
    bool after_rto_ = false;
    bool pipe_ = false;
    bool reduced_ = false;           ///< a reduction happened since the last undo
    CcCounters counters_;
};

}  // namespace ustcp::tcp::cc
