#include "ustcp/dpdk/flow_hash.hpp"

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>

#include <atomic>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace ustcp::dpdk::detail {

namespace {
/// The 16-byte key: rte_hash compares 16-byte keys with one SSE compare.
struct Key {
    std::uint64_t addrs;
    std::uint32_t ports;
    std::uint32_t zero;
};
static_assert(sizeof(Key) == 16);

Key key_of(const FourTuple& t) noexcept {
    return {std::uint64_t{t.local_addr.value()} << 32 | t.remote_addr.value(),
            std::uint32_t{t.local_port} << 16 | t.remote_port, 0};
}
FourTuple tuple_of(const Key& k) noexcept {
    return {Ipv4Addr(static_cast<std::uint32_t>(k.addrs >> 32)), Ipv4Addr(static_cast<std::uint32_t>(k.addrs)),
            static_cast<std::uint16_t>(k.ports >> 16), static_cast<std::uint16_t>(k.ports)};
}
std::atomic<unsigned> g_serial{0};
}  // namespace

std::unique_ptr<RteHashCore> RteHashCore::create(const RteFlowTableConfig& cfg) noexcept {
    char name[RTE_HASH_NAMESIZE];
    std::snprintf(name, sizeof name, "ustcp_flows_%u", g_serial.fetch_add(1));
    const std::size_t entries = std::bit_ceil(std::max<std::size_t>(2 * cfg.capacity, 16));
    rte_hash_parameters p{};
    p.name = name;
    p.entries = static_cast<std::uint32_t>(entries);
    p.key_len = sizeof(Key);
    p.hash_func = rte_hash_crc;
    p.hash_func_init_val = static_cast<std::uint32_t>(cfg.seed);
    p.socket_id = cfg.socket_id;
    p.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF;
    rte_hash* h = rte_hash_create(&p);
    if (h == nullptr) {
        std::fprintf(stderr, "rte_hash_create(%zu): %s\n", entries, rte_strerror(rte_errno));
        return nullptr;
    }
    return std::unique_ptr<RteHashCore>(new RteHashCore(h, entries));
}

RteHashCore::~RteHashCore() { rte_hash_free(h_); }

void* RteHashCore::find(const FourTuple& t) const noexcept {
    const Key k = key_of(t);
    void* v = nullptr;
    return rte_hash_lookup_data(h_, &k, &v) >= 0 ? v : nullptr;
}

void RteHashCore::find_burst(const FourTuple* keys, std::size_t n, void** out) const noexcept {
    Key k[RTE_HASH_LOOKUP_BULK_MAX];
    const void* kp[RTE_HASH_LOOKUP_BULK_MAX];
    for (std::size_t base = 0; base < n; base += RTE_HASH_LOOKUP_BULK_MAX) {
        const std::size_t m = std::min<std::size_t>(RTE_HASH_LOOKUP_BULK_MAX, n - base);
        for (std::size_t i = 0; i < m; ++i) {
            k[i] = key_of(keys[base + i]);
            kp[i] = &k[i];
        }
        std::uint64_t hits = 0;
        (void)rte_hash_lookup_bulk_data(h_, kp, static_cast<std::uint32_t>(m), &hits, out + base);
        for (std::size_t i = 0; i < m; ++i) {
            if ((hits >> i & 1) == 0) out[base + i] = nullptr;
        }
    }
}

int RteHashCore::add(const FourTuple& t, void* value) noexcept {
    const Key k = key_of(t);
    if (rte_hash_lookup(h_, &k) >= 0) return -EEXIST;
    return rte_hash_add_key_data(h_, &k, value);
}

int RteHashCore::add_unchecked(const FourTuple& t, void* value) noexcept {
    const Key k = key_of(t);
    return rte_hash_add_key_data(h_, &k, value);
}

std::int32_t RteHashCore::del(const FourTuple& t) noexcept {
    const Key k = key_of(t);
    return rte_hash_del_key(h_, &k);
}

void RteHashCore::free_position(std::int32_t pos) noexcept { (void)rte_hash_free_key_with_position(h_, pos); }

bool RteHashCore::iterate(FourTuple& t, void*& value, std::uint32_t& next) const noexcept {
    const void* key = nullptr;
    if (rte_hash_iterate(h_, &key, &value, &next) < 0) return false;
    Key k;
    std::memcpy(&k, key, sizeof k);
    t = tuple_of(k);
    return true;
}

}  // namespace ustcp::dpdk::detail
