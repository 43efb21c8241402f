#include "ustcp/dpdk/runtime.hpp"

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_pdump.h>

#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>

namespace ustcp::dpdk {

namespace {

bool has_arg(int argc, char** argv, std::initializer_list<const char*> names) {
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--") == 0) return false;
        for (const char* n : names) {
            const std::size_t k = std::strlen(n);
            if (std::strncmp(argv[i], n, k) == 0 && (argv[i][k] == '\0' || argv[i][k] == '=' || n[1] != '-')) return true;
        }
    }
    return false;
}

}  // namespace

Result<EalStart, std::string> start_eal(int argc, char** argv) {
    // The machine's own NIC must never be taken: no PCI probing unless devices are named.
    static std::vector<std::string> storage;
    static std::vector<char*> args;
    storage.clear();
    args.clear();
    EalStart out;
    storage.emplace_back(argc > 0 ? argv[0] : "ustcp");
    if (!has_arg(argc, argv, {"-a", "--allow", "-b", "--block", "--no-pci"})) out.added.emplace_back("--no-pci");
    if (!has_arg(argc, argv, {"--file-prefix"})) out.added.push_back("--file-prefix=ustcp-" + std::to_string(getpid()));
    for (const auto& a : out.added) storage.push_back(a);
    for (int i = 1; i < argc; ++i) storage.emplace_back(argv[i]);
    for (auto& s : storage) args.push_back(s.data());
    args.push_back(nullptr);
    const int n = static_cast<int>(args.size()) - 1;
    const int used = rte_eal_init(n, args.data());
    if (used < 0) return Err(std::string("rte_eal_init: ") + rte_strerror(rte_errno));
    // Arguments after the EAL's (and after its "--", which rte_eal_init consumes).
    out.app_argc = n - used;
    out.app_argv = args.data() + used;
    if (out.app_argc > 0) {
        // Keep argv[0] for the application's parser.
        out.app_argv[0] = args[0];
    }
    // The server side of dpdk-dumpcap/dpdk-pdump: a secondary process asks over EAL IPC, and
    // this process copies the frames of the asked queues into the secondary's ring from RX/TX
    // callbacks. Without IPC (--in-memory, --no-shconf) there is nobody to ask; not an error.
    if (rte_eal_process_type() == RTE_PROC_PRIMARY && rte_pdump_init() != 0) {
        out.pdump_error = std::string("rte_pdump_init: ") + rte_strerror(rte_errno);
    }
    return out;
}

void stop_eal() {
    if (rte_eal_process_type() == RTE_PROC_PRIMARY) (void)rte_pdump_uninit();
    rte_eal_cleanup();
}

Instant now() noexcept {
    static const double ns_per_cycle = 1e9 / static_cast<double>(rte_get_tsc_hz());
    return Instant::from_nanos(static_cast<std::int64_t>(static_cast<double>(rte_get_tsc_cycles()) * ns_per_cycle));
}

// ---------------------------------------------------------------------------
// Pool
// ---------------------------------------------------------------------------

Pool::Pool(const std::string& name, std::uint32_t mbufs, std::uint32_t cache, std::uint16_t data_room, int socket) {
    mp_ = rte_pktmbuf_pool_create(name.c_str(), mbufs, cache, 0, data_room, socket);
    if (mp_ == nullptr) error_ = "rte_pktmbuf_pool_create(" + name + "): " + rte_strerror(rte_errno);
}

Pool::~Pool() {
    if (mp_ != nullptr) rte_mempool_free(mp_);
}

tcp::BufferOps Pool::ops() noexcept { return tcp::BufferOps{this, &Pool::alloc, &Pool::free_bulk}; }

std::uint32_t Pool::in_use() const noexcept { return mp_ == nullptr ? 0 : rte_mempool_in_use_count(mp_); }

tcp::MutBuf Pool::alloc(void* self, std::uint32_t /*want*/) noexcept {
    auto* p = static_cast<Pool*>(self);
    rte_mbuf* m = rte_pktmbuf_alloc(p->mp_);
    if (m == nullptr) {
        ++p->alloc_failed_;
        return {};
    }
    return tcp::MutBuf{m, rte_pktmbuf_mtod(m, std::uint8_t*), rte_pktmbuf_tailroom(m)};
}

