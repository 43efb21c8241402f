#include "ustcp/wire/checksum.hpp"

#include <cstring>

#include "ustcp/base/endian.hpp"

namespace ustcp::wire {

// The ones'-complement sum is byte-order independent (RFC 1071 §2(B)): we add
// native-order words and swap once at the end. Eight bytes per step go into a
// 64-bit accumulator as two 32-bit halves, which cannot overflow for any
// buffer below 2^34 bytes, so the loop carries no dependency on a carry flag.
std::uint32_t checksum_partial(Bytes data, std::uint32_t sum) noexcept {
    const std::uint8_t* p = data.data();
    std::size_t n = data.size();
    std::uint64_t acc = 0;
    while (n >= 32) {
        std::uint64_t w[4];
        std::memcpy(w, p, sizeof w);
        acc += (w[0] & 0xffffffff) + (w[0] >> 32) + (w[1] & 0xffffffff) + (w[1] >> 32);
        acc += (w[2] & 0xffffffff) + (w[2] >> 32) + (w[3] & 0xffffffff) + (w[3] >> 32);
        p += 32;
        n -= 32;
    }
    while (n >= 8) {
        std::uint64_t w;
        std::memcpy(&w, p, sizeof w);
        acc += (w & 0xffffffff) + (w >> 32);
        p += 8;
        n -= 8;
    }
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
    // Fold 64 -> 32 -> 16 bits in native order, then express as a big-endian word value.
    acc = (acc & 0xffffffff) + (acc >> 32);
    acc = (acc & 0xffffffff) + (acc >> 32);
    std::uint16_t folded = checksum_fold(static_cast<std::uint32_t>(acc));
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
