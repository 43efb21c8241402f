// RFC 9293 connection state machine. Comments in quotes paraphrase the step of
// §3.10.7 ("SEGMENT ARRIVES") or §3.10.1-6 (user calls) that the code implements.
#include "ustcp/tcp/connection.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "ustcp/tcp/listener.hpp"

namespace ustcp::tcp {

using wire::Bytes;
using wire::MutBytes;
using wire::TcpRepr;
namespace fl = wire::tcp_flags;

namespace {

constexpr std::uint32_t kTsOptionLen = 12;  // NOP, NOP, kind, len, TSval, TSecr

/// The outbox has no room for another segment: output() leaves new data and the FIN queued
/// rather than have the outbox drop what it just sent (which only an RTO would repair).
bool outbox_full(const Context& ctx) noexcept { return ctx.out.segments().size() >= Outbox::kMaxSegments; }

std::uint32_t seg_len(const TcpRepr& seg, std::size_t payload_len) noexcept {
    return static_cast<std::uint32_t>(payload_len) + ((seg.flags & fl::SYN) ? 1 : 0) + ((seg.flags & fl::FIN) ? 1 : 0);
}

}  // namespace

std::optional<TcpRepr> reset_for(const TcpRepr& seg, std::size_t payload_len) noexcept {
    // "If the incoming segment has the RST bit set, it is discarded."
    if (seg.flags & fl::RST) return std::nullopt;
    TcpRepr r;
    r.src_port = seg.dst_port;
    r.dst_port = seg.src_port;
    if (seg.flags & fl::ACK) {
        // "If the ACK bit is on, <SEQ=SEG.ACK><CTL=RST>"
        r.seq = seg.ack;
        r.flags = fl::RST;
    } else {
        // "If the ACK bit is off, sequence number zero is used, <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>"
        r.seq = SeqNum(0);
        r.ack = seg.seq + seg_len(seg, payload_len);
        r.flags = fl::RST | fl::ACK;
    }
    return r;
}

bool send_reset_for(Context& ctx, const FourTuple& tuple, const TcpRepr& seg, std::size_t payload_len) noexcept {
    auto r = reset_for(seg, payload_len);
    if (!r) return false;
    ctx.out.push(OutSegment{tuple, *r, {}, 0});
    ++ctx.counters.rst_sent;
    ++ctx.counters.segs_out;
    return true;
}

void reply_closed(Context& ctx, const FourTuple& tuple, const TcpRepr& seg, std::size_t payload_len) noexcept {
    ++ctx.counters.segs_in;
    (void)send_reset_for(ctx, tuple, seg, payload_len);
}

std::uint8_t window_shift_for(std::size_t buffer) noexcept {
    std::uint8_t shift = 0;
    while (shift < 14 && (buffer >> shift) > 0xffff) ++shift;
    return shift;
}

std::uint32_t ts_offset_for(const Context& ctx, const FourTuple& t) noexcept {
    // The ISN function at time zero on the reversed tuple: keyed, per 4-tuple, and
    // unrelated to the ISN itself.
    return ctx.isn.isn(t.reversed(), Instant{}).value();
}

Connection::Connection(const FourTuple& tuple) noexcept : tuple_(tuple) {}

std::uint32_t Connection::free_recv_space() const noexcept {
    const std::uint32_t held = rcvq_.held();
    return held >= rcv_buf_ ? 0 : rcv_buf_ - held;
}

std::uint32_t Connection::rcv_wnd() const noexcept {
    // Free buffer space, as far as a window field can say it (unscaled until the handshake is
    // done: RFC 7323 §2.2), but never less than what we already advertised (no retracting the
    // right edge). The acceptance test of §3.10.7.4 and RFC 5961 use this, so a segment beyond
    // anything we advertised is outside the window.
    const std::uint32_t limit = handshake_done() ? std::uint32_t{0xffff} << rcv_wscale_ : 0xffff;
    const auto free = std::min<std::uint32_t>(free_recv_space(), limit);
    const std::int32_t p = rcv_adv_ - rcv_nxt_;
    const std::uint32_t promised = p > 0 ? static_cast<std::uint32_t>(p) : 0;
    // Receiver SWS avoidance (RFC 9293 §3.8.6.2.2): keep RCV.NXT + RCV.WND fixed until the
    // window can move right by min(Fr * RCV.BUFF, Eff.snd.MSS), Fr = 1/2, so that the sender
    // is never invited to send a sliver.
    const std::uint32_t step = std::min<std::uint32_t>(rcv_buf_ / 2, rcv_mss_);
    if (free > promised && free - promised >= step) return free;
    return promised;
}

std::uint32_t Connection::ts_now(Instant now) const noexcept { return ts_clock(now, ts_offset_); }

void Connection::release_buffers(Context& ctx) noexcept {
    release_sack(ctx);
    sndq_.clear(ctx.bufs);
    rcvq_.clear(ctx.bufs);
    fin_ooo_ = false;
}

void Connection::set_nodelay(Context& ctx, Instant now, bool on) noexcept {
    nodelay_ = on;
    if (on && state_ != State::Closed) output(ctx, now);  // what Nagle held goes now
}

void Connection::set_keepalive(const Context& ctx, Instant now, bool on) noexcept {
    keepalive_ = on;
    rearm_keepalive(ctx, now);
}

// ---------------------------------------------------------------------------
// User calls
// ---------------------------------------------------------------------------

Result<void, Error> Connection::connect(Context& ctx, Instant now) noexcept {
    // A TCB that reached CLOSED was deleted (RFC 9293 §3.10.7.4 "enter the CLOSED state, delete
    // the TCB"); its flags (FIN sent/received, app closed, listener) describe the old connection,
    // so OPEN on it must not reuse it: "OPEN Call, CLOSED STATE (i.e., TCB does not exist) ...
    // Create a new transmission control block" is the caller's job.
    if (state_ != State::Closed || opened_) return Err(Error::InvalidState);
    opened_ = true;
    // "A SYN segment of the form <SEQ=ISS><CTL=SYN> is sent. Set SND.UNA to ISS, SND.NXT to ISS+1,
    // enter SYN-SENT state, and return."
    iss_ = ctx.isn.iss_for(tuple_, now, ctx.cfg.fixed_iss);
    snd_una_ = iss_;
    snd_nxt_ = iss_ + 1;
    snd_rxt_ = snd_nxt_;
    snd_sml_ = snd_una_;
    ts_offset_ = ts_offset_for(ctx, tuple_);
    take_config(ctx.cfg);
    rcv_wscale_ = ctx.cfg.window_scaling ? window_shift_for(rcv_buf_) : 0;
    ws_ok_ = ctx.cfg.window_scaling;
    rtt_ = RttEstimator(RttConfig::from(ctx.cfg));
    state_ = State::SynSent;
    send_syn(ctx, now, false);
    arm_rtx(now);
    return {};
}

Result<std::size_t, Error> Connection::send(Context& ctx, Instant now, Bytes data) noexcept {
    if (failure_) return Err(*failure_);
    switch (state_) {
        case State::Closed:
        case State::Listen:
            return Err(Error::NotConnected);
        case State::FinWait1:
        case State::FinWait2:
        case State::Closing:
        case State::LastAck:
        case State::TimeWait:
            // "Return 'error: connection closing' and do not service request."
            return Err(Error::BrokenPipe);
        default:
            break;
    }
    if (fin_queued_) return Err(Error::BrokenPipe);
    if (data.empty()) return std::size_t{0};
    // SYN-SENT / SYN-RECEIVED: "Queue the data for transmission after entering ESTABLISHED state."
    const std::size_t want = std::min(data.size(), send_space());
    if (want == 0) {
        write_blocked_ = true;
        return Err(Error::WouldBlock);
    }
    // Small writes fill the spare room of the last buffer this connection copied into; the
    // rest goes into fresh buffers from the engine's pool.
    std::size_t n = sndq_.fill_tail(data.data(), static_cast<std::uint32_t>(want));
    while (n < want) {
        const MutBuf m = ctx.bufs.alloc(static_cast<std::uint32_t>(want - n));
        if (m.handle == nullptr) break;
        const auto k = static_cast<std::uint32_t>(std::min<std::size_t>(m.cap, want - n));
        std::memcpy(m.data, data.data() + n, k);
        BufNode* node = ctx.bufs.take(BufRef{m.handle, m.data, k});
        if (node == nullptr) {
            ctx.bufs.drop_handle(m.handle);
            break;
        }
        node->room = m.cap - k;
        sndq_.append(node);
        n += k;
    }
    if (n < data.size()) write_blocked_ = true;
    if (n == 0) {
        ++ctx.counters.drop_no_buffer;
        return Err(Error::WouldBlock);
    }
    output(ctx, now);
    return n;
}

Result<std::size_t, Error> Connection::send_buf(Context& ctx, Instant now, BufRef buf) noexcept {
    if (auto r = send(ctx, now, Bytes{}); !r) return r;  // the same state checks, nothing queued
    if (buf.len == 0) return std::size_t{0};
    if (!sndq_.empty() && buf.len > send_space()) {
        write_blocked_ = true;
        return Err(Error::WouldBlock);
    }
    BufNode* node = ctx.bufs.take(buf);
    if (node == nullptr) {
        write_blocked_ = true;
        ++ctx.counters.drop_no_buffer;
        return Err(Error::WouldBlock);
    }
    sndq_.append(node);
    output(ctx, now);
    return std::size_t{buf.len};
}

void Connection::maybe_window_update(Context& ctx, Instant now, std::uint32_t before) noexcept {
    // Reading opened the window: tell the peer when it grew by two segments or half the buffer
    // (RFC 9293 §3.8.6.2.2, RFC 1122 §4.2.3.3), or when it had been too small for a segment.
    if (!is_synchronized(state_) || state_ == State::TimeWait || fin_received_) return;
    // An ACK already owed (Context::defer_acks) carries the new window when it goes, alone or
    // on the application's reply: no separate update.
    if (ack_now_) return;
    // Grown from what the peer was last told (RCV.ADV - RCV.NXT), not from the window before
    // this read: an earlier read may have freed space that was never advertised, and reads
    // each too small for the thresholds must still add up to an update.
    const std::int32_t told = rcv_adv_ - rcv_nxt_;
    before = std::min<std::uint32_t>(before, told > 0 ? static_cast<std::uint32_t>(told) : 0);
    const std::uint32_t after = rcv_wnd();
    if (after <= before) return;
    const std::uint32_t opened = after - before;
    // A peer that still has a large window keeps sending, and the ACKs of that data carry
    // the new window: a growth of two segments is news only when it at least doubles what
    // the peer may send (as Linux's tcp_cleanup_rbuf), so that an application draining a
    // full buffer in small reads sends a handful of updates, not one per read.
    const bool reopened = before < rcv_mss_ && after >= rcv_mss_;
    const bool doubled = opened >= 2u * rcv_mss_ && after >= 2 * before;
    if (reopened || doubled || opened >= rcv_buf_ / 2) send_ack(ctx, now);
}

Result<std::size_t, Error> Connection::nothing_to_read() const noexcept {
    // RECEIVE with nothing queued: end of stream once the peer's FIN is in, else why not.
    if (fin_received_) return std::size_t{0};
    if (failure_) return Err(*failure_);
    if (state_ == State::Closed || state_ == State::Listen) return Err(Error::NotConnected);
    return Err(Error::WouldBlock);
}

Result<std::size_t, Error> Connection::receive(Context& ctx, Instant now, MutBytes out) noexcept {
    if (rcvq_.readable() > 0) {
        const std::uint32_t before = rcv_wnd();
        const std::size_t n = rcvq_.read(ctx.bufs, out);
        maybe_window_update(ctx, now, before);
        return n;
    }
    return nothing_to_read();
}

Result<std::size_t, Error> Connection::receive_bufs(Context& ctx, Instant now, std::span<BufRef> out) noexcept {
    if (rcvq_.readable() > 0) {
        const std::uint32_t before = rcv_wnd();
        const std::size_t n = rcvq_.take(ctx.bufs, out);
        maybe_window_update(ctx, now, before);
        return n;
    }
    return nothing_to_read();
}

Result<void, Error> Connection::shutdown_write(Context& ctx, Instant now) noexcept {
    if (failure_) return Err(*failure_);
    switch (state_) {
        case State::Closed:
        case State::Listen:
            return Err(Error::NotConnected);
        case State::SynSent:
            // "Queue for processing after entering ESTABLISHED state" (FIN follows queued data).
            if (fin_queued_) return Err(Error::Closing);
            fin_queued_ = true;
            return {};
        case State::SynReceived:
            if (fin_queued_) return Err(Error::Closing);
            fin_queued_ = true;
            if (sndq_.empty()) {
                // "If no SENDs have been issued and there is no pending data to send, then form a
                // FIN segment and send it, and enter FIN-WAIT-1 state; otherwise, queue for
                // processing after entering ESTABLISHED state." Our SYN may still be unacknowledged:
                // the handshake then completes in FIN-WAIT-1 (see handshake_done()).
                state_ = State::FinWait1;
                emit(ctx, now, fl::FIN | fl::ACK, snd_nxt_, 0, 0);
                snd_nxt_ += 1;
                snd_rxt_ = snd_nxt_;
                fin_sent_ = true;
            }
            return {};
        case State::Established:
            // "Queue this until all preceding SENDs have been segmentized, then form a FIN segment
            // and send it. In any case, enter FIN-WAIT-1 state."
            fin_queued_ = true;
            state_ = State::FinWait1;
            output(ctx, now);
            return {};
        case State::CloseWait:
            // "Queue this request until all preceding SENDs have been segmentized; then send a FIN
            // segment, enter LAST-ACK state."
            fin_queued_ = true;
            state_ = State::LastAck;
            output(ctx, now);
            return {};
        default:
            // FIN-WAIT-1/2, CLOSING, LAST-ACK, TIME-WAIT: "error: connection closing".
            return Err(Error::Closing);
    }
}

Result<void, Error> Connection::close(Context& ctx, Instant now) noexcept {
    if (state_ == State::Closed) return failure_ ? Result<void, Error>(Err(*failure_)) : Err(Error::NotConnected);
    if (state_ == State::SynSent) {
        // "Delete the TCB and return 'error: closing' responses to any queued SENDs."
        enter_closed(ctx);
        return {};
    }
    app_closed_ = true;
    if (rcvq_.readable() > 0) {
        // Closing with unread data loses it: tell the peer with a reset (RFC 2525 §2.17).
        abort(ctx, now);
        return {};
    }
    if (fin_queued_) return {};  // already shut down for writing; now also for reading
    return shutdown_write(ctx, now);
}

void Connection::abort(Context& ctx, Instant /*now*/) noexcept {
    switch (state_) {
        case State::SynReceived:
        case State::Established:
        case State::FinWait1:
        case State::FinWait2:
        case State::CloseWait:
            // "Send a reset segment: <SEQ=SND.NXT><CTL=RST>"; queued data is flushed.
            send_rst(ctx, snd_nxt_);
            break;
        default:
            // CLOSED, SYN-SENT, CLOSING, LAST-ACK, TIME-WAIT: "delete the TCB".
            break;
    }
    release_buffers(ctx);
    if (state_ != State::Closed) enter_closed(ctx);
}

// ---------------------------------------------------------------------------
// Passive open
// ---------------------------------------------------------------------------

void Connection::accept_syn(Context& ctx, Instant now, const TcpRepr& syn, Listener* listener,
                            std::optional<SeqNum> iss) noexcept {
    // LISTEN, "fourth, check the SYN bit": "Set RCV.NXT to SEG.SEQ+1, IRS is set to SEG.SEQ ...
    // ISS should be selected and a SYN segment sent of the form <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>.
    // SND.NXT is set to ISS+1 and SND.UNA to ISS. The connection state should be changed to SYN-RECEIVED."
    passive_ = true;
    opened_ = true;
    listener_ = listener;
    irs_ = syn.seq;
    rcv_nxt_ = syn.seq + 1;
    rcv_adv_ = rcv_nxt_;
    take_config(ctx.cfg);
    negotiate_options(ctx.cfg, syn.options);
    iss_ = iss.value_or(ctx.isn.iss_for(tuple_, now, ctx.cfg.fixed_iss));
    snd_una_ = iss_;
    snd_nxt_ = iss_ + 1;
    snd_rxt_ = snd_nxt_;
    snd_sml_ = snd_una_;
    ts_offset_ = ts_offset_for(ctx, tuple_);
    snd_wnd_ = syn.window;  // RFC 7323 §2.2: the window in a SYN is never scaled
    max_snd_wnd_ = snd_wnd_;
    snd_wl1_ = syn.seq;
    snd_wl2_ = iss_;
    rtt_ = RttEstimator(RttConfig::from(ctx.cfg));
    state_ = State::SynReceived;
    send_syn(ctx, now, true);
    arm_rtx(now);
}

void Connection::accept_cookie(Context& ctx, Instant now, const TcpRepr& ack, Bytes payload,
                               const SynCookieOptions& opts, Listener* listener) noexcept {
    accept_cookie(ctx, now, ack, copy_in(ctx, payload), opts, listener);
}

void Connection::accept_cookie(Context& ctx, Instant now, const TcpRepr& ack, BufRef payload,
                               const SynCookieOptions& opts, Listener* listener) noexcept {
    // The handshake's state was carried by the cookie: rebuild the TCB as SYN-RECEIVED
    // would have left it, then let the ACK move it to ESTABLISHED.
    passive_ = true;
    opened_ = true;
    listener_ = listener;
    iss_ = ack.ack - 1;
    irs_ = ack.seq - 1;
    snd_una_ = iss_;
    snd_nxt_ = ack.ack;
    snd_rxt_ = snd_nxt_;
    snd_sml_ = snd_una_;
    rcv_nxt_ = ack.seq;
    // The Listener's cookie SYN-ACK advertised min(recv_buffer, 65535), unscaled: that right
    // edge is promised already and must not move left (SHLD-14) once data fills the buffer.
    rcv_adv_ = rcv_nxt_ + std::min<std::uint32_t>(ctx.cfg.recv_buffer, 0xffff);
    ts_offset_ = ts_offset_for(ctx, tuple_);
    take_config(ctx.cfg);
    ts_ok_ = opts.timestamps && ctx.cfg.timestamps;
    sack_ok_ = opts.sack_permitted && ctx.cfg.sack;
    rack_on_ = sack_ok_ && ctx.cfg.rack;
    ws_ok_ = opts.wscale.has_value() && ctx.cfg.window_scaling;
    snd_wscale_ = ws_ok_ ? std::min<std::uint8_t>(*opts.wscale, 14) : 0;
    rcv_wscale_ = ws_ok_ ? window_shift_for(rcv_buf_) : 0;
    snd_mss_ = static_cast<std::uint16_t>(std::min(opts.mss, ctx.cfg.mss) - (ts_ok_ ? kTsOptionLen : 0));
    if (ts_ok_ && ack.options.timestamps) ts_recent_ = ack.options.timestamps->val;
    last_ack_sent_ = rcv_nxt_;
    rtt_ = RttEstimator(RttConfig::from(ctx.cfg));
    state_ = State::SynReceived;
    cookie_ = true;
    on_segment(ctx, now, ack, payload);
}

std::optional<SeqNum> Connection::end_time_wait_for(Context& ctx, Instant now, const TcpRepr& seg) noexcept {
    const bool bare_syn = (seg.flags & fl::SYN) && !(seg.flags & fl::ACK);
    if (!bare_syn || !time_wait_accepts_syn(seg)) return std::nullopt;
    const SeqNum iss = next_incarnation_iss();
    ++ctx.counters.time_wait_reused;
    abort(ctx, now);
    return iss;
}

void Connection::take_config(const Config& cfg) noexcept {
    snd_buf_ = cfg.send_buffer;
    rcv_buf_ = cfg.recv_buffer;
    nodelay_ = cfg.nodelay;
    keepalive_ = cfg.keepalive;
    quickack_left_ = cfg.quickack;
    rcv_mss_ = std::min<std::uint16_t>(cfg.mss, 536);
}

BufRef copy_in(Context& ctx, Bytes payload) noexcept {
    if (payload.empty()) return {};
    const MutBuf m = ctx.bufs.alloc(static_cast<std::uint32_t>(payload.size()));
    if (m.handle == nullptr || m.cap < payload.size()) {
        if (m.handle != nullptr) ctx.bufs.drop_handle(m.handle);
        ++ctx.counters.drop_no_buffer;
        return {};
    }
    std::memcpy(m.data, payload.data(), payload.size());
    return BufRef{m.handle, m.data, static_cast<std::uint32_t>(payload.size())};
}

bool Connection::time_wait_accepts_syn(const TcpRepr& syn) const noexcept {
    if (state_ != State::TimeWait) return false;
    // RFC 6191: with timestamps, a SYN whose TSval is newer than TS.Recent is a new incarnation;
    // without them, one whose sequence number lies beyond RCV.NXT (RFC 1122 4.2.2.13).
    if (ts_ok_ && syn.options.timestamps) return SeqNum(syn.options.timestamps->val) > SeqNum(ts_recent_);
    return syn.seq > rcv_nxt_;
}

void Connection::negotiate_options(const Config& cfg, const wire::TcpOptions& peer) noexcept {
    // RFC 7323 §2.2: window scaling only when both SYNs carry the option; shifts above 14 are
    // used as 14 (§2.3).
    ws_ok_ = cfg.window_scaling && peer.wscale.has_value();
    snd_wscale_ = ws_ok_ ? std::min<std::uint8_t>(*peer.wscale, 14) : 0;
    rcv_wscale_ = ws_ok_ ? window_shift_for(rcv_buf_) : 0;
    sack_ok_ = cfg.sack && peer.sack_permitted;
    rack_on_ = sack_ok_ && cfg.rack;
    // RFC 7323 §3.2: timestamps only if the peer's SYN had them.
    ts_ok_ = cfg.timestamps && peer.timestamps.has_value();
    if (ts_ok_) ts_recent_ = peer.timestamps->val;
    // RFC 9293 §3.7.1 / RFC 6691: the peer's MSS (536 if absent) bounds the segment; the
    // effective send MSS leaves room for the options on every segment (timestamps).
    const std::uint16_t peer_mss = peer.mss.value_or(cfg.default_peer_mss);
    const std::uint16_t mss = std::min(peer_mss, cfg.mss);
    // A floor of 48 bytes (Linux's TCP_MIN_SND_MSS) guards against absurdly small segments;
    // any MSS from 60 up (with timestamps) or 48 up (without) is honoured exactly (MUST-16).
    snd_mss_ = static_cast<std::uint16_t>(std::max<int>(mss - (ts_ok_ ? kTsOptionLen : 0), 48));
}

// ---------------------------------------------------------------------------
// SEGMENT ARRIVES
// ---------------------------------------------------------------------------

void Connection::on_segment(Context& ctx, Instant now, const TcpRepr& seg, Bytes payload) noexcept {
    BufRef b = copy_in(ctx, payload);
    if (!payload.empty() && b.handle == nullptr) return;  // no buffer: dropped and counted, as a NIC would
    on_segment(ctx, now, seg, b);
}

void Connection::on_segment(Context& ctx, Instant now, const TcpRepr& seg, BufRef buf) noexcept {
    const Bytes payload(buf.data, buf.len);
    if (state_ == State::Closed) {
        // §3.10.7.1: "all data in the incoming segment is discarded ... a reset is sent".
        reply_closed(ctx, tuple_, seg, payload.size());
        ctx.bufs.drop_handle(buf.handle);
        return;
    }
    ++ctx.counters.segs_in;
    ++stats_.segs_in;
    switch (state_) {
        case State::Closed:
            return;
        case State::Listen:
            return;  // listeners are Listener objects, never a Connection
        case State::SynSent:
            on_segment_syn_sent(ctx, now, seg);
            if (state_ == State::Established && (!payload.empty() || (seg.flags & fl::FIN))) {
                // §3.10.7.3: "If there are other controls or text in the segment, then continue
                // processing at the sixth step under Section 3.10.7.4 where the URG bit is
                // checked". The text is trimmed to the window we offered in the SYN.
                Arrival a{seg.seq + 1, payload, (seg.flags & fl::FIN) != 0, false};
                const std::uint32_t room = rcv_wnd();
                if (a.payload.size() >= room) {
                    a.payload = a.payload.first(room);
                    a.fin = false;
                }
                if (process_text(ctx, now, a, buf) && a.fin) process_fin(ctx, now);
            }
            break;
        default: {
            Arrival a{seg.seq, payload, (seg.flags & fl::FIN) != 0, (seg.flags & fl::SYN) != 0};
            // "first, check sequence number"
            if (!check_sequence(ctx, now, seg, a)) break;
            // "second, check the RST bit"
            if (seg.flags & fl::RST) {
                check_rst(ctx, now, seg);
                break;
            }
            // "third, check security": no IP security compartments are used.
            // "fourth, check the SYN bit"
            if (a.syn) {
                check_syn(ctx, now);
                break;
            }
            // "fifth, check the ACK field": "if the ACK bit is off, drop the segment and return"
            if (!(seg.flags & fl::ACK)) {
                ++ctx.counters.drop_no_ack;
                break;
            }
            if (!process_ack(ctx, now, seg, payload.size())) break;
            // Something arrived from the peer: keepalive's idle time starts again.
            if (keepalive_) rearm_keepalive(ctx, now);
            // "sixth, check the URG bit": urgent data is delivered inline (RFC 6093): the urgent
            // pointer is ignored and the octets are ordinary data; nothing to do.
            // "seventh, process the segment text"
            if (!process_text(ctx, now, a, buf)) break;
            // A FIN that arrived ahead of data is processed once the data before it is in.
            if (fin_ooo_ && rcv_nxt_ == fin_seq_) {
                fin_ooo_ = false;
                a.fin = true;
            }
            // "eighth, check the FIN bit"
            if (a.fin) process_fin(ctx, now);
            break;
        }
    }
    ctx.bufs.drop_handle(buf.handle);  // payload not kept (nothing, or all of it, was new)
    if (state_ == State::Closed) return;
    output(ctx, now);
    if (ack_now_ && !ctx.defer_acks) send_ack(ctx, now);
}

void Connection::on_segment_syn_sent(Context& ctx, Instant now, const TcpRepr& seg) noexcept {
    const bool has_ack = (seg.flags & fl::ACK) != 0;
    // "first, check the ACK bit": "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset (unless the
    // RST bit is set, if so drop the segment and return) <SEQ=SEG.ACK><CTL=RST>".
    if (has_ack && (seg.ack <= iss_ || seg.ack > snd_nxt_)) {
        if (!(seg.flags & fl::RST)) send_rst(ctx, seg.ack);
        else ++ctx.counters.rst_ignored;
        return;
    }
    const bool ack_ok = has_ack && snd_una_ < seg.ack && seg.ack <= snd_nxt_;
    // "second, check the RST bit": "If the ACK was acceptable, then signal to the user 'error:
    // connection reset', drop the segment, enter CLOSED state ... Otherwise (no ACK), drop the
    // segment and return." (RFC 5961 §3.2 keeps this rule for SYN-SENT.)
    if (seg.flags & fl::RST) {
        if (ack_ok) fail(ctx, Error::ConnectionRefused);
        else ++ctx.counters.rst_ignored;
        return;
    }
    // "third, check the security": nothing.
    // "fourth, check the SYN bit"
    if (!(seg.flags & fl::SYN)) return;  // "fifth, if neither SYN nor RST is set, drop the segment"
    // "RCV.NXT is set to SEG.SEQ+1, IRS is set to SEG.SEQ. SND.UNA should be advanced to equal SEG.ACK."
    irs_ = seg.seq;
    rcv_nxt_ = seg.seq + 1;
    rcv_adv_ = rcv_nxt_;
    negotiate_options(ctx.cfg, seg.options);
    if (ack_ok) {
        snd_una_ = seg.ack;
        syn_acked_ = true;
    }
    snd_wnd_ = seg.window;  // never scaled in a SYN (RFC 7323 §2.2)
    max_snd_wnd_ = snd_wnd_;
    snd_wl1_ = seg.seq;
    snd_wl2_ = seg.ack;
    if (syn_acked_) {
        // "If SND.UNA > ISS (our SYN has been ACKed), change the connection state to ESTABLISHED,
        // form an ACK segment <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and send it."
        enter_established(ctx, now);
        ack_now_ = true;
    } else {
        // "Otherwise, enter SYN-RECEIVED, form a SYN,ACK segment <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>
        // and send it." (simultaneous open)
        state_ = State::SynReceived;
        send_syn(ctx, now, true);
        arm_rtx(now);
    }
}

bool Connection::check_sequence(Context& ctx, Instant now, const TcpRepr& seg, Arrival& a) noexcept {
    const bool rst = (seg.flags & fl::RST) != 0;
    if (ts_ok_ && !rst) {
        // RFC 7323 §3.2: "If a non-RST segment is received without a TSopt, a TCP SHOULD silently
        // drop the segment."
        if (!seg.options.timestamps) {
            ++ctx.counters.drop_no_timestamp;
            return false;
        }
        // RFC 7323 §5.3 R1 (PAWS): "If SEG.TSval < TS.Recent, the segment is not acceptable":
        // "send an acknowledgment in reply as specified in RFC 793 page 69 and drop the segment".
        if (SeqNum(seg.options.timestamps->val) < SeqNum(ts_recent_)) {
            ++ctx.counters.drop_paws;
            ack_now_ = true;
            return false;
        }
    }
    if (state_ == State::SynReceived && !passive_ && (seg.flags & fl::SYN) && (seg.flags & fl::ACK) &&
        seg.seq == irs_) {
        // Simultaneous open (RFC 9293 figure 8, line 6): the peer's SYN,ACK repeats the SYN we
        // already hold. Trim that SYN off and let its ACK complete the handshake. Its TSval is
        // newer than the SYN's and is what our next segments must echo (RFC 7323 §4.3).
        if (ts_ok_ && seg.options.timestamps && SeqNum(seg.options.timestamps->val) >= SeqNum(ts_recent_)) {
            ts_recent_ = seg.options.timestamps->val;
        }
        a.syn = false;
        a.seq = rcv_nxt_;
        a.payload = {};
        a.fin = false;
        return true;
    }
    // RFC 9293 §3.10.7.4 "first": the four cases of the acceptability test.
    const std::uint32_t len = seg_len(seg, a.payload.size());
    const std::uint32_t wnd = rcv_wnd();
    bool ok;
    if (len == 0) {
        ok = wnd == 0 ? seg.seq == rcv_nxt_ : seg.seq.in_window(rcv_nxt_, wnd);
    } else {
        ok = wnd != 0 && (seg.seq.in_window(rcv_nxt_, wnd) || (seg.seq + (len - 1)).in_window(rcv_nxt_, wnd));
    }
    if (!ok) {
        // "If an incoming segment is not acceptable, an acknowledgment should be sent in reply
        // (unless the RST bit is set, if so drop the segment and return)".
        ++ctx.counters.drop_unacceptable;
        if (rst) return false;
        // RFC 2883 §4 (1): data wholly below RCV.NXT arrived again: the ACK reports it as a
        // D-SACK block (the sender learns its retransmission, or the network, duplicated it).
        if (handshake_done() && !a.payload.empty() && !(seg.flags & fl::SYN)) {
            const SeqNum end = seg.seq + static_cast<std::uint32_t>(a.payload.size());
            if (end <= rcv_nxt_) note_dsack_rx(seg.seq, end);
        }
        if (!handshake_done() && (seg.flags & fl::SYN) && seg.seq == irs_) {
            send_syn(ctx, now, true);  // the peer lost our SYN-ACK: repeat it, not a bare ACK
            return false;
        }
        if (state_ == State::TimeWait && (seg.flags & fl::FIN)) {
            // "The only thing that can arrive in this state is a retransmission of the remote FIN.
            // Acknowledge it, and restart the 2 MSL timeout."
            enter_time_wait(ctx, now);
        }
        ack_now_ = true;
        return false;
    }
    // Trim to the window: "segments with higher beginning sequence numbers ... special allowance
    // should be made to accept valid ACKs, URGs, and RSTs" and text outside the window is cut.
    if (seg.seq < rcv_nxt_) {
        std::uint32_t skip = static_cast<std::uint32_t>(rcv_nxt_ - seg.seq);
        if (seg.flags & fl::SYN) --skip;  // the SYN occupied the first number
        const std::size_t drop = std::min<std::size_t>(skip, a.payload.size());
        // RFC 2883 §4.1.1 style: the part already received is a duplicate; report it.
        if (drop > 0 && handshake_done() && !(seg.flags & fl::SYN)) {
            note_dsack_rx(seg.seq, seg.seq + static_cast<std::uint32_t>(drop));
        }
        a.payload = a.payload.subspan(drop);
        a.seq = rcv_nxt_;
    } else {
        a.seq = seg.seq + ((seg.flags & fl::SYN) ? 1 : 0);
    }
    const std::int32_t room = (rcv_nxt_ + wnd) - a.seq;
    if (room < 0) {
        a.payload = {};
        a.fin = false;
    } else if (a.payload.size() >= static_cast<std::uint32_t>(room)) {
        // Text filling the window exactly leaves the FIN at RCV.NXT + RCV.WND: outside it
        // ("trimmed ... including SYN and FIN"), like any text beyond the right edge.
        a.payload = a.payload.first(static_cast<std::uint32_t>(room));
        a.fin = false;  // the FIN lies beyond what we keep
    }
    // RFC 7323 §4.3 (2): "If SEG.TSval >= TS.Recent and SEG.SEQ <= Last.ACK.sent then SEG.TSval
    // is copied to TS.Recent".
    if (ts_ok_ && seg.options.timestamps && SeqNum(seg.options.timestamps->val) >= SeqNum(ts_recent_) &&
        seg.seq <= last_ack_sent_) {
        ts_recent_ = seg.options.timestamps->val;
    }
    return true;
}

void Connection::check_rst(Context& ctx, Instant now, const TcpRepr& seg) noexcept {
    // RFC 5961 §3.2: "If the RST bit is set and the sequence number exactly matches the next
    // expected sequence number (RCV.NXT), then TCP MUST reset the connection"; otherwise (in the
    // window) "TCP MUST send an ACK (challenge ACK)". RFC 793 mode resets on any in-window RST.
    if (ctx.cfg.rfc5961 && seg.seq != rcv_nxt_) {
        send_challenge_ack(ctx, now);
        return;
    }
    switch (state_) {
        case State::SynReceived:
            if (passive_) {
                // "If this connection was initiated with a passive OPEN, then return this connection
                // to the LISTEN state and return": the listener keeps listening; this TCB goes.
                enter_closed(ctx);
            } else {
                // "If initiated with an active OPEN, then this connection was refused."
                fail(ctx, Error::ConnectionRefused);
            }
            return;
        case State::Established:
        case State::FinWait1:
        case State::FinWait2:
        case State::CloseWait:
            // "Any outstanding RECEIVEs and SEND should receive 'reset' responses ... enter CLOSED".
            fail(ctx, Error::ConnectionReset);
            return;
        default:
            // CLOSING, LAST-ACK, TIME-WAIT: "enter the CLOSED state, delete the TCB, and return".
            enter_closed(ctx);
            return;
    }
}

void Connection::check_syn(Context& ctx, Instant now) noexcept {
    if (state_ == State::SynReceived && passive_) {
        // "If the connection was initiated with a passive OPEN, then return this connection to the
        // LISTEN state and return." (a retransmitted SYN was handled by the sequence check)
        enter_closed(ctx);
        return;
    }
    if (ctx.cfg.rfc5961) {
        // RFC 5961 §4.2: "If the SYN bit is set, irrespective of the sequence number, TCP MUST send
        // an ACK (also referred to as challenge ACK) to the remote peer".
        send_challenge_ack(ctx, now);
        return;
    }
    // RFC 793: an in-window SYN is an error: send a reset, flush queues, enter CLOSED.
    send_rst(ctx, snd_nxt_);
    fail(ctx, Error::ConnectionReset);
}

bool Connection::process_ack(Context& ctx, Instant now, const TcpRepr& seg, std::size_t payload_len) noexcept {
    if (!handshake_done()) {
        // SYN-RECEIVED (or FIN-WAIT-1 entered from it by CLOSE before our SYN was acknowledged):
        // "If SND.UNA < SEG.ACK =< SND.NXT, then enter ESTABLISHED state and continue processing"
        if (!(snd_una_ < seg.ack && seg.ack <= snd_nxt_)) {
            // "If the segment acknowledgment is not acceptable, form a reset segment <SEQ=SEG.ACK><CTL=RST>"
            send_rst(ctx, seg.ack);
            return false;
        }
        if (passive_ && listener_ != nullptr && !listener_->admit(ctx, this, !cookie_)) {
            ++ctx.counters.accept_overflows;
            if (ctx.cfg.accept_overflow == AcceptOverflow::Reset) {
                send_rst(ctx, seg.ack);
                enter_closed(ctx);
            } else if (cookie_) {
                enter_closed(ctx);  // nothing was kept for it: the client will retry
            }
            return false;  // AcceptOverflow::Drop: stay in SYN-RECEIVED, our SYN-ACK timer retries
        }
        // "set the variables: SND.WND <- SEG.WND, SND.WL1 <- SEG.SEQ, SND.WL2 <- SEG.ACK"
        snd_wnd_ = static_cast<std::uint32_t>(seg.window) << snd_wscale_;
        max_snd_wnd_ = std::max(max_snd_wnd_, snd_wnd_);
        snd_wl1_ = seg.seq;
        snd_wl2_ = seg.ack;
        enter_established(ctx, now);
    }

    // RFC 5961 §5.2: "the ACK value is considered acceptable only if it is in the range of
    // ((SND.UNA - MAX.SND.WND) =< SEG.ACK =< SND.NXT). All incoming segments whose ACK value doesn't
    // satisfy the above condition MUST be discarded and an ACK sent back."
    if (ctx.cfg.rfc5961 && !(snd_una_ - max_snd_wnd_ <= seg.ack && seg.ack <= snd_nxt_)) {
        ++ctx.counters.drop_bad_ack;
        send_challenge_ack(ctx, now);
        return false;
    }
    // "If the ACK acks something not yet sent (SEG.ACK > SND.NXT), then send an ACK, drop the
    // segment, and return."
    if (seg.ack > snd_nxt_) {
        ++ctx.counters.drop_bad_ack;
        ack_now_ = true;
        return false;
    }

    if (state_ == State::TimeWait) return true;  // FIN retransmissions are handled by the FIN step

    // ESTABLISHED processing, shared by FIN-WAIT-1/2, CLOSE-WAIT, CLOSING and LAST-ACK. RFC 9293
    // enters LAST-ACK only once the FIN is sent, after "all preceding SENDs have been
    // segmentized"; shutdown_write() enters it at once (as FIN-WAIT-1), so data may still be
    // unacknowledged or unsent here and its ACKs must free the send buffer and move the window.
    // "If SND.UNA < SEG.ACK =< SND.NXT, then set SND.UNA <- SEG.ACK. Any segments on the
    // retransmission queue that are thereby entirely acknowledged are removed."
    const std::uint32_t seg_wnd = static_cast<std::uint32_t>(seg.window) << snd_wscale_;
    persist_unanswered_ = 0;  // the peer is alive: zero-window probing may go on
    const SeqNum old_una = snd_una_;
    // RFC 5681 §2 DUPLICATE ACKNOWLEDGMENT: data outstanding, no data or SYN/FIN on the ACK,
    // SEG.ACK == SND.UNA and the window unchanged. (Replies to zero-window probes are not.)
    const bool dup = seg.ack == snd_una_ && snd_nxt_ != snd_una_ && payload_len == 0 &&
                     !(seg.flags & (fl::SYN | fl::FIN)) && seg_wnd == snd_wnd_ && persist_deadline_ == kNever;
    if (snd_una_ < seg.ack) {
        const auto flight = static_cast<std::uint32_t>(snd_nxt_ - snd_una_);
        on_data_acked(ctx, now, seg, static_cast<std::uint32_t>(seg.ack - snd_una_), flight);
    } else if (dup) {
        on_duplicate_ack(ctx, now);
    }
    // RFC 6675 §5: "Upon the receipt of any ACK containing SACK information, the scoreboard
    // MUST be updated"; loss detection and recovery follow from it.
    if (sack_ != nullptr && cc_started_ && state_ != State::Closed) sack_on_ack(ctx, now, seg, old_una, dup);
    // "If SND.UNA =< SEG.ACK =< SND.NXT, the send window should be updated. If (SND.WL1 < SEG.SEQ or
    // (SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK)), set SND.WND <- SEG.WND, SND.WL1 <- SEG.SEQ, and
    // SND.WL2 <- SEG.ACK." (SEG.ACK < SND.UNA, a duplicate, "can be ignored".)
    if (snd_una_ <= seg.ack && (snd_wl1_ < seg.seq || (snd_wl1_ == seg.seq && snd_wl2_ <= seg.ack))) {
        snd_wnd_ = seg_wnd;
        max_snd_wnd_ = std::max(max_snd_wnd_, snd_wnd_);
        snd_wl1_ = seg.seq;
        snd_wl2_ = seg.ack;
        if (snd_wnd_ > 0 && persist_deadline_ != kNever) {
            // The window reopened: probing ends. A probe octet the peer did not take is sent
            // again first (go-back from SND.UNA), so nothing is skipped or sent twice as new.
            persist_deadline_ = kNever;
            persist_backoff_ = 0;
            snd_rxt_ = snd_una_;
            if (snd_una_ != snd_nxt_) arm_rtx(now);
        }
    }

    if (state_ == State::FinWait1 && fin_acked()) {
        // "In addition to the processing for the ESTABLISHED state, if the FIN segment is now
        // acknowledged, then enter FIN-WAIT-2 and continue processing in that state."
        state_ = State::FinWait2;
    } else if (state_ == State::Closing && fin_acked()) {
        // "if the ACK acknowledges our FIN, then enter the TIME-WAIT state; otherwise, ignore".
        enter_time_wait(ctx, now);
    } else if (state_ == State::LastAck && fin_acked()) {
        // "The only thing that can arrive in this state is an acknowledgment of our FIN. If our FIN
        // is now acknowledged, delete the TCB, enter the CLOSED state, and return."
        enter_closed(ctx);
        return false;
    }
    return true;
}

bool Connection::process_text(Context& ctx, Instant now, Arrival& a, BufRef& buf) noexcept {
    if (a.payload.empty()) {
        // A bare FIN beyond RCV.NXT is out of order like data there: data before it is still
        // missing, so it must not be processed yet ("segments with higher beginning sequence
        // numbers SHOULD be held for later processing"; the FIN step advances RCV.NXT by one
        // and would skip the hole). It is remembered and processed when the hole is filled;
        // the duplicate ACK tells the sender where the hole starts.
        if (a.fin && a.seq != rcv_nxt_) {
            if (!fin_received_) {
                fin_ooo_ = true;
                fin_seq_ = a.seq;
            }
            a.fin = false;
            ack_now_ = true;
        }
        return true;
    }
    switch (state_) {
        case State::Established:
        case State::FinWait1:
        case State::FinWait2:
            break;
        default:
            // CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT: "This should not occur since a FIN has been
            // received from the remote side. Ignore the segment text."
            a.fin = false;
            return true;
    }
    if (app_closed_) {
        // Data for an application that closed: it can never be read, so reset (RFC 2525 §2.17).
        send_rst(ctx, snd_nxt_);
        release_buffers(ctx);
        enter_closed(ctx);
        return false;
    }
    const auto len = static_cast<std::uint32_t>(a.payload.size());
    if (len > rcv_mss_) rcv_mss_ = static_cast<std::uint16_t>(std::min<std::uint32_t>(len, ctx.cfg.mss));
    ++stats_.data_segs_in;
    // The payload stays in the buffer it came in: a node records the part of it inside the
    // window (check_sequence() trimmed the span), and the queue trims overlaps further.
    BufNode* n = ctx.bufs.take(BufRef{buf.handle, a.payload.data(), len});
    if (n == nullptr && a.seq == rcv_nxt_ && rcvq_.has_ooo()) {
        // The segment that fills the hole matters more than what waits behind it: without it
        // the out-of-order queue could hold its buffers for ever.
        (void)prune_ooo(ctx);
        n = ctx.bufs.take(BufRef{buf.handle, a.payload.data(), len});
    }
    if (n == nullptr) {
        // No node left: drop the text (the peer retransmits it) but keep the ACK's news.
        ++ctx.counters.drop_no_buffer;
        ++stats_.no_buffer_drops;
        a.fin = false;
        return true;
    }
    buf.handle = nullptr;  // the queue owns it now
    n->seq = a.seq;
    const bool in_order = a.seq == rcv_nxt_;
    // In-order text with a FIN ends the stream at a.seq + len: data held out of order is
    // either covered by this segment or lies beyond the FIN, where it can never be read.
    // Drop it before inserting, so that insert() cannot pull it in ahead of the FIN (which
    // would then be processed at the wrong sequence number). Linux's tcp_fin() does the same.
    if (in_order && a.fin) rcvq_.drop_ooo(ctx.bufs);
    const RecvQueue::Insert r = rcvq_.insert(ctx.bufs, n, rcv_nxt_);
    if (!in_order && sack_ok_) {
        // RFC 2018 §4: the next ACK's first block holds this segment; RFC 2883: a segment that
        // brought nothing new is reported as a D-SACK block instead.
        if (r.duplicate) sack_rx_.on_duplicate(a.seq, a.seq + len);
        else sack_rx_.on_ooo(a.seq, a.seq + len);
    }
    if (!in_order) {
        // "Out-of-order data ... SHOULD be acknowledged immediately" (RFC 5681 §4.2): the
        // duplicate ACK names the hole's start. A FIN on it waits for the hole to fill.
        ++stats_.ooo_segs;
        ++stats_.dup_acks_out;
        ++ctx.counters.ooo_queued;
        if (a.fin && !fin_received_) {
            fin_ooo_ = true;
            fin_seq_ = a.seq + len;
        }
        a.fin = false;
        ack_now_ = true;
        return true;
    }
    // "Once the TCP endpoint takes responsibility for the data, it advances RCV.NXT over the data
    // accepted ... Send an acknowledgment of the form <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>."
    rcv_nxt_ += r.advanced;
    stats_.bytes_in += r.advanced;
    if (r.advanced > 0) ctx.out.event(EventKind::Readable, this);
    if (r.filled_hole || rcvq_.has_ooo()) {
        ack_now_ = true;  // RFC 5681 §4.2: an ACK at once when a segment fills (part of) a gap
    } else if (!a.fin) {
        schedule_ack(ctx, now, len);
    }
    return true;
}

void Connection::schedule_ack(Context& ctx, Instant now, std::uint32_t /*seg_len*/) noexcept {
    // Delayed ACK (RFC 9293 §3.8.6.3, RFC 5681 §4.2): "an ACK SHOULD be generated for at least
    // every second full-sized segment" and never be delayed beyond the timer (default 40 ms;
    // 0 disables delaying).
    if (quickack_left_ > 0) {
        --quickack_left_;  // the quick-ACK start (Config::quickack)
    } else if (ctx.cfg.delayed_ack > Duration::zero() &&
               static_cast<std::uint32_t>(rcv_nxt_ - last_ack_sent_) < 2u * rcv_mss_) {
        if (delack_deadline_ == kNever) delack_deadline_ = now + ctx.cfg.delayed_ack;
        return;
    }
    ack_now_ = true;
}

void Connection::on_data_acked(Context& ctx, Instant now, const TcpRepr& seg, std::uint32_t acked,
                               std::uint32_t flight) noexcept {
    // "If SND.UNA < SEG.ACK =< SND.NXT, then set SND.UNA <- SEG.ACK. Any segments on the
    // retransmission queue that are thereby entirely acknowledged are removed."
    if (!syn_acked_) {  // our SYN
        --acked;
        syn_acked_ = true;
    }
    const std::uint32_t moved = acked;  // data and FIN: the handshake is not reported to cc
    const std::uint32_t data = std::min<std::uint32_t>(acked, sndq_.size());
    sndq_.acked(ctx.bufs, data);
    stats_.bytes_acked += data;
    snd_una_ = seg.ack;
    if (snd_rxt_ < snd_una_) snd_rxt_ = snd_una_;
    rtx_count_ = 0;
    unacked_since_ = now;
    // RFC 6298 §2 / RFC 7323 §4: an RTT sample from the echoed timestamp when timestamps
    // are on (with the Appendix G gains for several samples per RTT), else from the one
    // timed segment (Karn's algorithm inside RttEstimator).
    Duration sample = Duration::zero();
    if (ts_ok_) {
        if (seg.options.timestamps && seg.options.timestamps->ecr != 0) {
            const auto ms = static_cast<std::int32_t>(ts_now(now) - seg.options.timestamps->ecr);
            if (rtt_.sample(Duration::millis(ms), RttEstimator::expected_samples(flight, snd_mss_))) {
                sample = Duration::millis(ms);
            }
        }
    } else {
        (void)rtt_.on_ack(seg.ack, now);  // the sample itself stays inside the estimator
    }
    if (snd_una_ == snd_nxt_) {
        rtx_deadline_ = kNever;
    } else {
        arm_rtx(now);  // RFC 6298 §5.3: restart the timer when an ACK acknowledges new data
    }
    if (cc_started_ && moved > 0) {
        const cc::Response r = cc_.on_ack({moved, snd_una_, snd_nxt_, now, sample});
        if (r.retransmit) retransmit_first(ctx, now);  // RFC 6582 §3.2 step 5: a partial ACK
        if (r.restart_rto && snd_una_ != snd_nxt_) arm_rtx(now);
    }
    if (data > 0 && write_blocked_ && !fin_queued_ && send_space() > 0) {
        write_blocked_ = false;
        ctx.out.event(EventKind::Writable, this);
    }
}

void Connection::on_duplicate_ack(Context& ctx, Instant now) noexcept {
    ++stats_.dup_acks_in;
    // With SACK state the scoreboard decides (sack_on_ack): the policy hears on_loss instead.
    if (!cc_started_ || sack_ != nullptr) return;
    const cc::Response r = cc_.on_dup_ack({snd_una_, snd_nxt_, now});
    if (r.retransmit) retransmit_first(ctx, now);  // RFC 5681 §3.2 step 2: fast retransmit
    if (r.restart_rto) arm_rtx(now);
}

void Connection::retransmit_first(Context& ctx, Instant now) noexcept {
    // The segment at SND.UNA, whatever cwnd and the window say (the RFCs' "retransmit the
    // lost segment"). Go-back-N after an RTO continues from where it was.
    if (snd_una_ == snd_nxt_) return;
    const std::uint32_t avail = static_cast<std::uint32_t>(std::max<std::int32_t>(data_end() - snd_una_, 0));
    const std::uint32_t len = std::min<std::uint32_t>(avail, snd_mss_);
    if (len == 0 && !fin_sent_) return;
    const std::uint32_t used = send_data(ctx, now, snd_una_, len);
    ++stats_.retrans_fast;
    ++ctx.counters.fast_retransmits;
    if (snd_rxt_ < snd_una_ + used) snd_rxt_ = snd_una_ + used;
}

// ---------------------------------------------------------------------------
// SACK sender: scoreboard, RFC 6675 recovery, RACK-TLP (RFC 8985), undo
// ---------------------------------------------------------------------------

namespace {

/// RFC 8985 §7.2's WCDelAckT: the worst-case delayed-ACK time a probe of one segment allows.
constexpr Duration kWcDelAck = Duration::millis(200);

}  // namespace

void Connection::release_sack(Context& ctx) noexcept {
    loss_deadline_ = kNever;
    if (sack_ == nullptr) return;
    if (ctx.sacks != nullptr) ctx.sacks->release(sack_);
    sack_ = nullptr;
}

void Connection::sack_on_ack(Context& ctx, Instant now, const TcpRepr& seg, SeqNum old_una, bool dup) noexcept {
    SenderSack& s = *sack_;
    const Scoreboard::Update u = s.sb.update(snd_una_, snd_nxt_, seg.options);
    if (u.invalid > 0) ctx.counters.sack_blocks_invalid += u.invalid;  // RFC 2018 gives them no meaning
    stats_.bytes_sacked += u.newly_sacked;
    ctx.counters.bytes_sacked += u.newly_sacked;
    if (rack_on_) {
        // RFC 8985 §6.2 steps 1-3, for what this ACK delivered.
        // In sequence order: blocks come most recent first, and delivering a lower range
        // after a higher one of the same ACK is not reordering.
        if (old_una < snd_una_) s.rack.on_delivered(old_una, snd_una_, now);
        std::array<SeqRange, wire::kMaxSackBlocks> blocks{};
        std::size_t nb = 0;
        for (std::uint8_t i = u.dsack ? 1 : 0; i < seg.options.sack_count; ++i) {
            const wire::SackBlock& b = seg.options.sack[i];
            if (snd_una_ <= b.left && b.left < b.right && b.right <= snd_nxt_) blocks[nb++] = SeqRange{b.left, b.right};
        }
        for (std::size_t i = 1; i < nb; ++i) {  // insertion sort of at most four
            for (std::size_t j = i; j > 0 && blocks[j].left < blocks[j - 1].left; --j) std::swap(blocks[j], blocks[j - 1]);
        }
        for (std::size_t i = 0; i < nb; ++i) s.rack.on_delivered(blocks[i].left, blocks[i].right, now);
        s.rack.acked(snd_una_);
    }
    if (u.dsack) on_dsack(ctx, now, u.dsack_range);
    if (sack_ == nullptr) return;

    // RFC 6675 §5 (A): "An incoming cumulative ACK for a sequence number greater than
    // RecoveryPoint signals the end of loss recovery" (recovery_point is HighData + 1, so
    // SND.UNA reaching it is that ACK). The scoreboard above SND.UNA is kept. Short of it
    // (B): the scoreboard was updated above and pipe is computed afresh in sack_output.
    if (s.in_recovery && snd_una_ >= s.recovery_point) {
        s.in_recovery = false;
        s.rule3_bytes = s.rescue_bytes = 0;
        if (rack_on_) s.rack.on_recovery_end();
    }
    // Resends by NextSeg (3) lie below HighRxt, the rescue below its end: once the cumulative
    // ACK covers them they are out of the network.
    if (s.rule3_bytes > 0 && snd_una_ >= s.high_rxt) s.rule3_bytes = 0;
    if (s.rescue_bytes > 0 && snd_una_ >= s.rescue_end) s.rescue_bytes = 0;
    if (s.rp_valid && snd_una_ >= s.recovery_point) s.rp_valid = false;

    // RFC 8985 §7.4: the end of a tail-loss probe episode.
    if (s.tlp_out || s.tlp_wait) {
        if (u.dsack && s.tlp_rexmit && u.dsack_range.right == s.tlp_end) {
            s.tlp_out = s.tlp_wait = false;  // the probe was a duplicate: nothing was lost
        } else if (snd_una_ > s.tlp_end || (s.tlp_wait && snd_una_ >= s.tlp_end)) {
            // The probe's retransmission repaired a loss (no D-SACK for it): react as to a loss.
            if (s.tlp_rexmit && cc_started_) cc_.on_loss({old_una, snd_nxt_, now});
            s.tlp_out = s.tlp_wait = false;
        } else if (snd_una_ == s.tlp_end && s.tlp_out) {
            s.tlp_out = false;
            s.tlp_wait = s.tlp_rexmit;  // its D-SACK, if the original arrived, comes next
        }
    }

    // RFC 6675 §5: DupAcks, counted only outside recovery and reset by a cumulative ACK. A
    // duplicate counts when it reports new SACKed data (or has no SACK option at all).
    if (!s.in_recovery) {
        if (old_una < snd_una_) {
            s.dupacks = 0;
        } else if (dup && (u.newly_sacked > 0 || seg.options.sack_count == 0) && s.dupacks < 255) {
            ++s.dupacks;
        }
    }
    if (snd_una_ == snd_nxt_) {
        loss_deadline_ = kNever;
        s.tlp_out = false;
        if (data_end() == snd_nxt_) {
            // Idle: the state goes back to the pool, after one RTO if an undo still waits for
            // the D-SACKs of retransmissions (they follow the ACK of the originals).
            if (s.undo_armed && s.undo_retrans > 0 && s.undo_dsacked < s.undo_retrans) {
                s.lingering = true;
                s.deadline_is_pto = false;
                loss_deadline_ = now + rtt_.rto();
            } else {
                release_sack(ctx);
            }
        }
        return;
    }
    detect_losses(ctx, now);
    // RFC 8985 §7.2: an ACK that moves SND.UNA restarts the probe timer.
    if (sack_ != nullptr && old_una < snd_una_ && !(s.in_recovery)) arm_pto(now);
}

void Connection::detect_losses(Context& ctx, Instant now) noexcept {
    SenderSack& s = *sack_;
    bool rack_lost = false;
    if (rack_on_) {
        // RFC 8985 §6.2 step 5, and the reorder timer of §6.3 for what is not yet due.
        const bool many_sacked = s.sb.sacked_bytes() >= 3u * snd_mss_;
        const bool recovering = s.in_recovery || cc_.in_recovery();
        const Duration wait = s.rack.detect_loss(now, rtt_.srtt(), recovering, many_sacked, [&](SeqNum l, SeqNum r) {
            const SeqNum from = l < snd_una_ ? snd_una_ : l;
            if (from < r && s.sb.mark_lost(from, r) > 0) {
                rack_lost = true;
                ++stats_.rack_loss_marked;
                ++ctx.counters.rack_loss_marked;
            }
        });
        if (wait > Duration::zero()) {
            loss_deadline_ = now + wait;
            s.deadline_is_pto = false;
        } else if (!s.deadline_is_pto) {
            loss_deadline_ = kNever;
        }
    } else {
        // RFC 6675 §5 steps (1)-(2) and §4 IsLost: DupThresh duplicates, or IsLost(HighACK + 1).
        const SeqNum edge = s.sb.is_lost_edge(snd_una_, snd_mss_);
        const bool enter = !s.in_recovery && (s.dupacks >= 3 || edge > snd_una_);
        if (enter && !(s.rp_valid && snd_una_ < s.recovery_point)) {
            s.lost_marked_to = snd_una_;
            enter_sack_recovery(ctx, now);
            return;
        }
        if (s.in_recovery && edge > s.lost_marked_to) {
            // NextSeg (1.a): only above HighRxt; what was resent already is not lost again.
            SeqNum from = s.lost_marked_to < snd_una_ ? snd_una_ : s.lost_marked_to;
            if (from < s.high_rxt) from = s.high_rxt;
            if (from < edge) (void)s.sb.mark_lost(from, edge);
            s.lost_marked_to = edge;
        }
        return;
    }
    if (rack_lost && !s.in_recovery && !(s.rp_valid && snd_una_ < s.recovery_point)) enter_sack_recovery(ctx, now);
}

void Connection::enter_sack_recovery(Context& ctx, Instant now) noexcept {
    SenderSack& s = *sack_;
    if (!rack_on_) {
        // IsLost marking from HighACK + 1; with DupThresh duplicates but IsLost still false
        // (small segments), RFC 6675 (4.3) still resends "the first data segment presumed
        // dropped": the hole at HighACK + 1, up to SMSS and no further than the first SACKed
        // range (the unSACKed data above that is not presumed dropped yet).
        const SeqNum edge = s.sb.is_lost_edge(snd_una_, snd_mss_);
        if (edge > snd_una_) (void)s.sb.mark_lost(snd_una_, edge);
        s.lost_marked_to = edge;
        if (!s.sb.sacked(snd_una_) && s.sb.lost_ranges().covered(snd_una_, snd_una_ + 1) == 0) {
            SeqNum to = std::min(snd_una_ + snd_mss_, snd_nxt_);
            if (auto sk = s.sb.sacked_ranges().first_from(snd_una_); sk && sk->left < to) to = sk->left;
            (void)s.sb.mark_lost(snd_una_, to);
        }
    }
    // RFC 6675 §5 (4.1)-(4.2): RecoveryPoint = HighData; the policy reduces its window.
    s.in_recovery = true;
    s.recovery_point = snd_nxt_;
    s.rp_valid = true;
    s.high_rxt = snd_una_;
    s.rule3_bytes = s.rescue_bytes = 0;
    s.tlp_out = s.tlp_wait = false;
    if (s.deadline_is_pto) loss_deadline_ = kNever;
    s.undo_cwnd = cc_.cwnd();
    s.undo_ssthresh = cc_.ssthresh();
    cc_.on_loss({snd_una_, snd_nxt_, now});
    // A new reduction: its retransmissions are what an undo will weigh.
    s.undo_armed = true;
    s.undo_retrans = s.undo_dsacked = 0;
    s.undo_lo = snd_una_;
    s.undo_hi = snd_nxt_;
    ++stats_.sack_recoveries;
    ++ctx.counters.sack_recoveries;
    // (4.3): "retransmit the first data segment presumed dropped", whatever pipe says, and
    // "set both HighRxt and RescueRxt to the highest sequence number in the retransmitted
    // segment" (sack_retransmit moves HighRxt).
    if (auto r = s.sb.first_lost()) sack_retransmit(ctx, now, *r);
    if (sack_ != nullptr) sack_->rescue_rxt = sack_->high_rxt;
}

void Connection::sack_retransmit(Context& ctx, Instant now, SeqRange r) noexcept {
    const std::uint32_t len = std::min<std::uint32_t>(r.len(), snd_mss_);
    const std::uint32_t used = send_data(ctx, now, r.left, len);
    if (sack_ == nullptr) return;
    sack_->sb.retransmitted(r.left, r.left + std::max(used, len));
    // (C.2): HighRxt is the highest octet resent (below HighData) in this recovery.
    if (sack_->in_recovery && sack_->high_rxt < r.left + used) sack_->high_rxt = r.left + used;
    ++stats_.retrans_fast;
    ++ctx.counters.fast_retransmits;
    if (rtx_deadline_ == kNever) arm_rtx(now);
}

void Connection::sack_output(Context& ctx, Instant now) noexcept {
    SenderSack& s = *sack_;
    for (;;) {
        if (outbox_full(ctx)) {
            if (rtx_deadline_ == kNever) arm_rtx(now);
            return;
        }
        // RFC 6675 §4 SetPipe: what is in flight is what was sent, less what was SACKed, less
        // what is marked lost and not yet resent (a resent segment counts once again). A
        // segment resent by NextSeg (3) or (4) was not deemed lost, so SetPipe counts it twice,
        // the original and the resend: rule3_bytes and rescue_bytes, held until the
        // cumulative ACK covers them (until then, if SACKed, pipe is overestimated: we send
        // less, never more, than the RFC would).
        const auto flight = static_cast<std::uint32_t>(snd_nxt_ - snd_una_);
        const std::uint32_t gone = s.sb.sacked_bytes() + s.sb.lost_bytes();
        const std::uint32_t pipe = (flight > gone ? flight - gone : 0) + s.rule3_bytes + s.rescue_bytes;
        // (C): "If cwnd - pipe >= 1 SMSS the sender SHOULD transmit one or more segments".
        if (std::uint64_t{pipe} + snd_mss_ > cc_.cwnd()) return;
        // NextSeg (1): the lowest lost sequence number not yet retransmitted.
        if (auto r = s.sb.first_lost()) {
            sack_retransmit(ctx, now, *r);
            continue;
        }
        // NextSeg (2): new data, if the receiver's window allows it.
        const std::int32_t left = data_end() - snd_nxt_;
        const std::int32_t usable = (snd_una_ + snd_wnd_) - snd_nxt_;
        if (left > 0 && usable > 0) {
            const std::uint32_t len = std::min<std::uint32_t>(
                {static_cast<std::uint32_t>(left), std::uint32_t{snd_mss_}, static_cast<std::uint32_t>(usable)});
            if (len < snd_mss_ && len < static_cast<std::uint32_t>(left)) return;  // SWS: wait for a full one
            const std::uint32_t used = send_data(ctx, now, snd_nxt_, len);
            if (used == 0) return;
            snd_rxt_ = snd_nxt_;
            if (rtx_deadline_ == kNever) arm_rtx(now);
            continue;
        }
        if (left > 0) return;  // new data waits for the receiver's window, not resends
        if (!sack_nextseg_resend(ctx, now)) return;
    }
}

bool Connection::sack_nextseg_resend(Context& ctx, Instant now) noexcept {
    SenderSack& s = *sack_;
    const SeqNum high_sacked = s.sb.high_sacked(snd_una_);
    const auto& sacked = s.sb.sacked_ranges();
    if (!rack_on_) {
        // NextSeg (3): "If the conditions for rules (1) and (2) fail, but there exists an
        // unSACKed sequence number S3 that meets the criteria for detecting loss given in
        // steps (1.a) and (1.b)" (above HighRxt, below the highest SACKed octet) "then one
        // segment of up to SMSS octets starting with S3 SHOULD be returned." Not with RACK:
        // there a hole not yet marked lost is inside its reordering window, and resending it
        // now is what that window exists to avoid.
        SeqNum s3 = s.high_rxt < snd_una_ ? snd_una_ : s.high_rxt;
        for (auto sk = sacked.first_from(s3); sk && sk->left <= s3; sk = sacked.first_from(s3)) s3 = sk->right;
        if (s3 < high_sacked) {
            SeqNum end = s3 + snd_mss_;
            if (auto sk = sacked.first_from(s3); sk && sk->left < end) end = sk->left;
            const std::uint32_t used = send_data(ctx, now, s3, static_cast<std::uint32_t>(end - s3));
            if (used == 0) return false;
            s.high_rxt = s3 + used;  // (C.2)
            s.rule3_bytes += used;
            ++stats_.nextseg3_retransmits;
            ++stats_.retrans_fast;
            ++ctx.counters.fast_retransmits;
            if (rtx_deadline_ == kNever) arm_rtx(now);
            return true;
        }
    }
    // NextSeg (4), the rescue retransmission: with outstanding data, once per entry into
    // recovery "if HighACK is greater than RescueRxt (or RescueRxt is undefined), then one
    // segment of up to SMSS octets that MUST include the highest outstanding unSACKed
    // sequence number SHOULD be returned, and RescueRxt set to RecoveryPoint. HighRxt MUST
    // NOT be updated." (rescue_rxt is RescueRxt + 1 and SND.UNA is HighACK + 1, so the test is
    // SND.UNA > rescue_rxt.) It saves a tail loss in recovery from the RTO. With RACK, only
    // while no reorder timer runs: RACK then waits for nothing that would find the loss.
    if (!(snd_una_ > s.rescue_rxt)) return false;
    if (rack_on_ && loss_deadline_ != kNever && !s.deadline_is_pto) return false;
    // The highest outstanding unSACKed octet, when it lies above every SACKed one (as
    // FreeBSD reads the rule: the tail beyond HighSACK, where neither IsLost nor rule (3)
    // ever reaches). Below HighSACK the holes are rules (1) and (3)'s, already resent.
    const SeqNum top = data_end() < snd_nxt_ ? data_end() : snd_nxt_;  // data only, not a FIN
    SeqNum from = high_sacked < snd_una_ ? snd_una_ : high_sacked;
    if (from < s.high_rxt) from = s.high_rxt;
    if (!(from < top)) return false;
    if (static_cast<std::uint32_t>(top - from) > snd_mss_) from = top - snd_mss_;
    const std::uint32_t used = send_data(ctx, now, from, static_cast<std::uint32_t>(top - from));
    if (used == 0) return false;
    s.rescue_rxt = s.recovery_point;
    s.rescue_bytes = used;
    s.rescue_end = from + used;
    ++stats_.rescue_retransmits;
    ++ctx.counters.fast_retransmits;
    if (rtx_deadline_ == kNever) arm_rtx(now);
    return true;
}

void Connection::on_dsack(Context& ctx, Instant now, SeqRange r) noexcept {
    SenderSack& s = *sack_;
    ++stats_.dsacks_in;
    ++ctx.counters.dsacks_in;
    if (rack_on_) s.rack.on_dsack(snd_una_, snd_nxt_);  // RFC 8985 §6.2 step 4
    // RFC 3708 / RFC 2883 §5: when every byte retransmitted since the last reduction comes
    // back as a duplicate, the reduction was spurious (reordering or a premature timeout).
    if (!s.undo_armed || !(s.undo_lo <= r.left && r.right <= s.undo_hi)) return;
    s.undo_dsacked += r.len();
    if (s.undo_retrans > 0 && s.undo_dsacked >= s.undo_retrans) undo(ctx, now);
}

void Connection::undo(Context& ctx, Instant now) noexcept {
    SenderSack& s = *sack_;
    s.undo_armed = false;
    if (cc_.on_undo({snd_una_, snd_nxt_, now, s.undo_cwnd, s.undo_ssthresh})) {
        ++stats_.spurious_undos;
        ++ctx.counters.spurious_undos;
    }
    // Nothing was lost after all: the episode ends and its loss marks go.
    if (s.in_recovery && rack_on_) s.rack.on_recovery_end();
    s.in_recovery = false;
    s.rule3_bytes = s.rescue_bytes = 0;
    s.rp_valid = false;
    s.dupacks = 0;
    s.sb.retransmitted(snd_una_, snd_nxt_);  // clears every lost mark
    snd_rxt_ = snd_nxt_;                     // and an RTO's go-back-N stops: nothing is missing
}

void Connection::arm_pto(Instant now) noexcept {
    if (sack_ == nullptr || !rack_on_) return;
    SenderSack& s = *sack_;
    // RFC 8985 §7.2: not in recovery, one probe per episode, and a reorder timer goes first.
    if (s.in_recovery || cc_.in_recovery() || s.tlp_out || snd_una_ == snd_nxt_) return;
    if (loss_deadline_ != kNever && !s.deadline_is_pto) return;
    if (rtt_.srtt() <= Duration::zero()) return;  // no RTT sample yet: the RTO alone
    Duration pto = rtt_.srtt() * 2;
    if (static_cast<std::uint32_t>(snd_nxt_ - snd_una_) <= snd_mss_) pto = std::max(pto, rtt_.srtt() + kWcDelAck);
    Instant at = now + pto;
    // Capped at the RTO's expiry; then the probe goes in its place (on_deadline).
    if (rtx_deadline_ != kNever && at > rtx_deadline_) at = rtx_deadline_;
    loss_deadline_ = at;
    s.deadline_is_pto = true;
}

void Connection::on_loss_timer(Context& ctx, Instant now) noexcept {
    loss_deadline_ = kNever;
    if (sack_ != nullptr && sack_->lingering) {
        release_sack(ctx);  // no D-SACK came: the reduction stands
        return;
    }
    if (sack_ == nullptr || !is_synchronized(state_) || snd_una_ == snd_nxt_) return;
    if (sack_->deadline_is_pto) {
        sack_->deadline_is_pto = false;
        send_tlp(ctx, now);
        return;
    }
    // RFC 8985 §6.3: the reorder timer: the segments it waited for are due now.
    detect_losses(ctx, now);
    output(ctx, now);
}

void Connection::send_tlp(Context& ctx, Instant now) noexcept {
    SenderSack& s = *sack_;
    if (s.in_recovery || cc_.in_recovery() || s.tlp_out || outbox_full(ctx)) return;
    // RFC 8985 §7.3: new data if there is some and the receiver's window takes it, else the
    // last segment sent again.
    const std::int32_t left = data_end() - snd_nxt_;
    const std::int32_t usable = (snd_una_ + snd_wnd_) - snd_nxt_;
    if (left > 0 && usable > 0 && snd_rxt_ == snd_nxt_) {
        const std::uint32_t len = std::min<std::uint32_t>(
            {static_cast<std::uint32_t>(left), std::uint32_t{snd_mss_}, static_cast<std::uint32_t>(usable)});
        (void)send_data(ctx, now, snd_nxt_, len);
        snd_rxt_ = snd_nxt_;
        s.tlp_rexmit = false;
    } else {
        const auto flight = static_cast<std::uint32_t>(snd_nxt_ - snd_una_);
        const std::uint32_t fin = fin_sent_ ? 1 : 0;
        const std::uint32_t data = flight > fin ? flight - fin : 0;
        const std::uint32_t len = std::min<std::uint32_t>(data, snd_mss_);
        const SeqNum from = snd_una_ + (data - len);
        if (len == 0 && fin == 0) return;
        (void)send_data(ctx, now, from, len);
        s.tlp_rexmit = true;
        ++stats_.retrans_fast;
    }
    s.tlp_out = true;
    s.tlp_wait = false;
    s.tlp_end = snd_nxt_;
    ++stats_.tlp_sent;
    ++ctx.counters.tlp_sent;
    arm_rtx(now);  // §7.3: the RTO timer restarts after the probe
}

void Connection::process_fin(Context& ctx, Instant now) noexcept {
    // "If the FIN bit is set, signal the user 'connection closing' and return any pending RECEIVEs
    // with same message, advance RCV.NXT over the FIN, and send an acknowledgment for the FIN."
    if (!fin_received_) {
        fin_received_ = true;
        rcv_nxt_ += 1;
        // The stream ends here: data a broken peer sent beyond its FIN, held out of order,
        // can never be read ("ignore the segment text" from now on). Hand its buffers back.
        rcvq_.drop_ooo(ctx.bufs);
        fin_ooo_ = false;
        ctx.out.event(EventKind::PeerClosed, this);
    }
    ack_now_ = true;
    switch (state_) {
        case State::SynReceived:
        case State::Established:
            state_ = State::CloseWait;  // "Enter the CLOSE-WAIT state."
            break;
        case State::FinWait1:
            // "If our FIN has been ACKed (perhaps in this segment), then enter TIME-WAIT, start the
            // time-wait timer, turn off the other timers; otherwise, enter the CLOSING state."
            if (fin_acked()) enter_time_wait(ctx, now);
            else state_ = State::Closing;
            break;
        case State::FinWait2:
            enter_time_wait(ctx, now);  // "Enter the TIME-WAIT state. Start the time-wait timer."
            break;
        case State::TimeWait:
            enter_time_wait(ctx, now);  // "Restart the 2 MSL time-wait timeout."
            break;
        default:
            break;  // CLOSE-WAIT, CLOSING, LAST-ACK: "Remain in the ... state."
    }
}

// ---------------------------------------------------------------------------
// Timers
// ---------------------------------------------------------------------------

std::size_t Connection::prune_ooo(Context& ctx) noexcept {
    std::size_t n = 0;
    for (const BufNode* b = rcvq_.ooo_head(); b != nullptr; b = b->next) ++n;
    if (n == 0) return 0;
    rcvq_.prune_ooo(ctx.bufs);
    ctx.counters.ooo_pruned += n;
    return n;
}

Instant Connection::next_deadline() const noexcept {
    // A pairwise tree of minima (the engine asks after every change: docs/profiles.md):
    // three independent compares, then two, where std::min({...}) walked an array.
    const Instant a = std::min(rtx_deadline_, time_wait_deadline_);
    const Instant b = std::min(delack_deadline_, persist_deadline_);
    const Instant c = std::min(keepalive_deadline_, loss_deadline_);
    return std::min(std::min(a, b), c);
}

void Connection::on_deadline(Context& ctx, Instant now) noexcept {
    if (now >= time_wait_deadline_) {
        // "If the time-wait timeout expires on a connection, delete the TCB, enter CLOSED."
        enter_closed(ctx);
        return;
    }
    if (now >= delack_deadline_) {
        delack_deadline_ = kNever;
        if (is_synchronized(state_) && last_ack_sent_ != rcv_nxt_) {
            ++stats_.delayed_acks;
            ++ctx.counters.delayed_acks;
            send_ack(ctx, now);
        }
    }
    // A probe due no later than the RTO goes first and restarts the RTO (RFC 8985 §7.2-7.3).
    if (now >= loss_deadline_ && loss_deadline_ <= rtx_deadline_) on_loss_timer(ctx, now);
    if (now >= rtx_deadline_) on_rto(ctx, now);
    if (state_ == State::Closed) return;
    if (now >= loss_deadline_) on_loss_timer(ctx, now);
    if (now >= persist_deadline_) on_persist(ctx, now);
    if (state_ == State::Closed) return;
    if (now >= keepalive_deadline_) on_keepalive(ctx, now);
}

void Connection::on_rto(Context& ctx, Instant now) noexcept {
    if (is_synchronized(state_) && snd_una_ == snd_nxt_) {
        // Nothing is outstanding: output() armed the timer because a full outbox held back
        // new data before any of it was in flight. Not a loss: send, don't back off.
        rtx_deadline_ = kNever;
        output(ctx, now);
        return;
    }
    const std::uint8_t limit = state_ == State::SynSent ? ctx.cfg.syn_retries
                               : !handshake_done()      ? ctx.cfg.synack_retries
                                                        : ctx.cfg.data_retries;
    // RFC 5482-style user timeout: data unacknowledged for that long ends the connection.
    const bool user_timeout = handshake_done() && ctx.cfg.user_timeout > Duration::zero() &&
                              now - unacked_since_ >= ctx.cfg.user_timeout;
    if (rtx_count_ >= limit || user_timeout) {
        ++ctx.counters.timeouts;
        if (!handshake_done() && passive_) {
            enter_closed(ctx);  // an embryonic connection that never completed: removed silently
        } else {
            fail(ctx, Error::TimedOut);
        }
        return;
    }
    ++rtx_count_;
    ++ctx.counters.retransmits;
    ++stats_.rto_expiries;
    rtt_.on_timeout();  // RFC 6298 §5.5: back off the timer
    switch (state_) {
        case State::SynSent:
            send_syn(ctx, now, false);
            break;
        case State::SynReceived:
            send_syn(ctx, now, true);
            break;
        default: {
            if (!handshake_done()) {
                // FIN-WAIT-1 before our SYN was acknowledged: repeat the SYN,ACK, then the FIN.
                send_syn(ctx, now, true);
                emit(ctx, now, fl::FIN | fl::ACK, iss_ + 1, 0, 0);
                break;
            }
            // RFC 5681 §3.1: after an RTO, ssthresh from FlightSize and cwnd = 1 SMSS; then
            // go-back-N: everything from SND.UNA is sent again as cwnd opens.
            const std::uint32_t prior_cwnd = cc_.cwnd(), prior_ssthresh = cc_.ssthresh();
            if (cc_started_) cc_.on_timeout({snd_una_, snd_nxt_, now});
            if (sack_ != nullptr) {
                // RFC 6675 §5.1: recovery ends, RecoveryPoint = HighData, and no new recovery
                // until it is acknowledged. RFC 2018 §8: the receiver may have reneged, so the
                // SACKed marks are cleared (ACKs arriving from now on fill them again).
                SenderSack& sk = *sack_;
                if (sk.in_recovery && rack_on_) sk.rack.on_recovery_end();
                sk.in_recovery = false;
                sk.rule3_bytes = sk.rescue_bytes = 0;
                sk.recovery_point = snd_nxt_;
                sk.rp_valid = true;
                sk.sb.clear();
                sk.rack.on_timeout();
                sk.dupacks = 0;
                sk.tlp_out = sk.tlp_wait = false;
                if (!sk.undo_armed) {
                    // An undo (on D-SACKs for everything the RTO resends) may restore the window.
                    sk.undo_armed = true;
                    sk.undo_retrans = sk.undo_dsacked = 0;
                    sk.undo_lo = snd_una_;
                    sk.undo_hi = snd_nxt_;
                    sk.undo_cwnd = prior_cwnd;
                    sk.undo_ssthresh = prior_ssthresh;
                }
                loss_deadline_ = kNever;
            }
            // RFC 6298 §5.4: "Retransmit the earliest segment that has not been acknowledged".
            const std::uint32_t avail =
                static_cast<std::uint32_t>(std::max<std::int32_t>(data_end() - snd_una_, 0));
            const std::uint32_t len = std::min<std::uint32_t>(avail, snd_mss_);
            const std::uint32_t used = send_data(ctx, now, snd_una_, len);
            ++stats_.retrans_timeout;
            snd_rxt_ = snd_una_ + used;
            break;
        }
    }
    arm_rtx(now);
    if (ctx.cfg.user_timeout > Duration::zero() && handshake_done()) {
        rtx_deadline_ = std::min(rtx_deadline_, unacked_since_ + ctx.cfg.user_timeout);
        if (rtx_deadline_ <= now) rtx_deadline_ = now + Duration::millis(1);
    }
}

void Connection::on_persist(Context& ctx, Instant now) noexcept {
    persist_deadline_ = kNever;
    if (!is_synchronized(state_) || !handshake_done() || fin_sent_) return;
    const std::uint32_t unsent = static_cast<std::uint32_t>(std::max<std::int32_t>(data_end() - snd_nxt_, 0));
    if (snd_wnd_ > 0) {
        // A window too small for SWS avoidance to use, with nothing in flight: RFC 9293
        // §3.8.6.2.1's override timeout sends what the window allows.
        const SeqNum wnd_end = snd_una_ + snd_wnd_;
        const std::int32_t usable = wnd_end - snd_nxt_;
        if (unsent > 0 && usable > 0) {
            const std::uint32_t len = std::min<std::uint32_t>({unsent, snd_mss_, static_cast<std::uint32_t>(usable)});
            (void)send_data(ctx, now, snd_nxt_, len);
            snd_rxt_ = snd_nxt_;
            if (rtx_deadline_ == kNever) arm_rtx(now);
        }
        output(ctx, now);
        return;
    }
    // Zero window (RFC 9293 §3.8.6.1): "The sending TCP peer must regularly transmit at least
    // one octet of new data (if available), or retransmit to the receiving TCP peer, even if
    // the send window is zero". One octet: new the first time, the same octet afterwards.
    // Probing goes on for as long as the peer answers (each ACK resets the count); probes
    // nobody answers are retransmissions like any other (§3.8.3): after R2 of them
    // (data_retries), or once the user timeout has passed since probing began, give up.
    if (persist_unanswered_ >= ctx.cfg.data_retries ||
        (ctx.cfg.user_timeout > Duration::zero() && persist_unanswered_ > 0 &&
         now - persist_since_ >= ctx.cfg.user_timeout)) {
        ++ctx.counters.timeouts;
        fail(ctx, Error::TimedOut);
        return;
    }
    if (persist_unanswered_ == 0) persist_since_ = now;
    if (snd_nxt_ == snd_una_) {
        if (unsent == 0) return;
        (void)send_data(ctx, now, snd_nxt_, 1);
        snd_rxt_ = snd_nxt_;
    } else {
        (void)send_data(ctx, now, snd_una_, 1);
    }
    ++stats_.window_probes;
    ++ctx.counters.window_probes;
    if (persist_unanswered_ < 255) ++persist_unanswered_;
    if (persist_backoff_ < 30) ++persist_backoff_;
    arm_persist(ctx, now);
}

void Connection::on_keepalive(Context& ctx, Instant now) noexcept {
    keepalive_deadline_ = kNever;
    if (!keepalive_ || !is_synchronized(state_) || state_ == State::TimeWait || !handshake_done()) return;
    if (snd_una_ != snd_nxt_) {  // data outstanding: the retransmission timer watches the peer
        rearm_keepalive(ctx, now);
        return;
    }
    if (keepalive_sent_ >= ctx.cfg.keepalive_count) {
        // The peer is gone. A reset (as Linux sends) clears its state should it be alive
        // behind a path that only now works again.
        ++ctx.counters.timeouts;
        send_rst(ctx, snd_nxt_);
        fail(ctx, Error::TimedOut);
        return;
    }
    // RFC 9293 §3.8.4: a probe is "a segment with SEG.SEQ = SND.NXT-1", with no data; an
    // acceptable-or-not segment the peer must answer with an ACK.
    emit(ctx, now, fl::ACK, snd_una_ - 1, 0, 0);
    ++keepalive_sent_;
    ++stats_.keepalives;
    ++ctx.counters.keepalives;
    keepalive_deadline_ = now + ctx.cfg.keepalive_interval;
}

void Connection::rearm_keepalive(const Context& ctx, Instant now) noexcept {
    keepalive_sent_ = 0;
    keepalive_deadline_ = kNever;
    if (keepalive_ && is_synchronized(state_) && state_ != State::TimeWait) {
        keepalive_deadline_ = now + ctx.cfg.keepalive_idle;
    }
}

void Connection::arm_rtx(Instant now) noexcept { rtx_deadline_ = now + std::max(rtt_.rto(), Duration::millis(1)); }

void Connection::arm_persist(const Context& ctx, Instant now) noexcept {
    // The probe interval: the RTO, doubled per probe, within [RTO min, persist max].
    const Duration hi = std::max(ctx.cfg.persist_max, rtt_.config().rto_min);
    Duration d = rtt_.base_rto();
    for (std::uint8_t i = 0; i < persist_backoff_ && d < hi; ++i) d = d * 2;
    persist_deadline_ = now + std::clamp(d, rtt_.config().rto_min, hi);
}

void Connection::start_cc(Context& ctx) noexcept {
    // RFC 6928 §2 / RFC 5681 §3.1: one segment of initial window when the SYN or SYN-ACK had
    // to be retransmitted.
    cc::CcConfig cfg = ctx.cfg.cc;
    if (cc_chosen_) cfg.algorithm = cc_choice_;  // set_congestion_control()
    cc_ = cc::make_congestion_control(cfg, cc::Init{.smss = snd_mss_, .syn_retransmitted = rtx_count_ > 0});
    cc_started_ = true;
}

// ---------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------

std::uint32_t Connection::send_data(Context& ctx, Instant now, SeqNum seq, std::uint32_t max_len) noexcept {
    const std::int32_t left = data_end() - seq;
    const std::uint32_t len = std::min<std::uint32_t>(max_len, left > 0 ? static_cast<std::uint32_t>(left) : 0);
    std::uint8_t flags = fl::ACK;
    const bool at_end = seq + len == data_end();
    if (len > 0 && at_end) flags |= fl::PSH;  // the last segment of what was written
    // The FIN rides on the last data segment when the user has closed (the seed traces' "F."
    // with data), and goes again with a retransmission that reaches it.
    if (at_end && fin_queued_) flags |= fl::FIN;
    if (len == 0 && !(flags & fl::FIN)) return 0;
    emit(ctx, now, flags, seq, static_cast<std::size_t>(seq - snd_una_), len);
    const std::uint32_t used = len + ((flags & fl::FIN) ? 1 : 0);
    const SeqNum end = seq + used;
    // Below SND.NXT the segment resends; beyond it, it is new (a resend may carry new data too).
    const std::int32_t old = snd_nxt_ - seq;
    const std::uint32_t again = old <= 0 ? 0 : std::min<std::uint32_t>(static_cast<std::uint32_t>(old), len);
    stats_.bytes_retrans += again;
    ctx.counters.bytes_retrans += again;
    stats_.bytes_out += len - again;
    if (len > 0) {
        ++stats_.data_segs_out;
        last_send_ = now;
    }
    if (sack_ok_ && sack_ == nullptr && len > 0 && cc_started_ && ctx.sacks != nullptr) {
        // Data goes into flight: borrow the recovery state for as long as some is there.
        sack_ = ctx.sacks->acquire();
        if (sack_ == nullptr) ++ctx.counters.sack_state_exhausted;
    }
    if (sack_ != nullptr) {
        if (sack_->lingering) {
            sack_->lingering = false;  // in use again
            loss_deadline_ = kNever;
        }
        if (rack_on_) sack_->rack.on_send(seq, end, now, old > 0);
        if (again > 0) {
            sack_->sb.retransmitted(seq, seq + again);  // in flight again, whichever path resent it
            if (sack_->undo_armed) sack_->undo_retrans += again;
        }
    }
    if (old > 0) {
        if (!ts_ok_) rtt_.on_transmit(end, now, true);  // Karn: never timed
    } else {
        if (snd_una_ == snd_nxt_) unacked_since_ = now;
        if (len % snd_mss_ != 0 || len == 0) snd_sml_ = end;  // its last wire segment is short
        if (!ts_ok_) rtt_.on_transmit(end, now, false);  // times it unless one is in flight
    }
    if (flags & fl::FIN) fin_sent_ = true;
    if (snd_nxt_ < end) snd_nxt_ = end;
    return used;
}

void Connection::output(Context& ctx, Instant now) noexcept {
    switch (state_) {
        case State::Established:
        case State::CloseWait:
        case State::FinWait1:
        case State::LastAck:
        // CLOSING too: CLOSE enters FIN-WAIT-1 before the FIN is formed ("queue this until all
        // preceding SENDs have been segmentized, then form a FIN segment and send it. In any
        // case, enter FIN-WAIT-1 state"), so the peer's FIN can move us to CLOSING while our
        // data or FIN still waits for the window (or for the handshake, after a CLOSE queued in
        // SYN-RECEIVED). The peer waits for that FIN; not sending it would hang both ends.
        case State::Closing:
            break;
        default:
            return;
    }
    if (!handshake_done()) return;
    // RFC 5681 §4.1: restart from the initial window after an idle period longer than an RTO.
    if (cc_started_ && snd_una_ == snd_nxt_ && data_end() != snd_nxt_ &&
        cc::idle_restart_due(last_send_, now, rtt_.rto())) {
        cc_.on_idle_restart({now, now - last_send_});
    }
    const SeqNum nxt_before = snd_nxt_;
    if (sack_ != nullptr && sack_->in_recovery) {
        sack_output(ctx, now);  // RFC 6675 §5 (C): by pipe, not by FlightSize
    } else for (;;) {
        // snd_rxt_ < SND.NXT: go-back-N after an RTO (or a probe octet to resend).
        const bool rexmit = snd_rxt_ < snd_nxt_;
        if (rexmit && sack_ != nullptr) {
            // SACKed since the RTO (RFC 6675 §5.1: the scoreboard keeps being updated): skip.
            if (auto sk = sack_->sb.sacked_ranges().first_from(snd_rxt_); sk && sk->left == snd_rxt_) {
                snd_rxt_ = sk->right < snd_nxt_ ? sk->right : snd_nxt_;
                continue;
            }
        }
        const SeqNum from = snd_rxt_;
        const std::int32_t left = data_end() - from;
        const std::uint32_t avail = left > 0 ? static_cast<std::uint32_t>(left) : 0;
        if (avail == 0) {
            if (rexmit && fin_sent_ && !outbox_full(ctx)) {
                snd_rxt_ += send_data(ctx, now, from, 0);  // only the FIN is left to resend
                continue;
            }
            break;
        }
        // The usable window: what both the peer's window and cwnd allow beyond SND.UNA
        // (FlightSize measured from the go-back point while resending).
        const std::uint32_t wnd = cc_started_ ? std::min(snd_wnd_, cc_.cwnd()) : snd_wnd_;
        const std::int32_t usable = (snd_una_ + wnd) - from;
        if (usable <= 0) break;
        // With TSO the port cuts one segment of up to ctx.tso_max into MSS-sized ones on the
        // wire; the rules below then apply to the last of them, the only one that may be short.
        const std::uint32_t seg_max =
            ctx.tso_max > snd_mss_ ? ctx.tso_max - ctx.tso_max % snd_mss_ : std::uint32_t{snd_mss_};
        std::uint32_t len = std::min<std::uint32_t>({avail, seg_max, static_cast<std::uint32_t>(usable)});
        if (rexmit && sack_ != nullptr) {
            // Stop short of the next SACKed range: it is never sent again.
            if (auto sk = sack_->sb.sacked_ranges().first_from(from); sk && sk->left - from < static_cast<std::int32_t>(len)) {
                len = static_cast<std::uint32_t>(sk->left - from);
            }
        }
        if (!rexmit && len % snd_mss_ != 0) {
            // Sender SWS avoidance (RFC 9293 §3.8.6.2.1) and Nagle (RFC 896, with Minshall's
            // refinement as Linux has it): a short segment goes only when it takes all that is
            // queued and no other short segment is unacknowledged (or no-delay is on), or when
            // it is at least half the largest window the peer offered. A FIN bypasses Nagle.
            const bool all = len == avail;
            const bool nagle_ok = nodelay_ || snd_sml_ <= snd_una_ || fin_queued_;
            const std::uint32_t tail = len % snd_mss_;
            const bool sws_ok = max_snd_wnd_ > 0 && tail >= max_snd_wnd_ / 2;
            if (!((all && nagle_ok) || sws_ok)) {
                if (len < snd_mss_) break;
                len -= tail;  // the full-sized part goes now; the tail waits as it would alone
            }
        }
        if (outbox_full(ctx)) {
            // The ACKs of what is in flight bring us back; with nothing in flight, the timer.
            if (rtx_deadline_ == kNever) arm_rtx(now);
            return;
        }
        const std::uint32_t used = send_data(ctx, now, from, len);
        if (used == 0) break;
        snd_rxt_ += used;
        if (rexmit) ++stats_.retrans_timeout;
        if (rtx_deadline_ == kNever) arm_rtx(now);
    }
    if (fin_queued_ && !fin_sent_ && data_end() == snd_nxt_ && snd_rxt_ == snd_nxt_) {
        if (outbox_full(ctx)) {
            if (rtx_deadline_ == kNever) arm_rtx(now);
            return;
        }
        // All data is out: "form a FIN segment and send it".
        (void)send_data(ctx, now, snd_nxt_, 0);
        snd_rxt_ = snd_nxt_;
        if (rtx_deadline_ == kNever) arm_rtx(now);
    }
    // RFC 8985 §7.2: new data went out: (re)start the loss probe timer.
    if (snd_nxt_ != nxt_before) arm_pto(now);
    // Data waits but nothing is in flight to bring an ACK: the window is zero or too small
    // for SWS avoidance. The persist timer probes it (RFC 9293 §3.8.6.1).
    if (data_end() != snd_nxt_ && snd_una_ == snd_nxt_ && !fin_sent_ && persist_deadline_ == kNever) {
        rtx_deadline_ = kNever;
        arm_persist(ctx, now);
    }
}

void Connection::send_syn(Context& ctx, Instant now, bool with_ack) noexcept {
    emit(ctx, now, static_cast<std::uint8_t>(fl::SYN | (with_ack ? fl::ACK : 0)), iss_, 0, 0);
}

void Connection::send_ack(Context& ctx, Instant now) noexcept { emit(ctx, now, fl::ACK, snd_nxt_, 0, 0); }

void Connection::send_challenge_ack(Context& ctx, Instant now) noexcept {
    // RFC 5961 §7: limit challenge ACKs per connection and per engine, per second.
    if (now - challenge_window_ >= Duration::seconds(1)) {
        challenge_window_ = now;
        challenge_used_ = 0;
    }
    if (now - ctx.challenge.window_start >= Duration::seconds(1)) {
        ctx.challenge.window_start = now;
        ctx.challenge.used = 0;
    }
    if (challenge_used_ >= ctx.cfg.challenge_acks_per_conn_per_sec ||
        ctx.challenge.used >= ctx.cfg.challenge_acks_per_engine_per_sec) {
        ++ctx.counters.challenge_acks_suppressed;
        return;
    }
    ++challenge_used_;
    ++ctx.challenge.used;
    ++ctx.counters.challenge_acks;
    send_ack(ctx, now);
}

void Connection::send_rst(Context& ctx, SeqNum seq) noexcept {
    TcpRepr r;
    r.src_port = tuple_.local_port;
    r.dst_port = tuple_.remote_port;
    r.seq = seq;
    r.flags = fl::RST;
    ctx.out.push(OutSegment{tuple_, r, {}, 0, this});
    ++ctx.counters.rst_sent;
    ++ctx.counters.segs_out;
    ++stats_.segs_out;
}

std::uint16_t Connection::advertised_window() const noexcept {
    // Rounded up to the scale's granularity: rounding down would move the right edge left
    // (RFC 7323 §2.4); up lets it pass the free space by less than 2^shift bytes. But only
    // while the buffer has room for the window: a window held open beyond the free space is
    // a promise rounded up before, and rounding it up again with every ACK would creep right
    // by up to 2^shift - 1 each time, past the buffer. That one is rounded down: the field's
    // edge retracts by less than 2^shift (as RFC 7323 §2.4 allows), while RCV.ADV, and so
    // the acceptance test, keeps the edge already advertised.
    const std::uint32_t w = rcv_wnd();
    const std::uint32_t unit = w <= free_recv_space() ? (std::uint32_t{1} << rcv_wscale_) - 1 : 0;
    const std::uint32_t wnd = static_cast<std::uint32_t>((std::uint64_t{w} + unit) >> rcv_wscale_);
    return static_cast<std::uint16_t>(std::min<std::uint32_t>(wnd, 0xffff));
}

void Connection::emit(Context& ctx, Instant now, std::uint8_t flags, SeqNum seq, std::size_t data_off,
                      std::size_t len) noexcept {
    OutSegment s;
    s.tuple = tuple_;
    TcpRepr& h = s.hdr;
    h.src_port = tuple_.local_port;
    h.dst_port = tuple_.remote_port;
    h.seq = seq;
    h.flags = flags;
    const bool syn = (flags & fl::SYN) != 0;
    if (flags & fl::ACK) h.ack = rcv_nxt_;
    if (syn) {
        // RFC 7323 §2.2: "The window field in a segment where the SYN bit is set MUST NOT be scaled."
        h.window = static_cast<std::uint16_t>(std::min<std::uint32_t>(free_recv_space(), 0xffff));
        if ((flags & fl::ACK) && rcv_nxt_ + h.window > rcv_adv_) rcv_adv_ = rcv_nxt_ + h.window;
        h.options.mss = ctx.cfg.mss;
        // Active open offers what the config enables; SYN-ACK answers only what the peer offered.
        const bool active = !(flags & fl::ACK);
        if (active ? ctx.cfg.window_scaling : ws_ok_) h.options.wscale = rcv_wscale_;
        if (active ? ctx.cfg.sack : sack_ok_) h.options.sack_permitted = true;
        if (active ? ctx.cfg.timestamps : ts_ok_) {
            h.options.timestamps = wire::TcpTimestamps{ts_now(now), active ? 0u : ts_recent_};
        }
    } else {
        h.window = advertised_window();
        const SeqNum edge = rcv_nxt_ + (static_cast<std::uint32_t>(h.window) << rcv_wscale_);
        if (edge > rcv_adv_) rcv_adv_ = edge;
        // RFC 7323 §3.2: once negotiated, "the TSopt MUST be sent in every non-<RST> segment".
        if (ts_ok_) h.options.timestamps = wire::TcpTimestamps{ts_now(now), ts_recent_};
        // RFC 2018 §3-4: SACK blocks while out-of-order data is held (and a pending D-SACK):
        // at most 3 next to timestamps, 4 without (40 bytes of option space). A data segment
        // carries them only where they fit within the MSS without shortening its payload.
        if (sack_ok_ && (flags & fl::ACK) && (rcvq_.has_ooo() || sack_rx_.dsack_pending())) {
            std::size_t room = ts_ok_ ? 3 : 4;
            if (len > 0) {
                const std::int64_t spare = std::int64_t{snd_mss_} - static_cast<std::int64_t>(len) - 4;
                room = spare >= 8 ? std::min<std::size_t>(room, static_cast<std::size_t>(spare / 8)) : 0;
            }
            if (room > 0) {
                const bool dsack = sack_rx_.dsack_pending();
                h.options.sack_count = sack_rx_.fill(rcvq_, rcv_nxt_, room, h.options.sack, true);
                if (dsack) {
                    ++stats_.dsacks_out;
                    ++ctx.counters.dsacks_out;
                }
            }
        }
    }
    if (len > 0) {
        s.pos = sndq_.locate(static_cast<std::uint32_t>(data_off));
        s.len = static_cast<std::uint32_t>(len);
    }
    if (flags & fl::ACK) {
        // Any segment with ACK carries the news: no separate or delayed ACK is owed.
        last_ack_sent_ = rcv_nxt_;
        ack_now_ = false;
        delack_deadline_ = kNever;
    }
    s.conn = this;
    ctx.out.push(s);
    ++ctx.counters.segs_out;
    ++stats_.segs_out;
}

// ---------------------------------------------------------------------------
// Transitions
// ---------------------------------------------------------------------------

void Connection::enter_established(Context& ctx, Instant now) noexcept {
    state_ = State::Established;
    // RFC 6298 §5.7: a handshake that needed a SYN retransmission starts data with RTO >= 3 s.
    if (rtx_count_ > 0) rtt_.on_handshake_done_after_syn_timeout();
    start_cc(ctx);
    rtx_count_ = 0;
    rtx_deadline_ = snd_una_ == snd_nxt_ ? kNever : now + rtt_.rto();
    last_send_ = now;
    unacked_since_ = now;
    rearm_keepalive(ctx, now);
    if (!passive_) ctx.out.event(EventKind::Connected, this);
    // A write shutdown requested during the handshake takes effect now.
    if (fin_queued_) state_ = State::FinWait1;
}

void Connection::enter_time_wait(Context& ctx, Instant now) noexcept {
    state_ = State::TimeWait;
    release_sack(ctx);
    rtx_deadline_ = kNever;
    persist_deadline_ = kNever;
    keepalive_deadline_ = kNever;
    time_wait_deadline_ = now + ctx.cfg.msl * 2;  // 2 x MSL
}

void Connection::fail(Context& ctx, Error e) noexcept {
    failure_ = e;
    release_buffers(ctx);
    ctx.out.event(EventKind::Error, this, e);
    enter_closed(ctx);
}

void Connection::enter_closed(Context& ctx) noexcept {
    if (listener_ != nullptr) {
        listener_->forget(this, !handshake_done() && !cookie_);
        listener_ = nullptr;
    }
    state_ = State::Closed;
    release_sack(ctx);
    rtx_deadline_ = kNever;
    time_wait_deadline_ = kNever;
    delack_deadline_ = kNever;
    persist_deadline_ = kNever;
    keepalive_deadline_ = kNever;
    // The send side is done with. In-order data the application has not read stays readable
    // after a graceful close (as on Linux) until the engine frees the TCB (release_buffers);
    // after a failure or close() nothing will read it.
    sndq_.clear(ctx.bufs);
    if (failure_ || app_closed_) rcvq_.clear(ctx.bufs);
    else rcvq_.drop_ooo(ctx.bufs);
    fin_ooo_ = false;
    ctx.out.event(EventKind::Closed, this);
}

}  // namespace ustcp::tcp

