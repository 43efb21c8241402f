// RACK loss detection (RFC 8985 §6): a segment is lost once a segment sent
// after it has been delivered (ACKed or SACKed) and more than RACK.rtt plus the
// reordering window has passed since it was sent. No clock, no I/O, no
// allocation: the send times live in a bounded log inside the control block.
//
//   rack.on_send(seq, end, now, is_retransmission);          // every data segment sent
//   rack.on_delivered(l, r, now);                             // per range an ACK delivered
//   Duration wait = rack.detect_loss(now, srtt, in_recovery, many_sacked,
//                                    [&](SeqNum l, SeqNum r) { mark_lost(l, r); });
//   if (wait > 0) reorder_deadline = now + wait;              // RFC 8985 §6.3
//
// The log: one entry per transmission in send order ([left, right), xmit_ts,
// retransmitted, and a send counter). Sends in the same tick are ordered by that counter,
// and only within one entry by sequence number as RACK_sent_after's tie-break has it: the
// engine gives every segment of one poll the same `now`, and a retransmission sent after new
// data would pass for sent before it by sequence alone, and be marked lost again. Contiguous sends of one kind within kCoalesce are one entry
// (stamped with the later time: a range can only look younger, never older, so
// coalescing never makes a segment lost sooner). A retransmission replaces what
// the log held for its bytes. When kLog entries are used, the oldest is
// forgotten: its bytes are then left to RFC 6675's IsLost and to the RTO.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>

#include "ustcp/base/seqnum.hpp"
#include "ustcp/base/slots.hpp"
#include "ustcp/base/time.hpp"

namespace ustcp::tcp {

/// The minimum of a series of durations over a sliding time window, in O(1) time and space:
/// it keeps the best sample and the best two that came after it, each a candidate for when
/// the ones before it leave the window (K. Nichols' three-sample scheme, as BBR and Linux's
/// RTT filter use it). While the best sample is younger than `window` the answer is the
/// true minimum; a sample older than that is dropped at the next update, and the answer
/// then rises to the best of the later candidates (an estimate of the window's minimum).
class WindowedMin {
public:
    struct Sample {
        Duration value = Duration::zero();
        Instant at;
    };

    [[nodiscard]] bool empty() const noexcept { return !valid_; }
    /// The minimum over the window (zero when empty).
    [[nodiscard]] Duration get() const noexcept { return s_[0].value; }

    /// Adds `v` measured at `now` (times never go backwards) and returns the new minimum.
    Duration update(Duration v, Instant now, Duration window) noexcept {
        const Sample x{v, now};
        // A new minimum, or nothing measured within the window: the sample stands alone.
        if (!valid_ || v <= s_[0].value || now - s_[2].at > window) {
            s_ = {x, x, x};
            valid_ = true;
            return v;
        }
        // Keep it as the second or third candidate when it beats them.
        if (v <= s_[1].value) s_[1] = s_[2] = x;
        else if (v <= s_[2].value) s_[2] = x;
        // The best one left the window: the candidates move up (twice when the second one
        // is out of the window too).
        if (now - s_[0].at > window) {
            s_[0] = s_[1];
            s_[1] = s_[2];
            s_[2] = x;
            if (now - s_[0].at > window) {
                s_[0] = s_[1];
                s_[1] = s_[2];
            }
        } else if (s_[1].at == s_[0].at && now - s_[0].at > window / 4) {
            // A quarter window passed with no other candidate: take this one as the second
            // (and third), so that the minimum can rise in steps when the best one expires.
            s_[1] = s_[2] = x;
        } else if (s_[2].at == s_[1].at && now - s_[0].at > window / 2) {
            s_[2] = x;  // likewise the third after half a window
        }
        return s_[0].value;
    }

private:
    std::array<Sample, 3> s_{};
    bool valid_ = false;
};

class Rack {
public:
    static constexpr std::size_t kLog = 64;
    static constexpr Duration kCoalesce = Duration::micros(250);
    /// RFC 8985 §6.2 step 4: the multiplier of min_RTT/4 grows per round with D-SACKs, and
    /// falls back to 1 after this many recoveries without one.
    static constexpr std::uint8_t kReoWndPersist = 16;
    /// RFC 8985 §6.2 step 2: min_RTT is "the minimum RTT" over the connection or a recent
    /// window; ours is a windowed minimum (WindowedMin) over this long, as Linux's
    /// tcp_min_rtt_wlen. Long enough that a spell of queueing delay does not creep into it
    /// (that would widen the reordering window and slow loss detection), short enough that
    /// a path change to a longer RTT is learnt within minutes.
    static constexpr Duration kMinRttWindow = Duration::seconds(300);

