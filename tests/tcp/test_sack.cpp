// SACK in lib/tcp: the receiver's blocks (RFC 2018 §4) and D-SACK (RFC 2883), the
// sender's scoreboard and RFC 6675 recovery, RACK's reordering window and TLP timing
// (RFC 8985), the undo of a spurious reduction, and the recovery counters. Two TCBs on a
// fake clock, segments dropped or reordered by hand; every test asserts exact segments,
// times or counters.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "pair_fixture.hpp"
#include "ustcp/tcp/rack.hpp"
#include "ustcp/tcp/sack.hpp"

using namespace ustcp;
using namespace ustcp::tcp;
using namespace ustcp::tcp::test;

namespace {

constexpr std::uint32_t kMss = 1460 - 12;  // the default MSS less the timestamp option
constexpr Duration ms(std::int64_t n) { return Duration::millis(n); }

std::string pattern(std::size_t n, unsigned seed = 0) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + i / 251 + seed * 17) & 0xff);
    return s;
}

std::vector<SeqRange> blocks_of(const Wire& w) {
    std::vector<SeqRange> v;
    for (std::uint8_t i = 0; i < w.hdr.options.sack_count; ++i) v.push_back({w.hdr.options.sack[i].left, w.hdr.options.sack[i].right});
    return v;
}

struct Sack : PairTest {
    Connection* c = nullptr;  // A, the sender
    Connection* s = nullptr;  // B, the receiver
    Instant t0;

    void start() {
        c = &open();
        ASSERT_EQ(c->state(), State::Established);
        s = b.listener()->accept();
        ASSERT_NE(s, nullptr);
        ASSERT_TRUE(c->sack_permitted());
        t0 = link.now;
    }
    [[nodiscard]] SeqNum a_seq(std::uint32_t off) const { return c->iss() + 1 + off; }
    void write(const std::string& d) {
        auto r = c->send(a.ctx, link.now, bytes_of(d));
        ASSERT_TRUE(r);
        ASSERT_EQ(*r, d.size());
    }
    /// A's data segments now in its outbox (B's window and A's cwnd permitting).
    std::vector<Wire> a_data() {
        std::vector<Wire> v;
        for (auto& w : a.drain()) {
            if (!w.payload.empty()) v.push_back(std::move(w));
        }
        return v;
    }
    /// Delivers `w` to B and returns B's ACKs.
    std::vector<Wire> to_b(const Wire& w) {
        b.deliver(w, link.now);
        return b.drain();
    }
    /// Warm-up: `n` bytes through, so that the windows and an RTT are known (one hop = `one_way`).
    void warm(std::size_t n, Duration one_way) {
        write(pattern(n, 9));
        pump_slow(one_way);
        ASSERT_EQ(read_all(b, *s, link.now).size(), n);
    }
    /// Moves segments both ways, each hop taking `one_way`; `lose` drops some.
    std::function<bool(const Wire&, bool from_a)> lose;
    std::vector<std::pair<Instant, Wire>> sent_by_a;  // every data segment A put on the wire
    void pump_slow(Duration one_way, int max_hops = 100000) {
        for (int guard = 0; guard < max_hops; ++guard) {
            auto fa = a.drain();
            auto fb = b.drain();
            if (fa.empty() && fb.empty()) return;
            const Instant sent = link.now;
            link.now += one_way;
            for (auto& w : fa) {
                if (!w.payload.empty()) sent_by_a.emplace_back(sent, w);
                if (!(lose && lose(w, true))) b.deliver(w, link.now);
            }
            for (auto& w : fb) {
                if (!(lose && lose(w, false))) a.deliver(w, link.now);
            }
        }
        FAIL() << "link did not settle";
    }
    /// pump_slow, then timers, until B has read `want` bytes or `limit` passes.
    std::string transfer(std::size_t want, Duration one_way, Instant limit) {
        std::string got;
        while (got.size() < want && link.now < limit) {
            pump_slow(one_way);
            got += read_all(b, *s, link.now);
            if (got.size() >= want) break;
            const Instant next = std::min(a.next_deadline(), b.next_deadline());
            if (next == kNever || next > limit) break;
            link.now = std::max(link.now, next);
            a.tick(link.now);
            b.tick(link.now);
        }
        return got;
    }
};

}  // namespace

// ---------------------------------------------------------------------------
// The scoreboard's range set
// ---------------------------------------------------------------------------

TEST(SackRangeSet, AddMergesTouchingRangesAndCountsOnlyNewBytes) {
    RangeSet<4> r;
    EXPECT_EQ(r.add(SeqNum(100), SeqNum(200)), 100u);
    EXPECT_EQ(r.add(SeqNum(300), SeqNum(400)), 100u);
    EXPECT_EQ(r.add(SeqNum(150), SeqNum(300)), 100u);  // 150..200 held, 200..300 new, touches 300
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0], (SeqRange{SeqNum(100), SeqNum(400)}));
    EXPECT_EQ(r.bytes(), 300u);
    EXPECT_EQ(r.add(SeqNum(120), SeqNum(130)), 0u);
    EXPECT_EQ(r.bytes(), 300u);
}

TEST(SackRangeSet, RemoveSplitsAndFullSetForgetsTheHighest) {
    RangeSet<3> r;
    (void)r.add(SeqNum(0), SeqNum(100));
    EXPECT_EQ(r.remove(SeqNum(40), SeqNum(60)), 20u);
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(r[1], (SeqRange{SeqNum(60), SeqNum(100)}));
    (void)r.add(SeqNum(200), SeqNum(210));
    (void)r.add(SeqNum(150), SeqNum(160));  // full: the highest (200..210) goes
    ASSERT_EQ(r.size(), 3u);
    EXPECT_EQ(r[2], (SeqRange{SeqNum(150), SeqNum(160)}));
    EXPECT_EQ(r.bytes(), 40u + 40u + 10u);
    EXPECT_EQ(r.add(SeqNum(500), SeqNum(510)), 0u);  // beyond everything, no room: ignored
    EXPECT_TRUE(r.contains(SeqNum(70)));
    EXPECT_FALSE(r.contains(SeqNum(45)));
    // Wrap-around: sequence space comparisons, not integers.
    RangeSet<2> w;
    (void)w.add(SeqNum(0xfffffff0u), SeqNum(0x10u));
    EXPECT_EQ(w.bytes(), 0x20u);
    EXPECT_TRUE(w.contains(SeqNum(0x5u)));
}

