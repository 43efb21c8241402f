// Per-segment cost of lib/tcp on an established connection, as the engine pays it for bulk
// data: one iteration is one segment.
//
//   BM_SegmentRxInOrder   receiver: an in-order data segment (1448 bytes with timestamps,
//                         1460 without) arrives in a pool buffer -> on_segment(BufRef), the
//                         ACK decision (every second segment is acknowledged), then
//                         done_with_output(). Every 16 segments the application consumes what
//                         is readable (receive_bufs() zero copy, handles freed to the pool, or
//                         receive() copying: arg copy_read), so the window stays open.
//   BM_SegmentTxOnAck     sender: an ACK for one segment arrives -> SND.UNA and the window
//                         advance, the acknowledged buffer is released, the next segment goes
//                         out; done_with_output(); the application refills the send queue
//                         (send_buf() zero copy, or send() copying: arg copy_write), so it never
//                         runs dry. Steady state: cwnd beyond the peer's window, one segment out
//                         per ACK (segs_out_per_ack shows it).
//
// Counters: segments (items_per_second), allocs_per_seg (global operator new calls inside the
// timed loop, per segment; this file replaces operator new for the whole binary, but counts
// only while g_counting is set, so the other benchmarks are unaffected), time_per_seg
// (CPU time per segment, e.g. "48.1ns"; the Time column is wall time per segment, as one
// iteration is one segment).
// The peer is not simulated: the benchmark forges its segments (sequence numbers, ACKs,
// windows, timestamps) exactly as the peer would send them.
#include <benchmark/benchmark.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

#include "ustcp/tcp/connection.hpp"
#include "ustcp/tcp/context.hpp"

// ---------------------------------------------------------------------------
// Counting replacements of the global allocation functions (counting only while
// g_counting is set: inside these benchmarks' timed loops)
// ---------------------------------------------------------------------------

#include "counting_new.hpp"

namespace {

using namespace ustcp;
using namespace ustcp::tcp;
namespace fl = wire::tcp_flags;

const Ipv4Addr kA(198, 18, 0, 1);
const Ipv4Addr kB(198, 18, 0, 2);
constexpr Duration kSegmentTime = Duration::nanos(1200);  // one 1500-byte frame at 10 Gbit/s

SipKey key(std::uint64_t seed) { return SipKey::from_words(0x0123456789abcdefull ^ seed, 0xfedcba9876543210ull + seed); }

Config bench_config(bool timestamps) {
    Config c;
    c.timestamps = timestamps;
    c.send_buffer = 1024 * 1024;  // more than the peer's window: the queue never runs dry
    c.recv_buffer = 256 * 1024;
    return c;
}

/// A (client) and B (server), each with its own Stack, after a handshake moved by copying
/// (on_segment(Bytes)); the benchmarks then forge the peer's segments themselves.
struct Pair {
    explicit Pair(bool timestamps)
        : a(bench_config(timestamps), key(1), key(2)),
          b(bench_config(timestamps), key(3), key(4)),
          ca(FourTuple{kA, kB, 40000, 5001}),
          cb(FourTuple{kB, kA, 5001, 40000}) {
        // Every pool block holds defined bytes, so copying reads never touch uninitialised memory.
        for (HeapBuffers* h : {&a.heap, &b.heap}) {
            std::vector<MutBuf> all;
            for (MutBuf m = h->alloc(1); m.handle != nullptr; m = h->alloc(1)) all.push_back(m);
            for (const MutBuf& m : all) {
                std::memset(m.data, 0x5a, m.cap);
                h->free(m.handle);
            }
        }
        (void)ca.connect(a.ctx, now);
        bool b_open = false;
        for (int round = 0; round < 8; ++round) {
            for (const OutSegment& s : a.out.segments()) {
                if (!b_open) {
                    cb.accept_syn(b.ctx, now, s.hdr, nullptr);
                    b_open = true;
                } else {
                    std::array<std::uint8_t, 2048> p{};
                    s.copy_payload(p.data());
                    cb.on_segment(b.ctx, now, s.hdr, wire::Bytes(p.data(), s.payload_len()));
                }
            }
            a.done_with_output();
            for (const OutSegment& s : b.out.segments()) {
                std::array<std::uint8_t, 2048> p{};
                s.copy_payload(p.data());
                ca.on_segment(a.ctx, now, s.hdr, wire::Bytes(p.data(), s.payload_len()));
            }
            b.done_with_output();
        }
    }

