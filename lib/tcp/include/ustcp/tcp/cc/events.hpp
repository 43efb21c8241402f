// The vocabulary of the congestion-control seam (congestion.hpp): what a connection
// reports to its congestion-control policy, what the policy answers, and the
// per-connection counters every policy keeps. Plain values, no behaviour; each
// policy (newreno.hpp, later cubic.hpp) includes only this file, and the seam
// includes the policies.
//
//   cc::Init init{.smss = peer_mss};                         // at ESTABLISHED
//   cc::Response r = cc.on_ack({.bytes_acked = n, .snd_una = una, .snd_max = max, .now = now});
//   if (r.retransmit) resend_at(una);
//   if (r.restart_rto) rearm_rto(now);
//
// Sequence numbers: `snd_max` is one past the highest sequence number ever sent
// (BSD's SND.MAX). It does not move back when an RTO rewinds SND.NXT for a
// go-back-N retransmission, and FlightSize (RFC 5681 §2) is `snd_max - snd_una`.
#pragma once

#include <cstdint>
#include <limits>

#include "ustcp/base/seqnum.hpp"
#include "ustcp/base/time.hpp"

namespace ustcp::tcp::cc {

/// No policy lets cwnd pass 2^30 bytes, the largest window RFC 7323 §2.3 can advertise
/// (65535 << 14, rounded up). Growth saturates there, so 32-bit arithmetic cannot wrap.
inline constexpr std::uint32_t kMaxCwnd = 1u << 30;

/// RFC 5681 §3.1: "The initial value of ssthresh SHOULD be set arbitrarily high".
inline constexpr std::uint32_t kInfiniteSsthresh = std::numeric_limits<std::uint32_t>::max();

/// RFC 6928 §2's initial window: min(10*MSS, max(2*MSS, 14600)) bytes.
[[nodiscard]] constexpr std::uint32_t initial_window(std::uint32_t smss) noexcept {
    const std::uint32_t by_bytes = 2 * smss > 14600 ? 2 * smss : 14600;
    return 10 * smss < by_bytes ? 10 * smss : by_bytes;
}

/// Facts fixed when a connection reaches ESTABLISHED.
struct Init {
    /// SMSS (RFC 5681 §2): the largest segment payload we send, after options.
    std::uint32_t smss = 536;
    /// RFC 6928 §2 (and RFC 5681 §3.1): if our SYN or the SYN-ACK was retransmitted, the
    /// initial window "MUST be one segment consisting of at most SMSS bytes".
    bool syn_retransmitted = false;
    /// Starting ssthresh; a cached per-route value may lower it (RFC 5681 §3.1).
    std::uint32_t ssthresh = kInfiniteSsthresh;
};

/// An ACK that advanced SND.UNA (RFC 9293 §3.10.7.4, "SND.UNA < SEG.ACK =< SND.NXT").
struct AckEvent {
    std::uint32_t bytes_acked = 0;  ///< how far SND.UNA moved; > 0 (a FIN octet may be included)
    SeqNum snd_una;                 ///< SND.UNA after the ACK, i.e. SEG.ACK
    SeqNum snd_max;                 ///< one past the highest sequence number sent
    Instant now;
    Duration rtt = Duration::zero();  ///< the RTT sample this ACK gave, zero if none (for delay-aware policies)
};

/// A duplicate ACK as RFC 5681 §2 defines it: the sender has outstanding data, the ACK
/// carries no data and no SYN/FIN, SEG.ACK == SND.UNA, and the advertised window is
/// unchanged. (With SACK, RFC 6675 widens this; that is recovery/sack's business.)
struct DupAckEvent {
    SeqNum snd_una;  ///< SND.UNA, which the ACK repeats
    SeqNum snd_max;
    Instant now;
};

/// The retransmission timer expired (RFC 6298 §5.4-5.6); reported before resending.
struct TimeoutEvent {
    SeqNum snd_una;
    SeqNum snd_max;
    Instant now;
};

/// Loss detected by the scoreboard rather than by counting duplicate ACKs: RFC 6675 §5
/// step (4) (DupThresh SACKed segments or IsLost(HighACK + 1)), a RACK loss (RFC 8985 §6.2),
/// or a loss a tail-loss probe revealed (RFC 8985 §7.4). Reported once per recovery episode,
/// before the retransmission. The policy reduces its window (RFC 6675 §5 (4.2): ssthresh =
/// cwnd = the reduced window, no inflation) and stays in recovery until an ACK reaches
/// `snd_max`; the connection sends by pipe meanwhile, so the policy neither inflates cwnd
/// on duplicate ACKs nor asks for retransmissions on partial ACKs in such a recovery.
struct LossEvent {
    SeqNum snd_una;
    SeqNum snd_max;  ///< RFC 6675's RecoveryPoint (HighData)
    Instant now;
};

/// The last window reduction was spurious: every retransmission of its episode was
/// reported back as a duplicate (D-SACK, RFC 2883 §4 / RFC 3708). The policy restores
/// the window to what it was before that reduction (RFC 4015 §3 style: ssthresh back,
/// cwnd back) and ends any recovery. The connection read cwnd() and ssthresh() just
/// before it reported the reduction (on_loss, on_timeout) and hands them back here, so a
/// policy need not keep them; one with finer state (CUBIC's W_max) may restore that too.
/// At most once per reduction.
struct UndoEvent {
    SeqNum snd_una;
    SeqNum snd_max;
    Instant now;
    std::uint32_t prior_cwnd = 0;      ///< cwnd() before the reduction
    std::uint32_t prior_ssthresh = 0;  ///< ssthresh() before the reduction
};

/// The connection is about to send after nothing was sent for longer than an RTO
/// (RFC 5681 §4.1); idle_restart_due() below is the test.
struct IdleEvent {
    Instant now;
    Duration idle;  ///< now - time of the last transmission
};

/// RFC 5681 §4.1: restart applies when the TCP "has not sent data in an interval
/// exceeding the retransmission timeout". Exactly one RTO of idleness does not count.
[[nodiscard]] constexpr bool idle_restart_due(Instant last_send, Instant now, Duration rto) noexcept {
    return now - last_send > rto;
}

/// What the policy asks the connection to do now, beyond honouring cwnd().
struct [[nodiscard]] Response {
    /// Resend the segment starting at SND.UNA at once, whether or not cwnd allows it
    /// (RFC 5681 §3.2 step 2, RFC 6582 §3.2 step 5).
    bool retransmit = false;
    /// Restart the retransmission timer (RFC 6582 §3.2 step 5: the first partial ACK of
    /// a recovery, the "Impatient" variant of §4).
    bool restart_rto = false;
    friend constexpr bool operator==(Response, Response) noexcept = default;
};

/// Per-connection counters; the engine may sum them per lcore into 64-bit totals.
/// 32 bits each to keep the control block small (4e9 RTOs outlive any connection).
struct CcCounters {
    std::uint32_t fast_retransmits = 0;         ///< 3rd duplicate ACKs that started a fast recovery
    std::uint32_t fast_retransmits_avoided = 0;  ///< 3rd duplicate ACKs not covering `recover` (RFC 6582 §3.2 step 1)
    std::uint32_t partial_acks = 0;             ///< partial ACKs in recovery, each a retransmission
    std::uint32_t recoveries = 0;               ///< fast recoveries completed by a full ACK
    std::uint32_t timeouts = 0;                 ///< RTOs reported
    std::uint32_t idle_restarts = 0;            ///< restarts after idle that reported
    std::uint32_t loss_recoveries = 0;          ///< recoveries started by on_loss (SACK, RACK, TLP)
    std::uint32_t undos = 0;                    ///< reductions undone by on_undo
    friend constexpr bool operator==(const CcCounters&, const CcCounters&) noexcept = default;
};

}  // namespace ustcp::tcp::cc