TEST(SackScoreboard, IsLostNeedsThreeRangesOrMoreThanTwoSegmentsAbove) {
    Scoreboard sb;
    wire::TcpOptions o;
    const SeqNum una(1000);
    const SeqNum max(1000 + 10 * 100);
    o.sack_count = 1;
    o.sack[0] = {una + 200, una + 400};  // two segments of 100 above
    (void)sb.update(una, max, o);
    EXPECT_EQ(sb.is_lost_edge(una, 100), una) << "2 * SMSS SACKed is not more than (DupThresh - 1) * SMSS";
    o.sack[0] = {una + 200, una + 401};
    (void)sb.update(una, max, o);
    EXPECT_EQ(sb.is_lost_edge(una, 100), una + 200);
    Scoreboard three;
    o.sack_count = 3;
    o.sack[0] = {una + 900, una + 910};
    o.sack[1] = {una + 700, una + 710};
    o.sack[2] = {una + 500, una + 510};
    (void)three.update(una, max, o);
    EXPECT_EQ(three.is_lost_edge(una, 100), una + 500) << "three discontiguous ranges above";
    EXPECT_EQ(three.mark_lost(una, una + 500), 500u);
    EXPECT_EQ(three.mark_lost(una, una + 800), 190u + 90u) << "SACKed bytes are never marked lost";
    EXPECT_EQ(three.lost_bytes(), 500u + 280u);
}

TEST(SackScoreboard, BlocksOutsideTheWindowAreCountedAndIgnoredDsackRecognised) {
    Scoreboard sb;
    wire::TcpOptions o;
    const SeqNum una(5000);
    const SeqNum max(9000);
    o.sack_count = 4;
    o.sack[0] = {una - 100, una};        // below SND.UNA as the first block: D-SACK
    o.sack[1] = {una + 100, una + 50};   // empty/reversed
    o.sack[2] = {max, max + 100};        // beyond SND.MAX
    o.sack[3] = {una + 100, una + 200};  // fine
    const auto u = sb.update(una, max, o);
    EXPECT_TRUE(u.dsack);
    EXPECT_EQ(u.dsack_range, (SeqRange{una - 100, una}));
    EXPECT_EQ(u.invalid, 2u);
    EXPECT_EQ(u.newly_sacked, 100u);
    EXPECT_EQ(sb.sacked_bytes(), 100u);
    // A first block inside the second is a D-SACK too (RFC 2883 §4 (4)).
    o.sack_count = 2;
    o.sack[0] = {una + 120, una + 150};
    o.sack[1] = {una + 100, una + 200};
    const auto v = sb.update(una, max, o);
    EXPECT_TRUE(v.dsack);
    EXPECT_EQ(v.newly_sacked, 0u);
}