void Pool::free_bulk(void* /*self*/, void* const* h, std::uint32_t n) noexcept {
    rte_pktmbuf_free_bulk(reinterpret_cast<rte_mbuf**>(const_cast<void**>(h)), n);
}

// ---------------------------------------------------------------------------
// Ports
// ---------------------------------------------------------------------------

std::uint16_t port_count() noexcept { return rte_eth_dev_count_avail(); }

Result<PortInfo, std::string> setup_port(std::uint16_t port_id, const PortSetup& s, Pool& pool) {
    if (!rte_eth_dev_is_valid_port(port_id)) return Err("port " + std::to_string(port_id) + " does not exist");
    rte_eth_dev_info di{};
    if (int rc = rte_eth_dev_info_get(port_id, &di); rc != 0) return Err(std::string("rte_eth_dev_info_get: ") + rte_strerror(-rc));
    PortInfo info;
    info.port_id = port_id;
    info.driver = di.driver_name != nullptr ? di.driver_name : "";
    char name[RTE_ETH_NAME_MAX_LEN] = {};
    rte_eth_dev_get_name_by_port(port_id, name);
    info.name = name;
    info.queues = std::min<std::uint16_t>(s.queues, di.max_tx_queues);
    info.rx_queues = std::min<std::uint16_t>(s.rx_queues != 0 ? s.rx_queues : s.queues, di.max_rx_queues);
    info.reta_size = di.reta_size;
    info.hash_key_size = di.hash_key_size;

    rte_eth_conf conf{};
    if (s.want_checksum_offload) {
        const std::uint64_t rx = RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM;
        if ((di.rx_offload_capa & rx) == rx) {
            conf.rxmode.offloads |= rx;
            info.caps.rx_ip_csum = info.caps.rx_l4_csum = true;
        }
        if (di.tx_offload_capa & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) {
            conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
            info.caps.tx_ip_csum = true;
        }
        // net_tap "offloads" in software, and DPDK 22.11's version sums a multi-segment mbuf
        // wrongly when a segment has an odd length (seen here: 25 of 1902 echoed segments
        // went out with bad checksums). The engine's own sum handles odd pieces; use it.
        const bool broken_tx_l4 = info.driver == "net_tap";
        if ((di.tx_offload_capa & RTE_ETH_TX_OFFLOAD_TCP_CKSUM) && !broken_tx_l4) {
            conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
            info.caps.tx_l4_csum = true;
        }
    }
    if (di.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) {
        conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
        info.multi_seg_tx = true;
    }
    // TSO needs chains (a segment of up to 64 KB is many mbufs) and the port's TCP checksum:
    // the segments it cuts are summed there (net_tap's GSO sums only with its TCP checksum
    // offload, which is not used, see above; so no TSO on net_tap).
    if (s.want_tso && info.multi_seg_tx && info.caps.tx_l4_csum && (di.tx_offload_capa & RTE_ETH_TX_OFFLOAD_TCP_TSO)) {
        conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_TCP_TSO;
        info.caps.tx_tso = true;
    }
    // RSS needs a redirection table to spread over the queues (net_tap reports hash
    // types but has none: it gets software steering instead).
    const std::uint64_t rss_hf = di.flow_type_rss_offloads & (RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_TCP);
    std::vector<std::uint8_t> key;
    if (s.want_rss && info.rx_queues > 1 && (rss_hf & RTE_ETH_RSS_NONFRAG_IPV4_TCP) && di.reta_size > 0) {
        conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
        conf.rx_adv_conf.rss_conf.rss_hf = rss_hf;
        if (!s.rss_key.empty() && di.hash_key_size > 0) {
            key.resize(di.hash_key_size);
            for (std::size_t i = 0; i < key.size(); ++i) key[i] = s.rss_key[i % s.rss_key.size()];
            conf.rx_adv_conf.rss_conf.rss_key = key.data();
            conf.rx_adv_conf.rss_conf.rss_key_len = static_cast<std::uint8_t>(key.size());
        }
        info.caps.rss = true;
    }
    if (int rc = rte_eth_dev_configure(port_id, info.rx_queues, info.queues, &conf); rc != 0) {
        return Err(std::string("rte_eth_dev_configure: ") + rte_strerror(-rc));
    }
    std::uint16_t rxd = s.rx_desc;
    std::uint16_t txd = s.tx_desc;
    (void)rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &rxd, &txd);
    const int socket = rte_eth_dev_socket_id(port_id);
    for (std::uint16_t q = 0; q < info.rx_queues; ++q) {
        rte_eth_rxconf rxc = di.default_rxconf;
        rxc.offloads = conf.rxmode.offloads;
        Pool& qpool = q < s.rx_pools.size() && s.rx_pools[q] != nullptr ? *s.rx_pools[q] : pool;
        if (int rc = rte_eth_rx_queue_setup(port_id, q, rxd, socket < 0 ? SOCKET_ID_ANY : socket, &rxc, qpool.get());
            rc != 0) {
            return Err(std::string("rte_eth_rx_queue_setup: ") + rte_strerror(-rc));
        }
    }
    for (std::uint16_t q = 0; q < info.queues; ++q) {
        rte_eth_txconf txc = di.default_txconf;
        txc.offloads = conf.txmode.offloads;
        if (int rc = rte_eth_tx_queue_setup(port_id, q, txd, socket < 0 ? SOCKET_ID_ANY : socket, &txc); rc != 0) {
            return Err(std::string("rte_eth_tx_queue_setup: ") + rte_strerror(-rc));
        }
    }
    if (s.mtu != 0 && s.mtu != 1500) (void)rte_eth_dev_set_mtu(port_id, s.mtu);
    std::uint16_t mtu = 1500;
    (void)rte_eth_dev_get_mtu(port_id, &mtu);
    info.caps.mtu = mtu;
    if (s.mac) {
        rte_ether_addr a{};
        std::memcpy(a.addr_bytes, s.mac->bytes().data(), 6);
        if (int rc = rte_eth_dev_default_mac_addr_set(port_id, &a); rc != 0) {
            return Err(std::string("rte_eth_dev_default_mac_addr_set: ") + rte_strerror(-rc));
        }
    }
    if (int rc = rte_eth_dev_start(port_id); rc != 0) return Err(std::string("rte_eth_dev_start: ") + rte_strerror(-rc));
    (void)rte_eth_promiscuous_enable(port_id);
    rte_ether_addr mac{};
    (void)rte_eth_macaddr_get(port_id, &mac);
    std::array<std::uint8_t, 6> b{};
    std::memcpy(b.data(), mac.addr_bytes, 6);
    info.mac = MacAddr(b);
    return info;
}

