// dpdk::Reassembler (rte_ip_frag behind DpdkPort's RX) and dpdk::fragment_ipv4 (its TX twin) on
// hand-built frames in a real mbuf pool (EAL by init_test_eal: --no-pci --no-huge): in order,
// reverse order, duplicates and overlaps, a missing fragment timing out, a full table, malformed
// fragments, Ethernet padding; after each, every mbuf is back in its pool.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <numeric>
#include <vector>

#include <rte_mbuf.h>

#include "ustcp/dpdk/fragments.hpp"
#include "ustcp/dpdk/runtime.hpp"
#include "ustcp/dpdk/test_eal.hpp"

using namespace ustcp;
using dpdk::Reassembler;

namespace {

constexpr std::uint16_t kL2 = 14;
constexpr std::uint16_t kIhl = 20;

/// One's-complement checksum of an IPv4 header (written here, not DPDK's, to check DPDK's).
std::uint16_t ip_sum(const std::uint8_t* h, std::size_t n) {
    std::uint32_t s = 0;
    for (std::size_t i = 0; i + 1 < n; i += 2) s += static_cast<std::uint32_t>(h[i] << 8 | h[i + 1]);
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return static_cast<std::uint16_t>(~s);
}

struct Datagram {
    std::uint16_t id = 1;
    std::vector<std::uint8_t> payload;
    bool df = false;
};

Datagram datagram(std::uint16_t id, std::size_t len) {
    Datagram d;
    d.id = id;
    d.payload.resize(len);
    for (std::size_t i = 0; i < len; ++i) d.payload[i] = static_cast<std::uint8_t>(i * 7 + id);
    return d;
}

/// Ethernet + IPv4 header for `len` bytes of payload at `offset`.
std::vector<std::uint8_t> headers(const Datagram& d, std::size_t offset, std::size_t len, bool mf) {
    std::vector<std::uint8_t> f(kL2 + kIhl, 0);
    const std::uint8_t dst[6] = {0x02, 0, 0, 0, 0, 0x02}, src[6] = {0x02, 0, 0, 0, 0, 0x01};
    std::memcpy(f.data(), dst, 6);
    std::memcpy(f.data() + 6, src, 6);
    f[12] = 0x08;
    std::uint8_t* ip = f.data() + kL2;
    ip[0] = 0x45;
    const std::size_t total = kIhl + len;
    ip[2] = static_cast<std::uint8_t>(total >> 8);
    ip[3] = static_cast<std::uint8_t>(total);
    ip[4] = static_cast<std::uint8_t>(d.id >> 8);
    ip[5] = static_cast<std::uint8_t>(d.id);
    const std::uint16_t frag = static_cast<std::uint16_t>((d.df ? 0x4000 : 0) | (mf ? 0x2000 : 0) | (offset / 8));
    ip[6] = static_cast<std::uint8_t>(frag >> 8);
    ip[7] = static_cast<std::uint8_t>(frag);
    ip[8] = 64;
    ip[9] = 17;
    const std::uint8_t a[4] = {198, 18, 0, 1}, b[4] = {198, 18, 0, 2};
    std::memcpy(ip + 12, a, 4);
    std::memcpy(ip + 16, b, 4);
    const std::uint16_t s = ip_sum(ip, kIhl);
    ip[10] = static_cast<std::uint8_t>(s >> 8);
    ip[11] = static_cast<std::uint8_t>(s);
    return f;
}

rte_mbuf* to_mbuf(dpdk::Pool& pool, const std::vector<std::uint8_t>& bytes) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool.get());
    if (m == nullptr) return nullptr;
    auto* p = reinterpret_cast<std::uint8_t*>(rte_pktmbuf_append(m, static_cast<std::uint16_t>(bytes.size())));
    if (p == nullptr) {
        rte_pktmbuf_free(m);
        return nullptr;
    }
    std::memcpy(p, bytes.data(), bytes.size());
    return m;
}

/// The fragment [offset, offset + len) of `d`, MF unless it ends the datagram; padded with zeros to
/// `pad_to` frame bytes (Ethernet's 60-byte minimum).
rte_mbuf* fragment(dpdk::Pool& pool, const Datagram& d, std::size_t offset, std::size_t len,
                   std::size_t pad_to = 0) {
    const bool mf = offset + len < d.payload.size();
    std::vector<std::uint8_t> f = headers(d, offset, len, mf);
    f.insert(f.end(), d.payload.begin() + static_cast<std::ptrdiff_t>(offset),
             d.payload.begin() + static_cast<std::ptrdiff_t>(offset + len));
    if (f.size() < pad_to) f.resize(pad_to, 0);
    return to_mbuf(pool, f);
}

