// Grace periods for the flow table's lock-free readers: the seam between lib/engine and
// a quiescent-state-based reclamation (QSBR) scheme, so that lib/engine needs no rte_*.h.
//
//   // writer (the worker lcore), after unlinking `p` from a structure readers traverse:
//   std::uint64_t t = r.start();        // a grace period begins
//   ...                                 // keep running; later, once per loop:
//   if (r.check(t)) release(p);         // every reader has been quiescent since: nobody holds p
//
// Readers (console, telemetry, stats threads) register with the scheme and report a
// quiescent state whenever they hold no pointer they read from the structure (see
// Qsbr in qsbr.hpp, and ustcp::dpdk::RcuQsbr over rte_rcu_qsbr in lib/dpdk).
//
// A Reclaimer is any type with
//   std::uint64_t start() noexcept;             // writer: publishes prior removals, returns a token
//   bool check(std::uint64_t token) noexcept;   // writer: has that grace period ended? never blocks
// with tokens increasing, and check(t) true implying check(t') true for every t' <= t.
#pragma once

#include <concepts>
#include <cstdint>
#include <type_traits>

namespace ustcp::engine {

template <typename R>
concept Reclaimer = requires(R& r, std::uint64_t token) {
    { r.start() } noexcept -> std::same_as<std::uint64_t>;
    { r.check(token) } noexcept -> std::same_as<bool>;
};

/// For tables with no concurrent readers (single-threaded tools and tests, benchmarks of
/// the owner path): every grace period is over at once.
struct NoReaders {
    std::uint64_t start() noexcept { return ++token; }
    bool check(std::uint64_t /*t*/) noexcept { return true; }
    std::uint64_t token = 0;
};

/// A type-erased reference to some Reclaimer, so that the engine can hold one
/// FlowTable<Flow, ReclaimerRef> whichever scheme the application wires in. Costs one
/// indirect call per start()/check() (per removal and per reclaim pass, not per lookup).
/// The referenced reclaimer must outlive the reference.
class ReclaimerRef {
public:
    template <Reclaimer R>
        requires(!std::same_as<std::remove_cv_t<R>, ReclaimerRef>)
    explicit ReclaimerRef(R& r) noexcept
        : obj_(&r),
          start_([](void* o) noexcept { return static_cast<R*>(o)->start(); }),
          check_([](void* o, std::uint64_t t) noexcept { return static_cast<R*>(o)->check(t); }) {}

    std::uint64_t start() noexcept { return start_(obj_); }
    bool check(std::uint64_t t) noexcept { return check_(obj_, t); }

private:
    void* obj_;
    std::uint64_t (*start_)(void*) noexcept;
    bool (*check_)(void*, std::uint64_t) noexcept;
};

static_assert(Reclaimer<NoReaders>);
static_assert(Reclaimer<ReclaimerRef>);

}  // namespace ustcp::engine
