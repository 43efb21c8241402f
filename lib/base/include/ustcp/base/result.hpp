// Result<T, E>: a value or a typed error, for calls that can fail on the data
// path without exceptions (C++20 has no std::expected yet).
//
//   Result<Ipv4View, ParseError> r = Ipv4View::checked(bytes);
//   if (!r) { counters.bump(r.error()); return; }
//   const Ipv4View& ip = *r;
//
// `E` is normally an `enum class`. Result<void, E> carries only the error.
#pragma once

#include <cassert>
#include <type_traits>
#include <utility>
#include <variant>

namespace ustcp {

/// Wraps an error so that `return Err(ParseError::Truncated);` converts to any Result<T, ParseError>.
template <typename E>
struct Err {
    constexpr explicit Err(E e) noexcept : value(e) {}
    E value;
};
template <typename E>
Err(E) -> Err<E>;

template <typename T, typename E>
class [[nodiscard]] Result {
public:
    using value_type = T;
    using error_type = E;

    template <typename U = T>
        requires std::is_constructible_v<T, U&&>
    constexpr Result(U&& v) : v_(std::in_place_index<0>, std::forward<U>(v)) {}  // NOLINT: implicit by design
    constexpr Result(Err<E> e) : v_(std::in_place_index<1>, e.value) {}     // NOLINT: implicit by design

    [[nodiscard]] constexpr bool ok() const noexcept { return v_.index() == 0; }
    constexpr explicit operator bool() const noexcept { return ok(); }

    constexpr T& value() & { assert(ok()); return *std::get_if<0>(&v_); }
    constexpr const T& value() const& { assert(ok()); return *std::get_if<0>(&v_); }
    constexpr T&& value() && { assert(ok()); return std::move(*std::get_if<0>(&v_)); }
    constexpr T& operator*() & { return value(); }
    constexpr const T& operator*() const& { return value(); }
    constexpr T* operator->() { return &value(); }
    constexpr const T* operator->() const { return &value(); }

    [[nodiscard]] constexpr E error() const { assert(!ok()); return *std::get_if<1>(&v_); }

private:
    std::variant<T, E> v_;
};

template <typename E>
class [[nodiscard]] Result<void, E> {
public:
    using error_type = E;
    constexpr Result() noexcept = default;
    constexpr Result(Err<E> e) noexcept : failed_(true), e_(e.value) {}  // NOLINT: implicit by design

    [[nodiscard]] constexpr bool ok() const noexcept { return !failed_; }
    constexpr explicit operator bool() const noexcept { return ok(); }
    [[nodiscard]] constexpr E error() const noexcept { assert(failed_); return e_; }

private:
    bool failed_ = false;
    E e_{};
};

}  // namespace ustcp
