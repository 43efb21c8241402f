#include "harness.hpp"

#include <algorithm>

namespace ustcp::tcp::test {

namespace fl = wire::tcp_flags;

std::string Wire::flags() const {
    std::string s;
    if (has(fl::FIN)) s += 'F';
    if (has(fl::SYN)) s += 'S';
    if (has(fl::RST)) s += 'R';
    if (has(fl::PSH)) s += 'P';
    if (has(fl::ACK)) s += '.';
    return s;
}

namespace {
SipKey key_from(std::uint64_t seed) {
    std::array<std::uint8_t, 16> b{};
    for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<std::uint8_t>(seed * 131 + i * 7);
    return SipKey::from_bytes(b);
}
}  // namespace

Endpoint::Endpoint(Ipv4Addr a, Config c, std::uint64_t key_seed)
    : Stack(c, key_from(key_seed), key_from(key_seed + 1000)), addr(a) {}

void Endpoint::listen(std::uint16_t port, std::uint32_t accept_backlog, std::uint32_t syn_backlog) {
    listener_ = std::make_unique<Listener>(addr, port, accept_backlog, syn_backlog);
}

Endpoint::Slot& Endpoint::new_slot(const FourTuple& t) {
    auto slot = std::make_unique<Slot>();
    slot->conn = std::make_unique<Connection>(t);
    auto& ref = *slot;
    auto it = flows_.find(t);
    if (it != flows_.end()) graveyard_.push_back(std::move(it->second));
    flows_[t] = std::move(slot);
    return ref;
}

Connection& Endpoint::make(std::uint16_t local_port, Ipv4Addr remote, std::uint16_t remote_port) {
    return *new_slot(FourTuple{addr, remote, local_port, remote_port}).conn;
}

Connection& Endpoint::connect(Instant now, std::uint16_t local_port, Ipv4Addr remote, std::uint16_t remote_port) {
    Connection& c = make(local_port, remote, remote_port);
    auto r = c.connect(ctx, now);
    if (!r) throw std::runtime_error("connect failed");
    return c;
}

Connection* Endpoint::find(const FourTuple& t) {
    auto it = flows_.find(t);
    return it == flows_.end() ? nullptr : it->second->conn.get();
}

std::vector<Connection*> Endpoint::live() {
    std::vector<Connection*> v;
    for (auto& [t, s] : flows_) v.push_back(s->conn.get());
    return v;
}

void Endpoint::deliver(const Wire& w, Instant now) {
    const FourTuple t = w.tuple.reversed();  // our side first
    Connection* c = find(t);
    if (c != nullptr && listener_ && listener_->port() == t.local_port) {
        // RFC 6191: a new incarnation ends TIME-WAIT early; its ISS lies beyond the old one.
        if (auto iss = c->end_time_wait_for(ctx, now, w.hdr)) {
            auto v = listener_->on_segment(ctx, now, t, w.hdr, w.payload.size());
            if (v.action == Listener::Action::NewConnection) {
                new_slot(t).conn->accept_syn(ctx, now, w.hdr, listener_.get(), iss);
            }
            return;
        }
    }
    if (c != nullptr && c->state() != State::Closed) {
        c->on_segment(ctx, now, w.hdr, w.payload);
        return;
    }
    if (listener_ && listener_->port() == t.local_port) {
        auto v = listener_->on_segment(ctx, now, t, w.hdr, w.payload.size());
        if (v.action == Listener::Action::NewConnection) {
            new_slot(t).conn->accept_syn(ctx, now, w.hdr, listener_.get());
        } else if (v.action == Listener::Action::CookieConnection) {
            new_slot(t).conn->accept_cookie(ctx, now, w.hdr, w.payload, v.cookie, listener_.get());
        }
        return;
    }
    reply_closed(ctx, t, w.hdr, w.payload.size());  // no connection and no listener: CLOSED
}

void Endpoint::tick(Instant now) {
    for (Connection* c : live()) {
        if (c->state() != State::Closed && c->next_deadline() <= now) c->on_deadline(ctx, now);
    }
}

Instant Endpoint::next_deadline() const {
    Instant d = kNever;
    for (auto& [t, s] : flows_) {
        if (s->conn->state() != State::Closed) d = std::min(d, s->conn->next_deadline());
    }
    return d;
}

std::vector<Wire> Endpoint::drain() {
    std::vector<Wire> v;
    for (const OutSegment& s : out.segments()) {
        Wire w{s.tuple, s.hdr, {}};
        w.payload.resize(s.payload_len());
        s.copy_payload(w.payload.data());
        v.push_back(std::move(w));
    }
    for (const Event& e : out.events()) {
        events.push_back(RecordedEvent{e.kind, e.kind == EventKind::Error ? std::optional<Error>(e.error) : std::nullopt,
                                       e.conn});
    }
    done_with_output();
    return v;
}

void Endpoint::reap() {
    for (auto it = flows_.begin(); it != flows_.end();) {
        if (it->second->conn->state() == State::Closed) {
            it->second->conn->release_buffers(ctx);  // the engine's job when it frees a TCB
            graveyard_.push_back(std::move(it->second));
            it = flows_.erase(it);
        } else {
            ++it;
        }
    }
}

bool has_event(const Endpoint& e, EventKind k, std::optional<Error> err) {
    for (const auto& ev : e.events) {
        if (ev.kind == k && (!err || ev.error == err)) return true;
    }
    return false;
}

std::string read_all(Endpoint& e, Connection& c, Instant now) {
    std::string s;
    std::uint8_t buf[4096];
    for (;;) {
        auto r = c.receive(e.ctx, now, buf);
        if (!r || *r == 0) return s;
        s.append(reinterpret_cast<const char*>(buf), *r);
    }
}

std::size_t Link::pump() {
    std::size_t moved = 0;
    for (int guard = 0; guard < 100000; ++guard) {
        auto from_a = a_.drain();
        auto from_b = b_.drain();
        if (from_a.empty() && from_b.empty()) return moved;
        for (auto& w : from_a) {
            const bool d = drop && drop(w, true);
            trace.push_back({w, true, d});
            if (!d) b_.deliver(w, now);
            ++moved;
        }
        for (auto& w : from_b) {
            const bool d = drop && drop(w, false);
            trace.push_back({w, false, d});
            if (!d) a_.deliver(w, now);
            ++moved;
        }
    }
    throw std::runtime_error("link did not settle");
}

bool Link::run_timers(Duration limit) {
    const Instant d = std::min(a_.next_deadline(), b_.next_deadline());
    if (d == kNever || d > now + limit) return false;
    if (d > now) now = d;
    a_.tick(now);
    b_.tick(now);
    pump();
    return true;
}

void Link::settle(Instant until) {
    pump();
    while (run_timers(until - now)) {
    }
}

std::vector<std::string> Link::flags_since(std::size_t first) const {
    std::vector<std::string> v;
    for (std::size_t i = first; i < trace.size(); ++i) v.push_back((trace[i].from_a ? "A:" : "B:") + trace[i].w.flags());
    return v;
}

}  // namespace ustcp::tcp::test
