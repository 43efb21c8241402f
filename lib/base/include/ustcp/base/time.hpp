// Instant and Duration: nanosecond time values that the protocol core takes as
// input. Nothing here reads a clock; the engine (or a test's fake clock) makes
// an Instant and passes it down.
#pragma once

#include <compare>
#include <cstdint>

namespace ustcp {

class Duration {
public:
    constexpr Duration() noexcept = default;
    static constexpr Duration nanos(std::int64_t n) noexcept { return Duration(n); }
    static constexpr Duration micros(std::int64_t n) noexcept { return Duration(n * 1'000); }
    static constexpr Duration millis(std::int64_t n) noexcept { return Duration(n * 1'000'000); }
    static constexpr Duration seconds(std::int64_t n) noexcept { return Duration(n * 1'000'000'000); }
    static constexpr Duration zero() noexcept { return Duration(0); }

    [[nodiscard]] constexpr std::int64_t as_nanos() const noexcept { return ns_; }
    [[nodiscard]] constexpr std::int64_t as_micros() const noexcept { return ns_ / 1'000; }
    [[nodiscard]] constexpr std::int64_t as_millis() const noexcept { return ns_ / 1'000'000; }

    constexpr Duration operator+(Duration o) const noexcept { return Duration(ns_ + o.ns_); }
    constexpr Duration operator-(Duration o) const noexcept { return Duration(ns_ - o.ns_); }
    constexpr Duration operator*(std::int64_t k) const noexcept { return Duration(ns_ * k); }
    constexpr Duration operator/(std::int64_t k) const noexcept { return Duration(ns_ / k); }
    constexpr Duration& operator+=(Duration o) noexcept { ns_ += o.ns_; return *this; }
    constexpr Duration& operator-=(Duration o) noexcept { ns_ -= o.ns_; return *this; }
    friend constexpr auto operator<=>(Duration, Duration) noexcept = default;

private:
    constexpr explicit Duration(std::int64_t ns) noexcept : ns_(ns) {}
    std::int64_t ns_ = 0;
};

/// A point in time, nanoseconds since an arbitrary epoch of the clock that made it.
class Instant {
public:
    constexpr Instant() noexcept = default;
    static constexpr Instant from_nanos(std::int64_t ns) noexcept { return Instant(ns); }

    [[nodiscard]] constexpr std::int64_t nanos() const noexcept { return ns_; }

    constexpr Instant operator+(Duration d) const noexcept { return Instant(ns_ + d.as_nanos()); }
    constexpr Instant operator-(Duration d) const noexcept { return Instant(ns_ - d.as_nanos()); }
    constexpr Duration operator-(Instant o) const noexcept { return Duration::nanos(ns_ - o.ns_); }
    constexpr Instant& operator+=(Duration d) noexcept { ns_ += d.as_nanos(); return *this; }
    friend constexpr auto operator<=>(Instant, Instant) noexcept = default;

private:
    constexpr explicit Instant(std::int64_t ns) noexcept : ns_(ns) {}
    std::int64_t ns_ = 0;
};

}  // namespace ustcp
