// The congestion-control seam: one value per connection holding whichever policy
// the connection was configured with (CUBIC by default, or NewReno), driven by a small
// set of events and read through a few outputs. The policy is selected per
// connection at run time without virtual calls: the value is a std::variant of the
// policies and every call is a std::visit, a branch on the variant's index to a
// direct (inlinable) call, and no branch at all while there is one policy. It holds no pointers and never
// allocates, so it lives inside the connection's control block.
//
//   cc::CongestionControl cc = cc::make_congestion_control(cfg.cc, {.smss = smss});
//   // ACK processing (RFC 9293 §3.10.7.4), after SND.UNA was updated:
//   cc::Response r{};
//   if (seg_ack > old_una) r = cc.on_ack({seg_ack - old_una, snd_una, snd_max, now});
//   else if (is_duplicate_ack) r = cc.on_dup_ack({snd_una, snd_max, now});
//   if (r.retransmit) retransmit(snd_una);      // regardless of cwnd
//   if (r.restart_rto) rto_deadline = now + rto;
//   // RTO deadline passed:
//   cc.on_timeout({snd_una, snd_max, now});      // then go-back-N from SND.UNA
//   // Before sending new data:
//   if (snd_max == snd_una && cc::idle_restart_due(last_send, now, rto))
//       cc.on_idle_restart({now, now - last_send});
//   usable = min(cc.cwnd(), snd_wnd) - (snd_max - snd_una);
//
// Contract, for the connection (caller):
// - Create the value when the connection reaches ESTABLISHED, with the SMSS agreed in
//   the handshake. The handshake's own segments are not reported.
// - on_ack: once per ACK that moves SND.UNA forward, after updating SND.UNA;
//   `bytes_acked` is the distance moved (> 0). An ACK that moves SND.UNA is never
//   also reported as a duplicate.
// - on_dup_ack: once per duplicate ACK as RFC 5681 §2 defines it (events.hpp). The
//   policy counts them; the connection does not need to.
// - on_loss: instead of on_dup_ack's third duplicate, when SACK-based loss detection (RFC
//   6675, RACK) finds a loss and starts a recovery episode; once per episode. With SACK in
//   use the connection reports no duplicate ACKs at all (it counts them itself) and sends
//   by pipe during the episode.
// - on_undo: when the episode's (or an RTO's) retransmissions were all spurious (D-SACK).
// - on_timeout: when the retransmission timer fires, before the retransmission, for
//   every expiry (the policy tells a first expiry from a repeated one by SND.UNA).
// - on_idle_restart: before sending when nothing is in flight and idle_restart_due()
//   holds (RFC 5681 §4.1).
// - A Response with `retransmit` asks for the segment at SND.UNA to be sent now,
//   outside cwnd; `restart_rto` asks for the retransmission timer to be restarted.
// - `snd_max` is one past the highest sequence number ever sent, not the rewound
//   SND.NXT after an RTO; FlightSize is snd_max - snd_una.
// Contract, for every policy (checked by the Policy concept):
// - Each event is noexcept, O(1), allocation-free and reads no clock (time comes in
//   the events). Outputs may be read at any time.
// - smss() <= cwnd() <= kMaxCwnd and ssthresh() >= 2 * smss() always.
// - cwnd() is the whole congestion window, including any temporary inflation during
//   fast recovery; the connection sends new data while FlightSize < cwnd().
// - in_recovery() is true between a fast retransmit and the ACK that ends recovery;
//   recover() is the sequence number that ACK must reach.
//
// Adding a policy (e.g. CUBIC, RFC 9438) is mechanical:
//   1. cc/cubic.hpp + src/cc/cubic.cpp: a class with the members the Policy concept
//      lists, and its own CubicConfig; it holds a cc::Recovery (recovery.hpp) for the
//      recovery entry/exit, `recover`, RTO and undo bookkeeping, and only sizes windows;
//   2. here: append `Cubic` to `Algorithm`, `Cubic` to CongestionControl's list (same
//      position; a static_assert checks), a `CubicConfig cubic` to CcConfig, and a
//      case to make_congestion_control().
// Events not yet in the seam: ECN-Echo (RFC 3168 §6.1.2) will arrive as on_ecn_echo().
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <variant>

#include "ustcp/base/seqnum.hpp"
#include "ustcp/tcp/cc/events.hpp"
#include "ustcp/tcp/cc/cubic.hpp"
#include "ustcp/tcp/cc/newreno.hpp"

namespace ustcp::tcp::cc {

/// What a congestion-control policy provides. Every event and output is noexcept.
template <class P>
concept Policy = std::is_nothrow_move_constructible_v<P> &&
    requires(P& p, const P& c, const AckEvent& a, const DupAckEvent& d, const TimeoutEvent& t,
             const IdleEvent& i, const LossEvent& l, const UndoEvent& u) {
        { p.on_ack(a) } noexcept -> std::same_as<Response>;
        { p.on_dup_ack(d) } noexcept -> std::same_as<Response>;
        { p.on_loss(l) } noexcept -> std::same_as<void>;
        { p.on_undo(u) } noexcept -> std::same_as<bool>;
        { p.on_timeout(t) } noexcept -> std::same_as<void>;
        { p.on_idle_restart(i) } noexcept -> std::same_as<void>;
        { c.cwnd() } noexcept -> std::same_as<std::uint32_t>;
        { c.ssthresh() } noexcept -> std::same_as<std::uint32_t>;
        { c.smss() } noexcept -> std::same_as<std::uint32_t>;
        { c.in_recovery() } noexcept -> std::same_as<bool>;
        { c.recover() } noexcept -> std::same_as<SeqNum>;
        { c.dup_acks() } noexcept -> std::same_as<std::uint32_t>;
        { c.counters() } noexcept -> std::same_as<const CcCounters&>;
    };

/// The seam over a fixed list of policies. Use the CongestionControl alias below; the
/// template exists so that tests and benchmarks can build one over other lists.
template <Policy... Ps>
class BasicCongestionControl {
public:
    using Variant = std::variant<Ps...>;

