// A connection's receive side as buffers: in-order data not yet read, and the
// out-of-order queue (RFC 9293 §3.10.7.4 "seventh": segments beyond RCV.NXT "SHOULD
// be held for later processing"). Payload stays in the buffers it arrived in; an
// overlap is trimmed off the node's span, never copied, and a segment wholly
// covered by what is held is released as a duplicate.
//
//   RecvQueue q;
//   auto r = q.insert(store, node, rcv_nxt);   // node->seq, ->len set; the queue owns it now
//   rcv_nxt += r.advanced;                      // in-order bytes gained (holes filled included)
//   q.read(store, out);                         // copy out and release, or take() zero-copy
//
// Invariants: in-order nodes are contiguous and end at RCV.NXT; out-of-order nodes
// are sorted, non-empty, non-overlapping, and all start beyond RCV.NXT.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <span>

#include "ustcp/tcp/buffer.hpp"
#include "ustcp/wire/bytes.hpp"

namespace ustcp::tcp {

class RecvQueue {
public:
    /// What insert() did with a segment.
    struct Insert {
        std::uint32_t advanced = 0;  ///< RCV.NXT moves forward by this many bytes
        bool out_of_order = false;   ///< the segment (or what was new of it) lies beyond RCV.NXT
        bool filled_hole = false;    ///< in-order data joined queued out-of-order data
        bool duplicate = false;      ///< nothing new: every byte was already held or read
    };

    /// Adds `n` (n->seq and n->len describe its payload) given the next expected number
    /// `rcv_nxt`. Takes ownership of the node: kept, trimmed, or released to `store`.
    Insert insert(BufferStore& store, BufNode* n, SeqNum rcv_nxt) noexcept {
        Insert r;
        n->next = nullptr;
        if (n->seq < rcv_nxt) {  // the front was received already
            const std::uint32_t old = static_cast<std::uint32_t>(rcv_nxt - n->seq);
            if (old >= n->len) {
                store.release(n);
                r.duplicate = true;
                return r;
            }
            trim_front(n, old);
        }
        if (n->seq != rcv_nxt) {
            r.out_of_order = true;
            r.duplicate = !insert_ooo(store, n);
            return r;
        }
        append_in_order(n);
        r.advanced = n->len;
        SeqNum next = n->end();
        // Pull what the out-of-order queue now continues.
        while (ooo_ != nullptr && ooo_->seq <= next) {
            BufNode* h = ooo_;
            ooo_ = h->next;
            ooo_bytes_ -= h->len;
            h->next = nullptr;
            if (h->end() <= next) {
                store.release(h);  // covered by the new data
                continue;
            }
            trim_front(h, static_cast<std::uint32_t>(next - h->seq));
            append_in_order(h);
            r.advanced += h->len;
            r.filled_hole = true;
            next = h->end();
        }
        if (ooo_ == nullptr) ooo_tail_ = nullptr;
        return r;
    }

    /// In-order bytes waiting to be read.
    [[nodiscard]] std::uint32_t readable() const noexcept { return readable_; }
    /// Bytes held beyond RCV.NXT.
    [[nodiscard]] std::uint32_t ooo_bytes() const noexcept { return ooo_bytes_; }
    /// Everything held, for the receive window.
    [[nodiscard]] std::uint32_t held() const noexcept { return readable_ + ooo_bytes_; }
    [[nodiscard]] bool has_ooo() const noexcept { return ooo_ != nullptr; }
    /// The out-of-order queue, in sequence order (for SACK blocks and tests).
    [[nodiscard]] const BufNode* ooo_head() const noexcept { return ooo_; }
    /// The in-order queue, oldest first.
    [[nodiscard]] const BufNode* head() const noexcept { return head_; }

    /// Copies up to out.size() in-order bytes out, releasing buffers read to the end.
    std::size_t read(BufferStore& store, wire::MutBytes out) noexcept {
        std::size_t done = 0;
        while (head_ != nullptr && done < out.size()) {
            BufNode* h = head_;
            const std::uint32_t n = static_cast<std::uint32_t>(std::min<std::size_t>(h->len, out.size() - done));
            std::memcpy(out.data() + done, h->data, n);
            done += n;
            consume_head(store, n);
        }
        return done;
    }

    /// Copies up to out.size() in-order bytes starting `skip` bytes in, consuming nothing.
    std::size_t peek(std::size_t skip, wire::MutBytes out) const noexcept {
        std::size_t done = 0;
        for (const BufNode* h = head_; h != nullptr && done < out.size(); h = h->next) {
            if (skip >= h->len) {
                skip -= h->len;
                continue;
            }
            const std::size_t n = std::min<std::size_t>(h->len - skip, out.size() - done);
            std::memcpy(out.data() + done, h->data + skip, n);
            done += n;
            skip = 0;
        }
        return done;
    }

