// Per-event cost of congestion control (lib/tcp/cc) and of its seam: the same ACK
// stream (mostly new ACKs, with a fast retransmit, partial ACKs and a full ACK every
// 128 ACKs, 10 us apart with a 10 ms RTT sample) fed to NewReno and CUBIC directly,
// through CongestionControl (the std::variant of both, dispatched by std::visit) holding
// either, through a variant with a trivial first policy, and, for scale, through a
// virtual interface, which the seam exists to avoid. Each event is one call plus a
// cwnd() read.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "ustcp/tcp/cc/congestion.hpp"

namespace {

using ustcp::Instant;
using ustcp::SeqNum;
namespace cc = ustcp::tcp::cc;

constexpr std::uint32_t kSmss = 1448;

struct Event {
    enum Kind : std::uint8_t { Ack, Dup } kind;
    std::uint32_t una;  // SND.UNA after the event, relative to the pass's base
    std::uint32_t max;
    std::uint32_t acked;
};

struct Workload {
    std::vector<Event> events;
    std::uint32_t advance = 0;  // how far SND.UNA moves in one pass
};

Workload make_workload() {
    Workload w;
    std::uint32_t una = 0;
    const std::uint32_t flight = 64 * kSmss;
    for (int episode = 0; episode < 8; ++episode) {
        for (int i = 0; i < 128; ++i) {  // delayed ACKs of two segments
            una += 2 * kSmss;
            w.events.push_back({Event::Ack, una, una + flight, 2 * kSmss});
        }
        for (int i = 0; i < 4; ++i) w.events.push_back({Event::Dup, una, una + flight, 0});
        for (int i = 0; i < 2; ++i) {  // partial ACKs
            una += 4 * kSmss;
            w.events.push_back({Event::Ack, una, una + flight - 8 * kSmss, 4 * kSmss});
        }
        una += flight;  // full ACK
        w.events.push_back({Event::Ack, una, una + flight, flight});
    }
    w.advance = una;
    return w;
}

template <class Cc>
std::uint64_t run_pass(Cc& c, const Workload& w, std::uint32_t base) {
    std::uint64_t sum = 0;
    Instant now = Instant::from_nanos(std::int64_t{base} * 10);  // moves on with every pass
    for (const Event& e : w.events) {
        cc::Response r{};
        now += ustcp::Duration::micros(10);
        if (e.kind == Event::Ack) {
            r = c.on_ack({.bytes_acked = e.acked, .snd_una = SeqNum(base + e.una), .snd_max = SeqNum(base + e.max),
                          .now = now, .rtt = ustcp::Duration::millis(10)});
        } else {
            r = c.on_dup_ack({.snd_una = SeqNum(base + e.una), .snd_max = SeqNum(base + e.max), .now = now});
        }
        sum += c.cwnd() + r.retransmit;
    }
    return sum;
}

template <class Cc>
void bench(benchmark::State& state, Cc& c) {
    const Workload w = make_workload();
    std::uint32_t base = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(run_pass(c, w, base));
        base += w.advance;
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * w.events.size()));
}

void BM_CcNewRenoDirect(benchmark::State& state) {
    cc::NewReno c(cc::Init{.smss = kSmss});
    bench(state, c);
}
BENCHMARK(BM_CcNewRenoDirect);

void BM_CcCubicDirect(benchmark::State& state) {
    cc::Cubic c(cc::Init{.smss = kSmss});
    bench(state, c);
}
BENCHMARK(BM_CcCubicDirect);

void BM_CcSeamNewReno(benchmark::State& state) {
    cc::CcConfig cfg;
    cfg.algorithm = cc::Algorithm::NewReno;
    cc::CongestionControl c = cc::make_congestion_control(cfg, cc::Init{.smss = kSmss});
    bench(state, c);
}
BENCHMARK(BM_CcSeamNewReno);

void BM_CcSeamCubic(benchmark::State& state) {
    cc::CongestionControl c = cc::make_congestion_control({}, cc::Init{.smss = kSmss});  // the default
    bench(state, c);
}
BENCHMARK(BM_CcSeamCubic);

// A trivial first policy, so that NewReno is not the variant's first case.
class FixedWindow {
public:
    cc::Response on_ack(const cc::AckEvent&) noexcept { return {}; }
    cc::Response on_dup_ack(const cc::DupAckEvent&) noexcept { return {}; }
    void on_timeout(const cc::TimeoutEvent&) noexcept {}
    void on_idle_restart(const cc::IdleEvent&) noexcept {}
    void on_loss(const cc::LossEvent&) noexcept {}
    bool on_undo(const cc::UndoEvent&) noexcept { return false; }
    std::uint32_t cwnd() const noexcept { return 64 * kSmss; }
    std::uint32_t ssthresh() const noexcept { return cc::kInfiniteSsthresh; }
    std::uint32_t smss() const noexcept { return kSmss; }
    bool in_recovery() const noexcept { return false; }
    SeqNum recover() const noexcept { return {}; }
    std::uint32_t dup_acks() const noexcept { return 0; }
    const cc::CcCounters& counters() const noexcept { return counters_; }

private:
    cc::CcCounters counters_;
};
static_assert(cc::Policy<FixedWindow>);

void BM_CcSeamTwoPolicies(benchmark::State& state) {
    using Two = cc::BasicCongestionControl<FixedWindow, cc::NewReno>;
    Two c{cc::NewReno(cc::Init{.smss = kSmss})};  // index 1: the dispatch is not the first case
    benchmark::DoNotOptimize(&c);
    bench(state, c);
}
BENCHMARK(BM_CcSeamTwoPolicies);

// The design the seam avoids: an abstract interface, one indirect call per event.
struct VirtualCc {
    virtual ~VirtualCc() = default;
    virtual cc::Response on_ack(const cc::AckEvent&) noexcept = 0;
    virtual cc::Response on_dup_ack(const cc::DupAckEvent&) noexcept = 0;
    virtual std::uint32_t cwnd() const noexcept = 0;
};
struct VirtualNewReno final : VirtualCc {
    explicit VirtualNewReno(const cc::Init& i) noexcept : p(i) {}
    cc::Response on_ack(const cc::AckEvent& e) noexcept override { return p.on_ack(e); }
    cc::Response on_dup_ack(const cc::DupAckEvent& e) noexcept override { return p.on_dup_ack(e); }
    std::uint32_t cwnd() const noexcept override { return p.cwnd(); }
    cc::NewReno p;
};

void BM_CcVirtualInterface(benchmark::State& state) {
    std::unique_ptr<VirtualCc> owner = std::make_unique<VirtualNewReno>(cc::Init{.smss = kSmss});
    VirtualCc* c = owner.get();
    benchmark::DoNotOptimize(c);  // keep the compiler from devirtualising
    bench(state, *c);
}
BENCHMARK(BM_CcVirtualInterface);

}  // namespace
