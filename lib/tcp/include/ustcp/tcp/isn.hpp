// Initial sequence numbers, RFC 6528 §3:
//
//     ISN = M + F(localip, localport, remoteip, remoteport, secretkey)
//
// M is a timer that ticks every 4 microseconds (so one 4-tuple's ISNs advance with
// time, as RFC 9293 §3.4.1 asks, wrapping every 2^32 * 4 us ~ 4.8 hours), and F is
// SipHash-2-4 (siphash.hpp) of the 4-tuple under a secret key, so an off-path
// attacker cannot predict another connection's ISN from its own.
//
//   const IsnGenerator isn(SipKey::random());        // once per engine, at start-up
//   SeqNum iss = isn.isn(tuple, now);                 // SYN or SYN-ACK of a new connection
//
// No clock is read: M comes from the Instant the caller passes. Every lcore may hold
// its own generator, or share one (it is immutable); with the same key and Instants
// from one clock, all of them agree. The key never needs to change while running
// (RFC 6528 §3: rekeying would break the monotonicity per 4-tuple that M provides).
//
// Replays and tests can turn RFC 6528 off: with tcp::Config::fixed_iss set, iss_for()
// gives every new connection that ISS, so a capture's ACK numbers, taken against a server
// that ran with the same value, are acceptable to a second one (tests/interop/tap/pcap_replay.sh).
#pragma once

#include <cstdint>

#include "ustcp/base/addr.hpp"
#include "ustcp/base/seqnum.hpp"
#include "ustcp/base/time.hpp"
#include "ustcp/tcp/siphash.hpp"

namespace ustcp::tcp {

class IsnGenerator {
public:
    /// The key may be shared with SynCookies: the two hash domain-separated messages.
    explicit IsnGenerator(const SipKey& key) noexcept : key_(key) {}

    /// The ISN for a connection named `t` from our side (local = this host), at `now`.
    /// The same (t, now, key) always gives the same value; it advances by 1 every 4 us of `now`.
    [[nodiscard]] SeqNum isn(const FourTuple& t, Instant now) const noexcept;

    /// The ISS of a new connection: `fixed` when it is non-zero (tcp::Config::fixed_iss,
    /// for replaying captures and tests only), else isn(t, now).
    [[nodiscard]] SeqNum iss_for(const FourTuple& t, Instant now, std::uint32_t fixed) const noexcept {
        return fixed != 0 ? SeqNum(fixed) : isn(t, now);
    }

    /// RFC 6528's M alone: `now` in 4-microsecond units, modulo 2^32 (floor division,
    /// so it keeps ticking upward through a negative-to-positive epoch crossing).
    [[nodiscard]] static constexpr std::uint32_t timer(Instant now) noexcept {
        std::int64_t ns = now.nanos();
        std::int64_t q = ns / 4'000;
        if (ns % 4'000 < 0) --q;
        return static_cast<std::uint32_t>(static_cast<std::uint64_t>(q));
    }

private:
    SipKey key_;
};

}  // namespace ustcp::tcp