/// The whole datagram as one frame, as the reassembler must return it.
std::vector<std::uint8_t> whole_frame(const Datagram& d) {
    std::vector<std::uint8_t> f = headers(d, 0, d.payload.size(), false);
    f.insert(f.end(), d.payload.begin(), d.payload.end());
    return f;
}

std::vector<std::uint8_t> bytes_of(const rte_mbuf* m) {
    std::vector<std::uint8_t> out(rte_pktmbuf_pkt_len(m));
    const void* p = rte_pktmbuf_read(m, 0, static_cast<std::uint32_t>(out.size()), out.data());
    if (p != out.data()) std::memcpy(out.data(), p, out.size());
    return out;
}

class Reassembly : public ::testing::Test {
protected:
    void SetUp() override {
        if (int rc = dpdk::init_test_eal("ustcp-test-reassembly"); rc != 0) GTEST_SKIP() << "EAL: " << rc;
        static int seq = 0;
        ++seq;
        pool_ = std::make_unique<dpdk::Pool>("t_rsm_pool" + std::to_string(seq), 1023, 0, 2176, -1);
        ASSERT_TRUE(pool_->ok()) << pool_->error();
        // Whole 3000-byte datagrams (the input of fragment_ipv4) do not fit a 2048-byte buffer.
        big_ = std::make_unique<dpdk::Pool>("t_rsm_big" + std::to_string(seq), 63, 0, 8192, -1);
        ASSERT_TRUE(big_->ok()) << big_->error();
        cfg_.linear_buffers = 7;
        cfg_.max_datagrams = 64;
        name_ = "t_rsm" + std::to_string(seq);
    }
    void make(const dpdk::ReassemblyConfig& cfg) {
        auto r = Reassembler::create(name_, cfg, -1);
        ASSERT_TRUE(r) << r.error();
        r_ = std::move(*r);
    }
    void TearDown() override {
        if (r_) {
            EXPECT_EQ(r_->linear_in_use(), 0u) << "a linear buffer was not returned";
            r_.reset();
        }
        if (pool_) {
            EXPECT_EQ(pool_->in_use(), 0u) << "an mbuf was not returned";
        }
        if (big_) {
            EXPECT_EQ(big_->in_use(), 0u) << "a big mbuf was not returned";
        }
    }
    /// Pushes `m` at `t` and expects the reassembler to keep (or drop) it.
    void push_none(rte_mbuf* m, Instant t = Instant::from_nanos(1'000)) {
        ASSERT_NE(m, nullptr);
        rte_mbuf* out = r_->push(m, kL2, t);
        EXPECT_EQ(out, nullptr);
        if (out != nullptr) rte_pktmbuf_free(out);
    }
    /// Pushes `m`, expects the whole of `d`, checks it and frees it.
    void push_whole(rte_mbuf* m, const Datagram& d, Instant t = Instant::from_nanos(1'000)) {
        ASSERT_NE(m, nullptr);
        rte_mbuf* out = r_->push(m, kL2, t);
        ASSERT_NE(out, nullptr) << "datagram " << d.id << " not completed";
        EXPECT_EQ(out->nb_segs, 1) << "not contiguous";
        const std::vector<std::uint8_t> got = bytes_of(out);
        const std::vector<std::uint8_t> want = whole_frame(d);
        EXPECT_EQ(got.size(), want.size());
        EXPECT_TRUE(got == want) << "reassembled bytes differ (header or payload)";
        EXPECT_EQ(ip_sum(rte_pktmbuf_mtod_offset(out, const std::uint8_t*, kL2), kIhl), 0) << "bad header checksum";
        rte_pktmbuf_free(out);
    }

    std::unique_ptr<dpdk::Pool> pool_;
    std::unique_ptr<dpdk::Pool> big_;
    dpdk::ReassemblyConfig cfg_;
    std::string name_;
    std::unique_ptr<Reassembler> r_;
};

TEST_F(Reassembly, FragmentIsRecognised) {
    const Datagram d = datagram(9, 3000);
    rte_mbuf* first = fragment(*pool_, d, 0, 1480);
    rte_mbuf* last = fragment(*pool_, d, 2960, 40);
    std::vector<std::uint8_t> w = whole_frame(datagram(9, 100));
    rte_mbuf* whole = to_mbuf(*pool_, w);
    ASSERT_TRUE(first && last && whole);
    EXPECT_EQ(dpdk::ipv4_fragment_l2_len(first), std::optional<std::uint16_t>(14));
    EXPECT_EQ(dpdk::ipv4_fragment_l2_len(last), std::optional<std::uint16_t>(14));
    EXPECT_EQ(dpdk::ipv4_fragment_l2_len(whole), std::nullopt);
    rte_pktmbuf_free(first);
    rte_pktmbuf_free(last);
    rte_pktmbuf_free(whole);
}

TEST_F(Reassembly, InOrder) {
    make(cfg_);
    const Datagram d = datagram(1, 3000);
    push_none(fragment(*pool_, d, 0, 1480));
    push_none(fragment(*pool_, d, 1480, 1480));
    push_whole(fragment(*pool_, d, 2960, 40), d);
    EXPECT_EQ(r_->counters().fragments, 3u);
    EXPECT_EQ(r_->counters().datagrams, 1u);
    EXPECT_EQ(r_->counters().bad + r_->counters().table_full + r_->counters().timeout, 0u);
}

TEST_F(Reassembly, ReverseOrder) {
    make(cfg_);
    const Datagram d = datagram(2, 3000);
    push_none(fragment(*pool_, d, 2960, 40));
    push_none(fragment(*pool_, d, 1480, 1480));
    push_whole(fragment(*pool_, d, 0, 1480), d);
    EXPECT_EQ(r_->counters().datagrams, 1u);
}

TEST_F(Reassembly, SmallDatagramIsLinearisedInPlace) {
    make(cfg_);
    const Datagram d = datagram(3, 64);
    push_none(fragment(*pool_, d, 32, 32));
    push_whole(fragment(*pool_, d, 0, 32), d);
}

TEST_F(Reassembly, EthernetPaddingIsNotPayload) {
    make(cfg_);
    const Datagram d = datagram(4, 24);
    push_none(fragment(*pool_, d, 0, 16, 60));          // 50-byte frames, padded to 60
    push_whole(fragment(*pool_, d, 16, 8, 60), d);
}

TEST_F(Reassembly, DuplicateFirstFragmentDropsTheDatagram) {
    make(cfg_);
    const Datagram d = datagram(5, 3000);
    push_none(fragment(*pool_, d, 0, 1480));
    push_none(fragment(*pool_, d, 0, 1480));
    EXPECT_EQ(r_->counters().bad, 2u) << "rte_ip_frag drops the datagram on a duplicate first fragment";
    // The entry is free again: a clean copy of the datagram goes through.
    push_none(fragment(*pool_, d, 0, 1480));
    push_none(fragment(*pool_, d, 1480, 1480));
    push_whole(fragment(*pool_, d, 2960, 40), d);
}

TEST_F(Reassembly, DuplicateMiddleFragmentDropsTheDatagram) {
    make(cfg_);
    const Datagram d = datagram(6, 3000);
    push_none(fragment(*pool_, d, 0, 1480));
    push_none(fragment(*pool_, d, 1480, 1480));
    push_none(fragment(*pool_, d, 1480, 1480));
    push_none(fragment(*pool_, d, 2960, 40));  // now more bytes than the datagram has
    EXPECT_EQ(r_->counters().bad, 4u);
    EXPECT_EQ(r_->counters().datagrams, 0u);
}

TEST_F(Reassembly, OverlapWithAHoleDropsTheDatagram) {
    make(cfg_);
    const Datagram d = datagram(7, 3000);
    // [0,1480) [1472,2952) [2960,3000): as many bytes as the datagram, but 8 overlap and 8 are missing.
    push_none(fragment(*pool_, d, 0, 1480));
    push_none(fragment(*pool_, d, 1472, 1480));
    push_none(fragment(*pool_, d, 2960, 40));
    EXPECT_EQ(r_->counters().bad, 3u);
    EXPECT_EQ(r_->counters().datagrams, 0u);
}

TEST_F(Reassembly, MissingFragmentTimesOutAndReturnsTheMbufs) {
    make(cfg_);
    const Datagram d = datagram(8, 3000);
    const Instant t0 = Instant::from_nanos(5'000'000);
    push_none(fragment(*pool_, d, 0, 1480), t0);
    push_none(fragment(*pool_, d, 2960, 40), t0);
    EXPECT_EQ(pool_->in_use(), 2u) << "both fragments held";
    r_->expire(t0 + cfg_.timeout);  // not yet: strictly more than the timeout
    EXPECT_EQ(r_->counters().timeout, 0u);
    EXPECT_EQ(pool_->in_use(), 2u);
    r_->expire(t0 + cfg_.timeout + Duration::nanos(1));
    EXPECT_EQ(r_->counters().timeout, 2u);
    EXPECT_EQ(pool_->in_use(), 0u) << "timed-out fragments went back to the pool";
    // The middle fragment arriving late starts a new datagram that never completes either.
    push_none(fragment(*pool_, d, 1480, 1480), t0 + cfg_.timeout * 2);
    r_->drop_all();
    EXPECT_EQ(pool_->in_use(), 0u);
    EXPECT_EQ(r_->counters().timeout, 2u) << "drop_all is not a timeout";
}

TEST_F(Reassembly, FullTableDropsNewDatagramsAndRecovers) {
    cfg_.max_datagrams = 4;
    make(cfg_);
    std::vector<Datagram> ds;
    for (std::uint16_t id = 100; id < 105; ++id) ds.push_back(datagram(id, 3000));
    for (int i = 0; i < 4; ++i) push_none(fragment(*pool_, ds[i], 0, 1480));
    EXPECT_EQ(r_->counters().table_full, 0u);
    push_none(fragment(*pool_, ds[4], 0, 1480));
    EXPECT_EQ(r_->counters().table_full, 1u);
    EXPECT_EQ(pool_->in_use(), 4u) << "the refused fragment was freed";
    // Completing one frees its entry; the fifth datagram fits then.
    push_none(fragment(*pool_, ds[0], 1480, 1480));
    push_whole(fragment(*pool_, ds[0], 2960, 40), ds[0]);
    push_none(fragment(*pool_, ds[4], 0, 1480));
    push_none(fragment(*pool_, ds[4], 1480, 1480));
    push_whole(fragment(*pool_, ds[4], 2960, 40), ds[4]);
    EXPECT_EQ(r_->counters().table_full, 1u);
    r_->drop_all();
}

TEST_F(Reassembly, MalformedFragmentsAreBad) {
    make(cfg_);
    const Datagram d = datagram(10, 3000);
    push_none(fragment(*pool_, d, 0, 1478));  // MF with a length not a multiple of 8
    EXPECT_EQ(r_->counters().bad, 1u);
    rte_mbuf* m = fragment(*pool_, d, 0, 1480);
    ASSERT_NE(m, nullptr);
    rte_pktmbuf_mtod_offset(m, std::uint8_t*, kL2)[10] ^= 0x55;  // header checksum
    push_none(m);
    EXPECT_EQ(r_->counters().bad, 2u);
    m = fragment(*pool_, d, 0, 1480);
    ASSERT_NE(m, nullptr);
    (void)rte_pktmbuf_trim(m, 100);  // total length beyond the frame
    push_none(m);
    EXPECT_EQ(r_->counters().bad, 3u);
    Datagram big = datagram(11, 65528);
    m = fragment(*pool_, big, 65520, 8);  // ends at 65528 + 20 > 65535
    push_none(m);
    EXPECT_EQ(r_->counters().bad, 4u);
    EXPECT_EQ(r_->counters().datagrams, 0u);
}

TEST_F(Reassembly, FragmentIpv4RoundTrips) {
    make(cfg_);
    const Datagram d = datagram(12, 3008);
    rte_mbuf* whole = to_mbuf(*big_, whole_frame(d));
    ASSERT_NE(whole, nullptr);
    rte_mbuf* out[8] = {};
    const int n = dpdk::fragment_ipv4(whole, kL2, 1500, pool_->get(), out, 8);
    ASSERT_EQ(n, 3);
    std::size_t total = 0;
    for (int i = 0; i < n; ++i) {
        EXPECT_LE(rte_pktmbuf_pkt_len(out[i]), 1514u);
        std::vector<std::uint8_t> b = bytes_of(out[i]);
        EXPECT_EQ(std::memcmp(b.data(), whole_frame(d).data(), 12), 0) << "Ethernet header of fragment " << i;
        EXPECT_EQ(ip_sum(b.data() + kL2, kIhl), 0) << "header checksum of fragment " << i;
        total += b.size() - kL2 - kIhl;
    }
    EXPECT_EQ(total, d.payload.size());
    // Back through the reassembler, last first.
    for (int i = n - 1; i > 0; --i) {
        rte_mbuf* lin = to_mbuf(*pool_, bytes_of(out[i]));
        rte_pktmbuf_free(out[i]);
        push_none(lin);
    }
    rte_mbuf* lin0 = to_mbuf(*pool_, bytes_of(out[0]));
    rte_pktmbuf_free(out[0]);
    push_whole(lin0, d);
}

TEST_F(Reassembly, FragmentIpv4RefusesDfAndTooFewSlots) {
    make(cfg_);
    Datagram d = datagram(13, 3000);
    d.df = true;
    rte_mbuf* out[8] = {};
    EXPECT_EQ(dpdk::fragment_ipv4(to_mbuf(*big_, whole_frame(d)), kL2, 1500, pool_->get(), out, 8), -ENOTSUP);
    d.df = false;
    EXPECT_EQ(dpdk::fragment_ipv4(to_mbuf(*big_, whole_frame(d)), kL2, 1500, pool_->get(), out, 2), -ENOSPC);
}

}  // namespace
