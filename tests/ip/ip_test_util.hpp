// Shared fixtures for the lib/ip tests: a test interface and peers, and datagrams built
// with lib/wire's builders (Ipv4Repr::emit, emit_icmp_echo, TcpRepr, ArpRepr, EthernetRepr).
#pragma once

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <vector>

#include "ustcp/base/addr.hpp"
#include "ustcp/base/endian.hpp"
#include "ustcp/base/time.hpp"
#include "ustcp/ip/interface.hpp"
#include "ustcp/wire/arp.hpp"
#include "ustcp/wire/checksum.hpp"
#include "ustcp/wire/ethernet.hpp"
#include "ustcp/wire/icmp.hpp"
#include "ustcp/wire/ipv4.hpp"

namespace iptest {

using namespace ustcp;
using Buf = std::vector<std::uint8_t>;

inline const MacAddr kOurMac({0x02, 0x00, 0x00, 0x00, 0x00, 0x01});
inline const MacAddr kPeerMac({0x02, 0x00, 0x00, 0x00, 0x00, 0x09});
inline const MacAddr kPeer2Mac({0x02, 0x00, 0x00, 0x00, 0x00, 0x0a});
inline const MacAddr kGwMac({0x02, 0x00, 0x00, 0x00, 0x00, 0xfe});
inline constexpr Ipv4Addr kOurIp(10, 0, 0, 2);
inline constexpr Ipv4Addr kPeerIp(10, 0, 0, 9);
inline constexpr Ipv4Addr kPeer2Ip(10, 0, 0, 10);
inline constexpr Ipv4Addr kGwIp(10, 0, 0, 1);
inline constexpr Ipv4Addr kRemoteIp(192, 0, 2, 7);  // off-link (TEST-NET-1)

inline ip::Interface test_interface(std::uint16_t mtu = 1500) {
    return ip::Interface{kOurMac, kOurIp, 24, kGwIp, mtu};
}

inline Instant at_ms(std::int64_t ms) { return Instant::from_nanos(ms * 1'000'000); }

/// An option-less IPv4 datagram around `payload`, built with Ipv4Repr::emit.
inline Buf ipv4(Ipv4Addr src, Ipv4Addr dst, std::uint8_t proto, const Buf& payload, std::uint16_t ident = 0x1234,
                std::uint8_t ttl = 64) {
    Buf b(wire::kIpv4MinHeaderLen + payload.size());
    wire::Ipv4Repr r{src, dst, proto, ttl, 0, ident, true, static_cast<std::uint16_t>(payload.size())};
    r.emit(b);
    if (!payload.empty()) std::memcpy(b.data() + wire::kIpv4MinHeaderLen, payload.data(), payload.size());
    return b;
}

/// Recomputes the header checksum of the datagram in `b` (after a test edited the header).
inline void fix_ipv4_checksum(Buf& b) {
    const std::size_t hlen = std::size_t{b[0] & 0x0fu} * 4;
    store_be16(&b[10], 0);
    store_be16(&b[10], wire::internet_checksum(wire::Bytes(b.data(), hlen)));
}

/// Inserts `opts` (a multiple of 4 bytes) after the 20-byte header, fixing IHL, total length
/// and checksum.
inline Buf with_options(Buf b, const Buf& opts) {
    b.insert(b.begin() + wire::kIpv4MinHeaderLen, opts.begin(), opts.end());
    b[0] = static_cast<std::uint8_t>(0x40 | ((wire::kIpv4MinHeaderLen + opts.size()) / 4));
    store_be16(&b[2], static_cast<std::uint16_t>(b.size()));
    fix_ipv4_checksum(b);
    return b;
}

/// An ICMP echo message (request or reply) with `data`, built with emit_icmp_echo.
inline Buf icmp_echo(std::uint8_t type, std::uint16_t id, std::uint16_t seq, const Buf& data) {
    Buf m(wire::kIcmpHeaderLen + data.size());
    if (!data.empty()) std::memcpy(m.data() + wire::kIcmpHeaderLen, data.data(), data.size());
    wire::emit_icmp_echo(m, type, id, seq);
    return m;
}

/// A 20-byte TCP header (no options) with a correct checksum, as a payload.
inline Buf tcp_segment(Ipv4Addr src, Ipv4Addr dst, std::uint16_t sport, std::uint16_t dport, std::uint32_t seq,
                       std::uint8_t flags = 0x02) {
    Buf t(20, 0);
    store_be16(&t[0], sport);
    store_be16(&t[2], dport);
    store_be32(&t[4], seq);
    t[12] = 5 << 4;
    t[13] = flags;
    store_be16(&t[14], 65535);
    store_be16(&t[16], wire::l4_checksum_ipv4(src, dst, wire::kIpProtoTcp, t));
    return t;
}

/// An ARP message (28 bytes) built with ArpRepr::emit.
inline Buf arp_msg(std::uint16_t op, MacAddr smac, Ipv4Addr sip, MacAddr tmac, Ipv4Addr tip) {
    Buf b(wire::kArpIpv4Len);
    wire::ArpRepr{op, smac, sip, tmac, tip}.emit(b);
    return b;
}

inline Buf bytes(std::initializer_list<int> v) {
    Buf b;
    for (int x : v) b.push_back(static_cast<std::uint8_t>(x));
    return b;
}

}  // namespace iptest
