// Seeded link faults: what a simulated link (link.hpp) or a port wrapper
// (fault_port.hpp) does to each frame, decided reproducibly from a seed.
//
//   auto spec = sim::parse_fault_spec("loss=1%,reorder=2%,delay=5ms,rate=100Mbit,queue=100,seed=7");
//   if (!spec) { std::cerr << spec.error() << '\n'; return 2; }   // names the item and the keys
//   sim::FaultPath path(*spec);
//   sim::Copy copies[2];
//   const unsigned n = path.admit(frame_len, l4_range, now, copies);  // 0: lost (counted)
//   for (unsigned i = 0; i < n; ++i) deliver_at(copies[i].at, copies[i].flip_bit);
//
// The fate of a frame, in order (each step counted in FaultCounters):
//   1. random loss (`loss`), then Gilbert–Elliott burst loss (`burst`, `burst_len`,
//      `burst_slot`): a two-state chain, Bad losing every frame, stepped once per frame
//      and once per burst_slot of idle time in between. Without the idle steps a
//      connection backing off its RTO (one frame per RTO) would stay in a burst for
//      seconds: bursts on a real link are in time;
//   2. the bottleneck: with `rate`, frames are serialised at that rate through a
//      drop-tail queue of `queue` frames (the frame in service included); a full
//      queue drops (this is congestion, not randomness);
//   3. duplication (`dup`): a second copy arrives right after the first;
//   4. corruption (`corrupt`): one bit flipped inside the frame's L4 segment (not the
//      TCP data offset byte), so the L4 checksum, and nothing earlier, must reject it;
//   5. propagation: `delay` plus a uniform jitter in [0, `jitter`]; jitter alone never
//      reorders (a frame never overtakes one admitted before it); `reorder` frames
//      are held `reorder_delay` longer and are overtaken.
// Reproducibility: every frame consumes the same number of draws from one
// std::mt19937_64 (whose output the C++ standard fixes) seeded with `seed`, so the
// same spec and the same sequence of frames give the same fate for every frame,
// and changing one rate does not move the other faults to different frames.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "ustcp/base/result.hpp"
#include "ustcp/base/time.hpp"

namespace ustcp::sim {

/// What to do to the frames of one direction. Probabilities are fractions in [0, 1].
struct FaultSpec {
    double loss = 0;        ///< independent loss per frame
    double burst = 0;       ///< Gilbert–Elliott: long-run fraction lost in bursts
    double burst_len = 4;   ///< Gilbert–Elliott: mean frames per burst (>= 1)
    /// Gilbert–Elliott: the chain also steps once per burst_slot of idle time, so that a burst
    /// is a stretch of time and not of frames only (see FaultPath::admit).
    Duration burst_slot = Duration::millis(1);
    double reorder = 0;     ///< fraction held back by reorder_delay
    Duration reorder_delay = Duration::millis(1);
    double dup = 0;         ///< fraction delivered twice
    double corrupt = 0;     ///< fraction with one bit flipped in the L4 segment
    Duration delay = Duration::zero();
    Duration jitter = Duration::zero();
    std::uint64_t rate_bps = 0;  ///< bottleneck rate in bit/s; 0: unlimited (no queue)
    std::uint32_t queue = 100;   ///< bottleneck queue in frames (with rate_bps)
    std::uint64_t seed = 1;

