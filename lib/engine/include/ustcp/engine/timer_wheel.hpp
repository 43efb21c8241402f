// Per-lcore hashed hierarchical timing wheel (DESIGN "Timers"): intrusive entries,
// O(1) arm, re-arm and cancel, nothing allocated after construction.
//
//   struct Flow : TimerEntry { tcp::Connection conn; ... };     // one entry per connection
//   TimerWheel wheel(Duration::millis(1), clock.now());
//   wheel.arm(flow, flow.conn.next_deadline());                 // tcp::kNever disarms
//   while (running) {
//       Instant now = clock.now();
//       ...                                                     // rx, TCP input: re-arm what changed
//       wheel.advance(now, [&](TimerEntry& e) {
//           Flow& f = static_cast<Flow&>(e);
//           f.conn.on_deadline(ctx, now);
//           wheel.arm(f, f.conn.next_deadline());               // re-arming from the callback is fine
//       });
//   }
//
// Precision. Time is cut into ticks of `tick` starting at the wheel's `start`. A deadline
// D becomes the tick boundary at or after it, and advance(now) fires every entry whose
// boundary is <= now. So a timer never fires early (now >= D in its callback) and fires
// less than one tick late: at the first advance() at or after D rounded up to the tick,
// at most one tick after D, plus however late the caller's advance() itself is. Entries
// fire in deadline order at tick granularity (within one tick, in no particular order).
// A deadline at or before the start of the last tick already processed fires in the next
// advance() call, whatever its `now`; re-arming from a callback for such a deadline
// therefore defers to the next call instead of looping. (arm(e, now) in mid-tick rounds
// up to the next boundary like any other deadline.)
//
// Structure. Level 0 has 256 slots of one tick; levels 1-4 have 64 slots of 2^8, 2^14,
// 2^20 and 2^26 ticks, so the wheel spans 2^32 ticks (49.7 days at 1 ms, 2 h keepalive
// sits on level 3). Deadlines further out park on the top level and are re-filed each
// time it turns. Every entry keeps its exact tick; when level 0 wraps, the next slot of
// level 1 is cascaded down (and so on up), which is amortized O(1) per entry per level
// (Varghese & Lauck's scheme 7, as the classic Linux wheel). Per-level occupancy bitmaps
// let advance() jump straight to the next tick that holds work, so a long idle gap costs
// a few bitmap scans, not one step per tick.
//
// Cost (bench/micro/bench_timer_wheel.cpp, 1 Ki / 1 Mi armed entries): arm + cancel 8 / 42 ns,
// re-arm to another tick 8 / 19 ns, re-arm within the tick 4 / 15 ns, an idle advance() 3.6 ns,
// expiry 21 / 216 ns per entry fired (cascades included; 1 Mi entries miss the cache).
//
// Contracts. One wheel per lcore, used from that lcore only. An entry is in at most one
// wheel; it must be cancelled (or have fired) before it is destroyed, and neither the
// wheel nor an armed entry may move (both are non-copyable and non-movable). The
// callback may arm and cancel any entry, itself included, but must not call advance().
#pragma once

#include <array>
#include <bit>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "ustcp/base/time.hpp"

namespace ustcp::engine {

class TimerWheel;

/// The wheel's link in the object that owns a deadline. Derive from it (then
/// static_cast the TimerEntry& the callback gets back to the owner) or embed it.
class TimerEntry {
public:
    TimerEntry() noexcept = default;
    TimerEntry(const TimerEntry&) = delete;
    TimerEntry& operator=(const TimerEntry&) = delete;
    ~TimerEntry() { assert(!armed() && "cancel a TimerEntry before destroying it"); }

    /// True from arm() until it fires or is cancelled (false inside its own callback).
    [[nodiscard]] bool armed() const noexcept { return where_ != kUnarmed; }
    /// The tick it fires at (see TimerWheel::time_of_tick); meaningful while armed.
    [[nodiscard]] std::uint64_t expiry_tick() const noexcept { return expires_; }

private:
    friend class TimerWheel;
    static constexpr std::uint16_t kUnarmed = 0xffff;
    static constexpr std::uint16_t kDue = 0xfffe;

