// Fuzzes the RFC 9293 state machine of one Connection ("L") against a real peer
// Connection ("P"), both lib/tcp, on a fake clock. The input picks a configuration
// and a starting state that is reached by real transitions (SYN-SENT ... TIME-WAIT,
// actively, passively through a Listener, with SYN cookies, or by simultaneous open),
// then a sequence of steps: forged segments to L (flags, seq/ack relative to
// RCV.NXT / SND.UNA / SND.NXT or raw, window, MSS/WS/SACK/timestamp options, payload),
// delivery, loss, duplication and reordering of what the two sides sent each other,
// user calls on either side, listener accept(), and clock advances with on_deadline.
// Either side may run with Context::defer_acks, the engine's one-ACK-per-burst mode, in
// which the fuzzer calls flush_ack() at the end of each burst of deliveries.
//
// After every step, for both connections, check() aborts on any violation of:
//   - SND.UNA <= SND.NXT, and SND.NXT - SND.UNA <= send_queued() + SYN + FIN;
//   - RCV.NXT never moves backwards (modulo 2^32), and RCV.NXT + RCV.WND never lies left of
//     the right edge already advertised;
//   - state changes only along the RFC 9293 edges allowed for that kind of step
//     (kEdges below, including RFC 5961 / abort / timeout edges to CLOSED); once CLOSED,
//     always CLOSED; a synchronized connection closed by a segment under RFC 5961 was
//     closed by a RST with SEG.SEQ = RCV.NXT (or an ACK of our FIN in LAST-ACK, or data
//     for an application that closed); in SYN-SENT only by a RST with an acceptable ACK;
//   - send_queued() <= send buffer (or one send_buf() buffer), bytes_readable() <= receive
//     buffer (+ less than 2^Rcv.Wind.Shift: the scaled window is rounded up);
//   - liveness: unsent data (open or zero peer window: the persist timer) or an unsent FIN with
//     nothing in flight has a timer;
//   - no Outbox overflow (segments or events) in a single step;
//   - every emitted segment: ports of the tuple; never SYN+RST or SYN+FIN; MSS, WS and
//     SACK-permitted only on SYN; WS on a SYN-ACK only when negotiated, and equal to our
//     shift; TSopt on every non-RST segment iff negotiated (on our SYN iff configured);
//     payload <= the send MSS; sequence space within [SND.UNA before, SND.NXT after];
//     ACK field within [RCV.NXT before, RCV.NXT after]; the advertised right edge
//     (SEG.ACK + SEG.WND << Rcv.Wind.Shift) never moves left by 2^Rcv.Wind.Shift or more;
//   - no RST in answer to a RST;
//   - new data within SND.UNA + SND.WND (but a zero-window probe's octet); after on_deadline
//     the next deadline lies in the future;
//   - events: Closed exactly once and only when CLOSED, at most one Error and one PeerClosed,
//     none after Closed;
//   - the byte stream: what receive() returns is exactly what the other side's send()
//     accepted, in order, and end of stream comes only after all of it (unless forged
//     data, SYN or FIN reached that side, or its user called close() or abort()); every
//     data segment on the wire carries the bytes send() accepted at its stream offset;
//   - buffers (zero copy, buffer.hpp): after each step's Stack::done_with_output(), every
//     HeapBuffers block in use is held by exactly one BufNode, and a CLOSED TCB holds none;
//     after the run and teardown (abort, or release_buffers() on a live TCB) every block and
//     node is back.
//
// Zero-copy mode (a header bit): deliveries hand the payload over as a BufRef inside a pool
// block with headroom, as a NIC's mbuf would, sends alternate send() with send_buf(), and
// receives alternate receive() with receive_bufs() and peek().
//
// Input layout (Reader: little-endian, zeros past the end): start state, variant bits,
// option bits, buffer sizes (u16: 4 x 3 bits, listener bits, top bit zero-copy mode),
// MSS/timer bits, setup data, start time (u32; top bit: P's ISS near 2^32), then one opcode
// per step (see LLVMFuzzerTestOneInput).
// Reproduce: `fuzz_tcp_connection FILE`; USTCP_FUZZ_TRACE=1 prints every step and segment.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <optional>
#include <span>
#include <vector>

#include "ustcp/tcp/connection.hpp"
#include "ustcp/tcp/context.hpp"
#include "ustcp/tcp/listener.hpp"

#include "fuzz_reader.hpp"

using namespace ustcp;
using namespace ustcp::tcp;
namespace fl = wire::tcp_flags;