namespace ustcp::tcp {

ConnSummary Connection::summary() const noexcept {
    // `ss -ti` names where they exist: rto, rtt (srtt/rttvar, ms), mss, cwnd (segments),
    // ssthresh, bytes_sent/retrans/acked/received, segs_out/in, retrans (timeout/fast), ...
    ConnSummary out;
    const auto ms = [](Duration d) { return static_cast<double>(d.as_nanos()) / 1e6; };
    const std::uint32_t smss = snd_mss_ > 0 ? snd_mss_ : 1;
    const std::uint32_t ssthresh = cc_.ssthresh();
    char ssth[16] = "inf";
    if (ssthresh != cc::kInfiniteSsthresh) std::snprintf(ssth, sizeof ssth, "%u", ssthresh / smss);
    const int n = std::snprintf(
        out.buf.data(), out.buf.size(),
        "%.*s rto:%.0f rtt:%.3f/%.3f mss:%u rcvmss:%u cwnd:%u ssthresh:%s bytes_sent:%llu bytes_retrans:%llu "
        "bytes_acked:%llu bytes_received:%llu segs_out:%u segs_in:%u data_segs_out:%u data_segs_in:%u "
        "retrans:%u/%u dupacks:%u ooo:%u zwp:%u ka:%u snd_wnd:%u rcv_wnd:%u",
        static_cast<int>(to_string(state_).size()), to_string(state_).data(), ms(rtt_.rto()), ms(rtt_.srtt()), ms(rtt_.rttvar()), unsigned{snd_mss_}, unsigned{rcv_mss_},
        cc_.cwnd() / smss, ssth, static_cast<unsigned long long>(stats_.bytes_out),
        static_cast<unsigned long long>(stats_.bytes_retrans), static_cast<unsigned long long>(stats_.bytes_acked),
        static_cast<unsigned long long>(stats_.bytes_in), stats_.segs_out, stats_.segs_in, stats_.data_segs_out,
        stats_.data_segs_in, stats_.retrans_timeout, stats_.retrans_fast, stats_.dup_acks_in, stats_.ooo_segs,
        stats_.window_probes, stats_.keepalives, snd_wnd_, rcv_wnd());
    out.len = n < 0 ? 0 : std::min<std::size_t>(static_cast<std::size_t>(n), out.buf.size() - 1);
    return out;
}

}  // namespace ustcp::tcp
