// SYN cookies (RFC 4987 §3.6): answer a SYN without keeping state, by encoding what
// the handshake must remember into our SYN-ACK's ISN, and recover it from the ACK
// that completes the handshake. A listener uses them when its SYN-RECEIVED set is full
// (Config::syn_cookies).
//
//   // SYN arrives, no room for a SYN-RECEIVED entry:
//   SeqNum iss = cookies.make_isn(tuple, syn.seq, peer_mss_or_536, now);
//   std::uint32_t tsval = cookies.encode_tsval(ts_clock, opts_from_syn);   // if replying with TS
//   ... send <SEQ=iss><ACK=syn.seq+1><CTL=SYN,ACK> and forget the SYN ...
//
//   // ACK (no SYN/RST) arrives for no connection but the listener:
//   if (auto o = cookies.check(tuple, ack.seq - 1, ack.ack - 1, now, tsecr_if_present)) {
//       ... create the connection in ESTABLISHED with *o (ANDed with our own config) ...
//   } else {
//       ... RFC 9293 LISTEN: <SEQ=SEG.ACK><CTL=RST> ...
//   }
//
// The cookie (our ISN, 32 bits), most significant bit first:
//
//   31..30  coarse time counter modulo 4 (counter = floor(now / 64 s))
//   29..27  index into kMssTable: the largest entry <= the peer's MSS
//   26..0   MAC: the low 27 bits of SipHash-2-4(key, domain word, 4-tuple, peer ISN,
//           full 64-bit counter, MSS index)
//
// check() recovers the counter from its two low bits as the latest value <= now's
// counter, rejects ages above kMaxAge, and recomputes the MAC over the full counter,
// so a cookie replayed from four periods later (same low bits) fails too. A blind
// forger who guesses the 5 clear bits right still has a 2^-27 chance per ACK.
//
// With timestamps (RFC 7323), the low 6 bits of our SYN-ACK's TSval carry what the
// cookie has no room for, and the ACK's TSecr brings them back (as Linux does):
//
//   bits 3..0  the peer's window scale shift, 0..14; 15 = it sent no Window Scale option
//   bit  4     the peer sent SACK-permitted (RFC 2018)
//   bit  5     ECN was negotiated (RFC 3168 ECN-setup SYN answered with ECE)
//
// Trade-offs (what a cookie connection loses against a SYN-RECEIVED entry):
//  - The MSS rounds down to a table entry (e.g. a peer's 1400 becomes 1380).
//  - Without timestamps there is nowhere to keep window scaling, SACK-permitted or ECN,
//    so they are off for the connection (the peer believes WS/SACK are on; it sends
//    unscaled windows' worth of data and gets no SACK blocks, which is safe but slow).
//  - Our own window scale is not stored: the caller must offer a value it can
//    recompute from its configuration when the ACK comes (a deterministic function of
//    Config, not of momentary buffer state).
//  - The TSval option bits are not covered by the MAC: a peer can only lie about its
//    own options, and a forger must first pass the MAC. check()'s result must still be
//    ANDed with what our configuration allows.
//  - The SYN-ACK is never retransmitted (there is no state to retransmit from), the
//    SYN's data, if any, is dropped, and if the handshake's last ACK is lost, a
//    protocol where the server speaks first stalls until the client sends (RFC 4987 §3.6).
//  - Cookie ISNs do not follow RFC 6528's clock (M), so they do not increase for a
//    4-tuple from one connection to the next.
//
// The key may be the same as IsnGenerator's: messages are domain-separated. No state,
// no allocation; every member is const and noexcept, so one SynCookies serves all lcores.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "ustcp/base/addr.hpp"
#include "ustcp/base/seqnum.hpp"
#include "ustcp/base/time.hpp"
#include "ustcp/tcp/siphash.hpp"