namespace {

using ustcp::fuzz::Reader;

// ---------------------------------------------------------------------------
// Input
// ---------------------------------------------------------------------------


[[noreturn]] void violation(const char* who, const char* what, State from, State to) {
    std::fprintf(stderr, "INVARIANT VIOLATION (%s): %s [%s -> %s]\n", who, what, to_string(from).data(),
                 to_string(to).data());
    std::abort();
}

// ---------------------------------------------------------------------------
// The allowed state edges, per kind of step (RFC 9293 §3.3.2 figure 5 and §3.10)
// ---------------------------------------------------------------------------

enum class Step : std::uint8_t {
    Connect,   // OPEN (active)
    Accept,    // accept_syn / accept_cookie (LISTEN -> SYN-RECEIVED, then the ACK's processing)
    Segment,   // SEGMENT ARRIVES
    Send,      // SEND
    Receive,   // RECEIVE
    Shutdown,  // CLOSE of the write side (shutdown_write)
    Close,     // CLOSE
    Abort,     // ABORT
    Timer,     // on_deadline
    Flush,     // flush_ack (Context::defer_acks: the engine's end-of-burst ACK)
    Count,
};

constexpr std::uint16_t bit(State s) { return static_cast<std::uint16_t>(1u << static_cast<unsigned>(s)); }
constexpr std::size_t idx(State s) { return static_cast<std::size_t>(s); }

using EdgeTable = std::array<std::uint16_t, kStateCount>;

constexpr EdgeTable segment_edges() {
    EdgeTable e{};
    // SYN-SENT: SYN,ACK -> ESTABLISHED; SYN -> SYN-RECEIVED (simultaneous open);
    // RST with an acceptable ACK -> CLOSED (refused).
    e[idx(State::SynSent)] = bit(State::Established) | bit(State::SynReceived) | bit(State::Closed);
    // SYN-RECEIVED: ACK -> ESTABLISHED; RST, or a SYN (passive), or accept-queue overflow with
    // reset -> CLOSED (passive: "return to LISTEN", i.e. this TCB goes).
    e[idx(State::SynReceived)] = bit(State::Established) | bit(State::Closed);
    // ESTABLISHED: FIN -> CLOSE-WAIT; RST (RFC 5961: SEG.SEQ = RCV.NXT), data after close
    // (RFC 2525 §2.17), RFC 793 in-window SYN -> CLOSED. ESTABLISHED -> FIN-WAIT-1 only for a
    // CLOSE queued during the handshake (added by check() when one was).
    e[idx(State::Established)] = bit(State::CloseWait) | bit(State::Closed);
    // FIN-WAIT-1: ACK of FIN -> FIN-WAIT-2; FIN -> CLOSING; FIN + ACK of FIN -> TIME-WAIT.
    e[idx(State::FinWait1)] = bit(State::FinWait2) | bit(State::Closing) | bit(State::TimeWait) | bit(State::Closed);
    e[idx(State::FinWait2)] = bit(State::TimeWait) | bit(State::Closed);
    e[idx(State::CloseWait)] = bit(State::Closed);
    e[idx(State::Closing)] = bit(State::TimeWait) | bit(State::Closed);
    e[idx(State::LastAck)] = bit(State::Closed);  // ACK of FIN, or RST
    e[idx(State::TimeWait)] = bit(State::Closed);  // RST (RFC 9293 §3.10.7.4 second)
    return e;
}

constexpr std::array<EdgeTable, static_cast<std::size_t>(Step::Count)> make_edges() {
    std::array<EdgeTable, static_cast<std::size_t>(Step::Count)> t{};
    auto& connect = t[static_cast<std::size_t>(Step::Connect)];
    connect[idx(State::Closed)] = bit(State::SynSent);  // only before the TCB was ever used
    auto& accept = t[static_cast<std::size_t>(Step::Accept)];
    accept = segment_edges();  // the cookie ACK is processed as a segment in SYN-RECEIVED
    accept[idx(State::Closed)] = bit(State::SynReceived);
    t[static_cast<std::size_t>(Step::Segment)] = segment_edges();
    // SEND and RECEIVE never change the state.
    auto& shut = t[static_cast<std::size_t>(Step::Shutdown)];
    // SYN-RECEIVED with nothing queued: "form a FIN segment and send it, and enter FIN-WAIT-1
    // state" (§3.10.4); with data queued the CLOSE waits for ESTABLISHED.
    shut[idx(State::SynReceived)] = bit(State::FinWait1);
    shut[idx(State::Established)] = bit(State::FinWait1);
    shut[idx(State::CloseWait)] = bit(State::LastAck);
    auto& close = t[static_cast<std::size_t>(Step::Close)];
    close = shut;
    close[idx(State::SynSent)] = bit(State::Closed);  // "delete the TCB"
    // Unread data: the close turns into an abort (RFC 2525 §2.17).
    for (State s : {State::SynReceived, State::Established, State::FinWait1, State::FinWait2, State::CloseWait,
                    State::Closing, State::LastAck, State::TimeWait}) {
        close[idx(s)] |= bit(State::Closed);
    }
    auto& abort = t[static_cast<std::size_t>(Step::Abort)];
    for (std::size_t s = 0; s < kStateCount; ++s) abort[s] = bit(State::Closed);
    auto& timer = t[static_cast<std::size_t>(Step::Timer)];
    // Retransmissions exhausted (ETIMEDOUT, or silent removal of an embryonic passive TCB) in
    // every state that has something to retransmit; the 2 MSL timeout in TIME-WAIT. FIN-WAIT-2
    // has nothing outstanding (and no FIN-WAIT-2 timer in part 1).
    for (State s : {State::SynSent, State::SynReceived, State::Established, State::FinWait1, State::CloseWait,
                    State::Closing, State::LastAck, State::TimeWait}) {
        timer[idx(s)] = bit(State::Closed);
    }
    return t;
}

constexpr auto kEdges = make_edges();

/// States reachable from `from` in one call of kind `k`: paths of up to four edges.
std::uint16_t reachable(Step k, State from, bool queued_close) {
    EdgeTable e = kEdges[static_cast<std::size_t>(k)];
    if (queued_close && (k == Step::Segment || k == Step::Accept)) {
        e[idx(State::Established)] |= bit(State::FinWait1);
    }
    std::uint16_t set = bit(from);
    for (int hop = 0; hop < 4; ++hop) {
        std::uint16_t next = set;
        for (std::size_t s = 0; s < kStateCount; ++s) {
            if (set & (1u << s)) next |= e[s];
        }
        set = next;
    }
    return set;
}

// ---------------------------------------------------------------------------
// Two sides and the wire between them
// ---------------------------------------------------------------------------

constexpr std::array<std::size_t, 8> kBufferSizes{65536, 200000, 4096, 1460, 100, 1, 0, 65535};
constexpr std::array<std::uint16_t, 4> kMssChoices{1460, 536, 88, 8960};
constexpr std::size_t kMaxQueue = 256;
constexpr int kMaxSteps = 400;

/// Each side's payload pool, a HeapBuffers as a Stack would own, but built once per process
/// (a fresh 19 MB pool per input costs more than the input): every run must hand every block
/// back (World::teardown), so each starts from a full pool. Jumbo segments (MSS 8960) fit.
constexpr std::size_t kPoolBlocks = 2048;
constexpr std::uint32_t kBlockSize = 9216;
constexpr std::size_t kNodes = 4096;
HeapBuffers& pool_of(int side) {
    static HeapBuffers pools[2] = {HeapBuffers(kPoolBlocks, kBlockSize), HeapBuffers(kPoolBlocks, kBlockSize)};
    return pools[side];
}
constexpr std::uint32_t kHeadroom = 64;  // where a NIC would leave the headers
std::array<std::uint8_t, 1u << 18> g_pattern;  // g_pattern[i] = stream_byte(i): sends and forged payloads
std::array<std::uint8_t, 1u << 18> g_sink;    // receive() target

/// Byte k of every stream (period 2^16, so a send starting at g_pattern[k mod 2^16] continues it).
std::uint8_t stream_byte(std::uint64_t k) {
    std::uint32_t x = static_cast<std::uint32_t>(k & 0xffff) * 0x9E3779B1u;
    x ^= x >> 15;
    return static_cast<std::uint8_t>(x >> 24);
}

SipKey key_of(std::uint64_t seed) {
    return SipKey::from_words(0x0706050403020100ull ^ seed, 0x0f0e0d0c0b0a0908ull + seed);
}

struct Pkt {
    wire::TcpRepr hdr;
    std::vector<std::uint8_t> payload;
};

struct Tracker {
    const char* name;
    State prev = State::Closed;
    bool opened = false;          // has left CLOSED at least once
    bool rcv_known = false;       // RCV.NXT has been set from the peer's SYN
    bool queued_close = false;    // shutdown/close accepted in SYN-SENT / SYN-RECEIVED
    bool app_closed = false;      // close() accepted
    SeqNum rcv_nxt;
    bool adv_known = false;
    SeqNum adv_edge;              // largest SEG.ACK + (SEG.WND << shift) sent
    std::optional<SeqNum> cookie_edge;  // the edge the Listener's cookie SYN-ACK promised this TCB
    int closed_events = 0;
    int error_events = 0;
    int peer_closed_events = 0;
};

struct Side : Stack {
    Side(const Config& c, std::uint64_t seed, const FourTuple& t, const char* name, HeapBuffers& p)
        : Stack(c, key_of(seed), key_of(seed + 99), p.ops(), kNodes, 2),  // 2 SACK senders: one connection
          pool(p),
          conn(t),
          send_cap(c.send_buffer),
          recv_cap(c.recv_buffer) {
        trk.name = name;
    }
    HeapBuffers& pool;  // the buffers behind ctx.bufs
    Connection conn;
    std::size_t send_cap;
    std::size_t recv_cap;
    Tracker trk;
    std::deque<Pkt> inbox;        // segments the other side sent, not yet delivered here
    std::uint32_t last_tsval = 0;  // latest TSval this side sent (a forger's TSecr base)
    std::uint32_t peer_tsval = 0;  // latest TSval delivered here (a forger's TSval base)
    // The byte streams: stream byte k is always stream_byte(k), so the receiver can check
    // every byte it reads against what the other side's send() accepted.
    std::uint64_t sent_total = 0;  // bytes send() accepted here
    std::uint64_t read_total = 0;  // bytes receive() returned here
    bool forged = false;           // a forged segment with data, SYN or FIN reached this side
    bool discarded = false;        // close(), abort() or reaching CLOSED with unread data: data may be gone
    unsigned zc_turn = 0;          // zero-copy mode: which variant the next send/receive uses
};

struct Snapshot {
    State state;
    SeqNum snd_una, snd_nxt, rcv_nxt;
    std::uint64_t seg_ovf, ev_ovf;
};

Snapshot snap(const Side& s) {
    return {s.conn.state(), s.conn.snd_una(), s.conn.snd_nxt(), s.conn.rcv_nxt(), s.out.segment_overflows(),
            s.out.event_overflows()};
}

std::uint32_t seq_len(const wire::TcpRepr& h, std::size_t payload) {
    return static_cast<std::uint32_t>(payload) + ((h.flags & fl::SYN) ? 1 : 0) + ((h.flags & fl::FIN) ? 1 : 0);
}

/// Checks every invariant after one step on `s` that started from `b`. `in` is the segment
/// that arrived in a Segment step (else nullptr).
void check(Side& s, const Snapshot& b, Step kind, Instant now, const wire::TcpRepr* in, std::size_t in_payload) {
    const Connection& c = s.conn;
    Tracker& t = s.trk;
    const char* who = t.name;
    const State from = b.state;
    const State to = c.state();
    auto fail = [&](const char* what) { violation(who, what, from, to); };

    // --- state edges ---
    if (from != t.prev) fail("state changed between steps");
    if (to != from) {
        if (from == State::Closed && t.opened) fail("left CLOSED after having been closed");
        if (!(reachable(kind, from, t.queued_close) & bit(to))) fail("state change not along an allowed edge");
    }
    if (kind == Step::Segment && to == State::Closed && from != State::Closed && in != nullptr) {
        const bool rst = (in->flags & fl::RST) != 0;
        if (from == State::SynSent) {
            if (!rst || !(in->flags & fl::ACK) || !(b.snd_una < in->ack && in->ack <= b.snd_nxt)) {
                fail("SYN-SENT closed by something other than a RST with an acceptable ACK");
            }
        } else if (s.cfg.rfc5961 && is_synchronized(from)) {
            const bool ok = (rst && in->seq == b.rcv_nxt) || (!rst && from == State::LastAck) ||
                            (!rst && t.app_closed && in_payload > 0);
            if (!ok) fail("RFC 5961: synchronized connection closed by an unacceptable segment");
        }
    }
    // --- events ---
    for (const Event& e : s.out.events()) {
        if (e.conn != &c) continue;
        if (t.closed_events > 0) fail("event after Closed");
        if (e.kind == EventKind::Closed) ++t.closed_events;
        if (e.kind == EventKind::Error && ++t.error_events > 1) fail("more than one Error event");
        if (e.kind == EventKind::PeerClosed && ++t.peer_closed_events > 1) fail("more than one PeerClosed event");
    }
    if (t.closed_events > 1) fail("Closed reported twice");
    if (to != State::Closed && t.closed_events != 0) fail("Closed event but not CLOSED");

    // A TCB that was created (even one closed within this very step) counts as opened.
    if (to != State::Closed || t.closed_events > 0) t.opened = true;
    if (to == State::Closed && t.opened && t.closed_events != 1) fail("CLOSED without a Closed event");

    // --- sequence variables ---
    if (t.opened) {
        if (c.snd_una() > c.snd_nxt()) fail("SND.UNA > SND.NXT");
        if (to != State::Closed &&
            static_cast<std::uint32_t>(c.snd_nxt() - c.snd_una()) > c.send_queued() + 2) {
            fail("SND.NXT - SND.UNA exceeds queued data + SYN + FIN");
        }
    }
    const bool rcv_was_known = t.rcv_known;
    if (t.rcv_known) {
        const std::int32_t moved = c.rcv_nxt() - t.rcv_nxt;
        if (moved < 0) fail("RCV.NXT moved backwards");
        if (static_cast<std::uint32_t>(moved) > s.recv_cap + 1 + ((1u << c.rcv_wscale()) - 1)) {
            fail("RCV.NXT jumped past the receive buffer");
        }
    } else if (to != State::Closed && to != State::SynSent) {
        t.rcv_known = true;
    }
    t.rcv_nxt = c.rcv_nxt();

    // --- liveness: work left with nothing in flight needs a timer ---
    // Unsent data, or a FIN not yet sent (FIN-WAIT-1, CLOSING or LAST-ACK with nothing
    // outstanding, all data acknowledged), and no deadline: nothing would ever send it. A zero
    // (or too small) peer window is no excuse: the persist timer probes it (RFC 9293 §3.8.6.1,
    // MUST-36), so a lost window update cannot hang the connection.
    if (to == State::Established || to == State::CloseWait || to == State::FinWait1 || to == State::Closing ||
        to == State::LastAck) {
        const bool idle = c.snd_una() == c.snd_nxt() && c.next_deadline() == kNever;
        const bool fin_unsent = to == State::FinWait1 || to == State::Closing || to == State::LastAck;
        if (idle && (c.send_queued() > 0 || fin_unsent)) {
            fail("stalled: data or FIN to send, nothing in flight and no timer");
        }
    }

    // --- timers: a timer that fired moved on (else the engine would call on_deadline forever) ---
    if (kind == Step::Timer && to != State::Closed && c.next_deadline() <= now) fail("deadline still due after on_deadline");

    // --- buffers and outbox ---
    // send_buf() takes a whole buffer when nothing is queued, whatever the limit says.
    if (c.send_queued() > std::max<std::size_t>(s.send_cap, s.pool.block_size())) {
        fail("send_queued() exceeds the send buffer");
    }
    // advertised_window() rounds the scaled window up (rounding down would retract the edge),
    // so the peer may fill the buffer by less than 2^Rcv.Wind.Shift beyond its size.
    if (c.bytes_readable() > s.recv_cap + ((std::size_t{1} << c.rcv_wscale()) - 1)) {
        fail("bytes_readable() exceeds the receive buffer (beyond the window scale's rounding)");
    }
    if (s.out.segment_overflows() != b.seg_ovf) fail("Outbox segment overflow in one step");
    if (s.out.event_overflows() != b.ev_ovf) fail("Outbox event overflow in one step");

    // --- emitted segments ---
    if (t.cookie_edge && t.opened && to != State::Closed) {
        // A TCB made from a SYN cookie inherits the right edge its Listener's SYN-ACK advertised.
        if (!t.adv_known || *t.cookie_edge > t.adv_edge) t.adv_edge = *t.cookie_edge;
        t.adv_known = true;
    }
    t.cookie_edge.reset();
    for (const OutSegment& o : s.out.segments()) {
        const wire::TcpRepr& h = o.hdr;
        const bool syn = (h.flags & fl::SYN) != 0;
        const bool rst = (h.flags & fl::RST) != 0;
        const bool ack = (h.flags & fl::ACK) != 0;
        if (h.src_port != c.tuple().local_port || h.dst_port != c.tuple().remote_port) fail("wrong ports");
        if (!(o.tuple == c.tuple())) fail("wrong tuple");
        if (syn && (rst || (h.flags & fl::FIN))) fail("SYN with RST or FIN");
        if (in != nullptr && (in->flags & fl::RST) && rst) fail("RST sent in answer to a RST");
        if (!syn && (h.options.wscale || h.options.mss || h.options.sack_permitted)) {
            fail("WS/MSS/SACK-permitted option on a non-SYN segment");
        }
        if (!t.opened) continue;  // the Listener's reply (RST, cookie SYN-ACK) for a TCB not created
        if (syn && ack) {
            if (h.options.wscale && (!s.cfg.window_scaling || *h.options.wscale != c.rcv_wscale())) {
                fail("SYN-ACK window scale not negotiated or not our shift");
            }
            if (!h.options.wscale && c.rcv_wscale() != 0) fail("scaling our window without having said so");
        }
        if (syn && !ack && h.options.wscale.has_value() != s.cfg.window_scaling) fail("SYN WS option vs config");
        if (!rst) {
            const bool want_ts = (syn && !ack) ? s.cfg.timestamps : c.timestamps_on();
            if (h.options.timestamps.has_value() != want_ts) fail("TSopt presence differs from negotiation");
            if (h.options.timestamps) s.last_tsval = h.options.timestamps->val;
        }
        if (o.payload_len() > c.snd_mss()) fail("payload larger than the send MSS");
        if (o.payload_len() > 0) {
            // The bytes on the wire are the ones send() accepted at that stream offset (data
            // starts at ISS + 1; the pattern's period 2^16 divides 2^32, so wrapping is fine).
            if (syn || rst) fail("payload on a SYN or RST");
            const std::uint32_t k = static_cast<std::uint32_t>(h.seq - (c.iss() + 1));
            if (k + o.payload_len() > s.sent_total) fail("segment carries bytes send() never accepted");
            std::uint32_t i = 0;
            bool same = true;
            o.for_each_piece([&](const std::uint8_t* d, std::uint32_t n) {
                for (std::uint32_t j = 0; j < n; ++j, ++i) same = same && d[j] == stream_byte(k + i);
            });
            if (i != o.payload_len()) fail("payload pieces do not add up to its length");
            if (!same) fail("segment payload differs from the bytes send() accepted");
        }
        if (rst || kind == Step::Connect || kind == Step::Accept) continue;
        // Sequence space: within what was unacknowledged before and sent after this step.
        if (h.seq < b.snd_una || h.seq + seq_len(h, o.payload_len()) > c.snd_nxt()) {
            fail("segment outside [SND.UNA, SND.NXT]");
        }
        // New data (not a retransmission) stays within the peer's window: SND.UNA + SND.WND,
        // but for the persist timer's zero-window probe: one octet of new data "even if the send
        // window is zero" (RFC 9293 §3.8.6.1).
        const bool zero_window_probe = kind == Step::Timer && c.snd_wnd() == 0 && o.payload_len() == 1;
        if (o.payload_len() > 0 && h.seq >= b.snd_nxt && !zero_window_probe &&
            h.seq + static_cast<std::uint32_t>(o.payload_len()) > c.snd_una() + c.snd_wnd()) {
            fail("new data beyond the peer's window");
        }
        if (ack && rcv_was_known) {
            if (h.ack < b.rcv_nxt || h.ack > c.rcv_nxt()) fail("SEG.ACK outside [RCV.NXT before, RCV.NXT after]");
            if (!syn) {
                const SeqNum edge = h.ack + (static_cast<std::uint32_t>(h.window) << c.rcv_wscale());
                // RFC 7323 §2.4: a scaled window can only name multiples of 2^S, so the edge may
                // retract by less than that granularity (never by more: RFC 9293 SHLD-14).
                if (t.adv_known && edge + ((1u << c.rcv_wscale()) - 1) < t.adv_edge) {
                    fail("advertised right edge moved left by more than the scale granularity");
                }
                if (!t.adv_known || edge > t.adv_edge) t.adv_edge = edge;
                t.adv_known = true;
            }
        }
    }
    // The window that accepts segments (RCV.NXT + RCV.WND) may open beyond what was advertised
    // and close again (receiver SWS avoidance holds the advertised edge until it can move by
    // an MSS), but never behind the right edge already advertised: that would drop data the
    // peer was allowed to send (RFC 9293 SHLD-14).
    if (to != State::Closed && t.adv_known && c.rcv_nxt() + c.rcv_wnd() < t.adv_edge) {
        fail("RCV.NXT + RCV.WND behind the advertised right edge (window shrank)");
    }

    t.prev = to;
}

bool tracing() {
    static const bool on = std::getenv("USTCP_FUZZ_TRACE") != nullptr;
    return on;
}

void trace_seg(const char* dir, const wire::TcpRepr& h, std::size_t len) {
    std::fprintf(stderr, "    %s flags=%02x seq=%u ack=%u win=%u len=%zu ts=%s%u/%u ws=%d mss=%d\n", dir, h.flags,
                 h.seq.value(), h.ack.value(), h.window, len, h.options.timestamps ? "" : "-",
                 h.options.timestamps ? h.options.timestamps->val : 0, h.options.timestamps ? h.options.timestamps->ecr : 0,
                 h.options.wscale ? *h.options.wscale : -1, h.options.mss ? *h.options.mss : -1);
}

/// With USTCP_FUZZ_TRACE set, prints every step: its kind, what arrived, the state after and what was sent.
void trace_step(const Side& s, Step kind, const wire::TcpRepr* in, std::size_t in_payload) {
    if (!tracing()) return;
    const Connection& c = s.conn;
    std::fprintf(stderr, "  %s step %d -> %s una=%u nxt=%u wnd=%u rcv=%u rwnd=%u q=%zu r=%zu dl=%lld\n", s.trk.name,
                 static_cast<int>(kind), to_string(c.state()).data(), c.snd_una().value(), c.snd_nxt().value(),
                 c.snd_wnd(), c.rcv_nxt().value(), c.rcv_wnd(), c.send_queued(), c.bytes_readable(),
                 c.next_deadline() == kNever ? -1LL : static_cast<long long>(c.next_deadline().nanos()));
    if (in != nullptr) trace_seg("in ", *in, in_payload);
    for (const OutSegment& o : s.out.segments()) trace_seg("out", o.hdr, o.payload_len());
}

class World {
public:
    World(const Config& lc, const Config& pc, Instant start, bool l_listens, std::uint8_t listener_bits, bool zc)
        : L(lc, 1, kTupleL, "L", pool_of(0)),
          P(pc, 2, kTupleL.reversed(), "P", pool_of(1)),
          now(start),
          zero_copy(zc),
          l_listens_(l_listens),
          listener_(kTupleL.local_addr, kTupleL.local_port, 1u + (listener_bits & 3u),
                    (listener_bits & 4) ? 0u : 4u) {}

