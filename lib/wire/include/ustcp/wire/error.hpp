// Why a packet failed to parse. Every checked view returns one of these instead of
// reading past its buffer; the engine counts drops per reason (index with
// `static_cast<std::size_t>(e)`, `kParseErrorCount` entries).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ustcp::wire {

enum class ParseError : std::uint8_t {
    EthTruncated,          ///< fewer than 14 bytes
    VlanTruncated,         ///< an 802.1Q/802.1ad tag runs past the frame
    ArpTruncated,          ///< fewer than 8 bytes, or addresses run past the packet
    ArpUnsupported,        ///< not Ethernet/IPv4 ARP (htype 1, ptype 0x0800, hlen 6, plen 4)
    Ipv4Truncated,         ///< fewer than 20 bytes
    Ipv4BadVersion,        ///< version field is not 4
    Ipv4BadIhl,            ///< IHL below 5 words
    Ipv4HeaderPastEnd,     ///< IHL*4 is more than the bytes present
    Ipv4BadTotalLength,    ///< total length smaller than the header
    Ipv4TotalLengthPastEnd,///< total length larger than the bytes present
    IcmpTruncated,         ///< fewer than 8 bytes
    TcpTruncated,          ///< fewer than 20 bytes
    TcpBadDataOffset,      ///< data offset below 5 words
    TcpHeaderPastEnd,      ///< data offset*4 is more than the segment
    OptionTruncated,       ///< an option's length byte is missing
    OptionBadLength,       ///< an option's length byte is 0 or 1
    OptionPastEnd,         ///< an option's length runs past the option area
    OptionWrongLength,     ///< a fixed-size option (MSS 4, WS 3, SACK-permitted 2, TS 10) has another length
    SackBadLength,         ///< SACK option length is not 2 + 8n with 1 <= n <= 4
};

inline constexpr std::size_t kParseErrorCount = static_cast<std::size_t>(ParseError::SackBadLength) + 1;

/// A short stable name ("ipv4-bad-ihl") for logs and counters.
std::string_view to_string(ParseError e) noexcept;

}  // namespace ustcp::wire
