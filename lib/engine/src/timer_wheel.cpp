#include "ustcp/engine/timer_wheel.hpp"

#include <algorithm>

namespace ustcp::engine {

TimerWheel::TimerWheel(Duration tick, Instant start) noexcept
    : origin_(start), tick_ns_(static_cast<std::uint64_t>(std::max<std::int64_t>(tick.as_nanos(), 1))) {
    assert(tick.as_nanos() > 0);
}

TimerWheel::~TimerWheel() {
    auto drop = [](TimerEntry* e) {
        while (e != nullptr) {
            TimerEntry* next = e->next_;
            e->next_ = nullptr;
            e->pprev_ = nullptr;
            e->where_ = TimerEntry::kUnarmed;
            e = next;
        }
    };
    for (TimerEntry*& h : heads_) drop(take(h));
    drop(take(due_));
    drop(take(firing_));
}

void TimerWheel::cascade(std::uint64_t t) noexcept {
    for (unsigned level = 1; level < kLevels; ++level) {
        const unsigned idx = static_cast<unsigned>((t >> shift_of(level)) & kLevelMask);
        const unsigned s = base_of(level) + idx;
        TimerEntry* e = take(heads_[s]);
        clear_bit(s);
        while (e != nullptr) {
            TimerEntry* next = e->next_;
            link(*e);  // lands on a lower level (or back on the top one if still beyond the span)
            e = next;
        }
        if (idx != 0) break;
    }
}

std::uint64_t TimerWheel::next_work_tick() const noexcept {
    const std::uint64_t j = current_ + 1;
    std::uint64_t best = std::numeric_limits<std::uint64_t>::max();

    // Level 0 holds exactly the ticks [j, j + 256): the first occupied slot at or after j's.
    const unsigned i0 = static_cast<unsigned>(j & kLevel0Mask);
    for (unsigned k = 0; k <= 4; ++k) {  // the word holding i0, then the others, then i0's again (wrapped)
        const unsigned w = ((i0 >> 6) + k) & 3;
        std::uint64_t bits = bits_[w];
        if (k == 0) bits &= ~std::uint64_t{0} << (i0 & 63);
        if (k == 4) bits &= (i0 & 63) == 0 ? 0 : ~std::uint64_t{0} >> (64 - (i0 & 63));
        if (bits != 0) {
            const unsigned s = w * 64 + static_cast<unsigned>(std::countr_zero(bits));
            best = j + ((s - i0) & kLevel0Mask);
            break;
        }
    }

    // Level l: a slot's entries come down at the first multiple of 2^shift at or after j
    // whose index is the slot's (no two such multiples below an entry's tick share an index).
    for (unsigned level = 1; level < kLevels; ++level) {
        const std::uint64_t word = bits_[(base_of(level) >> 6)];
        if (word == 0) continue;
        const unsigned shift = shift_of(level);
        const std::uint64_t up = (j + (std::uint64_t{1} << shift) - 1) >> shift;
        if ((up << shift) >= best) break;  // higher levels start even later
        const unsigned start = static_cast<unsigned>(up & kLevelMask);
        const unsigned d = static_cast<unsigned>(std::countr_zero(std::rotr(word, static_cast<int>(start))));
        best = std::min(best, (up + d) << shift);
    }
    return best;
}

Instant TimerWheel::time_of_tick(std::uint64_t t) const noexcept {
    const std::uint64_t room = static_cast<std::uint64_t>(kNever.nanos()) - static_cast<std::uint64_t>(origin_.nanos());
    if (t >= room / tick_ns_) return kNever;
    return Instant::from_nanos(static_cast<std::int64_t>(static_cast<std::uint64_t>(origin_.nanos()) + t * tick_ns_));
}

Instant TimerWheel::next_expiry() const noexcept {
    if (size_ == 0) return kNever;
    if (due_ != nullptr || firing_ != nullptr) return time_of_tick(current_);
    const std::uint64_t t = next_work_tick();
    return t == std::numeric_limits<std::uint64_t>::max() ? kNever : time_of_tick(t);
}

}  // namespace ustcp::engine
