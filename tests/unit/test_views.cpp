// Checked views reject every malformed length with a typed error and read nothing
// past their buffer; builders produce what the views read back.
#include <gtest/gtest.h>

#include <vector>

#include "ustcp/wire/arp.hpp"
#include "ustcp/wire/ethernet.hpp"
#include "ustcp/wire/icmp.hpp"
#include "ustcp/wire/ipv4.hpp"
#include "ustcp/wire/tcp.hpp"

using namespace ustcp;
using namespace ustcp::wire;
using Buf = std::vector<std::uint8_t>;

namespace {
const MacAddr kMacA = *MacAddr::parse("02:00:00:00:00:0a");
const MacAddr kMacB = *MacAddr::parse("02:00:00:00:00:0b");
const Ipv4Addr kIpA(198, 18, 0, 1);
const Ipv4Addr kIpB(198, 18, 0, 2);

template <typename View>
ParseError error_of(Bytes b) {
    auto r = View::checked(b);
    EXPECT_FALSE(r);
    return r ? ParseError{} : r.error();
}
}  // namespace

TEST(Ethernet, PlainFrame) {
    Buf f(60, 0);
    EthernetRepr{kMacB, kMacA, kEtherTypeIpv4, {}, 0}.emit(f);
    auto v = EthernetView::checked(f);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->dst(), kMacB);
    EXPECT_EQ(v->src(), kMacA);
    EXPECT_EQ(v->ethertype(), kEtherTypeIpv4);
    EXPECT_EQ(v->vlan_count(), 0u);
    EXPECT_EQ(v->payload().size(), 46u);
}

TEST(Ethernet, VlanAndQinQ) {
    EthernetRepr r{kMacB, kMacA, kEtherTypeArp, {VlanTag{kEtherTypeQinQ, 0x0064}, VlanTag{kEtherTypeVlan, 0xa00c}}, 2};
    Buf f(r.header_len() + 28, 0);
    r.emit(f);
    auto v = EthernetView::checked(f);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->header_len(), 22u);
    ASSERT_EQ(v->vlan_count(), 2u);
    EXPECT_EQ(v->vlan(0).tpid, kEtherTypeQinQ);
    EXPECT_EQ(v->vlan(0).vid(), 100);
    EXPECT_EQ(v->vlan(1).vid(), 12);
    EXPECT_EQ(v->vlan(1).pcp(), 5);
    EXPECT_FALSE(v->vlan(1).dei());
    EXPECT_EQ(v->ethertype(), kEtherTypeArp);
    EXPECT_EQ(v->payload().size(), 28u);
    EXPECT_EQ(EthernetRepr::parse(*v).vlans[1].tci, 0xa00c);
}

TEST(Ethernet, TruncationErrors) {
    Buf f(13, 0);
    EXPECT_EQ(error_of<EthernetView>(f), ParseError::EthTruncated);
    Buf g(17, 0);
    store_be16(&g[12], kEtherTypeVlan);  // a tag needs 4 + 2 bytes after the MACs
    EXPECT_EQ(error_of<EthernetView>(g), ParseError::VlanTruncated);
    g.push_back(0);
    EXPECT_TRUE(EthernetView::checked(g));
}

TEST(Arp, RoundTripAndErrors) {
    ArpRepr r{kArpOpRequest, kMacA, kIpA, MacAddr(), kIpB};
    Buf p(kArpIpv4Len + 18, 0);  // with Ethernet padding after it
    r.emit(p);
    auto v = ArpView::checked(p);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->op(), kArpOpRequest);
    EXPECT_EQ(v->sender_mac(), kMacA);
    EXPECT_EQ(v->sender_ip(), kIpA);
    EXPECT_TRUE(v->target_mac().is_zero());
    EXPECT_EQ(v->target_ip(), kIpB);

    EXPECT_EQ(error_of<ArpView>(Bytes(p).first(7)), ParseError::ArpTruncated);
    EXPECT_EQ(error_of<ArpView>(Bytes(p).first(27)), ParseError::ArpTruncated);
    Buf q = p;
    q[5] = 16;  // IPv6-sized protocol address
    EXPECT_EQ(error_of<ArpView>(q), ParseError::ArpUnsupported);
}

