// Fixed arrays whose slots are written before they are read.
#pragma once

#include <cstddef>
#include <new>
#include <type_traits>

namespace ustcp {

/// N slots of a trivially copyable T that construction leaves unwritten. For lists that keep
/// their own count and never read a slot at or above it (the SACK scoreboard's ranges, RACK's
/// send log): starting such a list costs setting its count, not clearing kilobytes. The bytes
/// are implicit-lifetime storage (C++20 [intro.object]): assigning a slot creates its T.
template <class T, std::size_t N>
class Slots {
    static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>);

public:
    Slots() noexcept {}  // NOLINT(modernize-use-equals-default): with `= default`, Slots{} would clear raw_

    [[nodiscard]] T& operator[](std::size_t i) noexcept {
        return std::launder(reinterpret_cast<T*>(raw_))[i];
    }
    [[nodiscard]] const T& operator[](std::size_t i) const noexcept {
        return std::launder(reinterpret_cast<const T*>(raw_))[i];
    }

private:
    alignas(T) unsigned char raw_[N * sizeof(T)];
};

}  // namespace ustcp
