// Fuzzes the data path of one established Connection ("L") against a scripted peer: the
// input sets up a configuration and a handshake (passive through accept_syn + final ACK,
// or active through connect + SYN-ACK), then a sequence of steps: data segments from the
// peer (sequence number relative to RCV.NXT, to the window's right edge, to what the peer
// sent so far, old or anywhere; any length; PSH, and rarely FIN, URG, RST, SYN or no ACK;
// fresh, repeated or stale timestamps; delivered zero copy as a BufRef in a pool block with
// headroom, or copied), replays of earlier segments, ACK-only segments (window updates,
// zero windows), application reads (receive, receive_bufs, peek), application writes
// (send, send_buf), clock advances with on_deadline, and the engine's flush_ack.
//
// The peer's byte at sequence number s is always peer_byte(s), so every byte L holds or
// delivers can be checked wherever it came from. After every step check() aborts on:
//   - bytes delivered to the application (receive, receive_bufs, peek) that are not the
//     peer's stream from its first byte on, in order; end of stream other than right after
//     everything before an accepted FIN; reading more than the peer sent contiguously;
//   - bytes_readable() != RCV.NXT - first byte - bytes read (- the FIN), or the in-order
//     queue not contiguous from the next unread byte to RCV.NXT, or its content wrong; the
//     out-of-order queue not sorted, empty-noded, overlapping, at or below RCV.NXT, with
//     wrong content or a wrong byte count; more held than the receive buffer (plus the
//     window scale's rounding);
//   - RCV.NXT moving backwards or beyond the highest contiguous byte the peer sent (+ FIN);
//     a FIN counted that the peer never sent there;
//   - any outgoing ACK number outside [RCV.NXT before, RCV.NXT after], beyond the highest
//     contiguous byte the peer sent + FIN, or below an earlier one;
//   - the advertised right edge (SEG.ACK + SEG.WND << Rcv.Wind.Shift; the SYN-ACK's
//     unscaled) moving left (by 2^Rcv.Wind.Shift or more: RFC 7323 §2.4), or lying beyond the
//     receive buffer (counted from the next unread byte) by as much;
//   - L's own data on the wire differing from what send()/send_buf() accepted;
//   - an in-order data ACK delayed with no timer due within Config::delayed_ack;
//   - Readable/PeerClosed/Closed events that do not match what happened; a deadline still due
//     after on_deadline; a RST in answer to a RST;
//   - buffers: after each step's done_with_output() every pool block in use is held by one
//     BufNode, none at all once CLOSED; after teardown (abort, or release_buffers() on a live
//     TCB) every block and node is back. ASan and UBSan watch everything else.
//
// Input layout (Reader: zeros past the end): 4 config bytes (L's options and buffers, the
// peer's SYN options, a small pool, nodes), peer ISS (u32), start time
// (u16, seconds), peer's first window (u16), then one opcode per step (see
// LLVMFuzzerTestOneInput). Reproduce: `fuzz_tcp_data FILE`; USTCP_FUZZ_TRACE=1 prints steps.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <span>
#include <vector>

#include "ustcp/tcp/connection.hpp"
#include "ustcp/tcp/context.hpp"

#include "fuzz_reader.hpp"

using namespace ustcp;
using namespace ustcp::tcp;
namespace fl = wire::tcp_flags;

namespace {

using ustcp::fuzz::Reader;


/// The peer's byte at sequence number `s` (any s: a retransmission or a forged segment
/// carries the same bytes wherever it lands).
std::uint8_t peer_byte(SeqNum s) {
    std::uint32_t x = s.value() * 0x9E3779B1u;
    x ^= x >> 15;
    x *= 0x85EBCA6Bu;
    x ^= x >> 13;
    return static_cast<std::uint8_t>(x >> 24);
}

/// L's own byte at sequence number `s` (what the application writes).
std::uint8_t our_byte(SeqNum s) {
    std::uint32_t x = (s.value() ^ 0x5bd1e995u) * 0xC2B2AE35u;
    x ^= x >> 16;
    return static_cast<std::uint8_t>(x >> 8);
}

bool tracing() {
    static const bool on = std::getenv("USTCP_FUZZ_TRACE") != nullptr;
    return on;
}

constexpr FourTuple kTuple{Ipv4Addr(198, 18, 0, 1), Ipv4Addr(198, 18, 0, 2), 80, 40000};
constexpr std::array<std::uint32_t, 8> kRecvBuffers{65536, 4096, 1460, 100, 1, 200000, 3000, 0};
constexpr std::array<std::uint32_t, 4> kSendBuffers{65536, 1000, 0, 200000};
constexpr std::array<std::uint16_t, 4> kMss{1460, 536, 100, 1200};
constexpr std::array<std::uint8_t, 4> kQuickack{16, 0, 2, 1};
constexpr std::array<std::size_t, 4> kNodes{2048, 8, 64, 512};
constexpr std::array<std::uint32_t, 8> kHeadroom{0, 14, 42, 54, 66, 128, 1, 255};
constexpr std::uint32_t kMaxPayload = 3000;
constexpr int kMaxSteps = 500;

/// The payload pool behind the Stack, built once per process (every run must hand every
/// block back, which teardown() checks, so each run starts from a full pool).
constexpr std::size_t kPoolBlocks = 1024;
constexpr std::uint32_t kBlockSize = 4096;
HeapBuffers& pool() {
    static HeapBuffers p(kPoolBlocks, kBlockSize);
    return p;
}

SipKey key(std::uint64_t s) { return SipKey::from_words(0x0706050403020100ull ^ s, 0x0f0e0d0c0b0a0908ull + s); }

std::array<std::uint8_t, 1u << 16> g_buf;   // payloads being built, writes
std::array<std::uint8_t, 1u << 18> g_sink;  // receive() target

struct Sent {
    SeqNum seq;
    std::uint32_t len;
    std::uint8_t flags;
};

struct World {
    World(const Config& cfg, std::size_t nodes, Instant start)
        : st(cfg, key(1), key(2), pool().ops(), nodes, 2), c(kTuple), now(start) {}  // 2 SACK senders

