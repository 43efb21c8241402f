// SACK on both sides of a connection (RFC 2018, D-SACK RFC 2883), with no I/O,
// no clock and no allocation: fixed-size arrays inside the control block.
//
// Receiver: SackReceiver remembers which out-of-order blocks were reported most
// recently and a pending D-SACK, and fills the blocks of the next ACK from the
// out-of-order queue as it is then.
//
//   rx.on_ooo(seq, end);                    // a segment was queued beyond RCV.NXT
//   rx.on_duplicate(seq, end);              // a segment held nothing new (D-SACK)
//   n = rx.fill(rcvq, rcv_nxt, max, blocks); // at every ACK: up to `max` blocks
//
// Sender: Scoreboard holds what the peer SACKed over SND.UNA..SND.MAX and what
// loss detection (RFC 6675 IsLost or RACK) marked lost and not yet retransmitted,
// so that pipe and NextSeg (RFC 6675 §4) are a few range walks:
//
//   auto u = sb.update(snd_una, snd_max, seg.options);   // every ACK with SACK-permitted
//   sb.mark_lost_below(sb.is_lost_edge(smss), ...);       // RFC 6675 IsLost, or RACK ranges
//   pipe = flight - sb.sacked_bytes() - sb.lost_bytes();  // lost ones are not in flight
//   if (auto r = sb.first_lost()) retransmit(*r);          // NextSeg rule (1)
//
// Both sets are bounded (kMaxRanges). When a set is full the highest range is
// given up: forgetting a SACKed range can only make us resend it after an RTO
// (the receiver may renege anyway, RFC 2018 §8), forgetting a lost range only
// delays its retransmission to the RTO. Neither ever causes SACKed data to be
// retransmitted by recovery.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>

#include <vector>

#include "ustcp/base/seqnum.hpp"
#include "ustcp/base/slots.hpp"
#include "ustcp/tcp/rack.hpp"
#include "ustcp/tcp/recv_queue.hpp"
#include "ustcp/wire/tcp.hpp"

namespace ustcp::tcp {

/// [left, right) in sequence space.
struct SeqRange {
    SeqNum left;
    SeqNum right;
    [[nodiscard]] std::uint32_t len() const noexcept { return static_cast<std::uint32_t>(right - left); }
    [[nodiscard]] bool contains(SeqNum s) const noexcept { return left <= s && s < right; }
    friend constexpr bool operator==(const SeqRange&, const SeqRange&) noexcept = default;
};

/// Sorted, disjoint, non-adjacent ranges; at most N of them.
template <std::size_t N>
class RangeSet {
public:
    [[nodiscard]] std::size_t size() const noexcept { return n_; }
    [[nodiscard]] bool empty() const noexcept { return n_ == 0; }
    [[nodiscard]] const SeqRange& operator[](std::size_t i) const noexcept { return r_[i]; }
    [[nodiscard]] std::uint32_t bytes() const noexcept { return bytes_; }
    void clear() noexcept { n_ = 0, bytes_ = 0; }

    /// Adds [l, r), merging with what it touches. Returns the bytes that were not held before.
    std::uint32_t add(SeqNum l, SeqNum r) noexcept {
        if (!(l < r)) return 0;
        std::size_t i = 0;
        while (i < n_ && r_[i].right < l) ++i;  // ranges wholly left of l (not touching)
        std::size_t j = i;
        std::uint32_t covered = 0;
        SeqNum nl = l, nr = r;
        while (j < n_ && r_[j].left <= r) {  // ranges touching or overlapping [l, r)
            covered += overlap(r_[j], l, r);
            if (r_[j].left < nl) nl = r_[j].left;
            if (r_[j].right > nr) nr = r_[j].right;
            ++j;
        }
        const std::uint32_t added = static_cast<std::uint32_t>(r - l) - covered;
        if (j > i) {  // merge r_[i..j) into one
            std::uint32_t old = 0;
            for (std::size_t k = i; k < j; ++k) old += r_[k].len();
            r_[i] = SeqRange{nl, nr};
            erase(i + 1, j);
            bytes_ += r_[i].len() - old;
            return added;
        }
        if (n_ == N) {
            if (i == n_) return 0;  // beyond every range held and no room: forget it
            bytes_ -= r_[n_ - 1].len();
            --n_;  // give up the highest range
        }
        for (std::size_t k = n_; k > i; --k) r_[k] = r_[k - 1];
        r_[i] = SeqRange{l, r};
        ++n_;
        bytes_ += r_[i].len();
        return added;
    }

