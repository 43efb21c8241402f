// ICMP messages (RFC 792); echo request/reply are decoded, the rest are exposed raw.
#pragma once

#include <cstdint>

#include "ustcp/base/endian.hpp"
#include "ustcp/base/result.hpp"
#include "ustcp/wire/bytes.hpp"
#include "ustcp/wire/checksum.hpp"
#include "ustcp/wire/error.hpp"

namespace ustcp::wire {

inline constexpr std::uint8_t kIcmpEchoReply = 0;
inline constexpr std::uint8_t kIcmpDestUnreachable = 3;
inline constexpr std::uint8_t kIcmpEchoRequest = 8;
inline constexpr std::size_t kIcmpHeaderLen = 8;

class IcmpView {
public:
    /// Errors: IcmpTruncated (fewer than 8 bytes).
    static Result<IcmpView, ParseError> checked(Bytes msg) noexcept {
        if (msg.size() < kIcmpHeaderLen) return Err(ParseError::IcmpTruncated);
        return IcmpView(msg);
    }

    [[nodiscard]] std::uint8_t type() const noexcept { return p_[0]; }
    [[nodiscard]] std::uint8_t code() const noexcept { return p_[1]; }
    [[nodiscard]] std::uint16_t checksum() const noexcept { return load_be16(&p_[2]); }
    [[nodiscard]] bool is_echo() const noexcept { return type() == kIcmpEchoRequest || type() == kIcmpEchoReply; }
    /// Echo identifier and sequence number (meaningful when is_echo()).
    [[nodiscard]] std::uint16_t echo_id() const noexcept { return load_be16(&p_[4]); }
    [[nodiscard]] std::uint16_t echo_seq() const noexcept { return load_be16(&p_[6]); }
    [[nodiscard]] Bytes payload() const noexcept { return p_.subspan(kIcmpHeaderLen); }
    [[nodiscard]] Bytes bytes() const noexcept { return p_; }
    [[nodiscard]] bool checksum_ok() const noexcept { return checksum_fold(checksum_partial(p_)) == 0xffff; }

private:
    explicit IcmpView(Bytes p) noexcept : p_(p) {}
    Bytes p_;
};

/// Writes an echo request/reply header in front of `payload_len` bytes already at
/// `out[8..]`, and the checksum over both. Precondition: out.size() == 8 + payload_len.
inline void emit_icmp_echo(MutBytes out, std::uint8_t type, std::uint16_t id, std::uint16_t seq) noexcept {
    out[0] = type;
    out[1] = 0;
    store_be16(&out[2], 0);
    store_be16(&out[4], id);
    store_be16(&out[6], seq);
    store_be16(&out[2], internet_checksum(out));
}

}  // namespace ustcp::wire
