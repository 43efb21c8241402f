#include "instance.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "knobs.hpp"
#include "ustcp/wire/ipv4.hpp"
#include "ustcp/wire/tcp.hpp"
#include "ustcp/wire/tcpdump.hpp"

namespace ustcp::packetdrill::so {

namespace {

std::int64_t us_of(Instant t) { return t.nanos() / 1'000; }

/// The instant a blocking call returned at, for the next gettimeofday() on its thread (see
/// instance.hpp): packetdrill reads the clock right after the call to check when it returned.
struct ReturnStamp {
    std::uint64_t instance = 0;  // Instance::id_; 0: none
    Instant at;
};
thread_local ReturnStamp t_return;
std::atomic<std::uint64_t> g_next_id{1};

// ---------------------------------------------------------------------------
// --so_flags

std::optional<std::int64_t> parse_int(std::string_view s) {
    if (s.empty()) return std::nullopt;
    const std::string str(s);
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(str.c_str(), &end, 0);
    if (errno != 0 || *end != '\0') return std::nullopt;
    return v;
}

std::optional<std::string> apply_flag(Flags& f, const std::string& name, const std::string& value,
                                      std::vector<std::string>& warnings) {
    const auto n = parse_int(value);
    const auto bad = [&](std::string_view what) {
        return std::optional<std::string>("--so_flags: expected " + std::string(what) + " for " + name + ", got '" +
                                          value + "'");
    };
    const auto in = [&](std::int64_t lo, std::int64_t hi) { return n && *n >= lo && *n <= hi; };
    const auto boolean = [&](bool& field) -> std::optional<std::string> {
        if (!in(0, 1)) return bad("0 or 1");
        field = *n != 0;
        return std::nullopt;
    };
    if (name == "local_ip" || name == "remote_ip") {
        const auto a = Ipv4Addr::parse(value);
        if (!a) return bad("an IPv4 address");
        (name == "local_ip" ? f.local : f.remote) = *a;
    } else if (name == "mss") {
        if (!in(88, 65495)) return bad("an MSS of 88 to 65495");
        f.cfg.mss = static_cast<std::uint16_t>(*n);
    } else if (name == "mtu") {
        if (!in(128, 65535)) return bad("an MTU of 128 to 65535");
        f.cfg.mss = static_cast<std::uint16_t>(*n - 40);
    } else if (name == "sack") {
        return boolean(f.cfg.sack);
    } else if (name == "timestamps" || name == "ts") {
        return boolean(f.cfg.timestamps);
    } else if (name == "window_scaling" || name == "wscale") {
        return boolean(f.cfg.window_scaling);
    } else if (name == "syn_cookies") {
        if (!in(0, 2)) return bad("0 (off), 1 (on overflow) or 2 (always)");
        f.cfg.syn_cookies = *n == 0 ? tcp::SynCookieMode::Off
                            : *n == 1 ? tcp::SynCookieMode::OnOverflow
                                      : tcp::SynCookieMode::Always;
    } else if (name == "rcvbuf" || name == "sndbuf") {
        if (!in(256, 1 << 30)) return bad("a buffer size of 256 bytes to 1 GiB");
        (name == "rcvbuf" ? f.cfg.recv_buffer : f.cfg.send_buffer) = static_cast<std::uint32_t>(*n);
    } else if (name == "delayed_ack_ms") {
        if (!in(0, 60'000)) return bad("milliseconds (0: acknowledge every segment)");
        f.cfg.delayed_ack = Duration::millis(*n);
    } else if (name == "rto_min_ms" || name == "rto_initial_ms") {
        if (!in(1, 600'000)) return bad("milliseconds");
        (name == "rto_min_ms" ? f.cfg.rto_min : f.cfg.rto_initial) = Duration::millis(*n);
    } else if (name == "tick_us") {
        if (!in(0, 1'000'000)) return bad("microseconds");
        f.tick = Duration::micros(*n);
    } else if (name == "idle_ms") {
        if (!in(0, 3'600'000)) return bad("milliseconds (0: never)");
        f.idle = std::chrono::milliseconds(*n);
    } else if (name == "lenient_sockopt") {
        return boolean(f.lenient_sockopt);
    } else if (name == "verbose") {
        return boolean(f.verbose);
    } else if (name.find('.') != std::string::npos) {
        // A sysctl, as a script's `sysctl -q net.ipv4.tcp_sack=0` would set it on Linux.
        if (!n) return bad("a number");
        const SysctlResult r = apply_sysctl(f.cfg, name, *n);
        if (!r.applied) warnings.push_back("--so_flags: ignored sysctl " + name + "=" + value + ": " + r.detail);
    } else {
        return "--so_flags: unknown setting '" + name + "' (docs/packetdrill-so.md lists them)";
    }
    return std::nullopt;
}

// ---------------------------------------------------------------------------
// C argument handling

/// The IPv4 address and port in a caller's sockaddr, or the errno Linux gives.
struct SockAddr {
    Ipv4Addr addr;
    std::uint16_t port = 0;
    int err = 0;
};

SockAddr read_sockaddr(const sockaddr* a, socklen_t len) {
    if (a == nullptr) return {{}, 0, EFAULT};
    if (len < sizeof(sockaddr_in)) return {{}, 0, EINVAL};
    sockaddr_in sin{};
    std::memcpy(&sin, a, sizeof sin);
    if (sin.sin_family != AF_INET) return {{}, 0, EAFNOSUPPORT};
    return {Ipv4Addr(ntohl(sin.sin_addr.s_addr)), ntohs(sin.sin_port), 0};
}

/// Writes a sockaddr_in, truncated to the room *len says, and the full length to *len.
void write_sockaddr(sockaddr* out, socklen_t* len, Ipv4Addr addr, std::uint16_t port) {
    if (out == nullptr || len == nullptr) return;
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    sin.sin_addr.s_addr = htonl(addr.value());
    std::memcpy(out, &sin, std::min<std::size_t>(*len, sizeof sin));
    *len = sizeof sin;
}

/// Copies an option value out as getsockopt does: at most *len bytes, and *len set to that.
void write_optval(void* val, socklen_t* len, const void* from, std::size_t size) {
    const std::size_t n = std::min<std::size_t>(*len, size);
    std::memcpy(val, from, n);
    *len = static_cast<socklen_t>(n);
}

std::size_t iov_total(const iovec* iov, std::size_t n) {
    std::size_t t = 0;
    for (std::size_t i = 0; i < n; ++i) t += iov[i].iov_len;
    return t;
}

}  // namespace

std::optional<std::string> parse_flags(const char* text, Flags& out, std::vector<std::string>& warnings) {
    if (text == nullptr) return std::nullopt;
    const std::string_view all(text);
    std::size_t i = 0;
    while (i < all.size()) {
        const std::size_t end = std::min(all.find_first_of(", \t\n", i), all.size());
        const std::string_view item = all.substr(i, end - i);
        i = end + 1;
        if (item.empty()) continue;
        const std::size_t eq = item.find('=');
        const std::string name(item.substr(0, eq));
        const std::string value = eq == std::string_view::npos ? "1" : std::string(item.substr(eq + 1));
        if (auto err = apply_flag(out, name, value, warnings)) return err;
    }
    return std::nullopt;
}

// ---------------------------------------------------------------------------
// Instance

struct Instance::Waiter {
    std::function<CallResult()> attempt;
    std::optional<Instant> deadline;
    SysResult at_deadline;
    std::optional<SysResult> result;  // set, under the mutex, by whichever thread completed it
    Instant done_at;
};

Instance::Instance(const Flags& flags)
    : flags_(flags), host_(flags.cfg, flags.local, flags.remote), id_(g_next_id.fetch_add(1)) {}

Instance::~Instance() = default;

Instance::Lock Instance::enter(bool reading_clock) {
    Lock lk(mu_);
    ++activity_;
    // A stamp is for the gettimeofday() that follows the blocking call at once.
    if (!reading_clock && t_return.instance == id_) t_return = {};
    return lk;
}

void Instance::trace(const std::string& line, std::optional<Instant> at) const {
    if (!flags_.verbose) return;
    const std::int64_t us = us_of(at.value_or(host_.now()));
    std::fprintf(stderr, "ustcp_packetdrill %lld.%06lld %s\n", static_cast<long long>(us / 1'000'000),
                 static_cast<long long>(us % 1'000'000), line.c_str());
}

Instant Instance::next_wake() const {
    Instant d = host_.next_deadline();
    for (const Waiter* w : waiters_) {
        if (!w->result && w->deadline) d = std::min(d, *w->deadline);
    }
    return d;
}

void Instance::check_waiters() {
    bool woke = false;
    for (bool again = true; again;) {
        again = false;  // a call that completes may unblock another (a write, a close)
        for (Waiter* w : waiters_) {
            if (w->result) continue;
            CallResult r = w->attempt();
            if (!r && w->deadline && host_.now() >= *w->deadline) r = w->at_deadline;
            if (!r) continue;
            w->result = *r;
            w->done_at = host_.now();
            again = woke = true;
        }
    }
    if (woke) cv_.notify_all();
}

void Instance::step_to(Instant t) {
    host_.advance_to(t);
    check_waiters();
}

void Instance::advance_to(Instant t) {
    // A deadline that stays due after its timer fired must not hold the clock forever.
    int rounds_at_now = 0;
    for (;;) {
        const Instant d = next_wake();
        if (d > t) break;
        if (d > host_.now()) {
            rounds_at_now = 0;
        } else if (++rounds_at_now > 1000) {
            break;
        }
        step_to(d);
    }
    step_to(t);
}

SysResult Instance::run(Lock& lk, std::function<CallResult()> attempt, bool can_block, SysResult when_nonblocking,
                        std::optional<Instant> deadline, SysResult at_deadline) {
    CallResult r = attempt();
    if (!r && deadline && host_.now() >= *deadline) r = at_deadline;
    if (r || !can_block) {
        check_waiters();  // what this call did may be what another one waits for
        return r ? *r : when_nonblocking;
    }
    Waiter w{std::move(attempt), deadline, at_deadline, std::nullopt, {}};
    waiters_.push_back(&w);
    check_waiters();
    bool warned = false;
    while (!w.result) {
        if (flags_.idle.count() == 0) {
            cv_.wait(lk);
            continue;
        }
        const std::uint64_t seen = activity_;
        if (cv_.wait_for(lk, flags_.idle) == std::cv_status::no_timeout || w.result || activity_ != seen) continue;
        // Nobody else called in for a while: nothing but this thread will move the clock.
        const Instant d = next_wake();
        if (d == tcp::kNever) {
            if (!warned) {
                std::fprintf(stderr,
                             "ustcp_packetdrill: a blocking call is waiting with no timer left and no other "
                             "caller: it waits on, as on Linux, until a packet or a call wakes it\n");
                warned = true;
            }
            continue;
        }
        trace("no other caller for " + std::to_string(flags_.idle.count()) +
              " ms: the clock moves to the next deadline");
        step_to(d);
    }
    waiters_.erase(std::find(waiters_.begin(), waiters_.end(), &w));
    t_return = {id_, w.done_at};
    return *w.result;
}

// ---- Sockets ----

SysResult Instance::socket(int domain, int type, int protocol) {
    Lock lk = enter();
    if (domain != AF_INET) return SysResult::error(EAFNOSUPPORT);  // lib/tcp is IPv4 only
    if ((type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) != SOCK_STREAM) return SysResult::error(EPROTONOSUPPORT);
    if (protocol != 0 && protocol != IPPROTO_TCP) return SysResult::error(EPROTONOSUPPORT);
    const SysResult r = host_.socket((type & SOCK_NONBLOCK) != 0);
    trace("socket() = " + std::to_string(r.value));
    return r;
}

SysResult Instance::bind(int fd, const sockaddr* addr, socklen_t len) {
    Lock lk = enter();
    if (!host_.info(fd)) return SysResult::error(EBADF);
    const SockAddr a = read_sockaddr(addr, len);
    if (a.err != 0) return SysResult::error(a.err);
    if (a.addr != Ipv4Addr(INADDR_ANY) && a.addr != host_.local_addr()) return SysResult::error(EADDRNOTAVAIL);
    return host_.bind(fd, a.port);
}

SysResult Instance::listen(int fd, int backlog) {
    Lock lk = enter();
    auto info = host_.info(fd);
    if (!info) return SysResult::error(EBADF);
    if (info->kind == Host::SocketKind::Fresh && info->port == 0) {
        (void)host_.bind(fd, 0);  // Linux binds an ephemeral port for listen() on an unbound socket
        info = host_.info(fd);
    }
    // Linux caps the backlog at net.core.somaxconn (4096), taking it as unsigned.
    const int b = backlog < 0 || backlog > 4096 ? 4096 : backlog;
    const SysResult r = host_.listen(fd, b, info->port);
    check_waiters();
    return r;
}

SysResult Instance::accept(int fd, sockaddr* addr, socklen_t* len) {
    Lock lk = enter();
    const auto info = host_.info(fd);
    if (!info) return SysResult::error(EBADF);
    if (addr != nullptr && len == nullptr) return SysResult::error(EFAULT);
    const SysResult r = run(lk, [this, fd] { return host_.accept(fd); }, !info->nonblocking);
    if (!r.failed()) {
        const auto child = host_.info(static_cast<int>(r.value));
        if (child && child->tuple) write_sockaddr(addr, len, child->tuple->remote_addr, child->tuple->remote_port);
        trace("accept(" + std::to_string(fd) + ") = " + std::to_string(r.value));
    }
    return r;
}

SysResult Instance::connect(int fd, const sockaddr* addr, socklen_t len) {
    Lock lk = enter();
    const auto info = host_.info(fd);
    if (!info) return SysResult::error(EBADF);
    const SockAddr a = read_sockaddr(addr, len);
    if (a.err != 0) return SysResult::error(a.err);
    const SysResult first = host_.connect(fd, a.addr, a.port);
    if (info->nonblocking || !first.failed() || (first.err != EINPROGRESS && first.err != EALREADY)) {
        check_waiters();
        return first;
    }
    // A blocking connect waits for the handshake's end (Linux waits on EALREADY too).
    return run(lk, [this, fd] { return host_.connect_done(fd); }, true);
}

SysResult Instance::recv(int fd, const iovec* iov, std::size_t iovcnt, int flags, socklen_t* namelen) {
    Lock lk = enter();
    const auto info = host_.info(fd);
    if (!info) return SysResult::error(EBADF);
    if (iovcnt > 0 && iov == nullptr) return SysResult::error(EFAULT);
    if ((flags & MSG_OOB) != 0) return SysResult::error(EINVAL);  // Linux, with no urgent data to read
    const std::size_t total = iov_total(iov, iovcnt);
    const bool peek = (flags & MSG_PEEK) != 0;
    const bool can_block = !info->nonblocking && (flags & MSG_DONTWAIT) == 0;
    const bool wait_all = can_block && !peek && (flags & MSG_WAITALL) != 0;
    std::vector<std::uint8_t> buf(total);
    std::size_t done = 0;
    // The closure runs only while this call waits, so it may hold references to its locals.
    auto attempt = [&, fd]() -> CallResult {
        CallResult r = host_.read(fd, total - done, peek, buf.data() + done);
        if (!wait_all || !r) return r;
        if (r->failed()) return done > 0 ? SysResult::ok(static_cast<std::int64_t>(done)) : *r;
        done += static_cast<std::size_t>(r->value);
        if (r->value == 0 || done >= total) return SysResult::ok(static_cast<std::int64_t>(done));
        return std::nullopt;  // MSG_WAITALL: wait for the rest
    };
    const SysResult r = run(lk, attempt, can_block);
    if (!r.failed()) {
        std::size_t at = 0;
        for (std::size_t i = 0; i < iovcnt && at < static_cast<std::size_t>(r.value); ++i) {
            const std::size_t n = std::min(iov[i].iov_len, static_cast<std::size_t>(r.value) - at);
            std::memcpy(iov[i].iov_base, buf.data() + at, n);
            at += n;
        }
        if (namelen != nullptr) *namelen = 0;  // TCP reports no source address
    }
    trace("read(" + std::to_string(fd) + ", " + std::to_string(total) + ") = " + std::to_string(r.value));
    return r;
}

SysResult Instance::send(int fd, const iovec* iov, std::size_t iovcnt, int flags) {
    Lock lk = enter();
    const auto info = host_.info(fd);
    if (!info) return SysResult::error(EBADF);
    if (iovcnt > 0 && iov == nullptr) return SysResult::error(EFAULT);
    if ((flags & MSG_OOB) != 0) return SysResult::error(EOPNOTSUPP);  // no urgent data in lib/tcp
    std::vector<std::uint8_t> data;
    data.reserve(iov_total(iov, iovcnt));
    for (std::size_t i = 0; i < iovcnt; ++i) {
        const auto* p = static_cast<const std::uint8_t*>(iov[i].iov_base);
        data.insert(data.end(), p, p + iov[i].iov_len);
    }
    const bool can_block = !info->nonblocking && (flags & MSG_DONTWAIT) == 0;
    std::size_t done = 0;
    // A blocking write returns once all of it is queued (or the connection fails); a
    // non-blocking one returns what fit.
    auto attempt = [&, fd]() -> CallResult {
        CallResult r = host_.write(fd, data.size() - done, data.data() + done);
        const auto so_far = SysResult::ok(static_cast<std::int64_t>(done));
        if (!r) return done > 0 && !can_block ? CallResult(so_far) : std::nullopt;
        if (r->failed()) return done > 0 ? so_far : *r;
        done += static_cast<std::size_t>(r->value);
        if (done >= data.size() || !can_block) return SysResult::ok(static_cast<std::int64_t>(done));
        return std::nullopt;
    };
    const SysResult r = run(lk, attempt, can_block);
    trace("write(" + std::to_string(fd) + ", " + std::to_string(data.size()) + ") = " + std::to_string(r.value));
    return r;
}

SysResult Instance::fcntl(int fd, int cmd, int arg) {
    Lock lk = enter();
    const auto info = host_.info(fd);
    if (!info) return SysResult::error(EBADF);
    switch (cmd) {
        case F_GETFL: return SysResult::ok(O_RDWR | (info->nonblocking ? O_NONBLOCK : 0));
        case F_SETFL: return host_.set_nonblocking(fd, (arg & O_NONBLOCK) != 0);
        case F_GETFD:
        case F_SETFD: return SysResult::ok(0);  // close-on-exec means nothing here
        default: return SysResult::error(EINVAL);
    }
}

SysResult Instance::ioctl(int fd, unsigned long request, void* arg) {
    Lock lk = enter();
    if (!host_.info(fd)) return SysResult::error(EBADF);
    if (request != FIONREAD && request != SIOCOUTQ && request != FIONBIO) return SysResult::error(ENOTTY);
    if (arg == nullptr) return SysResult::error(EFAULT);
    int v = 0;
    if (request == FIONBIO) {
        std::memcpy(&v, arg, sizeof v);
        return host_.set_nonblocking(fd, v != 0);
    }
    const SysResult have = request == FIONREAD ? host_.bytes_readable(fd) : host_.bytes_unacked(fd);
    if (have.failed()) return have;
    v = static_cast<int>(have.value);
    std::memcpy(arg, &v, sizeof v);
    return SysResult::ok(0);
}

SysResult Instance::close(int fd) {
    Lock lk = enter();
    const SysResult r = host_.close(fd);
    check_waiters();
    trace("close(" + std::to_string(fd) + ") = " + std::to_string(r.value));
    return r;
}

SysResult Instance::shutdown(int fd, int how) {
    Lock lk = enter();
    const SysResult r = host_.shutdown(fd, how);
    check_waiters();
    return r;
}

SysResult Instance::getsockopt(int fd, int level, int name, void* val, socklen_t* len) {
    Lock lk = enter();
    SocketOptions* o = host_.options(fd);
    if (o == nullptr) return SysResult::error(EBADF);
    if (val == nullptr || len == nullptr) return SysResult::error(EFAULT);
    if (level == SOL_SOCKET && name == SO_LINGER) {
        const linger l{o->linger_on ? 1 : 0, o->linger_secs};
        write_optval(val, len, &l, sizeof l);
        return SysResult::ok(0);
    }
    if (level == IPPROTO_TCP && name == TCP_INFO) {
        // Only what the Host knows: the state and the send MSS; the rest reads zero.
        tcp_info ti{};
        ti.tcpi_state = static_cast<std::uint8_t>(linux_tcp_state(host_, fd));
        if (auto m = host_.connection_mss(fd)) ti.tcpi_snd_mss = *m;
        write_optval(val, len, &ti, sizeof ti);
        return SysResult::ok(0);
    }
    std::optional<std::int64_t> v = get_int_sockopt(host_, fd, level, name);
    if (!v && !flags_.lenient_sockopt) return SysResult::error(ENOPROTOOPT);
    const int iv = static_cast<int>(v.value_or(0));
    write_optval(val, len, &iv, sizeof iv);
    check_waiters();  // SO_ERROR consumes the pending error
    return SysResult::ok(0);
}

SysResult Instance::setsockopt(int fd, int level, int name, const void* val, socklen_t len) {
    Lock lk = enter();
    if (host_.options(fd) == nullptr) return SysResult::error(EBADF);
    if (val == nullptr) return SysResult::error(EFAULT);
    SysResult r = SysResult::ok(0);
    if (level == SOL_SOCKET && name == SO_LINGER) {
        if (len < sizeof(linger)) return SysResult::error(EINVAL);
        linger l{};
        std::memcpy(&l, val, sizeof l);
        r = set_linger(host_, fd, l.l_onoff != 0, l.l_linger);
    } else if (is_int_sockopt(level, name)) {
        if (len < sizeof(int)) return SysResult::error(EINVAL);
        int v = 0;
        std::memcpy(&v, val, sizeof v);
        r = set_int_sockopt(host_, fd, level, name, v).result;
    } else if (!flags_.lenient_sockopt) {
        r = SysResult::error(ENOPROTOOPT);
    }
    check_waiters();
    return r;
}

SysResult Instance::poll(pollfd* fds, nfds_t nfds, int timeout_ms) {
    Lock lk = enter();
    if (nfds > 0 && fds == nullptr) return SysResult::error(EFAULT);
    if (nfds > 65536) return SysResult::error(EINVAL);
    // The closure writes revents into the caller's array, under the mutex, while the caller
    // waits; the array is the caller's again once run() returns.
    auto attempt = [this, fds, nfds]() -> CallResult {
        int ready = 0;
        for (nfds_t i = 0; i < nfds; ++i) {
            pollfd& p = fds[i];
            p.revents = 0;
            if (p.fd < 0) continue;  // Linux ignores negative fds
            const short all = host_.poll_events(p.fd);
            p.revents = static_cast<short>(all & (p.events | POLLERR | POLLHUP | POLLNVAL));
            if (p.revents != 0) ++ready;
        }
        return ready > 0 ? CallResult(SysResult::ok(ready)) : std::nullopt;
    };
    std::optional<Instant> deadline;
    if (timeout_ms > 0) deadline = host_.now() + Duration::millis(timeout_ms);
    const SysResult r = run(lk, attempt, timeout_ms != 0, SysResult::ok(0), deadline, SysResult::ok(0));
    if (r.value == 0) {
        for (nfds_t i = 0; i < nfds; ++i) fds[i].revents = 0;
    }
    trace("poll() = " + std::to_string(r.value));
    return r;
}

// ---- Network and clock ----

SysResult Instance::netdev_send(const void* buf, std::size_t count) {
    if (buf == nullptr && count > 0) return SysResult::error(EFAULT);
    Lock lk = enter();
    const wire::Bytes pkt(static_cast<const std::uint8_t*>(buf), count);
    if (flags_.verbose) trace("< " + wire::TcpdumpPrinter(true).format(wire::LinkType::RawIpv4, pkt, count));
    auto ip = wire::Ipv4View::checked(pkt);
    const char* drop = nullptr;
    if (!ip) {
        drop = "not a well-formed IPv4 packet";
    } else if (!ip->header_checksum_ok()) {
        drop = "bad IPv4 header checksum";
    } else if (ip->is_fragment()) {
        drop = "an IPv4 fragment";
    } else if (ip->protocol() != wire::kIpProtoTcp) {
        drop = "not TCP";
    }
    if (drop != nullptr) {
        trace(std::string("dropped the packet: ") + drop);
        return SysResult::ok(0);
    }
    // The ports are read again (and everything checked) by Host::inject.
    FourTuple t{ip->dst(), ip->src(), 0, 0};
    if (auto tcp = wire::TcpView::checked(ip->payload())) {
        t.local_port = tcp->dst_port();
        t.remote_port = tcp->src_port();
    }
    host_.inject(t, ip->payload());
    check_waiters();
    return SysResult::ok(0);
}

SysResult Instance::netdev_receive(void* buf, std::size_t* count, long long* time_usecs) {
    if (count == nullptr || (buf == nullptr && *count > 0)) return SysResult::error(EFAULT);
    Lock lk = enter();
    auto& q = host_.sent();
    int rounds_at_now = 0;
    while (q.empty()) {
        host_.flush_acks();  // looking at the wire ends the burst (Context::defer_acks)
        check_waiters();
        if (!q.empty()) break;
        // Nothing yet: let time pass until something can send.
        const Instant d = next_wake();
        if (d == tcp::kNever || (d <= host_.now() && ++rounds_at_now > 1000)) {
            *count = 0;
            trace("netdev_receive: no packet will come");
            return SysResult::ok(0);
        }
        step_to(d);
    }
    SentSegment s = std::move(q.front());
    q.pop_front();
    const std::size_t opts = s.hdr.options.encoded_len();
    if (opts > wire::kTcpMaxOptionsLen) return SysResult::error(EINVAL);  // lib/tcp never builds such a header
    const std::size_t tcp_len = wire::kTcpMinHeaderLen + opts;
    const std::size_t total = wire::kIpv4MinHeaderLen + tcp_len + s.payload.size();
    if (*count < total || total > 0xffff) return SysResult::error(EMSGSIZE);
    auto* p = static_cast<std::uint8_t*>(buf);
    wire::Ipv4Repr ip;
    ip.src = s.tuple.local_addr;
    ip.dst = s.tuple.remote_addr;
    ip.payload_len = static_cast<std::uint16_t>(tcp_len + s.payload.size());  // TTL 64, DF, as Linux sends TCP
    ip.emit(wire::MutBytes(p, wire::kIpv4MinHeaderLen));
    const wire::MutBytes tcp_hdr(p + wire::kIpv4MinHeaderLen, tcp_len);
    s.hdr.emit_header(tcp_hdr);
    std::copy(s.payload.begin(), s.payload.end(), p + wire::kIpv4MinHeaderLen + tcp_len);
    wire::fill_tcp_checksum_ipv4(tcp_hdr, wire::Bytes(s.payload.data(), s.payload.size()), ip.src, ip.dst);
    *count = total;
    if (time_usecs != nullptr) *time_usecs = kEpochMicros + us_of(s.at);
    if (flags_.verbose) {
        trace("> " + wire::TcpdumpPrinter(true).format(wire::LinkType::RawIpv4, wire::Bytes(p, total), total), s.at);
    }
    return SysResult::ok(0);
}

SysResult Instance::usleep(std::uint64_t usec) {
    Lock lk = enter();
    advance_to(host_.now() + Duration::micros(static_cast<std::int64_t>(usec)));
    return SysResult::ok(0);
}

SysResult Instance::gettimeofday(timeval* tv) {
    Lock lk = enter(true);
    Instant t = host_.now();
    if (t_return.instance == id_) {
        t = t_return.at;  // the first look at the clock after a blocking call: when it returned
        t_return = {};
    } else if (flags_.tick > Duration::zero()) {
        advance_to(host_.now() + flags_.tick);
    }
    if (tv != nullptr) {
        const std::int64_t us = kEpochMicros + us_of(t);
        tv->tv_sec = static_cast<time_t>(us / 1'000'000);
        tv->tv_usec = static_cast<suseconds_t>(us % 1'000'000);
    }
    return SysResult::ok(0);
}

}  // namespace ustcp::packetdrill::so
