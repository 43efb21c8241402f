// A writer churning a million flows through a flow table while reader threads look up
// and iterate it, checking that no reader ever sees a torn entry (key and value from
// different insertions), a freed object (poisoned when the writer gets it back from
// reclaim(), then reused for another key), or misses a flow that is in the table the
// whole time. Shared by tests/engine (engine::Qsbr) and tests/dpdk (dpdk::RcuQsbr).
//
//   StressResult r = run_flow_table_stress(table, qsbr, StressConfig{...});
//
// `Q` has online/offline/quiescent(id) and register_reader/unregister_reader(id);
// `Table` is an engine::FlowTable<StressObj, ...> whose capacity is cfg.capacity.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstdint>
#include <random>
#include <thread>
#include <vector>

#include "ustcp/base/addr.hpp"

namespace ustcp::test {

/// A flow object: its key and a checksum of it, written before insertion and poisoned
/// once reclaim() hands it back. Atomic fields so that a broken reclamation shows as a
/// wrong value, not as undefined behaviour.
struct StressObj {
    static constexpr std::uint32_t kLive = 0x11feu;
    static constexpr std::uint32_t kDead = 0xdeadu;
    std::atomic<std::uint64_t> addrs{0};
    std::atomic<std::uint32_t> ports{0};
    std::atomic<std::uint64_t> check{0};
    std::atomic<std::uint32_t> state{kDead};
};

inline std::uint64_t stress_check(std::uint64_t addrs, std::uint32_t ports) {
    std::uint64_t x = addrs * 0x9E3779B97F4A7C15ULL ^ (std::uint64_t{ports} + 0x7F4A7C159E3779B9ULL);
    return x ^ (x >> 29);
}
inline std::uint64_t addrs_of(const FourTuple& t) {
    return std::uint64_t{t.local_addr.value()} << 32 | t.remote_addr.value();
}
inline std::uint32_t ports_of(const FourTuple& t) { return std::uint32_t{t.local_port} << 16 | t.remote_port; }

/// Churned flow i (to port 80) and stable flow i (to port 443, never removed).
inline FourTuple churn_key(std::uint64_t i) {
    return {Ipv4Addr(10, 0, 0, 1), Ipv4Addr(static_cast<std::uint32_t>(0x0b000000u + (i >> 14))), 80,
            static_cast<std::uint16_t>(1024 + (i & 0x3fff))};
}
inline FourTuple stable_key(std::uint64_t i) {
    return {Ipv4Addr(10, 0, 0, 1), Ipv4Addr(static_cast<std::uint32_t>(0x0c000000u + i)), 443, 5555};
}

struct StressConfig {
    std::size_t capacity = 1u << 16;
    std::size_t live = 50'000;         ///< churned flows in the table at once (load ~0.41: long clusters)
    std::size_t stable = 4000;         ///< flows inserted once the table is loaded, never removed
    std::uint64_t insertions = 1'000'000;
    unsigned readers = 2;
    unsigned iterate_every = 4096;     ///< lookups between a reader's full scans
};

struct StressResult {
    std::uint64_t lookups = 0, hits = 0, scans = 0, scanned_entries = 0, exact_scans = 0;
    std::uint64_t torn = 0;            ///< a value whose key is not the one looked up / reported
    std::uint64_t freed = 0;           ///< a poisoned object reached a reader
    std::uint64_t stable_missed = 0;   ///< a stable flow not found, or not reported by a scan
    std::uint64_t false_misses = 0;    ///< a churned flow in the table for the whole lookup not found
    std::uint64_t phantoms = 0;        ///< a churned flow found though absent for the whole lookup
    std::uint64_t writer_full = 0;     ///< inserts refused because readers held grace periods open
    std::uint64_t reclaimed = 0;
    std::uint64_t in_table_at_end = 0, pending_at_end = 0;
    std::chrono::nanoseconds writer_max_op{0};
    std::array<std::uint64_t, 64> writer_log2_ns{};  ///< writer ops by bit_width(ns), clock reads included