namespace ustcp::tcp {

/// What a cookie ACK tells about the handshake.
struct SynCookieOptions {
    std::uint16_t mss = 536;              ///< send MSS: a kMssTable entry <= the peer's MSS option
    bool sack_permitted = false;          ///< the peer's SYN carried SACK-permitted (RFC 2018)
    std::optional<std::uint8_t> wscale;   ///< the peer's shift (RFC 7323 Snd.Wind.Shift), 0..14; nullopt: none sent
    bool timestamps = false;              ///< RFC 7323 timestamps are in use (the ACK carried TSecr)
    bool ecn = false;                     ///< RFC 3168 ECN was negotiated
    friend bool operator==(const SynCookieOptions&, const SynCookieOptions&) noexcept = default;
};

class SynCookies {
public:
    /// Send MSS values a cookie can express, ascending: 88 (a floor for tiny embedded
    /// stacks), 536 (RFC 9293's default), 1200/1300/1380 (tunnels and VPNs),
    /// 1440, 1460 (Ethernet), 8960 (9000-byte jumbo frames).
    static constexpr std::array<std::uint16_t, 8> kMssTable{88, 536, 1200, 1300, 1380, 1440, 1460, 8960};
    /// One tick of the cookie clock.
    static constexpr Duration kPeriod = Duration::seconds(64);
    /// A cookie is accepted while now's counter is at most this many ticks past the one that
    /// made it: between kMaxAge and kMaxAge + 1 periods (128..192 s) after make_isn().
    static constexpr std::uint32_t kMaxAge = 2;
    /// The TSval bits encode_tsval() replaces.
    static constexpr std::uint32_t kTsBits = 6;

    explicit SynCookies(const SipKey& key) noexcept : key_(key) {}

    /// Our SYN-ACK's ISN for the SYN from `t` (our side first: local = the listener),
    /// whose sequence number is `peer_isn` and whose MSS option is `peer_mss` (pass
    /// Config::default_peer_mss, 536, when the SYN had none).
    [[nodiscard]] SeqNum make_isn(const FourTuple& t, SeqNum peer_isn, std::uint16_t peer_mss,
                                  Instant now) const noexcept;

    /// The TSval to put in the cookie SYN-ACK: `tsval` (our timestamp clock) with its low
    /// kTsBits replaced by `o`'s wscale/SACK/ECN, never later than `tsval` (at most 63 ticks
    /// earlier), so our timestamps stay monotonic for the connection. `o.mss` and
    /// `o.timestamps` are ignored; a wscale above 14 is sent as 14 (RFC 7323 §2.3). Call it
    /// only when the SYN carried timestamps and the SYN-ACK will.
    [[nodiscard]] static constexpr std::uint32_t encode_tsval(std::uint32_t tsval,
                                                              const SynCookieOptions& o) noexcept {
        std::uint32_t bits = o.wscale ? (*o.wscale > 14 ? 14u : std::uint32_t{*o.wscale}) : 15u;
        bits |= (o.sack_permitted ? 1u : 0u) << 4;
        bits |= (o.ecn ? 1u : 0u) << 5;
        constexpr std::uint32_t mask = (1u << kTsBits) - 1;
        std::uint32_t r = (tsval & ~mask) | bits;
        if (bits > (tsval & mask)) r -= mask + 1;  // step back one block, modulo 2^32
        return r;
    }

    /// Validates a cookie ACK from `t` (our side first). `peer_isn` is SEG.SEQ - 1 and
    /// `cookie` is SEG.ACK - 1 of the ACK; `tsecr` its TSecr when it has a Timestamps option.
    /// @return the handshake's options, or nullopt when the cookie is forged, made for
    ///         another tuple or peer ISN, under another key, or older than kMaxAge ticks
    ///         (or from a later tick than `now`'s). No reason is given: an expired-looking
    ///         cookie is as likely to be random garbage. Without `tsecr`, SACK, window
    ///         scaling and ECN come back off.
    [[nodiscard]] std::optional<SynCookieOptions> check(const FourTuple& t, SeqNum peer_isn, SeqNum cookie,
                                                        Instant now,
                                                        std::optional<std::uint32_t> tsecr) const noexcept;

    /// The kMssTable index make_isn() encodes for `peer_mss`: the largest entry <= it, or 0
    /// when it is below all of them.
    [[nodiscard]] static constexpr std::uint32_t mss_index(std::uint16_t peer_mss) noexcept {
        std::uint32_t i = kMssTable.size() - 1;
        while (i > 0 && kMssTable[i] > peer_mss) --i;
        return i;
    }

    /// The cookie clock: floor(now / kPeriod).
    [[nodiscard]] static constexpr std::int64_t counter(Instant now) noexcept {
        const std::int64_t ns = now.nanos();
        const std::int64_t p = kPeriod.as_nanos();
        std::int64_t q = ns / p;
        if (ns % p < 0) --q;
        return q;
    }

private:
    [[nodiscard]] std::uint32_t mac(const FourTuple& t, SeqNum peer_isn, std::int64_t counter,
                                    std::uint32_t mss_index) const noexcept;

    SipKey key_;
};

}  // namespace ustcp::tcp
