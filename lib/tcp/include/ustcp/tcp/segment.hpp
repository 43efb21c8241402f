// From bytes to what lib/tcp consumes: a TCP segment carried in IPv4, checked and
// parsed once. The engine calls this per received segment and counts failures by
// reason; a malformed option list drops the whole segment (RFC 9293 §3.1 says
// options must be understood or skipped by length; a list that cannot be walked
// cannot be trusted).
#pragma once

#include "ustcp/base/addr.hpp"
#include "ustcp/base/result.hpp"
#include "ustcp/wire/bytes.hpp"
#include "ustcp/wire/error.hpp"
#include "ustcp/wire/tcp.hpp"

namespace ustcp::tcp {

struct ParsedSegment {
    FourTuple tuple;      ///< the receiver's view: local = destination
    wire::TcpRepr hdr;
    wire::Bytes payload;  ///< borrows the input
};

enum class SegmentError : std::uint8_t {
    Malformed,    ///< see `parse` for which wire::ParseError
    BadChecksum,  ///< the TCP checksum does not verify
};

struct SegmentFailure {
    SegmentError kind;
    wire::ParseError parse;  ///< meaningful when kind == Malformed
};

/// Parses `segment` (the IPv4 payload) sent from `src` to `dst`. With `verify_checksum`
/// false the caller vouches for the checksum (NIC offload). Errors: Malformed with the
/// ParseError of the header or option list; BadChecksum.
struct Counters;

/// Counts a parse failure in the engine's counters: option-list errors in drop_bad_options,
/// other header errors in drop_malformed, checksum failures in drop_bad_checksum.
void count_failure(Counters& c, const SegmentFailure& f) noexcept;

Result<ParsedSegment, SegmentFailure> parse_segment(Ipv4Addr src, Ipv4Addr dst, wire::Bytes segment,
                                                    bool verify_checksum = true) noexcept;

}  // namespace ustcp::tcp
