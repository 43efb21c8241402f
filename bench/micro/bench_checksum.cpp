// Internet checksum over 64, 1500 and 9000 bytes: lib/wire's checksum_partial
// against DPDK's rte_raw_cksum on the same buffer.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "ustcp/wire/checksum.hpp"
#ifdef USTCP_HAVE_DPDK
#include "ustcp/dpdk/checksum.hpp"
#endif

namespace {

std::vector<std::uint8_t> random_buffer(std::size_t n) {
    std::mt19937 rng(42);
    std::vector<std::uint8_t> v(n);
    for (auto& b : v) b = static_cast<std::uint8_t>(rng());
    return v;
}

void BM_ChecksumUstcp(benchmark::State& state) {
    auto buf = random_buffer(static_cast<std::size_t>(state.range(0)));
    for (auto _ : state) {
        benchmark::DoNotOptimize(buf.data());
        auto s = ustcp::wire::checksum_fold(ustcp::wire::checksum_partial(buf));
        benchmark::DoNotOptimize(s);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_ChecksumUstcp)->Arg(64)->Arg(1500)->Arg(9000);

#ifdef USTCP_HAVE_DPDK
void BM_ChecksumRteRaw(benchmark::State& state) {
    auto buf = random_buffer(static_cast<std::size_t>(state.range(0)));
    for (auto _ : state) {
        benchmark::DoNotOptimize(buf.data());
        auto s = ustcp::dpdk::raw_cksum(buf);
        benchmark::DoNotOptimize(s);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_ChecksumRteRaw)->Arg(64)->Arg(1500)->Arg(9000);
#endif

}  // namespace