    TimerEntry* next_ = nullptr;
    TimerEntry** pprev_ = nullptr;  // the pointer that points at this entry (a slot head or a next_)
    std::uint64_t expires_ = 0;     // absolute tick
    std::uint16_t where_ = kUnarmed;  // slot index, kDue, or kUnarmed
};

class TimerWheel {
public:
    static constexpr unsigned kLevel0Bits = 8;
    static constexpr unsigned kLevelBits = 6;
    static constexpr unsigned kLevels = 5;
    static constexpr unsigned kSlots = (1u << kLevel0Bits) + (kLevels - 1) * (1u << kLevelBits);  // 512
    /// Ticks the levels span; deadlines beyond it are re-filed from the top level.
    static constexpr std::uint64_t kSpanTicks = std::uint64_t{1} << (kLevel0Bits + (kLevels - 1) * kLevelBits);
    /// arm() with this deadline cancels (equal to tcp::kNever).
    static constexpr Instant kNever = Instant::from_nanos(std::numeric_limits<std::int64_t>::max());

    /// `tick` must be positive; `start` is the beginning of tick 0 (normally the engine's
    /// first now). Deadlines before `start` count as already due.
    TimerWheel(Duration tick, Instant start) noexcept;
    TimerWheel(const TimerWheel&) = delete;
    TimerWheel& operator=(const TimerWheel&) = delete;
    /// Disarms whatever is still armed (without firing it).
    ~TimerWheel();

    /// Arms `e` for `deadline`, moving it if it is already armed (a no-op when the tick
    /// does not change). kNever cancels. O(1): one division, a few shifts, two links.
    void arm(TimerEntry& e, Instant deadline) noexcept {
        if (deadline == kNever) {
            cancel(e);
            return;
        }
        const std::uint64_t exp = tick_ceil(deadline);
        if (e.armed()) {
            if (e.expires_ == exp) return;
            unlink(e);
        } else {
            ++size_;
        }
        e.expires_ = exp;
        link(e);
    }

    /// Disarms `e`; a no-op if it is not armed. O(1).
    void cancel(TimerEntry& e) noexcept {
        if (!e.armed()) return;
        unlink(e);
        --size_;
    }

    /// Fires (calls on_expire(TimerEntry&) once for) every entry whose tick boundary is
    /// <= now, in tick order; each is disarmed just before its callback. `now` earlier than
    /// a previous call's is treated as that call's. Returns how many fired.
    template <typename F>
    std::size_t advance(Instant now, F&& on_expire) {
        assert(!in_advance_ && "advance() from inside a timer callback");
        in_advance_ = true;
        const std::uint64_t target = tick_floor(now);
        std::size_t fired = 0;
        if (due_ != nullptr) {
            firing_ = take(due_);
            fired += fire_all(on_expire);
        }
        while (current_ < target && size_ != 0) {
            const std::uint64_t t = next_work_tick();
            if (t > target) break;
            current_ = t - 1;  // nothing lives in the ticks skipped
            if ((t & kLevel0Mask) == 0) cascade(t);
            current_ = t;
            const unsigned s = static_cast<unsigned>(t & kLevel0Mask);
            if (heads_[s] != nullptr) {
                firing_ = take(heads_[s]);
                clear_bit(s);
                fired += fire_all(on_expire);
            }
        }
        if (current_ < target) current_ = target;
        in_advance_ = false;
        return fired;
    }

    /// Entries armed (including those due at the next advance()).
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
    [[nodiscard]] Duration tick() const noexcept { return Duration::nanos(static_cast<std::int64_t>(tick_ns_)); }
    /// The last tick processed: every entry with expiry_tick() <= this has fired.
    [[nodiscard]] std::uint64_t current_tick() const noexcept { return current_; }
    /// The start of tick `t` (saturating at kNever).
    [[nodiscard]] Instant time_of_tick(std::uint64_t t) const noexcept;
    /// A time before which advance() fires nothing: exact when the earliest entry sits on
    /// level 0 or is due, otherwise the start of the cascade that brings it down (a lower
    /// bound). kNever when nothing is armed. For an engine that sleeps when idle.
    [[nodiscard]] Instant next_expiry() const noexcept;

private:
    static constexpr std::uint64_t kLevel0Mask = (1u << kLevel0Bits) - 1;
    static constexpr std::uint64_t kLevelMask = (1u << kLevelBits) - 1;

    static constexpr unsigned shift_of(unsigned level) noexcept { return kLevel0Bits + (level - 1) * kLevelBits; }
    static constexpr unsigned base_of(unsigned level) noexcept {
        return (1u << kLevel0Bits) + (level - 1) * (1u << kLevelBits);
    }

