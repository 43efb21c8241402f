// Per-lcore 4-tuple -> V* flow table (DESIGN "Flow table"): one writer, the worker lcore,
// which also does every data-path lookup; lock-free readers on other threads (console,
// telemetry, stats) that look up and iterate without stalling the worker.
//
//   Qsbr qsbr(kReaders);                                 // or dpdk::RcuQsbr, or NoReaders
//   FlowTable<Flow, Qsbr> flows({.capacity = cfg.max_connections, .seed = random64()}, qsbr);
//   // worker lcore:
//   Flow* f = flows.find(tuple);                          // demux (find_burst for a whole burst)
//   if (auto r = flows.insert(tuple, f); !r) ...          // kExists / kFull, nothing changed
//   flows.remove(tuple);                                  // f is no longer found ...
//   flows.reclaim([&](Flow* f) { pool.free(f); });        // ... and comes back here, once per loop,
//                                                         //     when no reader can still hold it
//   // reader thread, registered and online with qsbr:
//   if (const Flow* f = flows.find_concurrent(tuple)) show(*f);
//   flows.for_each_concurrent([&](const FourTuple& t, Flow* f) { show(t, *f); });
//   qsbr.quiescent(my_id);                                // drops every pointer read above
//
// Layout. Open addressing with linear probing over a power-of-two array of 32-byte slots
// {seq, key, value, hash}, at least twice the capacity (load factor <= 1/2: a hit probes
// 1.5 slots on average, a miss 2.5). Allocated once, from the heap (2 MiB aligned with
// MADV_HUGEPAGE from 2 MiB up) or from memory the caller provides (hugepages via
// lib/dpdk); nothing is allocated after construction. The
// hash is a keyed multiply-fold of the 96-bit tuple (FlowHash): pass a random seed so that
// peers cannot simply aim tuples at one cluster (a keyed mix, cheaper than a PRF such as
// SipHash but no proof against a determined attacker; longest_probe() shows a cluster).
// Removal uses backward-shift deletion (no tombstones, so probe lengths never decay under
// churn).
//
// Measured (bench/micro/bench_flow_table.cpp, 1 Mi flows, 4 KiB pages, median CPU time on
// the 2-core dev VM): lookup hit 27-41 ns vs rte_hash (RW_CONCURRENCY_LF) 232-250 ns, miss
// 56-67 vs 72-108 ns, 32-key burst 21-24 vs 30-38 ns a key, insert + remove + reclaim
// 223-246 vs 357-461 ns (263-381 ns for rte_hash's unchecked add). The key sits in the
// slot, so a hit costs one cache miss where rte_hash's cuckoo buckets cost two (bucket,
// then key store). DESIGN "Flow table" asked for whichever is faster: this one.
// dpdk::RteFlowTable (lib/dpdk flow_hash.hpp) keeps rte_hash behind the same interface.
//
// Concurrency.
// - Torn entries: each slot is a seqlock. The writer makes seq odd, writes key and value,
//   makes it even; a reader copies the slot and retries if seq was odd or changed. A
//   reader therefore sees (key, value) pairs that were in the table together.
// - Misses caused by moves: backward shifting moves entries towards their home slot, so
//   a reader could pass an entry's new slot before the move and its old one after. The
//   writer keeps a table-wide move counter, odd while a removal shifts entries; a reader
//   that misses re-probes if the counter changed during its probe (as rte_hash's
//   tbl_chng_cnt). Hits need no check. Inserts never move anything. (A reader retries
//   only after a shift completed, so the writer always progresses; a reader could in
//   principle be kept retrying by back-to-back shifting removals.)
// - Freed entries: the table never frees values. remove() unlinks the entry, starts a
//   grace period on the Reclaimer (reclaim.hpp) and queues the value; reclaim() hands back,
//   oldest first, the values whose grace period ended, i.e. that no reader can still hold.
//   The queue is a fixed ring: capacity bounds the values in the table plus those queued,
//   so remove() never fails and insert() reports kFull while readers hold grace periods
//   open. Values must be non-null and must not be reused or freed before reclaim() returns
//   them.
// - What readers may do with a V*: the table guarantees the object is alive until the
//   reader's next quiescent report, not that its fields are stable; the worker keeps
//   mutating its objects, so whatever readers read from them must be atomic (or otherwise
//   published by the engine).
//
// Threads. The "owner lcore" members are for the owner only; the "any thread" ones are
// relaxed reads, recent rather than exact elsewhere. find_concurrent() and
// for_each_concurrent() may run on any number of threads at once, alongside the owner;
// each such thread must be online with the table's Reclaimer and may keep the pointers it
// gets until it next reports a quiescent state. Readers never block the writer; the
// writer never waits for readers (a reader may retry while the slot it reads is being
// written, a few nanoseconds).
#pragma once

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <span>
#include <thread>
#include <type_traits>

