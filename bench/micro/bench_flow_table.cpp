// The per-lcore flow table at 1 Ki, 100 Ki and 1 Mi flows: engine::FlowTable (linear
// probing, seqlocked slots) against DPDK's rte_hash with RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF
// (dpdk::RteFlowTable, the same interface) and std::unordered_map (what the engine used
// first). Lookup hit, lookup miss, a 32-key burst lookup (find_burst / rte_hash_lookup_bulk_data)
// and steady-state churn (insert one flow, remove the oldest, reclaim: the table stays at N).
//
// Both tables get the same load-factor bound (slots or entries = 2 N rounded up to a power
// of two) and the same Reclaimer (engine::Qsbr with no readers: start() and check() cost
// what they cost in production without a reader online). Keys are a server's view: one
// local address, a few local ports, random peers. Lookups walk a shuffled key array, so
// at 1 Mi flows (64 MiB of slots, ~96 MiB for rte_hash) most probes miss the cache.
//
// rte_hash needs the EAL: init_test_eal() (--no-pci --no-huge: 4 KiB pages, as the heap
// engine::FlowTable gets). `..._Thp` rows give engine::FlowTable transparent huge pages
// (madvise) for comparison with rte_hash on hugepages: run with USTCP_EAL_HUGEPAGES=1.
#include <benchmark/benchmark.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "ustcp/engine/flow_table.hpp"
#include "ustcp/engine/qsbr.hpp"
#ifdef USTCP_HAVE_DPDK
#include "ustcp/dpdk/flow_hash.hpp"
#include "ustcp/dpdk/test_eal.hpp"
#endif