    [[nodiscard]] std::uint64_t tick_ceil(Instant d) const noexcept {
        if (d <= origin_) return 0;
        const std::uint64_t ns = static_cast<std::uint64_t>(d.nanos()) - static_cast<std::uint64_t>(origin_.nanos());
        return ns / tick_ns_ + (ns % tick_ns_ != 0 ? 1 : 0);
    }
    [[nodiscard]] std::uint64_t tick_floor(Instant now) const noexcept {
        if (now <= origin_) return 0;
        return (static_cast<std::uint64_t>(now.nanos()) - static_cast<std::uint64_t>(origin_.nanos())) / tick_ns_;
    }

    static void push(TimerEntry*& head, TimerEntry& e) noexcept {
        e.next_ = head;
        if (head != nullptr) head->pprev_ = &e.next_;
        head = &e;
        e.pprev_ = &head;
    }
    /// Detaches a whole list: its first entry now hangs off firing_ (or a local head).
    static TimerEntry* take(TimerEntry*& head) noexcept {
        TimerEntry* first = head;
        head = nullptr;
        return first;
    }
    void set_bit(unsigned s) noexcept { bits_[s >> 6] |= std::uint64_t{1} << (s & 63); }
    void clear_bit(unsigned s) noexcept { bits_[s >> 6] &= ~(std::uint64_t{1} << (s & 63)); }

    /// Files `e` by its expires_ relative to the next tick to process (current_ + 1).
    void link(TimerEntry& e) noexcept {
        const std::uint64_t exp = e.expires_;
        if (exp <= current_) {
            e.where_ = TimerEntry::kDue;
            push(due_, e);
            return;
        }
        const std::uint64_t delta = exp - (current_ + 1);
        unsigned s;
        if (delta <= kLevel0Mask) {
            s = static_cast<unsigned>(exp & kLevel0Mask);
        } else {
            // Level l (1..4) holds deltas in [2^(8+6(l-1)), 2^(8+6l)).
            unsigned level = (static_cast<unsigned>(std::bit_width(delta)) - kLevel0Bits + kLevelBits - 1) / kLevelBits;
            std::uint64_t at = exp;
            if (level >= kLevels) {  // beyond the span: park on the top level's farthest slot
                level = kLevels - 1;
                at = current_ + kSpanTicks;
            }
            s = base_of(level) + static_cast<unsigned>((at >> shift_of(level)) & kLevelMask);
        }
        e.where_ = static_cast<std::uint16_t>(s);
        push(heads_[s], e);
        set_bit(s);
    }

    void unlink(TimerEntry& e) noexcept {
        *e.pprev_ = e.next_;
        if (e.next_ != nullptr) e.next_->pprev_ = e.pprev_;
        // Keeps "bit set <=> slot non-empty" whichever list the entry was on (a slot, due_
        // or a detached one being fired or cascaded).
        if (e.where_ < kSlots && heads_[e.where_] == nullptr) clear_bit(e.where_);
        e.next_ = nullptr;
        e.pprev_ = nullptr;
        e.where_ = TimerEntry::kUnarmed;
    }

    template <typename F>
    std::size_t fire_all(F& on_expire) {
        if (firing_ != nullptr) firing_->pprev_ = &firing_;
        std::size_t n = 0;
        while (firing_ != nullptr) {
            TimerEntry& e = *firing_;
            unlink(e);
            --size_;
            ++n;
            on_expire(e);
        }
        return n;
    }

    /// Moves level-1 slot (t>>8)&63 down, and on up while the index is 0. `t` is a
    /// multiple of 256 and current_ == t - 1, so entries are re-filed relative to t.
    void cascade(std::uint64_t t) noexcept;
    /// The first tick after current_ at which something fires or must cascade
    /// (UINT64_MAX if nothing is filed on the levels).
    [[nodiscard]] std::uint64_t next_work_tick() const noexcept;

    Instant origin_;
    std::uint64_t tick_ns_;
    std::uint64_t current_ = 0;
    std::size_t size_ = 0;
    TimerEntry* due_ = nullptr;
    TimerEntry* firing_ = nullptr;
    bool in_advance_ = false;
    std::array<std::uint64_t, kSlots / 64> bits_{};
    std::array<TimerEntry*, kSlots> heads_{};
};

}  // namespace ustcp::engine
