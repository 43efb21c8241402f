// SeqNum comparisons and window tests, the arithmetic every segment does many times.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "ustcp/base/seqnum.hpp"

namespace {

using ustcp::SeqNum;

std::vector<SeqNum> random_seqs(std::size_t n) {
    std::mt19937 rng(9);
    std::vector<SeqNum> v;
    v.reserve(n);
    for (std::size_t i = 0; i < n; ++i) v.emplace_back(static_cast<std::uint32_t>(rng()));
    return v;
}

void BM_SeqNumLess(benchmark::State& state) {
    auto v = random_seqs(1024);
    for (auto _ : state) {
        std::size_t n = 0;
        for (std::size_t i = 1; i < v.size(); ++i) n += v[i - 1] < v[i];
        benchmark::DoNotOptimize(n);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * 1023);
}
BENCHMARK(BM_SeqNumLess);

void BM_SeqNumInWindow(benchmark::State& state) {
    auto v = random_seqs(1024);
    const SeqNum start(0x80000000u);
    for (auto _ : state) {
        std::size_t n = 0;
        for (auto s : v) n += s.in_window(start, 1u << 30);
        benchmark::DoNotOptimize(n);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * 1024);
}
BENCHMARK(BM_SeqNumInWindow);

}  // namespace