Result<std::uint16_t, std::string> attach_port(const std::string& devargs, const std::string& name) {
    if (int rc = rte_dev_probe(devargs.c_str()); rc != 0) {
        return Err("rte_dev_probe(" + devargs + "): " + rte_strerror(rc < 0 ? -rc : rc));
    }
    std::uint16_t id = 0;
    if (rte_eth_dev_get_port_by_name(name.c_str(), &id) != 0) {
        return Err("no ethdev named " + name + " after probing " + devargs);
    }
    return id;
}

void close_port(std::uint16_t port_id) {
    (void)rte_eth_dev_stop(port_id);
    (void)rte_eth_dev_close(port_id);
}

// ---------------------------------------------------------------------------
// DpdkPort
// ---------------------------------------------------------------------------

DpdkPort::DpdkPort(std::uint16_t port_id, std::uint16_t queue, Pool& pool, const PortInfo& info,
                   const ReassemblyConfig& reassembly)
    : port_(port_id), queue_(queue), pool_(pool), info_(info) {
    auto r = Reassembler::create("ustcp_rsm_p" + std::to_string(port_id) + "q" + std::to_string(queue), reassembly,
                                 rte_eth_dev_socket_id(port_id));
    if (r) reassembler_ = std::move(*r);
    else reassembly_error_ = r.error();
    info_.caps.tx_ip_fragment = true;  // add_tx()
}

