#include "ustcp/dpdk/trace.hpp"

#include <rte_mbuf.h>

#include <algorithm>

namespace ustcp::dpdk {

void TraceRing::enable(bool on) noexcept {
    std::uint32_t s = session_.load(std::memory_order_relaxed);
    while (((s & 1u) != 0) != on && !session_.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel)) {
    }
}

void TraceRing::push(rte_mbuf* const* m, std::uint16_t n, bool out) noexcept {
    const std::uint32_t session = session_.load(std::memory_order_relaxed);
    if ((session & 1u) == 0) return;
    std::uint32_t head = head_.load(std::memory_order_relaxed);
    const std::uint32_t tail = tail_.load(std::memory_order_acquire);
    for (std::uint16_t i = 0; i < n; ++i) {
        if (head - tail >= kSlots) {
            dropped_.fetch_add(n - i, std::memory_order_relaxed);
            break;
        }
        Record& r = slots_[head & (kSlots - 1)];
        const rte_mbuf* b = m[i];
        r.wire_len = b->pkt_len;
        r.len = static_cast<std::uint16_t>(std::min<std::uint32_t>(b->pkt_len, kSnap));
        r.out = out;
        r.session = session;
        // Chains (multi-segment TX) are copied across segments.
        const void* p = rte_pktmbuf_read(b, 0, r.len, r.bytes.data());
        if (p != r.bytes.data() && p != nullptr) std::copy_n(static_cast<const std::uint8_t*>(p), r.len, r.bytes.data());
        if (p == nullptr) r.len = 0;
        ++head;
    }
    head_.store(head, std::memory_order_release);
}

bool TraceRing::pop(Record& r) noexcept {
    std::uint32_t tail = tail_.load(std::memory_order_relaxed);
    const std::uint32_t head = head_.load(std::memory_order_acquire);
    for (; tail != head; ++tail) {
        const Record& slot = slots_[tail & (kSlots - 1)];
        // Read after the records: a session that ended before this call hides its stragglers.
        const std::uint32_t now = session_.load(std::memory_order_acquire);
        if (slot.session != now || (now & 1u) == 0) continue;
        r = slot;
        tail_.store(tail + 1, std::memory_order_release);
        return true;
    }
    tail_.store(tail, std::memory_order_release);
    return false;
}

}  // namespace ustcp::dpdk