namespace {
Buf make_ipv4(std::size_t ihl_words, std::size_t payload, std::size_t padding = 0) {
    Buf p(ihl_words * 4 + payload + padding, 0);
    Ipv4Repr{kIpA, kIpB, kIpProtoTcp, 64, 0, 7, true, static_cast<std::uint16_t>(payload)}.emit(p);
    if (ihl_words > 5) {
        // Move the payload marker: rewrite IHL and total length, fill options with NOPs.
        p[0] = static_cast<std::uint8_t>(0x40 | ihl_words);
        store_be16(&p[2], static_cast<std::uint16_t>(ihl_words * 4 + payload));
        for (std::size_t i = 20; i < ihl_words * 4; ++i) p[i] = 1;
        store_be16(&p[10], 0);
        store_be16(&p[10], internet_checksum(Bytes(p).first(ihl_words * 4)));
    }
    for (std::size_t i = 0; i < payload; ++i) p[ihl_words * 4 + i] = static_cast<std::uint8_t>(0xa0 + i);
    return p;
}
}  // namespace

TEST(Ipv4, HeaderFieldsAndChecksum) {
    Buf p = make_ipv4(5, 8);
    auto v = Ipv4View::checked(p);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->version(), 4);
    EXPECT_EQ(v->header_len(), 20u);
    EXPECT_EQ(v->total_length(), 28);
    EXPECT_EQ(v->ident(), 7);
    EXPECT_TRUE(v->dont_fragment());
    EXPECT_FALSE(v->is_fragment());
    EXPECT_EQ(v->ttl(), 64);
    EXPECT_EQ(v->protocol(), kIpProtoTcp);
    EXPECT_EQ(v->src(), kIpA);
    EXPECT_EQ(v->dst(), kIpB);
    EXPECT_TRUE(v->header_checksum_ok());
    EXPECT_EQ(v->payload().size(), 8u);
    EXPECT_EQ(v->payload()[0], 0xa0);
    auto r = Ipv4Repr::parse(*v);
    EXPECT_EQ(r.payload_len, 8);
    p[8] = 63;  // TTL changed without fixing the checksum
    EXPECT_FALSE(Ipv4View::checked(p)->header_checksum_ok());
}

TEST(Ipv4, OptionsAreSkippedAndPaddingTrimmed) {
    Buf p = make_ipv4(7, 5, 13);
    auto v = Ipv4View::checked(p);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->header_len(), 28u);
    EXPECT_EQ(v->options().size(), 8u);
    EXPECT_TRUE(v->header_checksum_ok());
    ASSERT_EQ(v->payload().size(), 5u) << "Ethernet padding must not reach the payload";
    EXPECT_EQ(v->payload()[0], 0xa0);
    EXPECT_EQ(v->bytes().size(), 33u);
}

TEST(Ipv4, Fragments) {
    Buf p = make_ipv4(5, 16);
    store_be16(&p[6], 0x2000);  // MF, offset 0: first fragment
    auto first = Ipv4View::checked(p);
    ASSERT_TRUE(first);
    EXPECT_TRUE(first->is_fragment());
    EXPECT_TRUE(first->more_fragments());
    EXPECT_EQ(first->frag_offset(), 0u);
    store_be16(&p[6], 0x0003);  // last fragment at byte 24
    auto last = Ipv4View::checked(p);
    EXPECT_TRUE(last->is_fragment());
    EXPECT_FALSE(last->more_fragments());
    EXPECT_EQ(last->frag_offset(), 24u);
}

TEST(Ipv4, EveryLengthError) {
    Buf p = make_ipv4(5, 8);
    EXPECT_EQ(error_of<Ipv4View>(Bytes(p).first(19)), ParseError::Ipv4Truncated);
    Buf v6 = p;
    v6[0] = 0x65;
    EXPECT_EQ(error_of<Ipv4View>(v6), ParseError::Ipv4BadVersion);
    Buf ihl = p;
    ihl[0] = 0x44;
    EXPECT_EQ(error_of<Ipv4View>(ihl), ParseError::Ipv4BadIhl);
    Buf big_ihl = make_ipv4(5, 0);
    big_ihl[0] = 0x46;
    EXPECT_EQ(error_of<Ipv4View>(big_ihl), ParseError::Ipv4HeaderPastEnd);
    Buf short_total = p;
    store_be16(&short_total[2], 19);
    EXPECT_EQ(error_of<Ipv4View>(short_total), ParseError::Ipv4BadTotalLength);
    Buf long_total = p;
    store_be16(&long_total[2], 29);
    EXPECT_EQ(error_of<Ipv4View>(long_total), ParseError::Ipv4TotalLengthPastEnd);
}