std::uint16_t DpdkPort::rx_burst(engine::RxFrame* out, std::uint16_t max) noexcept {
    rte_mbuf* m[64];
    std::uint16_t got = 0;
    std::optional<Instant> t;  // read once, when a fragment needs it
    while (got < max) {
        const std::uint16_t want = std::min<std::uint16_t>(64, static_cast<std::uint16_t>(max - got));
        const std::uint16_t n = rte_eth_rx_burst(port_, queue_, m, want);
        if (n != 0 && capture_ != nullptr) capture_->write(port_, queue_, m, n, Capture::Direction::In);
        if (n != 0 && trace_ != nullptr) trace_->push(m, n, false);
        for (std::uint16_t i = 0; i < n; ++i) {
            rte_mbuf* b = m[i];
            if (b->nb_segs > 1 && rte_pktmbuf_linearize(b) != 0) {
                ++rx_multiseg_dropped;
                rte_pktmbuf_free(b);
                continue;
            }
            ++stats_.rx_frames;
            stats_.rx_bytes += rte_pktmbuf_pkt_len(b);
            std::uint32_t flags = 0;
            if (const auto l2 = ipv4_fragment_l2_len(b)) {
                if (!reassembler_) {
                    ++rx_fragments_unreassembled;
                    rte_pktmbuf_free(b);
                    continue;
                }
                if (!t) t = now();
                b = reassembler_->push(b, *l2, *t);
                if (b == nullptr) continue;  // held for the rest of its datagram, or dropped (counted)
                // A reassembled datagram: its checksums are the engine's to check (flags 0).
            } else {
                const std::uint64_t ip = b->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
                const std::uint64_t l4 = b->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
                if (ip == RTE_MBUF_F_RX_IP_CKSUM_GOOD) flags |= engine::kRxIpCsumGood;
                if (ip == RTE_MBUF_F_RX_IP_CKSUM_BAD) flags |= engine::kRxIpCsumBad;
                if (l4 == RTE_MBUF_F_RX_L4_CKSUM_GOOD) flags |= engine::kRxL4CsumGood;
                if (l4 == RTE_MBUF_F_RX_L4_CKSUM_BAD) flags |= engine::kRxL4CsumBad;
            }
            out[got++] = engine::RxFrame{b, rte_pktmbuf_mtod(b, std::uint8_t*), rte_pktmbuf_data_len(b), flags};
        }
        if (n < want) break;
    }
    // Datagrams whose fragments stopped coming are let go even when no fragment arrives. A
    // fragment's push() sweeps first; without one, every kExpireEvery bursts is enough (the
    // timeout is seconds) and keeps the clock read and the table walk off most empty polls.
    if (reassembler_ && !t && ++bursts_since_expire_ >= kExpireEvery) {
        bursts_since_expire_ = 0;
        reassembler_->expire(now());
    }
    return got;
}

void DpdkPort::drop_held_fragments() noexcept {
    if (reassembler_) reassembler_->drop_all();
}

const ReassemblyCounters* DpdkPort::reassembly() const noexcept {
    return reassembler_ ? &reassembler_->counters() : nullptr;
}

std::string DpdkPort::stats_line() const {
    char buf[512];
    int k = std::snprintf(buf, sizeof buf, "       dpdk port %u queue %u: rx multiseg dropped %" PRIu64, port_, queue_,
                          rx_multiseg_dropped);
    if (const ReassemblyCounters* r = reassembly()) {
        k += std::snprintf(buf + k, sizeof buf - static_cast<std::size_t>(k),
                           ", fragments %" PRIu64 " reassembled %" PRIu64 " (drops: bad %" PRIu64 " table full %" PRIu64
                           " timeout %" PRIu64 " too big %" PRIu64 " no buffer %" PRIu64 ")",
                           r->fragments, r->datagrams, r->bad, r->table_full, r->timeout, r->too_big, r->no_buffer);
    } else {
        k += std::snprintf(buf + k, sizeof buf - static_cast<std::size_t>(k),
                           ", reassembly off (%s): fragments dropped %" PRIu64, reassembly_error_.c_str(),
                           rx_fragments_unreassembled);
    }
    k += std::snprintf(buf + k, sizeof buf - static_cast<std::size_t>(k),
                       ", tx fragmented %" PRIu64 " into %" PRIu64 ", tx fragment failed %" PRIu64, tx_fragmented,
                       tx_fragments, tx_fragment_failed);
    if (capture_ != nullptr) {
        k += std::snprintf(buf + k, sizeof buf - static_cast<std::size_t>(k),
                           ", capture written %" PRIu64 " dropped %" PRIu64 " write errors %" PRIu64,
                           capture_->written(), capture_->dropped(), capture_->write_errors());
    }
    return std::string(buf) + "\n";
}

