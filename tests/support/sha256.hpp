// SHA-256 (FIPS 180-4) for tests that compare what two ends of a transfer saw: a small
// RAII wrapper over nettle's sha256 (Debian's nettle-dev), not an implementation.
//
//   test_support::Sha256 h;
//   h.update(bytes);  h.update(more);
//   std::string hex = h.hex();   // finishes; the object starts over
#pragma once

#include <nettle/sha2.h>

#include <array>
#include <cstdint>
#include <span>
#include <string>

namespace test_support {

class Sha256 {
public:
    Sha256() noexcept { sha256_init(&ctx_); }
    void update(std::span<const std::uint8_t> data) noexcept { sha256_update(&ctx_, data.size(), data.data()); }
    /// The digest of everything updated since construction or the last digest().
    std::array<std::uint8_t, SHA256_DIGEST_SIZE> digest() noexcept {
        std::array<std::uint8_t, SHA256_DIGEST_SIZE> d{};
        sha256_digest(&ctx_, d.size(), d.data());  // also resets the context
        return d;
    }
    std::string hex() {
        static constexpr char kHex[] = "0123456789abcdef";
        std::string s;
        for (const std::uint8_t b : digest()) {
            s += kHex[b >> 4];
            s += kHex[b & 15];
        }
        return s;
    }

private:
    sha256_ctx ctx_;
};

}  // namespace test_support