#include "ustcp/base/addr.hpp"
#include "ustcp/base/result.hpp"
#include "ustcp/engine/reclaim.hpp"

namespace ustcp::engine {

struct FlowTableConfig {
    /// Most values in the table plus values removed and not yet handed back by reclaim().
    /// At most 2^30.
    std::size_t capacity = 16384;
    /// Key of the hash. The engine passes a random one; tests a fixed one.
    std::uint64_t seed = 0;
};

/// insert() errors. Nothing changes in the table on an error.
enum class FlowTableError : std::uint8_t {
    kExists,  ///< the tuple is already in the table (EEXIST)
    kFull,    ///< size() + pending() == capacity(); reclaim() may make room (ENOSPC)
};

/// Keyed 64-bit hash of a 4-tuple: two 64x64->128 multiply-folds (wyhash's "mum") of the
/// packed tuple with per-table keys. A few ns (a whole lookup in a 1 Ki-flow table takes 5);
/// every input bit reaches the low bits the table indexes with.
class FlowHash {
public:
    explicit FlowHash(std::uint64_t seed) noexcept
        : k0_(splitmix(seed)), k1_(splitmix(k0_)), k2_(splitmix(k1_) | 1) {}

    [[nodiscard]] std::uint64_t operator()(const FourTuple& t) const noexcept {
        return mum(mum(addrs_of(t) ^ k0_, ports_of(t) ^ k1_), k2_);
    }

    [[nodiscard]] static constexpr std::uint64_t addrs_of(const FourTuple& t) noexcept {
        return std::uint64_t{t.local_addr.value()} << 32 | t.remote_addr.value();
    }
    [[nodiscard]] static constexpr std::uint32_t ports_of(const FourTuple& t) noexcept {
        return std::uint32_t{t.local_port} << 16 | t.remote_port;
    }
    [[nodiscard]] static constexpr FourTuple tuple_of(std::uint64_t addrs, std::uint32_t ports) noexcept {
        return {Ipv4Addr(static_cast<std::uint32_t>(addrs >> 32)), Ipv4Addr(static_cast<std::uint32_t>(addrs)),
                static_cast<std::uint16_t>(ports >> 16), static_cast<std::uint16_t>(ports)};
    }

private:
    static std::uint64_t mum(std::uint64_t a, std::uint64_t b) noexcept {
        const unsigned __int128 m = static_cast<unsigned __int128>(a) * b;
        return static_cast<std::uint64_t>(m) ^ static_cast<std::uint64_t>(m >> 64);
    }
    static constexpr std::uint64_t splitmix(std::uint64_t x) noexcept {
        x += 0x9E3779B97F4A7C15ULL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
        return x ^ (x >> 31);
    }

    std::uint64_t k0_, k1_, k2_;
};

namespace detail {
/// A reader's back-off while the writer is mid-write: pause, then yield (readers are
/// ordinary threads; the writer may have been preempted inside its few stores).
inline void reader_relax(unsigned spins) noexcept {
    if (spins < 64) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    } else {
        std::this_thread::yield();
    }
}
}  // namespace detail

template <typename V, Reclaimer R>
class FlowTable {
    struct Slot;

public:
    using Error = FlowTableError;