    Stack st;
    Connection c;
    Instant now;
    std::vector<void*> hogged;  // pool blocks held back to make the pool small

    // The peer's side of the stream.
    SeqNum irs, start;                      // its ISS; its first data byte (IRS + 1)
    std::int64_t contig = 0;                // [start, start + contig) all sent at least once
    std::map<std::int64_t, std::int64_t> pending;  // sent ranges beyond contig
    std::set<std::int64_t> fins;            // offsets of FINs sent
    std::uint32_t peer_ts = 1000;           // the peer's TSval clock
    std::uint32_t our_tsval = 0;            // last TSval L sent (the peer's TSecr)
    std::uint16_t peer_window = 65535;
    std::array<Sent, 8> history{};
    std::size_t nhistory = 0;

    // What L's application saw, and what L advertised.
    std::uint64_t read_total = 0;
    bool discarded = false;                 // close/abort/CLOSED with unread data: stream may be short
    bool synced = false;                    // RCV.NXT has been set from the peer's SYN
    bool ack_known = false;
    SeqNum last_ack;                        // highest ACK number L sent
    bool adv_known = false;
    SeqNum adv_edge;                        // rightmost edge L advertised
    SeqNum rcv_nxt_seen;
    std::uint64_t our_sent = 0;             // bytes L's send()/send_buf() accepted
    unsigned turn = 0;

    [[nodiscard]] std::int64_t rel(SeqNum s) const { return static_cast<std::int32_t>(s - start); }
    /// The highest ACK number the peer's data allows: contiguous data, plus a FIN right there.
    [[nodiscard]] std::int64_t ack_bound() const { return contig + (fins.count(contig) ? 1 : 0); }

