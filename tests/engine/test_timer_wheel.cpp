// TimerWheel against a reference model (a deadline per entry) on random arm / re-arm /
// cancel / advance sequences with deadlines from microseconds to months, plus the
// contract cases: never early, less than a tick late, tick order, re-arming and
// cancelling from callbacks, kNever, far deadlines, idle gaps and next_expiry().
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <random>
#include <vector>

#include "ustcp/engine/timer_wheel.hpp"

using namespace ustcp;
using namespace ustcp::engine;

namespace {

struct Timer : TimerEntry {
    int id = 0;
    Instant deadline = TimerWheel::kNever;  // what the model thinks (kNever: not armed)
    int fired = 0;
};

constexpr Instant kStart = Instant::from_nanos(1'000'000'000'000);  // an arbitrary epoch

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return a <= 0 ? 0 : (a + b - 1) / b; }

// The tick a deadline fires at, per the documented contract.
std::int64_t fire_tick(Instant d, Duration tick) { return ceil_div((d - kStart).as_nanos(), tick.as_nanos()); }

// `scale` divides the long delays and steps (so that 1 ns ticks see a few spans, not millions).
void run_model(std::uint32_t seed, Duration tick, int steps, std::int64_t scale = 1) {
    std::mt19937_64 rng(seed);
    TimerWheel wheel(tick, kStart);
    std::vector<Timer> timers(400);
    for (std::size_t i = 0; i < timers.size(); ++i) timers[i].id = static_cast<int>(i);
    Instant now = kStart;
    std::int64_t last_tick = 0;  // ticks <= this have been processed

    auto r = [&](std::int64_t n) { return static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(n)); };
    auto random_delay = [&]() -> Duration {
        switch (rng() % 8) {
            case 0: return Duration::nanos(r(2'000'000));                                  // < 2 ms
            case 1: return Duration::millis(r(300));                                       // RTO-ish
            case 2: return Duration::millis(r(40));                                        // delayed ACK
            case 3: return Duration::seconds(r(120));                                      // persist, TIME-WAIT
            case 4: return (Duration::seconds(7200) + Duration::millis(r(1000))) / scale;  // keepalive
            case 5: return Duration::seconds(r(200 * 86400)) / scale;                      // beyond the span
            case 6: return Duration::nanos(-r(5'000'000));                                 // already past
            default: return Duration::micros(r(20'000'000));
        }
    };
    auto random_step = [&]() -> Duration {
        switch (rng() % 10) {
            case 0: return Duration::nanos(r(1000));
            case 1: return Duration::seconds(r(4000)) / scale;  // long idle gaps
            case 2: return Duration::seconds(r(30 * 86400)) / scale;
            case 3: return Duration::millis(r(2000));
            default: return Duration::micros(r(3000));
        }
    };

    for (int step = 0; step < steps; ++step) {
        const int ops = static_cast<int>(rng() % 20);
        for (int k = 0; k < ops; ++k) {
            Timer& t = timers[rng() % timers.size()];
            if (rng() % 6 == 0) {
                wheel.cancel(t);
                t.deadline = TimerWheel::kNever;
            } else if (rng() % 20 == 0) {
                wheel.arm(t, TimerWheel::kNever);
                t.deadline = TimerWheel::kNever;
            } else {
                t.deadline = now + random_delay();
                wheel.arm(t, t.deadline);
            }
            ASSERT_EQ(t.armed(), t.deadline != TimerWheel::kNever);
        }
        std::size_t armed = 0;
        for (auto& t : timers) armed += t.deadline != TimerWheel::kNever ? 1 : 0;
        ASSERT_EQ(wheel.size(), armed);

        // next_expiry() is a lower bound on the next firing.
        const Instant hint = wheel.next_expiry();
        std::int64_t earliest = INT64_MAX;
        for (auto& t : timers) {
            if (t.deadline == TimerWheel::kNever) continue;
            earliest = std::min(earliest, std::max(fire_tick(t.deadline, tick), last_tick));
        }
        if (earliest == INT64_MAX) {
            ASSERT_EQ(hint, TimerWheel::kNever);
        } else {
            ASSERT_LE(hint, kStart + tick * earliest) << "step " << step;
        }

        now += random_step();
        const std::int64_t target = (now - kStart).as_nanos() / tick.as_nanos();
        std::multimap<std::int64_t, int> expected;  // fire tick -> id
        for (auto& t : timers) {
            if (t.deadline == TimerWheel::kNever) continue;
            const std::int64_t ft = std::max(fire_tick(t.deadline, tick), last_tick);
            if (ft <= target) expected.emplace(ft, t.id);
        }
        std::vector<int> got;
        std::int64_t prev_tick = -1;
        const std::size_t n = wheel.advance(now, [&](TimerEntry& e) {
            Timer& t = static_cast<Timer&>(e);
            EXPECT_FALSE(t.armed());
            EXPECT_LE(t.deadline, now) << "fired early";
            const std::int64_t ft = std::max(fire_tick(t.deadline, tick), last_tick);
            EXPECT_GE(ft, prev_tick) << "out of tick order";
            prev_tick = ft;
            got.push_back(t.id);
            t.deadline = TimerWheel::kNever;
            ++t.fired;
        });
        ASSERT_EQ(n, got.size());
        ASSERT_EQ(got.size(), expected.size()) << "step " << step;
        std::multiset<int> a(got.begin(), got.end());
        std::multiset<int> b;
        for (auto& [ft, id] : expected) b.insert(id);
        ASSERT_EQ(a, b) << "step " << step;
        ASSERT_EQ(wheel.current_tick(), static_cast<std::uint64_t>(target));
        last_tick = target;
    }
    for (auto& t : timers) wheel.cancel(t);
}

}  // namespace

