#include "host.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "ustcp/tcp/segment.hpp"

namespace ustcp::packetdrill {

namespace fl = wire::tcp_flags;
using tcp::State;

struct Host::Conn {
    tcp::Config cfg;  // the system configuration plus its socket's options, when it was created
    std::unique_ptr<tcp::Connection> c;
    int fd = -1;            // the fd that owns it; -1 before accept() and after close()
    bool err_taken = false;  // its failure was reported to the application (sk_err cleared)
};

struct Host::ListenSlot {
    std::unique_ptr<tcp::Listener> l;
    Socket* owner = nullptr;  // the listening socket; its options shape the children
};

struct Host::Socket {
    int fd = -1;
    bool nonblocking = false;
    SocketKind kind = SocketKind::Fresh;
    bool bound = false;
    std::uint16_t port = 0;
    ListenSlot* listen = nullptr;
    Conn* conn = nullptr;
    SocketOptions opts;
    bool shut_rd = false;
    bool shut_wr = false;
    bool connect_reported = false;  // connect() already returned 0 (or the socket was accepted)
    // Bytes MSG_PEEK took out of the connection that the application has not read yet;
    // reads return them first.
    std::vector<std::uint8_t> peeked;
};

namespace {

// Fixed keys: a run is a function of the script alone.
constexpr std::uint64_t kIsnKey0 = 0x7573746370647269;  // "ustcpdri"
constexpr std::uint64_t kIsnKey1 = 0x6c6c2d69736e0001;
constexpr std::uint64_t kCookieKey0 = 0x7573746370647269;
constexpr std::uint64_t kCookieKey1 = 0x6c6c2d636f6f6b02;

bool handshaking(State s) noexcept { return s == State::SynSent || s == State::SynReceived; }

}  // namespace

Host::Host(const tcp::Config& cfg, Ipv4Addr local, Ipv4Addr remote)
    : stack_(cfg, tcp::SipKey::from_words(kIsnKey0, kIsnKey1), tcp::SipKey::from_words(kCookieKey0, kCookieKey1)),
      local_(local),
      remote_(remote) {}

Host::~Host() = default;

Host::Socket* Host::sock(int fd) {
    auto it = sockets_.find(fd);
    return it == sockets_.end() ? nullptr : it->second.get();
}

const Host::Socket* Host::sock(int fd) const {
    auto it = sockets_.find(fd);
    return it == sockets_.end() ? nullptr : it->second.get();
}

int Host::lowest_free_fd() const {
    int fd = 3;
    while (sockets_.count(fd) != 0) ++fd;
    return fd;
}

std::uint16_t Host::ephemeral_port() {
    for (;;) {
        const std::uint16_t p = next_ephemeral_++;
        if (next_ephemeral_ == 0) next_ephemeral_ = 32768;
        bool used = listening_.count(p) != 0;
        for (const auto& [fd, s] : sockets_) used = used || (s->bound && s->port == p);
        if (!used) return p;
    }
}

tcp::Config Host::effective_config(const SocketOptions& o) const {
    tcp::Config c = stack_.cfg;
    if (o.rcvbuf) c.recv_buffer = std::max<std::uint32_t>(*o.rcvbuf, 256);
    if (o.sndbuf) c.send_buffer = std::max<std::uint32_t>(*o.sndbuf, 256);
    if (o.maxseg) c.mss = std::min(c.mss, *o.maxseg);
    if (o.syncnt) c.syn_retries = *o.syncnt;
    // Options lib/tcp has a knob for; the rest stay stored (read back by getsockopt only).
    const auto opt = [&](int level, int name) -> std::optional<std::int64_t> {
        auto it = o.stored.find({level, name});
        return it == o.stored.end() ? std::nullopt : std::optional<std::int64_t>(it->second);
    };
    if (auto v = opt(IPPROTO_TCP, TCP_NODELAY)) c.nodelay = *v != 0;
    if (auto v = opt(SOL_SOCKET, SO_KEEPALIVE)) c.keepalive = *v != 0;
    if (auto v = opt(IPPROTO_TCP, TCP_KEEPIDLE); v && *v > 0) c.keepalive_idle = Duration::seconds(*v);
    if (auto v = opt(IPPROTO_TCP, TCP_KEEPINTVL); v && *v > 0) c.keepalive_interval = Duration::seconds(*v);
    if (auto v = opt(IPPROTO_TCP, TCP_KEEPCNT); v && *v > 0) c.keepalive_count = static_cast<std::uint8_t>(std::min<std::int64_t>(*v, 255));
    if (auto v = opt(IPPROTO_TCP, TCP_USER_TIMEOUT); v && *v >= 0) c.user_timeout = Duration::millis(*v);
    if (auto v = opt(IPPROTO_TCP, TCP_QUICKACK); v && *v == 0) c.quickack = 0;
    return c;
}

void Host::options_changed(int fd) {
    Socket* s = sock(fd);
    if (s == nullptr || s->conn == nullptr) return;
    // A live connection takes the new values at once, as setsockopt does on Linux.
    Conn& c = *s->conn;
    const tcp::Config e = effective_config(s->opts);
    c.cfg.nodelay = e.nodelay;
    c.cfg.keepalive = e.keepalive;
    c.cfg.keepalive_idle = e.keepalive_idle;
    c.cfg.keepalive_interval = e.keepalive_interval;
    c.cfg.keepalive_count = e.keepalive_count;
    c.cfg.user_timeout = e.user_timeout;
    if (c.c->nodelay() != e.nodelay) c.c->set_nodelay(ctx(c.cfg), now_, e.nodelay);
    if (c.c->keepalive() != e.keepalive) c.c->set_keepalive(ctx(c.cfg), now_, e.keepalive);
    auto q = s->opts.stored.find({IPPROTO_TCP, TCP_QUICKACK});
    if (q != s->opts.stored.end()) c.c->set_quickack(ctx(stack_.cfg), q->second != 0);
}

Host::CallCtx Host::ctx(const tcp::Config& cfg) noexcept {
    // Deferred ACKs: the runner ends a burst when the clock moves or it looks at the wire.
    return CallCtx{tcp::Context{cfg, stack_.out, stack_.counters, stack_.budget, stack_.isn, stack_.cookies, stack_.bufs,
                                   true, 0, &stack_.sacks}};
}

Host::Conn& Host::new_conn(const FourTuple& t, const tcp::Config& cfg) {
    auto c = std::make_unique<Conn>();
    c->cfg = cfg;
    c->c = std::make_unique<tcp::Connection>(t);
    Conn& ref = *c;
    conns_.push_back(std::move(c));
    flows_[t] = &ref;  // a previous incarnation stays in conns_
    return ref;
}

Host::Conn* Host::find_conn(const tcp::Connection* c) {
    for (auto& p : conns_) {
        if (p->c.get() == c) return p.get();
    }
    return nullptr;
}

void Host::drain() {
    for (const tcp::OutSegment& s : stack_.out.segments()) {
        SentSegment& out = sent_.emplace_back(SentSegment{now_, s.tuple, s.hdr, s.payload_len(), {}});
        out.payload.resize(s.payload_len());
        s.copy_payload(out.payload.data());  // before done_with_output() lets the buffers go
    }
    // Events need no bookkeeping here: the socket layer reads state from the connections.
    stack_.done_with_output();
}

std::optional<int> Host::take_sk_err(Conn& c) {
    if (c.err_taken || !c.c->failure()) return std::nullopt;
    c.err_taken = true;
    return tcp::to_errno(*c.c->failure());
}

// ---------------------------------------------------------------------------
// Sockets
// ---------------------------------------------------------------------------

std::optional<Host::SocketInfo> Host::info(int fd) const {
    const Socket* s = sock(fd);
    if (s == nullptr) return std::nullopt;
    SocketInfo i;
    i.kind = s->kind;
    i.nonblocking = s->nonblocking;
    i.port = s->port;
    if (s->conn != nullptr) {
        i.tuple = s->conn->c->tuple();
        i.state = s->conn->c->state();
    }
    return i;
}

SysResult Host::socket(bool nonblocking) {
    const int fd = lowest_free_fd();
    auto s = std::make_unique<Socket>();
    s->fd = fd;
    s->nonblocking = nonblocking;
    sockets_[fd] = std::move(s);
    return SysResult::ok(fd);
}

SysResult Host::bind(int fd, std::uint16_t port) {
    Socket* s = sock(fd);
    if (s == nullptr) return SysResult::error(EBADF);
    if (s->bound || s->kind != SocketKind::Fresh) return SysResult::error(EINVAL);
    s->port = port != 0 ? port : ephemeral_port();
    s->bound = true;
    return SysResult::ok(0);
}

SysResult Host::listen(int fd, int backlog, std::uint16_t default_port) {
    Socket* s = sock(fd);
    if (s == nullptr) return SysResult::error(EBADF);
    if (s->kind == SocketKind::Connection) return SysResult::error(EINVAL);
    if (s->kind == SocketKind::Listening) return SysResult::ok(0);  // Linux: re-listen only resizes the backlog
    if (!s->bound) {
        s->port = default_port;
        s->bound = true;
    }
    if (listening_.count(s->port) != 0) return SysResult::error(EADDRINUSE);
    // Linux: the accept queue is full when it holds more than `backlog` (so backlog + 1 fit),
    // and the SYN queue when it holds `backlog` requests (then SYN cookies, or drops).
    const auto b = static_cast<std::uint32_t>(std::clamp(backlog, 0, 4096));
    auto slot = std::make_unique<ListenSlot>();
    slot->l = std::make_unique<tcp::Listener>(local_, s->port, b + 1, b);
    slot->owner = s;
    s->listen = slot.get();
    s->kind = SocketKind::Listening;
    listening_[s->port] = slot.get();
    listeners_.push_back(std::move(slot));
    return SysResult::ok(0);
}

CallResult Host::accept(int fd) {
    Socket* s = sock(fd);
    if (s == nullptr) return SysResult::error(EBADF);
    if (s->kind != SocketKind::Listening) return SysResult::error(EINVAL);
    tcp::Connection* c = s->listen->l->accept();
    if (c == nullptr) return std::nullopt;
    Conn* conn = find_conn(c);
    const int nfd = lowest_free_fd();
    auto ns = std::make_unique<Socket>();
    ns->fd = nfd;
    ns->kind = SocketKind::Connection;
    ns->bound = true;
    ns->port = c->tuple().local_port;
    ns->conn = conn;
    ns->connect_reported = true;
    ns->opts = s->opts;  // Linux children inherit the listener's options
    conn->fd = nfd;
    sockets_[nfd] = std::move(ns);
    return SysResult::ok(nfd);
}

SysResult Host::connect(int fd, Ipv4Addr addr, std::uint16_t port) {
    Socket* s = sock(fd);
    if (s == nullptr) return SysResult::error(EBADF);
    if (s->kind == SocketKind::Listening) return SysResult::error(EISCONN);
    if (s->kind == SocketKind::Connection) {
        // Linux's __inet_stream_connect on a socket that already has a connection.
        Conn& c = *s->conn;
        const State st = c.c->state();
        if (handshaking(st)) return SysResult::error(EALREADY);
        if (auto e = take_sk_err(c)) return SysResult::error(*e);
        if (st == State::Closed) return SysResult::error(c.c->failure() ? ECONNABORTED : EISCONN);
        if (!s->connect_reported) {
            s->connect_reported = true;
            return SysResult::ok(0);
        }
        return SysResult::error(EISCONN);
    }
    const std::uint16_t lport = s->bound ? s->port : ephemeral_port();
    const FourTuple t{local_, addr, lport, port};
    if (auto it = flows_.find(t); it != flows_.end() && it->second->c->state() != State::Closed) {
        return SysResult::error(EADDRNOTAVAIL);
    }
    Conn& c = new_conn(t, effective_config(s->opts));
    c.fd = fd;
    s->kind = SocketKind::Connection;
    s->bound = true;
    s->port = lport;
    s->conn = &c;
    (void)c.c->connect(ctx(c.cfg), now_);  // cannot fail: the TCB is new
    drain();
    return SysResult::error(EINPROGRESS);
}

CallResult Host::connect_done(int fd) {
    Socket* s = sock(fd);
    if (s == nullptr) return SysResult::error(EBADF);
    if (s->conn == nullptr) return SysResult::error(ENOTCONN);
    Conn& c = *s->conn;
    const State st = c.c->state();
    if (handshaking(st)) return std::nullopt;
    if (auto e = take_sk_err(c)) return SysResult::error(*e);
    if (st == State::Closed) return SysResult::error(ECONNABORTED);
    s->connect_reported = true;
    return SysResult::ok(0);
}

CallResult Host::read(int fd, std::size_t len, bool peek, std::uint8_t* out) {
    Socket* s = sock(fd);
    if (s == nullptr) return SysResult::error(EBADF);
    if (s->conn == nullptr) return SysResult::error(ENOTCONN);
    Conn& c = *s->conn;
    if (len == 0) return SysResult::ok(0);
    const tcp::Config& cfg = c.cfg;
    std::vector<std::uint8_t>& held = s->peeked;
    // Takes up to `n` more bytes out of the connection, to `dst` (or appended to `held`).
    const auto take = [&](std::size_t n, std::uint8_t* dst) -> std::size_t {
        n = std::min(n, c.c->bytes_readable());
        if (n == 0) return 0;
        std::vector<std::uint8_t> tmp;
        if (dst == nullptr) {
            tmp.resize(n);
            dst = tmp.data();
        }
        auto r = c.c->receive(ctx(cfg), now_, wire::MutBytes(dst, n));
        drain();
        const std::size_t got = r ? *r : 0;
        if (peek) held.insert(held.end(), dst, dst + got);
        return got;
    };
    if (!held.empty() || c.c->bytes_readable() > 0) {
        if (peek) {
            // Take what is needed out of the connection and keep it as unread.
            if (held.size() < len) (void)take(len - held.size(), nullptr);
            const std::size_t n = std::min(len, held.size());
            if (out != nullptr) std::copy_n(held.begin(), n, out);
            return SysResult::ok(static_cast<std::int64_t>(n));
        }
        std::size_t n = std::min(len, held.size());
        if (out != nullptr) std::copy_n(held.begin(), n, out);
        held.erase(held.begin(), held.begin() + static_cast<std::ptrdiff_t>(n));
        if (n < len) n += take(len - n, out != nullptr ? out + n : nullptr);
        return SysResult::ok(static_cast<std::int64_t>(n));
    }
    if (auto e = take_sk_err(c)) return SysResult::error(*e);
    if (s->shut_rd) return SysResult::ok(0);
    std::uint8_t one = 0;
    auto r = c.c->receive(ctx(cfg), now_, wire::MutBytes(&one, 0));
    drain();
    if (r) return SysResult::ok(0);  // nothing queued: end of stream
    switch (r.error()) {
        case tcp::Error::WouldBlock:
            return std::nullopt;
        case tcp::Error::NotConnected:
            return SysResult::error(ENOTCONN);
        default:
            // The failure was reported already: Linux reads end of file after a reset.
            return SysResult::ok(0);
    }
}

CallResult Host::write(int fd, std::size_t len, const std::uint8_t* data) {
    Socket* s = sock(fd);
    if (s == nullptr) return SysResult::error(EBADF);
    if (s->conn == nullptr) return SysResult::error(EPIPE);
    Conn& c = *s->conn;
    if (auto e = take_sk_err(c)) return SysResult::error(*e);
    if (s->shut_wr) return SysResult::error(EPIPE);
    // Linux waits for the handshake before sending (sk_stream_wait_connect).
    if (handshaking(c.c->state())) return std::nullopt;
    if (len == 0) return SysResult::ok(0);
    static const std::vector<std::uint8_t> zeros(1 << 20);
    const std::size_t n = data != nullptr ? len : std::min(len, zeros.size());
    auto r = c.c->send(ctx(c.cfg), now_, wire::Bytes(data != nullptr ? data : zeros.data(), n));
    drain();
    if (r) return SysResult::ok(static_cast<std::int64_t>(*r));
    if (r.error() == tcp::Error::WouldBlock) return std::nullopt;
    return SysResult::error(EPIPE);  // shut down, closed, or failed (its error was reported)
}

SysResult Host::shutdown(int fd, int how) {
    Socket* s = sock(fd);
    if (s == nullptr) return SysResult::error(EBADF);
    if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR) return SysResult::error(EINVAL);
    if (s->kind == SocketKind::Listening) return SysResult::ok(0);
    if (s->conn == nullptr) return SysResult::error(ENOTCONN);
    Conn& c = *s->conn;
    if (c.c->state() == State::Closed) return SysResult::error(ENOTCONN);
    if (how == SHUT_RD || how == SHUT_RDWR) s->shut_rd = true;
    if ((how == SHUT_WR || how == SHUT_RDWR) && !s->shut_wr) {
        s->shut_wr = true;
        auto r = c.c->shutdown_write(ctx(c.cfg), now_);
        drain();
        if (!r && r.error() != tcp::Error::Closing) return SysResult::error(ENOTCONN);
    }
    return SysResult::ok(0);
}