    /// Slots for `capacity`: the power of two >= 2 * capacity (at least 16).
    [[nodiscard]] static constexpr std::size_t slots_for(std::size_t capacity) noexcept {
        return std::bit_ceil(std::max<std::size_t>(2 * capacity, 16));
    }
    /// Bytes of slot memory a table of `capacity` needs (for the caller-provided constructor).
    [[nodiscard]] static constexpr std::size_t memory_bytes(std::size_t capacity) noexcept {
        return slots_for(capacity) * sizeof(Slot);
    }
    static constexpr std::size_t kMemoryAlignment = 64;
    static constexpr std::size_t kHugePage = std::size_t{2} << 20;

    /// Allocates the slots (zeroed, so their pages are touched now, not on the data path)
    /// and the reclaim ring. `reclaimer` must outlive the table.
    FlowTable(const FlowTableConfig& cfg, R& reclaimer)
        : FlowTable(cfg, reclaimer, static_cast<void*>(nullptr)) {}

    /// As above, with the slots in `memory`: memory_bytes(cfg.capacity) bytes aligned to
    /// kMemoryAlignment, which the caller keeps alive (and frees) after the table.
    FlowTable(const FlowTableConfig& cfg, R& reclaimer, void* memory)
        : hash_(cfg.seed),
          reclaimer_(reclaimer),
          capacity_(cfg.capacity),
          mask_(slots_for(cfg.capacity) - 1),
          ring_(new Deferred[std::max<std::size_t>(cfg.capacity, 1)]) {
        assert(cfg.capacity <= (std::size_t{1} << 30));
        if (memory == nullptr) {
            // Tables of 2 MiB and more sit on 2 MiB boundaries and ask for transparent huge
            // pages: at 1 Mi flows (64 MiB) a lookup's page walk misses the cache as often
            // as its slot does with 4 KiB pages (bench/micro BM_FlowLookupHit, docs/profiles.md).
            const std::size_t bytes = memory_bytes(cfg.capacity);
            const std::size_t align = bytes >= kHugePage ? kHugePage : kMemoryAlignment;
            const std::size_t size = (bytes + align - 1) / align * align;
            memory = std::aligned_alloc(align, size);
            if (memory == nullptr) throw std::bad_alloc();
            owned_.reset(memory);
#ifdef MADV_HUGEPAGE
            if (align == kHugePage) (void)::madvise(memory, size, MADV_HUGEPAGE);  // a hint: 4 KiB pages if refused
#endif
        }
        assert(reinterpret_cast<std::uintptr_t>(memory) % kMemoryAlignment == 0);
        auto* p = static_cast<Slot*>(memory);
        for (std::size_t i = 0; i <= mask_; ++i) new (&p[i]) Slot;
        slots_ = std::launder(p);
    }

    FlowTable(const FlowTable&) = delete;
    FlowTable& operator=(const FlowTable&) = delete;
    /// Values still in the table or queued are forgotten (their owner's pool has them).
    /// No reader may be using the table any more.
    ~FlowTable() = default;

    // ------------------------------------------------------------------------------------
    // Owner lcore (the single writer)

    /// The value stored for `t`, or nullptr. Plain loads: the owner needs no seqlock.
    [[nodiscard]] V* find(const FourTuple& t) const noexcept { return find_from(t, home_of(t)); }

    /// find() for a burst: out[i] = find(keys[i]), with every home slot prefetched first so
    /// the cache misses of a large table overlap. `out` has at least keys.size() elements.
    void find_burst(std::span<const FourTuple> keys, V** out) const noexcept {
        constexpr std::size_t kChunk = 32;
        std::size_t home[kChunk];
        for (std::size_t base = 0; base < keys.size(); base += kChunk) {
            const std::size_t n = std::min(kChunk, keys.size() - base);
            for (std::size_t i = 0; i < n; ++i) {
                home[i] = home_of(keys[base + i]);
                __builtin_prefetch(&slots_[home[i]]);
            }
            for (std::size_t i = 0; i < n; ++i) out[base + i] = find_from(keys[base + i], home[i]);
        }
    }

