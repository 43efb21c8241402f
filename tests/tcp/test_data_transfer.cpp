// Data transfer between two TCBs on a fake clock: delayed ACKs, Nagle, silly-window
// avoidance, zero-window probing, loss recovery (fast retransmit, NewReno partial ACKs,
// RTO backoff, give-up, user timeout), congestion control (initial window, slow start,
// restart after idle), keepalive, urgent data, the per-connection counters and summary,
// and buffer accounting. Every test asserts exact segments, times and counters.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "pair_fixture.hpp"

using namespace ustcp;
using namespace ustcp::tcp;
using namespace ustcp::tcp::test;
using ::testing::HasSubstr;
namespace fl = wire::tcp_flags;

namespace {

constexpr std::uint32_t kMss = 1460 - 12;  // the default MSS less the timestamp option
constexpr Duration ms(std::int64_t n) { return Duration::millis(n); }

/// `n` bytes that differ from any shifted copy of themselves, so that a lost, duplicated or
/// reordered byte shows in a comparison.
std::string pattern(std::size_t n, unsigned seed = 0) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + i / 251 + seed * 17) & 0xff);
    return s;
}

struct DataTransfer : PairTest {
    /// A hop of the link with the time it crossed.
    struct Logged {
        Instant at;
        Wire w;
        bool from_a;
        bool dropped;
    };
    std::vector<Logged> log;
    /// Which segments the link loses (none when empty).
    std::function<bool(const Wire&, bool from_a)> lose;
    Connection* c = nullptr;  // A's side (the client)
    Connection* s = nullptr;  // B's side (the server)
    Instant t0;

    DataTransfer() {
        // The loss-recovery tests below check RFC 5681/6582 NewReno arithmetic; CUBIC, the
        // default, has its own (tests/unit/test_tcp_cubic.cpp).
        a.cfg.cc.algorithm = b.cfg.cc.algorithm = cc::Algorithm::NewReno;
        link.drop = [this](const Wire& w, bool from_a) {
            const bool d = lose && lose(w, from_a);
            log.push_back({link.now, w, from_a, d});
            return d;
        };
    }

    /// Opens the connection with the configs set so far; the log starts after the handshake.
    void start() {
        c = &open();
        ASSERT_EQ(c->state(), State::Established);
        s = b.listener()->accept();
        ASSERT_NE(s, nullptr);
        ASSERT_EQ(s->state(), State::Established);
        log.clear();
        t0 = link.now;
    }

    /// A's sequence number for byte `off` of its data.
    [[nodiscard]] SeqNum a_seq(std::uint32_t off) const { return c->iss() + 1 + off; }

    /// The logged hops from one side (data segments only if `data`).
    [[nodiscard]] std::vector<Logged> hops(bool from_a, bool data) const {
        std::vector<Logged> v;
        for (const auto& h : log) {
            if (h.from_a == from_a && (!data || !h.w.payload.empty())) v.push_back(h);
        }
        return v;
    }

    void write(Endpoint& e, Connection& k, const std::string& d) {
        auto r = k.send(e.ctx, link.now, bytes_of(d));
        ASSERT_TRUE(r);
        ASSERT_EQ(*r, d.size());
    }

    /// Moves segments both ways as Link::pump does, each hop taking `one_way` on the clock.
    void pump_slow(Duration one_way) {
        for (int guard = 0; guard < 10000; ++guard) {
            auto fa = a.drain();
            auto fb = b.drain();
            if (fa.empty() && fb.empty()) return;
            link.now += one_way;
            for (auto& w : fa) {
                if (!link.drop(w, true)) b.deliver(w, link.now);
            }
            for (auto& w : fb) {
                if (!link.drop(w, false)) a.deliver(w, link.now);
            }
        }
        FAIL() << "link did not settle";
    }

    /// B reads as data arrives and timers run until `want` bytes were read (or `rounds` ran out).
    std::string receive_until(std::size_t want, std::string got = {}, int rounds = 2000) {
        for (int i = 0; i < rounds && got.size() < want; ++i) {
            link.pump();
            std::string more = read_all(b, *s, link.now);
            got += more;
            if (more.empty() && !link.run_timers()) break;
        }
        return got;
    }
};

}  // namespace

// ---------------------------------------------------------------------------
// Delayed ACK (RFC 9293 §3.8.6.3, RFC 5681 §4.2, RFC 1122 §4.2.3.2)
// ---------------------------------------------------------------------------

// "An ACK ... MUST NOT be excessively delayed": with the quick-ACK start off, one in-order
// segment is acknowledged by the delayed-ACK timer, exactly 40 ms (the default) after it arrived.
TEST_F(DataTransfer, DelayedAckFiresAfterFortyMilliseconds) {
    b.cfg.quickack = 0;
    ASSERT_NO_FATAL_FAILURE(start());
    write(a, *c, "hello");
    link.pump();
    ASSERT_EQ(log.size(), 1u) << "the data went, no ACK yet";
    EXPECT_EQ(s->next_deadline(), t0 + ms(40));
    ASSERT_TRUE(link.run_timers());
    EXPECT_EQ(link.now, t0 + ms(40));
    ASSERT_EQ(log.size(), 2u);
    const Logged& ack = log[1];
    EXPECT_FALSE(ack.from_a);
    EXPECT_EQ(ack.at, t0 + ms(40));
    EXPECT_EQ(ack.w.flags(), ".");
    EXPECT_EQ(ack.w.hdr.ack, a_seq(5));
    EXPECT_TRUE(ack.w.payload.empty());
    EXPECT_EQ(s->stats().delayed_acks, 1u);
    EXPECT_EQ(b.counters.delayed_acks, 1u);
    EXPECT_EQ(s->next_deadline(), kNever);
    EXPECT_EQ(c->snd_una(), a_seq(5));
}

// "An ACK SHOULD be generated for at least every second full-sized segment": the second
// of two MSS-sized segments is acknowledged at once, covering both; no timer ACK follows.
TEST_F(DataTransfer, SecondFullSizedSegmentIsAckedAtOnce) {
    b.cfg.quickack = 0;
    ASSERT_NO_FATAL_FAILURE(start());
    write(a, *c, pattern(2 * kMss));
    link.pump();
    ASSERT_EQ(log.size(), 3u);
    EXPECT_EQ(log[0].w.payload.size(), kMss);
    EXPECT_EQ(log[1].w.payload.size(), kMss);
    EXPECT_FALSE(log[2].from_a);
    EXPECT_EQ(log[2].w.hdr.ack, a_seq(2 * kMss));
    EXPECT_EQ(log[2].at, t0);
    EXPECT_EQ(s->next_deadline(), kNever) << "nothing left for the timer";
    link.settle(t0 + Duration::seconds(1));
    EXPECT_EQ(log.size(), 3u);
    EXPECT_EQ(s->stats().delayed_acks, 0u);
}

// Config::delayed_ack = 0 turns delaying off: every data segment is acknowledged at once.
TEST_F(DataTransfer, ZeroDelayAcksEverySegment) {
    b.cfg.quickack = 0;
    b.cfg.delayed_ack = Duration::zero();
    ASSERT_NO_FATAL_FAILURE(start());
    write(a, *c, pattern(3 * kMss));
    link.pump();
    const auto acks = hops(false, false);
    ASSERT_EQ(acks.size(), 3u);
    for (std::uint32_t i = 0; i < 3; ++i) {
        EXPECT_EQ(acks[i].w.hdr.ack, a_seq((i + 1) * kMss)) << i;
        EXPECT_EQ(acks[i].at, t0);
    }
    EXPECT_EQ(s->next_deadline(), kNever);
    EXPECT_EQ(s->stats().delayed_acks, 0u);
}

// A configured delay is the one used: 100 ms, not the default 40 ms.
TEST_F(DataTransfer, ConfiguredDelayIsHonoured) {
    b.cfg.quickack = 0;
    b.cfg.delayed_ack = Duration::millis(100);
    ASSERT_NO_FATAL_FAILURE(start());
    write(a, *c, "x");
    link.pump();
    EXPECT_EQ(hops(false, false).size(), 0u);
    ASSERT_TRUE(link.run_timers());
    EXPECT_EQ(link.now, t0 + ms(100));
    const auto acks = hops(false, false);
    ASSERT_EQ(acks.size(), 1u);
    EXPECT_EQ(acks[0].at, t0 + ms(100));
    EXPECT_EQ(acks[0].w.hdr.ack, a_seq(1));
}