SysResult Host::close(int fd) {
    Socket* s = sock(fd);
    if (s == nullptr) return SysResult::error(EBADF);
    if (s->kind == SocketKind::Listening) {
        close_listener(*s->listen);
    } else if (s->conn != nullptr) {
        Conn& c = *s->conn;
        c.fd = -1;
        if (c.c->state() != State::Closed) {
            // SO_LINGER with a zero timeout aborts; so does closing with data the application
            // never read (RFC 2525 §2.17) -- including data MSG_PEEK took out of the connection.
            if ((s->opts.linger_on && s->opts.linger_secs == 0) || !s->peeked.empty()) {
                c.c->abort(ctx(c.cfg), now_);
            } else {
                (void)c.c->close(ctx(c.cfg), now_);
            }
            drain();
        }
    }
    sockets_.erase(fd);
    return SysResult::ok(0);
}

void Host::close_listener(ListenSlot& slot) {
    tcp::Listener& l = *slot.l;
    listening_.erase(l.port());
    slot.owner = nullptr;
    // Linux resets the connections waiting in the accept queue. Those still in SYN-RECEIVED
    // are reset too (Linux drops them silently and resets the handshake's ACK when it comes).
    while (tcp::Connection* c = l.accept()) {
        if (Conn* conn = find_conn(c)) c->abort(ctx(conn->cfg), now_);
    }
    for (auto& [t, conn] : flows_) {
        if (conn->c->listener() == &l) conn->c->abort(ctx(conn->cfg), now_);
    }
    drain();
}

