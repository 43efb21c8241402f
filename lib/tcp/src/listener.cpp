#include "ustcp/tcp/listener.hpp"

#include <algorithm>

#include "ustcp/tcp/connection.hpp"

namespace ustcp::tcp {

namespace fl = wire::tcp_flags;

Listener::Verdict Listener::on_segment(Context& ctx, Instant now, const FourTuple& tuple, const wire::TcpRepr& seg,
                                       std::size_t payload_len) noexcept {
    ++ctx.counters.segs_in;
    // "first, check for a RST": "An incoming RST segment could not be valid since it could not have
    // been sent in response to anything sent by this incarnation of the connection. ... ignored."
    if (seg.flags & fl::RST) {
        ++ctx.counters.rst_ignored;
        return {};
    }
    // "second, check for an ACK": "Any acknowledgment is bad if it arrives on a connection still in
    // the LISTEN state. An acceptable reset segment should be formed ... <SEQ=SEG.ACK><CTL=RST>"
    // -- unless it is the last step of a handshake whose state lives in a SYN cookie.
    if (seg.flags & fl::ACK) {
        if (!(seg.flags & fl::SYN) && ctx.cfg.syn_cookies != SynCookieMode::Off) {
            std::optional<std::uint32_t> tsecr;
            if (seg.options.timestamps) tsecr = seg.options.timestamps->ecr;
            if (auto opts = ctx.cookies.check(tuple, seg.seq - 1, seg.ack - 1, now, tsecr)) {
                if (queued_ >= accept_backlog_) {
                    ++ctx.counters.accept_overflows;
                    if (ctx.cfg.accept_overflow == AcceptOverflow::Drop) return {};
                } else {
                    ++ctx.counters.syn_cookies_ok;
                    return {Action::CookieConnection, *opts};
                }
            } else {
                ++ctx.counters.syn_cookies_bad;
            }
        }
        if (send_reset_for(ctx, tuple, seg, payload_len)) return {Action::Replied, {}};
        return {};
    }
    // "third, check for a SYN"
    if (seg.flags & fl::SYN) {
        // Linux drops SYNs while the accept queue is full: the client retries later.
        if (queued_ >= accept_backlog_) {
            ++ctx.counters.accept_overflows;
            return {};
        }
        const bool full = syn_rcvd_ >= syn_backlog_;
        if (ctx.cfg.syn_cookies == SynCookieMode::Always || (full && ctx.cfg.syn_cookies == SynCookieMode::OnOverflow)) {
            send_cookie_synack(ctx, now, tuple, seg);
            return {Action::Replied, {}};
        }
        if (full) {
            ++ctx.counters.syn_backlog_drops;
            return {};
        }
        ++syn_rcvd_;
        return {Action::NewConnection, {}};
    }
    // "fourth, other data or control": "drop the segment, and return."
    ++ctx.counters.drop_listen;
    return {};
}

void Listener::send_cookie_synack(Context& ctx, Instant now, const FourTuple& tuple, const wire::TcpRepr& syn) noexcept {
    const Config& cfg = ctx.cfg;
    SynCookieOptions opts;
    opts.mss = syn.options.mss.value_or(cfg.default_peer_mss);
    opts.timestamps = cfg.timestamps && syn.options.timestamps.has_value();
    // Without timestamps there is nowhere to keep window scale and SACK: offer neither
    // (RFC 4987 §3.6 trade-off).
    opts.sack_permitted = opts.timestamps && cfg.sack && syn.options.sack_permitted;
    if (opts.timestamps && cfg.window_scaling && syn.options.wscale) {
        opts.wscale = std::min<std::uint8_t>(*syn.options.wscale, 14);
    }

    wire::TcpRepr r;
    r.src_port = tuple.local_port;
    r.dst_port = tuple.remote_port;
    r.seq = ctx.cookies.make_isn(tuple, syn.seq, opts.mss, now);
    r.ack = syn.seq + 1;
    r.flags = fl::SYN | fl::ACK;
    r.window = static_cast<std::uint16_t>(std::min<std::uint32_t>(cfg.recv_buffer, 0xffff));
    r.options.mss = cfg.mss;
    if (opts.wscale) r.options.wscale = window_shift_for(cfg.recv_buffer);
    r.options.sack_permitted = opts.sack_permitted;
    if (opts.timestamps) {
        const std::uint32_t val = ctx.cookies.encode_tsval(ts_clock(now, ts_offset_for(ctx, tuple)), opts);
        r.options.timestamps = wire::TcpTimestamps{val, syn.options.timestamps->val};
    }
    ctx.out.push(OutSegment{tuple, r, {}, {}});
    ++ctx.counters.syn_cookies_sent;
    ++ctx.counters.segs_out;
}

Connection* Listener::accept() noexcept {
    Connection* c = head_;
    if (c == nullptr) return nullptr;
    head_ = c->accept_next;
    if (head_ == nullptr) tail_ = nullptr;
    c->accept_next = nullptr;
    c->listener_ = nullptr;
    --queued_;
    return c;
}

bool Listener::admit(Context& ctx, Connection* c, bool counted) noexcept {
    if (queued_ >= accept_backlog_) return false;
    if (counted) --syn_rcvd_;
    c->accept_next = nullptr;
    if (tail_ != nullptr) tail_->accept_next = c;
    else head_ = c;
    tail_ = c;
    ++queued_;
    ctx.out.event(EventKind::AcceptReady, c);
    return true;
}

void Listener::forget(Connection* c, bool counted) noexcept {
    if (counted) {
        --syn_rcvd_;
        return;
    }
    // Unlink from the accept queue.
    Connection* prev = nullptr;
    for (Connection* p = head_; p != nullptr; prev = p, p = p->accept_next) {
        if (p != c) continue;
        if (prev != nullptr) prev->accept_next = p->accept_next;
        else head_ = p->accept_next;
        if (tail_ == p) tail_ = prev;
        p->accept_next = nullptr;
        --queued_;
        return;
    }
}

}  // namespace ustcp::tcp
