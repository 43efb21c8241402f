// TCP sequence numbers: 32-bit values compared modulo 2^32 (RFC 9293 §3.4).
//
// Two numbers compare by the sign of their 32-bit difference, so `a < b`
// means "b is ahead of a by less than 2^31". The relation is not a total order
// over all 2^32 values; it is meaningful for numbers within 2^31 of each other,
// which TCP's window rules guarantee.
#pragma once

#include <compare>
#include <cstdint>

namespace ustcp {

class SeqNum {
public:
    constexpr SeqNum() noexcept = default;
    constexpr explicit SeqNum(std::uint32_t v) noexcept : v_(v) {}

    [[nodiscard]] constexpr std::uint32_t value() const noexcept { return v_; }

    constexpr SeqNum operator+(std::uint32_t n) const noexcept { return SeqNum(v_ + n); }
    constexpr SeqNum operator-(std::uint32_t n) const noexcept { return SeqNum(v_ - n); }
    constexpr SeqNum& operator+=(std::uint32_t n) noexcept { v_ += n; return *this; }
    constexpr SeqNum& operator-=(std::uint32_t n) noexcept { v_ -= n; return *this; }

    /// Signed distance from `b` to `a` (a - b), valid when |a - b| < 2^31.
    friend constexpr std::int32_t operator-(SeqNum a, SeqNum b) noexcept {
        return static_cast<std::int32_t>(a.v_ - b.v_);
    }
    friend constexpr bool operator==(SeqNum, SeqNum) noexcept = default;
    friend constexpr std::strong_ordering operator<=>(SeqNum a, SeqNum b) noexcept {
        return (a - b) <=> 0;
    }

    /// RFC 9293's test `start <= *this < start + size`, modulo 2^32.
    /// An empty window (size 0) contains nothing.
    [[nodiscard]] constexpr bool in_window(SeqNum start, std::uint32_t size) const noexcept {
        return v_ - start.v_ < size;
    }

    /// The later / earlier of two sequence numbers.
    static constexpr SeqNum max(SeqNum a, SeqNum b) noexcept { return a < b ? b : a; }
    static constexpr SeqNum min(SeqNum a, SeqNum b) noexcept { return a < b ? a : b; }

private:
    std::uint32_t v_ = 0;
};

}  // namespace ustcp