bool DpdkPort::materialize(engine::TxFrame& f) noexcept {
    if (f.raw != nullptr) return true;
    // One linear copy: a held frame is rare (ARP resolving) and its dst MAC is rewritten later.
    rte_mbuf* m = build(f, false);
    if (m == nullptr) {
        ++stats_.tx_no_buffer;
        return false;
    }
    f.raw = m;
    f.raw_data = rte_pktmbuf_mtod(m, std::uint8_t*);
    f.raw_len = rte_pktmbuf_pkt_len(m);
    return true;
}

rte_mbuf* DpdkPort::build(engine::TxFrame& f, bool allow_chain) noexcept {
    if (f.raw != nullptr) {
        auto* m = static_cast<rte_mbuf*>(f.raw);
        // A frame rewritten in place: it starts where the received one did.
        m->data_off = static_cast<std::uint16_t>(f.raw_data - static_cast<std::uint8_t*>(m->buf_addr));
        m->data_len = static_cast<std::uint16_t>(f.raw_len);
        m->pkt_len = f.raw_len;
        m->ol_flags = 0;
        return m;
    }
    rte_mbuf* h = rte_pktmbuf_alloc(pool_.get());
    if (h == nullptr) return nullptr;
    // Payload up to kTxCopyBreak bytes is copied behind the header: one mbuf instead of a header
    // mbuf plus an indirect one per piece (two allocations, an attach and a chain fewer, and
    // one segment for the PMD to walk; docs/profiles.md). TSO frames always chain.
    const bool chain = allow_chain && info_.multi_seg_tx && f.len > 0 && (f.len > kTxCopyBreak || f.tso_segsz > 0);
    const std::uint32_t linear = f.hdr_len + (chain ? 0 : f.len);
    if (linear > rte_pktmbuf_tailroom(h)) {
        rte_pktmbuf_free(h);
        return nullptr;
    }
    auto* d = reinterpret_cast<std::uint8_t*>(rte_pktmbuf_append(h, static_cast<std::uint16_t>(linear)));
    std::memcpy(d, f.hdr.data(), f.hdr_len);
    if (!chain) {
        // No multi-segment TX: gather the payload into the header's mbuf (one copy).
        std::uint8_t* p = d + f.hdr_len;
        tcp::for_each_piece(f.pieces, f.len, [&](const std::uint8_t* src, std::uint32_t k) {
            std::memcpy(p, src, k);
            p += k;
        });
    } else {
        // Zero copy: each piece is a clone (indirect mbuf) of the buffer it lives in.
        bool ok = true;
        tcp::for_each_piece_node(f.pieces, f.len, [&](const tcp::BufNode& node, std::uint32_t off, std::uint32_t k) {
            if (!ok) return;
            rte_mbuf* mi = rte_pktmbuf_alloc(pool_.get());
            if (mi == nullptr) {
                ok = false;
                return;
            }
            auto* direct = static_cast<rte_mbuf*>(node.handle);
            rte_pktmbuf_attach(mi, direct);
            mi->data_off = static_cast<std::uint16_t>((node.data + off) - static_cast<std::uint8_t*>(mi->buf_addr));
            mi->data_len = static_cast<std::uint16_t>(k);
            mi->pkt_len = k;
            if (rte_pktmbuf_chain(h, mi) != 0) {
                rte_pktmbuf_free(mi);
                ok = false;
            }
        });
        if (!ok) {
            rte_pktmbuf_free(h);
            return nullptr;
        }
    }
    h->ol_flags = 0;
    if (f.l4_csum_offload || f.ip_csum_offload) {
        h->l2_len = f.l3_offset;
        h->l3_len = 20;
        h->ol_flags |= RTE_MBUF_F_TX_IPV4;
        if (f.ip_csum_offload) h->ol_flags |= RTE_MBUF_F_TX_IP_CKSUM;
        if (f.l4_csum_offload) h->ol_flags |= RTE_MBUF_F_TX_TCP_CKSUM;
    }
    if (f.tso_segsz > 0) {
        // The engine asked for TSO only when setup_port() enabled it (with chains); a frame
        // that was linearised here would be one oversized frame: never sent as such.
        if (!chain || !info_.caps.tx_tso) {
            rte_pktmbuf_free(h);
            return nullptr;
        }
        h->l4_len = f.l4_len;
        h->tso_segsz = f.tso_segsz;
        h->ol_flags |= RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
    }
    return h;
}

