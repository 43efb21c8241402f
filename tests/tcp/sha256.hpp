// SHA-256 (FIPS 180-4), incremental, header-only, for tests that compare byte streams
// too long to keep (tests/tcp/test_bulk.cpp). No allocation: safe inside a region whose
// operator new calls are counted. On x86-64 CPUs with the SHA extensions the compression
// function uses them (about 8x faster than the portable code, which otherwise dominates a
// bulk-transfer test's run time); Sha256(false) forces the portable code, so tests can
// check both against the same vectors.
//
//   Sha256 h;
//   h.update(data, n);           // any number of times, any split
//   Sha256::Digest d = h.finish();
//   std::string s = Sha256::hex(d);
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>
#define USTCP_SHA256_X86 1
#endif

namespace ustcp::test {

class Sha256 {
public:
    using Digest = std::array<std::uint8_t, 32>;

    /// `accelerated`: use the CPU's SHA instructions when it has them.
    explicit Sha256(bool accelerated = true) noexcept : accel_(accelerated && cpu_has_sha()) {}

    /// Whether this object uses the SHA instructions.
    [[nodiscard]] bool accelerated() const noexcept { return accel_; }

    static bool cpu_has_sha() noexcept {
#ifdef USTCP_SHA256_X86
        static const bool has = [] {
            unsigned a = 0, b = 0, c = 0, d = 0;
            if (__get_cpuid(1, &a, &b, &c, &d) == 0) return false;
            const bool ssse3 = (c & (1u << 9)) != 0, sse41 = (c & (1u << 19)) != 0;
            if (__get_cpuid_count(7, 0, &a, &b, &c, &d) == 0) return false;
            return ssse3 && sse41 && (b & (1u << 29)) != 0;
        }();
        return has;
#else
        return false;
#endif
    }

    void update(const void* data, std::size_t n) noexcept {
        const auto* p = static_cast<const std::uint8_t*>(data);
        total_ += n;
        if (fill_ > 0) {
            const std::size_t k = n < 64 - fill_ ? n : 64 - fill_;
            std::memcpy(block_.data() + fill_, p, k);
            fill_ += k;
            p += k;
            n -= k;
            if (fill_ < 64) return;
            compress(block_.data(), 1);
            fill_ = 0;
        }
        if (n >= 64) {
            compress(p, n / 64);
            p += n / 64 * 64;
            n %= 64;
        }
        if (n > 0) {
            std::memcpy(block_.data(), p, n);
            fill_ = n;
        }
    }

    /// The digest of everything updated so far; the object is spent afterwards.
    [[nodiscard]] Digest finish() noexcept {
        const std::uint64_t bits = total_ * 8;
        const std::uint8_t pad = 0x80;
        update(&pad, 1);
        const std::uint8_t zero[64] = {};
        update(zero, fill_ <= 56 ? 56 - fill_ : 120 - fill_);
        std::uint8_t len[8];
        for (int i = 0; i < 8; ++i) len[i] = static_cast<std::uint8_t>(bits >> (56 - 8 * i));
        update(len, 8);
        Digest d{};
        for (int i = 0; i < 8; ++i) {
            d[4 * i + 0] = static_cast<std::uint8_t>(h_[i] >> 24);
            d[4 * i + 1] = static_cast<std::uint8_t>(h_[i] >> 16);
            d[4 * i + 2] = static_cast<std::uint8_t>(h_[i] >> 8);
            d[4 * i + 3] = static_cast<std::uint8_t>(h_[i]);
        }
        return d;
    }

    [[nodiscard]] std::uint64_t bytes() const noexcept { return total_; }

    static std::string hex(const Digest& d) {
        static const char* digits = "0123456789abcdef";
        std::string s;
        for (std::uint8_t b : d) {
            s += digits[b >> 4];
            s += digits[b & 15];
        }
        return s;
    }

    static Digest of(const void* data, std::size_t n, bool accelerated = true) noexcept {
        Sha256 h(accelerated);
        h.update(data, n);
        return h.finish();
    }

private:
    static constexpr std::uint32_t rotr(std::uint32_t x, int n) noexcept { return (x >> n) | (x << (32 - n)); }

    static constexpr std::uint32_t kRound[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    };

