// DPDK's quiescent-state-based reclamation (rte_rcu_qsbr) behind the flow table's
// Reclaimer seam (lib/engine reclaim.hpp: start() and check()), so that lib/engine needs
// no rte_*.h. The same API as ustcp::engine::Qsbr, its portable twin.
//
//   auto q = dpdk::RcuQsbr::create(kReaders);          // Result: errno on failure
//   engine::FlowTable<Flow, dpdk::RcuQsbr> flows(cfg, **q);
//   // reader thread `id`:
//   (*q)->register_reader(id); (*q)->online(id);
//   while (running) { ... flows.find_concurrent(t) ...; (*q)->quiescent(id); }
//   (*q)->offline(id); (*q)->unregister_reader(id);
//
// rte_rcu_qsbr needs no EAL: the variable lives in ordinary cache-aligned memory. Calls
// are out of line (one call per removal and reclaim pass on the writer, one per report on
// a reader), which keeps rte_rcu_qsbr.h inside lib/dpdk.
#pragma once

#include <cstdint>
#include <memory>

#include "ustcp/base/result.hpp"

struct rte_rcu_qsbr;

namespace ustcp::dpdk {

class RcuQsbr {
public:
    /// A QS variable for reader ids 0..max_readers-1. Errors: EINVAL (max_readers == 0 or
    /// above what rte_rcu_qsbr supports), ENOMEM.
    static Result<std::unique_ptr<RcuQsbr>, int> create(unsigned max_readers) noexcept;
    RcuQsbr(const RcuQsbr&) = delete;
    RcuQsbr& operator=(const RcuQsbr&) = delete;
    ~RcuQsbr();

    // Readers: `id` < max_readers(), one thread per id (rte_rcu_qsbr_thread_* and _quiescent).
    void register_reader(unsigned id) noexcept;
    void unregister_reader(unsigned id) noexcept;
    void online(unsigned id) noexcept;
    void offline(unsigned id) noexcept;
    void quiescent(unsigned id) noexcept;

    // Writer: rte_rcu_qsbr_start, and rte_rcu_qsbr_check without waiting.
    std::uint64_t start() noexcept;
    bool check(std::uint64_t token) noexcept;

    [[nodiscard]] unsigned max_readers() const noexcept { return max_; }
    /// For DPDK libraries that take a QS variable (rte_hash_rcu_qsbr_add, rte_lpm_rcu_qsbr_add).
    [[nodiscard]] rte_rcu_qsbr* raw() noexcept { return v_; }

private:
    RcuQsbr(rte_rcu_qsbr* v, unsigned max) noexcept : v_(v), max_(max) {}
    rte_rcu_qsbr* v_;
    unsigned max_;
};

}  // namespace ustcp::dpdk
