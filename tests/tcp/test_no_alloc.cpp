// lib/tcp never allocates on the data path (DESIGN: "Memory", output.hpp: "the protocol
// core never allocates"). This binary replaces every global operator new and delete with
// counting versions, prepares all storage (buffers, outboxes, contexts, connections, a
// fixed-size wire) before the measured region, and then drives connections through the
// handshake, data both ways over many segments, retransmission timeouts, the FIN exchange,
// RST, TIME-WAIT expiry, challenge ACKs and a listener's SYN handling with and without SYN
// cookies, asserting that on_segment, on_deadline, send, receive, shutdown_write, close,
// abort, flush_ack and Listener::on_segment allocated nothing.
//
// The harness (harness.hpp) allocates freely, so it is not used here.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <vector>

#include "ustcp/tcp/connection.hpp"
#include "ustcp/tcp/context.hpp"
#include "ustcp/tcp/listener.hpp"

// ---------------------------------------------------------------------------
// Counting replacements of every replaceable global allocation function
// ---------------------------------------------------------------------------

#include "counting_new.hpp"

using namespace ustcp;
using namespace ustcp::tcp;
namespace fl = wire::tcp_flags;

namespace {

/// Counts the allocations of one measured region.
class AllocScope {
public:
    AllocScope() noexcept {
        g_allocs.store(0);
        g_counting.store(true);
    }
    ~AllocScope() { g_counting.store(false); }
    std::size_t stop() noexcept {
        g_counting.store(false);
        return g_allocs.load();
    }
};

const Ipv4Addr kA(198, 18, 0, 1);
const Ipv4Addr kB(198, 18, 0, 2);
constexpr std::uint16_t kPort = 80;

SipKey key(std::uint64_t seed) { return SipKey::from_words(0x0123456789abcdefull ^ seed, 0xfedcba9876543210ull + seed); }

/// One segment on the wire: header and a copy of the payload, in fixed storage.
struct Pkt {
    wire::TcpRepr hdr;
    std::array<std::uint8_t, 2048> data;
    std::size_t len = 0;
    [[nodiscard]] wire::Bytes payload() const { return {data.data(), len}; }
};

/// A fixed-capacity FIFO of segments (no allocation once constructed).
class Wire {
public:
    static constexpr std::size_t kCap = 512;
    Wire() : pkts_(std::make_unique<std::array<Pkt, kCap>>()) {}

    /// Copies everything in `out` into the queue and clears it, as a NIC transmit would.
    /// Returns false when the queue had no room (the test then fails; nothing allocates).
    bool take(Stack& st) {
        bool ok = true;
        for (const OutSegment& s : st.out.segments()) {
            if (n_ == kCap || s.payload_len() > Pkt{}.data.size()) {
                ok = false;
                continue;
            }
            Pkt& p = (*pkts_)[(head_ + n_++) % kCap];
            p.hdr = s.hdr;
            p.len = s.payload_len();
            s.copy_payload(p.data.data());
        }
        st.done_with_output();  // the outbox cleared, released buffers back to the pool
        return ok;
    }
    [[nodiscard]] bool empty() const { return n_ == 0; }
    [[nodiscard]] std::size_t size() const { return n_; }
    const Pkt& front() const { return (*pkts_)[head_]; }
    void pop() {
        head_ = (head_ + 1) % kCap;
        --n_;
    }
    void clear() { head_ = n_ = 0; }

private:
    std::unique_ptr<std::array<Pkt, kCap>> pkts_;
    std::size_t head_ = 0;
    std::size_t n_ = 0;
};

/// One endpoint's engine-wide state plus a few prepared connection slots.
struct Host : Stack {
    static constexpr std::size_t kSlots = 4;

    Host(Ipv4Addr a, const Config& c, std::uint64_t seed) : Stack(c, key(seed), key(seed + 7)), addr(a) {}
    /// Constructs slot i for `t` (before the measured region).
    Connection& prepare(std::size_t i, const FourTuple& t) {
        conns[i] = std::make_unique<Connection>(t);
        fresh[i] = true;
        return *conns[i];
    }
    /// Whether `c` is a prepared slot no SYN has reached yet (the demux then asks the listener).
    bool take_fresh(const Connection& c) {
        for (std::size_t i = 0; i < kSlots; ++i) {
            if (conns[i].get() == &c) return fresh[i];
        }
        return false;
    }
    void opened(const Connection& c) {
        for (std::size_t i = 0; i < kSlots; ++i) {
            if (conns[i].get() == &c) fresh[i] = false;
        }
    }

