// Regressions found by tests/fuzz/fuzz_tcp_connection.cpp. Each test names the seed
// corpus file that reproduces it (tests/fuzz/corpus/fuzz_tcp_connection/regress-*)
// and the invariant the fuzzer saw broken.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "pair_fixture.hpp"

using namespace ustcp;
using namespace ustcp::tcp;
using namespace ustcp::tcp::test;
namespace fl = wire::tcp_flags;

namespace {

struct Regression : PairTest {
    Connection& open() {
        Connection& c = PairTest::open();
        EXPECT_EQ(c.state(), State::Established);
        return c;
    }
};

}  // namespace

// regress-connect-after-close: "once CLOSED it stays CLOSED". A TCB that closed without a
// failure (LAST-ACK acknowledged, TIME-WAIT expiry, ABORT, CLOSE in SYN-SENT) accepted a
// second connect() and went back to SYN-SENT carrying the old incarnation's flags (FIN
// sent and received), so it could never send data. RFC 9293: a closed TCB is deleted;
// OPEN needs a new one.
TEST_F(Regression, ConnectOnAClosedTcbIsRefused) {
    Connection& c = open();
    Connection& s = server();
    ASSERT_TRUE(s.shutdown_write(b.ctx, link.now));
    link.pump();
    ASSERT_TRUE(c.shutdown_write(a.ctx, link.now));  // CLOSE-WAIT -> LAST-ACK
    link.pump();
    ASSERT_EQ(c.state(), State::Closed);
    ASSERT_FALSE(c.failure().has_value());

    auto r = c.connect(a.ctx, link.now);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), Error::InvalidState);
    EXPECT_EQ(c.state(), State::Closed);
    EXPECT_TRUE(a.drain().empty());  // no SYN
}

TEST_F(Regression, ConnectAfterAbortIsRefused) {
    Connection& c = open();
    c.abort(a.ctx, link.now);
    ASSERT_EQ(c.state(), State::Closed);
    a.drain();
    auto r = c.connect(a.ctx, link.now);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), Error::InvalidState);
    EXPECT_EQ(c.state(), State::Closed);
    EXPECT_TRUE(a.drain().empty());
}

TEST_F(Regression, ConnectAfterCloseInSynSentIsRefused) {
    Connection& c = a.connect(link.now, kEphemeral, kB, kPort);
    ASSERT_TRUE(c.close(a.ctx, link.now));  // "delete the TCB"
    ASSERT_EQ(c.state(), State::Closed);
    a.drain();
    auto r = c.connect(a.ctx, link.now);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), Error::InvalidState);
    EXPECT_TRUE(a.drain().empty());
}

// regress-outbox-overflow: "the Outbox never overflows in a single step". One send() into a
// large peer window emitted a segment per MSS with no bound, and the 64-slot outbox dropped
// everything past the 64th after SND.NXT had already moved over it, so the data came back
// only by retransmission timeouts, one MSS per RTO. Output now stops at a full outbox; the
// ACKs of what is in flight send the rest.
TEST_F(Regression, OneSendNeverOverflowsTheOutbox) {
    Connection& c = open();
    Connection& s = server();
    a.drain();
    std::vector<std::uint8_t> data(200000);
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i * 13);
    auto n = c.send(a.ctx, link.now, data);
    ASSERT_TRUE(n);
    ASSERT_EQ(*n, data.size());
    EXPECT_EQ(a.out.segment_overflows(), 0u);
    EXPECT_LE(a.out.segments().size(), Outbox::kMaxSegments);

    const Instant before = link.now;
    link.pump();  // no timers: ACK clocking alone must deliver everything
    EXPECT_EQ(link.now, before);
    EXPECT_EQ(a.out.segment_overflows(), 0u);
    EXPECT_EQ(b.out.segment_overflows(), 0u);
    EXPECT_EQ(a.counters.retransmits, 0u);
    std::vector<std::uint8_t> got;
    std::uint8_t buf[65536];
    for (;;) {
        auto r = s.receive(b.ctx, link.now, buf);
        if (!r || *r == 0) break;
        got.insert(got.end(), buf, buf + *r);
        link.pump();
    }
    EXPECT_EQ(got, data);
    EXPECT_EQ(c.snd_una(), c.snd_nxt());
}

