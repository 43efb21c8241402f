// rte_pcapng is experimental in 22.11.
#define ALLOW_EXPERIMENTAL_API 1

#include "ustcp/dpdk/capture.hpp"

#include <fcntl.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_pcapng.h>
#include <rte_tcp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ustcp::dpdk {

namespace {

constexpr std::uint32_t kPoolMbufs = 1023;
constexpr std::uint16_t kBatch = 64;  // copies per writev (well under IOV_MAX)

std::atomic<unsigned> g_pool_seq{0};  // unique rte_mempool names when several captures are open

}  // namespace

Result<std::unique_ptr<Capture>, std::string> Capture::open(const std::string& path, std::uint16_t mtu) {
    std::unique_ptr<Capture> c(new Capture());
    c->path_ = path;
    c->snaplen_ = static_cast<std::uint32_t>(mtu) + 18;
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return Err("cannot open capture file " + path + ": " + std::strerror(errno));
    const std::string name = "ustcp_cap" + std::to_string(g_pool_seq.fetch_add(1));
    // The copy holds the frame, the enhanced packet block in front (headroom) and its options
    // behind; scratch copies for checksum fixing come from the same pool.
    const std::uint32_t room = RTE_PKTMBUF_HEADROOM + rte_pcapng_mbuf_size(c->snaplen_);
    c->pool_ = rte_pktmbuf_pool_create(name.c_str(), kPoolMbufs, 32, 0, static_cast<std::uint16_t>(room),
                                       SOCKET_ID_ANY);
    if (c->pool_ == nullptr) {
        ::close(fd);
        return Err("capture file " + path + ": rte_pktmbuf_pool_create: " + rte_strerror(rte_errno));
    }
    // rte_pcapng_fdopen writes an interface block for each of these ports (and only these).
    std::uint16_t p = 0;
    RTE_ETH_FOREACH_DEV(p) {
        if (p >= c->known_ports_.size()) c->known_ports_.resize(p + 1u, false);
        c->known_ports_[p] = true;
    }
    c->pcapng_ = rte_pcapng_fdopen(fd, nullptr, nullptr, "ustcp", nullptr);
    if (c->pcapng_ == nullptr) {
        ::close(fd);
        return Err("capture file " + path + ": rte_pcapng_fdopen: " + rte_strerror(rte_errno));
    }
    return c;
}

Capture::~Capture() {
    if (pcapng_ != nullptr) rte_pcapng_close(pcapng_);  // closes the file descriptor too
    if (pool_ != nullptr) rte_mempool_free(pool_);
}

rte_mbuf* Capture::with_checksums(const rte_mbuf* m) noexcept {
    rte_mbuf* s = rte_pktmbuf_copy(m, pool_, 0, UINT32_MAX);
    if (s == nullptr) return nullptr;
    const std::uint32_t l3 = m->l2_len;
    if (s->data_len < l3 + sizeof(rte_ipv4_hdr)) return s;  // nothing we can fix
    auto* ip = rte_pktmbuf_mtod_offset(s, rte_ipv4_hdr*, l3);
    if (m->ol_flags & RTE_MBUF_F_TX_IP_CKSUM) {
        ip->hdr_checksum = 0;
        ip->hdr_checksum = rte_ipv4_cksum(ip);
    }
    if ((m->ol_flags & RTE_MBUF_F_TX_L4_MASK) == RTE_MBUF_F_TX_TCP_CKSUM &&
        s->data_len >= l3 + m->l3_len + sizeof(rte_tcp_hdr)) {
        auto* tcp = rte_pktmbuf_mtod_offset(s, rte_tcp_hdr*, l3 + m->l3_len);
        tcp->cksum = 0;  // it held the pseudo-header sum the offload starts from
        tcp->cksum = rte_ipv4_udptcp_cksum_mbuf(s, ip, static_cast<std::uint16_t>(l3 + m->l3_len));
    }
    return s;
}

void Capture::write(std::uint16_t port, std::uint16_t queue, rte_mbuf* const* frames, std::uint16_t n,
                    Direction dir) noexcept {
    if (n == 0 || failed_.load(std::memory_order_relaxed)) return;
    if (port >= known_ports_.size() || !known_ports_[port]) {
        dropped_.fetch_add(n, std::memory_order_relaxed);  // no interface block in the file
        return;
    }
    const auto d = dir == Direction::In ? RTE_PCAPNG_DIRECTION_IN : RTE_PCAPNG_DIRECTION_OUT;
    const std::uint64_t ts = rte_get_tsc_cycles();
    constexpr std::uint64_t kNicSums = RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_L4_MASK;
    rte_mbuf* copies[kBatch];
    std::uint16_t k = 0;
    std::uint64_t missed = 0;
    for (std::uint16_t i = 0; i < n; ++i) {
        const rte_mbuf* src = frames[i];
        rte_mbuf* fixed = nullptr;
        if (dir == Direction::Out && (src->ol_flags & kNicSums) != 0) {
            fixed = with_checksums(src);
            if (fixed == nullptr) {
                ++missed;
                continue;
            }
            src = fixed;
        }
        rte_mbuf* c = rte_pcapng_copy(port, queue, src, pool_, snaplen_, ts, d);
        if (fixed != nullptr) rte_pktmbuf_free(fixed);
        if (c == nullptr) {
            ++missed;
            continue;
        }
        copies[k++] = c;
        if (k == kBatch) {
            flush(copies, k);
            k = 0;
        }
    }
    if (k != 0) flush(copies, k);
    if (missed != 0) dropped_.fetch_add(missed, std::memory_order_relaxed);
}

void Capture::flush(rte_mbuf** copies, std::uint16_t k) noexcept {
    std::uint64_t bytes = 0;
    for (std::uint16_t i = 0; i < k; ++i) bytes += rte_pktmbuf_pkt_len(copies[i]);
    if (!failed_.load(std::memory_order_relaxed)) {
        const ssize_t w = rte_pcapng_write_packets(pcapng_, copies, k);
        if (w < 0 || static_cast<std::uint64_t>(w) != bytes) {
            write_errors_.fetch_add(1, std::memory_order_relaxed);
            failed_.store(true, std::memory_order_relaxed);
        } else {
            written_.fetch_add(k, std::memory_order_relaxed);
        }
    }
    rte_pktmbuf_free_bulk(copies, k);
}

}  // namespace ustcp::dpdk
