#include "ustcp/tcp/segment.hpp"

#include "ustcp/tcp/context.hpp"
#include "ustcp/wire/checksum.hpp"
#include "ustcp/wire/ipv4.hpp"

namespace ustcp::tcp {

void count_failure(Counters& c, const SegmentFailure& f) noexcept {
    if (f.kind == SegmentError::BadChecksum) {
        ++c.drop_bad_checksum;
        return;
    }
    switch (f.parse) {
        case wire::ParseError::OptionTruncated:
        case wire::ParseError::OptionBadLength:
        case wire::ParseError::OptionPastEnd:
        case wire::ParseError::OptionWrongLength:
        case wire::ParseError::SackBadLength:
            ++c.drop_bad_options;
            break;
        default:
            ++c.drop_malformed;
            break;
    }
}

Result<ParsedSegment, SegmentFailure> parse_segment(Ipv4Addr src, Ipv4Addr dst, wire::Bytes segment,
                                                    bool verify_checksum) noexcept {
    auto view = wire::TcpView::checked(segment);
    if (!view) return Err(SegmentFailure{SegmentError::Malformed, view.error()});
    if (verify_checksum && !wire::l4_checksum_ok_ipv4(src, dst, wire::kIpProtoTcp, segment)) {
        return Err(SegmentFailure{SegmentError::BadChecksum, {}});
    }
    auto opts = wire::TcpOptions::parse(view->options());
    if (!opts) return Err(SegmentFailure{SegmentError::Malformed, opts.error()});
    return ParsedSegment{FourTuple{dst, src, view->dst_port(), view->src_port()}, wire::TcpRepr::parse(*view, *opts),
                         view->payload()};
}

}  // namespace ustcp::tcp
