// TCP segments (RFC 9293 §3.1) and their options (RFC 9293 §3.2, RFC 7323, RFC 2018).
//
//   auto tcp = TcpView::checked(ip.payload());        // data offset >= 5 and within the segment
//   if (!tcp) return drop(tcp.error());
//   auto opts = TcpOptions::parse(tcp->options());    // malformed lists are errors, never over-read
//   TcpRepr repr = TcpRepr::parse(*tcp, *opts);       // host-order fields named after RFC variables
//
// Building: `TcpRepr::emit_header` writes header and options; `tcp_checksum_ipv4`
// then fills the checksum over the header and the payload, wherever the payload lives.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "ustcp/base/addr.hpp"
#include "ustcp/base/endian.hpp"
#include "ustcp/base/result.hpp"
#include "ustcp/base/seqnum.hpp"
#include "ustcp/wire/bytes.hpp"
#include "ustcp/wire/checksum.hpp"
#include "ustcp/wire/error.hpp"
#include "ustcp/wire/ipv4.hpp"

namespace ustcp::wire {

inline constexpr std::size_t kTcpMinHeaderLen = 20;
inline constexpr std::size_t kTcpMaxHeaderLen = 60;
inline constexpr std::size_t kTcpMaxOptionsLen = 40;

/// The eight flag bits of byte 13, in wire positions.
namespace tcp_flags {
inline constexpr std::uint8_t FIN = 0x01;
inline constexpr std::uint8_t SYN = 0x02;
inline constexpr std::uint8_t RST = 0x04;
inline constexpr std::uint8_t PSH = 0x08;
inline constexpr std::uint8_t ACK = 0x10;
inline constexpr std::uint8_t URG = 0x20;
inline constexpr std::uint8_t ECE = 0x40;
inline constexpr std::uint8_t CWR = 0x80;
}  // namespace tcp_flags

/// Option kinds (IANA "TCP Option Kind Numbers").
namespace tcp_opt {
inline constexpr std::uint8_t EOL = 0;
inline constexpr std::uint8_t NOP = 1;
inline constexpr std::uint8_t MSS = 2;
inline constexpr std::uint8_t WSCALE = 3;
inline constexpr std::uint8_t SACK_PERMITTED = 4;
inline constexpr std::uint8_t SACK = 5;
inline constexpr std::uint8_t TIMESTAMP = 8;
}  // namespace tcp_opt

class TcpView {
public:
    /// `segment` is the IP payload: header, options and data.
    /// Errors: TcpTruncated, TcpBadDataOffset, TcpHeaderPastEnd.
    static Result<TcpView, ParseError> checked(Bytes segment) noexcept {
        if (segment.size() < kTcpMinHeaderLen) return Err(ParseError::TcpTruncated);
        std::size_t hlen = static_cast<std::size_t>(segment[12] >> 4) * 4;
        if (hlen < kTcpMinHeaderLen) return Err(ParseError::TcpBadDataOffset);
        if (hlen > segment.size()) return Err(ParseError::TcpHeaderPastEnd);
        return TcpView(segment);
    }

