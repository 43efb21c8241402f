#include "ustcp/wire/checksum.hpp"

#include <cstring>

#include "ustcp/base/endian.hpp"

namespace ustcp::wire {

// The ones'-complement sum is byte-order independent (RFC 1071 §2(B)): we add
// native-order words and swap once at the end. Since 2^64 = 1 (mod 2^16 - 1), 64-bit words
// can be summed with their carries counted apart and added back at the end (RFC 1071 §2(C),
// "deferred carries"): `s += w; c += s < w` is an add and an add-with-carry, so a 32-byte
// step is about a dozen instructions where the split-halves loop this replaced took twenty
// (docs/profiles.md). The carry count cannot overflow below 2^64 words.
namespace {
inline void add64(std::uint64_t& s, std::uint64_t& c, const std::uint8_t* p) noexcept {
    std::uint64_t w;
    std::memcpy(&w, p, sizeof w);
    s += w;
    c += s < w;
}
}  // namespace

std::uint32_t checksum_partial(Bytes data, std::uint32_t sum) noexcept {
    const std::uint8_t* p = data.data();
    std::size_t n = data.size();
    std::uint64_t s = 0, c = 0;
    while (n >= 32) {
        add64(s, c, p);
        add64(s, c, p + 8);
        add64(s, c, p + 16);
        add64(s, c, p + 24);
        p += 32;
        n -= 32;
    }
    while (n >= 8) {
        add64(s, c, p);
        p += 8;
        n -= 8;
    }
    std::uint64_t acc = 0;  // the tail, below 2^18
    if (n >= 4) {
        std::uint32_t w;
        std::memcpy(&w, p, sizeof w);
        acc += w;
        p += 4;
        n -= 4;
    }
    if (n >= 2) {
        std::uint16_t w;
        std::memcpy(&w, p, sizeof w);
        acc += w;
        p += 2;
        n -= 2;
    }
    if (n == 1) {
        // The odd byte is the high-order byte of a zero-padded big-endian word.
        std::uint8_t pad[2] = {*p, 0};
        std::uint16_t w;
        std::memcpy(&w, pad, sizeof w);
        acc += w;
    }
    // Fold the tail and the carries in, then 64 -> 32 -> 16 bits in native order, and express
    // the result as a big-endian word value.
    s += acc;
    c += s < acc;
    s += c;
    c = s < c;  // end-around carry: at most one more
    s += c;
    std::uint64_t t = (s & 0xffffffff) + (s >> 32);
    t = (t & 0xffffffff) + (t >> 32);
    const std::uint16_t folded = checksum_fold(static_cast<std::uint32_t>(t));
    return sum + byteswap_if_little(folded);
}

std::uint16_t l4_checksum_ipv4(Ipv4Addr src, Ipv4Addr dst, std::uint8_t proto, Bytes segment) noexcept {
    std::uint32_t s = ipv4_pseudo_header_sum(src, dst, proto, static_cast<std::uint16_t>(segment.size()));
    return static_cast<std::uint16_t>(~checksum_fold(checksum_partial(segment, s)));
}

bool l4_checksum_ok_ipv4(Ipv4Addr src, Ipv4Addr dst, std::uint8_t proto, Bytes segment) noexcept {
    std::uint32_t s = ipv4_pseudo_header_sum(src, dst, proto, static_cast<std::uint16_t>(segment.size()));
    return checksum_fold(checksum_partial(segment, s)) == 0xffff;
}

}  // namespace ustcp::wire