SysResult Host::set_nonblocking(int fd, bool on) {
    Socket* s = sock(fd);
    if (s == nullptr) return SysResult::error(EBADF);
    s->nonblocking = on;
    return SysResult::ok(0);
}

short Host::poll_events(int fd) const {
    const Socket* s = sock(fd);
    if (s == nullptr) return POLLNVAL;
    if (s->kind == SocketKind::Listening) return s->listen->l->accept_queued() > 0 ? (POLLIN | POLLRDNORM) : 0;
    if (s->conn == nullptr) return POLLOUT | POLLWRNORM | POLLHUP;  // Linux: an unconnected socket is CLOSE
    // Linux's tcp_poll().
    const Conn& c = *s->conn;
    const State st = c.c->state();
    const bool closed = st == State::Closed;
    const bool rcv_shut = s->shut_rd || c.c->peer_closed() || closed;
    const bool snd_shut = s->shut_wr || closed;
    int mask = 0;
    if ((rcv_shut && snd_shut) || closed) mask |= POLLHUP;
    if (rcv_shut) mask |= POLLIN | POLLRDNORM | POLLRDHUP;
    if (!handshaking(st)) {
        if (!s->peeked.empty() || c.c->bytes_readable() > 0) mask |= POLLIN | POLLRDNORM;
        const std::size_t queued = c.c->send_queued();
        const std::size_t free = c.cfg.send_buffer > queued ? c.cfg.send_buffer - queued : 0;
        if (snd_shut || free >= queued / 2) mask |= POLLOUT | POLLWRNORM;
    }
    if (!c.err_taken && c.c->failure()) mask |= POLLERR;
    return static_cast<short>(mask);
}

