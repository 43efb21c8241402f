// Quiescent-state-based reclamation in portable C++ atomics: the same protocol and API as
// ustcp::dpdk::RcuQsbr (rte_rcu_qsbr), for builds and tests without DPDK. A Reclaimer
// (reclaim.hpp) for the flow table.
//
//   Qsbr q(4);                                   // up to 4 reader threads, ids 0..3
//   // reader thread `id`:
//   q.register_reader(id); q.online(id);
//   while (running) {
//       auto* c = table.find_concurrent(t);      // any pointers read here ...
//       print(*c);
//       q.quiescent(id);                         // ... are dropped before this
//   }
//   q.offline(id);                               // before blocking or exiting (also: sleeping)
//   // writer: t = q.start() after unlinking; q.check(t) later, never blocking
//
// Protocol (as rte_rcu_qsbr): a global token, a counter per reader, 0 = offline.
// start() increments the token; quiescent() copies the token into the reader's counter;
// check(t) is true when every online reader's counter is >= t. Readers never wait for
// the writer and the writer never waits for readers. A reader that stays online without
// reporting holds every later grace period open (the writer's pending list grows) but
// blocks nobody.
#pragma once

#include <atomic>
#include <cassert>
#include <cstdint>
#include <memory>
#include <thread>

namespace ustcp::engine {

class Qsbr {
public:
    explicit Qsbr(unsigned max_readers) : max_(max_readers), readers_(new Reader[max_readers == 0 ? 1 : max_readers]) {}
    Qsbr(const Qsbr&) = delete;
    Qsbr& operator=(const Qsbr&) = delete;

    [[nodiscard]] unsigned max_readers() const noexcept { return max_; }

    // --- reader threads; `id` < max_readers(), one thread per id ---

    /// Bookkeeping only here (rte_rcu_qsbr needs it); readers start offline.
    void register_reader(unsigned id) noexcept { assert(id < max_); (void)id; }
    void unregister_reader(unsigned id) noexcept { offline(id); }
    /// From now on the writer waits for this reader's reports. Call before reading.
    void online(unsigned id) noexcept {
        assert(id < max_);
        readers_[id].cnt.store(token_.load(std::memory_order_relaxed), std::memory_order_relaxed);
        // Store-load barrier: the writer must see us online before we read what it may free.
        std::atomic_thread_fence(std::memory_order_seq_cst);
    }
    /// This reader holds no pointer read before this call.
    void quiescent(unsigned id) noexcept {
        assert(id < max_);
        const std::uint64_t t = token_.load(std::memory_order_acquire);
        if (readers_[id].cnt.load(std::memory_order_relaxed) != t) readers_[id].cnt.store(t, std::memory_order_release);
    }
    /// The writer stops waiting for this reader (which must hold no pointers from here on).
    void offline(unsigned id) noexcept {
        assert(id < max_);
        readers_[id].cnt.store(0, std::memory_order_release);
    }

    // --- writer(s) ---

    /// Begins a grace period covering every removal made before the call.
    std::uint64_t start() noexcept { return token_.fetch_add(1, std::memory_order_seq_cst) + 1; }

    /// True when every online reader has reported since start() returned `t`. Never blocks.
    bool check(std::uint64_t t) noexcept {
        if (t <= acked_.load(std::memory_order_acquire)) return true;
        std::atomic_thread_fence(std::memory_order_seq_cst);  // pairs with online()'s fence
        for (unsigned i = 0; i < max_; ++i) {
            const std::uint64_t c = readers_[i].cnt.load(std::memory_order_acquire);
            if (c != 0 && c < t) return false;
        }
        // Racing writers may store an older value: that only makes a later check scan again.
        // Release: a writer that trusts acked_ inherits what this scan acquired.
        acked_.store(t, std::memory_order_release);
        return true;
    }

    /// Blocks until the grace period of `t` has ended: for tests and shutdown, never on an lcore.
    void wait(std::uint64_t t) noexcept {
        while (!check(t)) std::this_thread::yield();
    }

private:
    struct alignas(64) Reader {
        std::atomic<std::uint64_t> cnt{0};
    };

    alignas(64) std::atomic<std::uint64_t> token_{1};
    std::atomic<std::uint64_t> acked_{0};
    unsigned max_;
    std::unique_ptr<Reader[]> readers_;
};

}  // namespace ustcp::engine
