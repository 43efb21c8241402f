#include "ustcp/wire/error.hpp"

namespace ustcp::wire {

std::string_view to_string(ParseError e) noexcept {
    switch (e) {
        case ParseError::EthTruncated: return "eth-truncated";
        case ParseError::VlanTruncated: return "vlan-truncated";
        case ParseError::ArpTruncated: return "arp-truncated";
        case ParseError::ArpUnsupported: return "arp-unsupported";
        case ParseError::Ipv4Truncated: return "ipv4-truncated";
        case ParseError::Ipv4BadVersion: return "ipv4-bad-version";
        case ParseError::Ipv4BadIhl: return "ipv4-bad-ihl";
        case ParseError::Ipv4HeaderPastEnd: return "ipv4-header-past-end";
        case ParseError::Ipv4BadTotalLength: return "ipv4-bad-total-length";
        case ParseError::Ipv4TotalLengthPastEnd: return "ipv4-total-length-past-end";
        case ParseError::IcmpTruncated: return "icmp-truncated";
        case ParseError::TcpTruncated: return "tcp-truncated";
        case ParseError::TcpBadDataOffset: return "tcp-bad-data-offset";
        case ParseError::TcpHeaderPastEnd: return "tcp-header-past-end";
        case ParseError::OptionTruncated: return "tcp-option-truncated";
        case ParseError::OptionBadLength: return "tcp-option-bad-length";
        case ParseError::OptionPastEnd: return "tcp-option-past-end";
        case ParseError::OptionWrongLength: return "tcp-option-wrong-length";
        case ParseError::SackBadLength: return "tcp-sack-bad-length";
    }
    return "unknown";
}

}  // namespace ustcp::wire
