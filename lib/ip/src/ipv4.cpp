#include "ustcp/ip/ipv4.hpp"

#include "ustcp/base/endian.hpp"
#include "ustcp/wire/error.hpp"

namespace ustcp::ip {

std::string_view to_string(Ipv4Drop d) noexcept {
    switch (d) {
        case Ipv4Drop::Truncated: return "truncated";
        case Ipv4Drop::BadVersion: return "bad-version";
        case Ipv4Drop::BadIhl: return "bad-ihl";
        case Ipv4Drop::HeaderPastEnd: return "header-past-end";
        case Ipv4Drop::BadTotalLength: return "bad-total-length";
        case Ipv4Drop::TotalLengthPastEnd: return "total-length-past-end";
        case Ipv4Drop::BadChecksum: return "bad-checksum";
        case Ipv4Drop::BadSource: return "bad-source";
        case Ipv4Drop::NotForUs: return "not-for-us";
        case Ipv4Drop::LinkBroadcast: return "link-broadcast";
        case Ipv4Drop::BadOptions: return "bad-options";
        case Ipv4Drop::SourceRoute: return "source-route";
        case Ipv4Drop::BadFragment: return "bad-fragment";
        case Ipv4Drop::BroadcastTcp: return "broadcast-tcp";
    }
    return "unknown";
}

std::string_view to_string(Ipv4Kind k) noexcept {
    switch (k) {
        case Ipv4Kind::Tcp: return "tcp";
        case Ipv4Kind::Icmp: return "icmp";
        case Ipv4Kind::Fragment: return "fragment";
        case Ipv4Kind::Other: return "other";
    }
    return "unknown";
}

std::string_view to_string(Ipv4TxError e) noexcept {
    switch (e) {
        case Ipv4TxError::BufferTooSmall: return "buffer-too-small";
        case Ipv4TxError::ExceedsMtu: return "exceeds-mtu";
    }
    return "unknown";
}

namespace {

constexpr std::uint8_t kOptEnd = 0;
constexpr std::uint8_t kOptNop = 1;
constexpr std::uint8_t kOptLsrr = 131;
constexpr std::uint8_t kOptSsrr = 137;

Ipv4Drop from_parse_error(wire::ParseError e) noexcept {
    switch (e) {
        case wire::ParseError::Ipv4BadVersion: return Ipv4Drop::BadVersion;
        case wire::ParseError::Ipv4BadIhl: return Ipv4Drop::BadIhl;
        case wire::ParseError::Ipv4HeaderPastEnd: return Ipv4Drop::HeaderPastEnd;
        case wire::ParseError::Ipv4BadTotalLength: return Ipv4Drop::BadTotalLength;
        case wire::ParseError::Ipv4TotalLengthPastEnd: return Ipv4Drop::TotalLengthPastEnd;
        default: return Ipv4Drop::Truncated;  // Ipv4Truncated; the view returns nothing else
    }
}

}  // namespace

Result<void, Ipv4Drop> check_ipv4_options(wire::Bytes opts) noexcept {
    // RFC 791 §3.1 "Options": case 1 is a single octet of option-type; case 2 is an
    // option-type octet, an option-length octet (counting the type, the length and the data)
    // and the data octets.
    std::size_t i = 0;
    while (i < opts.size()) {
        const std::uint8_t type = opts[i];
        if (type == kOptEnd) break;
        if (type == kOptNop) {
            ++i;
            continue;
        }
        if (i + 1 >= opts.size()) return Err(Ipv4Drop::BadOptions);
        const std::size_t len = opts[i + 1];
        if (len < 2 || i + len > opts.size()) return Err(Ipv4Drop::BadOptions);
        // RFC 7126 §4.3.5 / §4.4.5: LSRR and SSRR should be dropped by default; a host that
        // honoured them would let anyone steer its replies.
        if (type == kOptLsrr || type == kOptSsrr) return Err(Ipv4Drop::SourceRoute);
        i += len;
    }
    return {};
}

Result<Ipv4Packet, Ipv4Drop> Ipv4Input::receive(wire::Bytes l3, RxMeta meta) noexcept {
    ++counters_.received;
    // RFC 791 §3.1 structure: version, IHL, total length against the bytes present. The view
    // trims to the total length, which removes Ethernet's minimum-frame padding.
    auto v = wire::Ipv4View::checked(l3);
    if (!v) return drop(from_parse_error(v.error()));
    const wire::Ipv4View& ip = *v;

    if (meta.ip_checksum == RxChecksum::Bad ||
        (meta.ip_checksum == RxChecksum::Unknown && !ip.header_checksum_ok())) {
        return drop(Ipv4Drop::BadChecksum);
    }

    // RFC 1122 §3.2.1.3: "A host MUST silently discard an incoming datagram containing an IP
    // source address that is invalid by the rules of this section": {0, 0} (other than during
    // start-up, which we do not serve), limited and directed broadcast, loopback (g), and class
    // D/E. Our own address as a source arrives only from a spoofer or a loop ("land" attack).
    const Ipv4Addr src = ip.src();
    if (is_this_network(src) || is_loopback(src) || is_multicast(src) || is_reserved(src) ||
        ifc_.is_broadcast(src) || ifc_.is_ours(src)) {
        return drop(Ipv4Drop::BadSource);
    }

    // RFC 1122 §3.2.1.3: a host accepts datagrams for its own addresses (the secondary ones
    // too) and the broadcast addresses of its networks; we join no multicast groups and do not forward.
    const Ipv4Addr dst = ip.dst();
    const bool to_broadcast = ifc_.is_broadcast(dst);
    if (!ifc_.is_ours(dst) && !to_broadcast) return drop(Ipv4Drop::NotForUs);

    // RFC 1122 §3.3.6: "A host SHOULD silently discard a datagram that is received via a
    // link-layer broadcast (see Section 2.4) but does not specify an IP multicast or broadcast
    // destination address."
    if (meta.link_broadcast && !to_broadcast) return drop(Ipv4Drop::LinkBroadcast);

    const bool has_options = ip.header_len() > wire::kIpv4MinHeaderLen;
    if (has_options) {
        if (auto ok = check_ipv4_options(ip.options()); !ok) return drop(ok.error());
    }

    Ipv4Kind kind;
    if (ip.is_fragment()) {
        // RFC 791 §3.2: every fragment but the last carries a multiple of 8 octets, and the
        // reassembled datagram is at most 65535 octets; a fragment breaking either can never
        // reassemble (the second is the "ping of death").
        const std::size_t data_len = ip.payload().size();
        if ((ip.more_fragments() && data_len % 8 != 0) ||
            ip.header_len() + ip.frag_offset() + data_len > 0xffff) {
            return drop(Ipv4Drop::BadFragment);
        }
        kind = Ipv4Kind::Fragment;
        ++counters_.fragments;
    } else if (ip.protocol() == wire::kIpProtoTcp) {
        // RFC 1122 §4.2.3.10: a SYN to a broadcast or multicast address MUST be discarded; no
        // TCP segment has a use there, so none passes.
        if (to_broadcast) return drop(Ipv4Drop::BroadcastTcp);
        kind = Ipv4Kind::Tcp;
        ++counters_.delivered_tcp;
    } else if (ip.protocol() == wire::kIpProtoIcmp) {
        kind = Ipv4Kind::Icmp;
        ++counters_.delivered_icmp;
    } else {
        kind = Ipv4Kind::Other;
        ++counters_.delivered_other;
    }
    if (has_options) ++counters_.with_options;
    return Ipv4Packet{ip, kind, to_broadcast};
}

Result<void, Ipv4TxError> Ipv4Output::write_header(wire::MutBytes out, Ipv4Addr dst, std::uint8_t protocol,
                                                   std::uint16_t payload_len, TxChecksum csum,
                                                   std::uint8_t tos) noexcept {
    if (out.size() < wire::kIpv4MinHeaderLen) {
        counters_.drops.bump(Ipv4TxError::BufferTooSmall);
        return Err(Ipv4TxError::BufferTooSmall);
    }
    const std::size_t len = wire::kIpv4MinHeaderLen + std::size_t{payload_len};
    if (len > max_datagram_) {
        counters_.drops.bump(Ipv4TxError::ExceedsMtu);
        return Err(Ipv4TxError::ExceedsMtu);
    }
    const bool df = len <= ifc_.mtu;
    const wire::Ipv4Repr r{ifc_.addr, dst, protocol, kDefaultTtl, tos, next_ident_, df, payload_len};
    r.emit(out);
    if (csum == TxChecksum::Offload) store_be16(&out[10], 0);
    ++next_ident_;
    ++counters_.sent;
    return {};
}

}  // namespace ustcp::ip