    struct Sent {
        SeqNum left;
        SeqNum right;
        Instant ts;
        bool rexmit = false;
        std::uint32_t order = 0;  ///< send counter at its (latest) send: ties of `ts` broken by it
    };

    /// [l, r) was sent at `now` (a retransmission when `rexmit`).
    void on_send(SeqNum l, SeqNum r, Instant now, bool rexmit) noexcept {
        if (!(l < r)) return;
        const std::uint32_t order = ++sends_;
        if (rexmit) erase_range(l, r);
        if (n_ > 0) {
            Sent& last = log_[n_ - 1];
            if (last.right == l && last.rexmit == rexmit && now - last.ts <= kCoalesce) {
                last.right = r;
                last.ts = now;
                last.order = order;
                return;
            }
        }
        if (n_ == kLog) erase_at(0);
        log_[n_++] = Sent{l, r, now, rexmit, order};
    }

    /// RFC 8985 §6.2 steps 1-3 for the bytes [l, r) this ACK delivered (cumulatively or by
    /// SACK): RACK.xmit_ts, RACK.end_seq and RACK.rtt from the most recently sent of them,
    /// min_RTT, and reordering seen when a never-retransmitted segment below the highest
    /// delivered one arrives. Delivered entries leave the log.
    void on_delivered(SeqNum l, SeqNum r, Instant now) noexcept {
        for (std::size_t i = 0; i < n_;) {
            Sent& e = log_[i];
            if (e.right <= l || r <= e.left) {
                ++i;
                continue;
            }
            const Duration rtt = now - e.ts;
            // Step 2: a retransmitted segment delivered sooner than min_RTT after its
            // retransmission was most likely the original's ACK: no sample from it.
            const bool ambiguous = e.rexmit && !min_rtt_.empty() && rtt < min_rtt_.get();
            if (!ambiguous) {
                (void)min_rtt_.update(rtt, now, kMinRttWindow);
                const SeqNum end = e.right < r ? e.right : r;  // of the part delivered
                if (!have_xmit_ || sent_after(e.ts, e.order, end, xmit_ts_, xmit_order_, end_seq_)) {
                    xmit_ts_ = e.ts;
                    xmit_order_ = e.order;
                    end_seq_ = end;
                    rtt_ = rtt;
                    have_xmit_ = true;
                }
            }
            // Step 3: reordering.
            const SeqNum part_end = e.right < r ? e.right : r;
            if (!e.rexmit && have_fack_ && part_end < fack_) reordering_seen_ = true;
            if (!have_fack_ || part_end > fack_) {
                fack_ = part_end;
                have_fack_ = true;
            }
            if (l <= e.left && e.right <= r) {
                erase_at(i);
                continue;
            }
            if (e.left < l && r < e.right) {  // delivered in the middle: keep both ends
                const Sent hi{r, e.right, e.ts, e.rexmit, e.order};
                e.right = l;
                ++i;
                if (n_ < kLog) {  // else the upper part is forgotten (left to IsLost and the RTO)
                    for (std::size_t k = n_; k > i; --k) log_[k] = log_[k - 1];
                    log_[i] = hi;
                    ++n_;
                    ++i;
                }
                continue;
            }
            if (e.left < l) e.right = l;
            else e.left = r;
            ++i;
        }
    }

    /// SND.UNA reached `una`: what lies below is done with.
    void acked(SeqNum una) noexcept { erase_range_below(una); }

    /// RFC 8985 §6.2 step 4: the reordering window.
    [[nodiscard]] Duration reo_wnd(Duration srtt, bool in_recovery, bool many_sacked) const noexcept {
        if (!reordering_seen_ && (in_recovery || many_sacked)) return Duration::zero();
        const Duration w = (min_rtt_.get() / 4) * reo_wnd_mult_;
        return srtt > Duration::zero() ? std::min(w, srtt) : w;
    }

    /// RFC 8985 §6.2 step 5: calls lost(l, r) for every logged range sent before RACK.xmit_ts
    /// whose time is up (those leave the log); returns how long until the next one's is
    /// (zero when none waits): the reorder timer.
    template <class F>
    Duration detect_loss(Instant now, Duration srtt, bool in_recovery, bool many_sacked, F&& lost) noexcept {
        if (!have_xmit_) return Duration::zero();
        const Duration reo = reo_wnd(srtt, in_recovery, many_sacked);
        Duration wait = Duration::zero();
        for (std::size_t i = 0; i < n_;) {
            const Sent& e = log_[i];
            if (!sent_after(xmit_ts_, xmit_order_, end_seq_, e.ts, e.order, e.right)) {
                ++i;
                continue;
            }
            const Duration remaining = (e.ts + rtt_ + reo) - now;
            if (remaining <= Duration::zero()) {
                lost(e.left, e.right);
                erase_at(i);
                continue;
            }
            wait = std::max(wait, remaining);
            ++i;
        }
        return wait;
    }

