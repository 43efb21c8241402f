// Network byte order as a type of its own.
//
// be16/be32 hold a value exactly as it sits on the wire. They do not convert
// implicitly to or from host integers, so a header field cannot be compared
// with a host value by accident: write `field.host() == 80` or
// `field == be16::from_host(80)`.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>

namespace ustcp {

template <typename T>
constexpr T byteswap_if_little(T v) noexcept {
    if constexpr (std::endian::native == std::endian::little) {
        if constexpr (sizeof(T) == 2) {
            return static_cast<T>(__builtin_bswap16(v));
        } else if constexpr (sizeof(T) == 4) {
            return static_cast<T>(__builtin_bswap32(v));
        } else {
            static_assert(sizeof(T) == 8);
            return static_cast<T>(__builtin_bswap64(v));
        }
    } else {
        return v;
    }
}

/// A big-endian (network order) unsigned integer of N bytes.
template <typename Host>
class BigEndian {
public:
    constexpr BigEndian() noexcept = default;

    static constexpr BigEndian from_host(Host v) noexcept { return BigEndian(byteswap_if_little(v)); }
    static constexpr BigEndian from_raw(Host raw) noexcept { return BigEndian(raw); }

    /// The value in host order.
    [[nodiscard]] constexpr Host host() const noexcept { return byteswap_if_little(raw_); }
    /// The bytes as they are in memory (network order), reinterpreted as a host integer.
    [[nodiscard]] constexpr Host raw() const noexcept { return raw_; }

    friend constexpr bool operator==(BigEndian, BigEndian) noexcept = default;

private:
    constexpr explicit BigEndian(Host raw) noexcept : raw_(raw) {}
    Host raw_ = 0;
};

using be16 = BigEndian<std::uint16_t>;
using be32 = BigEndian<std::uint32_t>;
static_assert(sizeof(be16) == 2 && sizeof(be32) == 4);

/// Unaligned loads and stores in network order. `p` must point at enough bytes;
/// callers are the checked views, which validated the length first.
inline std::uint16_t load_be16(const std::uint8_t* p) noexcept {
    std::uint16_t v;
    std::memcpy(&v, p, sizeof v);
    return byteswap_if_little(v);
}
inline std::uint32_t load_be32(const std::uint8_t* p) noexcept {
    std::uint32_t v;
    std::memcpy(&v, p, sizeof v);
    return byteswap_if_little(v);
}
inline void store_be16(std::uint8_t* p, std::uint16_t v) noexcept {
    v = byteswap_if_little(v);
    std::memcpy(p, &v, sizeof v);
}
inline void store_be32(std::uint8_t* p, std::uint32_t v) noexcept {
    v = byteswap_if_little(v);
    std::memcpy(p, &v, sizeof v);
}

}  // namespace ustcp
