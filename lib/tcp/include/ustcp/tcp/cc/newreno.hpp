// NewReno congestion control: RFC 5681 slow start, congestion avoidance, fast
// retransmit and restart after idle; RFC 3465 byte counting; the RFC 6928 initial
// window; RFC 6582 NewReno fast recovery with the "careful" check of §3.2 step 1
// and the "Impatient" timer of §4. One value per connection, no allocation, no
// clock, no I/O; the connection reports events (events.hpp) and obeys cwnd().
//
//   cc::NewReno cc(cc::Init{.smss = 1460});
//   for (;;) {                                          // the connection's event loop
//       if (ack_advanced)  r = cc.on_ack({n, snd_una, snd_max, now});
//       else if (dup_ack)  r = cc.on_dup_ack({snd_una, snd_max, now});
//       if (rto_fired)     cc.on_timeout({snd_una, snd_max, now});
//       if (r.retransmit)  resend_first_unacked();
//       if (r.restart_rto) rearm_rto(now);
//       if (flight == 0 && cc::idle_restart_due(last_send, now, rto)) cc.on_idle_restart({now, now - last_send});
//       while (snd_max - snd_una + smss <= min(cc.cwnd(), snd_wnd)) send_new_segment();
//   }
//
// Choices where the RFCs leave room (each marked in newreno.cpp):
// - Slow start is cwnd < ssthresh; at cwnd == ssthresh congestion avoidance runs.
//   A slow-start increase stops at ssthresh (what is left of that ACK is dropped).
// - Slow start adds min(N, L) per ACK with L = 2*SMSS (RFC 3465 §2.2, allowed by RFC
//   5681 §3.1); in the slow start that follows an RTO, L = 1*SMSS (RFC 3465 §2.3).
// - Congestion avoidance counts bytes (RFC 5681 §3.1's alternative, RFC 3465 §2.1):
//   exactly +SMSS per cwnd of bytes acknowledged. PerAck selects eq. (3),
//   cwnd += max(1, SMSS*SMSS/cwnd), instead.
// - Leaving recovery on a full ACK uses RFC 6582 §3.2 step 3 option (1),
//   cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS); option (2), cwnd = ssthresh,
//   is configurable.
// - A partial ACK deflates cwnd but never below SMSS.
// - Restart after idle uses RW = min(IW, cwnd) with this connection's IW.
// - cwnd saturates at kMaxCwnd.
#pragma once

#include <cstdint>

#include "ustcp/base/seqnum.hpp"
#include "ustcp/tcp/cc/events.hpp"
#include "ustcp/tcp/cc/recovery.hpp"

namespace ustcp::tcp::cc {

struct NewRenoConfig {
    enum class CaGrowth : std::uint8_t {
        ByteCounting,  ///< RFC 3465 §2.1 / RFC 5681 §3.1: +SMSS once cwnd bytes were acknowledged
        PerAck,        ///< RFC 5681 eq. (3): cwnd += SMSS*SMSS/cwnd per ACK (at least 1 byte)
    };
    enum class RecoveryExit : std::uint8_t {
        FlightSize,  ///< RFC 6582 §3.2 step 3 (1): min(ssthresh, max(FlightSize, SMSS) + SMSS)
        Ssthresh,    ///< RFC 6582 §3.2 step 3 (2): ssthresh
    };
    /// RFC 3465's L, in SMSS units, for slow start not following an RTO.
    std::uint8_t abc_limit_segments = 2;
    CaGrowth ca_growth = CaGrowth::ByteCounting;
    RecoveryExit recovery_exit = RecoveryExit::FlightSize;
};

class NewReno {
public:
    explicit NewReno(const Init& init, const NewRenoConfig& cfg = {}) noexcept;

    // ---- Events (contract in congestion.hpp) ----

    /// SND.UNA advanced. Outside recovery: slow start or congestion avoidance. In recovery:
    /// a full ACK (SEG.ACK covers `recover`) ends it; a partial ACK asks for a retransmission.
    Response on_ack(const AckEvent& e) noexcept;
    /// A duplicate ACK. The third one outside recovery starts fast retransmit and fast
    /// recovery unless RFC 6582's careful check refuses; inside recovery each inflates cwnd.
    Response on_dup_ack(const DupAckEvent& e) noexcept;
    /// RTO: ssthresh from FlightSize (held if this segment already timed out), cwnd = 1 SMSS,
    /// any recovery abandoned and `recover` set to SND.MAX.
    void on_timeout(const TimeoutEvent& e) noexcept;
    /// RFC 5681 §4.1: cwnd = min(cwnd, RW), RW = min(IW, cwnd).
    void on_idle_restart(const IdleEvent& e) noexcept;
    /// SACK/RACK loss (RFC 6675 §5 (4.2)): ssthresh = cwnd = max(FlightSize / 2, 2*SMSS),
    /// recovery until SND.MAX is acknowledged; no inflation, no partial-ACK retransmissions.
    /// Ignored inside a recovery or before SND.UNA passed the last `recover` (RFC 6675 §5.1).
    void on_loss(const LossEvent& e) noexcept;
    /// Restores cwnd and ssthresh to the event's prior values (never below the present
    /// ones) and ends recovery. False when no reduction happened since the last undo.
    bool on_undo(const UndoEvent& e) noexcept;

    // ---- Outputs ----

    [[nodiscard]] std::uint32_t cwnd() const noexcept { return cwnd_; }
    [[nodiscard]] std::uint32_t ssthresh() const noexcept { return ssthresh_; }
    [[nodiscard]] std::uint32_t smss() const noexcept { return smss_; }
    [[nodiscard]] std::uint32_t initial_window() const noexcept { return iw_; }
    [[nodiscard]] bool in_recovery() const noexcept { return rec_.in_recovery(); }
    /// The recovery point: one past the highest sequence number sent when the current
    /// recovery (or the last RTO) began; RFC 6582's `recover` + 1. An ACK at or beyond
    /// it is a full ACK. Meaningful while in_recovery() or until SND.UNA passes it.
    [[nodiscard]] SeqNum recover() const noexcept { return rec_.recover(); }
    /// Consecutive duplicate ACKs since SND.UNA last moved (for RFC 3042 limited transmit).
    [[nodiscard]] std::uint32_t dup_acks() const noexcept { return rec_.dup_acks(); }
    [[nodiscard]] const CcCounters& counters() const noexcept { return rec_.counters(); }

private:
    void grow(std::uint32_t bytes_acked) noexcept;
    [[nodiscard]] std::uint32_t loss_ssthresh(SeqNum snd_una, SeqNum snd_max) const noexcept;

    NewRenoConfig cfg_;
    std::uint32_t smss_;
    std::uint32_t iw_;
    std::uint32_t cwnd_;
    std::uint32_t ssthresh_;
    std::uint32_t ca_bytes_acked_ = 0;  ///< RFC 3465 bytes_acked, congestion avoidance only
    Recovery rec_;  ///< recovery entry/exit, `recover`, the RTO's record, counters (recovery.hpp)
};

}  // namespace ustcp::tcp::cc