    [[nodiscard]] std::uint16_t src_port() const noexcept { return load_be16(&p_[0]); }
    [[nodiscard]] std::uint16_t dst_port() const noexcept { return load_be16(&p_[2]); }
    [[nodiscard]] SeqNum seq() const noexcept { return SeqNum(load_be32(&p_[4])); }
    [[nodiscard]] SeqNum ack() const noexcept { return SeqNum(load_be32(&p_[8])); }
    [[nodiscard]] std::size_t header_len() const noexcept { return static_cast<std::size_t>(p_[12] >> 4) * 4; }
    [[nodiscard]] std::uint8_t flags() const noexcept { return p_[13]; }
    [[nodiscard]] bool fin() const noexcept { return (p_[13] & tcp_flags::FIN) != 0; }
    [[nodiscard]] bool syn() const noexcept { return (p_[13] & tcp_flags::SYN) != 0; }
    [[nodiscard]] bool rst() const noexcept { return (p_[13] & tcp_flags::RST) != 0; }
    [[nodiscard]] bool psh() const noexcept { return (p_[13] & tcp_flags::PSH) != 0; }
    [[nodiscard]] bool has_ack() const noexcept { return (p_[13] & tcp_flags::ACK) != 0; }
    [[nodiscard]] bool urg() const noexcept { return (p_[13] & tcp_flags::URG) != 0; }
    [[nodiscard]] std::uint16_t window() const noexcept { return load_be16(&p_[14]); }
    [[nodiscard]] std::uint16_t checksum() const noexcept { return load_be16(&p_[16]); }
    [[nodiscard]] std::uint16_t urgent_ptr() const noexcept { return load_be16(&p_[18]); }
    [[nodiscard]] Bytes options() const noexcept {
        return p_.subspan(kTcpMinHeaderLen, header_len() - kTcpMinHeaderLen);
    }
    [[nodiscard]] Bytes payload() const noexcept { return p_.subspan(header_len()); }
    /// SEG.LEN: payload octets plus one each for SYN and FIN.
    [[nodiscard]] std::uint32_t seg_len() const noexcept {
        return static_cast<std::uint32_t>(payload().size()) + (syn() ? 1 : 0) + (fin() ? 1 : 0);
    }
    [[nodiscard]] Bytes bytes() const noexcept { return p_; }

private:
    explicit TcpView(Bytes p) noexcept : p_(p) {}
    Bytes p_;
};

/// One option as it appears in the list. `data` excludes the kind and length bytes
/// (empty for EOL and NOP).
struct TcpOption {
    std::uint8_t kind = 0;
    Bytes data;
};

/// Walks an option area. Structural errors (length byte missing, length 0 or 1,
/// length past the area) end the walk with an error; unknown kinds are returned
/// like any other, skipped by their length. EOL ends the list.
///
///   TcpOptionReader r(view.options());
///   for (;;) {
///       auto o = r.next();
///       if (!o) return drop(o.error());
///       if (!*o) break;              // end of list
///       use((*o)->kind, (*o)->data);
///   }
class TcpOptionReader {
public:
    explicit TcpOptionReader(Bytes area) noexcept : area_(area) {}

    Result<std::optional<TcpOption>, ParseError> next() noexcept {
        if (done_ || pos_ >= area_.size()) {
            done_ = true;
            return std::optional<TcpOption>{};
        }
        std::uint8_t kind = area_[pos_];
        if (kind == tcp_opt::EOL || kind == tcp_opt::NOP) {
            ++pos_;
            done_ = kind == tcp_opt::EOL;
            return std::optional<TcpOption>{TcpOption{kind, {}}};
        }
        done_ = true;  // stays done if anything below fails
        if (pos_ + 1 >= area_.size()) return Err(ParseError::OptionTruncated);
        std::size_t len = area_[pos_ + 1];
        if (len < 2) return Err(ParseError::OptionBadLength);
        if (pos_ + len > area_.size()) return Err(ParseError::OptionPastEnd);
        TcpOption o{kind, area_.subspan(pos_ + 2, len - 2)};
        pos_ += len;
        done_ = false;
        return std::optional<TcpOption>{o};
    }