    Ipv4Addr addr;
    std::array<std::unique_ptr<Connection>, kSlots> conns;
    std::array<bool, kSlots> fresh{};
};

/// SEGMENT ARRIVES at `to`: the connection, or when it never opened, `listener` (which may
/// make it with accept_syn / accept_cookie), as the engine's demux would.
void arrive(Host& to, Connection& c, Listener* listener, const Pkt& p, Instant now) {
    if (listener != nullptr && to.take_fresh(c)) {
        const auto v = listener->on_segment(to.ctx, now, c.tuple(), p.hdr, p.len);
        if (v.action == Listener::Action::NewConnection) {
            to.opened(c);
            c.accept_syn(to.ctx, now, p.hdr, listener);
        } else if (v.action == Listener::Action::CookieConnection) {
            to.opened(c);
            c.accept_cookie(to.ctx, now, p.hdr, p.payload(), v.cookie, listener);
        }
        return;
    }
    c.on_segment(to.ctx, now, p.hdr, p.payload());
}

/// Moves segments both ways between connection `ca` on `a` and `cb` on `b` until quiet.
/// `b_listener` is consulted for segments to `cb` while it has not opened.
bool pump(Host& a, Connection& ca, Host& b, Connection& cb, Listener* b_listener, Wire& ab, Wire& ba, Instant now) {
    bool ok = ab.take(a) && ba.take(b);
    for (int guard = 0; guard < 100000 && (!ab.empty() || !ba.empty()); ++guard) {
        while (!ab.empty()) {
            arrive(b, cb, b_listener, ab.front(), now);
            ab.pop();
            ok = ba.take(b) && ok;
        }
        while (!ba.empty()) {
            arrive(a, ca, nullptr, ba.front(), now);
            ba.pop();
            ok = ab.take(a) && ok;
        }
    }
    return ok && ab.empty() && ba.empty();
}

/// Reads everything readable into `sink` at `off`; returns bytes read.
std::size_t drain_reads(Host& h, Connection& c, std::vector<std::uint8_t>& sink, std::size_t& off, Instant now) {
    std::size_t total = 0;
    for (;;) {
        const std::size_t room = sink.size() - off;
        if (room == 0) return total;
        auto r = c.receive(h.ctx, now, wire::MutBytes(sink.data() + off, std::min<std::size_t>(room, 8192)));
        if (!r || *r == 0) return total;
        off += *r;
        total += *r;
    }
}

std::vector<std::uint8_t> pattern(std::size_t n, std::uint8_t salt) {
    std::vector<std::uint8_t> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>(i * 131 + (i >> 9) + salt);
    return v;
}

}  // namespace

TEST(NoAlloc, ConnectionFitsInTwelveCacheLines) {
    // test_open_close.cpp's ConnectionLayout says what the twelve lines hold.
    static_assert(sizeof(Connection) <= 768, "Connection grew past 768 bytes");
    EXPECT_LE(sizeof(Connection), 768u);
}

TEST(NoAlloc, CounterSeesAllocations) {
    // The replacement is in effect: a direct call (never elided, unlike a new-expression) counts.
    AllocScope scope;
    void* p = ::operator new(64);
    void* q = ::operator new[](64, std::align_val_t{64});
    const std::size_t n = scope.stop();
    ::operator delete(p);
    ::operator delete[](q, std::align_val_t{64});
    EXPECT_EQ(n, 2u);
}

