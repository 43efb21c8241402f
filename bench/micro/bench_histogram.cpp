// lib/base Histogram: the cost of record() (one per request in ustcp-perf) and of reading
// a percentile (once per interval line).
#include <benchmark/benchmark.h>

#include <memory>
#include <random>
#include <vector>

#include "ustcp/base/histogram.hpp"

namespace {

void BM_HistogramRecord(benchmark::State& state) {
    std::mt19937_64 rng(3);
    std::lognormal_distribution<double> d(9.0, 1.5);
    std::vector<std::uint64_t> v(4096);
    for (auto& x : v) x = static_cast<std::uint64_t>(d(rng));
    auto h = std::make_unique<ustcp::Histogram>();
    for (auto _ : state) {
        for (std::uint64_t x : v) h->record(x);
        benchmark::ClobberMemory();
    }
    benchmark::DoNotOptimize(h->count());
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(v.size()));
}
BENCHMARK(BM_HistogramRecord);

void BM_HistogramPercentile(benchmark::State& state) {
    std::mt19937_64 rng(4);
    std::lognormal_distribution<double> d(9.0, 1.5);
    auto h = std::make_unique<ustcp::Histogram>();
    for (int i = 0; i < 100000; ++i) h->record(static_cast<std::uint64_t>(d(rng)));
    for (auto _ : state) benchmark::DoNotOptimize(h->percentile(99.0));
}
BENCHMARK(BM_HistogramPercentile);

}  // namespace