// Quick-ACK start (Config::quickack = N): the first N data segments are acknowledged at
// once, the next one waits for the timer.
TEST_F(DataTransfer, QuickAckStartAcksTheFirstSegmentsAtOnce) {
    b.cfg.quickack = 3;
    ASSERT_NO_FATAL_FAILURE(start());
    for (std::uint32_t i = 0; i < 3; ++i) {
        write(a, *c, "q");
        link.pump();
        const auto acks = hops(false, false);
        ASSERT_EQ(acks.size(), i + 1) << "segment " << i << " acknowledged at once";
        EXPECT_EQ(acks.back().at, t0);
        EXPECT_EQ(acks.back().w.hdr.ack, a_seq(i + 1));
    }
    write(a, *c, "d");
    link.pump();
    EXPECT_EQ(hops(false, false).size(), 3u) << "the fourth waits";
    ASSERT_TRUE(link.run_timers());
    EXPECT_EQ(link.now, t0 + ms(40));
    const auto acks = hops(false, false);
    ASSERT_EQ(acks.size(), 4u);
    EXPECT_EQ(acks.back().w.hdr.ack, a_seq(4));
    EXPECT_EQ(s->stats().delayed_acks, 1u);
}

// A delayed ACK rides on data the receiver sends before the timer fires (RFC 9293 §3.8.6.3:
// piggybacking); no bare ACK follows.
TEST_F(DataTransfer, DelayedAckRidesOnReplyData) {
    b.cfg.quickack = 0;
    ASSERT_NO_FATAL_FAILURE(start());
    write(a, *c, "ping");
    link.pump();
    link.now += ms(10);
    write(b, *s, "pong");
    link.pump();
    link.settle(t0 + Duration::seconds(1));
    const auto from_b = hops(false, false);
    ASSERT_EQ(from_b.size(), 1u);
    EXPECT_EQ(from_b[0].at, t0 + ms(10));
    EXPECT_EQ(from_b[0].w.hdr.ack, a_seq(4));
    EXPECT_EQ(std::string(from_b[0].w.payload.begin(), from_b[0].w.payload.end()), "pong");
    EXPECT_EQ(s->stats().delayed_acks, 0u);
    EXPECT_EQ(read_all(a, *c, link.now), "pong");
}

// RFC 5681 §4.2: "A TCP receiver SHOULD send an immediate duplicate ACK when an out-of-order
// segment arrives" and "an immediate ACK when the incoming segment fills in all or part of a
// gap". Even with delaying on from the first segment, both go at once; the ACK for the hole's
// segment covers everything held.
TEST_F(DataTransfer, OutOfOrderDupAckAndHoleFillAreImmediate) {
    b.cfg.quickack = 0;
    ASSERT_NO_FATAL_FAILURE(start());
    const std::string d = pattern(3 * kMss);
    write(a, *c, d);
    auto segs = a.drain();
    ASSERT_EQ(segs.size(), 3u);

    b.deliver(segs[1], link.now);
    auto r1 = b.drain();
    ASSERT_EQ(r1.size(), 1u);
    EXPECT_EQ(r1[0].flags(), ".");
    EXPECT_EQ(r1[0].hdr.ack, a_seq(0)) << "duplicate ACK names the hole";
    b.deliver(segs[2], link.now);
    auto r2 = b.drain();
    ASSERT_EQ(r2.size(), 1u);
    EXPECT_EQ(r2[0].hdr.ack, a_seq(0));
    EXPECT_EQ(r2[0].hdr.window, r1[0].hdr.window) << "the window does not move for out-of-order data";
    EXPECT_EQ(s->bytes_readable(), 0u);
    EXPECT_EQ(s->recv_queue().ooo_bytes(), 2 * kMss);

    b.deliver(segs[0], link.now);
    auto r3 = b.drain();
    ASSERT_EQ(r3.size(), 1u);
    EXPECT_EQ(r3[0].hdr.ack, a_seq(3 * kMss)) << "the hole filled: everything acknowledged";
    EXPECT_EQ(s->next_deadline(), kNever);
    EXPECT_EQ(s->stats().ooo_segs, 2u);
    EXPECT_EQ(s->stats().dup_acks_out, 2u);
    EXPECT_EQ(s->stats().delayed_acks, 0u);
    EXPECT_EQ(b.counters.ooo_queued, 2u);
    EXPECT_EQ(s->stats().bytes_in, 3 * kMss);
    EXPECT_EQ(read_all(b, *s, link.now), d);
}

// Buffers ran out: the segment that fills the hole is worth more than what waits behind it.
// The out-of-order queue (never SACKed) is dropped to make room, the peer resends it; without
// this, out-of-order queues could hold every buffer while the hole's segment is dropped for ever.
TEST_F(DataTransfer, NoBufferForTheHoleSegmentPrunesTheOutOfOrderQueue) {
    ASSERT_NO_FATAL_FAILURE(start());
    const std::string d = pattern(3 * kMss);
    write(a, *c, d);
    auto segs = a.drain();
    ASSERT_EQ(segs.size(), 3u);
    b.deliver(segs[1], link.now);
    b.deliver(segs[2], link.now);
    (void)b.drain();
    ASSERT_EQ(s->recv_queue().ooo_bytes(), 2 * kMss);
    // Every other node is taken (without buffers: the pool still has blocks for segs[0]).
    BufNode* hog = nullptr;
    while (b.bufs.nodes_free() > 0) {
        BufNode* n = b.bufs.take(BufRef{});
        ASSERT_NE(n, nullptr);
        n->next = hog;
        hog = n;
    }
    b.deliver(segs[0], link.now);
    EXPECT_EQ(s->rcv_nxt(), a_seq(kMss)) << "the hole's segment was taken, what was behind it dropped";
    EXPECT_EQ(s->recv_queue().ooo_bytes(), 0u);
    EXPECT_EQ(b.counters.ooo_pruned, 2u);
    EXPECT_EQ(b.counters.drop_no_buffer, 0u);
    b.bufs.release_chain(hog);
    // The sender resends the rest (its RTO), and the stream is whole.
    link.settle(link.now + Duration::seconds(3));
    EXPECT_EQ(read_all(b, *s, link.now), d);
}

// RFC 9293 §3.8.6.2.2 / RFC 1122 §4.2.3.3: after the application reads, a window update
// goes when the window the peer knows can grow by 2 MSS (or half the buffer), however the
// reads were sized; smaller openings are not advertised (receiver SWS avoidance).
TEST_F(DataTransfer, WindowUpdateAfterReadsOpeningTwoSegments) {
    b.cfg.recv_buffer = 32768;  // no window scaling
    b.cfg.delayed_ack = Duration::zero();
    ASSERT_NO_FATAL_FAILURE(start());
    const std::string d = pattern(32768);
    write(a, *c, d);
    link.pump();
    ASSERT_EQ(s->bytes_readable(), 32768u);
    ASSERT_EQ(hops(false, false).back().w.hdr.window, 0) << "buffer full: window 0";
    ASSERT_EQ(c->snd_wnd(), 0u);

    std::string got;
    auto read = [&](std::size_t n) {
        std::string buf(n, '\0');
        auto r = s->receive(b.ctx, link.now, {reinterpret_cast<std::uint8_t*>(buf.data()), n});
        ASSERT_TRUE(r);
        ASSERT_EQ(*r, n);
        got += buf;
    };
    read(1000);  // 1000 free: less than an MSS, not advertised
    EXPECT_TRUE(b.drain().empty());
    read(1000);  // 2000 free: the window was too small for a segment and now is not
    auto u1 = b.drain();
    ASSERT_EQ(u1.size(), 1u);
    EXPECT_EQ(u1[0].hdr.window, 2000);
    EXPECT_EQ(u1[0].hdr.ack, a_seq(32768));
    read(1000);  // 3000 free: 1000 more than advertised
    EXPECT_TRUE(b.drain().empty());
    read(1000);  // 4000 free: 2000 more than advertised, < 2 MSS
    EXPECT_TRUE(b.drain().empty());
    read(1000);  // 5000 free: 3000 more than advertised, >= 2 MSS
    auto u2 = b.drain();
    ASSERT_EQ(u2.size(), 1u) << "the window grew by 2 MSS beyond what the peer knows";
    EXPECT_EQ(u2[0].hdr.window, 5000);
    read(32768 - 5000);
    EXPECT_EQ(got, d);
}