SysResult Host::bytes_readable(int fd) const {
    const Socket* s = sock(fd);
    if (s == nullptr) return SysResult::error(EBADF);
    if (s->kind == SocketKind::Listening) return SysResult::error(EINVAL);
    if (s->conn == nullptr) return SysResult::ok(0);
    return SysResult::ok(static_cast<std::int64_t>(s->peeked.size() + s->conn->c->bytes_readable()));
}

SysResult Host::bytes_unacked(int fd) const {
    const Socket* s = sock(fd);
    if (s == nullptr) return SysResult::error(EBADF);
    if (s->kind == SocketKind::Listening) return SysResult::error(EINVAL);
    if (s->conn == nullptr) return SysResult::ok(0);
    return SysResult::ok(static_cast<std::int64_t>(s->conn->c->send_queued()));
}

SocketOptions* Host::options(int fd) {
    Socket* s = sock(fd);
    return s == nullptr ? nullptr : &s->opts;
}

int Host::take_error(int fd) {
    Socket* s = sock(fd);
    if (s == nullptr || s->conn == nullptr) return 0;
    return take_sk_err(*s->conn).value_or(0);
}

std::optional<std::uint16_t> Host::connection_mss(int fd) const {
    const Socket* s = sock(fd);
    if (s == nullptr || s->conn == nullptr) return std::nullopt;
    const State st = s->conn->c->state();
    if (st == State::Closed || handshaking(st)) return std::nullopt;
    return s->conn->c->snd_mss();
}