    static constexpr FourTuple kTupleL{Ipv4Addr(198, 18, 0, 1), Ipv4Addr(198, 18, 0, 2), 7, 39804};

    Side L;
    Side P;
    Instant now;
    bool zero_copy;  // deliveries as BufRefs, send_buf(), receive_bufs() and peek()
    std::optional<SeqNum> p_iss;  // P's ISS when it opens passively (near 2^32: sequence wrap)

    Side& other(Side& s) { return &s == &L ? P : L; }

    /// Runs one step on side `s`, checks it, and moves what it sent into the other side's inbox.
    template <class F>
    void step(Side& s, Step kind, F&& f, const wire::TcpRepr* in = nullptr, std::size_t in_payload = 0) {
        const Snapshot b = snap(s);
        const std::size_t readable = s.conn.bytes_readable();
        const std::uint64_t bytes_in = s.conn.stats().bytes_in;
        f();
        trace_step(s, kind, in, in_payload);
        // A TCB that reaches CLOSED holds no buffers (enter_closed()): data the application had
        // not read yet is gone, even after a graceful close (LAST-ACK or TIME-WAIT ending, where
        // RFC 9293 §3.10.3 answers RECEIVE with "connection closing" anyway). Its stream is then
        // short by design, so the end-of-stream check no longer applies to this side.
        if (b.state != State::Closed && s.conn.state() == State::Closed &&
            (readable > 0 || s.conn.stats().bytes_in != bytes_in)) {
            s.discarded = true;
        }
        check(s, b, kind, now, in, in_payload);
        Side& o = other(s);
        for (const OutSegment& seg : s.out.segments()) {
            if (o.inbox.size() >= kMaxQueue) o.inbox.pop_front();  // a full queue loses the oldest
            Pkt p{seg.hdr, std::vector<std::uint8_t>(seg.payload_len())};
            if (!p.payload.empty()) seg.copy_payload(p.payload.data());
            o.inbox.push_back(std::move(p));
        }
        s.done_with_output();
        check_buffers(s);
    }

