#include "ustcp/ip/icmp.hpp"

#include <cassert>
#include <cstring>

#include "ustcp/base/endian.hpp"
#include "ustcp/wire/checksum.hpp"
#include "ustcp/wire/ipv4.hpp"

namespace ustcp::ip {

std::string_view to_string(IcmpDrop d) noexcept {
    switch (d) {
        case IcmpDrop::Truncated: return "truncated";
        case IcmpDrop::BadChecksum: return "bad-checksum";
        case IcmpDrop::EchoToBroadcast: return "echo-to-broadcast";
        case IcmpDrop::ReplyTooBig: return "reply-too-big";
        case IcmpDrop::BufferTooSmall: return "buffer-too-small";
        case IcmpDrop::BadEmbedded: return "bad-embedded";
        case IcmpDrop::NotOurs: return "not-ours";
    }
    return "unknown";
}

Result<IcmpErrorInfo, IcmpDrop> parse_icmp_error(const wire::IcmpView& icmp, Ipv4Addr our_addr) noexcept {
    const std::uint8_t type = icmp.type();
    if (type != wire::kIcmpDestUnreachable && type != kIcmpTimeExceeded && type != kIcmpParameterProblem) {
        return Err(IcmpDrop::BadEmbedded);
    }
    // RFC 792: these messages carry "Internet Header + 64 bits of Original Data Datagram". The
    // embedded total length describes the original datagram, not what is quoted, so it is not
    // checked against the bytes present (wire::Ipv4View would reject it).
    const wire::Bytes inner = icmp.payload();
    if (inner.size() < wire::kIpv4MinHeaderLen || (inner[0] >> 4) != 4) return Err(IcmpDrop::BadEmbedded);
    const std::size_t hlen = std::size_t{inner[0] & 0x0fu} * 4;
    if (hlen < wire::kIpv4MinHeaderLen || inner.size() < hlen + 8) return Err(IcmpDrop::BadEmbedded);
    const std::uint8_t proto = inner[9];
    const bool fragment_tail = (load_be16(&inner[6]) & 0x1fffu) != 0;  // no TCP header in it
    const Ipv4Addr src(load_be32(&inner[12]));
    const Ipv4Addr dst(load_be32(&inner[16]));
    if (proto != wire::kIpProtoTcp || src != our_addr || fragment_tail) return Err(IcmpDrop::NotOurs);

    const std::uint8_t* tcp = &inner[hlen];
    IcmpErrorInfo e;
    e.type = type;
    e.code = icmp.code();
    e.tuple = FourTuple{src, dst, load_be16(tcp), load_be16(tcp + 2)};
    e.seq = SeqNum(load_be32(tcp + 4));
    // RFC 1191 §4: "the Next-Hop MTU field [is] the low-order 16 bits of the ICMP header field
    // that is labelled 'unused' in the ICMP specification".
    if (type == wire::kIcmpDestUnreachable && e.code == kIcmpCodeFragNeeded) {
        e.next_hop_mtu = load_be16(&icmp.bytes()[6]);
    }
    return e;
}

Result<IcmpOutcome, IcmpDrop> IcmpHandler::receive(const Ipv4Packet& pkt, wire::MutBytes out, Ipv4Output& tx,
                                                   TxChecksum csum) noexcept {
    ++counters_.received;
    auto v = wire::IcmpView::checked(pkt.payload());
    if (!v) return drop(IcmpDrop::Truncated);
    // RFC 792: "The checksum is the 16-bit ones's complement of the one's complement sum of the
    // ICMP message starting with the ICMP Type."
    if (!v->checksum_ok()) return drop(IcmpDrop::BadChecksum);
    ++counters_.by_type[v->type()];

    switch (v->type()) {
        case wire::kIcmpEchoRequest: return echo_reply(pkt, *v, out, tx, csum);
        case wire::kIcmpDestUnreachable:
        case kIcmpTimeExceeded:
        case kIcmpParameterProblem: {
            auto e = parse_icmp_error(*v, ifc_.addr);
            if (!e) return drop(e.error());
            ++counters_.errors_delivered;
            IcmpOutcome o;
            o.action = IcmpAction::Error;
            o.error = *e;
            return o;
        }
        default:
            // Echo replies (we send no pings), redirects (a host with one gateway has nothing to
            // update), source quench (RFC 6633 §1: hosts MUST silently ignore it), the rest.
            ++counters_.ignored;
            return IcmpOutcome{};
    }
}

Result<IcmpOutcome, IcmpDrop> IcmpHandler::echo_reply(const Ipv4Packet& pkt, const wire::IcmpView& icmp,
                                                      wire::MutBytes out, Ipv4Output& tx, TxChecksum csum) noexcept {
    // RFC 1122 §3.2.2.6: "An ICMP Echo Request destined to an IP broadcast or IP multicast
    // address MAY be silently discarded." (Linux's icmp_echo_ignore_broadcasts default.)
    if (pkt.to_broadcast) return drop(IcmpDrop::EchoToBroadcast);

    const std::size_t icmp_len = icmp.bytes().size();
    const std::size_t reply_len = wire::kIpv4MinHeaderLen + icmp_len;
    // A request reassembled from fragments can be larger than the MTU: answered only when the
    // output that writes the reply may write it (its port fragments what it sends).
    if (reply_len > tx.max_datagram()) return drop(IcmpDrop::ReplyTooBig);

    const Ipv4Addr requester = pkt.ip.src();
    const std::size_t hlen = pkt.ip.header_len();
    const std::uint8_t* in = pkt.ip.bytes().data();
    wire::MutBytes reply;
    if (out.data() == in) {
        // In place: the ICMP message stays where it is; the new 20-byte header goes just in
        // front of it, over the old header (and options).
        if (out.size() < hlen + icmp_len) return drop(IcmpDrop::BufferTooSmall);
        reply = out.subspan(hlen - wire::kIpv4MinHeaderLen, reply_len);
    } else {
        if (out.size() < reply_len) return drop(IcmpDrop::BufferTooSmall);
        reply = out.first(reply_len);
        assert(reply.data() + reply.size() <= in || in + pkt.ip.bytes().size() <= reply.data());
        std::memcpy(reply.data() + wire::kIpv4MinHeaderLen, icmp.bytes().data(), icmp_len);
    }

    // RFC 792 "Echo or Echo Reply Message": "To form an echo reply message, the source and
    // destination addresses are simply reversed, the type code changed to 0, and the checksum
    // recomputed." The checksum is recomputed incrementally (RFC 1624 eqn. 3, HC' = ~(~HC + ~m
    // + m')) over the one 16-bit word that changed, type|code; the request's was verified above.
    std::uint8_t* m = reply.data() + wire::kIpv4MinHeaderLen;
    const std::uint16_t old_word = load_be16(m);
    m[0] = wire::kIcmpEchoReply;
    const std::uint16_t new_word = load_be16(m);
    store_be16(m + 2, wire::checksum_update16(load_be16(m + 2), old_word, new_word));

    // Cannot fail: 20 bytes are there and reply_len <= both MTUs was checked.
    auto ok = tx.write_header(reply.first(wire::kIpv4MinHeaderLen), requester, wire::kIpProtoIcmp,
                              static_cast<std::uint16_t>(icmp_len), csum);
    assert(ok.ok());
    (void)ok;

    ++counters_.echo_replies_sent;
    IcmpOutcome o;
    o.action = IcmpAction::Reply;
    o.reply = reply;
    return o;
}

}  // namespace ustcp::ip