TEST(NoAlloc, HandshakeDataRetransmissionFinAndTimeWait) {
    Config cfg;
    cfg.send_buffer = 128 * 1024;
    cfg.recv_buffer = 64 * 1024;
    Host a(kA, cfg, 1);
    Host b(kB, cfg, 2);
    Listener listener(kB, kPort, 8, 8);
    Connection& ca = a.prepare(0, FourTuple{kA, kB, 40000, kPort});
    Connection& cb = b.prepare(0, FourTuple{kB, kA, kPort, 40000});
    Wire ab, ba;
    const auto up = pattern(300 * 1024, 1);    // client -> server, many segments and buffer refills
    const auto down = pattern(200 * 1024, 2);  // server -> client
    std::vector<std::uint8_t> got_up(up.size()), got_down(down.size()), scratch(8192);
    std::size_t up_sent = 0, down_sent = 0, up_read = 0, down_read = 0;
    Instant now = Instant::from_nanos(5'000'000'000);
    bool wire_ok = true;
    std::size_t rtx_before = 0;

    AllocScope scope;
    // Handshake through the listener.
    (void)ca.connect(a.ctx, now);
    wire_ok = pump(a, ca, b, cb, &listener, ab, ba, now) && wire_ok;
    Connection* accepted = listener.accept();
    // Data both ways, interleaving sends, reads and ACKs.
    for (int round = 0; round < 10000 && (up_read < up.size() || down_read < down.size()); ++round) {
        if (up_sent < up.size()) {
            if (auto r = ca.send(a.ctx, now, wire::Bytes(up.data() + up_sent, up.size() - up_sent))) up_sent += *r;
        }
        if (down_sent < down.size()) {
            if (auto r = cb.send(b.ctx, now, wire::Bytes(down.data() + down_sent, down.size() - down_sent))) {
                down_sent += *r;
            }
        }
        wire_ok = pump(a, ca, b, cb, &listener, ab, ba, now) && wire_ok;
        drain_reads(b, cb, got_up, up_read, now);
        drain_reads(a, ca, got_down, down_read, now);
        wire_ok = pump(a, ca, b, cb, &listener, ab, ba, now) && wire_ok;
        now += Duration::micros(100);
    }
    // Retransmission timeouts: data lost three times, the timer backs off and resends.
    rtx_before = a.counters.retransmits;
    (void)ca.send(a.ctx, now, wire::Bytes(up.data(), 5000));
    ab.take(a);
    ab.clear();  // lost
    for (int i = 0; i < 3; ++i) {
        now = ca.next_deadline();
        ca.on_deadline(a.ctx, now);
        ab.take(a);
        ab.clear();  // lost again
    }
    now = ca.next_deadline();
    ca.on_deadline(a.ctx, now);
    wire_ok = pump(a, ca, b, cb, &listener, ab, ba, now) && wire_ok;
    for (int i = 0; i < 20 && ca.snd_una() != ca.snd_nxt(); ++i) {  // one MSS per RTO in part 1
        now = ca.next_deadline();
        ca.on_deadline(a.ctx, now);
        wire_ok = pump(a, ca, b, cb, &listener, ab, ba, now) && wire_ok;
    }
    std::size_t scratch_off = 0;
    const std::size_t extra_read = drain_reads(b, cb, scratch, scratch_off, now);
    // FIN exchange, both directions, then TIME-WAIT expiry.
    (void)ca.shutdown_write(a.ctx, now);
    wire_ok = pump(a, ca, b, cb, &listener, ab, ba, now) && wire_ok;
    (void)cb.close(b.ctx, now);
    wire_ok = pump(a, ca, b, cb, &listener, ab, ba, now) && wire_ok;
    const State a_after_fin = ca.state();
    const State b_after_fin = cb.state();
    now = ca.next_deadline();
    ca.on_deadline(a.ctx, now);
    const std::size_t allocs = scope.stop();

    EXPECT_EQ(allocs, 0u);
    EXPECT_TRUE(wire_ok);
    EXPECT_EQ(accepted, &cb);
    EXPECT_EQ(got_up, up);
    EXPECT_EQ(got_down, down);
    EXPECT_EQ(extra_read, 5000u);
    EXPECT_GE(a.counters.retransmits - rtx_before, 4u);
    EXPECT_GT(a.counters.segs_out, 200u);
    EXPECT_GT(b.counters.segs_out, 200u);
    EXPECT_EQ(a_after_fin, State::TimeWait);
    EXPECT_EQ(b_after_fin, State::Closed);
    EXPECT_EQ(ca.state(), State::Closed);
    EXPECT_EQ(a.out.segment_overflows() + b.out.segment_overflows(), 0u);
}

TEST(NoAlloc, DownloadDataMatches) {
    // The same data path in the other direction only, to check the bytes as well.
    Config cfg;
    Host a(kA, cfg, 3);
    Host b(kB, cfg, 4);
    Listener listener(kB, kPort, 8, 8);
    Connection& ca = a.prepare(0, FourTuple{kA, kB, 40001, kPort});
    Connection& cb = b.prepare(0, FourTuple{kB, kA, kPort, 40001});
    Wire ab, ba;
    const auto down = pattern(1024 * 1024, 9);
    std::vector<std::uint8_t> got(down.size());
    std::size_t sent = 0, read = 0;
    Instant now = Instant::from_nanos(7'000'000'000);
    bool wire_ok = true;

    AllocScope scope;
    (void)ca.connect(a.ctx, now);
    wire_ok = pump(a, ca, b, cb, &listener, ab, ba, now) && wire_ok;
    for (int round = 0; round < 10000 && read < down.size(); ++round) {
        if (sent < down.size()) {
            if (auto r = cb.send(b.ctx, now, wire::Bytes(down.data() + sent, down.size() - sent))) sent += *r;
        }
        wire_ok = pump(a, ca, b, cb, &listener, ab, ba, now) && wire_ok;
        drain_reads(a, ca, got, read, now);
        wire_ok = pump(a, ca, b, cb, &listener, ab, ba, now) && wire_ok;
    }
    const std::size_t allocs = scope.stop();
    EXPECT_EQ(allocs, 0u);
    EXPECT_TRUE(wire_ok);
    EXPECT_EQ(got, down);
}

TEST(NoAlloc, ResetsChallengeAcksAndClosedReplies) {
    Config cfg;
    cfg.timestamps = false;  // the forged segments below carry no TSopt
    Host a(kA, cfg, 5);
    Host b(kB, cfg, 6);
    Listener listener(kB, kPort, 8, 8);
    Connection& ca = a.prepare(0, FourTuple{kA, kB, 40002, kPort});
    Connection& cb = b.prepare(0, FourTuple{kB, kA, kPort, 40002});
    Connection& ca2 = a.prepare(1, FourTuple{kA, kB, 40003, kPort});
    Connection& cb2 = b.prepare(1, FourTuple{kB, kA, kPort, 40003});
    Wire ab, ba;
    Instant now = Instant::from_nanos(9'000'000'000);
    bool wire_ok = true;
    Pkt forged{};

    AllocScope scope;
    (void)ca.connect(a.ctx, now);
    wire_ok = pump(a, ca, b, cb, &listener, ab, ba, now) && wire_ok;
    (void)ca2.connect(a.ctx, now);
    wire_ok = pump(a, ca2, b, cb2, &listener, ab, ba, now) && wire_ok;
    // RFC 5961: an in-window RST that is not at RCV.NXT, and a SYN, draw challenge ACKs.
    forged.hdr.src_port = 40002;
    forged.hdr.dst_port = kPort;
    forged.hdr.flags = fl::RST;
    forged.hdr.seq = cb.rcv_nxt() + 100;
    cb.on_segment(b.ctx, now, forged.hdr, forged.payload());
    forged.hdr.flags = fl::SYN;
    forged.hdr.seq = cb.rcv_nxt() + 5;
    cb.on_segment(b.ctx, now, forged.hdr, forged.payload());
    // An out-of-window segment draws an ACK; a bad ACK a challenge ACK.
    forged.hdr.flags = fl::ACK;
    forged.hdr.seq = cb.rcv_nxt() + 0x40000000u;
    forged.hdr.ack = cb.snd_nxt();
    cb.on_segment(b.ctx, now, forged.hdr, forged.payload());
    b.done_with_output();
    // ABORT: RST to the peer, which fails with ECONNRESET.
    ca.abort(a.ctx, now);
    wire_ok = pump(a, ca, b, cb, &listener, ab, ba, now) && wire_ok;
    // A segment for the closed TCB is answered with RST (RFC 9293 §3.10.7.1).
    forged.hdr.flags = fl::ACK | fl::PSH;
    forged.hdr.seq = SeqNum(1234);
    forged.hdr.ack = SeqNum(5678);
    forged.len = 10;
    cb.on_segment(b.ctx, now, forged.hdr, forged.payload());
    const std::size_t closed_replies = b.out.segments().size();
    b.done_with_output();
    // Deferred ACKs: one per burst, flushed by the engine.
    a.ctx.defer_acks = true;
    (void)cb2.send(b.ctx, now, wire::Bytes(forged.data.data(), 1000));
    ba.take(b);
    while (!ba.empty()) {
        ca2.on_segment(a.ctx, now, ba.front().hdr, ba.front().payload());
        ba.pop();
    }
    ca2.flush_ack(a.ctx, now);
    a.ctx.defer_acks = false;
    wire_ok = pump(a, ca2, b, cb2, &listener, ab, ba, now) && wire_ok;
    const std::size_t allocs = scope.stop();

    EXPECT_EQ(allocs, 0u);
    EXPECT_TRUE(wire_ok);
    EXPECT_GE(b.counters.challenge_acks, 2u);
    EXPECT_EQ(ca.state(), State::Closed);
    EXPECT_EQ(cb.state(), State::Closed);
    ASSERT_TRUE(cb.failure().has_value());
    EXPECT_EQ(*cb.failure(), Error::ConnectionReset);
    EXPECT_EQ(closed_replies, 1u);
    EXPECT_EQ(ca2.bytes_readable(), 1000u);
    EXPECT_EQ(cb2.snd_una(), cb2.snd_nxt());
}

TEST(NoAlloc, ListenerSynCookiesBacklogAndRst) {
    Config cfg;
    cfg.syn_cookies = SynCookieMode::OnOverflow;
    Host a(kA, cfg, 11);
    Host b(kB, cfg, 12);
    Listener listener(kB, kPort, 8, 1);  // one SYN-RECEIVED slot, then cookies
    Connection& ca1 = a.prepare(0, FourTuple{kA, kB, 41000, kPort});
    Connection& cb1 = b.prepare(0, FourTuple{kB, kA, kPort, 41000});
    Connection& ca2 = a.prepare(1, FourTuple{kA, kB, 41001, kPort});
    Connection& cb2 = b.prepare(1, FourTuple{kB, kA, kPort, 41001});
    Connection& ca3 = a.prepare(2, FourTuple{kA, kB, 41002, kPort});
    Connection& cb3 = b.prepare(2, FourTuple{kB, kA, kPort, 41002});
    Wire ab, ba, cookie_ab, cookie_ba;
    Instant now = Instant::from_nanos(11'000'000'000);
    bool wire_ok = true;
    Pkt stray{};

    AllocScope scope;
    // First SYN takes the only SYN-RECEIVED slot; hold its SYN-ACK so the slot stays taken.
    (void)ca1.connect(a.ctx, now);
    ab.take(a);
    arrive(b, cb1, &listener, ab.front(), now);
    ab.pop();
    ba.take(b);
    const std::size_t held = ba.size();
    // Second SYN: the set is full, so the SYN-ACK carries a cookie and no state is kept.
    (void)ca2.connect(a.ctx, now);
    cookie_ab.take(a);
    arrive(b, cb2, &listener, cookie_ab.front(), now);
    cookie_ab.pop();
    const State cb2_after_syn = cb2.state();
    // Its handshake completes from the cookie ACK, through accept_cookie.
    wire_ok = pump(a, ca2, b, cb2, &listener, cookie_ab, cookie_ba, now) && wire_ok;
    // Now let the first handshake finish too.
    while (!ba.empty()) {
        arrive(a, ca1, nullptr, ba.front(), now);
        ba.pop();
    }
    wire_ok = pump(a, ca1, b, cb1, &listener, ab, ba, now) && wire_ok;
    Connection* first = listener.accept();
    Connection* second = listener.accept();
    // A stray ACK to the listener gets a RST; a RST is ignored; a SYN-RECEIVED timeout.
    stray.hdr.src_port = 41002;
    stray.hdr.dst_port = kPort;
    stray.hdr.flags = fl::ACK;
    stray.hdr.seq = SeqNum(77);
    stray.hdr.ack = SeqNum(99);
    const auto v_ack = listener.on_segment(b.ctx, now, cb3.tuple(), stray.hdr, 0);
    stray.hdr.flags = fl::RST;
    const auto v_rst = listener.on_segment(b.ctx, now, cb3.tuple(), stray.hdr, 0);
    b.done_with_output();
    (void)ca3.connect(a.ctx, now);
    ab.take(a);
    arrive(b, cb3, &listener, ab.front(), now);
    ab.clear();
    b.done_with_output();  // SYN-ACKs lost until the embryonic connection is dropped
    for (int i = 0; i < 10 && cb3.state() != State::Closed; ++i) {
        now = cb3.next_deadline();
        cb3.on_deadline(b.ctx, now);
        b.done_with_output();
    }
    const std::size_t allocs = scope.stop();

    EXPECT_EQ(allocs, 0u);
    EXPECT_TRUE(wire_ok);
    EXPECT_EQ(held, 1u);
    EXPECT_EQ(cb2_after_syn, State::Closed);  // nothing kept for the cookie SYN
    EXPECT_EQ(b.counters.syn_cookies_sent, 1u);
    EXPECT_EQ(b.counters.syn_cookies_ok, 1u);
    EXPECT_EQ(ca1.state(), State::Established);
    EXPECT_EQ(ca2.state(), State::Established);
    EXPECT_EQ(cb1.state(), State::Established);
    EXPECT_EQ(cb2.state(), State::Established);
    EXPECT_EQ(second, &cb1);
    EXPECT_EQ(first, &cb2);
    EXPECT_EQ(v_ack.action, Listener::Action::Replied);
    EXPECT_EQ(v_rst.action, Listener::Action::Drop);
    EXPECT_EQ(cb3.state(), State::Closed);
    EXPECT_EQ(listener.syn_received(), 0u);
}