// The half-buffer rule: with a 4096-byte buffer, 2 MSS is more than half the buffer; the
// update goes once the advertised window can grow by 2048.
TEST_F(DataTransfer, WindowUpdateAfterReadsOpeningHalfTheBuffer) {
    b.cfg.recv_buffer = 4096;
    b.cfg.delayed_ack = Duration::zero();
    ASSERT_NO_FATAL_FAILURE(start());
    const std::string d = pattern(kMss + 1200);
    write(a, *c, d);
    link.pump();
    ASSERT_EQ(hops(false, false).back().w.hdr.window, 4096 - kMss - 1200);  // 1448
    std::uint8_t buf[2000];
    ASSERT_EQ(*s->receive(b.ctx, link.now, {buf, 1000}), 1000u);  // window could be 2448
    EXPECT_TRUE(b.drain().empty());
    ASSERT_EQ(*s->receive(b.ctx, link.now, {buf, 1000}), 1000u);  // 3448: +2000 < 2048
    EXPECT_TRUE(b.drain().empty());
    ASSERT_EQ(*s->receive(b.ctx, link.now, {buf, 648}), 648u);  // 4096: +2648 >= 2048
    auto u = b.drain();
    ASSERT_EQ(u.size(), 1u) << "the window grew by half the buffer beyond what the peer knows";
    EXPECT_EQ(u[0].hdr.window, 4096);
}

// ---------------------------------------------------------------------------
// Nagle (RFC 896, RFC 9293 §3.7.4) and segmentation
// ---------------------------------------------------------------------------

// "If there is unacknowledged data, then the sending TCP endpoint buffers all user data ...
// until the outstanding data has been acknowledged": the second small write waits for the
// ACK of the first, here the receiver's delayed ACK 40 ms later, and then goes at once.
TEST_F(DataTransfer, NagleHoldsSmallWriteUntilTheAck) {
    b.cfg.quickack = 0;
    ASSERT_NO_FATAL_FAILURE(start());
    EXPECT_FALSE(c->nodelay());
    write(a, *c, "a");
    write(a, *c, "b");
    link.pump();
    auto data = hops(true, true);
    ASSERT_EQ(data.size(), 1u);
    EXPECT_EQ(data[0].w.payload, std::vector<std::uint8_t>{'a'});
    EXPECT_EQ(data[0].w.flags(), "P.");
    EXPECT_EQ(c->send_queued(), 2u);
    ASSERT_TRUE(link.run_timers());
    EXPECT_EQ(link.now, t0 + ms(40));
    data = hops(true, true);
    ASSERT_EQ(data.size(), 2u);
    EXPECT_EQ(data[1].at, t0 + ms(40)) << "released by the ACK";
    EXPECT_EQ(data[1].w.hdr.seq, a_seq(1));
    EXPECT_EQ(data[1].w.payload, std::vector<std::uint8_t>{'b'});
    EXPECT_EQ(data[1].w.flags(), "P.");
}

// Nagle holds only short segments, and only while a short one is unacknowledged (Minshall):
// a full-sized segment goes at once, and the tail of a write goes when no short segment is
// outstanding.
TEST_F(DataTransfer, NagleNeverHoldsFullSizedSegments) {
    b.cfg.quickack = 0;
    ASSERT_NO_FATAL_FAILURE(start());
    write(a, *c, "a");                   // short, outstanding
    write(a, *c, pattern(kMss + 100));   // one full segment's worth after it, then a tail
    auto segs = a.drain();
    ASSERT_EQ(segs.size(), 2u);
    EXPECT_EQ(segs[0].payload.size(), 1u);
    EXPECT_EQ(segs[1].payload.size(), kMss) << "full-sized: not held";
    EXPECT_EQ(segs[1].hdr.seq, a_seq(1));
    EXPECT_EQ(c->snd_nxt(), a_seq(1 + kMss));
    EXPECT_EQ(c->send_queued(), 1 + kMss + 100);
}

// TCP_NODELAY: Connection::set_nodelay(true) sends what Nagle held at once, and later small
// writes go without waiting; Config::nodelay makes it the default.
TEST_F(DataTransfer, NodelayTurnsNagleOff) {
    b.cfg.quickack = 0;
    ASSERT_NO_FATAL_FAILURE(start());
    write(a, *c, "a");
    write(a, *c, "b");
    ASSERT_EQ(a.drain().size(), 1u);
    c->set_nodelay(a.ctx, link.now, true);
    EXPECT_TRUE(c->nodelay());
    auto segs = a.drain();
    ASSERT_EQ(segs.size(), 1u) << "the held byte goes when no-delay is turned on";
    EXPECT_EQ(segs[0].hdr.seq, a_seq(1));
    write(a, *c, "c");
    segs = a.drain();
    ASSERT_EQ(segs.size(), 1u);
    EXPECT_EQ(segs[0].hdr.seq, a_seq(2));
    EXPECT_EQ(segs[0].flags(), "P.");
}

// Config::nodelay = true: new connections start with Nagle off, so back-to-back one-byte
// writes each leave at once, contiguous.
TEST_F(DataTransfer, ConfigNodelayIsTheDefault) {
    a.cfg.nodelay = true;
    b.cfg.quickack = 0;
    ASSERT_NO_FATAL_FAILURE(start());
    EXPECT_TRUE(c->nodelay());
    for (int i = 0; i < 3; ++i) write(a, *c, "z");
    auto segs = a.drain();
    ASSERT_EQ(segs.size(), 3u);
    for (std::uint32_t i = 0; i < 3; ++i) {
        EXPECT_EQ(segs[i].hdr.seq, a_seq(i));
        EXPECT_EQ(segs[i].payload.size(), 1u);
    }
}

// RFC 9293 §3.7.1/§3.9.1: a large write is cut into segments of the effective send MSS
// (the peer's MSS less the timestamp option), contiguous, PSH only on the last one.
TEST_F(DataTransfer, LargeWriteIsCutIntoMssSegmentsWithPshOnTheLast) {
    ASSERT_NO_FATAL_FAILURE(start());
    const std::string d = pattern(10000);
    write(a, *c, d);
    auto segs = a.drain();
    ASSERT_EQ(segs.size(), 7u);
    std::string sent;
    for (std::size_t i = 0; i < segs.size(); ++i) {
        const std::uint32_t want = i < 6 ? kMss : 10000 - 6 * kMss;  // 1312
        EXPECT_EQ(segs[i].payload.size(), want) << i;
        EXPECT_EQ(segs[i].hdr.seq, a_seq(static_cast<std::uint32_t>(i) * kMss)) << i;
        EXPECT_EQ(segs[i].flags(), i < 6 ? "." : "P.") << i;
        EXPECT_EQ(segs[i].hdr.ack, c->rcv_nxt());
        sent.append(segs[i].payload.begin(), segs[i].payload.end());
    }
    EXPECT_EQ(sent, d);
    EXPECT_EQ(c->stats().data_segs_out, 7u);
    EXPECT_EQ(c->stats().bytes_out, 10000u);
}

// The peer's MSS option bounds segments: B announces 1000, A sends 988-byte segments.
TEST_F(DataTransfer, SegmentsFollowThePeersMss) {
    b.cfg.mss = 1000;
    ASSERT_NO_FATAL_FAILURE(start());
    EXPECT_EQ(c->snd_mss(), 988);
    write(a, *c, pattern(3000));
    auto segs = a.drain();
    ASSERT_EQ(segs.size(), 4u);
    EXPECT_EQ(segs[0].payload.size(), 988u);
    EXPECT_EQ(segs[1].payload.size(), 988u);
    EXPECT_EQ(segs[2].payload.size(), 988u);
    EXPECT_EQ(segs[3].payload.size(), 36u);
    EXPECT_EQ(segs[3].flags(), "P.");
}

// ---------------------------------------------------------------------------
// The peer's window and sender SWS avoidance (RFC 9293 §3.8.6.2.1, RFC 7323 §2)
// ---------------------------------------------------------------------------

