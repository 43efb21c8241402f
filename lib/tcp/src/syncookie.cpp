#include "ustcp/tcp/syncookie.hpp"

namespace ustcp::tcp {

namespace {

/// Domain separation from IsnGenerator when both share a key: a different first word.
constexpr std::uint64_t kCookieDomain = 0x7573'7463'702d'7363ULL;  // "ustcp-sc"

constexpr std::uint32_t kCounterShift = 30;
constexpr std::uint32_t kMssShift = 27;
constexpr std::uint32_t kMacMask = (1u << kMssShift) - 1;
constexpr std::uint32_t kMssMask = 7;
constexpr std::uint32_t kCounterMask = 3;

static_assert(SynCookies::kMssTable.size() == kMssMask + 1, "the MSS index field is 3 bits");
static_assert(SynCookies::kMaxAge <= kCounterMask - 1,
              "with 2 counter bits the age 3 must stay free to reject cookies from the future");

}  // namespace

std::uint32_t SynCookies::mac(const FourTuple& t, SeqNum peer_isn, std::int64_t counter,
                              std::uint32_t mss_index) const noexcept {
    const std::array<std::uint64_t, 4> msg{
        kCookieDomain,
        std::uint64_t{t.local_addr.value()} << 32 | t.remote_addr.value(),
        std::uint64_t{t.local_port} << 48 | std::uint64_t{t.remote_port} << 32 | peer_isn.value(),
        static_cast<std::uint64_t>(counter) << 3 | mss_index,
    };
    return static_cast<std::uint32_t>(siphash24_words(key_, msg)) & kMacMask;
}

SeqNum SynCookies::make_isn(const FourTuple& t, SeqNum peer_isn, std::uint16_t peer_mss,
                            Instant now) const noexcept {
    const std::int64_t c = counter(now);
    const std::uint32_t idx = mss_index(peer_mss);
    const auto c_low = static_cast<std::uint32_t>(static_cast<std::uint64_t>(c) & kCounterMask);
    return SeqNum(c_low << kCounterShift | idx << kMssShift | mac(t, peer_isn, c, idx));
}

std::optional<SynCookieOptions> SynCookies::check(const FourTuple& t, SeqNum peer_isn, SeqNum cookie,
                                                  Instant now,
                                                  std::optional<std::uint32_t> tsecr) const noexcept {
    const std::uint32_t v = cookie.value();
    const std::int64_t now_c = counter(now);
    // The latest counter value <= now's whose low two bits match the cookie's.
    const auto age = static_cast<std::uint32_t>((static_cast<std::uint64_t>(now_c) - (v >> kCounterShift)) &
                                                kCounterMask);
    if (age > kMaxAge) return std::nullopt;
    const std::uint32_t idx = (v >> kMssShift) & kMssMask;
    if (mac(t, peer_isn, now_c - age, idx) != (v & kMacMask)) return std::nullopt;

    SynCookieOptions o;
    o.mss = kMssTable[idx];
    if (tsecr) {
        const std::uint32_t ws = *tsecr & 0xf;
        o.timestamps = true;
        o.wscale = ws == 15 ? std::nullopt : std::optional<std::uint8_t>(static_cast<std::uint8_t>(ws));
        o.sack_permitted = (*tsecr >> 4 & 1) != 0;
        o.ecn = (*tsecr >> 5 & 1) != 0;
    }
    return o;
}

}  // namespace ustcp::tcp
