#include "ustcp/wire/checksum.hpp"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "ustcp/base/endian.hpp"

using namespace ustcp;
using namespace ustcp::wire;

namespace {
// Straightforward RFC 1071 reference: big-endian 16-bit words, 32-bit sum, odd byte padded.
std::uint16_t reference_sum(const std::vector<std::uint8_t>& d) {
    std::uint64_t s = 0;
    for (std::size_t i = 0; i + 1 < d.size(); i += 2) s += (d[i] << 8) | d[i + 1];
    if (d.size() % 2 != 0) s += d.back() << 8;
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return static_cast<std::uint16_t>(s);
}

std::vector<std::uint8_t> random_bytes(std::mt19937& rng, std::size_t n) {
    std::vector<std::uint8_t> v(n);
    for (auto& b : v) b = static_cast<std::uint8_t>(rng());
    return v;
}
}  // namespace

TEST(Checksum, Rfc1071Example) {
    // RFC 1071 §3: the bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2.
    const std::uint8_t d[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    EXPECT_EQ(checksum_fold(checksum_partial(d)), 0xddf2);
    EXPECT_EQ(internet_checksum(d), static_cast<std::uint16_t>(~0xddf2));
}

TEST(Checksum, OddLengthPadsHighByte) {
    const std::uint8_t d[] = {0xab};
    EXPECT_EQ(checksum_fold(checksum_partial(d)), 0xab00);
    EXPECT_EQ(checksum_fold(checksum_partial(Bytes{})), 0);
}

TEST(Checksum, MatchesReferenceAtEveryLengthAndAlignment) {
    std::mt19937 rng(1);
    auto buf = random_bytes(rng, 9100);
    for (std::size_t off = 0; off < 8; ++off) {
        for (std::size_t len : {0u, 1u, 2u, 3u, 7u, 8u, 31u, 32u, 33u, 63u, 64u, 65u, 1500u, 1501u, 9000u}) {
            std::vector<std::uint8_t> piece(buf.begin() + static_cast<long>(off), buf.begin() + static_cast<long>(off + len));
            EXPECT_EQ(checksum_fold(checksum_partial(Bytes(buf).subspan(off, len))), reference_sum(piece))
                << "off " << off << " len " << len;
        }
    }
}

TEST(Checksum, AllOnesDoesNotOverflow) {
    std::vector<std::uint8_t> ff(65535, 0xff);
    EXPECT_EQ(checksum_fold(checksum_partial(ff)), reference_sum(ff));
}

TEST(Checksum, DeferredCarriesFoldBackAtTheEnd) {
    // The 64-bit words are summed with their carries kept apart: two all-ones words carry
    // once, and a third word whose low byte is 1 makes the low half wrap as the carry is
    // added back (the end-around carry of the final fold). Every length up to 40 bytes of
    // this pattern, and of words near 0xffff in every byte lane, matches the reference.
    std::vector<std::uint8_t> d(16, 0xff);
    d.push_back(0x01);
    d.resize(24, 0x00);
    d.insert(d.end(), 16, 0xff);
    for (std::size_t len = 0; len <= d.size(); ++len) {
        std::vector<std::uint8_t> piece(d.begin(), d.begin() + static_cast<long>(len));
        EXPECT_EQ(checksum_fold(checksum_partial(piece)), reference_sum(piece)) << "len " << len;
    }
    std::mt19937 rng(3);
    for (int iter = 0; iter < 200; ++iter) {
        std::vector<std::uint8_t> v(static_cast<std::size_t>(rng() % 300));
        for (auto& b : v) b = static_cast<std::uint8_t>(0xf0 | (rng() & 0x0f));
        EXPECT_EQ(checksum_fold(checksum_partial(v)), reference_sum(v)) << "size " << v.size();
    }
}

TEST(Checksum, ChainingEvenPiecesEqualsOneShot) {
    std::mt19937 rng(2);
    auto buf = random_bytes(rng, 1001);
    std::uint32_t s = checksum_partial(Bytes(buf).first(40));
    s = checksum_partial(Bytes(buf).subspan(40, 600), s);
    s = checksum_partial(Bytes(buf).subspan(640), s);
    EXPECT_EQ(checksum_fold(s), checksum_fold(checksum_partial(buf)));
}

TEST(Checksum, PseudoHeaderAndVerify) {
    // A TCP segment: fill the checksum, then it verifies, and one flipped bit does not.
    std::mt19937 rng(3);
    auto seg = random_bytes(rng, 77);
    seg[16] = seg[17] = 0;
    Ipv4Addr src(198, 18, 0, 1), dst(198, 18, 0, 2);
    std::uint16_t c = l4_checksum_ipv4(src, dst, 6, seg);
    store_be16(&seg[16], c);
    EXPECT_TRUE(l4_checksum_ok_ipv4(src, dst, 6, seg));
    EXPECT_FALSE(l4_checksum_ok_ipv4(src, Ipv4Addr(198, 18, 0, 3), 6, seg));
    seg[50] ^= 0x04;
    EXPECT_FALSE(l4_checksum_ok_ipv4(src, dst, 6, seg));
}

TEST(Checksum, IncrementalUpdateMatchesRecompute) {
    // RFC 1624: updating a word or a 32-bit field in place gives a checksum that
    // verifies and equals a full recomputation (0x0000 and 0xffff both mean zero).
    std::mt19937 rng(4);
    for (int iter = 0; iter < 2000; ++iter) {
        auto d = random_bytes(rng, 40);
        d[10] = d[11] = 0;
        std::uint16_t c = internet_checksum(d);
        store_be16(&d[10], c);
        const std::size_t w = 2 * (rng() % 4);  // one of the first four words
        const std::uint16_t old16 = load_be16(&d[w]);
        const auto new16 = static_cast<std::uint16_t>(rng());
        store_be16(&d[w], new16);
        c = checksum_update16(c, old16, new16);
        store_be16(&d[10], c);
        ASSERT_EQ(checksum_fold(checksum_partial(d)), 0xffff) << "iteration " << iter;

        const std::uint32_t old32 = load_be32(&d[12]);
        const std::uint32_t new32 = static_cast<std::uint32_t>(rng());
        store_be32(&d[12], new32);
        c = checksum_update32(c, old32, new32);
        store_be16(&d[10], 0);
        std::uint16_t full = internet_checksum(d);
        EXPECT_TRUE(c == full || (c == 0 && full == 0xffff) || (c == 0xffff && full == 0)) << "iteration " << iter;
        store_be16(&d[10], c);
        ASSERT_EQ(checksum_fold(checksum_partial(d)), 0xffff) << "iteration " << iter;
    }
}