// A never sends beyond the right edge B advertised (windows scaled by 2 here), and holds a
// sliver smaller than an MSS and than half the largest window seen until the persist
// timer's override sends it, one RTO (200 ms) later. After B reads, the rest flows and every
// byte arrives once.
TEST_F(DataTransfer, SenderStaysInsideTheScaledWindowAndAvoidsSillyWindows) {
    b.cfg.recv_buffer = 100000;  // window scale 1
    b.cfg.delayed_ack = Duration::zero();
    ASSERT_NO_FATAL_FAILURE(start());
    ASSERT_EQ(s->rcv_wscale(), 1);
    ASSERT_EQ(c->snd_wscale(), 1);
    const std::string d = pattern(150000);
    write(a, *c, d);
    link.pump();
    // 69 full segments fill all but 88 bytes of the buffer; the 88 are held back.
    EXPECT_EQ(s->bytes_readable(), 69 * kMss);
    EXPECT_EQ(c->snd_nxt(), a_seq(69 * kMss));
    EXPECT_EQ(c->snd_wnd(), 88u);
    const auto first_ack = hops(false, false).front();
    EXPECT_EQ(first_ack.w.hdr.window, (100000 - kMss) / 2) << "a scaled window field";
    EXPECT_EQ(c->next_deadline(), t0 + ms(200));
    ASSERT_TRUE(link.run_timers());
    auto data = hops(true, true);
    ASSERT_EQ(data.back().w.payload.size(), 88u);
    EXPECT_EQ(data.back().at, t0 + ms(200)) << "the override timeout";
    EXPECT_EQ(data.back().w.hdr.seq, a_seq(69 * kMss));
    EXPECT_EQ(c->snd_wnd(), 0u);
    EXPECT_EQ(c->stats().bytes_out, 100000u);
    // Every data segment ended inside the latest right edge B had advertised before it.
    SeqNum edge = a_seq(0) + 65535;  // the SYN-ACK's unscaled window
    for (const auto& h : log) {
        if (!h.from_a) {
            edge = SeqNum::max(edge, h.w.hdr.ack + (static_cast<std::uint32_t>(h.w.hdr.window) << 1));
        } else if (!h.w.payload.empty()) {
            EXPECT_LE(h.w.hdr.seq + static_cast<std::uint32_t>(h.w.payload.size()), edge);
        }
    }
    EXPECT_EQ(receive_until(d.size()), d);
    EXPECT_EQ(c->stats().bytes_retrans, 0u);
}

// §3.8.6.2.1: a usable window below an MSS is used when it is at least half the largest
// window the peer has offered: with a 1000-byte buffer, 1000 bytes go at once, then 600.
TEST_F(DataTransfer, SmallWindowIsUsedWhenHalfTheMaximum) {
    b.cfg.recv_buffer = 1000;
    ASSERT_NO_FATAL_FAILURE(start());
    const std::string d = pattern(3000);
    write(a, *c, d);
    link.pump();
    auto data = hops(true, true);
    ASSERT_EQ(data.size(), 1u);
    EXPECT_EQ(data[0].w.payload.size(), 1000u);
    EXPECT_EQ(data[0].w.flags(), ".") << "not the end of the write";
    EXPECT_EQ(c->snd_wnd(), 0u);
    std::uint8_t buf[1000];
    ASSERT_EQ(*s->receive(b.ctx, link.now, {buf, 400}), 400u);
    EXPECT_TRUE(b.drain().empty()) << "400 < half the buffer: not advertised (receiver SWS)";
    ASSERT_EQ(*s->receive(b.ctx, link.now, {buf + 400, 200}), 200u);
    link.pump();
    data = hops(true, true);
    ASSERT_EQ(data.size(), 2u);
    EXPECT_EQ(data[1].w.payload.size(), 600u);
    EXPECT_EQ(data[1].w.hdr.seq, a_seq(1000));
    EXPECT_EQ(data[1].at, t0);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(buf), 600), d.substr(0, 600));
    EXPECT_EQ(receive_until(2400), d.substr(600));
}

// ---------------------------------------------------------------------------
// Zero window and the persist timer (RFC 9293 §3.8.6.1, RFC 1122 §4.2.2.17)
// ---------------------------------------------------------------------------

// The receiver's buffer fills and the application does not read: A probes the zero window
// with one octet, first after an RTO (200 ms) and then backing off exponentially; B answers
// each with an ACK that does not take the octet. When B reads, the window reopens and all
// 10000 bytes arrive once, in order.
TEST_F(DataTransfer, ZeroWindowProbesBackOffAndEveryByteArrivesOnce) {
    b.cfg.recv_buffer = 4096;
    ASSERT_NO_FATAL_FAILURE(start());
    const std::string d = pattern(10000);
    write(a, *c, d);
    link.pump();
    ASSERT_EQ(hops(true, true).size(), 2u) << "1200 bytes of window left: too small to use";
    ASSERT_EQ(c->snd_wnd(), 1200u);
    ASSERT_TRUE(link.run_timers());  // the override timeout sends the 1200
    EXPECT_EQ(link.now, t0 + ms(200));
    EXPECT_EQ(hops(true, true).back().w.payload.size(), 1200u);
    ASSERT_EQ(c->snd_wnd(), 0u);
    ASSERT_EQ(s->bytes_readable(), 4096u);

    const std::size_t before = log.size();
    for (int i = 0; i < 5; ++i) {
        ASSERT_TRUE(link.run_timers());
    }
    std::vector<Instant> probes;
    for (std::size_t i = before; i < log.size(); ++i) {
        const Logged& h = log[i];
        if (h.from_a) {
            EXPECT_EQ(h.w.payload.size(), 1u);
            EXPECT_EQ(h.w.hdr.seq, a_seq(4096)) << "the same octet every time";
            probes.push_back(h.at);
        } else {
            EXPECT_EQ(h.w.hdr.ack, a_seq(4096)) << "the probe octet is not taken";
            EXPECT_EQ(h.w.hdr.window, 0);
        }
    }
    const Instant z = t0 + ms(200);  // the window closed
    EXPECT_THAT(probes, ::testing::ElementsAre(z + ms(200), z + ms(600), z + ms(1400), z + ms(3000),
                                               z + ms(6200)));
    EXPECT_EQ(c->stats().window_probes, 5u);
    EXPECT_EQ(a.counters.window_probes, 5u);
    EXPECT_EQ(c->next_deadline(), z + ms(12600)) << "next interval 6.4 s";
    EXPECT_EQ(c->stats().rto_expiries, 0u) << "probes are not retransmission timeouts";
    EXPECT_EQ(c->state(), State::Established);
    EXPECT_THAT(std::string(c->summary().view()), HasSubstr("zwp:5"));

    EXPECT_EQ(receive_until(d.size()), d);
    EXPECT_EQ(s->stats().bytes_in, 10000u);
    EXPECT_EQ(c->stats().bytes_out, 10000u);
    EXPECT_EQ(c->stats().bytes_acked, 10000u);
    EXPECT_EQ(c->send_queued(), 0u);
}

// The probe interval stops doubling at Config::persist_max.
TEST_F(DataTransfer, ProbeIntervalIsCappedAtPersistMax) {
    a.cfg.persist_max = Duration::seconds(1);
    b.cfg.recv_buffer = 1000;
    ASSERT_NO_FATAL_FAILURE(start());
    write(a, *c, pattern(3000));
    link.pump();  // 1000 bytes fill the window
    ASSERT_EQ(c->snd_wnd(), 0u);
    for (int i = 0; i < 5; ++i) {
        ASSERT_TRUE(link.run_timers());
    }
    std::vector<Instant> probes;
    for (const auto& h : hops(true, true)) {
        if (h.w.payload.size() == 1) probes.push_back(h.at);
    }
    EXPECT_THAT(probes, ::testing::ElementsAre(t0 + ms(200), t0 + ms(600), t0 + ms(1400), t0 + ms(2400),
                                               t0 + ms(3400)));
}

// ---------------------------------------------------------------------------
// Loss recovery (RFC 5681 §3.2, RFC 6582, RFC 6298)
// ---------------------------------------------------------------------------

