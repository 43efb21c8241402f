// Payload buffers in lib/tcp, without copies and without knowing what a buffer is.
//
// lib/tcp never sees an rte_mbuf. A payload arrives as a BufRef: an opaque handle to
// whatever owns the bytes (an rte_mbuf* in the engine, a HeapBuffers block in tests
// and tools) plus the span of TCP payload inside it. A connection that keeps the
// payload takes a BufNode from the engine's BufferStore, queues the node, and trims
// the span in place; it never copies payload and never frees a buffer itself. A
// buffer it is done with (acknowledged, read by the application, a duplicate) goes
// back to the store, which frees handles in bulk through BufferOps when the engine
// calls collect() after transmitting the burst's segments, so that outgoing segments
// may borrow queued buffers until then. Nothing here is called per segment through a
// function pointer: handles are freed in batches of up to kFreeBatch.
//
//   HeapBuffers heap(4096, 2048);            // tests: a fixed pool of heap blocks
//   BufferStore store(heap.ops(), 65536);    // per engine: nodes, deferred release
//   BufNode* n = store.take(ref);            // nullptr when nodes run out (counted)
//   store.release(n);                        // done with it: freed at collect()
//   store.collect();                         // after the burst's segments went out
//
// Nodes are allocated once, by the constructor; take/release/collect never allocate.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "ustcp/base/seqnum.hpp"

namespace ustcp::tcp {

/// A payload buffer handed to lib/tcp or back: `handle` names the owner of the bytes
/// (null for "no buffer"), [data, data + len) is the payload inside it.
struct BufRef {
    void* handle = nullptr;
    const std::uint8_t* data = nullptr;
    std::uint32_t len = 0;
    [[nodiscard]] bool empty() const noexcept { return len == 0; }
};

/// A fresh, writable buffer from BufferOps::alloc: room for `cap` bytes at `data`.
struct MutBuf {
    void* handle = nullptr;
    std::uint8_t* data = nullptr;
    std::uint32_t cap = 0;
};

/// How the owner of the buffers makes and frees them. `alloc` serves the copying
/// convenience calls (Connection::send(Bytes), on_segment(Bytes)); the zero-copy path
/// never allocates. `free_bulk` releases handles lib/tcp is done with.
struct BufferOps {
    void* self = nullptr;
    /// A buffer with room for at least 1 byte (`want` is a hint: the whole block, say an
    /// mbuf's tailroom, may be offered); handle null when none is left.
    MutBuf (*alloc)(void* self, std::uint32_t want) noexcept = nullptr;
    void (*free_bulk)(void* self, void* const* handles, std::uint32_t n) noexcept = nullptr;
};

/// One queued payload piece. lib/tcp links nodes into its send and receive queues.
struct BufNode {
    BufNode* next = nullptr;       ///< the queue this node is in
    BufNode* free_next = nullptr;  ///< the store's release list (kept apart from `next`, see collect())
    void* handle = nullptr;
    const std::uint8_t* data = nullptr;
    std::uint32_t len = 0;
    /// Writable bytes after data + len: nonzero only in a send buffer lib/tcp allocated
    /// itself for a copying send(), which later small writes may fill (never a user's buffer).
    std::uint32_t room = 0;
    SeqNum seq;                    ///< sequence number of data[0]
    [[nodiscard]] SeqNum end() const noexcept { return seq + len; }
    [[nodiscard]] BufRef ref() const noexcept { return {handle, data, len}; }
};

/// Counters of one BufferStore.
struct BufferStoreStats {
    std::uint64_t taken = 0;
    std::uint64_t released = 0;
    std::uint64_t exhausted = 0;   ///< take() found no free node: the payload was dropped
    std::uint64_t alloc_failed = 0;  ///< BufferOps::alloc returned no buffer
};

/// Per-engine node slab and deferred release of buffers. Single-threaded (one per lcore).
class BufferStore {
public:
    static constexpr std::uint32_t kFreeBatch = 64;

    BufferStore(BufferOps ops, std::size_t nodes) : ops_(ops), slab_(nodes) {
        for (std::size_t i = nodes; i-- > 0;) {
            slab_[i].next = free_;
            free_ = &slab_[i];
        }
        free_count_ = nodes;
    }
    BufferStore(const BufferStore&) = delete;
    BufferStore& operator=(const BufferStore&) = delete;
    ~BufferStore() { collect(); }

    /// A node holding `b` (its seq left for the caller), or nullptr when the slab is empty:
    /// then `b` is still the caller's (drop_handle() it), and `exhausted` counts it.
    [[nodiscard]] BufNode* take(BufRef b) noexcept {
        BufNode* n = free_;
        if (n == nullptr) {
            ++stats_.exhausted;
            return nullptr;
        }
        free_ = n->next;
        --free_count_;
        n->next = nullptr;
        n->free_next = nullptr;
        n->handle = b.handle;
        n->data = b.data;
        n->len = b.len;
        n->room = 0;
        ++stats_.taken;
        return n;
    }

    /// The caller is done with `n` and its buffer. Both stay valid (an outgoing segment may
    /// still borrow them) until collect().
    void release(BufNode* n) noexcept {
        n->free_next = released_;
        released_ = n;
        ++stats_.released;
    }

    /// Releases a chain linked through `next`, e.g. a whole queue.
    void release_chain(BufNode* n) noexcept {
        while (n != nullptr) {
            BufNode* next = n->next;
            release(n);
            n = next;
        }
    }