    void cover(std::int64_t b, std::int64_t e) {
        if (b < -(1ll << 30) || e > (1ll << 30)) return;  // far away: never acceptable in one run
        if (e <= contig) return;
        if (b <= contig) {
            contig = e;
        } else {
            auto& end = pending[b];
            end = std::max(end, e);
        }
        while (!pending.empty() && pending.begin()->first <= contig) {
            contig = std::max(contig, pending.begin()->second);
            pending.erase(pending.begin());
        }
    }
};

[[noreturn]] void violation(const World& w, const char* what) {
    std::fprintf(stderr, "INVARIANT VIOLATION: %s [%s rcv_nxt=%u (+%lld) readable=%zu read=%llu contig=%lld]\n", what,
                 to_string(w.c.state()).data(), w.c.rcv_nxt().value(), static_cast<long long>(w.rel(w.c.rcv_nxt())),
                 w.c.bytes_readable(), static_cast<unsigned long long>(w.read_total),
                 static_cast<long long>(w.contig));
    std::abort();
}

void trace_seg(const char* dir, const wire::TcpRepr& h, std::size_t len, const World& w) {
    if (!tracing()) return;
    std::fprintf(stderr, "    %s flags=%02x seq=%u(+%lld) ack=%u win=%u len=%zu ts=%s%u/%u\n", dir, h.flags,
                 h.seq.value(), static_cast<long long>(w.rel(h.seq)), h.ack.value(), h.window, len,
                 h.options.timestamps ? "" : "-", h.options.timestamps ? h.options.timestamps->val : 0,
                 h.options.timestamps ? h.options.timestamps->ecr : 0);
}

struct Before {
    bool synced;
    State state;
    SeqNum rcv_nxt;
    std::size_t readable;
    std::uint64_t bytes_in;
    bool peer_closed;
    std::uint64_t seg_ovf;
};

Before before(const World& w) {
    return {w.synced, w.c.state(), w.c.rcv_nxt(), w.c.bytes_readable(), w.c.stats().bytes_in, w.c.peer_closed(),
            w.st.out.segment_overflows()};
}

/// The receive queues: contiguous in-order data from the next unread byte to RCV.NXT, a
/// sorted out-of-order queue beyond it, byte counts, and the content (sampled per node).
void check_queues(const World& w) {
    const Connection& c = w.c;
    const RecvQueue& q = c.recv_queue();
    auto content = [&](const BufNode* n) {
        if (n->len == 0) violation(w, "empty node in a receive queue");
        for (std::uint32_t i : {0u, n->len / 2, n->len - 1}) {
            if (n->data[i] != peer_byte(n->seq + i)) violation(w, "receive queue holds bytes the peer never sent there");
        }
    };
    std::uint64_t in_order = 0;
    SeqNum next = w.start + static_cast<std::uint32_t>(w.read_total);
    for (const BufNode* n = q.head(); n != nullptr; n = n->next) {
        if (!w.discarded && n->seq != next) violation(w, "in-order queue not contiguous from the next unread byte");
        content(n);
        next = n->end();
        in_order += n->len;
    }
    if (in_order != q.readable() || q.readable() != c.bytes_readable()) violation(w, "readable() != bytes queued in order");
    if (q.head() != nullptr && next + (c.peer_closed() ? 1u : 0u) != c.rcv_nxt()) {
        violation(w, "in-order queue does not end at RCV.NXT");
    }
    std::uint64_t ooo = 0;
    const BufNode* prev = nullptr;
    for (const BufNode* n = q.ooo_head(); n != nullptr; n = n->next) {
        if (n->seq <= c.rcv_nxt()) violation(w, "out-of-order node at or below RCV.NXT");
        if (prev != nullptr && n->seq < prev->end()) violation(w, "out-of-order queue unsorted or overlapping");
        content(n);
        ooo += n->len;
        prev = n;
    }
    if (ooo != q.ooo_bytes()) violation(w, "ooo_bytes() != bytes queued out of order");
    if (q.has_ooo() != (q.ooo_head() != nullptr)) violation(w, "has_ooo() wrong");
    const std::uint32_t slack = (std::uint32_t{1} << c.rcv_wscale()) - 1;  // advertised_window() rounds up
    if (q.held() > w.st.cfg.recv_buffer + slack) violation(w, "more held than the receive buffer");
}

/// Every invariant after one step. `in`: the segment delivered in this step, if any.
void check(World& w, const Before& b, bool timer, const wire::TcpRepr* in, std::uint32_t in_len) {
    const Connection& c = w.c;
    const State to = c.state();
    const Config& cfg = w.st.cfg;
    if (tracing()) {
        std::fprintf(stderr, "  -> %s una=%u nxt=%u wnd=%u rcv=%u(+%lld) rwnd=%u q=%zu r=%zu ooo=%u dl=%lld\n",
                     to_string(to).data(), c.snd_una().value(), c.snd_nxt().value(), c.snd_wnd(), c.rcv_nxt().value(),
                     static_cast<long long>(w.rel(c.rcv_nxt())), c.rcv_wnd(), c.send_queued(), c.bytes_readable(),
                     c.recv_queue().ooo_bytes(),
                     c.next_deadline() == kNever ? -1LL : static_cast<long long>(c.next_deadline().nanos()));
        if (in != nullptr) trace_seg("in ", *in, in_len, w);
        for (const OutSegment& o : w.st.out.segments()) trace_seg("out", o.hdr, o.payload_len(), w);
    }
    // A TCB that reaches CLOSED holds no buffers: data not yet read is gone.
    if (b.state != State::Closed && to == State::Closed && (b.readable > 0 || c.stats().bytes_in != b.bytes_in)) {
        w.discarded = true;
    }

    // --- events ---
    int readable_ev = 0, peer_closed_ev = 0, closed_ev = 0;
    for (const Event& e : w.st.out.events()) {
        if (e.conn != &c) violation(w, "event for another connection");
        readable_ev += e.kind == EventKind::Readable;
        peer_closed_ev += e.kind == EventKind::PeerClosed;
        closed_ev += e.kind == EventKind::Closed;
    }
    if ((c.stats().bytes_in != b.bytes_in) != (readable_ev > 0)) violation(w, "Readable event iff RCV.NXT moved over data");
    if ((c.peer_closed() != b.peer_closed) != (peer_closed_ev == 1) || peer_closed_ev > 1) {
        violation(w, "PeerClosed event iff the FIN was accepted, once");
    }
    if ((b.state != State::Closed && to == State::Closed) != (closed_ev == 1) || closed_ev > 1) {
        violation(w, "Closed event iff the TCB closed, once");
    }

    // --- receive sequence space (from the step that took the peer's SYN on) ---
    if (!w.synced && (to == State::SynReceived || to == State::Established)) {
        if (c.rcv_nxt() != w.start) violation(w, "RCV.NXT after the peer's SYN is not IRS + 1");
        w.synced = true;
        w.rcv_nxt_seen = c.rcv_nxt();
    }
    const std::int64_t nxt = w.rel(c.rcv_nxt());
    if (!w.synced) return;
    if (c.rcv_nxt() < w.rcv_nxt_seen) violation(w, "RCV.NXT moved backwards");
    if (nxt > w.ack_bound()) violation(w, "RCV.NXT beyond what the peer sent contiguously (+ FIN)");
    if (c.peer_closed() && !w.fins.count(nxt - 1)) violation(w, "FIN accepted where the peer sent none");
    w.rcv_nxt_seen = c.rcv_nxt();
    if (to != State::Closed) {
        if (!w.discarded) {
            const std::int64_t expect = nxt - static_cast<std::int64_t>(w.read_total) - (c.peer_closed() ? 1 : 0);
            if (static_cast<std::int64_t>(c.bytes_readable()) != expect) {
                violation(w, "bytes_readable() != RCV.NXT - first byte - bytes read");
            }
        }
        check_queues(w);
    } else if (c.recv_queue().has_ooo() || (c.failure() && c.bytes_readable() != 0)) {
        // After a graceful close unread in-order data stays readable; nothing else is held.
        violation(w, "CLOSED with out-of-order data, or with data after a failure");
    }

    // --- timers ---
    if (timer && to != State::Closed && c.next_deadline() <= w.now) violation(w, "deadline still due after on_deadline");

    // --- segments L sent ---
    for (const OutSegment& o : w.st.out.segments()) {
        const wire::TcpRepr& h = o.hdr;
        if (!(o.tuple == kTuple) || h.src_port != kTuple.local_port || h.dst_port != kTuple.remote_port) {
            violation(w, "segment for the wrong tuple");
        }
        const bool rst = (h.flags & fl::RST) != 0;
        if (rst && in != nullptr && (in->flags & fl::RST)) violation(w, "RST in answer to a RST");
        if (h.options.timestamps) w.our_tsval = h.options.timestamps->val;
        if (o.payload_len() > 0) {
            if (rst || (h.flags & fl::SYN)) violation(w, "payload on a SYN or RST");
            const std::uint32_t k = static_cast<std::uint32_t>(h.seq - (c.iss() + 1));
            if (k + o.payload_len() > w.our_sent) violation(w, "L sent bytes its send() never accepted");
            std::uint32_t i = 0;
            bool same = true;
            o.for_each_piece([&](const std::uint8_t* d, std::uint32_t n) {
                for (std::uint32_t j = 0; j < n; ++j, ++i) same = same && d[j] == our_byte(h.seq + i);
            });
            if (i != o.payload_len()) violation(w, "payload pieces do not add up to its length");
            if (!same) violation(w, "L's data on the wire differs from what send() accepted");
        }
        if (rst || !(h.flags & fl::ACK)) continue;  // a reset's ACK answers the segment, not the stream
        if ((b.synced && h.ack < b.rcv_nxt) || h.ack > c.rcv_nxt()) {
            violation(w, "SEG.ACK outside [RCV.NXT before, RCV.NXT after]");
        }
        if (w.rel(h.ack) > w.ack_bound()) violation(w, "ACK beyond the highest contiguous byte the peer sent + FIN");
        if (w.ack_known && h.ack < w.last_ack) violation(w, "ACK number moved backwards");
        w.last_ack = w.ack_known ? SeqNum::max(w.last_ack, h.ack) : h.ack;
        w.ack_known = true;
        const std::uint32_t shift = (h.flags & fl::SYN) ? 0 : c.rcv_wscale();
        const std::uint32_t grain = (std::uint32_t{1} << shift) - 1;
        const SeqNum edge = h.ack + (static_cast<std::uint32_t>(h.window) << shift);
        // A scaled window names multiples of 2^shift: the edge may retract by less than that
        // (RFC 7323 §2.4), never by more (RFC 9293 SHLD-14).
        if (w.adv_known && edge + grain < w.adv_edge) violation(w, "advertised right edge moved left");
        if (!w.adv_known || edge > w.adv_edge) w.adv_edge = edge;
        w.adv_known = true;
        // Nor may it lie beyond the receive buffer (from the next unread byte) by as much: a
        // promise rounded up again and again would creep past the buffer.
        if (b.synced && !w.discarded && to != State::Closed) {
            const std::int64_t buffer_end = static_cast<std::int64_t>(w.read_total) + cfg.recv_buffer +
                                            (c.peer_closed() ? 1 : 0);
            if (w.rel(edge) > buffer_end + grain) violation(w, "advertised window beyond the receive buffer");
        }
    }

    // --- delayed ACK: in-order data not yet acknowledged has its timer ---
    const bool rx_state = to == State::Established || to == State::FinWait1 || to == State::FinWait2;
    if (rx_state && w.ack_known && w.last_ack < c.rcv_nxt() && !c.ack_pending() &&
        w.st.out.segment_overflows() == b.seg_ovf) {
        if (c.next_deadline() > w.now + cfg.delayed_ack) violation(w, "data left unacknowledged without an ACK timer");
    }
}

/// Runs one step: `f` does it; then check(), the outbox is done with, and the buffers tally.
template <class F>
void step(World& w, bool timer, const wire::TcpRepr* in, F&& f, std::uint32_t in_len = 0) {
    const Before b = before(w);
    f();
    check(w, b, timer, in, in_len);
    w.st.done_with_output();
    const std::size_t mine = w.hogged.size();
    if (w.st.heap.in_use() != 0) violation(w, "the Stack's own heap was used");
    if (pool().in_use() != w.st.bufs.nodes_in_use() + mine) violation(w, "pool blocks in use != BufNodes in use");
    if (w.c.state() == State::Closed) {
        // Only in-order data still readable after a graceful close may stay (until the TCB is freed).
        std::size_t readable = 0;
        for (const BufNode* n = w.c.recv_queue().head(); n != nullptr; n = n->next) ++readable;
        if (w.c.send_queued() != 0 || w.c.recv_queue().has_ooo() || w.st.bufs.nodes_in_use() != readable) {
            violation(w, "CLOSED TCB holds buffers other than its unread data");
        }
    }
}

/// Timestamps on a peer segment: fresh, repeated, stale (PAWS) or missing.
void stamp(World& w, wire::TcpRepr& h, unsigned mode, std::uint8_t arg) {
    if (!w.c.timestamps_on() && mode != 3) return;
    switch (mode) {
        case 0:
        case 1: w.peer_ts += 1 + (arg & 3); break;
        case 2: break;
        default:
            if (arg == 0) return;  // no TSopt at all
            h.options.timestamps = wire::TcpTimestamps{w.peer_ts - arg, w.our_tsval};
            return;
    }
    h.options.timestamps = wire::TcpTimestamps{w.peer_ts, w.our_tsval};
}

wire::TcpRepr peer_header(const World& w, std::uint8_t flags, SeqNum seq) {
    wire::TcpRepr h;
    h.src_port = kTuple.remote_port;
    h.dst_port = kTuple.local_port;
    h.flags = flags;
    h.seq = seq;
    h.ack = w.c.snd_nxt();
    h.window = w.peer_window;
    return h;
}

/// Delivers a peer segment with `len` bytes of the peer's stream at its data sequence number:
/// zero copy in a pool block after `headroom` bytes (path 0..2), or copied (path 3).
void deliver(World& w, const wire::TcpRepr& h, std::uint32_t len, unsigned path, std::uint32_t headroom) {
    const SeqNum data_seq = h.seq + ((h.flags & fl::SYN) ? 1u : 0u);
    len = std::min(len, kMaxPayload);
    for (std::uint32_t i = 0; i < len; ++i) g_buf[i] = peer_byte(data_seq + i);
    // What counts as sent by the peer: data and FIN of a segment a synchronized TCP may accept
    // (ACK on, no SYN, no RST). Anything else must never move RCV.NXT.
    if ((h.flags & fl::ACK) && !(h.flags & (fl::SYN | fl::RST))) {
        if (len > 0) w.cover(w.rel(h.seq), w.rel(h.seq) + len);
        if (h.flags & fl::FIN) {
            w.fins.insert(w.rel(h.seq) + len);
            w.cover(w.rel(h.seq) + len, w.rel(h.seq) + len + 1);
        }
        if (len > 0 || (h.flags & fl::FIN)) {
            w.history[w.nhistory++ % w.history.size()] = Sent{h.seq, len, h.flags};
        }
    }
    step(w, false, &h, [&] {
        if (path < 3 && len + headroom <= kBlockSize) {
            const MutBuf m = pool().alloc(len + headroom);
            if (m.handle != nullptr) {
                std::memcpy(m.data + headroom, g_buf.data(), len);
                w.c.on_segment(w.st.ctx, w.now, h, BufRef{m.handle, m.data + headroom, len});
                return;
            }
            // The pool is empty: as a NIC without mbufs, drop the segment.
            return;
        }
        w.c.on_segment(w.st.ctx, w.now, h, wire::Bytes(g_buf.data(), len));
    }, len);
}

void data_segment(World& w, Reader& r) {
    const std::uint8_t m = r.u8();
    const std::uint8_t f = r.u8();
    const Connection& c = w.c;
    const SeqNum sent_end = w.start + static_cast<std::uint32_t>(w.contig);
    SeqNum seq;
    switch (m & 7) {
        case 0:
        case 1: seq = sent_end; break;  // the next new data
        case 2: seq = c.rcv_nxt() + static_cast<std::uint32_t>(static_cast<std::int8_t>(r.u8())); break;
        case 3: seq = c.rcv_nxt() + r.u16() % (c.rcv_wnd() + 2 * kMaxPayload); break;  // in the window, out of order
        case 4: seq = c.rcv_nxt() + c.rcv_wnd() + static_cast<std::uint32_t>(static_cast<std::int8_t>(r.u8())); break;
        case 5: seq = sent_end + 1u + r.u8(); break;  // a small hole
        case 6: seq = c.rcv_nxt() - r.u16(); break;   // old
        default: seq = SeqNum(r.u32()); break;
    }
    std::uint32_t len = 0;
    switch ((m >> 3) & 3) {
        case 0: len = r.u8(); break;
        case 1: len = r.u16() % (kMaxPayload + 1); break;
        case 2: len = 1u + r.u8() % 16; break;
        default: len = w.st.cfg.mss; break;  // full-sized
    }
    std::uint8_t flags = fl::ACK;
    if (m & 0x20) flags |= fl::PSH;
    wire::TcpRepr h = peer_header(w, flags, seq);
    switch (m >> 6) {
        case 0:
        case 1: break;
        case 2: h.flags |= fl::FIN; break;
        default: {
            const std::uint8_t x = r.u8();
            switch (x & 7) {
                case 0: h.flags |= fl::RST; break;
                case 1: h.flags |= fl::SYN; break;
                case 2: h.flags &= static_cast<std::uint8_t>(~fl::ACK); break;
                case 3: h.flags |= fl::URG; h.urgent_ptr = r.u16(); break;
                case 4: h.flags = fl::RST; break;
                case 5: h.flags |= fl::FIN | fl::URG; h.urgent_ptr = static_cast<std::uint16_t>(len); break;
                case 6: h.flags |= fl::SYN | fl::FIN; break;
                default: h.flags = fl::FIN; break;
            }
            break;
        }
    }
    if (f & 0x80) h.ack = c.snd_una();
    stamp(w, h, (f >> 5) & 3, r.u8());
    deliver(w, h, len, f & 3, kHeadroom[(f >> 2) & 7]);
    if (w.st.ctx.defer_acks && !(f & 0x10)) step(w, false, nullptr, [&] { w.c.flush_ack(w.st.ctx, w.now); });
}

/// An earlier data segment again (a retransmission, possibly shifted: overlaps).
void replay(World& w, Reader& r) {
    if (w.nhistory == 0) return;
    const std::uint8_t x = r.u8();
    const Sent s = w.history[(w.nhistory - 1 - (x & 7) % std::min<std::size_t>(w.nhistory, 8)) % w.history.size()];
    const std::int32_t shift = (x & 0x40) ? static_cast<std::int8_t>(r.u8()) : 0;
    wire::TcpRepr h = peer_header(w, s.flags, s.seq + static_cast<std::uint32_t>(shift));
    stamp(w, h, (x >> 4) & 1, 0);
    const std::int64_t len = static_cast<std::int64_t>(s.len) - ((x & 0x80) ? shift : 0);
    deliver(w, h, static_cast<std::uint32_t>(std::clamp<std::int64_t>(len, 0, kMaxPayload)), x & 3, kHeadroom[x & 7]);
    if (w.st.ctx.defer_acks) step(w, false, nullptr, [&] { w.c.flush_ack(w.st.ctx, w.now); });
}

/// An ACK-only segment from the peer: window updates (zero too), old or odd ACK numbers.
void ack_segment(World& w, Reader& r) {
    const std::uint8_t m = r.u8();
    const Connection& c = w.c;
    switch (m & 3) {
        case 0: w.peer_window = r.u16(); break;
        case 1: w.peer_window = 0; break;
        case 2: break;
        default: w.peer_window = 65535; break;
    }
    const SeqNum seq = (m & 4) ? c.rcv_nxt() : w.start + static_cast<std::uint32_t>(w.contig);
    wire::TcpRepr h = peer_header(w, fl::ACK, seq);
    switch ((m >> 3) & 3) {
        case 0: break;
        case 1: h.ack = c.snd_una(); break;
        case 2: h.ack = c.snd_una() + r.u16() % (static_cast<std::uint32_t>(c.snd_nxt() - c.snd_una()) + 1); break;
        default: h.ack = c.snd_una() + static_cast<std::uint32_t>(static_cast<std::int16_t>(r.u16())); break;
    }
    stamp(w, h, (m >> 5) & 3, r.u8());
    deliver(w, h, 0, m >> 7 ? 3 : 0, 0);
    if (w.st.ctx.defer_acks) step(w, false, nullptr, [&] { w.c.flush_ack(w.st.ctx, w.now); });
}

/// Application reads: receive(), receive_bufs() or peek() (then receive()).
void app_read(World& w, Reader& r) {
    const std::uint8_t a = r.u8();
    std::size_t n = 0;
    switch (a & 3) {
        case 0: n = 1u + r.u8(); break;
        case 1: n = r.u16(); break;
        case 2: n = g_sink.size(); break;
        default: n = 0; break;
    }
    const unsigned variant = (a >> 2) & 3;
    const std::size_t count = 1u + ((a >> 4) & 7);
    const std::uint8_t skip_arg = variant == 3 ? r.u8() : 0;
    step(w, false, nullptr, [&] {
        const Connection& c = w.c;
        const std::size_t readable = c.bytes_readable();
        auto verify = [&](const std::uint8_t* d, std::size_t k, std::uint64_t at) {
            if (w.discarded) return;
            if (static_cast<std::int64_t>(at + k) > w.contig) violation(w, "read more than the peer sent contiguously");
            for (std::size_t i = 0; i < k; ++i) {
                if (d[i] != peer_byte(w.start + static_cast<std::uint32_t>(at + i))) {
                    violation(w, "read bytes are not the peer's stream");
                }
            }
        };
        if (variant == 3) {
            const std::size_t skip = std::min<std::size_t>(skip_arg, readable);
            const std::size_t k = c.peek(skip, wire::MutBytes(g_sink.data(), n));
            if (k != std::min(n, readable - skip)) violation(w, "peek() returned the wrong length");
            if (c.bytes_readable() != readable) violation(w, "peek() consumed data");
            verify(g_sink.data(), k, w.read_total + skip);
        }
        std::size_t got = 0;
        bool eof = false;
        if (variant == 2) {
            std::array<BufRef, 8> bufs{};
            auto res = w.c.receive_bufs(w.st.ctx, w.now, std::span<BufRef>(bufs.data(), count));
            if (!res) {
                if (readable > 0) violation(w, "receive_bufs() failed with data readable");
                return;
            }
            for (std::size_t i = 0; i < *res; ++i) {
                if (bufs[i].handle == nullptr || bufs[i].len == 0) violation(w, "receive_bufs() gave an empty buffer");
                verify(bufs[i].data, bufs[i].len, w.read_total + got);
                got += bufs[i].len;
                pool().free(bufs[i].handle);  // the application's now: back to its pool
            }
            eof = *res == 0;
        } else {
            auto res = w.c.receive(w.st.ctx, w.now, wire::MutBytes(g_sink.data(), n));
            if (!res) {
                if (readable > 0 && n > 0) violation(w, "receive() failed with data readable");
                return;
            }
            got = *res;
            if (got > n) violation(w, "receive() returned more than asked");
            verify(g_sink.data(), got, w.read_total);
            eof = got == 0 && n > 0;
        }
        if (got > readable || c.bytes_readable() != readable - got) {
            violation(w, "bytes_readable() does not match what was read");
        }
        if (eof && !w.discarded) {
            if (!c.peer_closed()) violation(w, "end of stream without a FIN");
            if (static_cast<std::int64_t>(w.read_total) + 1 != w.rel(c.rcv_nxt())) {
                violation(w, "end of stream before everything up to the FIN was read");
            }
        }
        w.read_total += got;
    });
}

/// Application writes on L: send() (copies) or send_buf() (a whole pool block).
void app_write(World& w, Reader& r) {
    const std::uint8_t a = r.u8();
    const std::size_t n = (a & 1) ? r.u16() % 6000 : r.u8();
    const SeqNum at = w.c.iss() + 1 + static_cast<std::uint32_t>(w.our_sent);
    for (std::size_t i = 0; i < n; ++i) g_buf[i] = our_byte(at + static_cast<std::uint32_t>(i));
    step(w, false, nullptr, [&] {
        if (a & 2) {
            const MutBuf m = pool().alloc(static_cast<std::uint32_t>(n));
            if (m.handle == nullptr) return;
            const auto k = static_cast<std::uint32_t>(std::min<std::size_t>(n, m.cap));
            std::memcpy(m.data, g_buf.data(), k);
            auto res = w.c.send_buf(w.st.ctx, w.now, BufRef{m.handle, m.data, k});
            if (res && *res == k && k > 0) {
                w.our_sent += k;
            } else {
                if (res && *res != 0) violation(w, "send_buf() took part of a buffer");
                pool().free(m.handle);  // not taken: still ours
            }
            return;
        }
        if (auto res = w.c.send(w.st.ctx, w.now, wire::Bytes(g_buf.data(), n))) w.our_sent += *res;
    });
}

void clock_step(World& w, Reader& r) {
    const std::uint8_t m = r.u8();
    switch (m & 3) {
        case 0: w.now += Duration::micros(r.u16()); break;
        case 1: w.now += Duration::millis(r.u8()); break;
        case 2:
            if (w.c.next_deadline() != kNever && w.c.next_deadline() > w.now) w.now = w.c.next_deadline();
            break;
        default: w.now += Duration::seconds(r.u8() % 8); break;
    }
    if (w.now >= w.c.next_deadline()) step(w, true, nullptr, [&] { w.c.on_deadline(w.st.ctx, w.now); });
}

void misc_step(World& w, Reader& r) {
    const std::uint8_t m = r.u8();
    step(w, false, nullptr, [&] {
        switch (m & 15) {
            case 0: (void)w.c.shutdown_write(w.st.ctx, w.now); break;
            case 1:
                if (m & 0x10) {
                    w.discarded = w.discarded || w.c.bytes_readable() > 0;
                    (void)w.c.close(w.st.ctx, w.now);
                }
                break;
            case 2:
                if (m & 0x10) {
                    w.discarded = true;
                    w.c.abort(w.st.ctx, w.now);
                }
                break;
            case 3: w.c.set_nodelay(w.st.ctx, w.now, (m & 0x10) != 0); break;
            case 4: w.c.set_keepalive(w.st.ctx, w.now, (m & 0x10) != 0); break;
            default: w.c.flush_ack(w.st.ctx, w.now); break;
        }
    });
}

/// Brings L to ESTABLISHED: passively (the peer's SYN to accept_syn, our SYN-ACK, the peer's
/// ACK) or actively (connect, the peer's SYN-ACK, our ACK).
void handshake(World& w, bool active, std::optional<std::uint8_t> wscale, std::uint16_t mss, bool sack, bool ts,
               std::uint16_t first_window) {
    wire::TcpRepr syn = peer_header(w, fl::SYN, w.irs);
    syn.window = first_window;
    syn.options.mss = mss;
    syn.options.wscale = wscale;
    syn.options.sack_permitted = sack;
    if (ts) syn.options.timestamps = wire::TcpTimestamps{w.peer_ts, 0};
    if (active) {
        step(w, false, nullptr, [&] { (void)w.c.connect(w.st.ctx, w.now); });
        syn.flags |= fl::ACK;
        syn.ack = w.c.iss() + 1;
        if (ts) syn.options.timestamps->ecr = w.our_tsval;
        w.now += Duration::millis(1);
        step(w, false, &syn, [&] { w.c.on_segment(w.st.ctx, w.now, syn, BufRef{}); });
    } else {
        step(w, false, &syn, [&] { w.c.accept_syn(w.st.ctx, w.now, syn, nullptr); });
        w.now += Duration::millis(1);
        wire::TcpRepr ack = peer_header(w, fl::ACK, w.start);
        ack.window = first_window;
        stamp(w, ack, 0, 0);
        step(w, false, &ack, [&] { w.c.on_segment(w.st.ctx, w.now, ack, wire::Bytes{}); });
    }
    if (w.c.state() != State::Established || !w.synced) violation(w, "handshake did not reach ESTABLISHED");
}

/// End of the run: abort, or release_buffers() as the engine does for a TCB it tears down;
/// then every pool block and node must be back.
void teardown(World& w, bool use_abort) {
    if (w.c.state() != State::Closed) {
        if (use_abort) w.c.abort(w.st.ctx, w.now);
        else w.c.release_buffers(w.st.ctx);
    } else {
        w.c.release_buffers(w.st.ctx);  // unread data a graceful close left readable
    }
    w.st.done_with_output();
    for (void* h : w.hogged) pool().free(h);
    w.hogged.clear();
    if (w.st.bufs.nodes_in_use() != 0) violation(w, "BufNodes not returned after teardown");
    if (pool().in_use() != 0) violation(w, "pool blocks not returned after teardown");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    Reader r(data, size);
    const std::uint8_t b0 = r.u8();
    const std::uint8_t b1 = r.u8();
    const std::uint8_t b2 = r.u8();
    const std::uint8_t b3 = r.u8();
    const std::uint32_t irs = r.u32();
    const std::uint16_t start_s = r.u16();
    const std::uint16_t first_window = r.u16();

    Config cfg;
    cfg.window_scaling = !(b0 & 1);
    cfg.timestamps = !(b0 & 2);
    cfg.sack = !(b0 & 4);
    cfg.rfc5961 = !(b0 & 8);
    const bool active = (b0 & 0x10) != 0;
    if (b0 & 0x40) cfg.delayed_ack = Duration::zero();
    cfg.nodelay = (b0 & 0x80) != 0;
    cfg.recv_buffer = kRecvBuffers[b1 & 7];
    cfg.mss = kMss[(b1 >> 3) & 3];
    cfg.quickack = kQuickack[(b1 >> 5) & 3];
    cfg.keepalive = (b1 & 0x80) != 0;
    cfg.keepalive_idle = Duration::seconds(5);
    cfg.keepalive_interval = Duration::seconds(1);
    cfg.keepalive_count = 3;
    cfg.data_retries = 4;
    cfg.msl = Duration::seconds(2);
    cfg.send_buffer = kSendBuffers[(b3 >> 2) & 3];
    const std::uint8_t ws = b2 & 15;
    const std::optional<std::uint8_t> peer_ws = ws == 15 ? std::nullopt : std::optional<std::uint8_t>(ws);
    const std::uint16_t peer_mss = kMss[(b2 >> 4) & 3];
    const bool peer_sack = (b2 & 0x40) != 0;
    const bool small_pool = (b2 & 0x80) != 0;

    World w(cfg, kNodes[b3 & 3], Instant::from_nanos(static_cast<std::int64_t>(start_s) * 1'000'000'000 + 777));
    w.st.ctx.defer_acks = (b0 & 0x20) != 0;
    w.irs = SeqNum(irs);
    w.start = w.irs + 1;
    w.peer_window = first_window;
    if (b3 & 0x10) w.peer_ts = 0x7fffff00u;  // the TSval clock wraps its sign bit during the run
    if (small_pool) {
        // Leave 24 blocks: payload then runs out of buffers (drop_no_buffer paths).
        while (pool().in_use() + 24 < pool().total()) {
            const MutBuf m = pool().alloc(1);
            w.hogged.push_back(m.handle);
        }
    }

    handshake(w, active, peer_ws, peer_mss, peer_sack, !(b3 & 0x20), first_window);

    for (int i = 0; i < kMaxSteps && !r.empty(); ++i) {
        const std::uint8_t op = r.u8();
        if (tracing()) std::fprintf(stderr, "step %d op %u t=%lld\n", i, op % 16, static_cast<long long>(w.now.nanos()));
        switch (op % 16) {
            case 0:
            case 1:
            case 2:
            case 3:
            case 4:
            case 5:
            case 6: data_segment(w, r); break;
            case 7:
            case 8: app_read(w, r); break;
            case 9: ack_segment(w, r); break;
            case 10:
            case 11: clock_step(w, r); break;
            case 12: app_write(w, r); break;
            case 13: misc_step(w, r); break;
            default: replay(w, r); break;
        }
    }
    if (tracing()) std::fprintf(stderr, "teardown\n");
    teardown(w, ((w.read_total + w.our_sent) & 1) != 0);
    return 0;
}