    /// Zero-copy read: moves whole in-order buffers to the caller, who owns (and frees)
    /// each handle from now on. Returns how many entries of `out` were filled.
    std::size_t take(BufferStore& store, std::span<BufRef> out) noexcept {
        std::size_t k = 0;
        while (head_ != nullptr && k < out.size()) {
            BufNode* h = head_;
            out[k++] = h->ref();
            readable_ -= h->len;
            head_ = h->next;
            h->handle = nullptr;  // the caller's now: collect() must not free it
            store.release(h);
        }
        if (head_ == nullptr) tail_ = nullptr;
        return k;
    }

    /// Drops the out-of-order queue only: a FIN accepted at RCV.NXT ended the stream before
    /// it, so nothing held beyond can ever be read (and none of it may start at or below
    /// RCV.NXT, which moved over the FIN).
    void drop_ooo(BufferStore& store) noexcept {
        store.release_chain(ooo_);
        ooo_ = ooo_tail_ = nullptr;
        ooo_bytes_ = 0;
    }

    /// drop_ooo() with the nodes free at once (memory pressure: nothing borrows received data).
    void prune_ooo(BufferStore& store) noexcept {
        store.recycle_chain(ooo_);
        ooo_ = ooo_tail_ = nullptr;
        ooo_bytes_ = 0;
    }

    /// Drops everything (abort, reset): every buffer goes back to `store`.
    void clear(BufferStore& store) noexcept {
        store.release_chain(head_);
        store.release_chain(ooo_);
        head_ = tail_ = ooo_ = ooo_tail_ = nullptr;
        readable_ = ooo_bytes_ = 0;
    }

private:
    static void trim_front(BufNode* n, std::uint32_t k) noexcept {
        n->data += k;
        n->len -= k;
        n->seq += k;
    }

    void append_in_order(BufNode* n) noexcept {
        n->next = nullptr;
        if (tail_ != nullptr) tail_->next = n;
        else head_ = n;
        tail_ = n;
        readable_ += n->len;
    }

    void consume_head(BufferStore& store, std::uint32_t n) noexcept {
        BufNode* h = head_;
        readable_ -= n;
        if (n < h->len) {
            trim_front(h, n);
            return;
        }
        head_ = h->next;
        if (head_ == nullptr) tail_ = nullptr;
        store.release(h);
    }

    /// Sorted insert with overlap trimming on both edges. False when `n` was a duplicate
    /// (no byte it holds is new; it may still have taken the place of nodes it covers).
    bool insert_ooo(BufferStore& store, BufNode* n) noexcept {
        // prev: the last node starting at or before n. The common case (the next segment
        // after the last one held) is found at the tail without a walk.
        BufNode* prev = nullptr;
        if (ooo_tail_ != nullptr && ooo_tail_->seq <= n->seq) {
            prev = ooo_tail_;
        } else {
            for (BufNode* p = ooo_; p != nullptr && p->seq <= n->seq; p = p->next) prev = p;
        }
        if (prev != nullptr) {
            if (prev->end() >= n->end()) {
                store.release(n);
                return false;
            }
            if (prev->end() > n->seq) trim_front(n, static_cast<std::uint32_t>(prev->end() - n->seq));
        }
        BufNode* next = prev != nullptr ? prev->next : ooo_;
        std::uint32_t replaced = 0;  // bytes of the nodes n replaces: held already, not new
        while (next != nullptr && next->seq < n->end()) {
            if (next->end() <= n->end()) {  // wholly covered by n: n replaces it
                BufNode* gone = next;
                next = next->next;
                ooo_bytes_ -= gone->len;
                replaced += gone->len;
                store.release(gone);
                continue;
            }
            n->len = static_cast<std::uint32_t>(next->seq - n->seq);  // keep what `next` lacks
            break;
        }
        if (n->len == 0) {  // the hole between prev and next was already closed
            store.release(n);
            return false;
        }
        n->next = next;
        if (prev != nullptr) prev->next = n;
        else ooo_ = n;
        if (next == nullptr) ooo_tail_ = n;
        ooo_bytes_ += n->len;
        return n->len > replaced;
    }

    BufNode* head_ = nullptr;
    BufNode* tail_ = nullptr;
    BufNode* ooo_ = nullptr;
    BufNode* ooo_tail_ = nullptr;
    std::uint32_t readable_ = 0;
    std::uint32_t ooo_bytes_ = 0;
};

}  // namespace ustcp::tcp