// The same when the outbox is already full (other connections filled it this burst): nothing
// is sent, nothing is lost, and the timer sends it later without counting a retransmission.
TEST_F(Regression, FullOutboxDefersNewDataToTheTimer) {
    Connection& c = open();
    link.pump();
    a.drain();
    OutSegment filler{FourTuple{kA, kB, 1, 2}, {}, {}, {}};
    while (a.out.segments().size() < Outbox::kMaxSegments) a.out.push(filler);
    const std::string msg = "hello";
    auto n = c.send(a.ctx, link.now, wire::Bytes(reinterpret_cast<const std::uint8_t*>(msg.data()), msg.size()));
    ASSERT_TRUE(n);
    EXPECT_EQ(a.out.segment_overflows(), 0u);
    EXPECT_EQ(c.snd_nxt(), c.snd_una());  // held back, not "sent" into a full outbox
    ASSERT_NE(c.next_deadline(), kNever);
    a.out.clear();

    link.now = c.next_deadline();
    c.on_deadline(a.ctx, link.now);
    ASSERT_EQ(a.out.segments().size(), 1u);
    EXPECT_EQ(a.out.segments()[0].payload_len(), msg.size());
    EXPECT_EQ(a.counters.retransmits, 0u);
    link.pump();
    EXPECT_EQ(c.snd_una(), c.snd_nxt());
    EXPECT_EQ(server().bytes_readable(), msg.size());
}

// regress-closing-fin-unsent: "data or a FIN to send has a timer or goes out". CLOSE enters
// FIN-WAIT-1 before our FIN is formed, so the peer's FIN can take us to CLOSING while the
// FIN still waits (here behind a CLOSE queued in SYN-RECEIVED of a simultaneous open).
// output() did nothing in CLOSING, so the FIN was never sent and both ends hung: we in
// CLOSING with no timer, the peer in FIN-WAIT-1/CLOSING retransmitting until it timed out.
TEST_F(Regression, ClosingSendsTheQueuedFin) {
    Connection& ca = a.connect(link.now, 5000, kB, 6000);
    Connection& cb = b.connect(link.now, 6000, kA, 5000);
    ASSERT_TRUE(ca.shutdown_write(a.ctx, link.now));  // queued until ESTABLISHED
    ASSERT_TRUE(cb.shutdown_write(b.ctx, link.now));
    auto syn_a = a.drain();
    auto syn_b = b.drain();
    ASSERT_EQ(syn_a.size(), 1u);
    ASSERT_EQ(syn_b.size(), 1u);
    a.deliver(syn_b[0], link.now);  // a: SYN-SENT -> SYN-RECEIVED, SYN-ACK (b's SYN to a... and a's is lost)
    ASSERT_EQ(ca.state(), State::SynReceived);
    auto synack = a.drain();
    ASSERT_EQ(synack.size(), 1u);
    b.deliver(synack[0], link.now);  // b: SYN-SENT -> ESTABLISHED -> FIN-WAIT-1, sends its FIN
    ASSERT_EQ(cb.state(), State::FinWait1);
    auto fin_b = b.drain();
    ASSERT_EQ(fin_b.size(), 1u);
    ASSERT_TRUE(fin_b[0].has(fl::FIN));
    a.deliver(fin_b[0], link.now);  // a: SYN-RECEIVED -> ESTABLISHED -> FIN-WAIT-1 -> CLOSING
    ASSERT_EQ(ca.state(), State::Closing);
    auto out = a.drain();
    bool fin = false;
    for (const auto& w : out) fin = fin || w.has(fl::FIN);
    EXPECT_TRUE(fin) << "CLOSING must still send the FIN it owes";
    for (const auto& w : out) b.deliver(w, link.now);
    link.settle(link.now + Duration::seconds(600));
    EXPECT_EQ(ca.state(), State::Closed);
    EXPECT_EQ(cb.state(), State::Closed);
    EXPECT_FALSE(ca.failure().has_value());
    EXPECT_FALSE(cb.failure().has_value());
}