// One lost segment out of ten: the third duplicate ACK triggers the fast retransmit
// (RFC 5681 §3.2 step 2) with ssthresh = FlightSize / 2 and cwnd = ssthresh + 3 SMSS; each
// further duplicate inflates cwnd by one SMSS (step 4); the full ACK ends recovery with
// cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS) (RFC 6582 §3.2 step 3, option 1).
TEST_F(DataTransfer, FastRetransmitOnTheThirdDuplicateAck) {
    a.cfg.sack = false;  // RFC 5681 / RFC 6582 without SACK (test_sack.cpp has the SACK path)
    ASSERT_NO_FATAL_FAILURE(start());
    write(a, *c, "warm");  // B's real window is known to A before the loss
    link.pump();
    ASSERT_EQ(read_all(b, *s, link.now), "warm");
    const std::uint32_t base = 4;
    const std::uint32_t cwnd0 = c->congestion().cwnd();
    ASSERT_EQ(cwnd0, 14480u + 4);
    const std::string d = pattern(10 * kMss);
    write(a, *c, d);
    auto segs = a.drain();
    ASSERT_EQ(segs.size(), 10u);
    for (std::size_t i = 1; i < 10; ++i) b.deliver(segs[i], link.now);  // the first is lost
    auto dups = b.drain();
    ASSERT_EQ(dups.size(), 9u);
    for (const auto& w : dups) EXPECT_EQ(w.hdr.ack, a_seq(base));

    a.deliver(dups[0], link.now);
    a.deliver(dups[1], link.now);
    EXPECT_TRUE(a.drain().empty());
    EXPECT_EQ(c->congestion().dup_acks(), 2u);
    a.deliver(dups[2], link.now);
    auto rtx = a.drain();
    ASSERT_EQ(rtx.size(), 1u) << "fast retransmit";
    EXPECT_EQ(rtx[0].hdr.seq, a_seq(base));
    EXPECT_EQ(rtx[0].payload, segs[0].payload);
    EXPECT_TRUE(c->congestion().in_recovery());
    EXPECT_EQ(c->congestion().ssthresh(), 10 * kMss / 2);
    EXPECT_EQ(c->congestion().cwnd(), 10 * kMss / 2 + 3 * kMss);
    for (std::size_t i = 3; i < 9; ++i) a.deliver(dups[i], link.now);
    EXPECT_TRUE(a.drain().empty()) << "nothing new to send";
    EXPECT_EQ(c->congestion().cwnd(), 10 * kMss / 2 + 9 * kMss);

    b.deliver(rtx[0], link.now);
    auto full = b.drain();
    ASSERT_EQ(full.size(), 1u);
    EXPECT_EQ(full[0].hdr.ack, a_seq(base + 10 * kMss));
    a.deliver(full[0], link.now);
    EXPECT_FALSE(c->congestion().in_recovery());
    EXPECT_EQ(c->congestion().cwnd(), 2 * kMss);
    EXPECT_EQ(c->congestion().ssthresh(), 10 * kMss / 2);
    EXPECT_EQ(c->congestion().counters().fast_retransmits, 1u);
    EXPECT_EQ(c->congestion().counters().recoveries, 1u);
    EXPECT_EQ(c->stats().retrans_fast, 1u);
    EXPECT_EQ(c->stats().retrans_timeout, 0u);
    EXPECT_EQ(c->stats().dup_acks_in, 9u);
    EXPECT_EQ(c->stats().bytes_retrans, kMss);
    EXPECT_EQ(a.counters.fast_retransmits, 1u);
    EXPECT_EQ(a.counters.retransmits, 0u);
    EXPECT_EQ(s->stats().ooo_segs, 9u);
    EXPECT_EQ(s->stats().dup_acks_out, 9u);
    EXPECT_EQ(read_all(b, *s, link.now), d);
    EXPECT_EQ(c->next_deadline(), kNever);
}

// Two segments of one window lost (the 1st and the 5th): the retransmission of the first
// brings a partial ACK, which retransmits the second at once and deflates cwnd by the amount
// acknowledged, adding back one SMSS (RFC 6582 §3.2 step 5); the next ACK is full.
TEST_F(DataTransfer, NewRenoPartialAckRetransmitsTheSecondLoss) {
    a.cfg.sack = false;  // RFC 5681 / RFC 6582 without SACK (test_sack.cpp has the SACK path)
    ASSERT_NO_FATAL_FAILURE(start());
    write(a, *c, "warm");
    link.pump();
    ASSERT_EQ(read_all(b, *s, link.now), "warm");
    const std::uint32_t base = 4;
    const std::string d = pattern(10 * kMss);
    write(a, *c, d);
    auto segs = a.drain();
    ASSERT_EQ(segs.size(), 10u);
    for (std::size_t i = 0; i < 10; ++i) {
        if (i != 0 && i != 4) b.deliver(segs[i], link.now);
    }
    auto dups = b.drain();
    ASSERT_EQ(dups.size(), 8u);
    for (const auto& w : dups) a.deliver(w, link.now);
    auto rtx1 = a.drain();
    ASSERT_EQ(rtx1.size(), 1u);
    EXPECT_EQ(rtx1[0].hdr.seq, a_seq(base));
    EXPECT_EQ(c->congestion().ssthresh(), 5 * kMss);
    EXPECT_EQ(c->congestion().cwnd(), 5 * kMss + 3 * kMss + 5 * kMss) << "inflated by dups 4..8";
    EXPECT_EQ(c->congestion().recover(), a_seq(base + 10 * kMss));

    b.deliver(rtx1[0], link.now);
    auto partial = b.drain();
    ASSERT_EQ(partial.size(), 1u);
    EXPECT_EQ(partial[0].hdr.ack, a_seq(base + 4 * kMss));
    a.deliver(partial[0], link.now);
    auto rtx2 = a.drain();
    ASSERT_EQ(rtx2.size(), 1u) << "the partial ACK retransmits the next hole at once";
    EXPECT_EQ(rtx2[0].hdr.seq, a_seq(base + 4 * kMss));
    EXPECT_EQ(rtx2[0].payload, segs[4].payload);
    EXPECT_TRUE(c->congestion().in_recovery());
    EXPECT_EQ(c->congestion().cwnd(), 13 * kMss - 4 * kMss + kMss);
    EXPECT_EQ(c->congestion().counters().partial_acks, 1u);
    EXPECT_EQ(c->next_deadline(), link.now + c->rtt().rto()) << "the first partial ACK restarts the timer";

    b.deliver(rtx2[0], link.now);
    auto full = b.drain();
    ASSERT_EQ(full.size(), 1u);
    EXPECT_EQ(full[0].hdr.ack, a_seq(base + 10 * kMss));
    a.deliver(full[0], link.now);
    EXPECT_FALSE(c->congestion().in_recovery());
    EXPECT_EQ(c->congestion().cwnd(), 2 * kMss);
    EXPECT_EQ(c->stats().retrans_fast, 2u);
    EXPECT_EQ(c->stats().retrans_timeout, 0u);
    EXPECT_EQ(c->stats().bytes_retrans, 2 * kMss);
    EXPECT_EQ(c->congestion().counters().fast_retransmits, 1u);
    EXPECT_EQ(c->congestion().counters().recoveries, 1u);
    EXPECT_EQ(read_all(b, *s, link.now), d);
}

// Fewer than three duplicate ACKs do not retransmit: with two segments after the hole, the
// loss is left to the retransmission timer (RFC 5681 §3.2, "three duplicate ACKs").
TEST_F(DataTransfer, TwoDuplicateAcksAreNotEnough) {
    a.cfg.sack = false;  // RFC 5681 / RFC 6582 without SACK (test_sack.cpp has the SACK path)
    ASSERT_NO_FATAL_FAILURE(start());
    write(a, *c, "warm");
    link.pump();
    (void)read_all(b, *s, link.now);
    bool lost = false;
    lose = [&](const Wire& w, bool from_a) {
        if (from_a && !w.payload.empty() && !lost) return lost = true;
        return false;
    };
    const std::string d = pattern(3 * kMss);
    write(a, *c, d);
    link.pump();
    EXPECT_EQ(c->stats().dup_acks_in, 2u);
    EXPECT_EQ(c->stats().retrans_fast, 0u);
    const Instant sent = t0;
    ASSERT_TRUE(link.run_timers());
    EXPECT_EQ(link.now, sent + c->rtt().base_rto()) << "recovered by the RTO";
    EXPECT_EQ(c->stats().retrans_timeout, 1u);
    EXPECT_EQ(read_all(b, *s, link.now), d);
}

// A lost ACK is repaired by the next cumulative ACK: nothing is retransmitted.
TEST_F(DataTransfer, LostAckIsCoveredByTheNextOne) {
    ASSERT_NO_FATAL_FAILURE(start());
    int acks = 0;
    lose = [&](const Wire&, bool from_a) { return !from_a && acks++ == 0; };
    write(a, *c, pattern(2 * kMss));
    link.pump();
    ASSERT_EQ(log.size(), 4u);
    EXPECT_TRUE(log[2].dropped);
    EXPECT_EQ(c->snd_una(), a_seq(2 * kMss));
    EXPECT_EQ(c->next_deadline(), kNever);
    link.settle(t0 + Duration::seconds(10));
    EXPECT_EQ(log.size(), 4u);
    EXPECT_EQ(c->stats().bytes_retrans, 0u);
}

