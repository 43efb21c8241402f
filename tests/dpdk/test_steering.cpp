// lib/dpdk's steering (steering.hpp, rss.hpp): the table-driven Toeplitz hash against DPDK's
// rte_softrss, its symmetry, the RETA spread, and two SteeringPorts over a net_ring vdev (each
// TX queue loops back to the RX queue of the same number): frames received on worker 0's queue
// reach the worker owns() names, ARP is replicated with kRxReplica, TX on a flow another
// worker owns is counted, and every mbuf goes back to its pool.
#include <gtest/gtest.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_thash.h>

#include <cstring>
#include <map>
#include <random>
#include <vector>

#include "ustcp/dpdk/rss.hpp"
#include "ustcp/dpdk/runtime.hpp"
#include "ustcp/dpdk/steering.hpp"
#include "ustcp/dpdk/test_eal.hpp"

using namespace ustcp;
using namespace ustcp::dpdk;

namespace {

FourTuple random_tuple(std::mt19937& rng) {
    return FourTuple{Ipv4Addr(static_cast<std::uint32_t>(rng())), Ipv4Addr(static_cast<std::uint32_t>(rng())),
                     static_cast<std::uint16_t>(rng()), static_cast<std::uint16_t>(rng())};
}

/// rte_softrss over the packets the peer sends on t (src = remote), as a NIC computes it.
std::uint32_t softrss(const FourTuple& t) {
    rte_ipv4_tuple in{};
    in.src_addr = t.remote_addr.value();
    in.dst_addr = t.local_addr.value();
    in.sport = t.remote_port;
    in.dport = t.local_port;
    return rte_softrss(reinterpret_cast<std::uint32_t*>(&in), RTE_THASH_V4_L4_LEN, kSymmetricRssKey.data());
}

void put_be16(std::uint8_t* p, std::uint16_t v) {
    p[0] = static_cast<std::uint8_t>(v >> 8);
    p[1] = static_cast<std::uint8_t>(v);
}
void put_be32(std::uint8_t* p, std::uint32_t v) {
    put_be16(p, static_cast<std::uint16_t>(v >> 16));
    put_be16(p + 2, static_cast<std::uint16_t>(v));
}

/// An Ethernet + IPv4 + TCP frame (54 bytes; checksums not needed by the steering) the peer sends on t.
std::vector<std::uint8_t> tcp_frame(const FourTuple& t) {
    std::vector<std::uint8_t> f(54, 0);
    put_be16(&f[12], 0x0800);
    f[14] = 0x45;
    put_be16(&f[16], 40);
    f[22] = 64;
    f[23] = 6;
    put_be32(&f[26], t.remote_addr.value());
    put_be32(&f[30], t.local_addr.value());
    put_be16(&f[34], t.remote_port);
    put_be16(&f[36], t.local_port);
    f[46] = 0x50;
    return f;
}

std::vector<std::uint8_t> arp_frame() {
    std::vector<std::uint8_t> f(42, 0);
    std::memset(f.data(), 0xff, 6);
    put_be16(&f[12], 0x0806);
    return f;
}

rte_mbuf* to_mbuf(Pool& pool, const std::vector<std::uint8_t>& bytes) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool.get());
    if (m == nullptr) return nullptr;
    std::memcpy(rte_pktmbuf_append(m, static_cast<std::uint16_t>(bytes.size())), bytes.data(), bytes.size());
    return m;
}

FourTuple tuple_of(const engine::RxFrame& f) {
    auto be16 = [&](std::size_t o) { return static_cast<std::uint16_t>((f.data[o] << 8) | f.data[o + 1]); };
    auto be32 = [&](std::size_t o) { return (std::uint32_t{be16(o)} << 16) | be16(o + 2); };
    return FourTuple{Ipv4Addr(be32(30)), Ipv4Addr(be32(26)), be16(36), be16(34)};
}

}  // namespace

TEST(Toeplitz, MatchesRteSoftrss) {
    const Toeplitz h(kSymmetricRssKey);
    std::mt19937 rng(1);
    for (int i = 0; i < 20000; ++i) {
        const FourTuple t = random_tuple(rng);
        ASSERT_EQ(h.hash(t), softrss(t)) << i;
    }
    // A non-symmetric key too: the table is a Toeplitz hash, not just a symmetric function.
    std::array<std::uint8_t, 40> key{};
    for (auto& b : key) b = static_cast<std::uint8_t>(rng());
    const Toeplitz h2(key);
    for (int i = 0; i < 2000; ++i) {
        const FourTuple t = random_tuple(rng);
        rte_ipv4_tuple in{t.remote_addr.value(), t.local_addr.value(), {}};
        in.sport = t.remote_port;
        in.dport = t.local_port;
        ASSERT_EQ(h2.hash(t), rte_softrss(reinterpret_cast<std::uint32_t*>(&in), RTE_THASH_V4_L4_LEN, key.data()));
    }
}

