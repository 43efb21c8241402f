// Per-ACK cost of the RFC 6298 estimator (lib/tcp/rtt): one sample() per ACK with
// timestamps (plain gains, and the RFC 7323 App. G path with its run-time divisor),
// and the on_transmit/on_ack pair of the one-timed-segment path without them.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <vector>

#include "ustcp/tcp/rtt.hpp"

namespace {

using ustcp::Duration;
using ustcp::Instant;
using ustcp::SeqNum;
using ustcp::tcp::RttEstimator;

constexpr std::size_t kN = 1024;

// RTTs of 100 us +- 20 us: a data-centre path, so the RTO stays near rto_min.
std::vector<Duration> jittered_rtts() {
    std::mt19937 rng(6298);
    std::uniform_int_distribution<std::int64_t> d(80'000, 120'000);
    std::vector<Duration> v;
    v.reserve(kN);
    for (std::size_t i = 0; i < kN; ++i) v.push_back(Duration::nanos(d(rng)));
    return v;
}

void BM_RttSample(benchmark::State& state) {
    const auto rtts = jittered_rtts();
    const auto n = static_cast<std::uint32_t>(state.range(0));
    RttEstimator r;
    for (auto _ : state) {
        for (Duration d : rtts) r.sample(d, n);
        benchmark::DoNotOptimize(r.rto());
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * kN);
    state.SetLabel(n == 1 ? "RFC 6298 gains" : "RFC 7323 App. G gains");
}
BENCHMARK(BM_RttSample)->Arg(1)->Arg(5);

void BM_RttTimedSegment(benchmark::State& state) {
    const auto rtts = jittered_rtts();
    RttEstimator r;
    SeqNum seq(0xFFF0'0000u);  // crosses the 2^32 wrap as it runs
    Instant now;
    for (auto _ : state) {
        for (Duration d : rtts) {
            seq += 1460;
            r.on_transmit(seq, now, false);
            now += d;
            benchmark::DoNotOptimize(r.on_ack(seq, now));
        }
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * kN);
}
BENCHMARK(BM_RttTimedSegment);

}  // namespace
