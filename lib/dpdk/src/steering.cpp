#include "ustcp/dpdk/steering.hpp"

#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_memory.h>
#include <rte_ring.h>

#include <algorithm>
#include <bit>
#include <cstring>

namespace ustcp::dpdk {

namespace {

constexpr std::uint32_t kEthLen = 14;
constexpr std::uint16_t kEtherIpv4 = 0x0800;
constexpr std::uint16_t kEtherArp = 0x0806;

std::uint16_t be16_at(const std::uint8_t* p) noexcept { return static_cast<std::uint16_t>((p[0] << 8) | p[1]); }

/// Bits [bit, bit + 32) of the key, most significant first.
std::uint32_t key_window(std::span<const std::uint8_t> key, std::size_t bit) noexcept {
    std::uint32_t w = 0;
    for (std::size_t j = 0; j < 32; ++j) {
        const std::size_t b = bit + j;
        w = (w << 1) | ((key[b / 8] >> (7 - b % 8)) & 1u);
    }
    return w;
}

const rte_mbuf_dynfield kFlagsField = {
    .name = "ustcp_steer_rx_flags",
    .size = sizeof(std::uint32_t),
    .align = alignof(std::uint32_t),
    .flags = 0,
};

std::uint32_t& flags_of(rte_mbuf* m, int off) noexcept { return *RTE_MBUF_DYNFIELD(m, off, std::uint32_t*); }

}  // namespace

// ---------------------------------------------------------------------------
// Toeplitz, Reta
// ---------------------------------------------------------------------------

Toeplitz::Toeplitz(std::span<const std::uint8_t> key) noexcept {
    // Input bit i (MSB of byte 0 first) XORs the key's 32-bit window at bit i into the hash;
    // table_[p][v] is the XOR for the set bits of byte value v at input byte p.
    if (key.size() < kInputLen + 4) return;
    for (std::size_t p = 0; p < kInputLen; ++p) {
        std::array<std::uint32_t, 8> win{};
        for (std::size_t j = 0; j < 8; ++j) win[j] = key_window(key, p * 8 + j);
        for (std::uint32_t v = 0; v < 256; ++v) {
            std::uint32_t h = 0;
            for (std::size_t j = 0; j < 8; ++j) {
                if (v & (0x80u >> j)) h ^= win[j];
            }
            table_[p][v] = h;
        }
    }
}

std::uint32_t Toeplitz::hash(const FourTuple& t) const noexcept {
    const std::uint32_t src = t.remote_addr.value();
    const std::uint32_t dst = t.local_addr.value();
    const std::uint8_t addrs[8] = {
        static_cast<std::uint8_t>(src >> 24), static_cast<std::uint8_t>(src >> 16), static_cast<std::uint8_t>(src >> 8),
        static_cast<std::uint8_t>(src),       static_cast<std::uint8_t>(dst >> 24), static_cast<std::uint8_t>(dst >> 16),
        static_cast<std::uint8_t>(dst >> 8),  static_cast<std::uint8_t>(dst),
    };
    const std::uint8_t ports[4] = {
        static_cast<std::uint8_t>(t.remote_port >> 8), static_cast<std::uint8_t>(t.remote_port),
        static_cast<std::uint8_t>(t.local_port >> 8), static_cast<std::uint8_t>(t.local_port),
    };
    return hash_bytes(addrs, ports);
}

Reta Reta::spread(std::uint16_t size, std::uint16_t targets) {
    Reta r;
    r.targets_ = std::max<std::uint16_t>(targets, 1);
    r.entries_.resize(std::max<std::uint16_t>(size, 1));
    for (std::size_t i = 0; i < r.entries_.size(); ++i) r.entries_[i] = static_cast<std::uint16_t>(i % r.targets_);
    r.mask_ = static_cast<std::uint32_t>(r.entries_.size() - 1);
    return r;
}

Reta Reta::from_entries(std::vector<std::uint16_t> entries, std::uint16_t targets) {
    Reta r;
    r.targets_ = std::max<std::uint16_t>(targets, 1);
    r.entries_ = std::move(entries);
    if (r.entries_.empty()) r.entries_.push_back(0);
    r.mask_ = static_cast<std::uint32_t>(r.entries_.size() - 1);
    return r;
}

// ---------------------------------------------------------------------------
// SteeringGroup
// ---------------------------------------------------------------------------

SteeringGroup::SteeringGroup(const SteeringConfig& cfg, Reta reta)
    : mode_(cfg.mode), workers_(cfg.workers), hash_(kSymmetricRssKey), reta_(std::move(reta)) {}

Result<std::unique_ptr<SteeringGroup>, std::string> SteeringGroup::create(const SteeringConfig& cfg) {
    if (cfg.workers == 0) return Err(std::string("steering: no workers"));
    if (cfg.name.size() > 16) return Err("steering: name " + cfg.name + " is longer than 16 characters");
    if (!std::has_single_bit(cfg.ring_size)) {
        return Err("steering: ring size " + std::to_string(cfg.ring_size) + " is not a power of two");
    }
    Reta reta;
    if (cfg.reta.empty()) {
        if (!std::has_single_bit(static_cast<unsigned>(cfg.reta_size))) {
            return Err("steering: RETA size " + std::to_string(cfg.reta_size) + " is not a power of two");
        }
        reta = Reta::spread(cfg.reta_size, cfg.workers);
    } else {
        if (!std::has_single_bit(cfg.reta.size())) {
            return Err("steering: RETA size " + std::to_string(cfg.reta.size()) + " is not a power of two");
        }
        for (std::size_t i = 0; i < cfg.reta.size(); ++i) {
            if (cfg.reta[i] >= cfg.workers) {
                return Err("steering: RETA entry " + std::to_string(i) + " names queue " + std::to_string(cfg.reta[i]) +
                           " of " + std::to_string(cfg.workers) + " workers");
            }
        }
        reta = Reta::from_entries(cfg.reta, cfg.workers);
    }
    std::unique_ptr<SteeringGroup> g(new SteeringGroup(cfg, std::move(reta)));
    g->flags_offset_ = rte_mbuf_dynfield_register(&kFlagsField);
    if (g->flags_offset_ < 0) return Err(std::string("rte_mbuf_dynfield_register: ") + rte_strerror(rte_errno));
    g->rings_.assign(cfg.workers, nullptr);
    for (std::uint16_t w = 0; w < cfg.workers; ++w) {
        const std::string name = "ust_" + cfg.name + "_" + std::to_string(w);
        const int socket = w < cfg.ring_sockets.size() ? cfg.ring_sockets[w] : SOCKET_ID_ANY;
        // Many producers (every worker of the port), one consumer (worker w).
        g->rings_[w] = rte_ring_create(name.c_str(), cfg.ring_size, socket, RING_F_SC_DEQ);
        if (g->rings_[w] == nullptr) return Err("rte_ring_create(" + name + "): " + rte_strerror(rte_errno));
    }
    return g;
}

SteeringGroup::~SteeringGroup() {
    (void)drain();
    for (rte_ring* r : rings_) rte_ring_free(r);
}

std::uint32_t SteeringGroup::drain() noexcept {
    std::uint32_t freed = 0;
    for (rte_ring* r : rings_) {
        if (r == nullptr) continue;
        void* objs[64];
        for (;;) {
            const unsigned k = rte_ring_sc_dequeue_burst(r, objs, 64, nullptr);
            if (k == 0) break;
            rte_pktmbuf_free_bulk(reinterpret_cast<rte_mbuf**>(objs), k);
            freed += k;
        }
    }
    return freed;
}

// ---------------------------------------------------------------------------
// SteeringPort
// ---------------------------------------------------------------------------

SteeringPort::SteeringPort(SteeringGroup& group, std::uint16_t worker, DpdkPort& inner, bool has_rx_queue, Pool& pool)
    : group_(group),
      worker_(worker),
      inner_(inner),
      has_rx_(has_rx_queue),
      pool_(pool),
      pending_(static_cast<std::size_t>(group.workers()) * kMaxBurst),
      pending_n_(group.workers(), 0) {}

int SteeringPort::tcp_owner(const std::uint8_t* data, std::uint32_t len, std::uint32_t l3) const noexcept {
    if (l3 < 2 || len < l3 + 20 || be16_at(data + l3 - 2) != kEtherIpv4) return -1;
    const std::uint8_t* ip = data + l3;
    const std::uint32_t ihl = (ip[0] & 0x0fu) * 4u;
    if ((ip[0] >> 4) != 4 || ihl < 20 || ip[9] != 6 || len < l3 + ihl + 4) return -1;
    if ((be16_at(ip + 6) & 0x3fffu) != 0) return -1;  // MF or an offset: no ports to hash
    return group_.reta().lookup(group_.hasher().hash_bytes(ip + 12, ip + ihl));
}

std::uint16_t SteeringPort::rx_burst(engine::RxFrame* out, std::uint16_t max) noexcept {
    max = std::min(max, kMaxBurst);
    const int off = group_.flags_offset();
    std::uint16_t n = 0;
    // Frames other workers steered here first: they have waited already.
    {
        void* objs[kMaxBurst];
        const unsigned k = rte_ring_sc_dequeue_burst(group_.ring(worker_), objs, max, nullptr);
        for (unsigned i = 0; i < k; ++i) {
            auto* m = static_cast<rte_mbuf*>(objs[i]);
            const std::uint32_t flags = flags_of(m, off);
            engine::RxFrame& f = out[n++];
            f = engine::RxFrame{m, rte_pktmbuf_mtod(m, std::uint8_t*), rte_pktmbuf_data_len(m), flags};
            if (flags & engine::kRxReplica) {
                ++st_.arp_replicas_in;
                continue;
            }
            ++st_.steered_in;
            if (const int w = tcp_owner(f.data, f.len, kEthLen); w >= 0) {
                ++st_.rx_tcp;
                if (w != worker_) ++st_.rx_not_owned;
            }
        }
    }
    if (!has_rx_ || n == max) return n;
    const std::uint16_t got = inner_.rx_burst(out + n, static_cast<std::uint16_t>(max - n));
    if (got == 0) return n;
    std::uint16_t keep = n;
    bool any_pending = false;
    for (std::uint16_t i = n; i < n + got; ++i) {
        const engine::RxFrame f = out[i];
        const int w = tcp_owner(f.data, f.len, kEthLen);
        if (w >= 0 && w != worker_) {
            auto* m = static_cast<rte_mbuf*>(f.handle);
            flags_of(m, off) = f.flags;
            pending_[static_cast<std::size_t>(w) * kMaxBurst + pending_n_[w]++] = m;
            ++st_.steered_out;
            any_pending = true;
            continue;
        }
        if (w >= 0) {
            ++st_.rx_tcp;
        } else if (f.len >= kEthLen && be16_at(f.data + 12) == kEtherArp && group_.workers() > 1) {
            replicate_arp(f);
            any_pending = true;
        }
        out[keep++] = f;
    }
    if (any_pending) flush_pending();
    return keep;
}

void SteeringPort::replicate_arp(const engine::RxFrame& f) noexcept {
    auto* m = static_cast<rte_mbuf*>(f.handle);
    const int off = group_.flags_offset();
    for (std::uint16_t w = 0; w < group_.workers(); ++w) {
        if (w == worker_) continue;
        rte_mbuf* c = rte_pktmbuf_copy(m, pool_.get(), 0, UINT32_MAX);
        if (c == nullptr) {
            ++st_.replica_no_buffer;
            continue;
        }
        flags_of(c, off) = f.flags | engine::kRxReplica;
        pending_[static_cast<std::size_t>(w) * kMaxBurst + pending_n_[w]++] = c;
        ++st_.arp_replicas_out;
    }
}

void SteeringPort::flush_pending() noexcept {
    for (std::uint16_t w = 0; w < group_.workers(); ++w) {
        const unsigned k = pending_n_[w];
        if (k == 0) continue;
        void** objs = pending_.data() + static_cast<std::size_t>(w) * kMaxBurst;
        const unsigned sent = rte_ring_mp_enqueue_burst(group_.ring(w), objs, k, nullptr);
        if (sent < k) {
            st_.ring_full += k - sent;
            rte_pktmbuf_free_bulk(reinterpret_cast<rte_mbuf**>(objs + sent), k - sent);
        }
        pending_n_[w] = 0;
    }
}

std::uint16_t SteeringPort::tx_burst(engine::TxFrame* frames, std::uint16_t n) noexcept {
    for (std::uint16_t i = 0; i < n; ++i) {
        const engine::TxFrame& f = frames[i];
        const int w = f.raw != nullptr ? tcp_owner(f.raw_data, f.raw_len, kEthLen)
                                       : tcp_owner(f.hdr.data(), f.hdr_len, f.l3_offset);
        if (w < 0) continue;
        ++st_.tx_tcp;
        if (w != worker_) ++st_.tx_not_owned;
    }
    return inner_.tx_burst(frames, n);
}

}  // namespace ustcp::dpdk