    /// Adds t -> value (non-null). Errors: kExists if `t` is present, kFull if
    /// size() + pending() == capacity(). O(probe length), no allocation, never blocks.
    Result<void, Error> insert(const FourTuple& t, V* value) noexcept {
        assert(value != nullptr);
        const std::uint64_t h = hash_(t);
        const std::uint64_t addrs = FlowHash::addrs_of(t);
        const std::uint32_t ports = FlowHash::ports_of(t);
        std::size_t i = h & mask_;
        while (slots_[i].value.load(std::memory_order_relaxed) != nullptr) {
            if (matches(slots_[i], addrs, ports)) return Err(Error::kExists);
            i = (i + 1) & mask_;
        }
        if (size() + pending_ >= capacity_) return Err(Error::kFull);
        publish(slots_[i], addrs, ports, value, static_cast<std::uint32_t>(h));
        size_.store(size() + 1, std::memory_order_relaxed);
        return {};
    }

    /// Unlinks `t`: find() and readers that start after this no longer see it. Its value is
    /// queued and comes back from reclaim() once every reader has been quiescent. Returns
    /// false if `t` was not present. Never fails otherwise, never blocks.
    bool remove(const FourTuple& t) noexcept {
        const std::uint64_t addrs = FlowHash::addrs_of(t);
        const std::uint32_t ports = FlowHash::ports_of(t);
        std::size_t i = home_of(t);
        V* value;
        for (;;) {
            value = slots_[i].value.load(std::memory_order_relaxed);
            if (value == nullptr) return false;
            if (matches(slots_[i], addrs, ports)) break;
            i = (i + 1) & mask_;
        }

        // Backward shift: pull every later entry of the cluster whose home is at or before
        // the hole into it, so that no probe path ever crosses an empty slot.
        std::size_t hole = i;
        std::uint64_t moves = 0;
        bool shifting = false;
        for (std::size_t j = (i + 1) & mask_;; j = (j + 1) & mask_) {
            Slot& s = slots_[j];
            V* v = s.value.load(std::memory_order_relaxed);
            if (v == nullptr) break;
            const std::size_t home = s.hash & mask_;
            if (((j - home) & mask_) >= ((j - hole) & mask_)) {
                if (!shifting) {
                    shifting = true;
                    moves = moves_.load(std::memory_order_relaxed);
                    // Odd before the first slot write; publish()'s release fence orders it
                    // before the data a reader could see.
                    moves_.store(moves + 1, std::memory_order_relaxed);
                }
                publish(slots_[hole], s.addrs.load(std::memory_order_relaxed), s.ports.load(std::memory_order_relaxed),
                        v, s.hash);
                hole = j;
            }
        }
        publish(slots_[hole], 0, 0, nullptr, 0);
        if (shifting) moves_.store(moves + 2, std::memory_order_release);
        size_.store(size() - 1, std::memory_order_relaxed);

        // The removal is published by start() (release); the ring cannot be full because
        // size() + pending() <= capacity() held before this call.
        std::size_t tail = head_ + pending_;
        if (tail >= capacity_) tail -= capacity_;
        ring_[tail] = Deferred{value, reclaimer_.start()};
        ++pending_;
        return true;
    }

    /// Hands back, oldest first, each removed value whose grace period has ended:
    /// on_reclaimed(V*) once per value. Never blocks; returns how many. The callback may
    /// call insert() and remove().
    template <typename F>
    std::size_t reclaim(F&& on_reclaimed) {
        std::size_t n = 0;
        while (pending_ != 0) {
            Deferred& d = ring_[head_];
            if (d.token > acked_) {
                if (!reclaimer_.check(d.token)) break;
                acked_ = d.token;
            }
            V* v = d.value;
            d.value = nullptr;
            if (++head_ == capacity_) head_ = 0;
            --pending_;
            ++n;
            on_reclaimed(v);
        }
        return n;
    }