    /// Bytes consumed so far.
    [[nodiscard]] std::size_t position() const noexcept { return pos_; }

private:
    Bytes area_;
    std::size_t pos_ = 0;
    bool done_ = false;
};

struct SackBlock {
    SeqNum left;   ///< first sequence number of the block
    SeqNum right;  ///< sequence number just past the block
    friend constexpr bool operator==(const SackBlock&, const SackBlock&) noexcept = default;
};

struct TcpTimestamps {
    std::uint32_t val = 0;  ///< TSval
    std::uint32_t ecr = 0;  ///< TSecr
    friend constexpr bool operator==(const TcpTimestamps&, const TcpTimestamps&) noexcept = default;
};

inline constexpr std::size_t kMaxSackBlocks = 4;

/// The options TCP acts on, decoded. Unknown kinds are skipped.
struct TcpOptions {
    std::optional<std::uint16_t> mss;
    std::optional<std::uint8_t> wscale;  ///< shift count as sent (RFC 7323 caps its use at 14)
    bool sack_permitted = false;
    std::optional<TcpTimestamps> timestamps;
    std::array<SackBlock, kMaxSackBlocks> sack{};
    std::uint8_t sack_count = 0;

    /// Errors: those of TcpOptionReader, plus OptionWrongLength for MSS/WS/SACK-permitted/TS
    /// of the wrong size and SackBadLength for a SACK option that is not 1..4 blocks.
    static Result<TcpOptions, ParseError> parse(Bytes area) noexcept;

    /// Bytes `emit` writes, a multiple of 4. Precondition for emit: <= kTcpMaxOptionsLen.
    [[nodiscard]] std::size_t encoded_len() const noexcept;

    /// Writes the options in the layout Linux uses, NOP-padded to 32-bit alignment:
    /// MSS; SACK-permitted+TS (or NOP,NOP,TS / NOP,NOP,SACK-permitted); NOP,WS; NOP,NOP,SACK.
    /// Returns the bytes written. Precondition: out.size() >= encoded_len() and encoded_len() <= 40.
    std::size_t emit(MutBytes out) const noexcept;

    /// Equal when every decoded option is; SACK blocks past sack_count are not compared.
    friend bool operator==(const TcpOptions& a, const TcpOptions& b) noexcept {
        if (a.mss != b.mss || a.wscale != b.wscale || a.sack_permitted != b.sack_permitted ||
            a.timestamps != b.timestamps || a.sack_count != b.sack_count) {
            return false;
        }
        for (std::size_t i = 0; i < a.sack_count; ++i) {
            if (!(a.sack[i] == b.sack[i])) return false;
        }
        return true;
    }
};

/// A TCP header in host terms.
struct TcpRepr {
    std::uint16_t src_port = 0;
    std::uint16_t dst_port = 0;
    SeqNum seq;
    SeqNum ack;
    std::uint8_t flags = 0;
    std::uint16_t window = 0;  ///< the raw 16-bit field; scaling is the connection's business
    std::uint16_t urgent_ptr = 0;
    TcpOptions options;

    static TcpRepr parse(const TcpView& v, const TcpOptions& opts) noexcept {
        return {v.src_port(), v.dst_port(), v.seq(), v.ack(), v.flags(), v.window(), v.urgent_ptr(), opts};
    }

    [[nodiscard]] std::size_t header_len() const noexcept { return kTcpMinHeaderLen + options.encoded_len(); }

    /// Writes header_len() bytes with a zero checksum. Precondition: out.size() >= header_len().
    std::size_t emit_header(MutBytes out) const noexcept;
};

/// Fills the checksum of a TCP header already written at `header` (its checksum
/// field may hold anything), covering `payload` too. The payload need not be
/// contiguous with the header, so an mbuf chain's data is summed in place.
inline void fill_tcp_checksum_ipv4(MutBytes header, Bytes payload, Ipv4Addr src, Ipv4Addr dst) noexcept {
    store_be16(&header[16], 0);
    auto len = static_cast<std::uint16_t>(header.size() + payload.size());
    std::uint32_t s = ipv4_pseudo_header_sum(src, dst, kIpProtoTcp, len);
    s = checksum_partial(header, s);  // header length is a multiple of 4: safe to chain
    s = checksum_partial(payload, s);
    store_be16(&header[16], static_cast<std::uint16_t>(~checksum_fold(s)));
}

}  // namespace ustcp::wire