std::uint32_t Host::recv_buffer(int fd) const {
    const Socket* s = sock(fd);
    if (s != nullptr && s->conn != nullptr) return s->conn->cfg.recv_buffer;
    return s != nullptr ? effective_config(s->opts).recv_buffer : stack_.cfg.recv_buffer;
}

std::uint32_t Host::send_buffer(int fd) const {
    const Socket* s = sock(fd);
    if (s != nullptr && s->conn != nullptr) return s->conn->cfg.send_buffer;
    return s != nullptr ? effective_config(s->opts).send_buffer : stack_.cfg.send_buffer;
}

// ---------------------------------------------------------------------------
// Network and clock
// ---------------------------------------------------------------------------

void Host::inject(const FourTuple& tuple, wire::Bytes segment) {
    auto parsed = tcp::parse_segment(tuple.remote_addr, tuple.local_addr, segment);
    if (!parsed) {
        tcp::count_failure(stack_.counters, parsed.error());
        return;
    }
    const FourTuple& t = parsed->tuple;
    const wire::TcpRepr& seg = parsed->hdr;
    const wire::Bytes payload = parsed->payload;

    Conn* c = nullptr;
    if (auto it = flows_.find(t); it != flows_.end()) c = it->second;
    ListenSlot* ls = nullptr;
    if (auto it = listening_.find(t.local_port); it != listening_.end() && t.local_addr == local_) ls = it->second;
    // RFC 6191 / RFC 9293 §3.10.7.4 note: a new incarnation ends TIME-WAIT early; its ISS
    // lies beyond the old connection's sequence space.
    std::optional<SeqNum> reuse_iss;
    if (c != nullptr && ls != nullptr) reuse_iss = c->c->end_time_wait_for(ctx(c->cfg), now_, seg);
    if (reuse_iss) {
        const SeqNum iss = *reuse_iss;
        const tcp::Config cfg = effective_config(ls->owner->opts);
        auto v = ls->l->on_segment(ctx(cfg), now_, t, seg, payload.size());
        if (v.action == tcp::Listener::Action::NewConnection) {
            Conn& n = new_conn(t, cfg);
            n.c->accept_syn(ctx(n.cfg), now_, seg, ls->l.get(), iss);
        }
        drain();
        return;
    }
    if (c != nullptr && c->c->state() != State::Closed) {
        c->c->on_segment(ctx(c->cfg), now_, seg, payload);
        drain();
        return;
    }
    if (ls != nullptr) {
        const tcp::Config cfg = effective_config(ls->owner->opts);
        auto v = ls->l->on_segment(ctx(cfg), now_, t, seg, payload.size());
        if (v.action == tcp::Listener::Action::NewConnection) {
            Conn& n = new_conn(t, cfg);
            n.c->accept_syn(ctx(n.cfg), now_, seg, ls->l.get());
        } else if (v.action == tcp::Listener::Action::CookieConnection) {
            Conn& n = new_conn(t, cfg);
            n.c->accept_cookie(ctx(n.cfg), now_, seg, payload, v.cookie, ls->l.get());
        }
        drain();
        return;
    }
    // No connection and no listener: the 4-tuple is CLOSED (RFC 9293 §3.10.7.1).
    tcp::reply_closed(stack_.ctx, t, seg, payload.size());
    drain();
}