    /// Removes [l, r). Returns the bytes removed.
    std::uint32_t remove(SeqNum l, SeqNum r) noexcept {
        std::uint32_t gone = 0;
        for (std::size_t i = 0; i < n_ && r_[i].left < r;) {
            SeqRange& x = r_[i];
            if (x.right <= l) {
                ++i;
                continue;
            }
            const std::uint32_t o = overlap(x, l, r);
            gone += o;
            bytes_ -= o;
            if (l <= x.left && x.right <= r) {  // wholly inside
                erase(i, i + 1);
                continue;
            }
            if (x.left < l && r < x.right) {  // a hole in the middle: split
                const SeqRange hi{r, x.right};
                x.right = l;
                if (n_ == N) {  // no room for the upper part: forget it
                    bytes_ -= hi.len();
                    return gone;
                }
                for (std::size_t k = n_; k > i + 1; --k) r_[k] = r_[k - 1];
                r_[i + 1] = hi;
                ++n_;
                return gone;
            }
            if (x.left < l) x.right = l;
            else x.left = r;
            ++i;
        }
        return gone;
    }

    [[nodiscard]] bool contains(SeqNum s) const noexcept {
        for (std::size_t i = 0; i < n_ && r_[i].left <= s; ++i) {
            if (s < r_[i].right) return true;
        }
        return false;
    }
    /// Bytes of [l, r) held.
    [[nodiscard]] std::uint32_t covered(SeqNum l, SeqNum r) const noexcept {
        std::uint32_t c = 0;
        for (std::size_t i = 0; i < n_ && r_[i].left < r; ++i) c += overlap(r_[i], l, r);
        return c;
    }
    /// The first range ending beyond `s`, clipped to start at `s` or later.
    [[nodiscard]] std::optional<SeqRange> first_from(SeqNum s) const noexcept {
        for (std::size_t i = 0; i < n_; ++i) {
            if (r_[i].right <= s) continue;
            return SeqRange{r_[i].left < s ? s : r_[i].left, r_[i].right};
        }
        return std::nullopt;
    }

private:
    static std::uint32_t overlap(const SeqRange& x, SeqNum l, SeqNum r) noexcept {
        const SeqNum a = x.left < l ? l : x.left;
        const SeqNum b = x.right < r ? x.right : r;
        return a < b ? static_cast<std::uint32_t>(b - a) : 0;
    }
    void erase(std::size_t from, std::size_t to) noexcept {
        const std::size_t k = to - from;
        for (std::size_t x = from; x + k < n_; ++x) r_[x] = r_[x + k];
        n_ -= k;
    }

    Slots<SeqRange, N> r_;  // r_[0, n_) hold the ranges; the rest is never read
    std::size_t n_ = 0;
    std::uint32_t bytes_ = 0;
};

/// The receiver's half (RFC 2018 §4, RFC 2883 §4).
class SackReceiver {
public:
    /// A segment [left, right) was queued beyond RCV.NXT: its block is the most recent.
    void on_ooo(SeqNum left, SeqNum right) noexcept {
        (void)right;
        push_front(left);
    }
    /// A segment [left, right) brought nothing new (below RCV.NXT, or all held already):
    /// the next ACK opens with it as a D-SACK block (RFC 2883 §4 (1)). Only the latest is kept.
    void on_duplicate(SeqNum left, SeqNum right) noexcept {
        if (left < right) {
            dsack_ = SeqRange{left, right};
            has_dsack_ = true;
        }
    }
    [[nodiscard]] bool dsack_pending() const noexcept { return has_dsack_; }
    /// The out-of-order queue was dropped (memory pressure, FIN): nothing to report.
    void clear() noexcept {
        n_ = 0;
        has_dsack_ = false;
    }