TEST(Toeplitz, SymmetricKeyHashesBothDirectionsAlike) {
    const Toeplitz h(kSymmetricRssKey);
    std::mt19937 rng(2);
    for (int i = 0; i < 20000; ++i) {
        const FourTuple t = random_tuple(rng);
        ASSERT_EQ(h.hash(t), h.hash(t.reversed())) << i;
    }
}

TEST(Reta, SpreadsEvenlyAndIndexesWithLowBits) {
    const Reta r = Reta::spread(128, 3);
    std::map<std::uint16_t, int> count;
    for (std::uint16_t e : r.entries()) ++count[e];
    EXPECT_EQ(count.size(), 3u);
    EXPECT_EQ(count[0], 43);
    EXPECT_EQ(count[1], 43);
    EXPECT_EQ(count[2], 42);
    for (std::uint32_t hash : {0u, 5u, 127u, 128u, 0xdeadbeefu}) EXPECT_EQ(r.lookup(hash), (hash % 128) % 3);
    // Flows over 2 workers: roughly half each.
    const Toeplitz h(kSymmetricRssKey);
    const Reta r2 = Reta::spread(128, 2);
    std::mt19937 rng(3);
    int zero = 0;
    for (int i = 0; i < 10000; ++i) zero += r2.lookup(h.hash(random_tuple(rng))) == 0;
    EXPECT_GT(zero, 4500);
    EXPECT_LT(zero, 5500);
}

class SteeringOnRing : public ::testing::Test {
protected:
    void SetUp() override {
        if (init_test_eal("test_dpdk_steering") != 0) GTEST_SKIP() << "no EAL";
        static int n = 0;
        const std::string name = "net_ring_st" + std::to_string(n++);
        auto id = attach_port(name, name);
        ASSERT_TRUE(id) << id.error();
        port_ = *id;
        pool0_ = std::make_unique<Pool>("st_pool0_" + std::to_string(n), 2047, 0, 2176, SOCKET_ID_ANY);
        pool1_ = std::make_unique<Pool>("st_pool1_" + std::to_string(n), 2047, 0, 2176, SOCKET_ID_ANY);
        ASSERT_TRUE(pool0_->ok() && pool1_->ok());
        PortSetup s;
        s.queues = 2;
        s.rx_desc = 256;
        s.tx_desc = 256;
        s.rx_pools = {pool0_.get(), pool1_.get()};
        auto info = setup_port(port_, s, *pool0_);
        ASSERT_TRUE(info) << info.error();
        ASSERT_EQ(info->rx_queues, 2);
        auto g = SteeringGroup::create({.name = "t" + std::to_string(n), .workers = 2});
        ASSERT_TRUE(g) << g.error();
        group_ = std::move(*g);
        q0_ = std::make_unique<DpdkPort>(port_, 0, *pool0_, *info);
        q1_ = std::make_unique<DpdkPort>(port_, 1, *pool1_, *info);
        sp0_ = std::make_unique<SteeringPort>(*group_, 0, *q0_, true, *pool0_);
        sp1_ = std::make_unique<SteeringPort>(*group_, 1, *q1_, true, *pool1_);
    }
    void TearDown() override {
        sp0_.reset();
        sp1_.reset();
        if (q0_) q0_->drop_held_fragments();
        if (q1_) q1_->drop_held_fragments();
        q0_.reset();
        q1_.reset();
        if (group_) group_->drain();
        group_.reset();
        if (pool0_) close_port(port_);
        if (pool0_) {
            EXPECT_EQ(pool0_->in_use(), 0u);
            EXPECT_EQ(pool1_->in_use(), 0u);
        }
    }
    /// Puts frames on RX queue `q` (net_ring: TX queue q is RX queue q).
    void inject(std::uint16_t q, const std::vector<std::vector<std::uint8_t>>& frames) {
        std::vector<rte_mbuf*> m;
        for (const auto& f : frames) m.push_back(to_mbuf(*pool0_, f));
        ASSERT_EQ(rte_eth_tx_burst(port_, q, m.data(), static_cast<std::uint16_t>(m.size())), m.size());
    }
    std::vector<engine::RxFrame> rx(SteeringPort& p) {
        std::vector<engine::RxFrame> out(64);
        out.resize(p.rx_burst(out.data(), 64));
        return out;
    }
    void free_all(SteeringPort& p, const std::vector<engine::RxFrame>& fs) {
        std::vector<void*> h;
        for (const auto& f : fs) h.push_back(f.handle);
        if (!h.empty()) p.free_rx(h.data(), static_cast<std::uint16_t>(h.size()));
    }

    std::uint16_t port_ = 0;
    std::unique_ptr<Pool> pool0_, pool1_;
    std::unique_ptr<SteeringGroup> group_;
    std::unique_ptr<DpdkPort> q0_, q1_;
    std::unique_ptr<SteeringPort> sp0_, sp1_;
};