    /// Whether any fault or delay is set (a spec of only a seed does nothing).
    [[nodiscard]] bool active() const noexcept;
    /// Whether frames may be held (delay, jitter, reordering or a rate): a user of the
    /// spec then needs a clock.
    [[nodiscard]] bool holds_frames() const noexcept;
};

/// The keys parse_fault_spec() accepts, as listed in its errors.
inline constexpr std::string_view kFaultKeys =
    "loss, burst, burst_len, burst_slot, reorder, reorder_delay, dup, corrupt, delay, jitter, rate, queue, seed";

/// Parses "key=value,key=value,...". Percentages are written with '%' ("1%", "0.5%");
/// durations with ns, us, ms or s ("2ms"); rates with bit, kbit, Mbit or Gbit per
/// second ("100Mbit"); queue in frames; seed and burst_len as numbers. An empty string
/// is a spec with no faults. Errors: a message naming the bad item and what is accepted.
[[nodiscard]] Result<FaultSpec, std::string> parse_fault_spec(std::string_view text);
/// The spec in parse_fault_spec()'s syntax, only the keys that differ from the defaults.
[[nodiscard]] std::string to_string(const FaultSpec& s);

/// Which faults go where: RX (frames the port received), TX (frames sent), or both.
struct PortFaults {
    std::optional<FaultSpec> rx;
    std::optional<FaultSpec> tx;
    [[nodiscard]] bool any() const noexcept { return (rx && rx->active()) || (tx && tx->active()); }
};

/// Parses "[rx:|tx:]SPEC[;[rx:|tx:]SPEC]": a spec without a prefix applies to both
/// directions (the TX side with seed + 1), "" to neither. Errors: a message naming the
/// part and, for a bad spec, parse_fault_spec()'s.
[[nodiscard]] Result<PortFaults, std::string> parse_port_faults(std::string_view text);

/// What was done to the frames of one direction.
struct FaultCounters {
    std::uint64_t frames = 0;        ///< frames offered
    std::uint64_t lost = 0;          ///< random loss
    std::uint64_t burst_lost = 0;    ///< Gilbert–Elliott loss
    std::uint64_t queue_dropped = 0; ///< bottleneck queue full
    std::uint64_t duplicated = 0;    ///< extra copies
    std::uint64_t corrupted = 0;     ///< copies with a bit flipped
    std::uint64_t reordered = 0;     ///< frames held back to be overtaken
    std::uint64_t delivered = 0;     ///< copies handed on (duplicates included)
    friend bool operator==(const FaultCounters&, const FaultCounters&) = default;
};

/// Calls f(name, value) for every FaultCounters field, in declaration order.
template <class F>
void for_each_counter(const FaultCounters& c, F&& f) {
    f("fault_frames", c.frames);
    f("fault_lost", c.lost);
    f("fault_burst_lost", c.burst_lost);
    f("fault_queue_dropped", c.queue_dropped);
    f("fault_duplicated", c.duplicated);
    f("fault_corrupted", c.corrupted);
    f("fault_reordered", c.reordered);
    f("fault_delivered", c.delivered);
}
static_assert(sizeof(FaultCounters) == 8 * sizeof(std::uint64_t), "for_each_counter lists every field");

/// Where a frame's L4 segment lies (bytes [begin, end) of the frame), which corruption
/// may touch; `skip` is one byte offset inside it not to touch (the TCP data offset),
/// or end when none. begin == end: the frame cannot be corrupted (not IPv4, too short).
struct L4Range {
    std::uint32_t begin = 0;
    std::uint32_t end = 0;
    std::uint32_t skip = 0;
};
/// The L4Range of an Ethernet frame: the IPv4 payload up to the IPv4 total length (not
/// the padding of a short frame), TCP's data offset byte skipped.
[[nodiscard]] L4Range l4_range(const std::uint8_t* frame, std::uint32_t len) noexcept;

/// One copy of an admitted frame: when it arrives, and the bit to flip (or none).
struct Copy {
    Instant at;
    static constexpr std::uint32_t kNoFlip = ~0u;
    std::uint32_t flip_bit = kNoFlip;  ///< bit index in the frame (byte = bit / 8)
};

/// Flips `bit` of `frame` (a Copy's flip_bit).
inline void flip(std::uint8_t* frame, std::uint32_t bit) noexcept {
    frame[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
}

/// The fate of the frames of one direction: the random decisions, the bottleneck queue
/// and the propagation times. Holds no frames; the caller keeps each copy until its time.
class FaultPath {
public:
    explicit FaultPath(const FaultSpec& spec);

    /// Decides the frame of `len` bytes offered at `now` (calls must not go back in time).
    /// Returns the copies to deliver (0, 1 or 2) in `out`, in arrival order.
    unsigned admit(std::uint32_t len, const L4Range& l4, Instant now, Copy out[2]) noexcept;

    [[nodiscard]] const FaultSpec& spec() const noexcept { return spec_; }
    [[nodiscard]] const FaultCounters& counters() const noexcept { return counters_; }
    /// Frames in the bottleneck queue at `now` (those not yet fully serialised).
    [[nodiscard]] std::size_t queued(Instant now) noexcept;

private:
    double uniform() noexcept;  ///< [0, 1) from the next 53 bits

    FaultSpec spec_;
    std::mt19937_64 rng_;
    double ge_good_to_bad_ = 0;
    double ge_bad_to_good_ = 1;
    bool ge_bad_ = false;
    Instant ge_last_;                 ///< when the chain last stepped
    std::deque<Instant> departures_;  ///< of the frames in the bottleneck queue, in order
    Instant busy_until_;              ///< the bottleneck's last departure
    Instant last_in_order_;           ///< latest arrival of a frame not reordered
    FaultCounters counters_;
};

}  // namespace ustcp::sim