    /// Calls f(const FourTuple&, V*) for every entry. `f` must not insert or remove.
    template <typename F>
    void for_each(F&& f) const {
        for (std::size_t i = 0; i <= mask_; ++i) {
            const Slot& s = slots_[i];
            V* v = s.value.load(std::memory_order_relaxed);
            if (v != nullptr) {
                f(FlowHash::tuple_of(s.addrs.load(std::memory_order_relaxed), s.ports.load(std::memory_order_relaxed)),
                  v);
            }
        }
    }

    /// Removed values not yet handed back by reclaim() (a reader holding grace periods
    /// open shows here).
    [[nodiscard]] std::size_t pending() const noexcept { return pending_; }
    /// The longest probe sequence in the table, in slots (1 = every entry at home). O(slots).
    [[nodiscard]] std::size_t longest_probe() const noexcept {
        std::size_t worst = 0;
        for (std::size_t i = 0; i <= mask_; ++i) {
            if (slots_[i].value.load(std::memory_order_relaxed) != nullptr) {
                worst = std::max(worst, ((i - (slots_[i].hash & mask_)) & mask_) + 1);
            }
        }
        return worst;
    }

    // ------------------------------------------------------------------------------------
    // Any thread

    /// Entries in the table (exact on the owner, a recent value elsewhere).
    [[nodiscard]] std::size_t size() const noexcept { return size_.load(std::memory_order_relaxed); }
    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
    [[nodiscard]] std::size_t slot_count() const noexcept { return mask_ + 1; }
    [[nodiscard]] const FlowHash& hasher() const noexcept { return hash_; }

    // ------------------------------------------------------------------------------------
    // Readers: any thread online with the Reclaimer; results valid until its next
    // quiescent report.

    /// The value stored for `t` at some instant during the call, or nullptr if `t` was
    /// absent at some instant during it (linearizable). Retries on a miss that overlapped
    /// a removal's shift.
    [[nodiscard]] V* find_concurrent(const FourTuple& t) const noexcept {
        const std::uint64_t addrs = FlowHash::addrs_of(t);
        const std::uint32_t ports = FlowHash::ports_of(t);
        const std::size_t home = home_of(t);
        for (unsigned tries = 0;; ++tries) {
            const std::uint64_t m1 = moves_.load(std::memory_order_acquire);
            std::size_t i = home;
            for (std::size_t n = 0; n <= mask_; ++n) {
                const Snapshot s = read(slots_[i]);
                if (s.value == nullptr) break;
                if (s.addrs == addrs && s.ports == ports) return s.value;
                i = (i + 1) & mask_;
            }
            std::atomic_thread_fence(std::memory_order_acquire);
            const std::uint64_t m2 = moves_.load(std::memory_order_relaxed);
            if (m1 == m2 && (m1 & 1) == 0) return nullptr;
            detail::reader_relax(tries);
        }
    }

    /// Calls f(const FourTuple&, V*) for the entries, from a scan that runs alongside the
    /// writer. Every entry present for the whole call is reported at least once, with a
    /// consistent key and value; entries inserted or removed meanwhile may or may not be.
    /// An entry that a concurrent removal shifted may be reported twice: returns true when
    /// no entry moved during the scan, so each was reported at most once.
    ///
    /// Why nothing is missed: shifts move an entry only backwards (cyclically), never past
    /// its home, and never across a slot that was empty when the entry was already in
    /// place. The scan starts at a slot it saw empty and walks backwards from it, so a
    /// moving entry can only go from the part not yet scanned to the part already scanned
    /// the other way round (reported twice), never skip over the scan position unseen.
    template <typename F>
    bool for_each_concurrent(F&& f) const {
        const std::uint64_t m1 = moves_.load(std::memory_order_acquire);
        std::size_t empty = 0;
        while (slots_[empty].value.load(std::memory_order_acquire) != nullptr) empty = (empty + 1) & mask_;
        for (std::size_t k = 1; k <= mask_; ++k) {
            const Snapshot s = read(slots_[(empty - k) & mask_]);
            if (s.value != nullptr) f(FlowHash::tuple_of(s.addrs, s.ports), s.value);
        }
        std::atomic_thread_fence(std::memory_order_acquire);
        const std::uint64_t m2 = moves_.load(std::memory_order_relaxed);
        return m1 == m2 && (m1 & 1) == 0;
    }

private:
    struct alignas(32) Slot {
        std::atomic<std::uint32_t> seq{0};    // seqlock: odd while the writer changes the slot
        std::atomic<std::uint32_t> ports{0};  // local_port << 16 | remote_port
        std::atomic<std::uint64_t> addrs{0};  // local << 32 | remote
        std::atomic<V*> value{nullptr};       // nullptr: empty
        std::uint32_t hash = 0;               // writer only: home slot = hash & mask
    };
    static_assert(sizeof(Slot) == 32);
    static_assert(std::is_trivially_destructible_v<Slot>);