    /// The upper bound (ns, a power of two) under which fraction `q` of the writer's ops fell.
    [[nodiscard]] std::uint64_t writer_quantile_ns(double q) const {
        std::uint64_t total = 0, acc = 0;
        for (auto n : writer_log2_ns) total += n;
        for (std::size_t b = 0; b < writer_log2_ns.size(); ++b) {
            acc += writer_log2_ns[b];
            if (static_cast<double>(acc) >= q * static_cast<double>(total)) return std::uint64_t{1} << b;
        }
        return ~0ull;
    }
    std::chrono::nanoseconds writer_total{0};
    std::uint64_t writer_ops = 0;
};

template <typename Table, typename Q>
StressResult run_flow_table_stress(Table& table, Q& qsbr, const StressConfig& cfg) {
    using Clock = std::chrono::steady_clock;
    StressResult res;
    std::vector<StressObj> pool(cfg.capacity);
    std::vector<StressObj*> free_list;
    for (auto& o : pool) free_list.push_back(&o);

    auto give = [&](const FourTuple& t) -> StressObj* {
        StressObj* o = free_list.back();
        free_list.pop_back();
        o->addrs.store(addrs_of(t), std::memory_order_relaxed);
        o->ports.store(ports_of(t), std::memory_order_relaxed);
        o->check.store(stress_check(addrs_of(t), ports_of(t)), std::memory_order_relaxed);
        o->state.store(StressObj::kLive, std::memory_order_relaxed);
        return o;
    };
    auto take_back = [&](StressObj* o) {
        o->state.store(StressObj::kDead, std::memory_order_relaxed);
        o->addrs.store(~0ull, std::memory_order_relaxed);
        o->ports.store(~0u, std::memory_order_relaxed);
        o->check.store(0, std::memory_order_relaxed);
        free_list.push_back(o);
        ++res.reclaimed;
    };
    // Step s inserts churn_key(s) and removes churn_key(s - live), then publishes
    // progress = s + 1. A reader that reads p1 = progress, looks up churn_key(i), then
    // reads p2 = progress knows: i < p1 and i + live > p2 -> present for the whole lookup
    // (must hit); i > p2 or i + live + 1 <= p1 -> absent for the whole lookup (must miss).
    // Churned flows land displaced in a loaded table and are shifted by the removals ahead
    // of them, so these catch lookups that lose an entry to a move.
    std::atomic<std::uint64_t> progress{0};
    std::atomic<bool> stable_in{false};  // the stable flows go in once the table is loaded, displaced
    std::atomic<bool> done{false};
    std::atomic<std::uint64_t> lookups{0}, hits{0}, scans{0}, scanned{0}, exact{0}, torn{0}, freed{0}, missed{0};
    std::atomic<std::uint64_t> false_misses{0}, phantoms{0};

    auto valid = [](const StressObj* o, const FourTuple& t, std::atomic<std::uint64_t>& torn_ctr,
                    std::atomic<std::uint64_t>& freed_ctr) {
        if (o->state.load(std::memory_order_relaxed) != StressObj::kLive) {
            freed_ctr.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        const std::uint64_t a = o->addrs.load(std::memory_order_relaxed);
        const std::uint32_t p = o->ports.load(std::memory_order_relaxed);
        if (a != addrs_of(t) || p != ports_of(t) || o->check.load(std::memory_order_relaxed) != stress_check(a, p)) {
            torn_ctr.fetch_add(1, std::memory_order_relaxed);
        }
    };

    std::vector<std::thread> readers;
    for (unsigned id = 0; id < cfg.readers; ++id) {
        readers.emplace_back([&, id] {
            qsbr.register_reader(id);
            qsbr.online(id);
            std::mt19937_64 rng(id * 7919 + 1);
            std::uint64_t n = 0, h = 0;
            std::vector<std::uint8_t> seen(cfg.stable);
            while (!done.load(std::memory_order_relaxed)) {
                const std::uint64_t p1 = progress.load(std::memory_order_acquire);
                const std::uint64_t lo = p1 > cfg.live + 64 ? p1 - cfg.live - 64 : 0;
                const std::uint64_t i = lo + rng() % (p1 - lo + 128);
                const FourTuple t = churn_key(i);
                const auto* found = table.find_concurrent(t);
                const std::uint64_t p2 = progress.load(std::memory_order_acquire);
                if (found != nullptr) {
                    ++h;
                    valid(found, t, torn, freed);
                    if (i > p2 || i + cfg.live + 1 <= p1) phantoms.fetch_add(1, std::memory_order_relaxed);
                } else if (i < p1 && i + cfg.live > p2) {
                    false_misses.fetch_add(1, std::memory_order_relaxed);
                }
                const bool check_stable = stable_in.load(std::memory_order_acquire);
                if (check_stable && cfg.stable != 0) {
                    const FourTuple s = stable_key(rng() % cfg.stable);
                    if (const auto* o = table.find_concurrent(s)) {
                        valid(o, s, torn, freed);
                    } else {
                        missed.fetch_add(1, std::memory_order_relaxed);
                    }
                }
                qsbr.quiescent(id);
                n += 2;
                if (n % cfg.iterate_every < 2) {
                    std::fill(seen.begin(), seen.end(), 0);
                    std::uint64_t entries = 0;
                    const bool was_exact = table.for_each_concurrent([&](const FourTuple& k, const StressObj* o) {
                        ++entries;
                        valid(o, k, torn, freed);
                        if (k.local_port == 443 && k.remote_addr.value() - 0x0c000000u < cfg.stable) {
                            seen[k.remote_addr.value() - 0x0c000000u] = 1;
                        }
                    });
                    for (auto s : seen) {
                        if (!s && check_stable) missed.fetch_add(1, std::memory_order_relaxed);
                    }
                    scans.fetch_add(1, std::memory_order_relaxed);
                    scanned.fetch_add(entries, std::memory_order_relaxed);
                    if (was_exact) exact.fetch_add(1, std::memory_order_relaxed);
                    qsbr.quiescent(id);
                }
            }
            qsbr.offline(id);
            qsbr.unregister_reader(id);
            lookups.fetch_add(n, std::memory_order_relaxed);
            hits.fetch_add(h, std::memory_order_relaxed);
        });
    }

    // Writer: FIFO churn, `live` flows in flight; one insert and one removal per step.
    auto note = [&](Clock::duration d) {
        const auto ns = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
        res.writer_max_op = std::max(res.writer_max_op, std::chrono::nanoseconds(ns));
        ++res.writer_log2_ns[static_cast<std::size_t>(std::bit_width(ns))];
        ++res.writer_ops;
    };
    const auto t0 = Clock::now();
    std::uint64_t next = 0;
    while (next < cfg.insertions) {
        table.reclaim(take_back);
        if (free_list.empty()) {
            ++res.writer_full;
            std::this_thread::yield();  // the test's writer may yield; an lcore would do other work
            continue;
        }
        const FourTuple t = churn_key(next);
        StressObj* o = free_list.back();
        auto a = Clock::now();
        const auto r = table.insert(t, give(t));
        auto b = Clock::now();
        note(b - a);
        if (!r) {
            ++res.writer_full;
            free_list.push_back(o);  // give() took it; nothing was inserted
            o->state.store(StressObj::kDead, std::memory_order_relaxed);
            std::this_thread::yield();
            continue;
        }
        if (next >= cfg.live) {
            a = Clock::now();
            const bool removed = table.remove(churn_key(next - cfg.live));
            b = Clock::now();
            note(b - a);
            if (!removed) ++res.torn;  // the writer's own view lost a flow
        }
        ++next;
        progress.store(next, std::memory_order_release);
        if (next == cfg.live) {
            for (std::uint64_t k = 0; k < cfg.stable; ++k) {
                table.reclaim(take_back);
                if (free_list.empty() || !table.insert(stable_key(k), give(stable_key(k)))) {
                    ++res.torn;  // sized so that this cannot happen
                }
            }
            stable_in.store(true, std::memory_order_release);
        }
    }
    res.writer_total = Clock::now() - t0;
    done.store(true);
    for (auto& th : readers) th.join();

    // Every reader is offline: everything pending comes back now.
    table.reclaim(take_back);
    res.pending_at_end = table.pending();
    res.in_table_at_end = table.size();
    res.lookups = lookups;
    res.hits = hits;
    res.scans = scans;
    res.scanned_entries = scanned;
    res.exact_scans = exact;
    res.torn += torn;
    res.freed = freed;
    res.stable_missed = missed;
    res.false_misses = false_misses;
    res.phantoms = phantoms;
    // Every object is either free or in the table.
    if (free_list.size() + table.size() != pool.size()) ++res.torn;
    return res;
}

}  // namespace ustcp::test