TEST(TimerWheel, RandomOperationsMatchModel1ms) {
    for (std::uint32_t seed = 1; seed <= 6; ++seed) {
        SCOPED_TRACE(seed);
        run_model(seed, Duration::millis(1), 3000);
    }
}

TEST(TimerWheel, RandomOperationsMatchModelOddTick) {
    run_model(77, Duration::micros(333), 3000);
    run_model(78, Duration::nanos(1), 2000, 1'000'000);  // 1 ns ticks: a 4.3 s span; 200 days / 1e6 still parks on top
}

TEST(TimerWheel, NeverEarlyAndLessThanOneTickLate) {
    const Duration tick = Duration::millis(1);
    TimerWheel wheel(tick, kStart);
    std::mt19937 rng(5);
    std::vector<Timer> timers(1000);
    for (auto& t : timers) {
        t.deadline = kStart + Duration::micros(static_cast<std::int64_t>(rng() % 3'000'000));
        wheel.arm(t, t.deadline);
    }
    // Poll every 10 us, as a busy lcore would.
    Instant now = kStart;
    Duration worst = Duration::zero();
    while (!wheel.empty()) {
        now += Duration::micros(10);
        wheel.advance(now, [&](TimerEntry& e) {
            auto& t = static_cast<Timer&>(e);
            ASSERT_GE(now, t.deadline);
            worst = std::max(worst, now - t.deadline);
            ++t.fired;
        });
    }
    for (auto& t : timers) EXPECT_EQ(t.fired, 1);
    EXPECT_LT(worst, tick + Duration::micros(10));
}

TEST(TimerWheel, PeriodicRearmFromCallback) {
    TimerWheel wheel(Duration::millis(1), kStart);
    Timer t;
    Instant now = kStart;
    wheel.arm(t, now + Duration::millis(10));
    for (int ms = 1; ms <= 1000; ++ms) {
        now = kStart + Duration::millis(ms);
        wheel.advance(now, [&](TimerEntry& e) {
            ++t.fired;
            wheel.arm(e, now + Duration::millis(10));
        });
    }
    EXPECT_EQ(t.fired, 100);
    wheel.cancel(t);
}

TEST(TimerWheel, RearmIntoThePastDefersToNextAdvance) {
    TimerWheel wheel(Duration::millis(1), kStart);
    Timer t;
    wheel.arm(t, kStart + Duration::millis(5));
    Instant now = kStart + Duration::millis(5);
    EXPECT_EQ(wheel.advance(now, [&](TimerEntry& e) { wheel.arm(e, now - Duration::seconds(1)); }), 1u);
    EXPECT_TRUE(t.armed());
    EXPECT_EQ(wheel.next_expiry(), kStart + Duration::millis(5));
    // Same now: still fires, once per call.
    EXPECT_EQ(wheel.advance(now, [&](TimerEntry&) {}), 1u);
    EXPECT_FALSE(t.armed());
    EXPECT_EQ(wheel.next_expiry(), TimerWheel::kNever);
}

TEST(TimerWheel, ArmNowFiresAtNextAdvance) {
    TimerWheel wheel(Duration::millis(1), kStart);
    Timer t;
    Instant now = kStart + Duration::millis(2);
    wheel.advance(now, [](TimerEntry&) {});
    wheel.arm(t, now);  // on the boundary of a tick already processed: due
    EXPECT_EQ(wheel.advance(now, [](TimerEntry&) {}), 1u);
    now += Duration::micros(500);
    wheel.advance(now, [](TimerEntry&) {});
    wheel.arm(t, now);  // mid-tick: rounds up to the 3 ms boundary, never early
    EXPECT_EQ(wheel.advance(now, [](TimerEntry&) {}), 0u);
    EXPECT_EQ(wheel.advance(now + Duration::micros(499), [](TimerEntry&) {}), 0u);
    EXPECT_EQ(wheel.advance(now + Duration::micros(500), [](TimerEntry&) {}), 1u);
}

