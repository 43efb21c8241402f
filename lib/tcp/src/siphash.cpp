#include "ustcp/tcp/siphash.hpp"

#include <sys/random.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace ustcp::tcp {

SipKey SipKey::random() {
    std::array<std::uint8_t, 16> b{};
    std::size_t got = 0;
    while (got < b.size()) {
        // Flags 0: the urandom source, blocking only until the pool is first initialised.
        ssize_t n = ::getrandom(b.data() + got, b.size() - got, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw std::system_error(errno, std::generic_category(), "getrandom(2) for a SipHash key");
        }
        got += static_cast<std::size_t>(n);
    }
    return from_bytes(b);
}

std::uint64_t siphash24(const SipKey& key, std::span<const std::uint8_t> msg) noexcept {
    detail::SipState s(key);
    const std::size_t whole = msg.size() & ~std::size_t{7};
    for (std::size_t i = 0; i < whole; i += 8) {
        std::uint64_t m = 0;
        for (std::size_t j = 0; j < 8; ++j) m |= std::uint64_t{msg[i + j]} << (8 * j);
        s.compress(m);
    }
    // Last block: the 0..7 remaining bytes little-endian, the length mod 256 in the top byte.
    std::uint64_t last = std::uint64_t{msg.size() & 0xff} << 56;
    for (std::size_t j = 0; whole + j < msg.size(); ++j) last |= std::uint64_t{msg[whole + j]} << (8 * j);
    s.compress(last);
    return s.finish();
}

}  // namespace ustcp::tcp