namespace {

using ustcp::FourTuple;
using ustcp::Ipv4Addr;

struct Flow {
    std::uint64_t payload = 0;
};

/// n distinct tuples to us (10.0.0.1, ports 80/443/8080) from random peers, and n others.
struct Keys {
    std::vector<FourTuple> present, absent;
};
const Keys& keys_for(std::size_t n) {
    static std::map<std::size_t, Keys> cache;
    auto it = cache.find(n);
    if (it != cache.end()) return it->second;
    std::mt19937_64 rng(n);
    std::unordered_set<FourTuple> seen;
    Keys k;
    auto fresh = [&] {
        static constexpr std::uint16_t kPorts[] = {80, 443, 8080};
        for (;;) {
            const FourTuple t{Ipv4Addr(10, 0, 0, 1), Ipv4Addr(static_cast<std::uint32_t>(rng())), kPorts[rng() % 3],
                              static_cast<std::uint16_t>(1024 + rng() % 64512)};
            if (seen.insert(t).second) return t;
        }
    };
    for (std::size_t i = 0; i < n; ++i) k.present.push_back(fresh());
    for (std::size_t i = 0; i < n; ++i) k.absent.push_back(fresh());
    return cache.emplace(n, std::move(k)).first->second;
}

/// A lookup order over the present (or absent) keys of size n: shuffled, repeated to at
/// least 1 Mi entries so that small tables are not looked up in a loop the predictor learns.
const std::vector<FourTuple>& shuffled(std::size_t n, bool present) {
    static std::map<std::pair<std::size_t, bool>, std::vector<FourTuple>> cache;
    auto& v = cache[{n, present}];
    if (v.empty()) {
        const auto& keys = present ? keys_for(n).present : keys_for(n).absent;
        while (v.size() < std::max<std::size_t>(keys.size(), 1u << 20)) v.insert(v.end(), keys.begin(), keys.end());
        std::shuffle(v.begin(), v.end(), std::mt19937_64(7));
    }
    return v;
}

ustcp::engine::Qsbr& no_readers() {
    static ustcp::engine::Qsbr q(0);
    return q;
}

// ---- the tables under test, behind one shape: find / find_burst / insert / remove / reclaim ----

using Ours = ustcp::engine::FlowTable<Flow, ustcp::engine::Qsbr>;

struct OursTable {
    static constexpr const char* kName = "ustcp";
    explicit OursTable(std::size_t cap)
        : table(std::make_unique<Ours>(ustcp::engine::FlowTableConfig{cap, 0x1234}, no_readers())) {}
    std::unique_ptr<Ours> table;
    Ours& t() { return *table; }
};

struct OursThpTable {
    static constexpr const char* kName = "ustcp+THP";
    explicit OursThpTable(std::size_t cap) {
        const std::size_t bytes = Ours::memory_bytes(cap);
        const std::size_t huge = 2u << 20;
        size = (bytes + huge - 1) / huge * huge;
        mem = std::aligned_alloc(huge, size);
        (void)::madvise(mem, size, MADV_HUGEPAGE);
        table = std::make_unique<Ours>(ustcp::engine::FlowTableConfig{cap, 0x1234}, no_readers(), mem);
    }
    ~OursThpTable() {
        table.reset();
        std::free(mem);
    }
    OursThpTable(const OursThpTable&) = delete;
    OursThpTable& operator=(const OursThpTable&) = delete;
    void* mem = nullptr;
    std::size_t size = 0;
    std::unique_ptr<Ours> table;
    Ours& t() { return *table; }
};

#ifdef USTCP_HAVE_DPDK
using Rte = ustcp::dpdk::RteFlowTable<Flow, ustcp::engine::Qsbr>;
struct RteTable {
    static constexpr const char* kName = "rte_hash LF";
    explicit RteTable(std::size_t cap) {
        if (ustcp::dpdk::init_test_eal("ustcp-bench-micro") == 0) table = Rte::create({cap, 0x1234, -1}, no_readers());
    }
    std::unique_ptr<Rte> table;
    Rte& t() { return *table; }
};

/// rte_hash at its leanest: add without the existence check, delete with the value known.
struct RteRawTable : RteTable {
    static constexpr const char* kName = "rte_hash LF, unchecked add + known-value delete";
    using RteTable::RteTable;
    struct Shim {
        Rte* t;
        auto insert(const FourTuple& k, Flow* v) { return t->insert_unchecked(k, v); }
        bool remove(const FourTuple& k) { return t->remove_known(k, &dummy); }
        template <typename F>
        std::size_t reclaim(F&& f) { return t->reclaim(f); }
        Flow dummy;
    };
    Shim shim{table.get(), {}};
    Shim& t() { return shim; }
};
#endif

/// std::unordered_map with the engine's old use (find / emplace / erase, no reclamation).
struct StdMapTable {
    static constexpr const char* kName = "std::unordered_map";
    explicit StdMapTable(std::size_t cap) { shim.map.reserve(cap); }
    struct Shim {
        std::unordered_map<FourTuple, Flow*> map;
        Flow* find(const FourTuple& k) const {
            auto it = map.find(k);
            return it == map.end() ? nullptr : it->second;
        }
        void find_burst(std::span<const FourTuple> keys, Flow** out) const {
            for (std::size_t i = 0; i < keys.size(); ++i) out[i] = find(keys[i]);
        }
        bool insert(const FourTuple& k, Flow* v) { return map.emplace(k, v).second; }
        bool remove(const FourTuple& k) { return map.erase(k) == 1; }
        template <typename F>
        std::size_t reclaim(F&&) { return 0; }
    };
    Shim shim;
    Shim& t() { return shim; }
};

/// One table of each kind and size, filled once with keys_for(n).present; the churn
/// benchmark (`churn`) gets its own, since it changes which keys are present.
template <typename T>
T* table_for(std::size_t n, bool churn = false) {
    static std::map<std::pair<std::size_t, bool>, std::unique_ptr<T>> cache;
    auto it = cache.find({n, churn});
    if (it != cache.end()) return it->second.get();
    auto t = std::make_unique<T>(n + 4096);  // headroom for churn's in-flight removals
    static std::vector<Flow> flows(1u << 21);
    const auto& k = keys_for(n);
    bool ok = true;
#ifdef USTCP_HAVE_DPDK
    if constexpr (std::is_base_of_v<RteTable, T>) ok = t->table != nullptr;
#endif
    if (ok) {
        for (std::size_t i = 0; i < n; ++i) (void)t->t().insert(k.present[i], &flows[i]);
    }
    return cache.emplace(std::pair{n, churn}, ok ? std::move(t) : nullptr).first->second.get();
}

template <typename T>
bool ready(benchmark::State& state, T* t) {
    if (t == nullptr) {
        state.SkipWithError("table unavailable (EAL or rte_hash_create failed)");
        return false;
    }
    state.SetLabel(T::kName);
    return true;
}

template <typename T>
void BM_FlowLookupHit(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    T* t = table_for<T>(n);
    if (!ready(state, t)) return;
    const auto& order = shuffled(n, true);
    std::size_t i = 0;
    for (auto _ : state) {
        Flow* f = t->t().find(order[i]);
        benchmark::DoNotOptimize(f);
        if (++i == order.size()) i = 0;
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

template <typename T>
void BM_FlowLookupMiss(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    T* t = table_for<T>(n);
    if (!ready(state, t)) return;
    const auto& order = shuffled(n, false);
    std::size_t i = 0;
    for (auto _ : state) {
        Flow* f = t->t().find(order[i]);
        benchmark::DoNotOptimize(f);
        if (++i == order.size()) i = 0;
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

/// A burst of 32 hits per iteration: the engine's demux of one rx_burst.
template <typename T>
void BM_FlowLookupBurst32(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    T* t = table_for<T>(n);
    if (!ready(state, t)) return;
    const auto& order = shuffled(n, true);
    Flow* out[32];
    std::size_t i = 0;
    for (auto _ : state) {
        t->t().find_burst(std::span<const FourTuple>(&order[i], 32), out);
        benchmark::DoNotOptimize(out);
        i += 32;
        if (i + 32 > order.size()) i = 0;
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * 32);
}

/// Insert a new flow and remove the oldest (FIFO, so the table stays at n), reclaiming
/// as the engine would once per loop. One item = one insert + one remove.
template <typename T>
void BM_FlowInsertDelete(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    T* t = table_for<T>(n, true);
    if (!ready(state, t)) return;
    const auto& k = keys_for(n);
    // Ring of the n live keys, oldest first; new keys come from the absent set, and what is
    // removed becomes insertable again, so the universe is 2n keys cycling through.
    static std::map<std::size_t, std::vector<FourTuple>> rings;
    static std::map<std::size_t, std::size_t> heads;
    auto& ring = rings[n];
    if (ring.empty()) {
        ring = k.present;
        ring.insert(ring.end(), k.absent.begin(), k.absent.end());
    }
    std::size_t& head = heads[n];
    const std::size_t total = ring.size();
    static std::vector<Flow> flows(1u << 22);
    for (auto _ : state) {
        const std::size_t in = (head + n) % total;
        auto r = t->t().insert(ring[in], &flows[in]);
        benchmark::DoNotOptimize(r);
        bool removed = t->t().remove(ring[head]);
        benchmark::DoNotOptimize(removed);
        t->t().reclaim([](Flow*) {});
        if (++head == total) head = 0;
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

#define FLOW_BENCH(fn, T) BENCHMARK_TEMPLATE(fn, T)->Arg(1 << 10)->Arg(100'000)->Arg(1'000'000)

FLOW_BENCH(BM_FlowLookupHit, OursTable);
FLOW_BENCH(BM_FlowLookupHit, OursThpTable);
#ifdef USTCP_HAVE_DPDK
FLOW_BENCH(BM_FlowLookupHit, RteTable);
#endif
FLOW_BENCH(BM_FlowLookupHit, StdMapTable);

FLOW_BENCH(BM_FlowLookupMiss, OursTable);
FLOW_BENCH(BM_FlowLookupMiss, OursThpTable);
#ifdef USTCP_HAVE_DPDK
FLOW_BENCH(BM_FlowLookupMiss, RteTable);
#endif
FLOW_BENCH(BM_FlowLookupMiss, StdMapTable);

FLOW_BENCH(BM_FlowLookupBurst32, OursTable);
FLOW_BENCH(BM_FlowLookupBurst32, OursThpTable);
#ifdef USTCP_HAVE_DPDK
FLOW_BENCH(BM_FlowLookupBurst32, RteTable);
#endif
FLOW_BENCH(BM_FlowLookupBurst32, StdMapTable);

FLOW_BENCH(BM_FlowInsertDelete, OursTable);
FLOW_BENCH(BM_FlowInsertDelete, OursThpTable);
#ifdef USTCP_HAVE_DPDK
FLOW_BENCH(BM_FlowInsertDelete, RteTable);
FLOW_BENCH(BM_FlowInsertDelete, RteRawTable);
#endif
FLOW_BENCH(BM_FlowInsertDelete, StdMapTable);

}  // namespace