// The same hang with data: FIN-WAIT-1 with data held back by the peer's zero window, the
// peer's FIN arrives (CLOSING), then the window opens: the rest of the data and our FIN
// must still go out.
TEST(RegressionClosing, ClosingSendsDataHeldBackByTheWindow) {
    Config small;
    small.recv_buffer = 1000;
    Endpoint a{kA};
    Endpoint b{kB, small, 2};
    Link link{a, b};
    b.listen(kPort);
    Connection& c = a.connect(link.now, kEphemeral, kB, kPort);
    link.pump();
    Connection* s = b.find(FourTuple{kB, kA, kPort, kEphemeral});
    ASSERT_NE(s, nullptr);
    std::vector<std::uint8_t> data(3000);
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i);
    ASSERT_TRUE(c.send(a.ctx, link.now, data));
    link.pump();  // 1000 bytes fill b's window
    ASSERT_TRUE(c.shutdown_write(a.ctx, link.now));  // FIN-WAIT-1, FIN behind 2000 unsent bytes
    ASSERT_TRUE(s->shutdown_write(b.ctx, link.now));  // b's FIN
    link.pump();
    ASSERT_EQ(c.state(), State::Closing);

    std::vector<std::uint8_t> got;
    std::uint8_t buf[4096];
    for (int i = 0; i < 100; ++i) {
        auto r = s->receive(b.ctx, link.now, buf);  // opens the window: update ACK
        if (r && *r > 0) got.insert(got.end(), buf, buf + *r);
        link.pump();
        if (got.size() == data.size()) break;
    }
    EXPECT_EQ(got, data);
    link.settle(link.now + Duration::seconds(600));
    EXPECT_EQ(c.state(), State::Closed);
    EXPECT_EQ(s->state(), State::Closed);
    EXPECT_FALSE(c.failure().has_value());
}

// regress-fin-out-of-order: "what receive() returns is what the peer sent, and end of stream
// comes only after all of it". A bare FIN beyond RCV.NXT (the data before it lost) skipped
// the out-of-order test that data gets: the FIN step ran, RCV.NXT moved one past the hole
// (onto the second byte of the missing data), the application saw end of stream, and the
// retransmitted data then arrived shifted by one.
TEST_F(Regression, FinBeyondAHoleIsNotProcessed) {
    Connection& c = open();
    Connection& s = server();
    const SeqNum rcv_before = s.rcv_nxt();
    std::vector<std::uint8_t> data(1000);
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i * 7 + 1);
    ASSERT_TRUE(c.send(a.ctx, link.now, data));
    a.drain();  // the data segment is lost
    ASSERT_TRUE(c.shutdown_write(a.ctx, link.now));
    auto fin = a.drain();
    ASSERT_EQ(fin.size(), 1u);
    ASSERT_TRUE(fin[0].has(fl::FIN));
    ASSERT_EQ(fin[0].hdr.seq, rcv_before + 1000u);

    b.deliver(fin[0], link.now);
    EXPECT_EQ(s.state(), State::Established);
    EXPECT_EQ(s.rcv_nxt(), rcv_before);
    EXPECT_FALSE(s.peer_closed());
    auto dup = b.drain();
    ASSERT_EQ(dup.size(), 1u);  // a duplicate ACK pointing at the hole
    EXPECT_EQ(dup[0].hdr.ack, rcv_before);
    for (const auto& w : dup) a.deliver(w, link.now);

    link.settle(link.now + Duration::seconds(5));  // the RTO resends data and FIN
    EXPECT_EQ(s.state(), State::CloseWait);
    std::vector<std::uint8_t> got(2000);
    auto n = s.receive(b.ctx, link.now, got);
    ASSERT_TRUE(n);
    got.resize(*n);
    EXPECT_EQ(got, data);
}