void Host::flush_acks() {
    for (auto& [t, c] : flows_) {
        if (c->c->state() != State::Closed && c->c->ack_pending()) c->c->flush_ack(ctx(c->cfg), now_);
    }
    drain();
}

Instant Host::next_deadline() const {
    Instant d = tcp::kNever;
    for (const auto& [t, c] : flows_) {
        if (c->c->state() != State::Closed) d = std::min(d, c->c->next_deadline());
    }
    return d;
}

void Host::fire_timers() {
    std::vector<Conn*> due;
    for (auto& [t, c] : flows_) {
        if (c->c->state() != State::Closed && c->c->next_deadline() <= now_) due.push_back(c);
    }
    for (Conn* c : due) c->c->on_deadline(ctx(c->cfg), now_);
    drain();
}

void Host::advance_to(Instant t) {
    // A timer that stays due after firing would spin here forever; give up on it after many
    // rounds at one instant (the runner then sees no progress and reports what is missing).
    int rounds_at_now = 0;
    for (;;) {
        const Instant d = next_deadline();
        if (d > t) break;
        if (d > now_) {
            flush_acks();  // the burst at now_ ends
            now_ = d;
            rounds_at_now = 0;
        } else if (++rounds_at_now > 1000) {
            break;
        }
        fire_timers();
    }
    if (t > now_) {
        flush_acks();
        now_ = t;
    }
}

}  // namespace ustcp::packetdrill
