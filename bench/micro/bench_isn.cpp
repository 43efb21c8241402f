// RFC 6528 ISNs and SYN cookies: one SipHash-2-4 of a few words each, paid per SYN
// (and per cookie ACK under a SYN flood).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <vector>

#include "ustcp/tcp/isn.hpp"
#include "ustcp/tcp/siphash.hpp"
#include "ustcp/tcp/syncookie.hpp"

namespace {

using ustcp::Duration;
using ustcp::FourTuple;
using ustcp::Instant;
using ustcp::Ipv4Addr;
using ustcp::SeqNum;
using ustcp::tcp::IsnGenerator;
using ustcp::tcp::SipKey;
using ustcp::tcp::SynCookies;

constexpr SipKey kKey = SipKey::from_words(0x0123456789abcdefULL, 0xfedcba9876543210ULL);
constexpr std::size_t kN = 1024;

struct Syn {
    FourTuple tuple;
    SeqNum peer_isn;
};

std::vector<Syn> random_syns() {
    std::mt19937 rng(3);
    std::vector<Syn> v;
    v.reserve(kN);
    for (std::size_t i = 0; i < kN; ++i) {
        v.push_back({FourTuple{Ipv4Addr(10, 0, 0, 1), Ipv4Addr(static_cast<std::uint32_t>(rng())), 80,
                               static_cast<std::uint16_t>(rng())},
                     SeqNum(static_cast<std::uint32_t>(rng()))});
    }
    return v;
}

void BM_SipHash24Bytes16(benchmark::State& state) {
    std::uint8_t msg[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    for (auto _ : state) {
        benchmark::DoNotOptimize(msg);
        benchmark::DoNotOptimize(ustcp::tcp::siphash24(kKey, msg));
    }
}
BENCHMARK(BM_SipHash24Bytes16);

void BM_IsnGenerate(benchmark::State& state) {
    const IsnGenerator g(kKey);
    const auto syns = random_syns();
    Instant now = Instant::from_nanos(1'700'000'000'000'000'000LL);
    for (auto _ : state) {
        std::uint32_t acc = 0;
        for (const Syn& s : syns) acc += g.isn(s.tuple, now).value();
        benchmark::DoNotOptimize(acc);
        now += Duration::micros(1);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(kN));
}
BENCHMARK(BM_IsnGenerate);

void BM_SynCookieMake(benchmark::State& state) {
    const SynCookies c(kKey);
    const auto syns = random_syns();
    const Instant now = Instant::from_nanos(1'700'000'000'000'000'000LL);
    for (auto _ : state) {
        std::uint32_t acc = 0;
        for (const Syn& s : syns) acc += c.make_isn(s.tuple, s.peer_isn, 1460, now).value();
        benchmark::DoNotOptimize(acc);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(kN));
}
BENCHMARK(BM_SynCookieMake);

// Valid cookie ACKs with a TSecr (the accept path) and forged ones (the flood path).
void BM_SynCookieCheck(benchmark::State& state) {
    const bool valid = state.range(0) != 0;
    const SynCookies c(kKey);
    const auto syns = random_syns();
    const Instant now = Instant::from_nanos(1'700'000'000'000'000'000LL);
    std::vector<SeqNum> cookies;
    std::mt19937 rng(5);
    for (const Syn& s : syns) {
        cookies.push_back(valid ? c.make_isn(s.tuple, s.peer_isn, 1460, now) : SeqNum(static_cast<std::uint32_t>(rng())));
    }
    for (auto _ : state) {
        std::size_t ok = 0;
        for (std::size_t i = 0; i < kN; ++i) {
            ok += c.check(syns[i].tuple, syns[i].peer_isn, cookies[i], now + Duration::seconds(1), 0x1234567fu)
                      .has_value();
        }
        benchmark::DoNotOptimize(ok);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(kN));
    state.SetLabel(valid ? "valid" : "forged");
}
BENCHMARK(BM_SynCookieCheck)->Arg(1)->Arg(0);

}  // namespace