    /// After done_with_output(): every block in use is held by exactly one node (a queued
    /// buffer), and a CLOSED TCB holds none but in-order data still readable after a
    /// graceful close (released when the engine frees the TCB).
    static void check_buffers(const Side& s) {
        const State st = s.conn.state();
        if (s.pool.in_use() != s.bufs.nodes_in_use()) violation(s.trk.name, "buffers in use != nodes in use", st, st);
        if (st == State::Closed && s.bufs.nodes_in_use() != readable_nodes(s.conn)) {
            violation(s.trk.name, "CLOSED TCB holds buffers other than its unread data", st, st);
        }
    }
    static std::size_t readable_nodes(const Connection& c) {
        std::size_t n = 0;
        for (const BufNode* b = c.recv_queue().head(); b != nullptr; b = b->next) ++n;
        return c.send_queued() == 0 && !c.recv_queue().has_ooo() ? n : n + 1;
    }

    /// End of the run: abort the TCB, or release its buffers as the engine does before it frees
    /// one it tears down; then every block and node must be back.
    void teardown(Side& s, bool use_abort) {
        // A CLOSED TCB may still hold unread data: the engine releases it when it frees the TCB.
        if (s.conn.state() == State::Closed) {
            s.conn.release_buffers(s.ctx);
        } else {
            if (use_abort) s.conn.abort(s.ctx, now);
            else s.conn.release_buffers(s.ctx);
        }
        s.done_with_output();
        const State st = s.conn.state();
        if (s.pool.in_use() != 0) violation(s.trk.name, "HeapBuffers blocks not returned after teardown", st, st);
        if (s.bufs.nodes_in_use() != 0) violation(s.trk.name, "BufNodes not returned after teardown", st, st);
    }