    /// Fills `out` with at most `max` blocks for an ACK of `rcv_nxt`: the D-SACK block if one
    /// is pending (then, RFC 2883 §4 (3), the out-of-order block containing it, if any), the
    /// block holding the most recently received segment, then the most recently reported
    /// others, then any block not yet reported, lowest first. Each block is a whole run of
    /// contiguous out-of-order data. `consume`: this ACK is sent, so the D-SACK is done with.
    std::uint8_t fill(const RecvQueue& q, SeqNum rcv_nxt, std::size_t max,
                      std::array<wire::SackBlock, wire::kMaxSackBlocks>& out, bool consume) noexcept {
        if (max > out.size()) max = out.size();
        std::uint8_t k = 0;
        const auto have = [&](const SeqRange& b) {
            for (std::uint8_t i = 0; i < k; ++i) {
                if (out[i].left == b.left && out[i].right == b.right) return true;
            }
            return false;
        };
        const auto put = [&](const SeqRange& b) {
            if (k < max && !have(b)) out[k++] = wire::SackBlock{b.left, b.right};
        };
        if (has_dsack_ && max > 0) {
            out[k++] = wire::SackBlock{dsack_.left, dsack_.right};
            // The block containing it follows even when it is the same range: a first block
            // inside the second is how the sender tells a D-SACK above SND.UNA.
            if (auto b = run_containing(q, dsack_.left); b && k < max) out[k++] = wire::SackBlock{b->left, b->right};
            if (consume) has_dsack_ = false;
        }
        // The reported list, refreshed: runs that merged or were consumed by RCV.NXT fall out.
        std::array<SeqNum, kRecent> kept{};
        std::size_t m = 0;
        for (std::size_t i = 0; i < n_; ++i) {
            auto b = run_containing(q, recent_[i]);
            if (!b || b->left < rcv_nxt) continue;
            bool dup = false;
            for (std::size_t j = 0; j < m; ++j) dup = dup || b->contains(kept[j]);
            if (dup) continue;
            kept[m++] = b->left;
            put(*b);
        }
        for (std::size_t j = 0; j < m; ++j) recent_[j] = kept[j];
        n_ = static_cast<std::uint8_t>(m);
        // Room left: blocks never reported (more holes than the list remembers).
        for (const BufNode* p = q.ooo_head(); p != nullptr && k < max;) {
            SeqRange b{p->seq, p->end()};
            p = p->next;
            while (p != nullptr && p->seq == b.right) {
                b.right = p->end();
                p = p->next;
            }
            put(b);
        }
        return k;
    }

    /// The run of contiguous out-of-order data holding `s`, if any.
    [[nodiscard]] static std::optional<SeqRange> run_containing(const RecvQueue& q, SeqNum s) noexcept {
        for (const BufNode* p = q.ooo_head(); p != nullptr;) {
            SeqRange b{p->seq, p->end()};
            p = p->next;
            while (p != nullptr && p->seq == b.right) {
                b.right = p->end();
                p = p->next;
            }
            if (b.contains(s)) return b;
            if (s < b.left) return std::nullopt;
        }
        return std::nullopt;
    }

private:
    // Three remembered blocks fill an ACK with timestamps (3 blocks); without timestamps a
    // fourth slot is filled from the queue (the lowest block not yet listed) or by a D-SACK.
    // Three keep the control block within ten cache lines.
    static constexpr std::size_t kRecent = 3;

    void push_front(SeqNum s) noexcept {
        const std::size_t keep = n_ < kRecent ? n_ : kRecent - 1;
        for (std::size_t i = keep; i > 0; --i) recent_[i] = recent_[i - 1];
        recent_[0] = s;
        n_ = static_cast<std::uint8_t>(keep + 1);
    }

    std::array<SeqNum, kRecent> recent_{};  // a sequence number inside each reported block, most recent first
    SeqRange dsack_{};                      // valid while has_dsack_
    std::uint8_t n_ = 0;
    bool has_dsack_ = false;
};

/// The sender's scoreboard (RFC 6675 §3, §4).
class Scoreboard {
public:
    static constexpr std::size_t kMaxRanges = 32;

    /// What one ACK's SACK option said.
    struct Update {
        std::uint32_t newly_sacked = 0;  ///< bytes SACKed for the first time
        std::uint8_t invalid = 0;        ///< blocks outside SND.UNA..SND.MAX or empty: ignored
        bool dsack = false;              ///< the first block was a D-SACK (RFC 2883 §4)
        SeqRange dsack_range{};
        SeqNum highest_sacked;           ///< the highest right edge among the valid blocks
        bool any_valid = false;
    };