// A block goes back to the pool dirty and comes out again as a new one: acquire() resets the
// scalars and the counts in place without clearing the ranges or the send log behind them.
TEST(SackPool, AReacquiredBlockStartsAgainWithoutItsPredecessorsState) {
    SackPool pool(1);
    SenderSack* s = pool.acquire();
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(pool.acquire(), nullptr) << "one block, lent";
    wire::TcpOptions o;
    const SeqNum una(1000);
    o.sack_count = 3;
    o.sack[0] = {una + 900, una + 910};
    o.sack[1] = {una + 700, una + 710};
    o.sack[2] = {una + 500, una + 510};
    (void)s->sb.update(una, una + 1000, o);
    (void)s->sb.mark_lost(una, una + 500);
    const Instant t0 = Instant::from_nanos(1'000'000'000);
    for (std::uint32_t i = 0; i < 10; ++i) s->rack.on_send(una + i * 100, una + (i + 1) * 100, t0 + ms(i), i == 0);
    s->rack.on_delivered(una + 900, una + 1000, t0 + ms(29));
    s->rack.on_dsack(una, una + 1000);
    s->in_recovery = s->rp_valid = s->tlp_out = s->lingering = true;
    s->recovery_point = s->high_rxt = una + 1000;
    s->dupacks = 3;
    s->undo_retrans = 700;
    ASSERT_GT(s->sb.sacked_bytes(), 0u);
    ASSERT_GT(s->rack.entries(), 0u);
    pool.release(s);
    EXPECT_EQ(pool.in_use(), 0u);

    SenderSack* t = pool.acquire();
    ASSERT_EQ(t, s) << "the same block again";
    const SenderSack fresh{};
    EXPECT_EQ(t->sb.sacked_bytes(), 0u);
    EXPECT_EQ(t->sb.lost_bytes(), 0u);
    EXPECT_TRUE(t->sb.sacked_ranges().empty());
    EXPECT_TRUE(t->sb.lost_ranges().empty());
    EXPECT_EQ(t->rack.entries(), 0u);
    EXPECT_EQ(t->rack.rtt(), fresh.rack.rtt());
    EXPECT_EQ(t->rack.reo_wnd_mult(), fresh.rack.reo_wnd_mult());
    EXPECT_FALSE(t->rack.reordering_seen());
    EXPECT_FALSE(t->in_recovery || t->rp_valid || t->tlp_out || t->lingering);
    EXPECT_EQ(t->recovery_point, fresh.recovery_point);
    EXPECT_EQ(t->high_rxt, fresh.high_rxt);
    EXPECT_EQ(t->dupacks, 0u);
    EXPECT_EQ(t->undo_retrans, 0u);
    // And it works as new: the first ranges land in slot 0.
    o.sack_count = 1;
    o.sack[0] = {una + 200, una + 300};
    (void)t->sb.update(una, una + 1000, o);
    ASSERT_EQ(t->sb.sacked_ranges().size(), 1u);
    EXPECT_EQ(t->sb.sacked_ranges()[0], (SeqRange{una + 200, una + 300}));
    t->rack.on_send(una, una + 100, t0, false);
    ASSERT_EQ(t->rack.entries(), 1u);
    EXPECT_EQ(t->rack.entry(0).left, una);
    pool.release(t);
}

// ---------------------------------------------------------------------------
// Receiver: RFC 2018 §4 blocks, RFC 2883 D-SACK
// ---------------------------------------------------------------------------

// Holes at segments 0, 2, 4, 6: every ACK leads with the block of the segment that just
// arrived, then the others most recent first; with timestamps at most three.
TEST_F(Sack, ReceiverReportsTheMostRecentBlockFirstAndAtMostThreeWithTimestamps) {
    ASSERT_NO_FATAL_FAILURE(start());
    write(pattern(8 * kMss));
    auto segs = a_data();
    ASSERT_EQ(segs.size(), 8u);
    const auto blk = [&](std::uint32_t i, std::uint32_t j) { return SeqRange{a_seq(i * kMss), a_seq(j * kMss)}; };
    auto acks = to_b(segs[1]);
    ASSERT_EQ(acks.size(), 1u);
    EXPECT_EQ(acks[0].hdr.ack, a_seq(0));
    EXPECT_EQ(blocks_of(acks[0]), (std::vector<SeqRange>{blk(1, 2)}));
    acks = to_b(segs[3]);
    EXPECT_EQ(blocks_of(acks.at(0)), (std::vector<SeqRange>{blk(3, 4), blk(1, 2)}));
    acks = to_b(segs[5]);
    EXPECT_EQ(blocks_of(acks.at(0)), (std::vector<SeqRange>{blk(5, 6), blk(3, 4), blk(1, 2)}));
    acks = to_b(segs[7]);
    EXPECT_EQ(blocks_of(acks.at(0)), (std::vector<SeqRange>{blk(7, 8), blk(5, 6), blk(3, 4)}))
        << "3 blocks fit next to timestamps (12 + 4 + 24 = 40 bytes); the oldest report drops";
    // Segment 2 joins 1 and 3: the merged block leads (it holds the newest segment).
    acks = to_b(segs[2]);
    EXPECT_EQ(blocks_of(acks.at(0)), (std::vector<SeqRange>{blk(1, 4), blk(7, 8), blk(5, 6)}));
    // The hole at 0 filled: ACK 4 segments, the rest still reported.
    acks = to_b(segs[0]);
    EXPECT_EQ(acks.at(0).hdr.ack, a_seq(4 * kMss));
    EXPECT_EQ(blocks_of(acks.at(0)), (std::vector<SeqRange>{blk(7, 8), blk(5, 6)}));
    EXPECT_TRUE(acks.at(0).hdr.options.timestamps.has_value());
}

TEST_F(Sack, ReceiverSendsFourBlocksWithoutTimestamps) {
    a.cfg.timestamps = false;
    ASSERT_NO_FATAL_FAILURE(start());
    const std::uint32_t mss = 1460;
    write(pattern(10 * mss));
    auto segs = a_data();
    ASSERT_EQ(segs.size(), 10u);
    for (std::size_t i : {1u, 3u, 5u, 7u}) (void)to_b(segs[i]);
    auto acks = to_b(segs[9]);
    ASSERT_EQ(acks.size(), 1u);
    EXPECT_FALSE(acks[0].hdr.options.timestamps.has_value());
    const auto bl = blocks_of(acks[0]);
    ASSERT_EQ(bl.size(), 4u);
    EXPECT_EQ(bl[0].left, a_seq(9 * mss));
    EXPECT_EQ(bl[1].left, a_seq(7 * mss));
    EXPECT_EQ(bl[2].left, a_seq(5 * mss));
    EXPECT_EQ(bl[3].left, a_seq(1 * mss)) << "the fourth slot: the lowest block not yet listed";
}

TEST_F(Sack, ReceiverReportsDuplicatesAsDsackOnce) {
    ASSERT_NO_FATAL_FAILURE(start());
    write(pattern(4 * kMss));
    auto segs = a_data();
    ASSERT_EQ(segs.size(), 4u);
    (void)to_b(segs[0]);
    (void)to_b(segs[2]);
    // Below RCV.NXT: the D-SACK block leads, then the out-of-order block (RFC 2883 §4 (1), (2)).
    auto acks = to_b(segs[0]);
    ASSERT_EQ(acks.size(), 1u);
    EXPECT_EQ(blocks_of(acks[0]),
              (std::vector<SeqRange>{{a_seq(0), a_seq(kMss)}, {a_seq(2 * kMss), a_seq(3 * kMss)}}));
    // Inside the out-of-order queue: the D-SACK block, then the block containing it (§4 (3)).
    acks = to_b(segs[2]);
    EXPECT_EQ(blocks_of(acks.at(0)), (std::vector<SeqRange>{{a_seq(2 * kMss), a_seq(3 * kMss)},
                                                           {a_seq(2 * kMss), a_seq(3 * kMss)}}));
    // A D-SACK is reported once: the next ACK has only the ordinary block.
    acks = to_b(segs[3]);
    EXPECT_EQ(blocks_of(acks.at(0)), (std::vector<SeqRange>{{a_seq(2 * kMss), a_seq(4 * kMss)}}));
    EXPECT_EQ(s->stats().dsacks_out, 2u);
    EXPECT_EQ(b.counters.dsacks_out, 2u);
    // Filled: no more blocks at all.
    acks = to_b(segs[1]);
    EXPECT_EQ(acks.at(0).hdr.ack, a_seq(4 * kMss));
    EXPECT_EQ(acks.at(0).hdr.options.sack_count, 0u);
}

TEST_F(Sack, NoBlocksWhenSackIsNotNegotiated) {
    b.cfg.sack = false;
    c = &open();
    s = b.listener()->accept();
    ASSERT_FALSE(c->sack_permitted());
    write(pattern(3 * kMss));
    auto segs = a_data();
    auto acks = to_b(segs[2]);
    ASSERT_EQ(acks.size(), 1u);
    EXPECT_EQ(acks[0].hdr.options.sack_count, 0u);
}

// ---------------------------------------------------------------------------
// Sender: RFC 6675 recovery
// ---------------------------------------------------------------------------

// Three losses in one window of 20 segments, 10 ms each way: all three are resent in the
// first recovery round trip, nothing SACKed is sent again, no RTO.
TEST_F(Sack, SeveralLossesInOneWindowAreRepairedInAboutOneRtt) {
    ASSERT_NO_FATAL_FAILURE(start());
    ASSERT_TRUE(c->rack_on());
    warm(30 * kMss, ms(10));  // cwnd opens past 20 segments
    ASSERT_GE(c->congestion().cwnd(), 20 * kMss);
    const SeqNum base = c->snd_nxt();
    std::vector<int> copies(20, 0);
    bool dropped[20] = {};
    lose = [&](const Wire& w, bool from_a) {
        if (!from_a || w.payload.empty() || w.hdr.seq < base) return false;
        const auto i = static_cast<std::uint32_t>(w.hdr.seq - base) / kMss;
        if (i >= 20) return false;
        ++copies[i];
        if ((i == 3 || i == 9 || i == 14) && !dropped[i]) return dropped[i] = true;
        return false;
    };
    const Instant start_at = link.now;
    const std::string d = pattern(20 * kMss, 3);
    write(d);
    EXPECT_EQ(transfer(d.size(), ms(10), start_at + Duration::seconds(5)), d);
    for (std::uint32_t i = 0; i < 20; ++i) EXPECT_EQ(copies[i], (i == 3 || i == 9 || i == 14) ? 2 : 1) << i;
    EXPECT_EQ(c->stats().rto_expiries, 0u);
    EXPECT_EQ(c->stats().sack_recoveries, 1u);
    EXPECT_EQ(a.counters.sack_recoveries, 1u);
    EXPECT_EQ(c->stats().bytes_retrans, 3u * kMss) << "nothing SACKed was sent again";
    EXPECT_EQ(a.counters.bytes_retrans, 3u * kMss);
    EXPECT_EQ(c->stats().bytes_sacked, 14u * kMss) << "the 14 segments above the first hole";
    EXPECT_GE(c->stats().rack_loss_marked, 1u);
    // One window takes one RTT (20 ms) to be acknowledged without loss; the holes add about
    // one more round trip (all three resent together), not one per hole.
    EXPECT_LE(link.now - start_at, ms(65));
    EXPECT_FALSE(c->congestion().in_recovery());
}

TEST_F(Sack, SeveralLossesInOneWindowWithoutRack) {
    a.cfg.rack = false;
    ASSERT_NO_FATAL_FAILURE(start());
    ASSERT_FALSE(c->rack_on());
    warm(30 * kMss, ms(10));
    const SeqNum base = c->snd_nxt();
    std::vector<int> copies(20, 0);
    bool dropped[20] = {};
    lose = [&](const Wire& w, bool from_a) {
        if (!from_a || w.payload.empty() || w.hdr.seq < base) return false;
        const auto i = static_cast<std::uint32_t>(w.hdr.seq - base) / kMss;
        if (i >= 20) return false;
        ++copies[i];
        if ((i == 3 || i == 9 || i == 14) && !dropped[i]) return dropped[i] = true;
        return false;
    };
    const Instant start_at = link.now;
    const std::string d = pattern(20 * kMss, 4);
    write(d);
    EXPECT_EQ(transfer(d.size(), ms(10), start_at + Duration::seconds(5)), d);
    for (std::uint32_t i = 0; i < 20; ++i) EXPECT_EQ(copies[i], (i == 3 || i == 9 || i == 14) ? 2 : 1) << i;
    EXPECT_EQ(c->stats().rto_expiries, 0u);
    EXPECT_EQ(c->stats().sack_recoveries, 1u);
    EXPECT_EQ(c->stats().rack_loss_marked, 0u);
    EXPECT_EQ(c->stats().tlp_sent, 0u);
    EXPECT_EQ(c->stats().bytes_retrans, 3u * kMss);
    EXPECT_LE(link.now - start_at, ms(65));
    // The policy heard one on_loss, and recovery ended at RecoveryPoint.
    EXPECT_EQ(c->congestion().counters().loss_recoveries, 1u);
    EXPECT_EQ(c->congestion().counters().fast_retransmits, 0u);
    EXPECT_FALSE(c->congestion().in_recovery());
}

// Blocks outside SND.UNA..SND.MAX are ignored and counted.
// RFC 8985 §6.2 step 5 end to end: segment 3 is lost, and so is its first retransmission.
// New data sent after the retransmission is SACKed, so RACK finds the retransmission lost
// too and sends a third copy in the same recovery, without waiting for the RTO.
TEST_F(Sack, RackDetectsALostRetransmissionWithoutAnRto) {
    ASSERT_NO_FATAL_FAILURE(start());
    ASSERT_TRUE(c->rack_on());
    warm(30 * kMss, ms(10));
    // More than one window, so that new data follows the retransmission.
    const std::uint32_t kSegs = 4 * (c->congestion().cwnd() / kMss);
    const SeqNum base = c->snd_nxt();
    std::vector<int> copies(kSegs, 0);
    lose = [&](const Wire& w, bool from_a) {
        if (!from_a || w.payload.empty() || w.hdr.seq < base) return false;
        const auto i = static_cast<std::uint32_t>(w.hdr.seq - base) / kMss;
        if (i >= kSegs) return false;
        ++copies[i];
        return i == 3 && copies[i] <= 2;  // the original and the first retransmission
    };
    const Instant start_at = link.now;
    const std::string d = pattern(kSegs * kMss, 5);
    write(d);
    EXPECT_EQ(transfer(d.size(), ms(10), start_at + Duration::seconds(5)), d);
    EXPECT_EQ(copies[3], 3);
    for (std::uint32_t i = 0; i < kSegs; ++i) {
        if (i != 3) {
            EXPECT_EQ(copies[i], 1) << i;
        }
    }
    EXPECT_EQ(c->stats().rto_expiries, 0u) << "the lost retransmission was found by RACK";
    EXPECT_EQ(c->stats().sack_recoveries, 1u);
    EXPECT_GE(c->stats().rack_loss_marked, 2u);
    EXPECT_EQ(c->stats().bytes_retrans, 2u * kMss);
    EXPECT_LT(link.now - start_at, Duration::millis(200)) << "well inside the 200 ms minimum RTO";
}

TEST_F(Sack, BogusBlocksAreCountedAndIgnored) {
    ASSERT_NO_FATAL_FAILURE(start());
    write(pattern(4 * kMss));
    auto segs = a_data();
    ASSERT_EQ(segs.size(), 4u);
    auto acks = to_b(segs[1]);
    ASSERT_EQ(acks.size(), 1u);
    Wire ack = acks[0];
    ack.hdr.options.sack_count = 2;
    ack.hdr.options.sack[0] = {a_seq(kMss), a_seq(2 * kMss)};
    ack.hdr.options.sack[1] = {a_seq(10 * kMss), a_seq(11 * kMss)};  // never sent
    a.deliver(ack, link.now);
    EXPECT_EQ(a.counters.sack_blocks_invalid, 1u);
    ASSERT_NE(c->sack_state(), nullptr);
    EXPECT_EQ(c->sack_state()->sb.sacked_bytes(), kMss);
    EXPECT_EQ(c->stats().bytes_sacked, kMss);
}

// RFC 6675 §5.1 / RFC 2018 §8: an RTO forgets the SACKed marks, and the go-back-N that
// follows skips what is SACKed again afterwards.
TEST_F(Sack, RtoClearsTheScoreboard) {
    a.cfg.rack = false;  // no probe before the RTO
    ASSERT_NO_FATAL_FAILURE(start());
    write(pattern(4 * kMss));
    auto segs = a_data();
    ASSERT_EQ(segs.size(), 4u);
    auto acks = to_b(segs[2]);
    a.deliver(acks.at(0), link.now);
    ASSERT_NE(c->sack_state(), nullptr);
    EXPECT_EQ(c->sack_state()->sb.sacked_bytes(), kMss);
    link.now = c->next_deadline();
    a.tick(link.now);
    EXPECT_EQ(c->stats().rto_expiries, 1u);
    ASSERT_NE(c->sack_state(), nullptr);
    EXPECT_EQ(c->sack_state()->sb.sacked_bytes(), 0u);
    EXPECT_TRUE(c->sack_state()->rp_valid);
    auto rtx = a_data();
    ASSERT_EQ(rtx.size(), 1u);
    EXPECT_EQ(rtx[0].hdr.seq, a_seq(0));
}

// ---------------------------------------------------------------------------
// RACK (RFC 8985 §6)
// ---------------------------------------------------------------------------

TEST(Rack, ReorderingWindowIsAQuarterMinRttAndDelaysTheLossMark) {
    Rack r;
    const Instant t0 = Instant::from_nanos(1'000'000'000);
    r.on_send(SeqNum(0), SeqNum(100), t0, false);
    r.on_send(SeqNum(100), SeqNum(200), t0 + ms(1), false);
    // The second is SACKed after 40 ms: RACK.rtt = 40 ms, min_RTT = 40 ms, reo_wnd = 10 ms.
    r.on_delivered(SeqNum(100), SeqNum(200), t0 + ms(41));
    EXPECT_EQ(r.rtt(), ms(40));
    EXPECT_EQ(r.reo_wnd(Duration::zero(), false, false), ms(10));
    std::vector<SeqRange> lost;
    const auto mark = [&](SeqNum l, SeqNum rr) { lost.push_back({l, rr}); };
    // Segment 0 was sent 1 ms before: due at t0 + 40 + 10 ms.
    EXPECT_EQ(r.detect_loss(t0 + ms(41), Duration::zero(), false, false, mark), ms(9));
    EXPECT_TRUE(lost.empty());
    EXPECT_EQ(r.detect_loss(t0 + ms(49), Duration::zero(), false, false, mark), ms(1));
    EXPECT_EQ(r.detect_loss(t0 + ms(50), Duration::zero(), false, false, mark), Duration::zero());
    ASSERT_EQ(lost.size(), 1u);
    EXPECT_EQ(lost[0], (SeqRange{SeqNum(0), SeqNum(100)}));
    // In recovery with no reordering seen the window is zero; capped by SRTT otherwise.
    EXPECT_EQ(r.reo_wnd(ms(50), true, false), Duration::zero());
    EXPECT_EQ(r.reo_wnd(ms(5), false, false), ms(5));
}

TEST(Rack, DsackWidensTheWindowOncePerRoundAndReorderingIsSeen) {
    Rack r;
    const Instant t0 = Instant::from_nanos(1'000'000'000);
    r.on_send(SeqNum(0), SeqNum(100), t0, false);
    r.on_send(SeqNum(100), SeqNum(200), t0 + ms(2), false);
    r.on_delivered(SeqNum(100), SeqNum(200), t0 + ms(42));
    EXPECT_FALSE(r.reordering_seen());
    r.on_delivered(SeqNum(0), SeqNum(100), t0 + ms(43));  // the earlier one arrived late: reordering
    EXPECT_TRUE(r.reordering_seen());
    EXPECT_EQ(r.reo_wnd(Duration::zero(), true, true), ms(10)) << "reordering seen: the window stays in recovery";
    r.on_dsack(SeqNum(200), SeqNum(300));
    EXPECT_EQ(r.reo_wnd_mult(), 2u);
    r.on_dsack(SeqNum(250), SeqNum(300));  // same round (SND.UNA below the round's end)
    EXPECT_EQ(r.reo_wnd_mult(), 2u);
    r.on_dsack(SeqNum(300), SeqNum(400));  // the next round
    EXPECT_EQ(r.reo_wnd_mult(), 3u);
    EXPECT_EQ(r.reo_wnd(Duration::zero(), false, false), ms(30));
    for (int i = 0; i < Rack::kReoWndPersist; ++i) r.on_recovery_end();
    EXPECT_EQ(r.reo_wnd_mult(), 1u) << "16 recoveries without D-SACK reset the multiplier";
}

TEST(Rack, RetransmissionReplacesTheSendTimeAndAmbiguousAcksGiveNoSample) {
    Rack r;
    const Instant t0 = Instant::from_nanos(1'000'000'000);
    r.on_send(SeqNum(0), SeqNum(300), t0, false);
    r.on_delivered(SeqNum(200), SeqNum(300), t0 + ms(20));  // min_RTT 20 ms
    r.on_send(SeqNum(0), SeqNum(100), t0 + ms(30), true);
    ASSERT_EQ(r.entries(), 2u);
    EXPECT_EQ(r.entry(0).left, SeqNum(100));
    EXPECT_EQ(r.entry(1).ts, t0 + ms(30));
    EXPECT_TRUE(r.entry(1).rexmit);
    // Delivered 5 ms after its retransmission: faster than min_RTT, so it was the original.
    r.on_delivered(SeqNum(0), SeqNum(100), t0 + ms(35));
    EXPECT_EQ(r.rtt(), ms(20));
}

// One poll, one `now`: new data, then a retransmission of older bytes, both in the same tick.
// The retransmission was sent after the new data, so a SACK of the new data says nothing
// about it, however long the next ACK takes (RACK_sent_after's tie-break by sequence number
// would say it was sent before; the log breaks ties by send order instead).
TEST(Rack, ARetransmissionInTheSameTickAsNewDataIsNotSentBeforeIt) {
    Rack r;
    const Instant t0 = Instant::from_nanos(1'000'000'000);
    r.on_send(SeqNum(0), SeqNum(100), t0, false);
    r.on_send(SeqNum(100), SeqNum(200), t0, false);  // coalesced with the first
    r.on_delivered(SeqNum(100), SeqNum(200), t0 + ms(10));
    std::vector<SeqRange> lost;
    const auto mark = [&](SeqNum l, SeqNum rr) { lost.push_back({l, rr}); };
    (void)r.detect_loss(t0 + ms(20), Duration::zero(), true, false, mark);
    ASSERT_EQ(lost.size(), 1u);  // 0..100 went before 100..200 and is overdue
    const Instant t1 = t0 + ms(20);
    r.on_send(SeqNum(200), SeqNum(300), t1, false);  // new data
    r.on_send(SeqNum(0), SeqNum(100), t1, true);     // then the retransmission, same tick
    EXPECT_EQ(r.entry(r.entries() - 2).ts, r.entry(r.entries() - 1).ts);
    EXPECT_LT(r.entry(r.entries() - 2).order, r.entry(r.entries() - 1).order);
    // 200..300 is SACKed; a long stall follows (the process was descheduled).
    r.on_delivered(SeqNum(200), SeqNum(300), t1 + ms(10));
    lost.clear();
    EXPECT_EQ(r.detect_loss(t1 + ms(100), Duration::zero(), true, false, mark), Duration::zero());
    EXPECT_TRUE(lost.empty()) << "the retransmission was marked lost by data sent before it";
    EXPECT_EQ(r.entries(), 1u);
}

// RFC 8985 §6.2 step 5: a retransmission is a send like any other. Once a segment sent after
// it is delivered and RACK.rtt + reo_wnd has passed, the retransmission itself is lost.
TEST(Rack, ALostRetransmissionIsMarkedWhenALaterSendIsDelivered) {
    Rack r;
    const Instant t0 = Instant::from_nanos(1'000'000'000);
    r.on_send(SeqNum(0), SeqNum(100), t0, false);
    r.on_send(SeqNum(100), SeqNum(200), t0 + ms(1), false);
    r.on_delivered(SeqNum(100), SeqNum(200), t0 + ms(21));  // RACK.rtt = min_RTT = 20 ms
    std::vector<SeqRange> lost;
    const auto mark = [&](SeqNum l, SeqNum rr) { lost.push_back({l, rr}); };
    (void)r.detect_loss(t0 + ms(30), Duration::zero(), true, false, mark);  // in recovery: reo_wnd 0
    ASSERT_EQ(lost.size(), 1u);
    r.on_send(SeqNum(0), SeqNum(100), t0 + ms(30), true);   // the retransmission
    r.on_send(SeqNum(200), SeqNum(300), t0 + ms(31), false);  // new data after it
    lost.clear();
    // Nothing sent after the retransmission has been delivered yet: it is not judged.
    EXPECT_EQ(r.detect_loss(t0 + ms(60), Duration::zero(), true, false, mark), Duration::zero());
    EXPECT_TRUE(lost.empty());
    r.on_delivered(SeqNum(200), SeqNum(300), t0 + ms(51));
    EXPECT_EQ(r.detect_loss(t0 + ms(51), Duration::zero(), true, false, mark), Duration::zero());
    ASSERT_EQ(lost.size(), 1u) << "sent 21 ms before a delivered segment, RACK.rtt 20 ms: lost again";
    EXPECT_EQ(lost[0], (SeqRange{SeqNum(0), SeqNum(100)}));
}

TEST(RackMinRtt, WindowedMinimumForgetsSamplesOlderThanTheWindow) {
    WindowedMin m;
    const Instant t0 = Instant::from_nanos(1'000'000'000);
    const Duration win = Duration::seconds(10);
    EXPECT_TRUE(m.empty());
    EXPECT_EQ(m.update(ms(10), t0, win), ms(10));
    EXPECT_EQ(m.update(ms(30), t0 + Duration::seconds(3), win), ms(10));
    EXPECT_EQ(m.update(ms(20), t0 + Duration::seconds(6), win), ms(10));
    EXPECT_EQ(m.update(ms(40), t0 + Duration::seconds(9), win), ms(10)) << "10 ms is 9 s old: still in";
    // 11 s after the 10 ms sample it has left the window; the best later one is 20 ms.
    EXPECT_EQ(m.update(ms(50), t0 + Duration::seconds(11), win), ms(20));
    // 20 ms (taken at 6 s) leaves at 16 s; what is left is the newer samples.
    EXPECT_GE(m.update(ms(60), t0 + Duration::seconds(17), win), ms(40));
    // A new minimum replaces everything at once.
    EXPECT_EQ(m.update(ms(5), t0 + Duration::seconds(18), win), ms(5));
    // Nothing measured for longer than the window: the next sample stands alone.
    EXPECT_EQ(m.update(ms(70), t0 + Duration::seconds(40), win), ms(70));
}

TEST(RackMinRtt, ReorderingWindowFollowsTheWindowedMinRtt) {
    Rack r;
    Instant t = Instant::from_nanos(1'000'000'000);
    SeqNum seq(0);
    const auto sample = [&](Duration rtt) {  // one segment sent and SACKed `rtt` later
        r.on_send(seq, seq + 100, t, false);
        t += rtt;
        r.on_delivered(seq, seq + 100, t);
        seq += 100;
    };
    sample(ms(40));
    EXPECT_EQ(r.min_rtt(), ms(40));
    EXPECT_EQ(r.reo_wnd(Duration::zero(), false, false), ms(10));
    // The path gets longer: every sample is 100 ms from now on. min_RTT holds 40 ms for the
    // window, then follows the path.
    while (t < Instant::from_nanos(1'000'000'000) + Rack::kMinRttWindow - Duration::seconds(1)) {
        sample(ms(100));
        t += Duration::seconds(1);
    }
    EXPECT_EQ(r.min_rtt(), ms(40));
    for (int i = 0; i < 5; ++i) {
        sample(ms(100));
        t += Duration::seconds(1);
    }
    EXPECT_EQ(r.min_rtt(), ms(100));
    EXPECT_EQ(r.reo_wnd(Duration::zero(), false, false), ms(25));
}

// A segment delayed by less than the reordering window is not retransmitted once reordering
// has been seen: RACK waits for it.
TEST_F(Sack, RackToleratesReorderingWithinTheWindow) {
    ASSERT_NO_FATAL_FAILURE(start());
    warm(20 * kMss, ms(20));
    write(pattern(6 * kMss));
    auto segs = a_data();
    ASSERT_EQ(segs.size(), 6u);
    // Teach RACK about reordering first: segment 0 arrives after segment 1.
    link.now += ms(20);
    for (std::size_t i : {1u, 2u, 0u, 3u, 4u, 5u}) {
        for (auto& w : to_b(segs[i])) a.deliver(w, link.now + ms(20));
    }
    link.now += ms(20);
    (void)a.drain();
    ASSERT_NE(c->sack_state(), nullptr);
    EXPECT_TRUE(c->sack_state()->rack.reordering_seen());
    const auto rtx_before = c->stats().bytes_retrans;
    // Now segment 0 of the next flight is 2 ms late: within min_RTT/4 = 10 ms.
    write(pattern(4 * kMss, 1));
    segs = a_data();
    ASSERT_EQ(segs.size(), 4u);
    link.now += ms(20);
    for (std::size_t i : {1u, 2u, 3u}) {
        for (auto& w : to_b(segs[i])) a.deliver(w, link.now + ms(20));
    }
    const Instant acks_at = link.now + ms(20);
    link.now = acks_at;
    EXPECT_TRUE(a_data().empty()) << "not yet lost: the reorder timer waits";
    EXPECT_EQ(c->next_deadline(), acks_at + ms(10)) << "the reorder timer: RACK.rtt (40 ms) + reo_wnd (10 ms) after sending";
    link.now += ms(2);
    for (auto& w : to_b(segs[0])) a.deliver(w, link.now + ms(20));
    link.now += ms(20);
    EXPECT_TRUE(a_data().empty());
    EXPECT_EQ(c->stats().bytes_retrans, rtx_before);
    EXPECT_EQ(c->stats().sack_recoveries, 0u);
}

// ---------------------------------------------------------------------------
// TLP (RFC 8985 §7)
// ---------------------------------------------------------------------------

// The tail of a flight is lost: the probe goes 2 * SRTT after the last transmission,
// resends the last segment, and its SACK lets RACK repair the rest without an RTO.
TEST_F(Sack, TailLossProbeAfterTwoSrttRepairsATailLoss) {
    b.cfg.delayed_ack = Duration::zero();  // every segment ACKed at once
    ASSERT_NO_FATAL_FAILURE(start());
    warm(20 * kMss, ms(10));
    const Duration srtt = c->rtt().srtt();
    ASSERT_GT(srtt, Duration::zero());
    write(pattern(3 * kMss));
    auto segs = a_data();
    ASSERT_EQ(segs.size(), 3u);
    const Instant sent = link.now;
    const auto acks = to_b(segs[0]);  // the last two are lost
    ASSERT_EQ(acks.size(), 1u);
    EXPECT_EQ(c->next_deadline(), sent + srtt * 2) << "PTO = 2 * SRTT, before the RTO";
    link.now = sent + ms(20);
    a.deliver(acks[0], link.now);
    // ACK of segment 0 (quick-ACK) restarts the PTO from here.
    const Duration srtt2 = c->rtt().srtt();
    EXPECT_EQ(c->next_deadline(), link.now + srtt2 * 2);
    link.now = c->next_deadline();
    a.tick(link.now);
    auto probe = a_data();
    ASSERT_EQ(probe.size(), 1u);
    EXPECT_EQ(probe[0].hdr.seq, a_seq(20 * kMss + 2 * kMss)) << "the last segment again";
    EXPECT_EQ(c->stats().tlp_sent, 1u);
    EXPECT_EQ(a.counters.tlp_sent, 1u);
    // Its SACK marks segment 1 lost (sent before it, no reordering seen): resent at once.
    link.now += ms(10);
    for (auto& w : to_b(probe[0])) a.deliver(w, link.now + ms(10));
    link.now += ms(10);
    auto rtx = a_data();
    ASSERT_EQ(rtx.size(), 1u);
    EXPECT_EQ(rtx[0].hdr.seq, a_seq(21 * kMss));
    for (auto& w : to_b(rtx[0])) a.deliver(w, link.now + ms(10));
    EXPECT_EQ(c->snd_una(), c->snd_nxt());
    EXPECT_EQ(c->stats().rto_expiries, 0u);
    EXPECT_EQ(read_all(b, *s, link.now).size(), 3u * kMss);
}

// One segment in flight: the probe also allows for a delayed ACK (RFC 8985 §7.2), and it
// never waits past the RTO: at the RTO's time the probe goes instead of the RTO.
TEST_F(Sack, ProbeForOneSegmentWaitsForTheDelayedAckAllowance) {
    ASSERT_NO_FATAL_FAILURE(start());
    warm(20 * kMss, ms(10));
    const Duration srtt = c->rtt().srtt();
    const Duration pto = std::max(srtt * 2, srtt + ms(200));
    ASSERT_EQ(pto, ms(220));
    write(pattern(100));
    auto segs = a_data();
    ASSERT_EQ(segs.size(), 1u);
    const Instant sent = link.now;
    EXPECT_EQ(c->next_deadline(), sent + std::min(pto, c->rtt().rto()));
    EXPECT_EQ(c->rtt().rto(), ms(200)) << "RTO min: the probe is capped at the RTO";
    link.now = c->next_deadline();
    a.tick(link.now);
    auto probe = a_data();
    ASSERT_EQ(probe.size(), 1u);
    EXPECT_EQ(probe[0].hdr.seq, segs[0].hdr.seq);
    EXPECT_EQ(c->stats().tlp_sent, 1u);
    EXPECT_EQ(c->stats().rto_expiries, 0u) << "the probe, not an RTO";
    EXPECT_EQ(c->next_deadline(), link.now + c->rtt().rto()) << "the RTO restarts after the probe";
}

// With two segments or more in flight the probe goes after 2 * SRTT.
TEST_F(Sack, ProbeForSeveralSegmentsIsTwoSrtt) {
    ASSERT_NO_FATAL_FAILURE(start());
    warm(20 * kMss, ms(10));
    const Duration srtt = c->rtt().srtt();
    write(pattern(2 * kMss));
    ASSERT_EQ(a_data().size(), 2u);
    EXPECT_EQ(c->next_deadline(), link.now + srtt * 2);
}

TEST_F(Sack, NoProbesWithRackOff) {
    a.cfg.rack = false;
    ASSERT_NO_FATAL_FAILURE(start());
    EXPECT_FALSE(c->rack_on());
    warm(20 * kMss, ms(10));
    write(pattern(3 * kMss));
    (void)a_data();
    EXPECT_EQ(c->next_deadline(), link.now + c->rtt().rto()) << "only the RTO";
}

// ---------------------------------------------------------------------------
// Undo (D-SACK)
// ---------------------------------------------------------------------------

// A segment overtaken by three others triggers a recovery; the original arrives after all,
// the retransmission is reported as a duplicate, and the window comes back.
TEST_F(Sack, ReorderingDoesNotCollapseCwnd) {
    a.cfg.rack = false;  // DupThresh decides: the reordering beyond it looks like a loss
    ASSERT_NO_FATAL_FAILURE(start());
    warm(40 * kMss, ms(10));
    const std::uint32_t cwnd0 = c->congestion().cwnd();
    const std::uint32_t ssthresh0 = c->congestion().ssthresh();
    write(pattern(8 * kMss, 5));
    auto segs = a_data();
    ASSERT_EQ(segs.size(), 8u);
    link.now += ms(10);
    for (std::size_t i = 1; i < 8; ++i) {
        for (auto& w : to_b(segs[i])) a.deliver(w, link.now + ms(10));
    }
    link.now += ms(10);
    auto rtx = a_data();
    ASSERT_GE(rtx.size(), 1u);
    EXPECT_EQ(rtx[0].hdr.seq, segs[0].hdr.seq);
    EXPECT_EQ(c->stats().sack_recoveries, 1u);
    EXPECT_LT(c->congestion().cwnd(), cwnd0) << "reduced for the presumed loss";
    // The delayed original arrives, then the retransmission: B reports it as a duplicate.
    link.now += ms(1);
    for (auto& w : to_b(segs[0])) a.deliver(w, link.now + ms(10));
    for (auto& w : to_b(rtx[0])) {
        ASSERT_EQ(w.hdr.options.sack_count, 1u);
        EXPECT_EQ(w.hdr.options.sack[0].left, segs[0].hdr.seq) << "D-SACK";
        a.deliver(w, link.now + ms(10));
    }
    EXPECT_EQ(c->stats().dsacks_in, 1u);
    EXPECT_EQ(c->stats().spurious_undos, 1u);
    EXPECT_EQ(a.counters.spurious_undos, 1u);
    EXPECT_GE(c->congestion().cwnd(), cwnd0);
    EXPECT_EQ(c->congestion().ssthresh(), ssthresh0);
    EXPECT_EQ(c->congestion().counters().undos, 1u);
    EXPECT_FALSE(c->congestion().in_recovery());
}

// No SenderSack free: the connection recovers as without SACK (NewReno's third duplicate
// ACK), counted; its peer's ACKs still carry blocks.
TEST_F(Sack, WithoutAFreeSackStateRecoveryFallsBackToNewReno) {
    SackPool none(0);
    a.ctx.sacks = &none;
    ASSERT_NO_FATAL_FAILURE(start());
    write(pattern(6 * kMss));
    auto segs = a_data();
    ASSERT_EQ(segs.size(), 6u);
    EXPECT_EQ(c->sack_state(), nullptr);
    EXPECT_GE(a.counters.sack_state_exhausted, 1u);
    std::vector<Wire> rtx;
    for (std::size_t i = 1; i < 6; ++i) {
        for (auto& w : to_b(segs[i])) {
            EXPECT_GT(w.hdr.options.sack_count, 0u);
            a.deliver(w, link.now);
        }
        for (auto& w : a_data()) rtx.push_back(w);
    }
    ASSERT_EQ(rtx.size(), 1u);
    EXPECT_EQ(rtx[0].hdr.seq, segs[0].hdr.seq);
    EXPECT_EQ(c->congestion().counters().fast_retransmits, 1u);
    EXPECT_EQ(c->stats().sack_recoveries, 0u);
    a.ctx.sacks = &a.sacks;
}