    /// Payload `p` in a fresh block of `s`'s pool, after the headroom a NIC leaves for headers.
    /// Empty (no handle) when the pool is out of blocks or the payload is too large for one.
    static BufRef pool_copy(Side& s, wire::Bytes p) {
        if (p.size() + kHeadroom > s.pool.block_size()) return {};
        const MutBuf m = s.pool.alloc(static_cast<std::uint32_t>(p.size() + kHeadroom));
        if (m.handle == nullptr) return {};
        if (!p.empty()) std::memcpy(m.data + kHeadroom, p.data(), p.size());
        return BufRef{m.handle, m.data + kHeadroom, static_cast<std::uint32_t>(p.size())};
    }

    /// SEGMENT ARRIVES at `s`. A side that never opened is the passive end: for L the
    /// Listener (SYN -> SYN-RECEIVED or a cookie SYN-ACK; cookie ACK -> ESTABLISHED),
    /// for P a plain accept_syn of a SYN. Otherwise the connection itself.
    void deliver(Side& s, const wire::TcpRepr& h, wire::Bytes payload) {
        if (h.options.timestamps) s.peer_tsval = h.options.timestamps->val;
        if (!s.trk.opened && s.conn.state() == State::Closed) {
            if (&s == &L && l_listens_) {
                Listener::Verdict v{};
                step(s, Step::Accept, [&] {
                    v = listener_.on_segment(s.ctx, now, s.conn.tuple(), h, payload.size());
                    if (v.action == Listener::Action::NewConnection) {
                        s.conn.accept_syn(s.ctx, now, h, &listener_);
                    } else if (v.action == Listener::Action::CookieConnection) {
                        // The cookie SYN-ACK advertised min(recv_buffer, 65535) from IRS + 1 = SEG.SEQ.
                        s.trk.cookie_edge = h.seq + std::min<std::uint32_t>(s.cfg.recv_buffer, 0xffff);
                        if (BufRef b = zero_copy ? pool_copy(s, payload) : BufRef{}; b.handle != nullptr) {
                            s.conn.accept_cookie(s.ctx, now, h, b, v.cookie, &listener_);
                        } else {
                            s.conn.accept_cookie(s.ctx, now, h, payload, v.cookie, &listener_);
                        }
                    }
                }, &h, payload.size());
                return;
            }
            if (&s == &P && (h.flags & (fl::SYN | fl::ACK | fl::RST)) == fl::SYN) {
                step(s, Step::Accept, [&] { s.conn.accept_syn(s.ctx, now, h, nullptr, p_iss); }, &h, payload.size());
                return;
            }
        }
        step(s, Step::Segment, [&] {
            // Zero copy: the payload in a pool block, owned by the connection from here on (an
            // empty segment sometimes comes with a block too: it must be handed back).
            if (BufRef b = zero_copy && (!payload.empty() || (s.zc_turn++ & 1)) ? pool_copy(s, payload) : BufRef{};
                b.handle != nullptr) {
                s.conn.on_segment(s.ctx, now, h, b);
            } else {
                s.conn.on_segment(s.ctx, now, h, payload);
            }
        }, &h, payload.size());
    }