// The only ACK lost: A's retransmission timer (1 s, no RTT sample yet) resends; B finds the
// segment old, drops its text and acknowledges again (RFC 9293 §3.10.7.4 "first"); B holds
// the data once.
TEST_F(DataTransfer, LostAckIsRepairedByTheRetransmission) {
    ASSERT_NO_FATAL_FAILURE(start());
    int acks = 0;
    lose = [&](const Wire&, bool from_a) { return !from_a && acks++ == 0; };
    write(a, *c, "data");
    link.pump();
    ASSERT_EQ(c->snd_una(), a_seq(0));
    ASSERT_TRUE(link.run_timers());
    EXPECT_EQ(link.now, t0 + Duration::seconds(1));
    auto data = hops(true, true);
    ASSERT_EQ(data.size(), 2u);
    EXPECT_EQ(data[1].at, t0 + Duration::seconds(1));
    EXPECT_EQ(data[1].w.hdr.seq, a_seq(0));
    EXPECT_EQ(c->snd_una(), a_seq(4));
    EXPECT_EQ(b.counters.drop_unacceptable, 1u);
    EXPECT_EQ(s->stats().bytes_in, 4u);
    EXPECT_EQ(read_all(b, *s, link.now), "data");
    EXPECT_EQ(c->stats().retrans_timeout, 1u);
    EXPECT_EQ(c->stats().rto_expiries, 1u);
}

// Lost retransmissions: each RTO doubles (RFC 6298 §5.5), so the four retransmissions of a
// segment sent at t0 leave at t0 + 1, 3, 7 and 15 s. RFC 5681 §3.1: ssthresh =
// max(FlightSize / 2, 2 SMSS) and cwnd = 1 SMSS after the timeout; the ACK of the
// retransmission ends the backoff.
TEST_F(DataTransfer, LostRetransmissionsBackOffExponentially) {
    ASSERT_NO_FATAL_FAILURE(start());
    int sent = 0;
    lose = [&](const Wire& w, bool from_a) { return from_a && !w.payload.empty() && sent++ < 4; };
    write(a, *c, "data");
    link.pump();
    for (int i = 0; i < 4; ++i) {
        ASSERT_TRUE(link.run_timers());
    }
    std::vector<Instant> times;
    for (const auto& h : hops(true, true)) {
        times.push_back(h.at);
        EXPECT_EQ(h.w.hdr.seq, a_seq(0));
    }
    const Duration sec = Duration::seconds(1);
    EXPECT_THAT(times, ::testing::ElementsAre(t0, t0 + sec, t0 + sec * 3, t0 + sec * 7, t0 + sec * 15));
    EXPECT_EQ(c->snd_una(), a_seq(4)) << "the fifth transmission got through";
    EXPECT_EQ(c->stats().rto_expiries, 4u);
    EXPECT_EQ(c->stats().retrans_timeout, 4u);
    EXPECT_EQ(c->stats().bytes_retrans, 16u);
    EXPECT_EQ(a.counters.retransmits, 4u);
    EXPECT_EQ(c->rtt().backoff(), 0u);
    EXPECT_EQ(c->congestion().ssthresh(), 2 * kMss);
    EXPECT_EQ(c->congestion().cwnd(), kMss + 4) << "slow start from one segment";
    EXPECT_EQ(c->congestion().counters().timeouts, 4u);
    EXPECT_EQ(read_all(b, *s, link.now), "data");
}

// Config::data_retries = 3: after the third retransmission goes unanswered the next
// expiry (t0 + 15 s) ends the connection with ETIMEDOUT (RFC 9293 §3.8.3 R2).
TEST_F(DataTransfer, RetransmissionGivesUpAfterDataRetries) {
    a.cfg.data_retries = 3;
    ASSERT_NO_FATAL_FAILURE(start());
    lose = [](const Wire&, bool from_a) { return from_a; };
    write(a, *c, "doomed");
    link.pump();
    while (c->state() != State::Closed) {
        ASSERT_TRUE(link.run_timers());
    }
    EXPECT_EQ(link.now, t0 + Duration::seconds(15));
    EXPECT_EQ(hops(true, true).size(), 4u) << "the original and three retransmissions";
    EXPECT_TRUE(has_event(a, EventKind::Error, Error::TimedOut));
    EXPECT_TRUE(has_event(a, EventKind::Closed));
    EXPECT_EQ(c->failure(), Error::TimedOut);
    EXPECT_EQ(a.counters.timeouts, 1u);
    EXPECT_EQ(c->stats().retrans_timeout, 3u);
    auto r = c->send(a.ctx, link.now, bytes_of("more"));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), Error::TimedOut);
    std::uint8_t buf[8];
    auto rr = c->receive(a.ctx, link.now, buf);
    ASSERT_FALSE(rr);
    EXPECT_EQ(rr.error(), Error::TimedOut);
    EXPECT_EQ(c->next_deadline(), kNever);
}

// Config::user_timeout = 5 s: the connection aborts 5 s after the data was first left
// unacknowledged, before data_retries (15) is reached; the timer is shortened to hit it.
TEST_F(DataTransfer, UserTimeoutAbortsEarlier) {
    a.cfg.user_timeout = Duration::seconds(5);
    ASSERT_NO_FATAL_FAILURE(start());
    lose = [](const Wire&, bool from_a) { return from_a; };
    write(a, *c, "doomed");
    link.pump();
    while (c->state() != State::Closed) {
        ASSERT_TRUE(link.run_timers());
    }
    EXPECT_EQ(link.now, t0 + Duration::seconds(5));
    std::vector<Instant> times;
    for (const auto& h : hops(true, true)) times.push_back(h.at);
    EXPECT_THAT(times, ::testing::ElementsAre(t0, t0 + Duration::seconds(1), t0 + Duration::seconds(3)));
    EXPECT_TRUE(has_event(a, EventKind::Error, Error::TimedOut));
    EXPECT_EQ(c->failure(), Error::TimedOut);
}

// Loss in both directions over a long transfer both ways: every byte arrives exactly once
// and in order on each side, and the connection closes cleanly.
TEST_F(DataTransfer, LossyBulkTransferBothWaysDeliversEveryByteOnce) {
    ASSERT_NO_FATAL_FAILURE(start());
    int na = 0;
    int nb = 0;
    lose = [&](const Wire& w, bool from_a) {
        if (w.has(fl::FIN)) return false;
        return from_a ? ++na % 13 == 0 : ++nb % 11 == 0;
    };
    const std::string da = pattern(300000, 1);
    const std::string db = pattern(200000, 2);
    std::size_t oa = 0;
    std::size_t ob = 0;
    std::string got_b;  // what B read (A's data)
    std::string got_a;
    for (int i = 0; i < 100000 && (got_b.size() < da.size() || got_a.size() < db.size()); ++i) {
        if (oa < da.size()) {
            auto r = c->send(a.ctx, link.now, bytes_of(da.substr(oa, 65536)));
            if (r) oa += *r;
        }
        if (ob < db.size()) {
            auto r = s->send(b.ctx, link.now, bytes_of(db.substr(ob, 65536)));
            if (r) ob += *r;
        }
        const std::size_t moved = link.pump();
        const std::string mb = read_all(b, *s, link.now);
        const std::string ma = read_all(a, *c, link.now);
        got_b += mb;
        got_a += ma;
        if (moved == 0 && mb.empty() && ma.empty()) {
            ASSERT_TRUE(link.run_timers());
        }
    }
    EXPECT_EQ(got_b, da);
    EXPECT_EQ(got_a, db);
    EXPECT_GT(c->stats().bytes_retrans, 0u);
    EXPECT_GT(s->stats().bytes_retrans, 0u);
    EXPECT_EQ(s->stats().bytes_in, da.size());
    EXPECT_EQ(c->stats().bytes_in, db.size());
    EXPECT_EQ(c->stats().bytes_out, da.size());
    ASSERT_TRUE(c->close(a.ctx, link.now));
    ASSERT_TRUE(s->close(b.ctx, link.now));
    link.settle(link.now + Duration::seconds(600));
    // B's last ACK may still have been delayed (or lost) when the reader finished: by the
    // end of the close everything was acknowledged.
    EXPECT_EQ(c->stats().bytes_acked, da.size());
    EXPECT_EQ(c->state(), State::Closed);
    EXPECT_EQ(s->state(), State::Closed);
    EXPECT_FALSE(c->failure().has_value());
    EXPECT_FALSE(s->failure().has_value());
}

// ---------------------------------------------------------------------------
// Congestion control (RFC 5681, RFC 6928, RFC 3465)
// ---------------------------------------------------------------------------

// RFC 6928 §2: IW = min(10 MSS, max(2 MSS, 14600)) = 10 segments of 1448: a large write
// sends exactly ten before any ACK.
TEST_F(DataTransfer, InitialWindowIsTenSegments) {
    ASSERT_NO_FATAL_FAILURE(start());
    EXPECT_EQ(c->congestion().cwnd(), 10 * kMss);
    EXPECT_EQ(c->congestion().ssthresh(), cc::kInfiniteSsthresh);
    write(a, *c, pattern(20 * kMss));
    auto segs = a.drain();
    ASSERT_EQ(segs.size(), 10u);
    for (const auto& w : segs) EXPECT_EQ(w.payload.size(), kMss);
    EXPECT_EQ(c->snd_nxt() - c->snd_una(), static_cast<std::int32_t>(10 * kMss));
}