    // `class P`, not `Policy P`: Ps are Policies already, and checking Policy<P> first would
    // make clang evaluate is_nothrow_move_constructible<BasicCongestionControl> while deciding
    // whether this very constructor moves one (a recursive constraint clang rejects).
    template <class P>
        requires(std::is_same_v<P, Ps> || ...)
    explicit BasicCongestionControl(P policy) noexcept : p_(std::move(policy)) {}

    /// Which policy is held: its position in the list.
    [[nodiscard]] std::size_t index() const noexcept { return p_.index(); }

    // ---- Events ----
    Response on_ack(const AckEvent& e) noexcept {
        return visit([&](auto& p) noexcept { return p.on_ack(e); });
    }
    Response on_dup_ack(const DupAckEvent& e) noexcept {
        return visit([&](auto& p) noexcept { return p.on_dup_ack(e); });
    }
    void on_timeout(const TimeoutEvent& e) noexcept {
        visit([&](auto& p) noexcept { p.on_timeout(e); });
    }
    void on_loss(const LossEvent& e) noexcept {
        visit([&](auto& p) noexcept { p.on_loss(e); });
    }
    /// True when a reduction was undone.
    bool on_undo(const UndoEvent& e) noexcept {
        return visit([&](auto& p) noexcept { return p.on_undo(e); });
    }
    void on_idle_restart(const IdleEvent& e) noexcept {
        visit([&](auto& p) noexcept { p.on_idle_restart(e); });
    }

    // ---- Outputs ----
    [[nodiscard]] std::uint32_t cwnd() const noexcept {
        return visit([](const auto& p) noexcept { return p.cwnd(); });
    }
    [[nodiscard]] std::uint32_t ssthresh() const noexcept {
        return visit([](const auto& p) noexcept { return p.ssthresh(); });
    }
    [[nodiscard]] std::uint32_t smss() const noexcept {
        return visit([](const auto& p) noexcept { return p.smss(); });
    }
    [[nodiscard]] bool in_recovery() const noexcept {
        return visit([](const auto& p) noexcept { return p.in_recovery(); });
    }
    [[nodiscard]] SeqNum recover() const noexcept {
        return visit([](const auto& p) noexcept { return p.recover(); });
    }
    [[nodiscard]] std::uint32_t dup_acks() const noexcept {
        return visit([](const auto& p) noexcept { return p.dup_acks(); });
    }
    [[nodiscard]] const CcCounters& counters() const noexcept {
        return visit([](const auto& p) noexcept -> const CcCounters& { return p.counters(); });
    }

    /// The held policy as P, or nullptr (for policy-specific diagnostics and tests).
    template <class P>
    [[nodiscard]] P* get_if() noexcept { return std::get_if<P>(&p_); }
    template <class P>
    [[nodiscard]] const P* get_if() const noexcept { return std::get_if<P>(&p_); }

private:
    // std::visit: in libstdc++ 12 a switch on the index for a variant this small (a plain
    // call for one policy); measured against a hand-written if-chain on index() it was as
    // fast or faster (bench_cc.cpp). It cannot throw bad_variant_access: the variant is
    // only ever built from a policy and policies are nothrow-movable (the concept checks),
    // so it is never valueless.
    template <class F>
    decltype(auto) visit(F&& f) noexcept { return std::visit(std::forward<F>(f), p_); }
    template <class F>
    decltype(auto) visit(F&& f) const noexcept { return std::visit(std::forward<F>(f), p_); }

    Variant p_;
};

/// The policies a connection can be configured with, in CongestionControl's order.
enum class Algorithm : std::uint8_t {
    NewReno,
    Cubic,  ///< RFC 9438 with HyStart++ (RFC 9406): the default
};

/// Per-engine congestion-control configuration (a future member of tcp::Config).
struct CcConfig {
    Algorithm algorithm = Algorithm::Cubic;
    NewRenoConfig newreno{};
    CubicConfig cubic{};
};

using CongestionControl = BasicCongestionControl<NewReno, Cubic>;

static_assert(std::is_same_v<std::variant_alternative_t<static_cast<std::size_t>(Algorithm::NewReno),
                                                        CongestionControl::Variant>,
                             NewReno>,
              "Algorithm and CongestionControl must list the policies in the same order");
static_assert(std::is_same_v<std::variant_alternative_t<static_cast<std::size_t>(Algorithm::Cubic),
                                                        CongestionControl::Variant>,
                             Cubic>,
              "Algorithm and CongestionControl must list the policies in the same order");

/// The held policy as an Algorithm.
[[nodiscard]] inline Algorithm algorithm(const CongestionControl& cc) noexcept {
    return static_cast<Algorithm>(cc.index());
}

/// The connection's policy, as `cfg` selects, started with `init`.
[[nodiscard]] inline CongestionControl make_congestion_control(const CcConfig& cfg, const Init& init) noexcept {
    switch (cfg.algorithm) {  // -Wswitch flags an Algorithm left out here
        case Algorithm::NewReno: return CongestionControl(NewReno(init, cfg.newreno));
        case Algorithm::Cubic: return CongestionControl(Cubic(init, cfg.cubic));
    }
    return CongestionControl(Cubic(init, cfg.cubic));  // an out-of-range value: the default
}

}  // namespace ustcp::tcp::cc