TEST(TimerWheel, CancelFromCallbackOfSameTick) {
    TimerWheel wheel(Duration::millis(1), kStart);
    Timer a, b, c;
    for (Timer* t : {&a, &b, &c}) wheel.arm(*t, kStart + Duration::millis(3));
    int fired = 0;
    wheel.advance(kStart + Duration::millis(3), [&](TimerEntry& e) {
        ++fired;
        static_cast<Timer&>(e).fired++;
        // Whoever fires first cancels the other two.
        for (Timer* t : {&a, &b, &c}) wheel.cancel(*t);
    });
    EXPECT_EQ(fired, 1);
    EXPECT_EQ(wheel.size(), 0u);
    EXPECT_EQ(a.fired + b.fired + c.fired, 1);
}

TEST(TimerWheel, RearmSameTickIsNoOpAndMovesOtherwise) {
    TimerWheel wheel(Duration::millis(1), kStart);
    Timer t;
    wheel.arm(t, kStart + Duration::micros(4100));
    EXPECT_EQ(t.expiry_tick(), 5u);
    wheel.arm(t, kStart + Duration::micros(4900));  // same tick
    EXPECT_EQ(t.expiry_tick(), 5u);
    wheel.arm(t, kStart + Duration::seconds(7200));
    EXPECT_EQ(t.expiry_tick(), 7'200'000u);
    EXPECT_EQ(wheel.advance(kStart + Duration::seconds(7199), [](TimerEntry&) {}), 0u);
    EXPECT_EQ(wheel.advance(kStart + Duration::seconds(7200), [](TimerEntry&) {}), 1u);
}

TEST(TimerWheel, KeepaliveAndBeyondTheSpan) {
    TimerWheel wheel(Duration::millis(1), kStart);
    Timer keepalive, months;
    wheel.arm(keepalive, kStart + Duration::seconds(7200));
    wheel.arm(months, kStart + Duration::seconds(120LL * 86400) + Duration::micros(1));  // > 49.7 days
    // Step in 1 s increments through the first 2 h, then jump.
    Instant now = kStart;
    int fired_ka = 0;
    for (int s = 1; s <= 7200; ++s) {
        now = kStart + Duration::seconds(s);
        wheel.advance(now, [&](TimerEntry& e) {
            EXPECT_EQ(&e, static_cast<TimerEntry*>(&keepalive));
            EXPECT_EQ(now, kStart + Duration::seconds(7200));
            ++fired_ka;
        });
    }
    EXPECT_EQ(fired_ka, 1);
    EXPECT_EQ(wheel.advance(kStart + Duration::seconds(120LL * 86400), [](TimerEntry&) {}), 0u);
    EXPECT_TRUE(months.armed());
    EXPECT_EQ(wheel.advance(kStart + Duration::seconds(120LL * 86400) + Duration::millis(1), [](TimerEntry&) {}), 1u);
}

TEST(TimerWheel, NextExpiryExactOnLevelZeroLowerBoundAbove) {
    TimerWheel wheel(Duration::millis(1), kStart);
    EXPECT_EQ(wheel.next_expiry(), TimerWheel::kNever);
    Timer a, b;
    wheel.arm(a, kStart + Duration::micros(17'500));
    EXPECT_EQ(wheel.next_expiry(), kStart + Duration::millis(18));
    wheel.cancel(a);
    wheel.arm(b, kStart + Duration::seconds(100));
    const Instant hint = wheel.next_expiry();
    EXPECT_LE(hint, kStart + Duration::seconds(100));
    EXPECT_GT(hint, kStart);
    // Chasing the hint reaches the entry in a handful of steps (one per level), never past it.
    int steps = 0;
    std::size_t fired = 0;
    while (fired == 0) {
        const Instant h = wheel.next_expiry();
        ASSERT_LE(h, kStart + Duration::seconds(100));
        fired = wheel.advance(h, [](TimerEntry&) {});
        ++steps;
    }
    EXPECT_LE(steps, 4);
}

TEST(TimerWheel, DeadlineBeforeStartIsDue) {
    TimerWheel wheel(Duration::millis(1), kStart);
    Timer t;
    wheel.arm(t, kStart - Duration::seconds(5));
    EXPECT_EQ(wheel.advance(kStart, [](TimerEntry&) {}), 1u);
}

TEST(TimerWheel, DestructorDisarms) {
    Timer t;
    {
        TimerWheel wheel(Duration::millis(1), kStart);
        wheel.arm(t, kStart + Duration::seconds(1));
        EXPECT_TRUE(t.armed());
    }
    EXPECT_FALSE(t.armed());
}

TEST(TimerWheel, ManyEntriesOneTickEachFiresOnce) {
    TimerWheel wheel(Duration::millis(1), kStart);
    std::vector<Timer> timers(100'000);
    for (std::size_t i = 0; i < timers.size(); ++i) {
        wheel.arm(timers[i], kStart + Duration::millis(static_cast<std::int64_t>(i % 70'000)));
    }
    auto count = [](TimerEntry& e) { static_cast<Timer&>(e).fired++; };
    const std::size_t total = wheel.advance(kStart + Duration::seconds(70), count);
    EXPECT_EQ(total, timers.size());
    for (auto& t : timers) ASSERT_EQ(t.fired, 1);
}