// RFC 5681 §3.1 slow start with RFC 3465 byte counting (L = 2 SMSS): each ACK grows cwnd by
// the bytes it acknowledges, so ten ACKed segments let twenty go, and cwnd = IW + bytes acked.
TEST_F(DataTransfer, SlowStartGrowsByTheBytesAcknowledged) {
    ASSERT_NO_FATAL_FAILURE(start());
    write(a, *c, pattern(40 * kMss));
    auto r1 = a.drain();
    ASSERT_EQ(r1.size(), 10u);
    for (const auto& w : r1) b.deliver(w, link.now);
    auto acks1 = b.drain();
    ASSERT_EQ(acks1.size(), 10u) << "quick-ACK start: one per segment";
    for (const auto& w : acks1) a.deliver(w, link.now);
    EXPECT_EQ(c->congestion().cwnd(), 20 * kMss);
    auto r2 = a.drain();
    ASSERT_EQ(r2.size(), 20u) << "two new segments per ACK";
    for (const auto& w : r2) b.deliver(w, link.now);
    auto acks2 = b.drain();
    ASSERT_EQ(acks2.size(), 6u + 7u) << "6 quick ACKs left, then every second segment";
    for (const auto& w : acks2) a.deliver(w, link.now);
    EXPECT_EQ(c->congestion().cwnd(), 40 * kMss);
    EXPECT_EQ(a.drain().size(), 10u) << "the rest of the write";
    EXPECT_EQ(c->congestion().ssthresh(), cc::kInfiniteSsthresh);
}

// RFC 5681 §4.1: after more than an RTO without sending, cwnd restarts from
// RW = min(IW, cwnd); exactly one RTO of idleness does not count.
TEST_F(DataTransfer, RestartAfterIdleLongerThanAnRto) {
    ASSERT_NO_FATAL_FAILURE(start());
    write(a, *c, pattern(10 * kMss));
    link.pump();
    ASSERT_EQ(c->congestion().cwnd(), 20 * kMss);
    ASSERT_EQ(c->rtt().rto(), ms(200));
    link.now = t0 + ms(200) + Duration::nanos(1);
    write(a, *c, pattern(20 * kMss));
    EXPECT_EQ(a.drain().size(), 10u);
    EXPECT_EQ(c->congestion().cwnd(), 10 * kMss);
    EXPECT_EQ(c->congestion().counters().idle_restarts, 1u);
}

// RFC 5681 §4.1 "in an interval exceeding the retransmission timeout": idle for exactly one
// RTO keeps cwnd (20 segments go at once).
TEST_F(DataTransfer, NoRestartAfterExactlyOneRtoIdle) {
    ASSERT_NO_FATAL_FAILURE(start());
    write(a, *c, pattern(10 * kMss));
    link.pump();
    ASSERT_EQ(c->congestion().cwnd(), 20 * kMss);
    link.now = t0 + c->rtt().rto();
    write(a, *c, pattern(20 * kMss));
    EXPECT_EQ(a.drain().size(), 20u);
    EXPECT_EQ(c->congestion().counters().idle_restarts, 0u);
}

// ---------------------------------------------------------------------------
// Keepalive (RFC 9293 §3.8.4, RFC 1122 §4.2.3.6)
// ---------------------------------------------------------------------------

// "Keep-alives MUST default to off": hours of idleness send nothing. Turned on for one
// connection (SO_KEEPALIVE), the first probe goes after the default idle time of 2 h.
TEST_F(DataTransfer, KeepaliveIsOffByDefault) {
    ASSERT_NO_FATAL_FAILURE(start());
    EXPECT_EQ(c->next_deadline(), kNever);
    EXPECT_EQ(s->next_deadline(), kNever);
    link.settle(t0 + Duration::seconds(5 * 3600));
    EXPECT_TRUE(log.empty());
    EXPECT_EQ(c->stats().keepalives, 0u);
    EXPECT_EQ(c->state(), State::Established);
    link.now = t0 + Duration::seconds(5 * 3600);
    c->set_keepalive(a.ctx, link.now, true);
    EXPECT_EQ(c->next_deadline(), link.now + Duration::seconds(7200));
}

// Probe form <SEQ=SND.NXT-1><ACK=RCV.NXT>, no data; the peer's ACK restarts the idle time;
// `count` unanswered probes at `interval` abort with ETIMEDOUT.
TEST_F(DataTransfer, KeepaliveProbesAndAborts) {
    a.cfg.keepalive = true;
    a.cfg.keepalive_idle = Duration::seconds(10);
    a.cfg.keepalive_interval = Duration::seconds(2);
    a.cfg.keepalive_count = 3;
    ASSERT_NO_FATAL_FAILURE(start());
    const Duration sec = Duration::seconds(1);
    EXPECT_EQ(c->next_deadline(), t0 + sec * 10);
    ASSERT_TRUE(link.run_timers());
    ASSERT_EQ(log.size(), 2u);
    EXPECT_TRUE(log[0].from_a);
    EXPECT_EQ(log[0].at, t0 + sec * 10);
    EXPECT_EQ(log[0].w.flags(), ".");
    EXPECT_EQ(log[0].w.hdr.seq, c->snd_nxt() - 1);
    EXPECT_EQ(log[0].w.hdr.ack, c->rcv_nxt());
    EXPECT_TRUE(log[0].w.payload.empty());
    EXPECT_FALSE(log[1].from_a);
    EXPECT_EQ(log[1].w.flags(), ".") << "the peer answers with an ACK";
    EXPECT_EQ(log[1].w.hdr.ack, c->snd_nxt());
    EXPECT_EQ(c->next_deadline(), t0 + sec * 20) << "the answer restarts the idle time";
    EXPECT_EQ(s->state(), State::Established);

    lose = [](const Wire&, bool from_a) { return !from_a; };
    while (c->state() != State::Closed) {
        ASSERT_TRUE(link.run_timers());
    }
    EXPECT_EQ(link.now, t0 + sec * 26);
    std::vector<Instant> probes;
    const auto from_a = hops(true, false);
    ASSERT_FALSE(from_a.empty());
    for (const auto& h : from_a) {
        if (h.w.flags() == ".") probes.push_back(h.at);
    }
    EXPECT_THAT(probes, ::testing::ElementsAre(t0 + sec * 10, t0 + sec * 20, t0 + sec * 22, t0 + sec * 24));
    // Giving up, A resets the connection as Linux does, should the peer be alive after all.
    EXPECT_EQ(from_a.back().w.flags(), "R");
    EXPECT_EQ(from_a.back().at, t0 + sec * 26);
    EXPECT_EQ(from_a.back().w.hdr.seq, c->snd_nxt());
    EXPECT_TRUE(has_event(a, EventKind::Error, Error::TimedOut));
    EXPECT_EQ(c->failure(), Error::TimedOut);
    EXPECT_EQ(c->stats().keepalives, 4u);
    EXPECT_EQ(a.counters.keepalives, 4u);
    EXPECT_EQ(a.counters.timeouts, 1u);
}

// Data from the peer counts as activity: the probe moves to `idle` after it.
TEST_F(DataTransfer, KeepaliveIdleRestartsOnData) {
    a.cfg.keepalive = true;
    a.cfg.keepalive_idle = Duration::seconds(10);
    ASSERT_NO_FATAL_FAILURE(start());
    link.now = t0 + Duration::seconds(7);
    write(b, *s, "tick");
    link.pump();
    EXPECT_EQ(c->next_deadline(), t0 + Duration::seconds(17));
    ASSERT_TRUE(link.run_timers());
    EXPECT_EQ(link.now, t0 + Duration::seconds(17));
    EXPECT_EQ(c->stats().keepalives, 1u);
}

// ---------------------------------------------------------------------------
// Urgent data (RFC 9293 §3.8.5, RFC 6093)
// ---------------------------------------------------------------------------

