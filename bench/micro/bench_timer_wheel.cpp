// engine::TimerWheel costs with 1 Ki and 1 Mi connections' entries (1 ms ticks): arm then
// cancel (a timer that never fires: the common RTO), re-arm to a later tick (every ACK
// pushes the RTO), re-arm within the same tick (the no-op an engine hits when
// next_deadline() did not move), expiry (per entry fired, the advance() walk included, with
// deadlines spread over 2 s so level 1 cascades), and an idle advance() with everything
// armed far away (the per-iteration cost of a poll loop).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "ustcp/engine/timer_wheel.hpp"

namespace {

using ustcp::Duration;
using ustcp::Instant;
using ustcp::engine::TimerEntry;
using ustcp::engine::TimerWheel;

constexpr Instant kStart = Instant::from_nanos(1'000'000'000);

struct Conn : TimerEntry {
    std::uint64_t fired = 0;
};

/// Random delays in [lo, hi) for n entries, applied in a shuffled order of entries.
struct Plan {
    std::vector<Duration> delay;
    std::vector<std::uint32_t> order;
};
Plan plan(std::size_t n, Duration lo, Duration hi, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    Plan p;
    std::uniform_int_distribution<std::int64_t> d(lo.as_nanos(), hi.as_nanos() - 1);
    for (std::size_t i = 0; i < n; ++i) {
        p.delay.push_back(Duration::nanos(d(rng)));
        p.order.push_back(static_cast<std::uint32_t>(i));
    }
    std::shuffle(p.order.begin(), p.order.end(), rng);
    return p;
}

void BM_TimerArmCancel(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    std::vector<Conn> conns(n);
    TimerWheel wheel(Duration::millis(1), kStart);
    const Plan p = plan(n, Duration::millis(200), Duration::seconds(3), 1);
    std::size_t i = 0;
    for (auto _ : state) {
        Conn& c = conns[p.order[i]];
        wheel.arm(c, kStart + p.delay[i]);
        wheel.cancel(c);
        if (++i == n) i = 0;
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_TimerArmCancel)->Arg(1 << 10)->Arg(1 << 20);

/// Every entry armed; each step moves one to a new deadline (another tick, maybe another level).
void BM_TimerRearm(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    std::vector<Conn> conns(n);
    TimerWheel wheel(Duration::millis(1), kStart);
    const Plan p = plan(n, Duration::millis(200), Duration::seconds(3), 2);
    for (std::size_t i = 0; i < n; ++i) wheel.arm(conns[i], kStart + p.delay[i]);
    std::size_t i = 0;
    std::int64_t shift = 0;
    for (auto _ : state) {
        Conn& c = conns[p.order[i]];
        wheel.arm(c, kStart + p.delay[i] + Duration::millis(shift));
        if (++i == n) {
            i = 0;
            shift = (shift + 7) % 1000;
        }
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
    for (auto& c : conns) wheel.cancel(c);
}
BENCHMARK(BM_TimerRearm)->Arg(1 << 10)->Arg(1 << 20);

void BM_TimerRearmSameTick(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    std::vector<Conn> conns(n);
    TimerWheel wheel(Duration::millis(1), kStart);
    const Plan p = plan(n, Duration::millis(200), Duration::seconds(3), 3);
    for (std::size_t i = 0; i < n; ++i) wheel.arm(conns[i], kStart + p.delay[i]);
    std::size_t i = 0;
    for (auto _ : state) {
        Conn& c = conns[p.order[i]];
        wheel.arm(c, kStart + p.delay[p.order[i]] + Duration::nanos(1));  // a different instant, same tick (mostly)
        if (++i == n) i = 0;
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
    for (auto& c : conns) wheel.cancel(c);
}
BENCHMARK(BM_TimerRearmSameTick)->Arg(1 << 10)->Arg(1 << 20);

/// Arm n entries over the next 2 s, then advance 1 ms at a time until all fired; the time
/// is per fired entry (arming excluded) and includes the cascades from level 1.
void BM_TimerExpire(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    std::vector<Conn> conns(n);
    const Plan p = plan(n, Duration::millis(1), Duration::seconds(2), 4);
    std::int64_t fired = 0;
    for (auto _ : state) {
        state.PauseTiming();
        auto wheel = std::make_unique<TimerWheel>(Duration::millis(1), kStart);
        for (std::size_t i = 0; i < n; ++i) wheel->arm(conns[p.order[i]], kStart + p.delay[i]);
        state.ResumeTiming();
        Instant now = kStart;
        while (!wheel->empty()) {
            now += Duration::millis(1);
            auto count = [](TimerEntry& e) { static_cast<Conn&>(e).fired++; };
            fired += static_cast<std::int64_t>(wheel->advance(now, count));
        }
    }
    state.SetItemsProcessed(fired);
}
BENCHMARK(BM_TimerExpire)->Arg(1 << 10)->Arg(1 << 20)->Unit(benchmark::kMillisecond);

/// advance() in a poll loop (1 us apart) with every entry armed minutes away.
void BM_TimerAdvanceIdle(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    std::vector<Conn> conns(n);
    TimerWheel wheel(Duration::millis(1), kStart);
    const Plan p = plan(n, Duration::seconds(600), Duration::seconds(7200), 5);
    for (std::size_t i = 0; i < n; ++i) wheel.arm(conns[i], kStart + p.delay[i]);
    Instant now = kStart;
    for (auto _ : state) {
        now += Duration::micros(1);
        benchmark::DoNotOptimize(wheel.advance(now, [](TimerEntry&) {}));
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
    for (auto& c : conns) wheel.cancel(c);
}
BENCHMARK(BM_TimerAdvanceIdle)->Arg(1 << 10)->Arg(1 << 20);

}  // namespace
