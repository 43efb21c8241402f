// Ethernet II frames with up to two VLAN tags (802.1Q 0x8100, 802.1ad 0x88a8).
//
//   auto eth = EthernetView::checked(frame);
//   if (!eth) return drop(eth.error());
//   if (eth->ethertype() == kEtherTypeIpv4) handle_ipv4(eth->payload());
//
// The payload may carry trailing padding (frames shorter than 60 bytes are padded);
// the IPv4 view trims it by the datagram's total length.
#pragma once

#include <array>
#include <cstdint>

#include "ustcp/base/addr.hpp"
#include "ustcp/base/endian.hpp"
#include "ustcp/base/result.hpp"
#include "ustcp/wire/bytes.hpp"
#include "ustcp/wire/error.hpp"

namespace ustcp::wire {

inline constexpr std::uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr std::uint16_t kEtherTypeArp = 0x0806;
inline constexpr std::uint16_t kEtherTypeVlan = 0x8100;
inline constexpr std::uint16_t kEtherTypeQinQ = 0x88a8;
inline constexpr std::uint16_t kEtherTypeIpv6 = 0x86dd;
inline constexpr std::size_t kEthHeaderLen = 14;
inline constexpr std::size_t kVlanTagLen = 4;
inline constexpr std::size_t kMaxVlanTags = 2;

struct VlanTag {
    std::uint16_t tpid = kEtherTypeVlan;  ///< 0x8100 or 0x88a8
    std::uint16_t tci = 0;                ///< PCP(3) DEI(1) VID(12)

    [[nodiscard]] constexpr std::uint16_t vid() const noexcept { return tci & 0x0fff; }
    [[nodiscard]] constexpr std::uint8_t pcp() const noexcept { return static_cast<std::uint8_t>(tci >> 13); }
    [[nodiscard]] constexpr bool dei() const noexcept { return (tci & 0x1000) != 0; }
};

class EthernetView {
public:
    /// Validates that the header and every VLAN tag fit in `frame`.
    /// Errors: EthTruncated, VlanTruncated. A third stacked tag is left in the payload.
    static Result<EthernetView, ParseError> checked(Bytes frame) noexcept {
        if (frame.size() < kEthHeaderLen) return Err(ParseError::EthTruncated);
        EthernetView v(frame);
        std::size_t off = 12;
        std::uint16_t type = load_be16(&frame[off]);
        while ((type == kEtherTypeVlan || type == kEtherTypeQinQ) && v.tag_count_ < kMaxVlanTags) {
            if (frame.size() < off + 2 + kVlanTagLen) return Err(ParseError::VlanTruncated);
            v.tags_[v.tag_count_++] = VlanTag{type, load_be16(&frame[off + 2])};
            off += kVlanTagLen;
            type = load_be16(&frame[off]);
        }
        v.ethertype_ = type;
        v.header_len_ = static_cast<std::uint8_t>(off + 2);
        return v;
    }

    [[nodiscard]] MacAddr dst() const noexcept { return mac_at(0); }
    [[nodiscard]] MacAddr src() const noexcept { return mac_at(6); }
    /// The EtherType after any VLAN tags.
    [[nodiscard]] std::uint16_t ethertype() const noexcept { return ethertype_; }
    [[nodiscard]] std::size_t vlan_count() const noexcept { return tag_count_; }
    /// Outermost tag first. Precondition: i < vlan_count().
    [[nodiscard]] VlanTag vlan(std::size_t i) const noexcept { return tags_[i]; }
    [[nodiscard]] std::size_t header_len() const noexcept { return header_len_; }
    [[nodiscard]] Bytes payload() const noexcept { return frame_.subspan(header_len_); }
    [[nodiscard]] Bytes bytes() const noexcept { return frame_; }

private:
    explicit EthernetView(Bytes f) noexcept : frame_(f) {}
    [[nodiscard]] MacAddr mac_at(std::size_t off) const noexcept {
        std::array<std::uint8_t, 6> b{};
        for (std::size_t i = 0; i < 6; ++i) b[i] = frame_[off + i];
        return MacAddr(b);
    }

    Bytes frame_;
    std::array<VlanTag, kMaxVlanTags> tags_{};
    std::uint8_t tag_count_ = 0;
    std::uint8_t header_len_ = kEthHeaderLen;
    std::uint16_t ethertype_ = 0;
};

/// What an Ethernet header says, in host terms; `emit` writes it.
struct EthernetRepr {
    MacAddr dst;
    MacAddr src;
    std::uint16_t ethertype = kEtherTypeIpv4;
    std::array<VlanTag, kMaxVlanTags> vlans{};
    std::uint8_t vlan_count = 0;

    [[nodiscard]] std::size_t header_len() const noexcept { return kEthHeaderLen + vlan_count * kVlanTagLen; }

    static EthernetRepr parse(const EthernetView& v) noexcept {
        EthernetRepr r{v.dst(), v.src(), v.ethertype(), {}, static_cast<std::uint8_t>(v.vlan_count())};
        for (std::size_t i = 0; i < v.vlan_count(); ++i) r.vlans[i] = v.vlan(i);
        return r;
    }

    /// Writes header_len() bytes. Precondition: out.size() >= header_len().
    void emit(MutBytes out) const noexcept {
        for (std::size_t i = 0; i < 6; ++i) {
            out[i] = dst.bytes()[i];
            out[6 + i] = src.bytes()[i];
        }
        std::size_t off = 12;
        for (std::size_t i = 0; i < vlan_count; ++i) {
            store_be16(&out[off], vlans[i].tpid);
            store_be16(&out[off + 2], vlans[i].tci);
            off += kVlanTagLen;
        }
        store_be16(&out[off], ethertype);
    }
};

}  // namespace ustcp::wire
