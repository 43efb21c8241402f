// ARP for IPv4 over Ethernet (RFC 826). Other hardware/protocol combinations are
// reported as ArpUnsupported rather than parsed.
#pragma once

#include <array>
#include <cstdint>

#include "ustcp/base/addr.hpp"
#include "ustcp/base/endian.hpp"
#include "ustcp/base/result.hpp"
#include "ustcp/wire/bytes.hpp"
#include "ustcp/wire/error.hpp"

namespace ustcp::wire {

inline constexpr std::size_t kArpIpv4Len = 28;
inline constexpr std::uint16_t kArpOpRequest = 1;
inline constexpr std::uint16_t kArpOpReply = 2;

class ArpView {
public:
    /// Errors: ArpTruncated (fewer than 8 bytes, or the addresses do not fit),
    /// ArpUnsupported (not htype 1 / ptype 0x0800 / hlen 6 / plen 4).
    static Result<ArpView, ParseError> checked(Bytes pkt) noexcept {
        if (pkt.size() < 8) return Err(ParseError::ArpTruncated);
        if (load_be16(&pkt[0]) != 1 || load_be16(&pkt[2]) != 0x0800 || pkt[4] != 6 || pkt[5] != 4) {
            return Err(ParseError::ArpUnsupported);
        }
        if (pkt.size() < kArpIpv4Len) return Err(ParseError::ArpTruncated);
        return ArpView(pkt);
    }

    [[nodiscard]] std::uint16_t op() const noexcept { return load_be16(&p_[6]); }
    [[nodiscard]] MacAddr sender_mac() const noexcept { return mac_at(8); }
    [[nodiscard]] Ipv4Addr sender_ip() const noexcept { return Ipv4Addr(load_be32(&p_[14])); }
    [[nodiscard]] MacAddr target_mac() const noexcept { return mac_at(18); }
    [[nodiscard]] Ipv4Addr target_ip() const noexcept { return Ipv4Addr(load_be32(&p_[24])); }

private:
    explicit ArpView(Bytes p) noexcept : p_(p) {}
    [[nodiscard]] MacAddr mac_at(std::size_t off) const noexcept {
        std::array<std::uint8_t, 6> b{};
        for (std::size_t i = 0; i < 6; ++i) b[i] = p_[off + i];
        return MacAddr(b);
    }
    Bytes p_;
};

struct ArpRepr {
    std::uint16_t op = kArpOpRequest;
    MacAddr sender_mac;
    Ipv4Addr sender_ip;
    MacAddr target_mac;
    Ipv4Addr target_ip;

    static ArpRepr parse(const ArpView& v) noexcept {
        return {v.op(), v.sender_mac(), v.sender_ip(), v.target_mac(), v.target_ip()};
    }

    /// Writes kArpIpv4Len bytes. Precondition: out.size() >= kArpIpv4Len.
    void emit(MutBytes out) const noexcept {
        store_be16(&out[0], 1);
        store_be16(&out[2], 0x0800);
        out[4] = 6;
        out[5] = 4;
        store_be16(&out[6], op);
        for (std::size_t i = 0; i < 6; ++i) {
            out[8 + i] = sender_mac.bytes()[i];
            out[18 + i] = target_mac.bytes()[i];
        }
        store_be32(&out[14], sender_ip.value());
        store_be32(&out[24], target_ip.value());
    }
};

}  // namespace ustcp::wire