// regress-last-ack-data: "what receive() returns is what the peer sent". shutdown_write() in
// CLOSE-WAIT enters LAST-ACK at once, before queued data is sent, but LAST-ACK's ACK
// processing only moved SND.UNA: acknowledged bytes stayed in the send buffer and the
// window was never updated, so the rest of the data went out from the wrong offsets (the
// peer read old bytes again) and past the peer's window.
TEST(RegressionLastAck, LastAckKeepsSendingQueuedDataCorrectly) {
    Config small;
    small.recv_buffer = 10000;
    Endpoint a{kA};
    Endpoint b{kB, small, 2};
    Link link{a, b};
    b.listen(kPort);
    Connection& c = a.connect(link.now, kEphemeral, kB, kPort);
    link.pump();
    Connection* s = b.find(FourTuple{kB, kA, kPort, kEphemeral});
    ASSERT_NE(s, nullptr);
    ASSERT_TRUE(s->shutdown_write(b.ctx, link.now));
    link.pump();
    ASSERT_EQ(c.state(), State::CloseWait);

    std::vector<std::uint8_t> data(50000);
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i * 31 + (i >> 8));
    ASSERT_TRUE(c.send(a.ctx, link.now, data));  // 10000 bytes fit b's window
    ASSERT_TRUE(c.shutdown_write(a.ctx, link.now));  // LAST-ACK with 40000 bytes unsent
    ASSERT_EQ(c.state(), State::LastAck);
    link.pump();

    std::vector<std::uint8_t> got;
    std::uint8_t buf[4096];
    for (int i = 0; i < 1000 && got.size() < data.size(); ++i) {
        auto r = s->receive(b.ctx, link.now, buf);
        if (r && *r > 0) got.insert(got.end(), buf, buf + *r);
        link.pump();
    }
    EXPECT_EQ(got, data);
    EXPECT_EQ(c.state(), State::Closed);  // our FIN acknowledged after all the data
    EXPECT_FALSE(c.failure().has_value());
    EXPECT_EQ(s->state(), State::TimeWait);
}

