// The Internet checksum (RFC 1071), the IPv4 pseudo-header (RFC 9293 §3.1) and
// incremental update (RFC 1624).
//
// Every 16-bit value here is in host order and means the big-endian word on the
// wire: `load_be16(&hdr[10])` compares directly with `internet_checksum(hdr)`
// computed with the field zeroed. Partial sums are 32-bit, not yet folded or
// complemented, and can be chained:
//
//   std::uint32_t s = ipv4_pseudo_header_sum(src, dst, kIpProtoTcp, seg.size());
//   s = checksum_partial(seg, s);             // seg must be the last (or even-length) piece
//   bool ok = checksum_fold(s) == 0xffff;     // what tcp_checksum_ok() does
#pragma once

#include <cstdint>

#include "ustcp/base/addr.hpp"
#include "ustcp/wire/bytes.hpp"

namespace ustcp::wire {

/// Adds `data` to the running sum `sum`. Odd-length data is padded with a zero byte,
/// so only the last piece of a chain may have odd length. Result is < 2^17 + sum.
std::uint32_t checksum_partial(Bytes data, std::uint32_t sum = 0) noexcept;

/// Folds carries into 16 bits (no complement).
constexpr std::uint16_t checksum_fold(std::uint32_t sum) noexcept {
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<std::uint16_t>(sum);
}

/// The value to store in a checksum field computed over `data` (field zeroed).
inline std::uint16_t internet_checksum(Bytes data) noexcept {
    return static_cast<std::uint16_t>(~checksum_fold(checksum_partial(data)));
}

/// Sum of the IPv4 pseudo-header: addresses, zero, protocol, upper-layer length.
constexpr std::uint32_t ipv4_pseudo_header_sum(Ipv4Addr src, Ipv4Addr dst, std::uint8_t proto,
                                               std::uint16_t l4_len) noexcept {
    return (src.value() >> 16) + (src.value() & 0xffff) + (dst.value() >> 16) + (dst.value() & 0xffff) +
           proto + l4_len;
}

/// Checksum to store in a TCP (or UDP) header over IPv4; `segment` is header + payload
/// with the checksum field zeroed.
std::uint16_t l4_checksum_ipv4(Ipv4Addr src, Ipv4Addr dst, std::uint8_t proto, Bytes segment) noexcept;

/// True when `segment` (checksum field as received) verifies against its pseudo-header.
bool l4_checksum_ok_ipv4(Ipv4Addr src, Ipv4Addr dst, std::uint8_t proto, Bytes segment) noexcept;

/// RFC 1624 eqn. 3: the new checksum after a 16-bit word of the covered data changes
/// from `old_word` to `new_word`: HC' = ~(~HC + ~m + m').
constexpr std::uint16_t checksum_update16(std::uint16_t old_cksum, std::uint16_t old_word,
                                          std::uint16_t new_word) noexcept {
    std::uint32_t s = static_cast<std::uint16_t>(~old_cksum);
    s += static_cast<std::uint16_t>(~old_word);
    s += new_word;
    return static_cast<std::uint16_t>(~checksum_fold(s));
}

/// RFC 1624 for a 32-bit field (an address or sequence number), as two 16-bit words.
constexpr std::uint16_t checksum_update32(std::uint16_t old_cksum, std::uint32_t old_val,
                                          std::uint32_t new_val) noexcept {
    std::uint32_t s = static_cast<std::uint16_t>(~old_cksum);
    s += static_cast<std::uint16_t>(~(old_val >> 16)) + static_cast<std::uint16_t>(~old_val & 0xffff);
    s += (new_val >> 16) + (new_val & 0xffff);
    return static_cast<std::uint16_t>(~checksum_fold(s));
}

}  // namespace ustcp::wire
