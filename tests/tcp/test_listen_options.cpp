// Passive-open details: SYN cookies, backlog and accept-queue overflow, timestamps
// (PAWS), RFC 5961 ACK validation, segment parsing and malformed options.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "harness.hpp"
#include "ustcp/tcp/segment.hpp"

using namespace ustcp;
using namespace ustcp::tcp;
using namespace ustcp::tcp::test;
using ::testing::ElementsAre;
namespace fl = wire::tcp_flags;

namespace {

const Ipv4Addr kA(198, 18, 0, 1);
const Ipv4Addr kB(198, 18, 0, 2);
constexpr std::uint16_t kPort = 5001;

struct Listen : ::testing::Test {
    Endpoint a{kA};
    Endpoint b{kB, Config{}, 2};
    Link link{a, b};

    std::size_t count_from_b(const std::string& flags, std::size_t first = 0) const {
        std::size_t n = 0;
        for (std::size_t i = first; i < link.trace.size(); ++i) n += !link.trace[i].from_a && link.trace[i].w.flags() == flags;
        return n;
    }
};

}  // namespace

TEST_F(Listen, SynCookiesWhenSynBacklogIsFull) {
    b.listen(kPort, 16, 0);  // no room for SYN-RECEIVED state at all
    Connection& c = a.connect(link.now, 40000, kB, kPort);
    link.pump();
    EXPECT_EQ(b.counters.syn_cookies_sent, 1u);
    EXPECT_EQ(b.counters.syn_cookies_ok, 1u);
    EXPECT_EQ(c.state(), State::Established);
    Connection* s = b.listener()->accept();
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->state(), State::Established);
    // Window scale and SACK travelled in the timestamp; the MSS in the cookie.
    EXPECT_TRUE(s->timestamps_on());
    EXPECT_TRUE(s->sack_permitted());
    EXPECT_EQ(s->snd_wscale(), c.rcv_wscale());
    EXPECT_EQ(s->rcv_wscale(), c.snd_wscale());
    EXPECT_EQ(s->snd_mss(), 1460 - 12);
    EXPECT_EQ(s->iss() + 1, c.rcv_nxt());
    // And data flows both ways.
    ASSERT_TRUE(c.send(a.ctx, link.now, bytes_of("hello")));
    link.pump();
    std::uint8_t buf[16];
    auto n = s->receive(b.ctx, link.now, buf);
    ASSERT_TRUE(n);
    EXPECT_EQ(std::string(reinterpret_cast<char*>(buf), *n), "hello");
    EXPECT_EQ(b.listener()->syn_received(), 0u);
}

TEST_F(Listen, CookiesWithoutTimestampsOfferNeitherScaleNorSack) {
    a.cfg.timestamps = false;
    a.cfg.mss = 1400;
    b.cfg.syn_cookies = SynCookieMode::Always;
    b.listen(kPort);
    Connection& c = a.connect(link.now, 40000, kB, kPort);
    link.pump();
    const auto& synack = link.trace[1].w.hdr;
    EXPECT_FALSE(synack.options.wscale) << "could not be remembered without timestamps";
    EXPECT_FALSE(synack.options.sack_permitted);
    EXPECT_EQ(c.state(), State::Established);
    Connection* s = b.listener()->accept();
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->snd_mss(), 1380) << "rounded down to the cookie's MSS table";
    EXPECT_EQ(c.snd_wscale(), 0);
}

TEST_F(Listen, ForgedCookieAckIsResetAndCounted) {
    b.listen(kPort, 16, 0);
    wire::TcpRepr ack;
    ack.src_port = 40000;
    ack.dst_port = kPort;
    ack.seq = SeqNum(1000);
    ack.ack = SeqNum(123456789);
    ack.flags = fl::ACK;
    ack.window = 1000;
    b.deliver(Wire{FourTuple{kA, kB, 40000, kPort}, ack, {}}, link.now);
    auto out = b.drain();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].flags(), "R");
    EXPECT_EQ(out[0].hdr.seq, ack.ack) << "LISTEN answers an ACK with <SEQ=SEG.ACK><CTL=RST>";
    EXPECT_EQ(b.counters.syn_cookies_bad, 1u);
    EXPECT_EQ(b.listener()->accept_queued(), 0u);
}