TEST_F(SteeringOnRing, EveryFrameReachesTheWorkerThatOwnsItsFlow) {
    const Ipv4Addr us(0xc6120002);  // 198.18.0.2
    std::mt19937 rng(4);
    std::vector<FourTuple> flows;
    std::vector<std::vector<std::uint8_t>> frames;
    for (int i = 0; i < 40; ++i) {
        FourTuple t{us, Ipv4Addr(0xc6120001), static_cast<std::uint16_t>(7), static_cast<std::uint16_t>(30000 + rng() % 30000)};
        flows.push_back(t);
        frames.push_back(tcp_frame(t));
    }
    int owned_by_1 = 0;
    for (const auto& t : flows) owned_by_1 += sp1_->owns(t) ? 1 : 0;
    ASSERT_GT(owned_by_1, 0);
    ASSERT_LT(owned_by_1, 40);
    inject(0, frames);  // everything arrives at worker 0's queue
    const auto got0 = rx(*sp0_);
    const auto got1 = rx(*sp1_);
    EXPECT_EQ(got0.size() + got1.size(), 40u);
    EXPECT_EQ(got1.size(), static_cast<std::size_t>(owned_by_1));
    for (const auto& f : got0) {
        EXPECT_TRUE(sp0_->owns(tuple_of(f)));
        EXPECT_FALSE(sp1_->owns(tuple_of(f)));
        EXPECT_EQ(f.flags & engine::kRxReplica, 0u);
    }
    for (const auto& f : got1) EXPECT_TRUE(sp1_->owns(tuple_of(f)));
    EXPECT_EQ(sp0_->steering_stats().steered_out, static_cast<std::uint64_t>(owned_by_1));
    EXPECT_EQ(sp1_->steering_stats().steered_in, static_cast<std::uint64_t>(owned_by_1));
    EXPECT_EQ(sp0_->steering_stats().rx_not_owned + sp1_->steering_stats().rx_not_owned, 0u);
    // The owner agrees with the group's hash, and with rte_softrss through the same table.
    for (const auto& t : flows) EXPECT_EQ(group_->owner(t), group_->reta().lookup(softrss(t)));
    free_all(*sp0_, got0);
    free_all(*sp1_, got1);
}

TEST_F(SteeringOnRing, ArpIsReplicatedToTheOtherWorkerFlaggedAsReplica) {
    inject(1, {arp_frame()});
    const auto got1 = rx(*sp1_);
    ASSERT_EQ(got1.size(), 1u);
    EXPECT_EQ(got1[0].flags & engine::kRxReplica, 0u);  // the original: this engine answers
    const auto got0 = rx(*sp0_);
    ASSERT_EQ(got0.size(), 1u);
    EXPECT_NE(got0[0].flags & engine::kRxReplica, 0u);  // the copy: learn only
    EXPECT_NE(got0[0].handle, got1[0].handle);
    ASSERT_EQ(got0[0].len, got1[0].len);
    EXPECT_EQ(std::memcmp(got0[0].data, got1[0].data, got0[0].len), 0);
    EXPECT_EQ(sp1_->steering_stats().arp_replicas_out, 1u);
    EXPECT_EQ(sp0_->steering_stats().arp_replicas_in, 1u);
    free_all(*sp0_, got0);
    free_all(*sp1_, got1);
}

TEST_F(SteeringOnRing, TxOnAnotherWorkersFlowIsCounted) {
    const Ipv4Addr us(0xc6120002);
    std::optional<FourTuple> mine, theirs;
    for (std::uint16_t p = 40000; !(mine && theirs); ++p) {
        const FourTuple t{us, Ipv4Addr(0xc6120001), p, 7};
        (sp1_->owns(t) ? mine : theirs) = t;
    }
    // The engine's view: headers of a segment we send on the flow (src = us).
    auto send = [&](const FourTuple& t) {
        engine::TxFrame f{};
        const FourTuple peer_view = t.reversed();  // tcp_frame builds what the peer sends
        auto bytes = tcp_frame(peer_view);
        std::memcpy(f.hdr.data(), bytes.data(), bytes.size());
        f.hdr_len = static_cast<std::uint16_t>(bytes.size());
        EXPECT_EQ(sp1_->tx_burst(&f, 1), 1);
    };
    send(*mine);
    EXPECT_EQ(sp1_->steering_stats().tx_tcp, 1u);
    EXPECT_EQ(sp1_->steering_stats().tx_not_owned, 0u);
    send(*theirs);
    EXPECT_EQ(sp1_->steering_stats().tx_tcp, 2u);
    EXPECT_EQ(sp1_->steering_stats().tx_not_owned, 1u);
    // Both looped back to queue 1; read them off the ring port's queue and free them.
    rte_mbuf* m[8];
    const std::uint16_t n = rte_eth_rx_burst(port_, 1, m, 8);
    EXPECT_EQ(n, 2);
    rte_pktmbuf_free_bulk(m, n);
}
