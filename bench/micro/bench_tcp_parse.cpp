// Parsing an IPv4/TCP header with options, as the receive path does per packet:
// Ipv4View::checked -> TcpView::checked -> TcpOptions::parse.
#include <benchmark/benchmark.h>

#include <vector>

#include "ustcp/wire/ipv4.hpp"
#include "ustcp/wire/tcp.hpp"

namespace {

using namespace ustcp::wire;

std::vector<std::uint8_t> from_hex(const char* s) {
    std::vector<std::uint8_t> out;
    for (; s[0] && s[1]; s += 2) out.push_back(static_cast<std::uint8_t>(std::stoul(std::string(s, 2), nullptr, 16)));
    return out;
}

// Seed 001 packets 1 (SYN: mss, sackOK, TS, nop, wscale) and 4 (data with nop,nop,TS).
const std::vector<std::uint8_t> kSyn = from_hex(
    "4510003c3496400040068341c0a80107784f48d69b7c0007e5104c4200000000a002faf083030000020405b40402080a8ce4bee30000000001030307");
const std::vector<std::uint8_t> kData = from_hex(
    "451000373498400040068344c0a80107784f48d69b7c0007e5104c43b5e95a56801801f682fe00000101080a8ce4e2fd2c4e1d26310d0a");

void parse_one(benchmark::State& state, const std::vector<std::uint8_t>& pkt) {
    for (auto _ : state) {
        benchmark::DoNotOptimize(pkt.data());
        auto ip = Ipv4View::checked(pkt);
        auto tcp = TcpView::checked(ip->payload());
        auto opts = TcpOptions::parse(tcp->options());
        benchmark::DoNotOptimize(TcpRepr::parse(*tcp, *opts));
    }
}

void BM_ParseTcpSyn(benchmark::State& state) { parse_one(state, kSyn); }
void BM_ParseTcpData(benchmark::State& state) { parse_one(state, kData); }
BENCHMARK(BM_ParseTcpSyn);
BENCHMARK(BM_ParseTcpData);

void BM_TcpOptionIterator(benchmark::State& state) {
    auto tcp = TcpView::checked(Ipv4View::checked(kSyn)->payload());
    for (auto _ : state) {
        TcpOptionReader r(tcp->options());
        std::size_t n = 0;
        for (auto o = r.next(); o && *o; o = r.next()) n += (*o)->kind;
        benchmark::DoNotOptimize(n);
    }
}
BENCHMARK(BM_TcpOptionIterator);

}  // namespace