    /// Like release_chain(), for nodes no outgoing segment can borrow (received data never
    /// read): the nodes are free again at once, their buffers go in the next batch.
    void recycle_chain(BufNode* n) noexcept {
        while (n != nullptr) {
            BufNode* next = n->next;
            drop_handle(n->handle);
            n->handle = nullptr;
            n->next = free_;
            free_ = n;
            ++free_count_;
            ++stats_.released;
            n = next;
        }
    }

    /// Frees a buffer that was never queued (a dropped or duplicate segment's payload).
    void drop_handle(void* h) noexcept {
        if (h == nullptr) return;
        pending_[npending_++] = h;
        if (npending_ == kFreeBatch) flush_handles();
    }

    /// Frees every released buffer (in bulk) and returns its node to the slab. Call once
    /// the segments that borrowed them are transmitted (the engine: after each burst).
    void collect() noexcept {
        while (released_ != nullptr) {
            BufNode* n = released_;
            released_ = n->free_next;
            drop_handle(n->handle);
            n->handle = nullptr;
            n->data = nullptr;
            n->len = 0;
            n->next = free_;
            free_ = n;
            ++free_count_;
        }
        flush_handles();
    }

    /// A buffer from the owner for a copying call; handle null when none is left.
    [[nodiscard]] MutBuf alloc(std::uint32_t want) noexcept {
        MutBuf m = ops_.alloc != nullptr ? ops_.alloc(ops_.self, want) : MutBuf{};
        if (m.handle == nullptr) ++stats_.alloc_failed;
        return m;
    }

    [[nodiscard]] std::size_t nodes_free() const noexcept { return free_count_; }
    [[nodiscard]] std::size_t nodes_total() const noexcept { return slab_.size(); }
    [[nodiscard]] std::size_t nodes_in_use() const noexcept { return slab_.size() - free_count_; }
    [[nodiscard]] const BufferStoreStats& stats() const noexcept { return stats_; }
    [[nodiscard]] const BufferOps& ops() const noexcept { return ops_; }

private:
    void flush_handles() noexcept {
        if (npending_ > 0 && ops_.free_bulk != nullptr) ops_.free_bulk(ops_.self, pending_, npending_);
        npending_ = 0;
    }

    BufferOps ops_;
    std::vector<BufNode> slab_;
    BufNode* free_ = nullptr;
    std::size_t free_count_ = 0;
    BufNode* released_ = nullptr;
    void* pending_[kFreeBatch] = {};
    std::uint32_t npending_ = 0;
    BufferStoreStats stats_;
};

/// The heap-backed twin of the engine's mbuf pool, for tests, tools and fuzzers: `count`
/// blocks of `block_size` bytes, allocated once; alloc/free never touch the heap after
/// construction. in_use() tells whether every buffer came back.
class HeapBuffers {
public:
    HeapBuffers(std::size_t count, std::uint32_t block_size)
        : block_size_(block_size), storage_(std::make_unique_for_overwrite<std::uint8_t[]>(count * block_size)), free_(count) {
        for (std::size_t i = 0; i < count; ++i) free_[i] = storage_.get() + (count - 1 - i) * block_size;
        total_ = count;
    }
    HeapBuffers(const HeapBuffers&) = delete;
    HeapBuffers& operator=(const HeapBuffers&) = delete;

    [[nodiscard]] BufferOps ops() noexcept { return BufferOps{this, &alloc_thunk, &free_thunk}; }

    /// A block holding a copy of `bytes` (at most block_size of them), as a BufRef; handle
    /// null when the pool is empty.
    [[nodiscard]] BufRef copy(const std::uint8_t* bytes, std::uint32_t n) noexcept {
        MutBuf m = alloc(n);
        if (m.handle == nullptr) return {};
        if (m.cap < n) n = m.cap;
        if (n > 0) std::memcpy(m.data, bytes, n);
        return BufRef{m.handle, m.data, n};
    }
    [[nodiscard]] MutBuf alloc(std::uint32_t want) noexcept {
        if (free_.empty()) return {};
        std::uint8_t* b = free_.back();
        free_.pop_back();  // never reallocates: capacity is `count` from the constructor
        (void)want;  // a whole block, like an mbuf's tailroom
        return MutBuf{b, b, block_size_};
    }
    void free(void* h) noexcept { free_.push_back(static_cast<std::uint8_t*>(h)); }

    [[nodiscard]] std::size_t in_use() const noexcept { return total_ - free_.size(); }
    [[nodiscard]] std::size_t total() const noexcept { return total_; }
    [[nodiscard]] std::uint32_t block_size() const noexcept { return block_size_; }

private:
    static MutBuf alloc_thunk(void* self, std::uint32_t want) noexcept {
        return static_cast<HeapBuffers*>(self)->alloc(want);
    }
    static void free_thunk(void* self, void* const* h, std::uint32_t n) noexcept {
        auto* hb = static_cast<HeapBuffers*>(self);
        for (std::uint32_t i = 0; i < n; ++i) hb->free(h[i]);
    }

    std::uint32_t block_size_;
    std::unique_ptr<std::uint8_t[]> storage_;
    std::vector<std::uint8_t*> free_;
    std::size_t total_ = 0;
};

}  // namespace ustcp::tcp
