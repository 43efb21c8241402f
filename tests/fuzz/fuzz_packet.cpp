// Fuzzes the receive parse path: Ethernet (VLAN) -> ARP | IPv4 -> ICMP | TCP -> options,
// the same bytes as a raw IPv4 datagram, and the tcpdump printer on both. Under ASan any
// read outside the input fails.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "ustcp/wire/arp.hpp"
#include "ustcp/wire/ethernet.hpp"
#include "ustcp/wire/icmp.hpp"
#include "ustcp/wire/ipv4.hpp"
#include "ustcp/wire/tcp.hpp"
#include "ustcp/wire/tcpdump.hpp"

using namespace ustcp;
using namespace ustcp::wire;

namespace {

volatile std::uint64_t g_sink;

void touch(Bytes b) {
    if (!b.empty()) g_sink = g_sink + b.front() + b.back();
}

void parse_tcp(const Ipv4View& ip) {
    auto tcp = TcpView::checked(ip.payload());
    if (!tcp) return;
    g_sink = g_sink + tcp->src_port() + tcp->dst_port() + tcp->seq().value() + tcp->ack().value() + tcp->window() +
             tcp->seg_len();
    touch(tcp->payload());
    if (tcp->header_len() > ip.payload().size()) std::abort();
    auto opts = TcpOptions::parse(tcp->options());
    if (opts && opts->sack_count > kMaxSackBlocks) std::abort();
    (void)l4_checksum_ok_ipv4(ip.src(), ip.dst(), kIpProtoTcp, ip.payload());
}

void parse_ipv4(Bytes b) {
    auto ip = Ipv4View::checked(b);
    if (!ip) return;
    if (ip->total_length() > b.size() || ip->header_len() > ip->total_length()) std::abort();
    (void)ip->header_checksum_ok();
    touch(ip->options());
    if (ip->is_fragment() && ip->frag_offset() != 0) return;
    if (ip->protocol() == kIpProtoTcp) {
        parse_tcp(*ip);
    } else if (ip->protocol() == kIpProtoIcmp) {
        auto icmp = IcmpView::checked(ip->payload());
        if (icmp) {
            g_sink = g_sink + icmp->echo_id() + icmp->checksum_ok();
            touch(icmp->payload());
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::vector<std::uint8_t> buf(data, data + size);
    auto eth = EthernetView::checked(buf);
    if (eth) {
        if (eth->header_len() > buf.size()) std::abort();
        if (eth->ethertype() == kEtherTypeIpv4) {
            parse_ipv4(eth->payload());
        } else if (eth->ethertype() == kEtherTypeArp) {
            auto arp = ArpView::checked(eth->payload());
            if (arp) g_sink = g_sink + arp->op() + arp->sender_ip().value() + arp->target_mac().bytes()[5];
        }
    }
    parse_ipv4(buf);

    // The tcpdump printer reads capture files: same bytes, both link types, with a
    // captured length below the wire length half the time (snaplen truncation).
    TcpdumpPrinter printer(false);  // per input: conversation state must not grow over a run
    const auto wire_len = static_cast<std::uint32_t>(size + ((size & 1) ? 40 : 0));
    g_sink = g_sink + printer.format(LinkType::Ethernet, buf, wire_len).size();
    g_sink = g_sink + printer.format(LinkType::RawIp, buf, wire_len).size();
    return 0;
}