    /// Processes an ACK: SND.UNA is `una` already (`ack`), blocks from `opts`.
    Update update(SeqNum una, SeqNum snd_max, const wire::TcpOptions& opts) noexcept {
        Update u;
        u.highest_sacked = una;
        trim(una);
        for (std::uint8_t i = 0; i < opts.sack_count; ++i) {
            const wire::SackBlock& b = opts.sack[i];
            if (i == 0) {
                // RFC 2883 §4: a D-SACK block lies below the cumulative ACK, or inside the
                // second block.
                const bool below = b.left < b.right && b.right <= una;
                const bool inside = opts.sack_count > 1 && opts.sack[1].left <= b.left &&
                                    b.right <= opts.sack[1].right && b.left < b.right;
                if (below || inside) {
                    u.dsack = true;
                    u.dsack_range = SeqRange{b.left, b.right};
                    continue;
                }
            }
            if (!(b.left < b.right) || b.left < una || b.right > snd_max) {
                ++u.invalid;
                continue;
            }
            u.any_valid = true;
            if (b.right > u.highest_sacked) u.highest_sacked = b.right;
            u.newly_sacked += sacked_.add(b.left, b.right);
            lost_.remove(b.left, b.right);
        }
        return u;
    }

    /// SND.UNA moved to `una`: everything below it is done with.
    void trim(SeqNum una) noexcept {
        if (!sacked_.empty() && sacked_[0].left < una) sacked_.remove(sacked_[0].left, una);
        if (!lost_.empty() && lost_[0].left < una) lost_.remove(lost_[0].left, una);
    }
    void clear() noexcept {
        sacked_.clear();
        lost_.clear();
    }

    [[nodiscard]] bool sacked(SeqNum s) const noexcept { return sacked_.contains(s); }
    [[nodiscard]] std::uint32_t sacked_bytes() const noexcept { return sacked_.bytes(); }
    [[nodiscard]] std::uint32_t lost_bytes() const noexcept { return lost_.bytes(); }
    [[nodiscard]] bool any_sacked() const noexcept { return !sacked_.empty(); }
    [[nodiscard]] const RangeSet<kMaxRanges>& sacked_ranges() const noexcept { return sacked_; }
    [[nodiscard]] const RangeSet<kMaxRanges>& lost_ranges() const noexcept { return lost_; }

    /// RFC 6675 §4 IsLost: a sequence number is lost when DupThresh discontiguous SACKed
    /// ranges lie above it, or more than (DupThresh - 1) * SMSS SACKed bytes. Since the SACKed
    /// data above falls as the number rises, every unSACKed number below the returned edge is
    /// lost and none above it: the edge is `una` when nothing is lost.
    [[nodiscard]] SeqNum is_lost_edge(SeqNum una, std::uint32_t smss, std::uint32_t dupthresh = 3) const noexcept {
        std::uint32_t bytes = 0;
        for (std::size_t i = sacked_.size(); i > 0; --i) {
            const SeqRange& r = sacked_[i - 1];
            bytes += r.len();
            const std::size_t ranges = sacked_.size() - (i - 1);
            if (ranges >= dupthresh || bytes > (dupthresh - 1) * smss) return r.left;
        }
        return una;
    }

