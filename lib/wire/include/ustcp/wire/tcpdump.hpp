// tcpdump-format packet summaries: one packet in, the text `tcpdump -nt` prints for it
// out (`tcpdump -S -nt` with absolute sequence numbers). Tests, tools and debug logs use
// it, so a capture of ustcp's traffic reads the same as one from the kernel, and
// `diff` can compare our output with tcpdump's line by line.
//
//   TcpdumpPrinter printer(/*absolute_seq=*/false);       // false: like `tcpdump -nt`
//   while (auto pkt = next_packet()) {                     // captured bytes + wire length
//       std::puts(printer.format(LinkType::Ethernet, pkt->bytes, pkt->wire_len).c_str());
//   }
//
// What is rendered exactly as tcpdump 4.99.3 does (checked against the binary; see
// tests/unit/test_tcpdump.cpp for each case and the command that produced it):
//  - Ethernet II with 802.1Q / 802.1ad / QinQ tags (tags are not shown without -e);
//    unknown ethertypes as "MAC > MAC, ethertype ..." plus tcpdump's hex dump.
//  - Raw IP link types (LINKTYPE_RAW, DLT_RAW, LINKTYPE_IPV4/IPV6): the version nibble
//    picks IPv4 or IPv6, whatever the link type says, as tcpdump does.
//  - IPv4: bad header/total lengths, "truncated-ip - N bytes missing!", fragments,
//    unknown protocols, IP-in-IP.
//  - TCP: flags, seq/ack with tcpdump's relative-sequence bookkeeping, win, urg,
//    every option tcpdump names (mss, wscale, sackOK, sack, TS, echo, cc, md5, scps, uto,
//    tcp-ao, tfo, exp, unknown-N) including the "[len N]", "[bad opt]" and truncation
//    annotations, ", length N", and the HTTP first-line decoder on ports 80/8080.
//  - ICMP: echo, unreachable (all codes), redirect, time exceeded, parameter problem,
//    timestamp, address mask, router advertisement, the named types, "type-#N".
//  - ARP / RARP over Ethernet; UDP without an application decoder; IPv6 without
//    extension headers carrying TCP, UDP or ICMPv6 echo.
//  - Snapshot truncation: " [|ether]", " [|ip]", " [|tcp]", ... exactly where tcpdump
//    stops; "[Invalid header: ...]" for impossible record lengths.
// Not replicated (the line then differs from tcpdump's): tcpdump's application decoders
// on other well-known ports (DNS, DHCP, NTP, SSH banners, BGP, ...), MPTCP option
// details, IPv6 extension headers and most ICMPv6, 802.3/LLC frames, and the other
// ethertypes tcpdump decodes (LLDP, MPLS, PPPoE, ...); those print a generic summary.
//
// The printer never reads outside `captured`, whatever the bytes say.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <unordered_map>

#include "ustcp/wire/bytes.hpp"

namespace ustcp::wire {

/// How a capture file frames its packets (pcap's link-layer header type).
enum class LinkType : std::uint8_t {
    Ethernet,  ///< DLT_EN10MB / LINKTYPE_ETHERNET (1), with or without VLAN tags
    RawIp,     ///< LINKTYPE_RAW (101), DLT_RAW (12 or 14): IPv4 or IPv6
    RawIpv4,   ///< LINKTYPE_IPV4 (228); tcpdump still decodes IPv6 found there
    RawIpv6,   ///< LINKTYPE_IPV6 (229); tcpdump still decodes IPv4 found there
};

/// Formats packets the way tcpdump 4.99 prints them with `-nt` (or `-S -nt`).
///
/// Like tcpdump, the printer remembers each TCP conversation's initial sequence numbers
/// so that later segments print relative to them; feed it the packets of one capture
/// in order. The memory grows with the number of conversations seen and is only
/// released by forget_conversations() (tcpdump never releases it).
class TcpdumpPrinter {
public:
    /// absolute_seq = true prints raw sequence numbers, as `tcpdump -S` does.
    explicit TcpdumpPrinter(bool absolute_seq = false);

    /// The text tcpdump prints for one packet, without the trailing newline. Usually a
    /// single line; a packet tcpdump shows as a hex dump (unknown ethertype, unknown
    /// ARP operation) gives further lines, each starting with "\n\t".
    /// `captured` is what the capture holds (pcap's caplen bytes); `wire_len` is the
    /// packet's length on the wire (pcap's len), which tcpdump uses for every length
    /// it prints.
    [[nodiscard]] std::string format(LinkType link, Bytes captured, std::uint32_t wire_len);

    /// Forgets every conversation, as if a new capture started.
    void forget_conversations() noexcept;

private:
    friend class PacketPrinter;  // tcpdump.cpp: formats one packet against this state

    // The per-conversation bases of tcpdump's relative sequence numbers.
    struct ConvBases {
        std::uint32_t seq = 0;  ///< subtracted from numbers sent by the lower-port side
        std::uint32_t ack = 0;  ///< subtracted from numbers sent by the higher-port side
    };
    // A conversation as tcpdump keys it: addresses and ports ordered so that both
    // directions find the same entry. IPv4 addresses use the first 4 bytes.
    struct ConvKey {
        std::array<std::uint8_t, 16> src{};
        std::array<std::uint8_t, 16> dst{};
        std::uint32_t ports = 0;  ///< (port of src) << 16 | (port of dst)
        bool v6 = false;
        friend bool operator==(const ConvKey&, const ConvKey&) noexcept = default;
    };
    struct ConvKeyHash {
        std::size_t operator()(const ConvKey& k) const noexcept;
    };

    bool absolute_seq_;
    std::unordered_map<ConvKey, ConvBases, ConvKeyHash> conversations_;
};

}  // namespace ustcp::wire
