// A connection's send side as buffers: everything from SND.UNA on, acknowledged
// bytes dropped from the front, new writes appended at the back. Segments are cut
// at any byte offset without copying: a segment's payload is (first node, offset,
// length) and may run across several nodes. Bytes once queued are never modified
// (fill_tail() only appends to the tail's spare room), so a segment that borrows
// them stays valid after a later ACK until the store's collect(); the acknowledged
// part of the head node is tracked as an offset.
//
//   SendQueue q;
//   q.append(node);                       // node->len set; the queue owns it now
//   auto [n, off] = q.locate(k);          // byte k after SND.UNA
//   q.acked(store, bytes);                // SND.UNA moved: release what is done
#pragma once

#include <cstdint>
#include <cstring>
#include <utility>

#include "ustcp/tcp/buffer.hpp"

namespace ustcp::tcp {

class SendQueue {
public:
    /// A byte position inside the queue: node and offset into its span.
    struct Pos {
        const BufNode* node = nullptr;
        std::uint32_t off = 0;
    };

    /// Bytes queued from SND.UNA on (sent and unsent).
    [[nodiscard]] std::uint32_t size() const noexcept { return bytes_; }
    [[nodiscard]] bool empty() const noexcept { return bytes_ == 0; }
    [[nodiscard]] std::size_t nodes() const noexcept { return nodes_; }

    /// Queues `n` at the back. Its `seq` field is set to the queue's running offset.
    void append(BufNode* n) noexcept {
        n->next = nullptr;
        n->seq = SeqNum(end_off_);
        end_off_ += n->len;
        if (tail_ != nullptr) tail_->next = n;
        else head_ = n;
        tail_ = n;
        bytes_ += n->len;
        ++nodes_;
    }

    /// Byte `k` (0 = SND.UNA), k < size(). Walks forward from the last position found when
    /// that lies before k (segments are cut in increasing order), else from the head.
    [[nodiscard]] Pos locate(std::uint32_t k) noexcept {
        const SeqNum want = head_->seq + (head_off_ + k);  // in the queue's running offsets
        const BufNode* n = (cursor_ != nullptr && cursor_->seq <= want) ? cursor_ : head_;
        while (n->end() <= want) n = n->next;
        cursor_ = n;
        return Pos{n, static_cast<std::uint32_t>(want - n->seq)};
    }

    /// SND.UNA moved forward by `n` bytes (n <= size()): releases nodes wholly acknowledged.
    void acked(BufferStore& store, std::uint32_t n) noexcept {
        bytes_ -= n;
        while (n > 0) {
            const std::uint32_t left = head_->len - head_off_;
            if (n < left) {
                head_off_ += n;
                return;
            }
            n -= left;
            BufNode* h = head_;
            head_ = h->next;
            head_off_ = 0;
            --nodes_;
            if (cursor_ == h) cursor_ = nullptr;
            store.release(h);
        }
        if (head_ == nullptr) tail_ = nullptr;
    }

    /// Drops everything (abort, failure).
    void clear(BufferStore& store) noexcept {
        store.release_chain(head_);
        head_ = tail_ = nullptr;
        cursor_ = nullptr;
        head_off_ = 0;
        bytes_ = 0;
        nodes_ = 0;
    }

    /// Appends up to `n` bytes of `src` into the tail node's spare room (a buffer lib/tcp
    /// allocated for a copying send: BufNode::room), so small writes share one buffer. A
    /// segment that borrowed the tail's earlier bytes is unaffected. Returns bytes taken.
    std::uint32_t fill_tail(const std::uint8_t* src, std::uint32_t n) noexcept {
        if (tail_ == nullptr || tail_->room == 0 || n == 0) return 0;
        const std::uint32_t k = n < tail_->room ? n : tail_->room;
        // The node's bytes are the connection's own buffer (MutBuf from BufferOps::alloc).
        std::memcpy(const_cast<std::uint8_t*>(tail_->data) + tail_->len, src, k);
        tail_->len += k;
        tail_->room -= k;
        end_off_ += k;
        bytes_ += k;
        return k;
    }

    [[nodiscard]] const BufNode* head() const noexcept { return head_; }

private:
    BufNode* head_ = nullptr;
    BufNode* tail_ = nullptr;
    const BufNode* cursor_ = nullptr;
    std::uint32_t head_off_ = 0;  // acknowledged bytes at the front of head_
    std::uint32_t end_off_ = 0;   // running offset of the next appended byte (wraps like SeqNum)
    std::uint32_t bytes_ = 0;
    std::size_t nodes_ = 0;
};

/// Calls f(const BufNode& node, std::uint32_t off, std::uint32_t n) for each piece of `len`
/// bytes starting at `pos`: node.data[off, off + n). For a device that attaches the buffers
/// themselves (node.handle: an mbuf clone per piece).
template <class F>
void for_each_piece_node(SendQueue::Pos pos, std::uint32_t len, F&& f) {
    const BufNode* n = pos.node;
    std::uint32_t off = pos.off;
    while (len > 0 && n != nullptr) {
        const std::uint32_t k = n->len - off < len ? n->len - off : len;
        f(*n, off, k);
        len -= k;
        off = 0;
        n = n->next;
    }
}

/// Calls f(const std::uint8_t*, std::uint32_t) for each piece of `len` bytes starting at
/// `pos`: the zero-copy gather list of one segment's payload.
template <class F>
void for_each_piece(SendQueue::Pos pos, std::uint32_t len, F&& f) {
    const BufNode* n = pos.node;
    std::uint32_t off = pos.off;
    while (len > 0 && n != nullptr) {
        const std::uint32_t k = n->len - off < len ? n->len - off : len;
        f(n->data + off, k);
        len -= k;
        off = 0;
        n = n->next;
    }
}

}  // namespace ustcp::tcp