// A segment with URG and an urgent pointer is delivered in line as ordinary data (RFC 6093
// §3: the "urgent data" is not taken out of the stream), even with a pointer beyond the data.
TEST_F(DataTransfer, UrgentDataIsDeliveredInline) {
    ASSERT_NO_FATAL_FAILURE(start());
    write(a, *c, "normal!");
    auto segs = a.drain();
    ASSERT_EQ(segs.size(), 1u);
    segs[0].hdr.flags |= fl::URG;
    segs[0].hdr.urgent_ptr = 3;
    b.deliver(segs[0], link.now);
    link.pump();  // B's ACK: Nagle lets the next short write go
    write(a, *c, "urgent");
    segs = a.drain();
    ASSERT_EQ(segs.size(), 1u);
    segs[0].hdr.flags |= fl::URG;
    segs[0].hdr.urgent_ptr = 60000;  // far beyond the segment
    b.deliver(segs[0], link.now);
    link.pump();
    EXPECT_EQ(read_all(b, *s, link.now), "normal!urgent");
    EXPECT_EQ(s->stats().bytes_in, 13u);
    EXPECT_EQ(c->snd_una(), a_seq(13));
    EXPECT_EQ(s->state(), State::Established);
}

// ---------------------------------------------------------------------------
// Counters and summary (the `ss -ti` view)
// ---------------------------------------------------------------------------

// One transfer with a one-way delay of 10 ms and the second of five segments lost, counted
// on both sides: bytes and segments in and out, the fast retransmit, duplicate ACKs,
// out-of-order segments, the RTT estimate (RFC 6298 (2.2)/(2.3) with RFC 7323 App. G gains:
// samples of 20 ms give SRTT 20 ms, RTTVAR 10 then 8.75 ms, RTO clamped to 200 ms), and
// the summary line.
TEST_F(DataTransfer, CountersAndSummary) {
    ASSERT_NO_FATAL_FAILURE(start());
    const ConnStats a0 = c->stats();
    const ConnStats b0 = s->stats();
    int n = 0;
    lose = [&](const Wire& w, bool from_a) { return from_a && !w.payload.empty() && ++n == 2; };
    const std::string d = pattern(5 * kMss);
    write(a, *c, d);
    pump_slow(ms(10));
    EXPECT_EQ(link.now, t0 + ms(40));
    ASSERT_EQ(c->snd_una(), a_seq(5 * kMss));

    const ConnStats& sa = c->stats();
    EXPECT_EQ(sa.bytes_out, 5 * kMss);
    EXPECT_EQ(sa.bytes_retrans, kMss);
    EXPECT_EQ(sa.bytes_acked, 5 * kMss);
    EXPECT_EQ(sa.data_segs_out - a0.data_segs_out, 6u);
    EXPECT_EQ(sa.segs_out - a0.segs_out, 6u);
    EXPECT_EQ(sa.segs_in - a0.segs_in, 5u) << "1 ACK, 3 duplicates, the full ACK";
    EXPECT_EQ(sa.retrans_fast, 1u);
    EXPECT_EQ(sa.retrans_timeout, 0u);
    EXPECT_EQ(sa.rto_expiries, 0u);
    EXPECT_EQ(sa.dup_acks_in, 3u);
    EXPECT_EQ(sa.window_probes, 0u);
    const ConnStats& sb = s->stats();
    EXPECT_EQ(sb.bytes_in, 5 * kMss);
    EXPECT_EQ(sb.data_segs_in - b0.data_segs_in, 5u);
    EXPECT_EQ(sb.segs_in - b0.segs_in, 5u);
    EXPECT_EQ(sb.segs_out - b0.segs_out, 5u);
    EXPECT_EQ(sb.ooo_segs, 3u);
    EXPECT_EQ(sb.dup_acks_out, 3u);
    EXPECT_EQ(sb.bytes_out, 0u);
    EXPECT_EQ(a.counters.fast_retransmits, 1u);
    EXPECT_EQ(b.counters.ooo_queued, 3u);
    EXPECT_EQ(read_all(b, *s, link.now), d);

    EXPECT_EQ(c->rtt().srtt(), ms(20));
    EXPECT_EQ(c->rtt().rttvar(), Duration::micros(8750));
    EXPECT_EQ(c->rtt().rto(), ms(200));
    EXPECT_EQ(c->congestion().cwnd(), 2 * kMss);
    EXPECT_EQ(c->congestion().ssthresh(), 2 * kMss);

    const std::string sum(c->summary().view());
    EXPECT_THAT(sum, ::testing::StartsWith("ESTABLISHED "));
    EXPECT_THAT(sum, HasSubstr(" rto:200 "));
    EXPECT_THAT(sum, HasSubstr(" rtt:20.000/8.750 "));
    EXPECT_THAT(sum, HasSubstr(" mss:1448 "));
    EXPECT_THAT(sum, HasSubstr(" cwnd:2 "));
    EXPECT_THAT(sum, HasSubstr(" ssthresh:2 "));
    EXPECT_THAT(sum, HasSubstr(" bytes_sent:7240 "));
    EXPECT_THAT(sum, HasSubstr(" bytes_retrans:1448 "));
    EXPECT_THAT(sum, HasSubstr(" bytes_acked:7240 "));
    EXPECT_THAT(sum, HasSubstr(" retrans:0/1 "));
    EXPECT_THAT(sum, HasSubstr(" dupacks:3 "));
    EXPECT_THAT(sum, HasSubstr(" zwp:0 "));
    const std::string sumb(s->summary().view());
    EXPECT_THAT(sumb, HasSubstr(" bytes_received:7240 "));
    EXPECT_THAT(sumb, HasSubstr(" ooo:3 "));
    EXPECT_THAT(sumb, HasSubstr(" rcvmss:1448 "));
    EXPECT_THAT(sumb, HasSubstr(" ssthresh:inf "));

    ASSERT_TRUE(c->close(a.ctx, link.now));
    EXPECT_THAT(std::string(c->summary().view()), ::testing::StartsWith("FIN-WAIT-1 "));
}

// ---------------------------------------------------------------------------
// Buffers
// ---------------------------------------------------------------------------

// After a transfer both ways and a full close (TIME-WAIT expired, both TCBs reaped), every
// payload buffer and every BufNode is back in each endpoint's pool.
TEST_F(DataTransfer, EveryBufferIsBackAfterClose) {
    ASSERT_NO_FATAL_FAILURE(start());
    const std::string da = pattern(50000, 3);
    const std::string db = pattern(30000, 4);
    write(a, *c, da);
    write(b, *s, db);
    link.pump();
    EXPECT_GT(a.heap.in_use(), 0u);
    EXPECT_GT(b.bufs.nodes_in_use(), 0u);
    EXPECT_EQ(read_all(b, *s, link.now), da);
    EXPECT_EQ(read_all(a, *c, link.now), db);
    ASSERT_TRUE(c->close(a.ctx, link.now));
    link.pump();
    ASSERT_TRUE(s->close(b.ctx, link.now));
    link.pump();
    ASSERT_EQ(s->state(), State::Closed);
    ASSERT_EQ(c->state(), State::TimeWait);
    link.settle(link.now + Duration::seconds(61));
    ASSERT_EQ(c->state(), State::Closed);
    a.reap();
    b.reap();
    a.done_with_output();
    b.done_with_output();
    EXPECT_EQ(a.heap.in_use(), 0u);
    EXPECT_EQ(b.heap.in_use(), 0u);
    EXPECT_EQ(a.bufs.nodes_in_use(), 0u);
    EXPECT_EQ(b.bufs.nodes_in_use(), 0u);
    EXPECT_EQ(a.counters.drop_no_buffer + b.counters.drop_no_buffer, 0u);
}

// Buffers held in every queue (unsent and unacknowledged data, unread data, out-of-order
// data) come back when the connections are aborted or fail.
TEST_F(DataTransfer, EveryBufferIsBackAfterAbortAndFailure) {
    b.cfg.recv_buffer = 8192;
    ASSERT_NO_FATAL_FAILURE(start());
    write(a, *c, pattern(50000));  // most of it unsent: B's window is small
    auto segs = a.drain();
    ASSERT_GE(segs.size(), 3u);
    b.deliver(segs[0], link.now);
    b.deliver(segs[2], link.now);  // out of order
    ASSERT_EQ(s->bytes_readable(), kMss);
    ASSERT_EQ(s->recv_queue().ooo_bytes(), kMss);
    b.drain();
    s->abort(b.ctx, link.now);
    b.done_with_output();
    EXPECT_EQ(b.heap.in_use(), 0u);
    EXPECT_EQ(b.bufs.nodes_in_use(), 0u);
    // A's data is never acknowledged: it gives up after data_retries and frees it all.
    a.cfg.data_retries = 2;
    lose = [](const Wire&, bool) { return true; };
    while (c->state() != State::Closed) {
        ASSERT_TRUE(link.run_timers());
    }
    EXPECT_EQ(c->failure(), Error::TimedOut);
    a.done_with_output();
    EXPECT_EQ(a.heap.in_use(), 0u);
    EXPECT_EQ(a.bufs.nodes_in_use(), 0u);
}
