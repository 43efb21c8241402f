// rte_ip_frag_table_del_expired_entries is experimental in 22.11.
#define ALLOW_EXPERIMENTAL_API 1

#include "ustcp/dpdk/fragments.hpp"

#include <rte_byteorder.h>
#include <rte_errno.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_ip_frag.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <cerrno>
#include <cstring>

namespace ustcp::dpdk {

namespace {

constexpr std::uint16_t kEtherIpv4 = 0x0800;
constexpr std::uint16_t kEtherVlan = 0x8100;
constexpr std::uint32_t kBucketEntries = 4;  // hash associativity; a power of two, as rte_ip_frag asks

std::uint16_t read_be16(const std::uint8_t* p) noexcept { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }

/// The L2 header length of an Ethernet or single-tagged frame carrying IPv4, or 0.
std::uint16_t ipv4_l2_len(const std::uint8_t* d, std::uint32_t len) noexcept {
    if (len < 14) return 0;
    const std::uint16_t type = read_be16(d + 12);
    if (type == kEtherIpv4) return 14;
    if (type == kEtherVlan && len >= 18 && read_be16(d + 16) == kEtherIpv4) return 18;
    return 0;
}

std::uint32_t next_pow2(std::uint32_t v) noexcept {
    std::uint32_t p = 1;
    while (p < v) p <<= 1;
    return p;
}

}  // namespace

std::optional<std::uint16_t> ipv4_fragment_l2_len(const rte_mbuf* m) noexcept {
    const auto* d = rte_pktmbuf_mtod(m, const std::uint8_t*);
    const std::uint32_t len = rte_pktmbuf_data_len(m);
    const std::uint16_t l2 = ipv4_l2_len(d, len);
    if (l2 == 0 || len < l2 + 20u) return std::nullopt;
    const std::uint16_t frag = read_be16(d + l2 + 6);
    if ((frag & (RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) == 0) return std::nullopt;
    return l2;
}

Result<std::unique_ptr<Reassembler>, std::string> Reassembler::create(const std::string& name,
                                                                      const ReassemblyConfig& cfg, int socket) {
    if (cfg.max_datagrams == 0 || cfg.linear_buffers == 0 || cfg.timeout <= Duration::zero()) {
        return Err(std::string("reassembly ") + name + ": max_datagrams, linear_buffers and timeout must be > 0");
    }
    std::unique_ptr<Reassembler> r(new Reassembler());
    r->timeout_ns_ = static_cast<std::uint64_t>(cfg.timeout.as_nanos());
    // Time is passed in nanoseconds (Instant), so "cycles" here are nanoseconds.
    const std::uint32_t buckets = next_pow2(cfg.max_datagrams);
    r->tbl_ = rte_ip_frag_table_create(buckets, kBucketEntries, cfg.max_datagrams, r->timeout_ns_, socket);
    if (r->tbl_ == nullptr) {
        return Err("rte_ip_frag_table_create(" + name + "): " + rte_strerror(rte_errno));
    }
    r->dr_ = std::make_unique<rte_ip_frag_death_row>();
    r->dr_->cnt = 0;
    r->linear_ = rte_pktmbuf_pool_create(name.c_str(), cfg.linear_buffers, 0, 0,
                                         static_cast<std::uint16_t>(kMaxFrame + RTE_PKTMBUF_HEADROOM), socket);
    if (r->linear_ == nullptr) {
        return Err("rte_pktmbuf_pool_create(" + name + "): " + rte_strerror(rte_errno));
    }
    return r;
}

Reassembler::~Reassembler() {
    // rte_ip_frag_table_destroy frees the mbufs the table still holds.
    if (tbl_ != nullptr) rte_ip_frag_table_destroy(tbl_);
    if (dr_) flush_death_row();
    if (linear_ != nullptr) rte_mempool_free(linear_);
}

std::uint32_t Reassembler::linear_in_use() const noexcept {
    return linear_ == nullptr ? 0 : rte_mempool_in_use_count(linear_);
}

std::uint32_t Reassembler::flush_death_row() noexcept {
    const std::uint32_t n = dr_->cnt;
    if (n != 0) rte_ip_frag_free_death_row(dr_.get(), 0);
    return n;
}

void Reassembler::expire(Instant now) noexcept {
    // The sweep stops early when the death row cannot take another datagram; loop until it is
    // done (a pass that frees nothing).
    for (;;) {
        rte_ip_frag_table_del_expired_entries(tbl_, dr_.get(), static_cast<std::uint64_t>(now.nanos()));
        const std::uint32_t n = flush_death_row();
        c_.timeout += n;
        if (n == 0) break;
    }
}

void Reassembler::drop_all() noexcept {
    // Everything is older than "the end of time".
    for (;;) {
        rte_ip_frag_table_del_expired_entries(tbl_, dr_.get(), UINT64_MAX);
        if (flush_death_row() == 0) break;
    }
}

rte_mbuf* Reassembler::push(rte_mbuf* m, std::uint16_t l2_len, Instant now) noexcept {
    ++c_.fragments;
    auto drop_bad = [&]() -> rte_mbuf* {
        ++c_.bad;
        rte_pktmbuf_free(m);
        return nullptr;
    };
    // Our own checks first: rte_ip_frag trusts the header it is given.
    if (m->nb_segs != 1 || rte_pktmbuf_data_len(m) < l2_len + 20u) return drop_bad();
    auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, l2_len);
    const std::uint32_t ihl = (ip->version_ihl & 0x0f) * 4u;
    const std::uint32_t total = rte_be_to_cpu_16(ip->total_length);
    if ((ip->version_ihl >> 4) != 4 || ihl < 20 || l2_len + ihl > rte_pktmbuf_data_len(m)) return drop_bad();
    if (rte_ipv4_cksum(ip) != 0) return drop_bad();  // over a correct header (its sum included): 0
    if (total < ihl || l2_len + total > rte_pktmbuf_pkt_len(m)) return drop_bad();
    const std::uint16_t frag = rte_be_to_cpu_16(ip->fragment_offset);
    const std::uint32_t offset = (frag & RTE_IPV4_HDR_OFFSET_MASK) * 8u;
    const std::uint32_t payload = total - ihl;
    const bool more = (frag & RTE_IPV4_HDR_MF_FLAG) != 0;
    if (payload == 0 || (more && payload % 8 != 0) || offset + payload + ihl > 65535) return drop_bad();
    if (l2_len + ihl + offset + payload > kMaxFrame) {
        ++c_.too_big;
        ++c_.bad;
        rte_pktmbuf_free(m);
        return nullptr;
    }
    // Ethernet pads short frames; rte_ip_frag would take the padding for payload.
    if (rte_pktmbuf_pkt_len(m) > l2_len + total) {
        (void)rte_pktmbuf_trim(m, static_cast<std::uint16_t>(rte_pktmbuf_pkt_len(m) - (l2_len + total)));
    }
    m->l2_len = l2_len;
    m->l3_len = ihl;
    expire(now);

    // The expire() sweep just above left no stale entry, so a push that puts mbufs on the
    // death row either found no room (only `m` goes: table full) or found the datagram's set of
    // fragments inconsistent (its held fragments go too: bad).
    const std::uint32_t before = dr_->cnt;
    rte_mbuf* whole = rte_ipv4_frag_reassemble_packet(tbl_, dr_.get(), m, static_cast<std::uint64_t>(now.nanos()), ip);
    const std::uint32_t dropped = dr_->cnt - before;
    if (dropped != 0) {
        if (whole == nullptr && dropped == 1 && dr_->row[dr_->cnt - 1] == m) ++c_.table_full;
        else c_.bad += dropped;
        flush_death_row();
    }
    if (whole == nullptr) return nullptr;
    whole = linearise(whole);
    if (whole == nullptr) return nullptr;
    auto* wip = rte_pktmbuf_mtod_offset(whole, rte_ipv4_hdr*, l2_len);
    wip->hdr_checksum = 0;  // rte_ip_frag rewrote total length and flags and left the sum 0
    wip->hdr_checksum = rte_ipv4_cksum(wip);
    whole->ol_flags = 0;    // whatever the NIC said about the first fragment is not about this
    ++c_.datagrams;
    return whole;
}

rte_mbuf* Reassembler::linearise(rte_mbuf* m) noexcept {
    if (m->nb_segs == 1) return m;
    // In place when the first fragment's buffer has room for the rest.
    if (rte_pktmbuf_linearize(m) == 0) return m;
    rte_mbuf* l = rte_pktmbuf_alloc(linear_);
    if (l == nullptr) {
        ++c_.no_buffer;
        rte_pktmbuf_free(m);
        return nullptr;
    }
    const std::uint32_t len = rte_pktmbuf_pkt_len(m);
    auto* dst = reinterpret_cast<std::uint8_t*>(rte_pktmbuf_append(l, static_cast<std::uint16_t>(len)));
    if (dst == nullptr) {  // cannot happen: push() checked kMaxFrame
        ++c_.too_big;
        rte_pktmbuf_free(l);
        rte_pktmbuf_free(m);
        return nullptr;
    }
    std::uint32_t off = 0;
    for (rte_mbuf* s = m; s != nullptr; s = s->next) {
        std::memcpy(dst + off, rte_pktmbuf_mtod(s, const std::uint8_t*), s->data_len);
        off += s->data_len;
    }
    l->port = m->port;
    l->packet_type = m->packet_type;
    rte_pktmbuf_free(m);
    return l;
}

int fragment_ipv4(rte_mbuf* m, std::uint16_t l2_len, std::uint16_t mtu, rte_mempool* pool, rte_mbuf** out,
                  std::uint16_t max_out) noexcept {
    std::uint8_t l2[18];
    if (l2_len > sizeof l2 || rte_pktmbuf_data_len(m) < l2_len + 20u) {
        rte_pktmbuf_free(m);
        return -EINVAL;
    }
    std::memcpy(l2, rte_pktmbuf_mtod(m, const std::uint8_t*), l2_len);
    (void)rte_pktmbuf_adj(m, l2_len);
    // rte_ipv4_fragment_packet reports too small an output array as EINVAL; say ENOSPC.
    const auto* ip = rte_pktmbuf_mtod(m, const rte_ipv4_hdr*);
    const std::uint32_t ihl = (ip->version_ihl & 0x0f) * 4u;
    if ((ip->version_ihl >> 4) != 4 || ihl < 20 || mtu <= ihl + 8) {
        rte_pktmbuf_free(m);
        return -EINVAL;
    }
    const std::uint32_t per = (mtu - ihl) & ~7u;
    if ((rte_pktmbuf_pkt_len(m) - ihl + per - 1) / per > max_out) {
        rte_pktmbuf_free(m);
        return -ENOSPC;
    }
    const int n = rte_ipv4_fragment_packet(m, out, max_out, mtu, pool, pool);
    rte_pktmbuf_free(m);  // the fragments hold their own references to its payload
    if (n < 0) return n;
    for (int i = 0; i < n; ++i) {
        rte_mbuf* f = out[i];
        auto* fip = rte_pktmbuf_mtod(f, rte_ipv4_hdr*);
        fip->hdr_checksum = rte_ipv4_cksum(fip);
        auto* h = reinterpret_cast<std::uint8_t*>(rte_pktmbuf_prepend(f, l2_len));
        if (h == nullptr) {
            for (int j = 0; j < n; ++j) rte_pktmbuf_free(out[j]);
            return -ENOSPC;
        }
        std::memcpy(h, l2, l2_len);
        f->ol_flags = 0;
        f->l2_len = l2_len;
    }
    return n;
}

}  // namespace ustcp::dpdk