// Found while reviewing the SYN accounting next to the fuzzer's findings (no fuzz input:
// it needs 4 GiB of data). "Is our SYN still unacknowledged" was decided by SND.UNA == ISS,
// which holds again once exactly 2^32 - 1 bytes of data are acknowledged: from then on one
// byte of every ACK was taken for the SYN, unacked_data() was one short, and the stream went
// out shifted (the peer read a byte twice), and the TCB went back to handshake processing.
TEST(RegressionSeqWrap, SynAccountingSurvivesSndUnaReturningToIss) {
    Config cfg;
    cfg.mss = 8960;
    cfg.timestamps = false;
    cfg.send_buffer = 1 << 20;
    cfg.nodelay = true;  // "abc" and "def" below go out at once, unacknowledged
    Stack stack(cfg, SipKey::from_words(1, 2), SipKey::from_words(3, 4));
    Context& ctx = stack.ctx;
    Outbox& out = stack.out;
    Connection s(FourTuple{kB, kA, kPort, kEphemeral});
    const Instant now = Instant::from_nanos(1'000'000'000);
    const SeqNum iss(0x89abcdefu);

    wire::TcpRepr syn;
    syn.src_port = kEphemeral;
    syn.dst_port = kPort;
    syn.seq = SeqNum(1000);
    syn.flags = fl::SYN;
    syn.window = 65535;
    syn.options.mss = 8960;
    syn.options.wscale = 14;
    s.accept_syn(ctx, now, syn, nullptr, iss);
    out.clear();
    wire::TcpRepr ack;
    ack.src_port = kEphemeral;
    ack.dst_port = kPort;
    ack.seq = SeqNum(1001);
    ack.flags = fl::ACK;
    ack.window = 65535;  // << 14: a 1 GiB window
    ack.ack = iss + 1;
    s.on_segment(ctx, now, ack, wire::Bytes{});
    ASSERT_EQ(s.state(), State::Established);

    // Send and acknowledge exactly 2^32 - 1 bytes: SND.UNA comes back to ISS.
    std::vector<std::uint8_t> zeros(cfg.send_buffer);
    std::uint64_t remaining = 0xffffffffull;
    while (remaining > 0) {
        auto n = s.send(ctx, now, wire::Bytes(zeros.data(), std::min<std::uint64_t>(remaining, zeros.size())));
        ASSERT_TRUE(n);
        remaining -= *n;
        stack.done_with_output();
        while (s.send_queued() > 0) {  // at most an outbox (64 segments) goes out per call
            ack.ack = s.snd_nxt();
            s.on_segment(ctx, now, ack, wire::Bytes{});
            stack.done_with_output();
        }
    }
    ASSERT_EQ(s.snd_una(), iss);
    ASSERT_EQ(s.state(), State::Established);

    std::string wire_bytes;
    auto sent = [&] {
        for (const OutSegment& o : out.segments()) {
            std::string piece(o.payload_len(), '\0');
            o.copy_payload(reinterpret_cast<std::uint8_t*>(piece.data()));
            wire_bytes += piece;
        }
        stack.done_with_output();
    };
    const std::string abc = "abc", def = "def";
    ASSERT_TRUE(s.send(ctx, now, wire::Bytes(reinterpret_cast<const std::uint8_t*>(abc.data()), 3)));
    sent();
    ASSERT_TRUE(s.send(ctx, now, wire::Bytes(reinterpret_cast<const std::uint8_t*>(def.data()), 3)));
    sent();
    EXPECT_EQ(wire_bytes, "abcdef");
    EXPECT_EQ(s.snd_nxt(), iss + 6);
    ack.ack = iss + 6;
    s.on_segment(ctx, now, ack, wire::Bytes{});
    EXPECT_EQ(s.state(), State::Established);
    EXPECT_EQ(s.snd_una(), iss + 6);
    EXPECT_EQ(s.send_queued(), 0u);
    EXPECT_EQ(s.next_deadline(), kNever);
    for (const OutSegment& o : out.segments()) EXPECT_FALSE(o.hdr.flags & fl::SYN) << "no SYN-ACK after 4 GiB";
}

// Found by tests/fuzz/fuzz_tcp_data.cpp (corpus regress-fin-before-ooo-data and
// regress-fin-pulls-ooo-beyond): a peer that sent data beyond its own FIN. The FIN arrived
// in order while that data sat in the out-of-order queue. With the data beyond the FIN
// (1) the queue kept it below RCV.NXT after RCV.NXT moved over the FIN (RecvQueue's
// invariant: out-of-order nodes start beyond RCV.NXT), holding buffers that can never be
// read; and (2) when the FIN segment's text reached into it, insert() pulled it in ahead
// of the FIN, which was then counted at the end of that data: RCV.NXT and the ACK passed
// a sequence number the peer never sent. Now the FIN ends the stream and what is held
// beyond it is dropped, as Linux's tcp_fin() does.
namespace {

struct FinOverOutOfOrder : ::testing::Test {
    FinOverOutOfOrder() : stack(make_cfg(), SipKey::from_words(1, 2), SipKey::from_words(3, 4)) {
        wire::TcpRepr syn = seg(fl::SYN, irs, 0);
        syn.window = 65535;
        s.accept_syn(stack.ctx, now, syn, nullptr);
        stack.done_with_output();
        s.on_segment(stack.ctx, now, seg(fl::ACK, irs + 1, 0), wire::Bytes{});
        EXPECT_EQ(s.state(), State::Established);
        stack.done_with_output();
    }
    static Config make_cfg() {
        Config c;
        c.timestamps = false;
        return c;
    }
    wire::TcpRepr seg(std::uint8_t flags, SeqNum seq, std::size_t /*len*/) const {
        wire::TcpRepr h;
        h.src_port = kEphemeral;
        h.dst_port = kPort;
        h.flags = flags;
        h.seq = seq;
        h.ack = s.snd_nxt();
        h.window = 65535;
        return h;
    }
    /// Data at stream offset `off` (0 = IRS + 1), `len` bytes, byte k of the stream = k.
    void data(std::uint32_t off, std::uint32_t len, bool fin) {
        std::vector<std::uint8_t> p(len);
        for (std::uint32_t i = 0; i < len; ++i) p[i] = static_cast<std::uint8_t>(off + i);
        s.on_segment(stack.ctx, now, seg(static_cast<std::uint8_t>(fl::ACK | (fin ? fl::FIN : 0)), irs + 1 + off, len), p);
    }
    SeqNum last_ack() const {
        SeqNum a = s.rcv_nxt() - 1000;
        for (const OutSegment& o : stack.out.segments()) {
            if (o.hdr.flags & fl::ACK) a = o.hdr.ack;
        }
        return a;
    }

    Stack stack;
    Connection s{FourTuple{kB, kA, kPort, kEphemeral}};
    Instant now = Instant::from_nanos(1'000'000'000);
    SeqNum irs{4000};
};

}  // namespace

TEST_F(FinOverOutOfOrder, DataHeldBeyondAnInOrderFinIsDropped) {
    data(10, 10, false);  // [10, 20) out of order
    ASSERT_EQ(s.recv_queue().ooo_bytes(), 10u);
    stack.done_with_output();
    data(0, 5, true);  // [0, 5) and the FIN at 5
    EXPECT_EQ(s.state(), State::CloseWait);
    EXPECT_TRUE(s.peer_closed());
    EXPECT_EQ(s.rcv_nxt(), irs + 1 + 6);
    EXPECT_EQ(last_ack(), irs + 1 + 6);
    EXPECT_EQ(s.bytes_readable(), 5u);
    EXPECT_EQ(s.recv_queue().ooo_bytes(), 0u);
    EXPECT_EQ(s.recv_queue().ooo_head(), nullptr);
    stack.done_with_output();
    EXPECT_EQ(stack.bufs.nodes_in_use(), 1u);  // only the 5 readable bytes' buffer
    EXPECT_EQ(stack.heap.in_use(), 1u);
}

TEST_F(FinOverOutOfOrder, FinIsNotMovedToTheEndOfDataPulledInBeyondIt) {
    data(10, 15, false);  // [10, 25) out of order
    stack.done_with_output();
    data(0, 15, true);  // [0, 15) and the FIN at 15: the held data reaches beyond it
    EXPECT_EQ(s.state(), State::CloseWait);
    EXPECT_EQ(s.rcv_nxt(), irs + 1 + 16) << "the FIN is at 15, not at 25";
    EXPECT_EQ(last_ack(), irs + 1 + 16);
    EXPECT_EQ(s.bytes_readable(), 15u);
    std::uint8_t buf[64];
    auto r = s.receive(stack.ctx, now, buf);
    ASSERT_TRUE(r);
    ASSERT_EQ(*r, 15u);
    for (std::uint8_t i = 0; i < 15; ++i) EXPECT_EQ(buf[i], i);
    r = s.receive(stack.ctx, now, buf);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, 0u);  // end of stream right after the FIN's data
}

// Found by tests/fuzz/fuzz_tcp_connection.cpp (corpus regress-cookie-window-shrink): a TCB
// made from a SYN cookie started with RCV.ADV = RCV.NXT, forgetting the window its Listener's
// SYN-ACK had advertised (min(recv_buffer, 65535)). Receiver SWS avoidance then advertised a
// zero window once the first data filled most of the buffer: the right edge moved left by
// the free space (RFC 9293 SHLD-14), and data the peer was allowed to send was dropped.
TEST(RegressionCookie, CookieTcbKeepsTheSynAckWindowEdge) {
    Config cfg;
    cfg.syn_cookies = SynCookieMode::Always;
    cfg.recv_buffer = 1460;
    cfg.timestamps = false;
    Stack stack(cfg, SipKey::from_words(1, 2), SipKey::from_words(3, 4));
    Listener listener(kB, kPort, 4, 4);
    const FourTuple tuple{kB, kA, kPort, kEphemeral};
    const Instant now = Instant::from_nanos(1'000'000'000);
    const SeqNum irs(777);

    wire::TcpRepr syn;
    syn.src_port = kEphemeral;
    syn.dst_port = kPort;
    syn.seq = irs;
    syn.flags = fl::SYN;
    syn.window = 65535;
    syn.options.mss = 1460;
    auto v = listener.on_segment(stack.ctx, now, tuple, syn, 0);
    ASSERT_EQ(v.action, Listener::Action::Replied);
    ASSERT_EQ(stack.out.segments().size(), 1u);
    const wire::TcpRepr synack = stack.out.segments()[0].hdr;
    ASSERT_EQ(synack.flags, fl::SYN | fl::ACK);
    const SeqNum edge = synack.ack + synack.window;  // unscaled in a SYN
    EXPECT_EQ(edge, irs + 1 + 1460);
    stack.done_with_output();

    wire::TcpRepr ack;
    ack.src_port = kEphemeral;
    ack.dst_port = kPort;
    ack.seq = irs + 1;
    ack.ack = synack.seq + 1;
    ack.flags = fl::ACK;
    ack.window = 65535;
    v = listener.on_segment(stack.ctx, now, tuple, ack, 0);
    ASSERT_EQ(v.action, Listener::Action::CookieConnection);
    Connection s(tuple);
    s.accept_cookie(stack.ctx, now, ack, wire::Bytes{}, v.cookie, &listener);
    ASSERT_EQ(s.state(), State::Established);
    stack.done_with_output();

    std::vector<std::uint8_t> p(1261, 0x5a);
    ack.flags = fl::ACK | fl::PSH;
    s.on_segment(stack.ctx, now, ack, p);
    ASSERT_EQ(s.rcv_nxt(), irs + 1 + 1261);
    bool acked = false;
    for (const OutSegment& o : stack.out.segments()) {
        if (!(o.hdr.flags & fl::ACK)) continue;
        acked = true;
        EXPECT_GE(o.hdr.ack + (static_cast<std::uint32_t>(o.hdr.window) << s.rcv_wscale()), edge)
            << "advertised right edge moved left";
    }
    EXPECT_TRUE(acked);
    EXPECT_GE(s.rcv_nxt() + s.rcv_wnd(), edge);
}

// Found by tests/fuzz/fuzz_tcp_data.cpp (corpus regress-window-edge-creep): with window
// scaling, RCV.ADV recorded the window field's rounded-up edge, and while receiver SWS
// avoidance held that edge, every ACK rounded the held window up again: after each odd
// advance of RCV.NXT the edge crept right by up to 2^shift - 1, past the receive buffer, so
// the peer could fill the buffer beyond its size by that much per ACK. RCV.ADV now keeps the
// window itself; the field is still rounded up (the edge may retract by less than 2^shift,
// RFC 7323 §2.4) and the acceptance test takes what the field states.
TEST(RegressionWindowScale, AdvertisedEdgeDoesNotCreepPastTheBuffer) {
    Config cfg;
    cfg.recv_buffer = 65536;  // window shift 1
    cfg.timestamps = false;
    Stack stack(cfg, SipKey::from_words(1, 2), SipKey::from_words(3, 4));
    Connection s(FourTuple{kB, kA, kPort, kEphemeral});
    const Instant now = Instant::from_nanos(1'000'000'000);
    const SeqNum irs(123456);
    wire::TcpRepr h;
    h.src_port = kEphemeral;
    h.dst_port = kPort;
    h.seq = irs;
    h.flags = fl::SYN;
    h.window = 65535;
    h.options.wscale = 7;
    s.accept_syn(stack.ctx, now, h, nullptr);
    ASSERT_EQ(s.rcv_wscale(), 1);
    stack.done_with_output();
    h.options = {};
    h.flags = fl::ACK;
    h.seq = irs + 1;
    h.ack = s.snd_nxt();
    s.on_segment(stack.ctx, now, h, wire::Bytes{});
    ASSERT_EQ(s.state(), State::Established);
    stack.done_with_output();

    const SeqNum buffer_end = irs + 1 + cfg.recv_buffer;  // nothing is read
    const std::uint8_t byte = 0x42;
    for (int i = 0; i < 200; ++i) {
        h.seq = s.rcv_nxt();
        s.on_segment(stack.ctx, now, h, wire::Bytes(&byte, 1));
        for (const OutSegment& o : stack.out.segments()) {
            const SeqNum edge = o.hdr.ack + (static_cast<std::uint32_t>(o.hdr.window) << 1);
            ASSERT_LE(edge, buffer_end + 1) << "after " << i + 1 << " one-byte segments";
        }
        stack.done_with_output();
    }
    EXPECT_EQ(s.bytes_readable(), 200u);
    EXPECT_LE(s.rcv_nxt() + s.rcv_wnd(), buffer_end + 1);
}
