#include "ustcp/dpdk/rcu.hpp"

#include <rte_errno.h>
#include <rte_rcu_qsbr.h>

#include <cerrno>
#include <cstring>
#include <new>

namespace ustcp::dpdk {

namespace {
constexpr std::align_val_t kAlign{RTE_CACHE_LINE_SIZE};
}

Result<std::unique_ptr<RcuQsbr>, int> RcuQsbr::create(unsigned max_readers) noexcept {
    const std::size_t bytes = rte_rcu_qsbr_get_memsize(max_readers);
    if (max_readers == 0 || bytes == static_cast<std::size_t>(1)) return Err(EINVAL);  // get_memsize: 1 on error
    void* mem = ::operator new(bytes, kAlign, std::nothrow);
    if (mem == nullptr) return Err(ENOMEM);
    std::memset(mem, 0, bytes);
    auto* v = static_cast<rte_rcu_qsbr*>(mem);
    if (rte_rcu_qsbr_init(v, max_readers) != 0) {
        const int err = rte_errno;
        ::operator delete(mem, kAlign);
        return Err(err != 0 ? err : EINVAL);
    }
    auto* q = new (std::nothrow) RcuQsbr(v, max_readers);
    if (q == nullptr) {
        ::operator delete(mem, kAlign);
        return Err(ENOMEM);
    }
    return std::unique_ptr<RcuQsbr>(q);
}

RcuQsbr::~RcuQsbr() { ::operator delete(v_, kAlign); }

void RcuQsbr::register_reader(unsigned id) noexcept { (void)rte_rcu_qsbr_thread_register(v_, id); }
void RcuQsbr::unregister_reader(unsigned id) noexcept {
    rte_rcu_qsbr_thread_offline(v_, id);
    (void)rte_rcu_qsbr_thread_unregister(v_, id);
}
void RcuQsbr::online(unsigned id) noexcept { rte_rcu_qsbr_thread_online(v_, id); }
void RcuQsbr::offline(unsigned id) noexcept { rte_rcu_qsbr_thread_offline(v_, id); }
void RcuQsbr::quiescent(unsigned id) noexcept { rte_rcu_qsbr_quiescent(v_, id); }

std::uint64_t RcuQsbr::start() noexcept { return rte_rcu_qsbr_start(v_); }
bool RcuQsbr::check(std::uint64_t token) noexcept { return rte_rcu_qsbr_check(v_, token, false) == 1; }

}  // namespace ustcp::dpdk