    /// RFC 8985 §6.2 step 4: a D-SACK widens the window, once per round trip.
    void on_dsack(SeqNum una, SeqNum snd_max) noexcept {
        reordering_seen_ = true;
        if (dsack_round_valid_ && una < dsack_round_) return;
        dsack_round_ = snd_max;
        dsack_round_valid_ = true;
        if (reo_wnd_mult_ < 64) ++reo_wnd_mult_;
        reo_wnd_persist_ = kReoWndPersist;
    }
    /// A recovery episode ended.
    void on_recovery_end() noexcept {
        if (reo_wnd_persist_ > 0 && --reo_wnd_persist_ == 0) reo_wnd_mult_ = 1;
    }
    /// The retransmission timer fired: RACK's time bases start again (RFC 8985 §6.3 marks
    /// everything lost on an RTO; the go-back-N that follows rewrites the log).
    void on_timeout() noexcept { have_xmit_ = false; }

    [[nodiscard]] std::size_t entries() const noexcept { return n_; }
    [[nodiscard]] const Sent& entry(std::size_t i) const noexcept { return log_[i]; }
    [[nodiscard]] bool reordering_seen() const noexcept { return reordering_seen_; }
    /// RFC 8985 min_RTT: the windowed minimum of the RTT samples (kMinRttWindow).
    [[nodiscard]] Duration min_rtt() const noexcept { return min_rtt_.get(); }
    [[nodiscard]] Duration rtt() const noexcept { return rtt_; }
    [[nodiscard]] std::uint8_t reo_wnd_mult() const noexcept { return reo_wnd_mult_; }

private:
    /// RFC 8985 §6.2 RACK_sent_after(t1, seq1, t2, seq2), ties of time broken by the send
    /// counter (wrapping compare), and only then, inside one coalesced entry, by sequence.
    static bool sent_after(Instant t1, std::uint32_t o1, SeqNum seq1, Instant t2, std::uint32_t o2,
                           SeqNum seq2) noexcept {
        if (t1 != t2) return t1 > t2;
        if (o1 != o2) return static_cast<std::int32_t>(o1 - o2) > 0;
        return seq2 < seq1;
    }
    void erase_at(std::size_t i) noexcept {
        for (std::size_t k = i; k + 1 < n_; ++k) log_[k] = log_[k + 1];
        --n_;
    }
    void erase_range_below(SeqNum una) noexcept {
        std::size_t w = 0;
        for (std::size_t i = 0; i < n_; ++i) {
            Sent e = log_[i];
            if (e.right <= una) continue;
            if (e.left < una) e.left = una;
            log_[w++] = e;
        }
        n_ = w;
    }
    void erase_range(SeqNum l, SeqNum r) noexcept {
        for (std::size_t i = 0; i < n_;) {
            Sent& e = log_[i];
            if (e.right <= l || r <= e.left) {
                ++i;
                continue;
            }
            if (l <= e.left && e.right <= r) {
                erase_at(i);
                continue;
            }
            if (e.left < l && r < e.right) {
                const Sent hi{r, e.right, e.ts, e.rexmit, e.order};
                e.right = l;
                if (n_ < kLog) {
                    for (std::size_t k = n_; k > i + 1; --k) log_[k] = log_[k - 1];
                    log_[i + 1] = hi;
                    ++n_;
                }
                return;
            }
            if (e.left < l) e.right = l;
            else e.left = r;
            ++i;
        }
    }

    Slots<Sent, kLog> log_;  // log_[0, n_) hold the entries; the rest is never read
    std::size_t n_ = 0;
    Instant xmit_ts_;
    SeqNum end_seq_;
    std::uint32_t xmit_order_ = 0;  // the send counter of RACK.xmit_ts's segment
    std::uint32_t sends_ = 0;
    SeqNum fack_;
    SeqNum dsack_round_;
    Duration rtt_ = Duration::zero();
    WindowedMin min_rtt_;
    std::uint8_t reo_wnd_mult_ = 1;
    std::uint8_t reo_wnd_persist_ = 0;
    bool have_xmit_ = false;
    bool have_fack_ = false;
    bool reordering_seen_ = false;
    bool dsack_round_valid_ = false;
};

}  // namespace ustcp::tcp
