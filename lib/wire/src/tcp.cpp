#include "ustcp/wire/tcp.hpp"

namespace ustcp::wire {

Result<TcpOptions, ParseError> TcpOptions::parse(Bytes area) noexcept {
    TcpOptions out;
    // The area nearly every segment of a timestamped connection carries: NOP, NOP, TS (RFC
    // 7323 Appendix A's layout, sent by Linux and by ustcp), or none. Decoded without the walk,
    // to the same result (test TcpOptions.TheAlignedTimestampLayoutDecodesAsTheWalkDoes).
    if (area.empty()) return out;
    if (area.size() == 12 && area[0] == tcp_opt::NOP && area[1] == tcp_opt::NOP && area[2] == tcp_opt::TIMESTAMP &&
        area[3] == 10) {
        out.timestamps = TcpTimestamps{load_be32(area.data() + 4), load_be32(area.data() + 8)};
        return out;
    }
    TcpOptionReader reader(area);
    for (;;) {
        auto next = reader.next();
        if (!next) return Err(next.error());
        if (!*next) return out;
        const TcpOption& o = **next;
        const std::size_t n = o.data.size();
        switch (o.kind) {
            case tcp_opt::MSS:
                if (n != 2) return Err(ParseError::OptionWrongLength);
                out.mss = load_be16(o.data.data());
                break;
            case tcp_opt::WSCALE:
                if (n != 1) return Err(ParseError::OptionWrongLength);
                out.wscale = o.data[0];
                break;
            case tcp_opt::SACK_PERMITTED:
                if (n != 0) return Err(ParseError::OptionWrongLength);
                out.sack_permitted = true;
                break;
            case tcp_opt::TIMESTAMP:
                if (n != 8) return Err(ParseError::OptionWrongLength);
                out.timestamps = TcpTimestamps{load_be32(o.data.data()), load_be32(o.data.data() + 4)};
                break;
            case tcp_opt::SACK: {
                if (n % 8 != 0 || n == 0 || n / 8 > kMaxSackBlocks) return Err(ParseError::SackBadLength);
                // A repeated SACK option replaces the earlier one.
                out.sack = {};
                out.sack_count = static_cast<std::uint8_t>(n / 8);
                for (std::size_t i = 0; i < out.sack_count; ++i) {
                    out.sack[i] = SackBlock{SeqNum(load_be32(&o.data[i * 8])), SeqNum(load_be32(&o.data[i * 8 + 4]))};
                }
                break;
            }
            default:
                break;  // EOL, NOP and kinds we do not act on
        }
    }
}

std::size_t TcpOptions::encoded_len() const noexcept {
    std::size_t n = 0;
    if (mss) n += 4;
    if (timestamps) n += 12;                 // [SACK-permitted | NOP,NOP], TS
    else if (sack_permitted) n += 4;         // NOP,NOP,SACK-permitted
    if (wscale) n += 4;                      // NOP,WS
    if (sack_count > 0) n += 4 + 8u * sack_count;      // NOP,NOP,kind,len + blocks
    return n;
}

std::size_t TcpOptions::emit(MutBytes out) const noexcept {
    std::size_t i = 0;
    if (mss) {
        out[i++] = tcp_opt::MSS;
        out[i++] = 4;
        store_be16(&out[i], *mss);
        i += 2;
    }
    if (timestamps) {
        if (sack_permitted) {
            out[i++] = tcp_opt::SACK_PERMITTED;
            out[i++] = 2;
        } else {
            out[i++] = tcp_opt::NOP;
            out[i++] = tcp_opt::NOP;
        }
        out[i++] = tcp_opt::TIMESTAMP;
        out[i++] = 10;
        store_be32(&out[i], timestamps->val);
        store_be32(&out[i + 4], timestamps->ecr);
        i += 8;
    } else if (sack_permitted) {
        out[i++] = tcp_opt::NOP;
        out[i++] = tcp_opt::NOP;
        out[i++] = tcp_opt::SACK_PERMITTED;
        out[i++] = 2;
    }
    if (wscale) {
        out[i++] = tcp_opt::NOP;
        out[i++] = tcp_opt::WSCALE;
        out[i++] = 3;
        out[i++] = *wscale;
    }
    if (sack_count > 0) {
        out[i++] = tcp_opt::NOP;
        out[i++] = tcp_opt::NOP;
        out[i++] = tcp_opt::SACK;
        out[i++] = static_cast<std::uint8_t>(2 + 8 * sack_count);
        for (std::size_t b = 0; b < sack_count; ++b) {
            store_be32(&out[i], sack[b].left.value());
            store_be32(&out[i + 4], sack[b].right.value());
            i += 8;
        }
    }
    return i;
}

std::size_t TcpRepr::emit_header(MutBytes out) const noexcept {
    const std::size_t hlen = header_len();
    store_be16(&out[0], src_port);
    store_be16(&out[2], dst_port);
    store_be32(&out[4], seq.value());
    store_be32(&out[8], ack.value());
    out[12] = static_cast<std::uint8_t>((hlen / 4) << 4);
    out[13] = flags;
    store_be16(&out[14], window);
    store_be16(&out[16], 0);
    store_be16(&out[18], urgent_ptr);
    options.emit(out.subspan(kTcpMinHeaderLen));
    return hlen;
}

}  // namespace ustcp::wire
