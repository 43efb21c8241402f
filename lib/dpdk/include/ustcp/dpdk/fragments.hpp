// IPv4 fragments at the port: the RX side puts fragmented datagrams back together (DPDK's
// rte_ip_frag) so the engine only ever sees whole, contiguous frames; the TX side splits a
// raw frame bigger than the MTU (an ICMP echo reply to a 3000-byte ping) into fragments.
// One Reassembler per DpdkPort, that is per RX queue and lcore: nothing is shared.
//
//   auto r = dpdk::Reassembler::create("ustcp_rsm_p0q0", {}, socket);   // table + linear pool
//   ...
//   r->expire(now);                          // once per burst: datagrams past their timeout
//   if (auto l2 = dpdk::ipv4_fragment_l2_len(m)) m = r->push(m, *l2, now);  // nullptr: held or dropped
//
// What push() drops, each counted by reason in ReassemblyCounters (the mbufs go back to their
// pool; nothing is lost):
//   - bad:       a fragment that cannot be part of a datagram (header too short or with a bad
//                checksum, total length beyond the frame, an empty fragment, a non-last fragment
//                not a multiple of 8 bytes, an end beyond 65535 bytes), and, from rte_ip_frag, a
//                datagram whose fragments overlap, repeat (a duplicate is an overlap: DPDK keeps
//                no per-byte map, so the whole datagram goes; the sender retransmits it), or are
//                more than RTE_LIBRTE_IP_FRAG_MAX_FRAG (8 in Debian's build);
//   - table_full: no entry for a new datagram (`max_datagrams` in flight, or its two hash
//                buckets full);
//   - timeout:   the fragments of a datagram not complete `timeout` after its first one came;
//   - too_big:   a datagram that would not fit one linear buffer (kMaxFrame bytes with its L2
//                header);
//   - no_buffer: the linear pool was empty when a datagram completed (recovers when buffers
//                come back).
// Counters are in fragments (mbufs), except `datagrams` (completed) and `too_big`/`no_buffer`
// (datagrams).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "ustcp/base/result.hpp"
#include "ustcp/base/time.hpp"

struct rte_mbuf;
struct rte_mempool;
struct rte_ip_frag_tbl;
struct rte_ip_frag_death_row;

namespace ustcp::dpdk {

struct ReassemblyConfig {
    /// Datagrams being reassembled at once; the table has 4 entries per slot of a bucket so that
    /// hash collisions rarely refuse one before this bound does.
    std::uint32_t max_datagrams = 1024;
    /// How long the fragments of one datagram may take to arrive. Linux waits 30 s
    /// (net.ipv4.ipfrag_time), DPDK's ip_reassembly example 1 s; a bounded table wants the short
    /// end (a lost fragment holds its entry and its mbufs until then).
    Duration timeout = Duration::seconds(2);
    /// Buffers a completed datagram is copied into when it does not fit the first fragment's
    /// mbuf; each holds kMaxFrame bytes. They live as long as the engine keeps the frame (as TCP
    /// payload, until the echo of it is acknowledged).
    std::uint32_t linear_buffers = 63;
};

struct ReassemblyCounters {
    std::uint64_t fragments = 0;   ///< fragments pushed
    std::uint64_t datagrams = 0;   ///< datagrams completed and returned
    std::uint64_t bad = 0;
    std::uint64_t table_full = 0;
    std::uint64_t timeout = 0;
    std::uint64_t too_big = 0;
    std::uint64_t no_buffer = 0;
};

/// The L2 header length (14, or 18 with one 802.1Q tag) when `m` holds an IPv4 fragment (MF set
/// or a non-zero offset) with its IPv4 header in the first segment; nullopt otherwise.
[[nodiscard]] std::optional<std::uint16_t> ipv4_fragment_l2_len(const rte_mbuf* m) noexcept;

class Reassembler {
public:
    /// The largest reassembled frame, L2 header included (an mbuf segment holds at most 65535
    /// bytes, less the headroom).
    static constexpr std::uint32_t kMaxFrame = 65535 - 128;

    /// A table of cfg.max_datagrams entries and a pool `name` of cfg.linear_buffers linear
    /// buffers on `socket`. Errors: rte_ip_frag_table_create's or rte_pktmbuf_pool_create's
    /// (rte_strerror), or a zero max_datagrams/linear_buffers/timeout.
    static Result<std::unique_ptr<Reassembler>, std::string> create(const std::string& name,
                                                                   const ReassemblyConfig& cfg, int socket);
    Reassembler(const Reassembler&) = delete;
    Reassembler& operator=(const Reassembler&) = delete;
    /// Frees every held fragment, the table and the linear pool (whose buffers must all be back).
    ~Reassembler();

    /// Takes fragment `m` (a frame whose IPv4 header starts at `l2_len`, as ipv4_fragment_l2_len
    /// says). Returns the whole datagram as one contiguous frame (the first fragment's L2 header,
    /// a fresh IPv4 header checksum, ol_flags cleared) when `m` completed it; nullptr when `m` is
    /// held for the rest or was dropped (counted). The caller owns what is returned.
    [[nodiscard]] rte_mbuf* push(rte_mbuf* m, std::uint16_t l2_len, Instant now) noexcept;
    /// Drops (counts as timeout) the datagrams whose first fragment came more than `timeout`
    /// before `now`. push() does it first; call it once per burst too, so that a datagram whose
    /// last fragment never comes is let go when no other fragment arrives either.
    void expire(Instant now) noexcept;
    /// Drops every held fragment (shutdown); not counted as a timeout.
    void drop_all() noexcept;

    [[nodiscard]] const ReassemblyCounters& counters() const noexcept { return c_; }
    /// Linear buffers handed out and not yet freed.
    [[nodiscard]] std::uint32_t linear_in_use() const noexcept;

private:
    Reassembler() = default;
    /// Frees the death row; returns how many mbufs were on it.
    std::uint32_t flush_death_row() noexcept;
    rte_mbuf* linearise(rte_mbuf* m) noexcept;

    rte_ip_frag_tbl* tbl_ = nullptr;
    std::unique_ptr<rte_ip_frag_death_row> dr_;
    rte_mempool* linear_ = nullptr;
    std::uint64_t timeout_ns_ = 0;
    ReassemblyCounters c_;
};

/// Splits the IPv4 frame `m` (IPv4 header at `l2_len`) into fragments of at most `mtu` bytes of
/// IPv4 each (rte_ipv4_fragment_packet: headers in new mbufs from `pool`, payload attached as
/// indirect mbufs, so nothing is copied), each with `m`'s L2 header and a software IPv4 header
/// checksum, written to out[0..]. Consumes `m` in every case. Returns the number of fragments,
/// or a negative errno: -EINVAL not IPv4 / header cut short, -ENOTSUP DF set, -ENOSPC more than
/// `max_out` fragments or no headroom for the L2 header, -ENOMEM the pool is empty.
[[nodiscard]] int fragment_ipv4(rte_mbuf* m, std::uint16_t l2_len, std::uint16_t mtu, rte_mempool* pool,
                                rte_mbuf** out, std::uint16_t max_out) noexcept;

}  // namespace ustcp::dpdk