    /// Marks the unSACKed data in [from, to) lost (to be retransmitted). Returns bytes marked.
    std::uint32_t mark_lost(SeqNum from, SeqNum to) noexcept {
        std::uint32_t marked = 0;
        SeqNum s = from;
        while (s < to) {
            // The next SACKed range at or beyond s bounds this hole.
            auto next = sacked_.first_from(s);
            if (next && next->left <= s) {
                s = next->right;
                continue;
            }
            const SeqNum end = next && next->left < to ? next->left : to;
            marked += lost_.add(s, end);
            s = end;
        }
        return marked;
    }
    /// [l, r) was retransmitted: in flight again, no longer waiting.
    void retransmitted(SeqNum l, SeqNum r) noexcept { (void)lost_.remove(l, r); }
    /// RFC 6675 NextSeg rule (1): the lowest lost range not yet retransmitted.
    [[nodiscard]] std::optional<SeqRange> first_lost() const noexcept {
        if (lost_.empty()) return std::nullopt;
        return lost_[0];
    }
    /// One past the highest SACKed sequence number held (RFC 6675's HighSACK + 1), or `una`.
    [[nodiscard]] SeqNum high_sacked(SeqNum una) const noexcept {
        return sacked_.empty() ? una : sacked_[sacked_.size() - 1].right;
    }

private:
    RangeSet<kMaxRanges> sacked_;
    RangeSet<kMaxRanges> lost_;
};

/// A sending connection's loss-recovery state: the scoreboard, RACK's send log and the
/// RFC 6675 / RFC 8985 variables. Too large for the control block (about 2 KiB), so a
/// connection borrows one from its Stack's SackPool while it has data in flight with SACK
/// negotiated, and gives it back when everything is acknowledged.
struct SenderSack {
    Scoreboard sb;
    Rack rack;
    SeqNum recovery_point;  ///< RFC 6675 RecoveryPoint (HighData at entry, or at the last RTO)
    SeqNum lost_marked_to;  ///< IsLost marking done up to here in this recovery
    SeqNum undo_lo, undo_hi;  ///< the window whose retransmissions an undo concerns
    SeqNum tlp_end;         ///< RFC 8985 TLP_end_seq
    SeqNum high_rxt;        ///< RFC 6675 HighRxt + 1: one past the highest octet resent in this recovery
    SeqNum rescue_rxt;      ///< RFC 6675 RescueRxt + 1 (valid while in_recovery)
    SeqNum rescue_end;      ///< one past the rescue retransmission, while rescue_bytes > 0
    std::uint32_t rule3_bytes = 0;   ///< NextSeg (3) resends below high_rxt, counted in pipe again
    std::uint32_t rescue_bytes = 0;  ///< the NextSeg (4) rescue, counted in pipe again
    std::uint32_t undo_cwnd = 0;     ///< the policy's cwnd before the reduction
    std::uint32_t undo_ssthresh = 0; ///< and its ssthresh
    std::uint32_t undo_retrans = 0;  ///< bytes retransmitted since the reduction
    std::uint32_t undo_dsacked = 0;  ///< of those, bytes the peer reported as duplicates
    std::uint8_t dupacks = 0;       ///< RFC 6675 DupAcks
    bool in_recovery = false;
    bool rp_valid = false;          ///< RecoveryPoint holds back a new recovery (§5.1)
    bool undo_armed = false;
    bool tlp_out = false;           ///< a probe is outstanding (one per episode)
    bool tlp_rexmit = false;        ///< the probe resent old data
    bool tlp_wait = false;          ///< SND.UNA reached TLP_end_seq: one more ACK may bring its D-SACK
    bool deadline_is_pto = false;   ///< the connection's loss deadline is the PTO (else the reorder timer)
    bool lingering = false;         ///< all acknowledged; kept one RTO for D-SACKs an undo awaits
    SenderSack* next_free = nullptr;
};

/// A fixed pool of SenderSack blocks, allocated once with the Stack. acquire() returns
/// nullptr when all are lent: that connection then recovers as without SACK (NewReno).
class SackPool {
public:
    explicit SackPool(std::size_t n) : blocks_(n) {
        for (std::size_t i = n; i > 0; --i) {
            blocks_[i - 1].next_free = free_;
            free_ = &blocks_[i - 1];
        }
    }
    SackPool(const SackPool&) = delete;
    SackPool& operator=(const SackPool&) = delete;

    [[nodiscard]] SenderSack* acquire() noexcept {
        SenderSack* s = free_;
        if (s == nullptr) return nullptr;
        free_ = s->next_free;
        // Default-initialised in place: the scalars start again, the scoreboard's ranges and
        // RACK's log (about 2 KiB of Slots) are not cleared; their counts are.
        std::destroy_at(s);
        ::new (static_cast<void*>(s)) SenderSack;
        ++in_use_;
        return s;
    }
    void release(SenderSack* s) noexcept {
        s->next_free = free_;
        free_ = s;
        --in_use_;
    }
    [[nodiscard]] std::size_t in_use() const noexcept { return in_use_; }
    [[nodiscard]] std::size_t capacity() const noexcept { return blocks_.size(); }

private:
    std::vector<SenderSack> blocks_;
    SenderSack* free_ = nullptr;
    std::size_t in_use_ = 0;
};

}  // namespace ustcp::tcp
