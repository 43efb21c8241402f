// IPv4 datagrams (RFC 791).
//
// `Ipv4View::checked` validates version, IHL and total length against the bytes
// present, once; the accessors after it cannot fail. Header options are skipped
// (reachable through `options()`), trailing link-layer padding is excluded from
// `payload()`, and fragments are recognised so the caller can send them to
// reassembly instead of to TCP. The header checksum is checked separately
// (`header_checksum_ok`), because a NIC may already have done it.
#pragma once

#include <cstdint>

#include "ustcp/base/addr.hpp"
#include "ustcp/base/endian.hpp"
#include "ustcp/base/result.hpp"
#include "ustcp/wire/bytes.hpp"
#include "ustcp/wire/checksum.hpp"
#include "ustcp/wire/error.hpp"

namespace ustcp::wire {

inline constexpr std::size_t kIpv4MinHeaderLen = 20;
inline constexpr std::uint8_t kIpProtoIcmp = 1;
inline constexpr std::uint8_t kIpProtoTcp = 6;
inline constexpr std::uint8_t kIpProtoUdp = 17;

class Ipv4View {
public:
    /// Errors: Ipv4Truncated, Ipv4BadVersion, Ipv4BadIhl, Ipv4HeaderPastEnd,
    /// Ipv4BadTotalLength, Ipv4TotalLengthPastEnd.
    static Result<Ipv4View, ParseError> checked(Bytes pkt) noexcept {
        if (pkt.size() < kIpv4MinHeaderLen) return Err(ParseError::Ipv4Truncated);
        if ((pkt[0] >> 4) != 4) return Err(ParseError::Ipv4BadVersion);
        std::size_t hlen = std::size_t{pkt[0] & 0x0fu} * 4;
        if (hlen < kIpv4MinHeaderLen) return Err(ParseError::Ipv4BadIhl);
        if (hlen > pkt.size()) return Err(ParseError::Ipv4HeaderPastEnd);
        std::size_t total = load_be16(&pkt[2]);
        if (total < hlen) return Err(ParseError::Ipv4BadTotalLength);
        if (total > pkt.size()) return Err(ParseError::Ipv4TotalLengthPastEnd);
        return Ipv4View(pkt.first(total));
    }

    [[nodiscard]] std::uint8_t version() const noexcept { return p_[0] >> 4; }
    [[nodiscard]] std::size_t header_len() const noexcept { return std::size_t{p_[0] & 0x0fu} * 4; }
    [[nodiscard]] std::uint8_t tos() const noexcept { return p_[1]; }
    [[nodiscard]] std::uint8_t dscp() const noexcept { return p_[1] >> 2; }
    [[nodiscard]] std::uint8_t ecn() const noexcept { return p_[1] & 0x3; }
    [[nodiscard]] std::uint16_t total_length() const noexcept { return load_be16(&p_[2]); }
    [[nodiscard]] std::uint16_t ident() const noexcept { return load_be16(&p_[4]); }
    [[nodiscard]] bool dont_fragment() const noexcept { return (p_[6] & 0x40) != 0; }
    [[nodiscard]] bool more_fragments() const noexcept { return (p_[6] & 0x20) != 0; }
    /// Fragment offset in bytes (the field counts 8-byte units).
    [[nodiscard]] std::uint32_t frag_offset() const noexcept { return (load_be16(&p_[6]) & 0x1fffu) * 8; }
    /// True for any piece of a fragmented datagram (MF set or offset non-zero).
    [[nodiscard]] bool is_fragment() const noexcept { return more_fragments() || frag_offset() != 0; }
    [[nodiscard]] std::uint8_t ttl() const noexcept { return p_[8]; }
    [[nodiscard]] std::uint8_t protocol() const noexcept { return p_[9]; }
    [[nodiscard]] std::uint16_t header_checksum() const noexcept { return load_be16(&p_[10]); }
    [[nodiscard]] Ipv4Addr src() const noexcept { return Ipv4Addr(load_be32(&p_[12])); }
    [[nodiscard]] Ipv4Addr dst() const noexcept { return Ipv4Addr(load_be32(&p_[16])); }
    [[nodiscard]] Bytes options() const noexcept {
        return p_.subspan(kIpv4MinHeaderLen, header_len() - kIpv4MinHeaderLen);
    }
    /// The bytes after the header, up to the total length (padding excluded).
    [[nodiscard]] Bytes payload() const noexcept { return p_.subspan(header_len()); }
    /// Header and payload, total_length() bytes.
    [[nodiscard]] Bytes bytes() const noexcept { return p_; }
    [[nodiscard]] bool header_checksum_ok() const noexcept {
        return checksum_fold(checksum_partial(p_.first(header_len()))) == 0xffff;
    }

private:
    explicit Ipv4View(Bytes p) noexcept : p_(p) {}
    Bytes p_;
};

/// An IPv4 header without options, in host terms.
struct Ipv4Repr {
    Ipv4Addr src;
    Ipv4Addr dst;
    std::uint8_t protocol = kIpProtoTcp;
    std::uint8_t ttl = 64;
    std::uint8_t tos = 0;
    std::uint16_t ident = 0;
    bool dont_fragment = true;
    std::uint16_t payload_len = 0;

    static Ipv4Repr parse(const Ipv4View& v) noexcept {
        return {v.src(), v.dst(), v.protocol(), v.ttl(), v.tos(), v.ident(), v.dont_fragment(),
                static_cast<std::uint16_t>(v.total_length() - v.header_len())};
    }

    /// Writes a 20-byte header with its checksum. Precondition: out.size() >= 20.
    void emit(MutBytes out) const noexcept {
        out[0] = 0x45;
        out[1] = tos;
        store_be16(&out[2], static_cast<std::uint16_t>(kIpv4MinHeaderLen + payload_len));
        store_be16(&out[4], ident);
        store_be16(&out[6], dont_fragment ? 0x4000 : 0);
        out[8] = ttl;
        out[9] = protocol;
        store_be16(&out[10], 0);
        store_be32(&out[12], src.value());
        store_be32(&out[16], dst.value());
        store_be16(&out[10], internet_checksum(out.first(kIpv4MinHeaderLen)));
    }
};

}  // namespace ustcp::wire