TEST_F(Listen, FullSynBacklogWithoutCookiesDrops) {
    b.cfg.syn_cookies = SynCookieMode::Off;
    b.listen(kPort, 16, 1);
    link.drop = [](const Wire& w, bool from_a) { return from_a && !w.has(fl::SYN); };  // keep them half-open
    a.connect(link.now, 40000, kB, kPort);
    a.connect(link.now, 40001, kB, kPort);
    link.pump();
    EXPECT_EQ(b.listener()->syn_received(), 1u);
    EXPECT_EQ(b.counters.syn_backlog_drops, 1u);
    EXPECT_EQ(count_from_b("S."), 1u);
}

TEST_F(Listen, AcceptOverflowDropsFinalAckThenRecovers) {
    b.listen(kPort, 1, 16);
    // Both SYNs arrive while the accept queue is empty (a SYN finding it full is dropped).
    Connection& c1 = a.connect(link.now, 40000, kB, kPort);
    Connection& c2 = a.connect(link.now, 40001, kB, kPort);
    link.pump();
    // The client believes it is connected (its ACK left); the server dropped that ACK.
    EXPECT_EQ(c1.state(), State::Established);
    EXPECT_EQ(c2.state(), State::Established);
    Connection* s2 = b.find(FourTuple{kB, kA, kPort, 40001});
    ASSERT_NE(s2, nullptr);
    EXPECT_EQ(s2->state(), State::SynReceived);
    EXPECT_EQ(b.counters.accept_overflows, 1u);
    // The application accepts the first; the SYN-ACK retransmission gets re-ACKed and admitted.
    ASSERT_NE(b.listener()->accept(), nullptr);
    ASSERT_TRUE(link.run_timers());
    EXPECT_EQ(s2->state(), State::Established);
    EXPECT_EQ(b.listener()->accept(), s2);
}

TEST_F(Listen, AcceptOverflowResetWhenConfigured) {
    b.cfg.accept_overflow = AcceptOverflow::Reset;
    b.listen(kPort, 1, 16);
    a.connect(link.now, 40000, kB, kPort);
    Connection& c2 = a.connect(link.now, 40001, kB, kPort);
    link.pump();
    EXPECT_EQ(c2.state(), State::Closed);
    EXPECT_EQ(b.counters.accept_overflows, 1u);
    EXPECT_EQ(b.listener()->syn_received(), 0u);
}

namespace {
struct Established : Listen {
    Connection* c = nullptr;
    Connection* s = nullptr;
    void SetUp() override {
        b.listen(kPort);
        c = &a.connect(link.now, 40000, kB, kPort);
        link.pump();
        s = b.listener()->accept();
        ASSERT_NE(s, nullptr);
        link.now += Duration::millis(10);
    }
    // A segment from A to B as A would send it now, with A's timestamp clock.
    wire::TcpRepr from_a(std::uint8_t flags, SeqNum seq) const {
        wire::TcpRepr r;
        r.src_port = 40000;
        r.dst_port = kPort;
        r.seq = seq;
        r.ack = s->snd_nxt();
        r.flags = flags;
        r.window = 1000;
        r.options.timestamps = wire::TcpTimestamps{ts_clock(link.now, ts_offset_for(a.ctx, c->tuple())), 0};
        return r;
    }
    void deliver(const wire::TcpRepr& r, const std::string& payload = "") {
        Wire w{FourTuple{kA, kB, 40000, kPort}, r, {}};
        w.payload.assign(payload.begin(), payload.end());
        b.deliver(w, link.now);
    }
};
}  // namespace

TEST_F(Established, PawsDropsOldTimestampWithAck) {
    wire::TcpRepr r = from_a(fl::ACK | fl::PSH, s->rcv_nxt());
    r.options.timestamps->val -= 1000;  // older than TS.Recent
    deliver(r, "stale");
    auto out = b.drain();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].flags(), ".");
    EXPECT_EQ(b.counters.drop_paws, 1u);
    EXPECT_EQ(s->bytes_readable(), 0u);
    // The same segment with a current timestamp is accepted.
    deliver(from_a(fl::ACK | fl::PSH, s->rcv_nxt()), "fresh");
    EXPECT_EQ(s->bytes_readable(), 5u);
}

TEST_F(Established, MissingTimestampIsDroppedSilently) {
    wire::TcpRepr r = from_a(fl::ACK | fl::PSH, s->rcv_nxt());
    r.options.timestamps.reset();
    deliver(r, "x");
    EXPECT_TRUE(b.drain().empty());
    EXPECT_EQ(b.counters.drop_no_timestamp, 1u);
    EXPECT_EQ(s->bytes_readable(), 0u);
    // A RST needs no timestamp (RFC 7323 §3.2) and, sent at RCV.NXT, resets.
    wire::TcpRepr rst = from_a(fl::RST, s->rcv_nxt());
    rst.options.timestamps.reset();
    deliver(rst);
    EXPECT_EQ(s->state(), State::Closed);
}

