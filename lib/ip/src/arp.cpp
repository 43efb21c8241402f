#include "ustcp/ip/arp.hpp"

#include <algorithm>

#include "ustcp/wire/ethernet.hpp"

namespace ustcp::ip {

std::string_view to_string(ArpDrop d) noexcept {
    switch (d) {
        case ArpDrop::Truncated: return "truncated";
        case ArpDrop::Unsupported: return "unsupported";
        case ArpDrop::BadOpcode: return "bad-opcode";
        case ArpDrop::FromSelf: return "from-self";
        case ArpDrop::BadSenderMac: return "bad-sender-mac";
        case ArpDrop::BufferTooSmall: return "buffer-too-small";
    }
    return "unknown";
}

namespace {

/// Ethernet header to `eth_dst` from us, the ARP message, zero padding to kArpFrameLen.
Result<std::size_t, ArpBuildError> emit_frame(const Interface& ifc, MacAddr eth_dst, const wire::ArpRepr& arp,
                                              wire::MutBytes out) noexcept {
    if (out.size() < kArpFrameLen) return Err(ArpBuildError::BufferTooSmall);
    wire::EthernetRepr eth{eth_dst, ifc.mac, wire::kEtherTypeArp, {}, 0};
    eth.emit(out);
    arp.emit(out.subspan(wire::kEthHeaderLen));
    std::fill(out.begin() + wire::kEthHeaderLen + wire::kArpIpv4Len, out.begin() + kArpFrameLen, std::uint8_t{0});
    return kArpFrameLen;
}

}  // namespace

Result<std::size_t, ArpBuildError> build_arp_request(const Interface& ifc, const ArpRequest& req,
                                                     wire::MutBytes out) noexcept {
    const wire::ArpRepr arp{wire::kArpOpRequest, ifc.mac, ifc.addr, MacAddr{}, req.target};
    return emit_frame(ifc, req.dst_mac, arp, out);
}

Result<std::size_t, ArpBuildError> build_arp_reply(const Interface& ifc, MacAddr to_mac, Ipv4Addr to_ip,
                                                   wire::MutBytes out, std::optional<Ipv4Addr> from) noexcept {
    // RFC 826: "swap hardware and protocol fields, putting the local hardware and protocol
    // addresses in the sender fields. Set the ar$op field to ares_op$REPLY."
    const wire::ArpRepr arp{wire::kArpOpReply, ifc.mac, from ? *from : ifc.addr, to_mac, to_ip};
    return emit_frame(ifc, to_mac, arp, out);
}

Result<std::size_t, ArpBuildError> build_arp_announcement(const Interface& ifc, wire::MutBytes out) noexcept {
    // RFC 5227 §2.3: "An ARP Announcement is identical to the ARP Probe described above, except
    // that now the sender and target IP addresses are both set to the host's newly selected
    // IPv4 address" (a broadcast request, target hardware address zero).
    const wire::ArpRepr arp{wire::kArpOpRequest, ifc.mac, ifc.addr, MacAddr{}, ifc.addr};
    return emit_frame(ifc, MacAddr::broadcast(), arp, out);
}

Result<ArpOutcome, ArpDrop> ArpHandler::receive(wire::Bytes bytes, Instant now, NeighborCache& cache,
                                                wire::MutBytes out) noexcept {
    ++counters_.received;
    if (out.size() < kArpFrameLen) return drop(ArpDrop::BufferTooSmall);
    // RFC 826: "?Do I have the hardware type in ar$hrd? ... ?Do I speak the protocol in ar$pro?"
    auto v = wire::ArpView::checked(bytes);
    if (!v) return drop(v.error() == wire::ParseError::ArpUnsupported ? ArpDrop::Unsupported : ArpDrop::Truncated);
    const wire::ArpRepr a = wire::ArpRepr::parse(*v);
    if (a.op != wire::kArpOpRequest && a.op != wire::kArpOpReply) return drop(ArpDrop::BadOpcode);
    // Our own announcement looped back. Our MAC with another sender IP is a real peer: DPDK's
    // net_tap gives the kernel's end of the tap the PMD's MAC, so Linux speaks with ours.
    if (a.sender_mac == ifc_.mac && ifc_.is_ours(a.sender_ip)) return drop(ArpDrop::FromSelf);
    if (a.sender_mac.is_zero() || is_group_mac(a.sender_mac)) return drop(ArpDrop::BadSenderMac);
    ++(a.op == wire::kArpOpRequest ? counters_.requests : counters_.replies);

    ArpOutcome o;
    // RFC 5227 §2.4: "if the host receives any ARP packet (Request *or* Reply) on an interface
    // where the 'sender IP address' is (one of) the host's address(es) configured for that
    // interface, but the 'sender hardware address' does not match any of the host's own
    // interface addresses, then this is a conflicting ARP packet". It teaches nothing.
    // A secondary address in conflict is counted; only the primary one is defended.
    if (ifc_.is_ours(a.sender_ip)) {
        ++counters_.conflicts;
        o.conflict = true;
        if (a.sender_ip == ifc_.addr && (!last_defence_ || now - *last_defence_ >= kDefendInterval)) {
            last_defence_ = now;
            o.frame_len = *build_arp_announcement(ifc_, out);
            o.sent = ArpSent::Defence;
            ++counters_.defences;
        }
        return o;
    }

    const bool for_us = ifc_.is_ours(a.target_ip);
    ++(for_us ? counters_.for_us : counters_.not_for_us);

    // RFC 826: "If the pair <protocol type, sender protocol address> is already in my
    // translation table, update the sender hardware address field ... ?Am I the target protocol
    // address? Yes: If Merge_flag is false, add the triplet". Only on-link hosts are worth an
    // entry; an RFC 5227 probe (sender IP 0.0.0.0) names nobody yet.
    if (is_unspecified(a.sender_ip)) {
        ++counters_.probes_seen;
    } else if (!ifc_.is_on_link_host(a.sender_ip)) {
        ++counters_.off_link_sender;
    } else {
        NeighborUpdate u = cache.update(a.sender_ip, a.sender_mac, now,
                                        for_us ? Learned::AddressedToUs : Learned::Overheard);
        if (u.created) ++counters_.learned;
        if (u.known) ++counters_.updated;
        o.released = u.released;
        o.release_mac = u.mac;
    }

    // RFC 826: "?Is the opcode ares_op$REQUEST? (NOW look at the opcode!!) Yes: ... Send the
    // packet to the (new) target hardware address". A probe gets the same answer (RFC 5227
    // §2.1.1: that is how the prober learns the address is taken).
    if (for_us && a.op == wire::kArpOpRequest) {
        o.frame_len = *build_arp_reply(ifc_, a.sender_mac, a.sender_ip, out, a.target_ip);
        o.sent = ArpSent::Reply;
        ++counters_.replies_sent;
    }
    return o;
}

}  // namespace ustcp::ip