TEST(Icmp, EchoRoundTrip) {
    Buf m(kIcmpHeaderLen + 56, 0x5a);
    emit_icmp_echo(m, kIcmpEchoRequest, 0x1234, 7);
    auto v = IcmpView::checked(m);
    ASSERT_TRUE(v);
    EXPECT_TRUE(v->is_echo());
    EXPECT_EQ(v->type(), kIcmpEchoRequest);
    EXPECT_EQ(v->code(), 0);
    EXPECT_EQ(v->echo_id(), 0x1234);
    EXPECT_EQ(v->echo_seq(), 7);
    EXPECT_EQ(v->payload().size(), 56u);
    EXPECT_TRUE(v->checksum_ok());
    m[20] ^= 1;
    EXPECT_FALSE(IcmpView::checked(m)->checksum_ok());
    EXPECT_EQ(error_of<IcmpView>(Bytes(m).first(7)), ParseError::IcmpTruncated);
}

TEST(Tcp, BuildParseRoundTrip) {
    TcpRepr r;
    r.src_port = 40000;
    r.dst_port = 5001;
    r.seq = SeqNum(0xfffffff0u);
    r.ack = SeqNum(12345);
    r.flags = tcp_flags::ACK | tcp_flags::PSH;
    r.window = 502;
    r.options.timestamps = TcpTimestamps{100, 200};
    const Buf payload = {'h', 'e', 'l', 'l', 'o'};
    Buf seg(r.header_len() + payload.size());
    ASSERT_EQ(r.emit_header(seg), 32u);
    std::copy(payload.begin(), payload.end(), seg.begin() + 32);
    fill_tcp_checksum_ipv4(MutBytes(seg).first(32), payload, kIpA, kIpB);
    EXPECT_TRUE(l4_checksum_ok_ipv4(kIpA, kIpB, kIpProtoTcp, seg));

    auto v = TcpView::checked(seg);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->src_port(), 40000);
    EXPECT_EQ(v->dst_port(), 5001);
    EXPECT_EQ(v->seq(), SeqNum(0xfffffff0u));
    EXPECT_EQ(v->ack(), SeqNum(12345));
    EXPECT_TRUE(v->has_ack());
    EXPECT_TRUE(v->psh());
    EXPECT_FALSE(v->syn());
    EXPECT_EQ(v->window(), 502);
    EXPECT_EQ(v->header_len(), 32u);
    EXPECT_EQ(v->payload().size(), 5u);
    EXPECT_EQ(v->seg_len(), 5u);
    auto opts = TcpOptions::parse(v->options());
    ASSERT_TRUE(opts);
    EXPECT_EQ(TcpRepr::parse(*v, *opts).options, r.options);
}

TEST(Tcp, SegLenCountsSynAndFin) {
    TcpRepr r;
    r.flags = tcp_flags::SYN | tcp_flags::FIN;
    Buf seg(r.header_len());
    (void)r.emit_header(seg);
    EXPECT_EQ(TcpView::checked(seg)->seg_len(), 2u);
}

TEST(Tcp, EveryLengthError) {
    TcpRepr r;
    r.options.mss = 1460;
    Buf seg(r.header_len());
    (void)r.emit_header(seg);
    EXPECT_EQ(error_of<TcpView>(Bytes(seg).first(19)), ParseError::TcpTruncated);
    Buf low = seg;
    low[12] = 0x40;
    EXPECT_EQ(error_of<TcpView>(low), ParseError::TcpBadDataOffset);
    EXPECT_EQ(error_of<TcpView>(Bytes(seg).first(23)), ParseError::TcpHeaderPastEnd);
    EXPECT_TRUE(TcpView::checked(seg));
}