TEST_F(Established, TimestampRecentFollowsLastAckSent) {
    // RFC 7323 §4.3: TS.Recent is taken from segments at or before Last.ACK.sent; the echo shows it.
    link.now += Duration::millis(5);
    wire::TcpRepr r = from_a(fl::ACK | fl::PSH, s->rcv_nxt());
    const std::uint32_t val = r.options.timestamps->val;
    deliver(r, "abc");
    auto out = b.drain();
    ASSERT_EQ(out.size(), 1u);
    ASSERT_TRUE(out[0].hdr.options.timestamps);
    EXPECT_EQ(out[0].hdr.options.timestamps->ecr, val);
}

TEST_F(Established, AckOfUnsentDataIsChallengedAndDropped) {
    wire::TcpRepr r = from_a(fl::ACK | fl::PSH, s->rcv_nxt());
    r.ack = s->snd_nxt() + 100000;
    deliver(r, "data");
    auto out = b.drain();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].flags(), ".");
    EXPECT_EQ(b.counters.drop_bad_ack, 1u);
    EXPECT_EQ(s->bytes_readable(), 0u) << "RFC 5961 §5.2: the segment is discarded";
}

TEST_F(Established, DeferredAckRidesOnTheApplicationsReply) {
    // With Context::defer_acks the ACK owed for arriving data waits for the burst's end,
    // so an echo sent in the same burst carries it: one segment instead of two.
    b.ctx.defer_acks = true;
    deliver(from_a(fl::ACK | fl::PSH, s->rcv_nxt()), "ping");
    EXPECT_TRUE(s->ack_pending());
    std::uint8_t buf[8];
    auto n = s->receive(b.ctx, link.now, buf);
    ASSERT_TRUE(n);
    ASSERT_TRUE(s->send(b.ctx, link.now, wire::Bytes(buf, *n)));
    s->flush_ack(b.ctx, link.now);
    auto out = b.drain();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].flags(), "P.");
    EXPECT_EQ(out[0].hdr.ack, s->rcv_nxt());
    // Nothing to piggyback on: flush_ack sends the bare ACK.
    deliver(from_a(fl::ACK | fl::PSH, s->rcv_nxt()), "more");
    s->flush_ack(b.ctx, link.now);
    out = b.drain();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].flags(), ".");
}

TEST(ParseSegment, ChecksOptionsAndChecksum) {
    Ipv4Addr src(198, 18, 0, 1), dst(198, 18, 0, 2);
    wire::TcpRepr r;
    r.src_port = 40000;
    r.dst_port = 80;
    r.seq = SeqNum(7);
    r.flags = fl::SYN;
    r.options.mss = 1460;
    std::vector<std::uint8_t> seg(r.header_len() + 3, 'z');
    (void)r.emit_header(seg);
    wire::fill_tcp_checksum_ipv4(wire::MutBytes(seg).first(r.header_len()), wire::Bytes(seg).subspan(r.header_len()), src,
                                 dst);
    auto ok = parse_segment(src, dst, seg);
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->tuple.local_port, 80);
    EXPECT_EQ(ok->tuple.remote_addr, src);
    EXPECT_EQ(ok->hdr.options.mss, 1460);
    EXPECT_EQ(ok->payload.size(), 3u);

    auto bad_sum = seg;
    bad_sum[25] ^= 1;
    auto e1 = parse_segment(src, dst, bad_sum);
    ASSERT_FALSE(e1);
    EXPECT_EQ(e1.error().kind, SegmentError::BadChecksum);
    EXPECT_TRUE(parse_segment(src, dst, bad_sum, false)) << "offloaded checksum is trusted";

    auto bad_opt = seg;
    bad_opt[21] = 1;  // MSS option length 1
    auto e2 = parse_segment(src, dst, bad_opt, false);
    ASSERT_FALSE(e2);
    EXPECT_EQ(e2.error().kind, SegmentError::Malformed);
    EXPECT_EQ(e2.error().parse, wire::ParseError::OptionBadLength);

    // The engine counts each failure by reason.
    Counters c;
    count_failure(c, e1.error());
    count_failure(c, e2.error());
    count_failure(c, parse_segment(src, dst, wire::Bytes(seg).first(12)).error());
    EXPECT_EQ(c.drop_bad_checksum, 1u);
    EXPECT_EQ(c.drop_bad_options, 1u);
    EXPECT_EQ(c.drop_malformed, 1u);
}
