#include "ustcp/tcp/isn.hpp"

#include <array>

namespace ustcp::tcp {

namespace {

/// Domain separation: the first word of every message hashed for an ISN, so a key shared
/// with SynCookies (which starts with a different word) never yields related values.
constexpr std::uint64_t kIsnDomain = 0x7573'7463'702d'6973ULL;  // "ustcp-is"

}  // namespace

SeqNum IsnGenerator::isn(const FourTuple& t, Instant now) const noexcept {
    // F: SipHash over the 4-tuple, packed into words (12 bytes of tuple, no padding ambiguity
    // since the message length is fixed).
    const std::array<std::uint64_t, 3> msg{
        kIsnDomain,
        std::uint64_t{t.local_addr.value()} << 32 | t.remote_addr.value(),
        std::uint64_t{t.local_port} << 16 | t.remote_port,
    };
    const auto f = static_cast<std::uint32_t>(siphash24_words(key_, msg));
    return SeqNum(timer(now) + f);
}

}  // namespace ustcp::tcp
