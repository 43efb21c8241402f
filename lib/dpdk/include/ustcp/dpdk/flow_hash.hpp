// DPDK's rte_hash (cuckoo, lock-free readers with RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF)
// as a per-lcore 4-tuple -> V* table with the same interface as engine::FlowTable, so
// that the two can be benchmarked against each other (bench/micro/bench_flow_table.cpp)
// and swapped in the engine. Needs the EAL (rte_hash allocates from rte_malloc).
//
//   auto t = dpdk::RteFlowTable<Flow, dpdk::RcuQsbr>::create({.capacity = n, .seed = s}, rcu);
//   Flow* f = t->find(tuple);
//   (void)t->insert(tuple, f);  t->remove(tuple);  t->reclaim([](Flow* f) { ... });
//
// Semantics as engine::FlowTable: one writer; find_concurrent() from readers online with
// the Reclaimer; remove() defers both the value and rte_hash's key slot
// (rte_hash_free_key_with_position) until the grace period ends; capacity bounds the
// values in the table plus those pending. The key is the 4-tuple packed into 16 bytes
// (rte_hash's SSE compare for 16-byte keys) and hashed with rte_hash_crc. rte_hash is
// created with 2 * capacity entries (rounded up to a power of two), the same load factor
// bound as engine::FlowTable, so inserts never fail on cuckoo displacement.
// for_each_concurrent() is rte_hash_iterate: lock-free, but may miss or repeat entries a
// concurrent insert displaces.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "ustcp/base/addr.hpp"
#include "ustcp/base/result.hpp"

struct rte_hash;

namespace ustcp::dpdk {

struct RteFlowTableConfig {
    std::size_t capacity = 16384;
    std::uint64_t seed = 0;  ///< rte_hash_crc's initial value (low 32 bits)
    int socket_id = -1;      ///< SOCKET_ID_ANY
};

enum class RteFlowTableError : std::uint8_t { kExists, kFull };

namespace detail {
/// The untyped core, out of line so that rte_hash.h stays in lib/dpdk/src.
class RteHashCore {
public:
    static std::unique_ptr<RteHashCore> create(const RteFlowTableConfig& cfg) noexcept;
    ~RteHashCore();
    RteHashCore(const RteHashCore&) = delete;
    RteHashCore& operator=(const RteHashCore&) = delete;

    [[nodiscard]] void* find(const FourTuple& t) const noexcept;
    void find_burst(const FourTuple* keys, std::size_t n, void** out) const noexcept;
    /// 0, -EEXIST, or another negative errno from rte_hash_add_key_data.
    int add(const FourTuple& t, void* value) noexcept;
    /// rte_hash_add_key_data alone (replaces an existing key's value): for the benchmark.
    int add_unchecked(const FourTuple& t, void* value) noexcept;
    /// The key's position (to free after the grace period), or -ENOENT.
    std::int32_t del(const FourTuple& t) noexcept;
    void free_position(std::int32_t pos) noexcept;
    /// rte_hash_iterate: next entry from *next, or false at the end.
    bool iterate(FourTuple& t, void*& value, std::uint32_t& next) const noexcept;
    [[nodiscard]] std::size_t entries() const noexcept { return entries_; }

private:
    RteHashCore(rte_hash* h, std::size_t entries) noexcept : h_(h), entries_(entries) {}
    rte_hash* h_;
    std::size_t entries_;
};
}  // namespace detail

template <typename V, typename R>  // R: an engine Reclaimer (start()/check())
class RteFlowTable {
public:
    using Error = RteFlowTableError;

    /// Errors: nullptr when rte_hash_create fails (no EAL, no memory, name in use).
    static std::unique_ptr<RteFlowTable> create(const RteFlowTableConfig& cfg, R& reclaimer) noexcept {
        auto core = detail::RteHashCore::create(cfg);
        if (!core) return nullptr;
        return std::unique_ptr<RteFlowTable>(new RteFlowTable(std::move(core), cfg.capacity, reclaimer));
    }

    [[nodiscard]] V* find(const FourTuple& t) const noexcept { return static_cast<V*>(core_->find(t)); }
    void find_burst(std::span<const FourTuple> keys, V** out) const noexcept {
        core_->find_burst(keys.data(), keys.size(), reinterpret_cast<void**>(out));
    }
    Result<void, Error> insert(const FourTuple& t, V* value) noexcept {
        if (size_ + pending_ >= capacity_) return Err(find(t) != nullptr ? Error::kExists : Error::kFull);
        const int rc = core_->add(t, value);
        if (rc == 0) {
            ++size_;
            return {};
        }
        return Err(rc == -17 /* EEXIST */ ? Error::kExists : Error::kFull);
    }
    /// rte_hash_add_key_data without the existence check insert() needs for kExists.
    Result<void, Error> insert_unchecked(const FourTuple& t, V* value) noexcept {
        if (size_ + pending_ >= capacity_ || core_->add_unchecked(t, value) != 0) return Err(Error::kFull);
        ++size_;
        return {};
    }
    bool remove(const FourTuple& t) noexcept {
        V* value = find(t);
        return value != nullptr && remove_known(t, value);
    }
    /// remove() when the caller knows the value stored for `t` (saves rte_hash's lookup).
    bool remove_known(const FourTuple& t, V* value) noexcept {
        const std::int32_t pos = core_->del(t);
        if (pos < 0) return false;
        --size_;
        std::size_t tail = head_ + pending_;
        if (tail >= capacity_) tail -= capacity_;
        ring_[tail] = Deferred{value, pos, reclaimer_.start()};
        ++pending_;
        return true;
    }
    template <typename F>
    std::size_t reclaim(F&& on_reclaimed) {
        std::size_t n = 0;
        while (pending_ != 0) {
            Deferred& d = ring_[head_];
            if (d.token > acked_) {
                if (!reclaimer_.check(d.token)) break;
                acked_ = d.token;
            }
            core_->free_position(d.pos);
            V* v = d.value;
            if (++head_ == capacity_) head_ = 0;
            --pending_;
            ++n;
            on_reclaimed(v);
        }
        return n;
    }
    [[nodiscard]] V* find_concurrent(const FourTuple& t) const noexcept { return find(t); }
    template <typename F>
    bool for_each_concurrent(F&& f) const {
        FourTuple t;
        void* v = nullptr;
        std::uint32_t next = 0;
        while (core_->iterate(t, v, next)) f(t, static_cast<V*>(v));
        return false;
    }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] std::size_t pending() const noexcept { return pending_; }
    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

private:
    struct Deferred {
        V* value = nullptr;
        std::int32_t pos = -1;
        std::uint64_t token = 0;
    };
    RteFlowTable(std::unique_ptr<detail::RteHashCore> core, std::size_t capacity, R& reclaimer)
        : core_(std::move(core)), reclaimer_(reclaimer), capacity_(capacity),
          ring_(new Deferred[std::max<std::size_t>(capacity, 1)]) {}

    std::unique_ptr<detail::RteHashCore> core_;
    R& reclaimer_;
    std::size_t capacity_;
    std::unique_ptr<Deferred[]> ring_;
    std::size_t size_ = 0;
    std::size_t head_ = 0;
    std::size_t pending_ = 0;
    std::uint64_t acked_ = 0;
};

}  // namespace ustcp::dpdk