std::uint16_t DpdkPort::add_tx(rte_mbuf* b, bool raw, rte_mbuf** m, std::uint8_t* first, std::uint16_t k) noexcept {
    // Only raw frames can be above the MTU (TCP segments are cut to the MSS).
    const auto* d = rte_pktmbuf_mtod(b, const std::uint8_t*);
    std::uint16_t l2 = 0;
    if (raw && b->data_len >= 18) {
        const std::uint16_t type = static_cast<std::uint16_t>(d[12] << 8 | d[13]);
        if (type == RTE_ETHER_TYPE_IPV4) l2 = 14;
        else if (type == RTE_ETHER_TYPE_VLAN && static_cast<std::uint16_t>(d[16] << 8 | d[17]) == RTE_ETHER_TYPE_IPV4) l2 = 18;
    }
    if (l2 == 0 || rte_pktmbuf_pkt_len(b) <= l2 + std::uint32_t{info_.caps.mtu}) {
        first[k] = 1;
        stats_.tx_bytes += rte_pktmbuf_pkt_len(b);
        m[k++] = b;
        return k;
    }
    const int n = fragment_ipv4(b, l2, info_.caps.mtu, pool_.get(), m + k, kMaxTxFragments);
    if (n <= 0) {
        ++tx_fragment_failed;  // b was freed
        return k;
    }
    ++tx_fragmented;
    for (int j = 0; j < n; ++j) {
        rte_mbuf* f = m[k + j];
        // Header mbuf + indirect payload; a port without multi-segment TX gets one buffer.
        if (!info_.multi_seg_tx && f->nb_segs > 1 && rte_pktmbuf_linearize(f) != 0) {
            for (int i = 0; i < n; ++i) rte_pktmbuf_free(m[k + i]);
            --tx_fragmented;
            ++tx_fragment_failed;
            return k;
        }
    }
    for (int j = 0; j < n; ++j) {
        first[k + j] = j == 0 ? 1 : 0;
        stats_.tx_bytes += rte_pktmbuf_pkt_len(m[k + j]);
    }
    tx_fragments += static_cast<std::uint64_t>(n);
    return static_cast<std::uint16_t>(k + n);
}

std::uint16_t DpdkPort::tx_burst(engine::TxFrame* frames, std::uint16_t n) noexcept {
    constexpr std::uint16_t kRoom = 256;
    rte_mbuf* m[kRoom];
    std::uint8_t first[kRoom];  // m[j] starts an engine frame (the others are its fragments)
    std::uint16_t sent_total = 0;
    std::uint16_t i = 0;
    while (i < n) {
        std::uint16_t k = 0;
        while (i < n && k + kMaxTxFragments <= kRoom) {
            engine::TxFrame& f = frames[i++];
            const bool raw = f.raw != nullptr;
            rte_mbuf* b = build(f, true);
            if (b == nullptr) {
                ++stats_.tx_no_buffer;
                continue;
            }
            k = add_tx(b, raw, m, first, k);
        }
        if (k != 0 && capture_ != nullptr) capture_->write(port_, queue_, m, k, Capture::Direction::Out);
        if (k != 0 && trace_ != nullptr) trace_->push(m, k, true);
        const std::uint16_t sent = rte_eth_tx_burst(port_, queue_, m, k);
        if (sent < k) {
            stats_.tx_dropped += k - sent;
            rte_pktmbuf_free_bulk(m + sent, k - sent);
        }
        stats_.tx_frames += sent;
        // A frame counts as sent when its first fragment went.
        for (std::uint16_t j = 0; j < sent; ++j) sent_total = static_cast<std::uint16_t>(sent_total + first[j]);
    }
    return sent_total;
}

void DpdkPort::free_rx(void* const* handles, std::uint16_t n) noexcept {
    rte_pktmbuf_free_bulk(reinterpret_cast<rte_mbuf**>(const_cast<void**>(handles)), n);
}

}  // namespace ustcp::dpdk