    /// Delivers the oldest segment queued for `s`.
    bool deliver_front(Side& s) {
        if (s.inbox.empty()) return false;
        Pkt p = std::move(s.inbox.front());
        s.inbox.pop_front();
        deliver(s, p.hdr, p.payload);
        return true;
    }

    /// Delivers both ways until nothing is queued (bounded).
    void pump() {
        for (int guard = 0; guard < 2000; ++guard) {
            const bool a = deliver_front(L);
            const bool b = deliver_front(P);
            flush(L);
            flush(P);
            if (!a && !b) return;
        }
    }

    void connect(Side& s) {
        step(s, Step::Connect, [&] { (void)s.conn.connect(s.ctx, now); });
    }
    void send(Side& s, std::size_t n) {
        const std::size_t off = s.sent_total & 0xffff;
        n = std::min(n, g_pattern.size() - off);
        const bool use_buf = zero_copy && (s.zc_turn++ & 1);
        step(s, Step::Send, [&] {
            if (use_buf) {
                // send_buf(): a whole pool block the connection owns on success; ours on error.
                const MutBuf m = s.pool.alloc(static_cast<std::uint32_t>(n));
                if (m.handle == nullptr) return;
                const auto k = static_cast<std::uint32_t>(std::min<std::size_t>(n, m.cap));
                std::memcpy(m.data, g_pattern.data() + off, k);
                auto r = s.conn.send_buf(s.ctx, now, BufRef{m.handle, m.data, k});
                if (r) {
                    if (*r != k) violation(s.trk.name, "send_buf() took part of a buffer", s.conn.state(), s.conn.state());
                    s.sent_total += *r;
                    if (k == 0) s.pool.free(m.handle);  // an empty buffer is not taken
                } else {
                    s.pool.free(m.handle);
                }
                return;
            }
            if (auto r = s.conn.send(s.ctx, now, wire::Bytes(g_pattern.data() + off, n))) s.sent_total += *r;
        });
    }
    /// RECEIVE, checking the bytes against the stream the other side's send() accepted: same
    /// bytes in the same order, nothing it did not send, and end of stream only after all of it.
    void receive(Side& s, std::size_t n) {
        const Side& from = other(s);
        // Zero-copy mode: 0 receive(), 1 receive_bufs(), 2 peek() and then receive().
        const unsigned variant = zero_copy ? s.zc_turn++ % 3 : 0;
        step(s, Step::Receive, [&] {
            const State st = s.conn.state();
            const bool checked = !s.forged && !s.discarded;
            // Bytes d[0, k) read at stream offset `at`: all sent by the peer, and the same bytes.
            auto verify = [&](const std::uint8_t* d, std::size_t k, std::uint64_t at) {
                if (!checked) return;
                if (at + k > from.sent_total) violation(s.trk.name, "read more than the peer sent", st, st);
                for (std::size_t i = 0; i < k; ++i) {
                    if (d[i] != stream_byte(at + i)) violation(s.trk.name, "read bytes differ from what the peer sent", st, st);
                }
            };
            const std::size_t readable = s.conn.bytes_readable();
            if (variant == 2) {
                const std::size_t skip = (n >> 2) % (readable + 1);
                const std::size_t k = s.conn.peek(skip, wire::MutBytes(g_sink.data(), n));
                if (k != std::min(n, readable - skip)) violation(s.trk.name, "peek() returned the wrong length", st, st);
                if (s.conn.bytes_readable() != readable) violation(s.trk.name, "peek() consumed data", st, st);
                verify(g_sink.data(), k, s.read_total + skip);
            }
            std::size_t got = 0;
            if (variant == 1) {
                std::array<BufRef, 8> bufs{};
                auto r = s.conn.receive_bufs(s.ctx, now, std::span<BufRef>(bufs.data(), 1 + (n & 7)));
                if (!r) return;
                for (std::size_t i = 0; i < *r; ++i) {
                    if (bufs[i].handle == nullptr || bufs[i].len == 0) {
                        violation(s.trk.name, "receive_bufs() gave an empty buffer", st, st);
                    }
                    verify(bufs[i].data, bufs[i].len, s.read_total + got);
                    got += bufs[i].len;
                    s.pool.free(bufs[i].handle);  // ours now: back to our own pool
                }
                if (*r == 0) n = 1;  // end of stream, as receive() returning 0
            } else {
                auto r = s.conn.receive(s.ctx, now, wire::MutBytes(g_sink.data(), n));
                if (!r) return;
                verify(g_sink.data(), *r, s.read_total);
                got = *r;
                if (got > n) violation(s.trk.name, "receive() returned more than asked", st, st);
            }
            if (s.conn.bytes_readable() != readable - std::min(readable, got) || got > readable) {
                violation(s.trk.name, "bytes_readable() does not match what was read", st, st);
            }
            if (!checked) return;
            if (got == 0 && n > 0 && s.read_total != from.sent_total) {
                violation(s.trk.name, "end of stream before all the data the peer's send() accepted", st, st);
            }
            s.read_total += got;
        });
    }
    void shutdown(Side& s) {
        const State st = s.conn.state();
        step(s, Step::Shutdown, [&] {
            if (s.conn.shutdown_write(s.ctx, now) && (st == State::SynSent || st == State::SynReceived)) {
                s.trk.queued_close = true;
            }
        });
    }
    void close(Side& s) {
        const State st = s.conn.state();
        step(s, Step::Close, [&] {
            s.discarded = true;
            if (s.conn.close(s.ctx, now)) {
                s.trk.app_closed = true;
                if (st == State::SynSent || st == State::SynReceived) s.trk.queued_close = true;
            }
        });
    }
    void abort(Side& s) {
        s.discarded = true;
        step(s, Step::Abort, [&] { s.conn.abort(s.ctx, now); });
    }
    void timers(bool force) {
        for (Side* s : {&L, &P}) {
            if (force || now >= s->conn.next_deadline()) step(*s, Step::Timer, [&] { s->conn.on_deadline(s->ctx, now); });
        }
    }
    /// End of a burst under Context::defer_acks: the ACK on_segment() left pending.
    void flush(Side& s) {
        if (s.ctx.defer_acks) step(s, Step::Flush, [&] { s.conn.flush_ack(s.ctx, now); });
    }
    void accept() {
        if (Connection* c = listener_.accept(); c != nullptr && c != &L.conn) violation("L", "foreign accept", State::Closed, State::Closed);
    }

private:
    bool l_listens_;
    Listener listener_;
};

enum class Start : std::uint8_t {
    SynSent,
    SynReceived,
    Established,
    FinWait1,
    FinWait2,
    CloseWait,
    Closing,
    LastAck,
    TimeWait,
    Count,
};

/// Drives L into `target` by real exchanges with P.
void setup(World& w, Start target, bool passive, bool simultaneous, std::size_t l_data, std::size_t p_data,
           bool read_setup_data) {
    Side& L = w.L;
    Side& P = w.P;
    if (target == Start::SynSent) {
        w.connect(L);
        P.inbox.clear();  // the SYN is lost
        return;
    }
    if (target == Start::SynReceived) {
        if (simultaneous) {
            w.connect(L);
            w.connect(P);
            w.deliver_front(P);  // L's SYN: P SYN-SENT -> SYN-RECEIVED
            w.deliver_front(L);  // P's SYN: L SYN-SENT -> SYN-RECEIVED
        } else {
            w.connect(P);
            w.deliver_front(L);  // through the listener
        }
        P.inbox.clear();  // the SYN-ACK is lost
        L.inbox.clear();
        return;
    }
    // A full handshake.
    if (passive) {
        w.connect(P);
    } else {
        w.connect(L);
    }
    w.pump();
    if (l_data > 0) w.send(L, l_data);
    if (p_data > 0) w.send(P, p_data);
    w.pump();
    if (read_setup_data) {
        w.receive(L, g_sink.size());
        w.receive(P, g_sink.size());
        w.pump();
    }
    switch (target) {
        case Start::FinWait1:
            w.shutdown(L);
            P.inbox.clear();  // the FIN is in flight (or lost)
            break;
        case Start::FinWait2:
            w.shutdown(L);
            w.pump();
            break;
        case Start::CloseWait:
            w.shutdown(P);
            w.pump();
            break;
        case Start::Closing:
            w.shutdown(L);
            w.shutdown(P);
            while (!L.inbox.empty() && !(L.inbox.front().hdr.flags & fl::FIN)) w.deliver_front(L);
            w.deliver_front(L);  // P's FIN, which does not ack ours: L -> CLOSING
            break;
        case Start::LastAck:
            w.shutdown(P);
            w.pump();
            w.shutdown(L);
            break;
        case Start::TimeWait:
            w.shutdown(L);
            w.pump();
            w.shutdown(P);
            w.pump();
            break;
        default:
            break;
    }
}

/// A forged segment for L, with seq/ack relative to its variables or raw.
void forge(World& w, Reader& r) {
    Side& L = w.L;
    const Connection& c = L.conn;
    wire::TcpRepr h;
    h.src_port = c.tuple().remote_port;
    h.dst_port = c.tuple().local_port;
    h.flags = r.u8();
    const std::uint8_t mode = r.u8();
    const std::uint8_t opt = r.u8();
    switch (mode & 3) {
        case 0: h.seq = c.rcv_nxt() + static_cast<std::uint32_t>(static_cast<std::int16_t>(r.u16())); break;
        case 1: h.seq = c.rcv_nxt() + static_cast<std::uint32_t>(static_cast<std::int8_t>(r.u8())); break;
        case 2: h.seq = SeqNum(r.u32()); break;
        default: h.seq = c.rcv_nxt() + r.u32(); break;
    }
    switch ((mode >> 2) & 3) {
        case 0: h.ack = c.snd_una() + static_cast<std::uint32_t>(static_cast<std::int16_t>(r.u16())); break;
        case 1: h.ack = c.snd_nxt() + static_cast<std::uint32_t>(static_cast<std::int8_t>(r.u8())); break;
        case 2: h.ack = SeqNum(r.u32()); break;
        default: h.ack = c.snd_una() - r.u32(); break;
    }
    h.window = r.u16();
    if (mode & 0x10) h.urgent_ptr = r.u16();
    // Timestamps: TSval near what the peer sent last, TSecr near what L sent last, or raw.
    switch ((mode >> 5) & 3) {
        case 0: break;
        case 1:
            h.options.timestamps = wire::TcpTimestamps{
                L.peer_tsval + static_cast<std::uint32_t>(static_cast<std::int8_t>(r.u8())),
                L.last_tsval + static_cast<std::uint32_t>(static_cast<std::int8_t>(r.u8()))};
            break;
        case 2: h.options.timestamps = wire::TcpTimestamps{r.u32(), r.u32()}; break;
        default:
            h.options.timestamps = wire::TcpTimestamps{L.peer_tsval + r.u8(), L.last_tsval};
            break;
    }
    if (opt & 1) h.options.mss = r.u16();
    if (opt & 2) h.options.wscale = r.u8();
    if (opt & 4) h.options.sack_permitted = true;
    if (opt & 8) {
        h.options.sack_count = static_cast<std::uint8_t>(1 + (r.u8() & 3));
        for (std::uint8_t i = 0; i < h.options.sack_count; ++i) {
            const SeqNum left = c.snd_una() + r.u16();
            h.options.sack[i] = wire::SackBlock{left, left + r.u16()};
        }
    }
    std::size_t len = 0;
    switch ((opt >> 4) & 3) {
        case 0: break;
        case 1: len = r.u8(); break;
        case 2: len = r.u16() % 3000; break;
        default: len = r.u16(); break;
    }
    const std::size_t off = (opt & 0x40) ? r.u8() : 0;
    if (len > 0 || (h.flags & (fl::SYN | fl::FIN))) L.forged = true;  // L's stream is no longer P's
    // The engine's TIME-WAIT reuse test for a new incarnation's SYN (RFC 6191): must not crash;
    // the TCB itself then sees the SYN as any other segment.
    if (c.state() == State::TimeWait && (h.flags & (fl::SYN | fl::ACK | fl::RST)) == fl::SYN) {
        g_sink[0] = static_cast<std::uint8_t>(c.time_wait_accepts_syn(h) + c.next_incarnation_iss().value());
    }
    w.deliver(L, h, wire::Bytes(g_pattern.data() + off, len));
    if (!(opt & 0x80)) w.flush(L);  // else the pending ACK waits for a later burst's end
}

/// Delivery of what the sides sent each other: in order, lost, duplicated or reordered.
void wire_step(World& w, Side& to, std::uint8_t arg) {
    if (to.inbox.empty()) return;
    switch (arg & 3) {
        case 0: {  // deliver the next 1..16 in order
            const int n = 1 + ((arg >> 2) & 15);
            for (int i = 0; i < n && w.deliver_front(to); ++i) {
            }
            w.flush(to);
            break;
        }
        case 1: to.inbox.pop_front(); break;  // lose one
        case 2: {                              // duplicate: deliver a copy, keep the original
            Pkt p = to.inbox.front();
            w.deliver(to, p.hdr, p.payload);
            w.flush(to);
            break;
        }
        default: {  // reorder: deliver the newest first
            Pkt p = std::move(to.inbox.back());
            to.inbox.pop_back();
            w.deliver(to, p.hdr, p.payload);
            w.flush(to);
            break;
        }
    }
}

void user_step(World& w, Side& s, Reader& r) {
    const std::uint8_t op = r.u8();
    switch (op % 7) {
        case 0: w.send(s, std::min(std::size_t{r.u16()} << ((op >> 3) & 3), g_pattern.size())); break;
        case 1: w.receive(s, std::min(std::size_t{r.u16()} << ((op >> 3) & 3), g_sink.size())); break;
        case 2: w.shutdown(s); break;
        case 3: w.close(s); break;
        case 4: w.abort(s); break;
        case 5: w.connect(s); break;  // a closed TCB must stay closed
        default: w.receive(s, g_sink.size()); break;
    }
}

void clock_step(World& w, Reader& r) {
    const std::uint8_t m = r.u8();
    switch (m & 7) {
        case 0: w.now += Duration::micros(r.u16()); break;
        case 1: w.now += Duration::millis(r.u16()); break;
        case 2: w.now += Duration::seconds(r.u8()); break;
        case 3:
            if (w.L.conn.next_deadline() != kNever && w.L.conn.next_deadline() > w.now) w.now = w.L.conn.next_deadline();
            break;
        case 4:
            if (w.P.conn.next_deadline() != kNever && w.P.conn.next_deadline() > w.now) w.now = w.P.conn.next_deadline();
            break;
        case 5: {
            const Instant d = std::min(w.L.conn.next_deadline(), w.P.conn.next_deadline());
            if (d != kNever && d > w.now) w.now = d;
            break;
        }
        default: break;  // timers at the current time
    }
    w.timers((m & 8) != 0);
}

/// With USTCP_FUZZ_TRACE set, prints both sides before each step (to read a reproducer).
void trace(const World& w, const char* what) {
    if (!tracing()) return;
    std::fprintf(stderr, "%s t=%lld L=%s una=%u nxt=%u rcv=%u q=%zu/%zu | P=%s una=%u nxt=%u rcv=%u | in L=%zu P=%zu\n",
                 what, static_cast<long long>(w.now.nanos()), to_string(w.L.conn.state()).data(),
                 w.L.conn.snd_una().value(), w.L.conn.snd_nxt().value(), w.L.conn.rcv_nxt().value(),
                 w.L.conn.send_queued(), w.L.conn.bytes_readable(), to_string(w.P.conn.state()).data(),
                 w.P.conn.snd_una().value(), w.P.conn.snd_nxt().value(), w.P.conn.rcv_nxt().value(),
                 w.L.inbox.size(), w.P.inbox.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const bool init = [] {
        for (std::size_t i = 0; i < g_pattern.size(); ++i) g_pattern[i] = stream_byte(i);
        return true;
    }();
    (void)init;

    Reader r(data, size);
    const auto target = static_cast<Start>(r.u8() % static_cast<std::uint8_t>(Start::Count));
    const std::uint8_t v = r.u8();        // variant
    const std::uint8_t cfgb = r.u8();     // options of L and P
    const std::uint16_t bufs = r.u16();   // buffer sizes
    const std::uint8_t misc = r.u8();
    const std::uint8_t setup_data = r.u8();
    const std::uint32_t start_s = r.u32();

    Config lc;
    lc.timestamps = !(cfgb & 1);
    lc.window_scaling = !(cfgb & 2);
    lc.sack = !(cfgb & 4);
    lc.rfc5961 = !(v & 0x80);
    lc.mss = kMssChoices[(misc >> 0) & 3];
    lc.syn_cookies = (v & 8) ? SynCookieMode::Always : ((v & 0x10) ? SynCookieMode::Off : SynCookieMode::OnOverflow);
    lc.accept_overflow = (v & 0x20) ? AcceptOverflow::Reset : AcceptOverflow::Drop;
    lc.syn_retries = 2;
    lc.synack_retries = 2;
    lc.data_retries = static_cast<std::uint8_t>(2 + ((misc >> 6) & 3));
    lc.msl = Duration::seconds(1 + ((misc >> 4) & 3));
    Config pc = lc;
    const bool defer_l = (v & 0x40) != 0;
    const bool defer_p = (cfgb & 0x08) != 0;
    pc.timestamps = !(cfgb & 0x10);
    pc.window_scaling = !(cfgb & 0x20);
    pc.sack = !(cfgb & 0x40);
    pc.rfc5961 = !(cfgb & 0x80);
    pc.mss = kMssChoices[(misc >> 2) & 3];
    lc.send_buffer = static_cast<std::uint32_t>(kBufferSizes[(bufs >> 0) & 7]);
    lc.recv_buffer = static_cast<std::uint32_t>(kBufferSizes[(bufs >> 3) & 7]);
    pc.send_buffer = static_cast<std::uint32_t>(kBufferSizes[(bufs >> 6) & 7]);
    pc.recv_buffer = static_cast<std::uint32_t>(kBufferSizes[(bufs >> 9) & 7]);
    const bool simultaneous = (v & 2) != 0;
    // SYN-RECEIVED is reached passively (through the Listener) or by simultaneous open.
    const bool passive = (v & 1) != 0 || (target == Start::SynReceived && !simultaneous);

    World w(lc, pc, Instant::from_nanos(static_cast<std::int64_t>(start_s & 0x7fffffff) * 1'000'000'000 + 12345),
            passive, static_cast<std::uint8_t>(bufs >> 12), (bufs & 0x8000) != 0);
    if (start_s & 0x80000000u) w.p_iss = SeqNum(0xffffffffu - (start_s & 0xffff));  // P's data wraps 2^32
    w.L.ctx.defer_acks = defer_l;
    w.P.ctx.defer_acks = defer_p;
    setup(w, target, passive, simultaneous, std::size_t{setup_data} % 16 * 97, std::size_t{setup_data} / 16 * 97,
          (v & 4) != 0);

    trace(w, "setup");
    for (int i = 0; i < kMaxSteps && !r.empty(); ++i) {
        const std::uint8_t op = r.u8();
        trace(w, "step");
        switch (op % 10) {
            case 0:
            case 1:
            case 2: forge(w, r); break;
            case 3: wire_step(w, w.L, r.u8()); break;
            case 4: wire_step(w, w.P, r.u8()); break;
            case 5: user_step(w, w.L, r); break;
            case 6: user_step(w, w.P, r); break;
            case 7: clock_step(w, r); break;
            case 8: w.pump(); break;
            default: w.accept(); break;
        }
    }
    // Every buffer comes back: from a CLOSED TCB at once, from a live one by abort() or
    // release_buffers() (which of the two: from how the run went, so either is exercised).
    trace(w, "teardown");
    const bool abort_l = ((w.L.sent_total + w.L.read_total) & 1) != 0;
    w.teardown(w.L, abort_l);
    w.teardown(w.P, !abort_l);
    return 0;
}
