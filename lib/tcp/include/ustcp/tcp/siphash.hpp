// SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012):
// a keyed 64-bit pseudorandom function for short inputs. lib/tcp uses it where an
// off-path attacker must not predict or forge a value: RFC 6528 initial sequence
// numbers (isn.hpp) and SYN cookies (syncookie.hpp).
//
//   const SipKey key = SipKey::random();              // once, at start-up
//   std::uint64_t h = siphash24(key, bytes);           // any byte string
//   std::uint64_t g = siphash24_words(key, words);     // fixed-size word message, no byte buffer
//
// Keys are secrets: nothing here prints them. A key is 128 bits; the two 64-bit
// halves are the little-endian readings of bytes 0..7 and 8..15, as in the paper.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace ustcp::tcp {

/// A 128-bit SipHash key. There is no default (all-zero) key: say where the bits come from.
class SipKey {
public:
    /// The key made of these 16 bytes (the paper's k = k0 || k1, each half little-endian).
    static constexpr SipKey from_bytes(const std::array<std::uint8_t, 16>& b) noexcept {
        return SipKey(le64(b, 0), le64(b, 8));
    }
    /// The key whose halves are k0 and k1 (k0 = bytes 0..7 read little-endian).
    static constexpr SipKey from_words(std::uint64_t k0, std::uint64_t k1) noexcept { return SipKey(k0, k1); }

    /// 16 bytes from getrandom(2) (blocking until the kernel's pool is initialised).
    /// Start-up only, never on the data path.
    /// @throws std::system_error with getrandom's errno (ENOSYS on kernels before 3.17,
    ///         EFAULT/EINVAL never in practice); EINTR and short reads are retried.
    static SipKey random();

    [[nodiscard]] constexpr std::uint64_t k0() const noexcept { return k0_; }
    [[nodiscard]] constexpr std::uint64_t k1() const noexcept { return k1_; }
    [[nodiscard]] constexpr std::array<std::uint8_t, 16> bytes() const noexcept {
        std::array<std::uint8_t, 16> b{};
        for (std::size_t i = 0; i < 8; ++i) {
            b[i] = static_cast<std::uint8_t>(k0_ >> (8 * i));
            b[8 + i] = static_cast<std::uint8_t>(k1_ >> (8 * i));
        }
        return b;
    }
    friend constexpr bool operator==(const SipKey&, const SipKey&) noexcept = default;

private:
    constexpr SipKey(std::uint64_t k0, std::uint64_t k1) noexcept : k0_(k0), k1_(k1) {}
    static constexpr std::uint64_t le64(const std::array<std::uint8_t, 16>& b, std::size_t at) noexcept {
        std::uint64_t v = 0;
        for (std::size_t i = 0; i < 8; ++i) v |= std::uint64_t{b[at + i]} << (8 * i);
        return v;
    }

    std::uint64_t k0_;
    std::uint64_t k1_;
};

/// SipHash-2-4 of `msg`, 64-bit output. The paper's byte output is this value stored little-endian.
[[nodiscard]] std::uint64_t siphash24(const SipKey& key, std::span<const std::uint8_t> msg) noexcept;

namespace detail {

/// The four-word SipHash state and its round (the paper's SipRound, §2.1).
struct SipState {
    std::uint64_t v0, v1, v2, v3;

    constexpr explicit SipState(const SipKey& k) noexcept
        : v0(k.k0() ^ 0x736f6d6570736575ULL),  // "somepseu"
          v1(k.k1() ^ 0x646f72616e646f6dULL),  // "dorandom"
          v2(k.k0() ^ 0x6c7967656e657261ULL),  // "lygenera"
          v3(k.k1() ^ 0x7465646279746573ULL) {}  // "tedbytes"

    static constexpr std::uint64_t rotl(std::uint64_t x, int b) noexcept { return (x << b) | (x >> (64 - b)); }

    constexpr void round() noexcept {
        v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32);
        v2 += v3; v3 = rotl(v3, 16); v3 ^= v2;
        v0 += v3; v3 = rotl(v3, 21); v3 ^= v0;
        v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32);
    }
    /// One message word m with c = 2 compression rounds.
    constexpr void compress(std::uint64_t m) noexcept {
        v3 ^= m;
        round();
        round();
        v0 ^= m;
    }
    /// d = 4 finalisation rounds; call after the last word (which holds the length byte).
    constexpr std::uint64_t finish() noexcept {
        v2 ^= 0xff;
        round();
        round();
        round();
        round();
        return v0 ^ v1 ^ v2 ^ v3;
    }
};

}  // namespace detail

/// SipHash-2-4 of the 8*N-byte message that is `words` each stored little-endian, i.e.
/// exactly `siphash24(key, those bytes)`, without building the buffer. Inline and constexpr
/// so that callers hashing a fixed small struct (a 4-tuple plus a few words) get
/// straight-line code: N compressions and one finalisation.
template <std::size_t N>
[[nodiscard]] constexpr std::uint64_t siphash24_words(const SipKey& key,
                                                      const std::array<std::uint64_t, N>& words) noexcept {
    detail::SipState s(key);
    for (std::uint64_t m : words) s.compress(m);
    // The final block: no tail bytes, the message length mod 256 in the top byte.
    s.compress(std::uint64_t{(8 * N) & 0xff} << 56);
    return s.finish();
}

}  // namespace ustcp::tcp