    void compress(const std::uint8_t* b, std::size_t blocks) noexcept {
#ifdef USTCP_SHA256_X86
        if (accel_) {
            compress_shani(h_.data(), b, blocks);
            return;
        }
#endif
        for (; blocks > 0; --blocks, b += 64) compress_portable(b);
    }

#ifdef USTCP_SHA256_X86
    /// The SHA extensions' form of the compression function: state kept as ABEF/CDGH, four
    /// rounds per group (two sha256rnds2), the schedule from sha256msg1/msg2.
    [[gnu::target("sha,sse4.1,ssse3")]] static void compress_shani(std::uint32_t* state, const std::uint8_t* data,
                                                                   std::size_t blocks) noexcept {
        const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bll, 0x0405060700010203ll);
        __m128i tmp = _mm_loadu_si128(reinterpret_cast<const __m128i*>(state));        // DCBA
        __m128i st1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(state + 4));    // HGFE
        tmp = _mm_shuffle_epi32(tmp, 0xB1);                                             // CDAB
        st1 = _mm_shuffle_epi32(st1, 0x1B);                                             // EFGH
        __m128i st0 = _mm_alignr_epi8(tmp, st1, 8);                                     // ABEF
        st1 = _mm_blend_epi16(st1, tmp, 0xF0);                                          // CDGH
        for (; blocks > 0; --blocks, data += 64) {
            const __m128i abef = st0, cdgh = st1;
            __m128i m[4];
#pragma GCC unroll 16
            for (int g = 0; g < 16; ++g) {
                __m128i& cur = m[g & 3];
                if (g < 4) {
                    cur = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(data + 16 * g)), bswap);
                } else {
                    // W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16], four at a time.
                    const __m128i prev = m[(g - 1) & 3];
                    __m128i x = _mm_sha256msg1_epu32(m[g & 3], m[(g - 3) & 3]);
                    x = _mm_add_epi32(x, _mm_alignr_epi8(prev, m[(g - 2) & 3], 4));
                    cur = _mm_sha256msg2_epu32(x, prev);
                }
                __m128i msg = _mm_add_epi32(cur, _mm_loadu_si128(reinterpret_cast<const __m128i*>(kRound + 4 * g)));
                st1 = _mm_sha256rnds2_epu32(st1, st0, msg);
                msg = _mm_shuffle_epi32(msg, 0x0E);
                st0 = _mm_sha256rnds2_epu32(st0, st1, msg);
            }
            st0 = _mm_add_epi32(st0, abef);
            st1 = _mm_add_epi32(st1, cdgh);
        }
        tmp = _mm_shuffle_epi32(st0, 0x1B);                                             // FEBA
        st1 = _mm_shuffle_epi32(st1, 0xB1);                                             // DCHG
        st0 = _mm_blend_epi16(tmp, st1, 0xF0);                                          // DCBA
        st1 = _mm_alignr_epi8(st1, tmp, 8);                                             // HGFE
        _mm_storeu_si128(reinterpret_cast<__m128i*>(state), st0);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(state + 4), st1);
    }
#endif

    void compress_portable(const std::uint8_t* b) noexcept {
        std::uint32_t w[64];
        for (int i = 0; i < 16; ++i) {
            w[i] = (std::uint32_t{b[4 * i]} << 24) | (std::uint32_t{b[4 * i + 1]} << 16) |
                   (std::uint32_t{b[4 * i + 2]} << 8) | std::uint32_t{b[4 * i + 3]};
        }
        for (int i = 16; i < 64; ++i) {
            const std::uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
            const std::uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        std::uint32_t a = h_[0], bb = h_[1], c = h_[2], d = h_[3], e = h_[4], f = h_[5], g = h_[6], h = h_[7];
        for (int i = 0; i < 64; ++i) {
            const std::uint32_t s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
            const std::uint32_t ch = (e & f) ^ (~e & g);
            const std::uint32_t t1 = h + s1 + ch + kRound[i] + w[i];
            const std::uint32_t s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
            const std::uint32_t maj = (a & bb) ^ (a & c) ^ (bb & c);
            const std::uint32_t t2 = s0 + maj;
            h = g;
            g = f;
            f = e;
            e = d + t1;
            d = c;
            c = bb;
            bb = a;
            a = t1 + t2;
        }
        h_[0] += a;
        h_[1] += bb;
        h_[2] += c;
        h_[3] += d;
        h_[4] += e;
        h_[5] += f;
        h_[6] += g;
        h_[7] += h;
    }

    std::array<std::uint32_t, 8> h_{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    std::array<std::uint8_t, 64> block_{};
    std::size_t fill_ = 0;
    std::uint64_t total_ = 0;
    bool accel_ = false;
};

}  // namespace ustcp::test