    struct Snapshot {
        std::uint64_t addrs;
        std::uint32_t ports;
        V* value;
    };
    struct Deferred {
        V* value = nullptr;
        std::uint64_t token = 0;
    };

    [[nodiscard]] std::size_t home_of(const FourTuple& t) const noexcept { return hash_(t) & mask_; }

    static bool matches(const Slot& s, std::uint64_t addrs, std::uint32_t ports) noexcept {
        return s.addrs.load(std::memory_order_relaxed) == addrs && s.ports.load(std::memory_order_relaxed) == ports;
    }

    V* find_from(const FourTuple& t, std::size_t i) const noexcept {
        const std::uint64_t addrs = FlowHash::addrs_of(t);
        const std::uint32_t ports = FlowHash::ports_of(t);
        for (;;) {
            const Slot& s = slots_[i];
            V* v = s.value.load(std::memory_order_relaxed);
            if (v == nullptr) return nullptr;
            if (matches(s, addrs, ports)) return v;
            i = (i + 1) & mask_;
        }
    }

    /// Writer: replaces the slot's contents under its seqlock.
    static void publish(Slot& s, std::uint64_t addrs, std::uint32_t ports, V* v, std::uint32_t hash) noexcept {
        const std::uint32_t q = s.seq.load(std::memory_order_relaxed);
        s.seq.store(q + 1, std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_release);
        s.addrs.store(addrs, std::memory_order_relaxed);
        s.ports.store(ports, std::memory_order_relaxed);
        s.value.store(v, std::memory_order_release);  // also publishes the object behind v
        s.hash = hash;
        s.seq.store(q + 2, std::memory_order_release);
    }

    /// Reader: a copy of the slot as it was at one instant.
    static Snapshot read(const Slot& s) noexcept {
        for (unsigned spins = 0;; ++spins) {
            const std::uint32_t q = s.seq.load(std::memory_order_acquire);
            if ((q & 1) == 0) {
                const Snapshot r{s.addrs.load(std::memory_order_relaxed), s.ports.load(std::memory_order_relaxed),
                                 s.value.load(std::memory_order_acquire)};
                std::atomic_thread_fence(std::memory_order_acquire);
                if (s.seq.load(std::memory_order_relaxed) == q) return r;
            }
            detail::reader_relax(spins);
        }
    }

    FlowHash hash_;
    R& reclaimer_;
    std::size_t capacity_;
    std::size_t mask_;
    Slot* slots_ = nullptr;
    struct Free {
        void operator()(void* p) const noexcept { std::free(p); }
    };
    std::unique_ptr<void, Free> owned_;  // the slots when the table allocated them (Slot is trivially destructible)
    alignas(64) std::atomic<std::uint64_t> moves_{0};  // odd while a removal shifts entries; readers poll it
    alignas(64) std::atomic<std::size_t> size_{0};     // not on moves_'s line: the writer stores it every change
    std::unique_ptr<Deferred[]> ring_;  // removed values, oldest at head_
    std::size_t head_ = 0;
    std::size_t pending_ = 0;
    std::uint64_t acked_ = 0;  // tokens <= this are known to have ended
};

}  // namespace ustcp::engine
