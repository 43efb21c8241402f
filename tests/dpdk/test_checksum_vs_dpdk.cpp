// lib/wire's checksums agree with DPDK's rte_raw_cksum, rte_ipv4_udptcp_cksum and
// rte_ipv4_phdr_cksum on random data of every size and alignment and on the seed vectors.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "ustcp/base/endian.hpp"
#include "ustcp/dpdk/checksum.hpp"
#include "ustcp/wire/checksum.hpp"
#include "ustcp/wire/ipv4.hpp"
#include "ustcp/wire/tcp.hpp"
#include "vectors.hpp"

using namespace ustcp;
using namespace ustcp::wire;

TEST(ChecksumVsDpdk, RawSumAllLengthsAndAlignments) {
    std::mt19937 rng(11);
    std::vector<std::uint8_t> buf(9100);
    for (auto& b : buf) b = static_cast<std::uint8_t>(rng());
    for (std::size_t off = 0; off < 8; ++off) {
        for (std::size_t len = 0; len <= 130; ++len) {
            Bytes d = Bytes(buf).subspan(off, len);
            ASSERT_EQ(checksum_fold(checksum_partial(d)), dpdk::raw_cksum(d)) << off << "/" << len;
        }
        for (std::size_t len : {64u, 1500u, 1514u, 9000u}) {
            Bytes d = Bytes(buf).subspan(off, len);
            ASSERT_EQ(checksum_fold(checksum_partial(d)), dpdk::raw_cksum(d)) << off << "/" << len;
        }
    }
}

TEST(ChecksumVsDpdk, TcpOverIpv4RandomSegments) {
    std::mt19937 rng(12);
    for (int iter = 0; iter < 500; ++iter) {
        const std::size_t payload = rng() % 1461;
        std::vector<std::uint8_t> pkt(20 + 20 + payload);
        for (auto& b : pkt) b = static_cast<std::uint8_t>(rng());
        Ipv4Repr{Ipv4Addr(static_cast<std::uint32_t>(rng())), Ipv4Addr(static_cast<std::uint32_t>(rng())), kIpProtoTcp, 64,
                 0, 1, true, static_cast<std::uint16_t>(20 + payload)}
            .emit(pkt);
        pkt[20 + 12] = 0x50;  // data offset 5
        auto ip = Ipv4View::checked(pkt);
        ASSERT_TRUE(ip);
        MutBytes seg = MutBytes(pkt).subspan(20);
        store_be16(&seg[16], 0);
        const std::uint16_t ours = l4_checksum_ipv4(ip->src(), ip->dst(), kIpProtoTcp, seg);
        const std::uint16_t theirs = dpdk::ipv4_udptcp_cksum(pkt);
        // DPDK maps a computed 0 to 0xffff (the UDP rule); both encode ones'-complement zero.
        EXPECT_EQ(ours == 0 ? 0xffff : ours, theirs) << "iteration " << iter;
        store_be16(&seg[16], ours);
        EXPECT_TRUE(l4_checksum_ok_ipv4(ip->src(), ip->dst(), kIpProtoTcp, seg));
    }
}

TEST(ChecksumVsDpdk, SeedVectorsPseudoHeaderAndFullSums) {
    for (const auto& p : vectors::load_seed_vectors()) {
        SCOPED_TRACE("pkt " + std::to_string(p.number));
        auto ip = Ipv4View::checked(p.bytes);
        ASSERT_TRUE(ip);
        const Bytes seg = ip->payload();
        const std::uint16_t phdr = checksum_fold(
            ipv4_pseudo_header_sum(ip->src(), ip->dst(), kIpProtoTcp, static_cast<std::uint16_t>(seg.size())));
        EXPECT_EQ(phdr, dpdk::ipv4_phdr_cksum(p.bytes));
        if (p.tcp_checksum == "pseudo-header-only") {
            EXPECT_EQ(load_be16(&seg[16]), dpdk::ipv4_phdr_cksum(p.bytes));
        }
        // Recompute the full checksum both ways with the field zeroed.
        std::vector<std::uint8_t> copy = p.bytes;
        store_be16(&copy[ip->header_len() + 16], 0);
        const std::uint16_t ours = l4_checksum_ipv4(ip->src(), ip->dst(), kIpProtoTcp, Bytes(copy).subspan(ip->header_len()));
        EXPECT_EQ(ours == 0 ? 0xffff : ours, dpdk::ipv4_udptcp_cksum(copy));
        if (p.tcp_checksum == "valid") {
            EXPECT_EQ(ours, load_be16(&seg[16]));
        }
    }
}