    Instant now = Instant::from_nanos(1'000'000'000);
    Stack a;
    Stack b;
    Connection ca;
    Connection cb;
};

/// The TSval clock offset of the peer `c` (in stack `st`): its forged segments carry
/// ts_clock(now, offset), as its real ones did in the handshake, so PAWS accepts them.
/// (Computed once: ts_offset_for() is a SipHash, not part of the per-segment cost.)
std::uint32_t peer_ts_offset(const Stack& st, const Connection& c) { return ts_offset_for(st.ctx, c.tuple()); }

void finish(benchmark::State& state, std::uint64_t segments, std::uint64_t allocs, bool ok) {
    if (!ok) state.SkipWithError("the connection left ESTABLISHED or stalled");
    state.SetItemsProcessed(static_cast<std::int64_t>(segments));
    const double segs = segments > 0 ? static_cast<double>(segments) : 1.0;
    state.counters["allocs_per_seg"] = benchmark::Counter(static_cast<double>(allocs) / segs);
    state.counters["time_per_seg"] =
        benchmark::Counter(static_cast<double>(segments), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// ---------------------------------------------------------------------------
// Receiver: in-order data in -> ACK decision
// ---------------------------------------------------------------------------

void BM_SegmentRxInOrder(benchmark::State& state) {
    const bool ts = state.range(0) != 0;
    const bool copy_read = state.range(1) != 0;
    auto pair = std::make_unique<Pair>(ts);
    Stack& st = pair->b;
    Connection& c = pair->cb;
    Instant now = pair->now;
    if (c.state() != State::Established) {
        state.SkipWithError("handshake did not complete");
        return;
    }
    const std::uint32_t mss = pair->ca.snd_mss();
    const std::uint32_t peer_off = peer_ts_offset(pair->a, pair->ca);
    constexpr int kReadEvery = 16;
    // The peer's data segment, as A would send it: seq advances, ACK and window constant.
    wire::TcpRepr seg;
    seg.src_port = 40000;
    seg.dst_port = 5001;
    seg.seq = c.rcv_nxt();
    seg.ack = c.snd_nxt();
    seg.flags = fl::ACK;
    seg.window = 0xffff;
    std::vector<std::uint8_t> sink(64 * 1024);
    std::array<BufRef, 64> refs{};
    std::uint64_t segments = 0, acks = 0;
    int until_read = kReadEvery;
    bool ok = true;

    g_allocs.store(0);
    g_counting.store(true);
    for (auto _ : state) {
        now += kSegmentTime;
        if (ts) seg.options.timestamps = wire::TcpTimestamps{ts_clock(now, peer_off), 0};
        // The NIC put the payload in a pool buffer: the connection owns it from here.
        const MutBuf m = st.heap.alloc(mss);
        c.on_segment(st.ctx, now, seg, BufRef{m.handle, m.data, mss});
        acks += st.out.segments().size();
        st.done_with_output();
        seg.seq += mss;
        ++segments;
        if (--until_read == 0) {
            until_read = kReadEvery;
            if (copy_read) {
                while (c.bytes_readable() > 0) (void)c.receive(st.ctx, now, wire::MutBytes(sink.data(), sink.size()));
            } else {
                while (c.bytes_readable() > 0) {
                    const auto r = c.receive_bufs(st.ctx, now, refs);
                    if (!r) break;
                    for (std::size_t i = 0; i < *r; ++i) st.heap.free(refs[i].handle);
                }
            }
            if (now >= c.next_deadline()) c.on_deadline(st.ctx, now);
            st.done_with_output();
        }
    }
    g_counting.store(false);
    ok = c.state() == State::Established && c.rcv_nxt() == seg.seq && st.counters.drop_no_buffer == 0;
    finish(state, segments, g_allocs.load(), ok);
    state.counters["acks_per_seg"] = benchmark::Counter(static_cast<double>(acks) / static_cast<double>(segments ? segments : 1));
}
BENCHMARK(BM_SegmentRxInOrder)->ArgNames({"ts", "copy_read"})->Args({1, 0})->Args({0, 0})->Args({1, 1});

// ---------------------------------------------------------------------------
// Sender: ACK in -> window advance -> next segment out
// ---------------------------------------------------------------------------

void BM_SegmentTxOnAck(benchmark::State& state) {
    const bool ts = state.range(0) != 0;
    const bool copy_write = state.range(1) != 0;
    auto pair = std::make_unique<Pair>(ts);
    Stack& st = pair->a;
    Connection& c = pair->ca;
    Instant now = pair->now;
    if (c.state() != State::Established) {
        state.SkipWithError("handshake did not complete");
        return;
    }
    const std::uint32_t mss = c.snd_mss();
    const std::uint32_t peer_off = peer_ts_offset(pair->b, pair->cb);
    const std::vector<std::uint8_t> src(mss, 0xa5);
    std::uint32_t last_tsval = 0;  // the TSval of A's latest segment, which the peer echoes
    std::uint64_t data_out = 0;
    const auto drain = [&] {
        for (const OutSegment& s : st.out.segments()) {
            if (s.payload_len() > 0) ++data_out;
            if (s.hdr.options.timestamps) last_tsval = s.hdr.options.timestamps->val;
        }
        st.done_with_output();
    };
    const auto refill = [&] {  // what the ACK freed, written again (no failing calls)
        while (c.send_space() >= mss) {
            if (copy_write) {
                if (!c.send(st.ctx, now, wire::Bytes(src.data(), src.size()))) break;
            } else {
                const MutBuf m = st.heap.alloc(mss);
                if (m.handle == nullptr) break;
                if (!c.send_buf(st.ctx, now, BufRef{m.handle, m.data, mss})) {
                    st.heap.free(m.handle);  // not taken: still ours
                    break;
                }
            }
        }
        drain();
    };
    // The peer's ACK for one more segment, its window 256 KiB (scaled as negotiated).
    wire::TcpRepr ack;
    ack.src_port = 5001;
    ack.dst_port = 40000;
    ack.seq = c.rcv_nxt();
    ack.flags = fl::ACK;
    ack.window = static_cast<std::uint16_t>(std::min<std::uint32_t>((256u * 1024) >> c.snd_wscale(), 0xffff));
    const auto ack_one = [&] {
        now += kSegmentTime;
        const std::uint32_t flight = static_cast<std::uint32_t>(c.snd_nxt() - c.snd_una());
        ack.ack = c.snd_una() + std::min(flight, mss);
        if (ts) ack.options.timestamps = wire::TcpTimestamps{ts_clock(now, peer_off), last_tsval};
        c.on_segment(st.ctx, now, ack, BufRef{});
        drain();
        refill();
        if (now >= c.next_deadline()) {
            c.on_deadline(st.ctx, now);
            drain();
        }
    };
    refill();
    // Leave slow start's two-segments-per-ACK behind: cwnd grows past the peer's window.
    for (int i = 0; i < 2000; ++i) ack_one();
    const std::uint64_t out_before = data_out;

    g_allocs.store(0);
    g_counting.store(true);
    for (auto _ : state) ack_one();
    g_counting.store(false);
    const std::uint64_t segments = data_out - out_before;
    const bool ok = c.state() == State::Established && st.counters.drop_no_buffer == 0 &&
                    segments + 16 >= static_cast<std::uint64_t>(state.iterations());
    finish(state, segments, g_allocs.load(), ok);
    state.counters["segs_out_per_ack"] =
        benchmark::Counter(static_cast<double>(segments) / static_cast<double>(state.iterations()));
}
BENCHMARK(BM_SegmentTxOnAck)->ArgNames({"ts", "copy_write"})->Args({1, 0})->Args({0, 0})->Args({1, 1});

}  // namespace
