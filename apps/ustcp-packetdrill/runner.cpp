#include "runner.hpp"

#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <span>

#include "host.hpp"
#include "knobs.hpp"
#include "parser.hpp"
#include "ustcp/wire/tcp.hpp"

namespace ustcp::packetdrill {

namespace {

namespace fl = wire::tcp_flags;

constexpr std::int64_t kForever = std::numeric_limits<std::int64_t>::max();

Instant at_us(std::int64_t us) { return Instant::from_nanos(us * 1'000); }
std::int64_t us_of(Instant t) { return t.nanos() / 1'000; }

std::string secs(std::int64_t us) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.6f", static_cast<double>(us) / 1e6);
    return buf;
}

/// Thrown to end a run early with its verdict.
struct Stop {
    Outcome outcome;
    int line;
    std::string message;
};

[[noreturn]] void fail(int line, std::string message) { throw Stop{Outcome::Fail, line, std::move(message)}; }
[[noreturn]] void skip(std::string reason) { throw Stop{Outcome::Skip, 0, std::move(reason)}; }

// ---------------------------------------------------------------------------
// Symbols and errno names (Linux values: the scripts are written for Linux).

const std::map<std::string_view, std::int64_t>& symbols() {
    static const std::map<std::string_view, std::int64_t> kSymbols = {
        {"AF_INET", AF_INET}, {"AF_INET6", AF_INET6}, {"AF_UNSPEC", AF_UNSPEC}, {"PF_INET", PF_INET},
        {"PF_INET6", PF_INET6}, {"SOCK_STREAM", SOCK_STREAM}, {"SOCK_DGRAM", SOCK_DGRAM},
        {"SOCK_NONBLOCK", SOCK_NONBLOCK}, {"SOCK_CLOEXEC", SOCK_CLOEXEC}, {"IPPROTO_IP", IPPROTO_IP},
        {"IPPROTO_TCP", IPPROTO_TCP}, {"IPPROTO_UDP", IPPROTO_UDP}, {"SOL_SOCKET", SOL_SOCKET}, {"SOL_TCP", SOL_TCP},
        {"SOL_IP", SOL_IP}, {"INADDR_ANY", INADDR_ANY},
        {"SO_REUSEADDR", SO_REUSEADDR}, {"SO_REUSEPORT", SO_REUSEPORT}, {"SO_RCVBUF", SO_RCVBUF},
        {"SO_SNDBUF", SO_SNDBUF}, {"SO_ERROR", SO_ERROR}, {"SO_LINGER", SO_LINGER}, {"SO_KEEPALIVE", SO_KEEPALIVE},
        {"SO_TYPE", SO_TYPE}, {"SO_RCVLOWAT", SO_RCVLOWAT}, {"SO_SNDLOWAT", SO_SNDLOWAT},
        {"SO_OOBINLINE", SO_OOBINLINE}, {"SO_DEBUG", SO_DEBUG}, {"SO_DONTROUTE", SO_DONTROUTE},
        {"SO_BROADCAST", SO_BROADCAST}, {"SO_RCVTIMEO", SO_RCVTIMEO}, {"SO_SNDTIMEO", SO_SNDTIMEO},
        {"SO_PRIORITY", SO_PRIORITY}, {"SO_MARK", SO_MARK},
        {"TCP_NODELAY", TCP_NODELAY}, {"TCP_MAXSEG", TCP_MAXSEG}, {"TCP_CORK", TCP_CORK},
        {"TCP_KEEPIDLE", TCP_KEEPIDLE}, {"TCP_KEEPINTVL", TCP_KEEPINTVL}, {"TCP_KEEPCNT", TCP_KEEPCNT},
        {"TCP_SYNCNT", TCP_SYNCNT}, {"TCP_LINGER2", TCP_LINGER2}, {"TCP_DEFER_ACCEPT", TCP_DEFER_ACCEPT},
        {"TCP_WINDOW_CLAMP", TCP_WINDOW_CLAMP}, {"TCP_INFO", TCP_INFO}, {"TCP_QUICKACK", TCP_QUICKACK},
        {"TCP_CONGESTION", TCP_CONGESTION}, {"TCP_USER_TIMEOUT", TCP_USER_TIMEOUT},
        {"TCP_FASTOPEN", TCP_FASTOPEN}, {"TCP_NOTSENT_LOWAT", TCP_NOTSENT_LOWAT},
        {"TCP_ESTABLISHED", TCP_ESTABLISHED}, {"TCP_SYN_SENT", TCP_SYN_SENT}, {"TCP_SYN_RECV", TCP_SYN_RECV},
        {"TCP_FIN_WAIT1", TCP_FIN_WAIT1}, {"TCP_FIN_WAIT2", TCP_FIN_WAIT2}, {"TCP_TIME_WAIT", TCP_TIME_WAIT},
        {"TCP_CLOSE", TCP_CLOSE}, {"TCP_CLOSE_WAIT", TCP_CLOSE_WAIT}, {"TCP_LAST_ACK", TCP_LAST_ACK},
        {"TCP_LISTEN", TCP_LISTEN}, {"TCP_CLOSING", TCP_CLOSING},
        {"F_GETFL", F_GETFL}, {"F_SETFL", F_SETFL}, {"F_GETFD", F_GETFD}, {"F_SETFD", F_SETFD},
        {"FD_CLOEXEC", FD_CLOEXEC}, {"O_RDWR", O_RDWR}, {"O_RDONLY", O_RDONLY}, {"O_WRONLY", O_WRONLY},
        {"O_NONBLOCK", O_NONBLOCK},
        {"MSG_PEEK", MSG_PEEK}, {"MSG_DONTWAIT", MSG_DONTWAIT}, {"MSG_WAITALL", MSG_WAITALL}, {"MSG_OOB", MSG_OOB},
        {"MSG_NOSIGNAL", MSG_NOSIGNAL}, {"MSG_MORE", MSG_MORE}, {"MSG_TRUNC", MSG_TRUNC},
        {"SHUT_RD", SHUT_RD}, {"SHUT_WR", SHUT_WR}, {"SHUT_RDWR", SHUT_RDWR},
        {"POLLIN", POLLIN}, {"POLLPRI", POLLPRI}, {"POLLOUT", POLLOUT}, {"POLLERR", POLLERR}, {"POLLHUP", POLLHUP},
        {"POLLNVAL", POLLNVAL}, {"POLLRDNORM", POLLRDNORM}, {"POLLRDBAND", POLLRDBAND}, {"POLLWRNORM", POLLWRNORM},
        {"POLLWRBAND", POLLWRBAND}, {"POLLRDHUP", POLLRDHUP},
        {"FIONREAD", FIONREAD}, {"SIOCINQ", SIOCINQ}, {"SIOCOUTQ", SIOCOUTQ}, {"FIONBIO", FIONBIO},
    };
    return kSymbols;
}

struct ErrnoName {
    std::string_view name;
    int value;
};
constexpr ErrnoName kErrnos[] = {
    {"EPERM", EPERM}, {"EINTR", EINTR}, {"EBADF", EBADF}, {"EAGAIN", EAGAIN}, {"EWOULDBLOCK", EWOULDBLOCK},
    {"ENOMEM", ENOMEM}, {"EACCES", EACCES}, {"EFAULT", EFAULT}, {"EINVAL", EINVAL}, {"EMFILE", EMFILE},
    {"EPIPE", EPIPE}, {"ENOTSOCK", ENOTSOCK}, {"EDESTADDRREQ", EDESTADDRREQ}, {"EMSGSIZE", EMSGSIZE},
    {"EPROTOTYPE", EPROTOTYPE}, {"ENOPROTOOPT", ENOPROTOOPT}, {"EPROTONOSUPPORT", EPROTONOSUPPORT},
    {"EOPNOTSUPP", EOPNOTSUPP}, {"EAFNOSUPPORT", EAFNOSUPPORT}, {"EADDRINUSE", EADDRINUSE},
    {"EADDRNOTAVAIL", EADDRNOTAVAIL}, {"ENETDOWN", ENETDOWN}, {"ENETUNREACH", ENETUNREACH},
    {"ECONNABORTED", ECONNABORTED}, {"ECONNRESET", ECONNRESET}, {"ENOBUFS", ENOBUFS}, {"EISCONN", EISCONN},
    {"ENOTCONN", ENOTCONN}, {"ESHUTDOWN", ESHUTDOWN}, {"ETIMEDOUT", ETIMEDOUT}, {"ECONNREFUSED", ECONNREFUSED},
    {"EHOSTDOWN", EHOSTDOWN}, {"EHOSTUNREACH", EHOSTUNREACH}, {"EALREADY", EALREADY},
    {"EINPROGRESS", EINPROGRESS},
};

std::optional<int> errno_value(std::string_view name) {
    for (const auto& e : kErrnos) {
        if (e.name == name) return e.value;
    }
    return std::nullopt;
}

std::string errno_text(int e) {
    std::string name = std::to_string(e);
    for (const auto& n : kErrnos) {
        if (n.value == e) {
            name = std::string(n.name);
            break;
        }
    }
    return name + " (" + std::strerror(e) + ")";
}

std::string result_text(const SysResult& r) {
    if (!r.failed()) return std::to_string(r.value);
    return "-1 " + errno_text(r.err);
}

/// The integer an expression denotes: literals, symbols, `A|B`, htons(N), inet_addr("a.b.c.d"),
/// and `[N]` (a one-element list, as in setsockopt values).
std::optional<std::int64_t> eval_int(const Expr& e) {
    if (auto v = e.integer()) return v;
    if (const auto* w = e.as<expr::Word>()) {
        if (auto it = symbols().find(w->name); it != symbols().end()) return it->second;
        if (auto v = errno_value(w->name)) return *v;
        return std::nullopt;
    }
    if (const auto* b = e.as<expr::BitOr>()) {
        auto l = eval_int(*b->lhs);
        auto r = eval_int(*b->rhs);
        if (!l || !r) return std::nullopt;
        return *l | *r;
    }
    if (const auto* c = e.as<expr::Call>()) {
        if (c->args.size() != 1) return std::nullopt;
        if (c->name == "htons" || c->name == "ntohs" || c->name == "htonl" || c->name == "ntohl") {
            return eval_int(c->args[0]);  // ports and addresses are kept in host order here
        }
        if (c->name == "inet_addr") {
            const auto* s = c->args[0].as<expr::String>();
            if (s == nullptr) return std::nullopt;
            auto a = Ipv4Addr::parse(s->text);
            if (!a) return std::nullopt;
            return a->value();
        }
        return std::nullopt;
    }
    if (const auto* l = e.as<expr::List>()) {
        if (l->items.size() == 1) return eval_int(l->items[0]);
    }
    return std::nullopt;
}

/// Total iov_len of an iovec list `[{iov_base=..., iov_len=N}, ...]`.
std::optional<std::int64_t> iov_total(const Expr& e) {
    const auto* l = e.as<expr::List>();
    if (l == nullptr) return std::nullopt;
    std::int64_t n = 0;
    for (const Expr& item : l->items) {
        const Expr* len = item.field("iov_len");
        if (len == nullptr) return std::nullopt;
        auto v = eval_int(*len);
        if (!v) return std::nullopt;
        n += *v;
    }
    return n;
}

std::string strip_time(const std::string& event_text) {
    const auto sp = event_text.find(' ');
    return sp == std::string::npos ? event_text : event_text.substr(sp + 1);
}

std::string call_text(const SyscallEvent& sc) {
    std::string s = sc.name + "(";
    for (std::size_t i = 0; i < sc.args.size(); ++i) {
        if (i != 0) s += ", ";
        s += to_string(sc.args[i]);
    }
    return s + ")";
}

std::string expected_result_text(const SyscallEvent& sc) {
    std::string s = to_string(sc.result);
    if (sc.errno_name) s += " " + *sc.errno_name;
    return s;
}

// ---------------------------------------------------------------------------
// TCP options between script form and wire bytes.

void put16(std::vector<std::uint8_t>& b, std::uint32_t v) {
    b.push_back(static_cast<std::uint8_t>(v >> 8));
    b.push_back(static_cast<std::uint8_t>(v));
}
void put32(std::vector<std::uint8_t>& b, std::uint32_t v) {
    put16(b, v >> 16);
    put16(b, v & 0xffff);
}

/// Wire bytes for a script option list. SACK blocks are shifted by `sack_offset`; a TS ecr
/// is passed through `map_ecr` when given.
std::vector<std::uint8_t> encode_options(const std::vector<TcpOption>& opts, std::uint32_t sack_offset,
                                         const std::function<std::uint32_t(std::uint32_t)>& map_ecr) {
    std::vector<std::uint8_t> b;
    for (const TcpOption& o : opts) {
        const std::uint8_t kind = option_kind(o);
        if (std::holds_alternative<tcpopt::Eol>(o) || std::holds_alternative<tcpopt::Nop>(o)) {
            b.push_back(kind);
            continue;
        }
        b.push_back(kind);
        b.push_back(static_cast<std::uint8_t>(option_length(o)));
        if (const auto* m = std::get_if<tcpopt::Mss>(&o)) put16(b, m->value);
        if (const auto* w = std::get_if<tcpopt::WindowScale>(&o)) b.push_back(w->shift);
        if (const auto* s = std::get_if<tcpopt::Sack>(&o)) {
            for (const auto& blk : s->blocks) {
                put32(b, blk.left + sack_offset);
                put32(b, blk.right + sack_offset);
            }
        }
        if (const auto* t = std::get_if<tcpopt::Timestamp>(&o)) {
            put32(b, t->val);
            put32(b, map_ecr ? map_ecr(t->ecr) : t->ecr);
        }
        if (const auto* f = std::get_if<tcpopt::FastOpen>(&o)) {
            if (f->experimental) put16(b, 0xF989);
            b.insert(b.end(), f->cookie.begin(), f->cookie.end());
        }
        if (const auto* d = std::get_if<tcpopt::Md5>(&o)) b.insert(b.end(), d->digest.begin(), d->digest.end());
    }
    return b;
}

std::uint32_t load32(const std::uint8_t* p) {
    return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
}

/// Script form of an option area, for messages (kinds we never send are left out).
std::vector<TcpOption> decode_options(wire::Bytes area) {
    std::vector<TcpOption> v;
    wire::TcpOptionReader r(area);
    for (;;) {
        auto o = r.next();
        if (!o || !*o) break;
        const wire::TcpOption& opt = **o;
        const auto& d = opt.data;
        switch (opt.kind) {
            case wire::tcp_opt::EOL: v.emplace_back(tcpopt::Eol{}); break;
            case wire::tcp_opt::NOP: v.emplace_back(tcpopt::Nop{}); break;
            case wire::tcp_opt::MSS:
                if (d.size() == 2) v.emplace_back(tcpopt::Mss{static_cast<std::uint16_t>(d[0] << 8 | d[1])});
                break;
            case wire::tcp_opt::WSCALE:
                if (d.size() == 1) v.emplace_back(tcpopt::WindowScale{d[0]});
                break;
            case wire::tcp_opt::SACK_PERMITTED: v.emplace_back(tcpopt::SackPermitted{}); break;
            case wire::tcp_opt::SACK: {
                tcpopt::Sack s;
                for (std::size_t i = 0; i + 8 <= d.size(); i += 8) {
                    s.blocks.push_back({load32(&d[i]), load32(&d[i + 4])});
                }
                v.emplace_back(std::move(s));
                break;
            }
            case wire::tcp_opt::TIMESTAMP:
                if (d.size() == 8) v.emplace_back(tcpopt::Timestamp{load32(&d[0]), load32(&d[4])});
                break;
            default:
                break;
        }
    }
    return v;
}

/// Where a TS option's TSval sits in an option area, if it has one.
std::optional<std::size_t> ts_val_offset(const std::vector<std::uint8_t>& area) {
    wire::TcpOptionReader r(wire::Bytes(area.data(), area.size()));
    for (;;) {
        auto o = r.next();
        if (!o || !*o) return std::nullopt;
        if ((*o)->kind == wire::tcp_opt::TIMESTAMP && (*o)->data.size() == 8) {
            return static_cast<std::size_t>((*o)->data.data() - area.data());
        }
    }
}

std::vector<std::uint8_t> actual_option_bytes(const wire::TcpOptions& o) {
    std::vector<std::uint8_t> b(wire::kTcpMaxOptionsLen);
    b.resize(o.encoded_len() <= wire::kTcpMaxOptionsLen ? o.emit(b) : 0);
    return b;
}

bool is_padding(const TcpOption& o) {
    return std::holds_alternative<tcpopt::Nop>(o) || std::holds_alternative<tcpopt::Eol>(o);
}

const tcpopt::Timestamp* find_ts(const std::vector<TcpOption>& v) {
    for (const auto& o : v) {
        if (const auto* t = std::get_if<tcpopt::Timestamp>(&o)) return t;
    }
    return nullptr;
}

// ---------------------------------------------------------------------------
// Options and commands.

constexpr std::string_view kRunnerOptions[] = {
    "ip_version", "local_ip", "remote_ip", "tolerance_usecs", "tolerance_percent", "mtu", "bind_port",
    "connect_port", "lenient", "verbose", "tcp_ts_ecr_scaled",
};
/// packetdrill options that make no sense on a virtual host: accepted and ignored.
constexpr std::string_view kIgnoredOptions[] = {
    "gateway_ip", "netmask_ip", "speed", "mss", "init_scripts", "wire_client", "wire_server", "wire_server_ip",
    "wire_server_at", "wire_server_port", "wire_client_dev", "wire_server_dev", "so_filename", "so_flags",
    "tcp_ts_tick_usecs", "strict_segments", "non_fatal", "dry_run", "is_anyip", "send_omit_free", "debug",
    "define", "code_command", "code_format", "code_sockopt",
};

bool known(std::string_view name, std::span<const std::string_view> list) {
    return std::find(list.begin(), list.end(), name) != list.end();
}

std::optional<std::int64_t> parse_int(std::string_view s) {
    if (s.empty()) return std::nullopt;
    std::string str(s);
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(str.c_str(), &end, 0);
    if (errno != 0 || end == str.c_str() || *end != '\0') return std::nullopt;
    return v;
}

std::optional<Ipv4Addr> parse_addr(std::string_view s) {
    if (auto slash = s.find('/'); slash != std::string_view::npos) s = s.substr(0, slash);  // 192.0.2.1/24
    return Ipv4Addr::parse(s);
}

struct Settings {
    Ipv4Addr local{192, 168, 0, 1};
    Ipv4Addr remote{192, 0, 2, 1};
    std::int64_t tolerance_us = 4000;
    double tolerance_pct = 12.5;
    std::uint16_t bind_port = 8080;
    std::uint16_t connect_port = 8080;
    bool lenient_win = false;
    bool lenient_opts = false;
    bool lenient_sockopt = false;
    bool verbose = false;
    bool ts_ecr_scaled = false;
    bool ipv6 = false;
    tcp::Config cfg;
};

/// Applies one option; returns an error (the value is unusable), or nullopt. Unknown names are
/// reported through `ignored`.
std::optional<std::string> apply_option(Settings& s, const ScriptOption& o, bool& ignored) {
    ignored = false;
    const std::string v = o.value.value_or("");
    auto bad = [&](std::string_view what) {
        return std::optional<std::string>("expected " + std::string(what) + " for --" + o.name + " got '" + v + "'");
    };
    if (o.name == "ip_version") {
        if (v == "ipv6") s.ipv6 = true;
        else if (v == "ipv4" || v == "ipv4-mapped-ipv6") s.ipv6 = false;
        else return bad("ipv4, ipv4-mapped-ipv6 or ipv6");
    } else if (o.name == "local_ip" || o.name == "remote_ip") {
        auto a = parse_addr(v);
        if (!a) return v.find(':') != std::string::npos ? std::nullopt : bad("an IPv4 address");
        (o.name == "local_ip" ? s.local : s.remote) = *a;
    } else if (o.name == "tolerance_usecs") {
        auto n = parse_int(v);
        if (!n || *n < 0) return bad("a number of microseconds");
        s.tolerance_us = *n;
    } else if (o.name == "tolerance_percent") {
        char* end = nullptr;
        const double d = std::strtod(v.c_str(), &end);
        if (v.empty() || *end != '\0' || d < 0) return bad("a percentage");
        s.tolerance_pct = d;
    } else if (o.name == "mtu") {
        auto n = parse_int(v);
        if (!n || *n < 128 || *n > 65535) return bad("an MTU of 128 to 65535 bytes");
        s.cfg.mss = static_cast<std::uint16_t>(*n - 40);
    } else if (o.name == "bind_port" || o.name == "connect_port") {
        auto n = parse_int(v);
        if (!n || *n <= 0 || *n > 0xffff) return bad("a port");
        (o.name == "bind_port" ? s.bind_port : s.connect_port) = static_cast<std::uint16_t>(*n);
    } else if (o.name == "lenient") {
        std::string_view rest = v;
        while (!rest.empty()) {
            const auto comma = rest.find(',');
            const std::string_view item = rest.substr(0, comma);
            if (item == "win") s.lenient_win = true;
            else if (item == "options") s.lenient_opts = true;
            else if (item == "sockopt") s.lenient_sockopt = true;
            else return bad("a list of win, options, sockopt");
            rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        }
    } else if (o.name == "verbose") {
        s.verbose = true;
    } else if (o.name == "tcp_ts_ecr_scaled") {
        s.ts_ecr_scaled = true;
    } else {
        ignored = true;
    }
    return std::nullopt;
}

constexpr std::string_view kSupportedCalls[] = {
    "socket", "bind", "listen", "accept", "connect", "read", "readv", "recv", "recvfrom", "recvmsg", "write",
    "writev", "send", "sendto", "sendmsg", "close", "shutdown", "setsockopt", "getsockopt", "fcntl", "poll", "ioctl",
};

// ---------------------------------------------------------------------------

/// A system call in progress: how to try it again, and what to do when it cannot complete.
struct Call {
    std::function<CallResult()> attempt;
    bool can_block = true;                                 // false: would-block means when_nonblocking
    SysResult when_nonblocking = SysResult::error(EAGAIN);
    std::optional<Instant> deadline;                       // poll's timeout
    SysResult at_deadline = SysResult::ok(0);
    std::function<void(const SysResult&)> check_outputs;   // values returned through arguments
};

class Runner {
public:
    Runner(const Script& script, const RunOptions& opts) : script_(script), opts_(opts) {}
    Verdict run();

private:
    struct TupleInfo {
        std::optional<std::uint32_t> local_isn;               // from the SYN or SYN-ACK we sent
        std::map<std::uint32_t, std::uint32_t> ts_map;         // script TS val -> the TS val we sent
        std::optional<std::pair<std::uint32_t, std::uint32_t>> first_ts;  // (script, actual)
    };
    enum class SutKind : std::uint8_t { None, Listening, Connection };
    struct Pending {
        const Event* ev;
        const SyscallEvent* sc;
        Call call;
        std::int64_t start_us;
        std::int64_t end_us;
    };
    struct Resolved {
        std::int64_t start = 0;
        std::int64_t end = 0;
        std::int64_t base = 0;  // what a relative time counts from
    };

    void note(std::string s) { verdict_.notes.push_back(std::move(s)); }
    void trace(std::int64_t us, const std::string& what) {
        if (set_.verbose) note(secs(us) + " " + what);
    }
    void prescan() const;
    void apply_options();
    void run_command(const std::string& text, int line);
    void apply_sysctl(const std::string& name, const std::string& value);

    Resolved resolve(const Event& ev, bool inbound);
    [[nodiscard]] std::int64_t tolerance(std::int64_t script_us, std::int64_t since_us) const;
    [[nodiscard]] std::int64_t now_us() const { return us_of(host_->now()); }
    void run_event(const Event& ev);
    void check_late(const Event& ev, std::int64_t start);

    // Time.
    Instant next_wake() const;
    void step_to(Instant t);
    void advance_script_to(std::int64_t us);
    std::optional<SentSegment> next_sent(std::int64_t limit_us);
    void check_pending();
    void finish();

    // Packets.
    FourTuple inbound_tuple(const TcpSegment& seg);
    void inject(const Event& ev, const TcpSegment& seg);
    void expect(const Event& ev, const PacketEvent& pe, const TcpSegment& seg, const Resolved& r);
    std::optional<std::string> compare(const PacketEvent& pe, const TcpSegment& exp, const SentSegment& s,
                                       std::uint32_t local_isn) const;
    std::string actual_text(const SentSegment& s) const;
    std::uint32_t local_isn_of(const FourTuple& t) const;

    // System calls.
    void syscall(const Event& ev, const SyscallEvent& sc, const Resolved& r);
    Call make_call(const Event& ev, const SyscallEvent& sc);
    void complete(const Event& ev, const SyscallEvent& sc, const Call& call, const SysResult& res);
    void verify_return_time(const Event& ev, const SyscallEvent& sc, std::int64_t start, std::int64_t end,
                            const SysResult& res) const;
    const Expr& arg(const Event& ev, const SyscallEvent& sc, std::size_t i) const;
    std::int64_t int_arg(const Event& ev, const SyscallEvent& sc, std::size_t i, std::string_view what) const;
    std::pair<Ipv4Addr, std::uint16_t> sockaddr_arg(const Event& ev, const SyscallEvent& sc, std::size_t i,
                                                     Ipv4Addr default_addr, std::uint16_t default_port) const;
    Call read_call(const Event& ev, const SyscallEvent& sc, int fd, std::int64_t len, std::int64_t flags);
    Call write_call(const Event& ev, const SyscallEvent& sc, int fd, std::int64_t len, std::int64_t flags);
    Call setsockopt_call(const Event& ev, const SyscallEvent& sc);
    Call getsockopt_call(const Event& ev, const SyscallEvent& sc);
    Call poll_call(const Event& ev, const SyscallEvent& sc);

    const Script& script_;
    const RunOptions& opts_;
    Settings set_;
    std::unique_ptr<Host> host_;
    Verdict verdict_;

    bool have_last_ = false;
    bool last_inbound_ = false;
    bool last_absolute_ = false;
    std::int64_t last_script_us_ = 0;
    int last_line_ = 0;
    int spins_ = 0;

    std::map<FourTuple, TupleInfo> tuples_;
    SutKind sut_kind_ = SutKind::None;
    std::uint16_t sut_port_ = 0;  // listening or bound port
    FourTuple sut_tuple_{};
    std::uint16_t next_remote_port_ = 32768;
    std::optional<Pending> pending_;
    bool ip_note_done_ = false;
};

// ---------------------------------------------------------------------------
// Setup

void Runner::prescan() const {
    if (set_.ipv6) skip("IPv6 scripts are not supported (--ip_version=ipv6): lib/tcp runs over IPv4");
    for (const Event& ev : script_.events) {
        const std::string where = " (line " + std::to_string(ev.loc.line) + ")";
        if (std::holds_alternative<CodeEvent>(ev.action)) skip("python code blocks %{ }% are not supported" + where);
        if (const auto* p = std::get_if<PacketEvent>(&ev.action)) {
            if (std::holds_alternative<UdpDatagram>(p->body)) skip("UDP packets are not supported" + where);
            if (std::holds_alternative<IcmpMessage>(p->body)) skip("ICMP packets are not supported" + where);
        }
        if (const auto* s = std::get_if<SyscallEvent>(&ev.action)) {
            if (!known(s->name, kSupportedCalls)) skip("system call " + s->name + "() is not supported" + where);
        }
    }
}

void Runner::apply_options() {
    set_.lenient_win = opts_.lenient_window;
    set_.lenient_opts = opts_.lenient_options;
    set_.lenient_sockopt = opts_.lenient_sockopt;
    set_.verbose = opts_.verbose;
    set_.ipv6 = script_.ip_version == IpVersion::V6;
    auto apply = [&](const ScriptOption& o, bool cli) {
        bool ignored = false;
        if (auto err = apply_option(set_, o, ignored)) fail(cli ? 0 : o.loc.line, *err);
        if (ignored) note("ignored option --" + o.name + (o.value ? "=" + *o.value : ""));
    };
    for (const ScriptOption& o : script_.options) apply(o, false);
    for (const ScriptOption& o : opts_.overrides) apply(o, true);
}

void Runner::run_command(const std::string& text, int line) {
    // Commands are split at ; && || and newlines; only sysctl assignments mean anything here.
    std::string cmd = text;
    for (char& c : cmd) {
        if (c == ';' || c == '&' || c == '|' || c == '\n') c = '\n';
    }
    std::size_t pos = 0;
    while (pos <= cmd.size()) {
        const std::size_t nl = cmd.find('\n', pos);
        const std::string piece = cmd.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
        pos = nl == std::string::npos ? cmd.size() + 1 : nl + 1;
        std::vector<std::string> words;
        std::size_t i = 0;
        while (i < piece.size()) {
            while (i < piece.size() && (piece[i] == ' ' || piece[i] == '\t')) ++i;
            std::size_t j = i;
            while (j < piece.size() && piece[j] != ' ' && piece[j] != '\t') ++j;
            if (j > i) words.push_back(piece.substr(i, j - i));
            i = j;
        }
        if (words.empty()) continue;
        const std::string& prog = words[0];
        const bool is_sysctl = prog == "sysctl" || (prog.size() > 7 && prog.ends_with("/sysctl"));
        if (!is_sysctl) {
            note("line " + std::to_string(line) + ": ignored command `" + piece + "`");
            continue;
        }
        for (std::size_t w = 1; w < words.size(); ++w) {
            if (words[w].starts_with("-")) continue;
            const auto eq = words[w].find('=');
            if (eq == std::string::npos) {
                note("line " + std::to_string(line) + ": ignored sysctl read " + words[w]);
                continue;
            }
            apply_sysctl(words[w].substr(0, eq), words[w].substr(eq + 1));
        }
    }
}

void Runner::apply_sysctl(const std::string& name, const std::string& value) {
    if (name == "net.ipv4.tcp_congestion_control") {
        // Linux's names: "reno" is NewReno (RFC 6582 recovery), "cubic" RFC 9438.
        tcp::Config& c = host_->config();
        if (value == "reno" || value == "newreno") c.cc.algorithm = tcp::cc::Algorithm::NewReno;
        else if (value == "cubic") c.cc.algorithm = tcp::cc::Algorithm::Cubic;
        else return note("ignored sysctl " + name + "=" + value + ": lib/tcp has reno and cubic");
        if (set_.verbose) note("sysctl " + name + "=" + value + " -> Config::cc.algorithm");
        return;
    }
    const auto v = parse_int(value);
    if (!v) {
        note("ignored sysctl " + name + "=" + value + ": not a number");
        return;
    }
    const SysctlResult r = packetdrill::apply_sysctl(host_->config(), name, *v);
    if (!r.applied) note("ignored sysctl " + name + "=" + value + ": " + r.detail);
    else if (set_.verbose) note("sysctl " + name + "=" + value + " -> " + r.detail);
}

// ---------------------------------------------------------------------------
// Events and time

Runner::Resolved Runner::resolve(const Event& ev, bool inbound) {
    Resolved r;
    const EventTime& t = ev.time;
    const bool relative = t.kind == TimeKind::Relative || t.kind == TimeKind::RelativeRange || t.kind == TimeKind::Any;
    if (relative) {
        // packetdrill anchors consecutive inbound packets to the script time of the previous
        // one; everything else counts from when the previous event finished.
        r.base = have_last_ && last_inbound_ && inbound ? last_script_us_ : now_us();
    }
    switch (t.kind) {
        case TimeKind::Absolute: r.start = r.end = t.start_us; break;
        case TimeKind::AbsoluteRange: r.start = t.start_us; r.end = t.end_us; break;
        case TimeKind::Relative: r.start = r.end = r.base + t.start_us; break;
        case TimeKind::RelativeRange: r.start = r.base + t.start_us; r.end = r.base + t.end_us; break;
        case TimeKind::Any: r.start = r.end = r.base; break;
    }
    return r;
}

std::int64_t Runner::tolerance(std::int64_t script_us, std::int64_t since_us) const {
    const double gap = static_cast<double>(script_us - since_us);
    const auto dynamic = static_cast<std::int64_t>(set_.tolerance_pct / 100.0 * gap);
    return std::max(set_.tolerance_us, dynamic);
}

void Runner::check_late(const Event& ev, std::int64_t start) {
    const std::int64_t tol = tolerance(start, last_script_us_);
    if (now_us() > start + tol) {
        fail(ev.loc.line, "expected " + strip_time(to_string(ev)) + " at " + secs(start) + " got it at " +
                              secs(now_us()) + ": the previous events ran until then (tolerance " + secs(tol) + ")");
    }
}

Instant Runner::next_wake() const {
    Instant d = host_->next_deadline();
    if (pending_ && pending_->call.deadline) d = std::min(d, *pending_->call.deadline);
    return d;
}

void Runner::step_to(Instant t) {
    if (t <= host_->now()) {
        if (++spins_ > 100000) {
            fail(last_line_, "expected time to move on got a timer that fires again and again at " +
                                 secs(now_us()));
        }
    } else {
        spins_ = 0;
    }
    host_->advance_to(t);
    check_pending();
}

void Runner::advance_script_to(std::int64_t us) {
    const Instant target = at_us(us);
    for (;;) {
        const Instant d = next_wake();
        if (d > target) break;
        step_to(d);
    }
    step_to(target);
}

std::optional<SentSegment> Runner::next_sent(std::int64_t limit_us) {
    for (;;) {
        auto& q = host_->sent();
        if (!q.empty()) {
            SentSegment s = q.front();
            q.pop_front();
            return s;
        }
        host_->flush_acks();  // looking at the wire ends the burst
        check_pending();
        if (!host_->sent().empty()) continue;
        const Instant d = next_wake();
        if (d == tcp::kNever || us_of(d) > limit_us) return std::nullopt;
        step_to(d);
    }
}

void Runner::check_pending() {
    if (!pending_) return;
    CallResult r = pending_->call.attempt();
    if (!r && pending_->call.deadline && host_->now() >= *pending_->call.deadline) r = pending_->call.at_deadline;
    if (!r) return;
    Pending p = std::move(*pending_);
    pending_.reset();
    verify_return_time(*p.ev, *p.sc, p.start_us, p.end_us, *r);
    complete(*p.ev, *p.sc, p.call, *r);
}

void Runner::run_event(const Event& ev) {
    last_line_ = ev.loc.line;
    spins_ = 0;
    const auto* pe = std::get_if<PacketEvent>(&ev.action);
    const bool inbound = pe != nullptr && pe->direction == Direction::Inbound;
    const Resolved r = resolve(ev, inbound);
    const bool absolute = ev.time.kind == TimeKind::Absolute || ev.time.kind == TimeKind::AbsoluteRange;
    if (!have_last_ && r.start != 0) {
        fail(ev.loc.line, "expected the first event at time 0 got " + secs(r.start));
    }
    if (have_last_ && last_absolute_ && absolute && r.start < last_script_us_) {
        fail(ev.loc.line, "expected time to go forward got " + secs(r.start) + " after " + secs(last_script_us_));
    }

    if (pe != nullptr) {
        const auto& seg = std::get<TcpSegment>(pe->body);  // prescan skipped UDP and ICMP
        if (inbound) {
            advance_script_to(r.start);
            check_late(ev, r.start);
            inject(ev, seg);
        } else {
            expect(ev, *pe, seg, r);
        }
    } else if (const auto* sc = std::get_if<SyscallEvent>(&ev.action)) {
        advance_script_to(r.start);
        check_late(ev, r.start);
        syscall(ev, *sc, r);
    } else if (const auto* cmd = std::get_if<CommandEvent>(&ev.action)) {
        advance_script_to(r.start);
        run_command(cmd->command, ev.loc.line);
    }

    have_last_ = true;
    last_inbound_ = inbound;
    last_absolute_ = absolute;
    last_script_us_ = ev.time.kind == TimeKind::Any ? now_us() : r.start;
}

void Runner::finish() {
    if (pending_) {
        // A blocking call still waiting: let the timers run until its end time has passed.
        const std::int64_t limit = pending_->end_us + tolerance(pending_->end_us, pending_->start_us);
        const Instant lim = at_us(limit);
        while (pending_) {
            const Instant d = next_wake();
            if (d > lim) break;
            step_to(d);
        }
        if (pending_) {
            step_to(lim);
            if (pending_) {
                fail(pending_->ev->loc.line, "expected " + call_text(*pending_->sc) + " to return at " +
                                                 secs(pending_->end_us) + " got no return by " + secs(limit));
            }
        }
    }
    host_->flush_acks();
    if (!host_->sent().empty()) {
        const SentSegment s = host_->sent().front();
        fail(last_line_, "expected no more packets got " + actual_text(s) + " at " + secs(us_of(s.at)));
    }
}

Verdict Runner::run() {
    try {
        apply_options();
        prescan();
        host_ = std::make_unique<Host>(set_.cfg, set_.local, set_.remote);
        if (script_.init_command) run_command(script_.init_command->command, 0);
        for (const Event& ev : script_.events) run_event(ev);
        finish();
        verdict_.outcome = Outcome::Pass;
    } catch (const Stop& s) {
        verdict_.outcome = s.outcome;
        verdict_.line = s.line;
        verdict_.message = s.message;
    }
    if (script_.cleanup_command) note("ignored cleanup command `" + script_.cleanup_command->command + "`");
    return std::move(verdict_);
}

// ---------------------------------------------------------------------------
// Packets

std::uint32_t Runner::local_isn_of(const FourTuple& t) const {
    auto it = tuples_.find(t);
    return it != tuples_.end() && it->second.local_isn ? *it->second.local_isn : 0;
}

FourTuple Runner::inbound_tuple(const TcpSegment& seg) {
    if (seg.src_port && seg.dst_port) return FourTuple{set_.local, set_.remote, *seg.dst_port, *seg.src_port};
    if (sut_kind_ != SutKind::Connection) {
        // The peer opens a new connection (packetdrill: a new child of the listening socket,
        // from a fresh ephemeral port).
        const std::uint16_t lport = sut_port_ != 0 ? sut_port_ : set_.bind_port;
        sut_tuple_ = FourTuple{set_.local, set_.remote, lport, next_remote_port_++};
        sut_kind_ = SutKind::Connection;
    }
    return sut_tuple_;
}

void Runner::inject(const Event& ev, const TcpSegment& seg) {
    const FourTuple t = inbound_tuple(seg);
    TupleInfo& ti = tuples_[t];
    const std::uint32_t isn = ti.local_isn.value_or(0);
    const bool has_ack = (seg.flags & tcp_flag::ACK) != 0;

    std::function<std::uint32_t(std::uint32_t)> map_ecr;
    if (has_ack) {
        map_ecr = [&](std::uint32_t ecr) {
            if (auto it = ti.ts_map.find(ecr); it != ti.ts_map.end()) return it->second;
            if (set_.ts_ecr_scaled && ti.first_ts) return ecr - ti.first_ts->first + ti.first_ts->second;
            return ecr;
        };
    }
    const std::vector<std::uint8_t> opts = encode_options(seg.options, isn, map_ecr);
    std::vector<std::uint8_t> b(wire::kTcpMinHeaderLen + opts.size() + seg.payload_len, 0);
    wire::TcpRepr h;
    h.src_port = seg.src_port.value_or(t.remote_port);
    h.dst_port = seg.dst_port.value_or(t.local_port);
    h.seq = SeqNum(seg.seq);
    h.ack = SeqNum(seg.ack.value_or(0) + (has_ack ? isn : 0));
    h.flags = static_cast<std::uint8_t>(seg.flags & 0xff);
    h.window = seg.window.value_or(0);
    h.urgent_ptr = seg.urg_ptr.value_or(0);
    h.emit_header(b);  // no decoded options: the script's own bytes follow
    b[12] = static_cast<std::uint8_t>(((wire::kTcpMinHeaderLen + opts.size()) / 4) << 4);
    if (seg.flags & tcp_flag::AE) b[12] |= 0x01;
    std::copy(opts.begin(), opts.end(), b.begin() + wire::kTcpMinHeaderLen);
    const std::size_t hlen = wire::kTcpMinHeaderLen + opts.size();
    wire::fill_tcp_checksum_ipv4(wire::MutBytes(b.data(), hlen), wire::Bytes(b.data() + hlen, seg.payload_len),
                                 t.remote_addr, t.local_addr);
    trace(now_us(), strip_time(to_string(ev)));
    host_->inject(t, b);
    check_pending();
}

std::string Runner::actual_text(const SentSegment& s) const {
    const std::uint32_t isn = local_isn_of(s.tuple);
    TcpSegment t;
    t.flags = s.hdr.flags;
    t.seq = s.hdr.seq.value() - isn;
    t.payload_len = static_cast<std::uint16_t>(s.payload_len);
    t.seq_end = t.seq + t.payload_len;
    if (s.hdr.flags & fl::ACK) t.ack = s.hdr.ack.value();
    t.window = s.hdr.window;
    if (s.hdr.flags & fl::URG) t.urg_ptr = s.hdr.urgent_ptr;
    const auto bytes = actual_option_bytes(s.hdr.options);
    t.options = decode_options(wire::Bytes(bytes.data(), bytes.size()));
    Event e;
    e.time = EventTime{TimeKind::Absolute, us_of(s.at), 0};
    e.action = PacketEvent{Direction::Outbound, {}, t};
    return strip_time(to_string(e));
}

std::optional<std::string> Runner::compare(const PacketEvent& pe, const TcpSegment& exp, const SentSegment& s,
                                           std::uint32_t local_isn) const {
    if (exp.src_port && *exp.src_port != s.hdr.src_port) return "source port";
    if (exp.dst_port && *exp.dst_port != s.hdr.dst_port) return "destination port";
    if (exp.flags != s.hdr.flags) return "flags";
    if (exp.seq != s.hdr.seq.value() - local_isn) return "sequence number";
    if (exp.payload_len != s.payload_len) return "payload length";
    if (exp.ack && *exp.ack != s.hdr.ack.value()) return "ack";
    if (exp.window && !set_.lenient_win && *exp.window != s.hdr.window) return "window";
    if (exp.urg_ptr && *exp.urg_ptr != s.hdr.urgent_ptr) return "urgent pointer";
    if (pe.ip.ecn && *pe.ip.ecn != Ecn::NotEct) return "ECN codepoint (we send Not-ECT)";
    if (exp.any_options) return std::nullopt;

    const std::vector<std::uint8_t> act = actual_option_bytes(s.hdr.options);
    if (!set_.lenient_opts) {
        std::vector<std::uint8_t> want = encode_options(exp.options, 0, {});
        // packetdrill does not check our TS val (--tcp_ts_tick_usecs=0): take ours.
        auto wv = ts_val_offset(want);
        auto av = ts_val_offset(act);
        if (wv && av) {
            std::copy_n(act.begin() + static_cast<std::ptrdiff_t>(*av), 4,
                        want.begin() + static_cast<std::ptrdiff_t>(*wv));
        }
        if (want != act) return "options";
        return std::nullopt;
    }
    // Lenient: the same kinds, and the protocol facts (SACK blocks, TS ecr); not our MSS or
    // window-scale values, nor the order and padding.
    const std::vector<TcpOption> got = decode_options(wire::Bytes(act.data(), act.size()));
    std::multiset<std::uint8_t> kw, kg;
    for (const auto& o : exp.options) {
        if (!is_padding(o)) kw.insert(option_kind(o));
    }
    for (const auto& o : got) {
        if (!is_padding(o)) kg.insert(option_kind(o));
    }
    if (kw != kg) return "option kinds";
    for (const auto& o : exp.options) {
        const auto* ws = std::get_if<tcpopt::Sack>(&o);
        if (ws == nullptr) continue;
        for (const auto& g : got) {
            const auto* gs = std::get_if<tcpopt::Sack>(&g);
            if (gs != nullptr && gs->blocks != ws->blocks) return "SACK blocks";
        }
    }
    const auto* tw = find_ts(exp.options);
    const auto* tg = find_ts(got);
    if (tw != nullptr && tg != nullptr && tw->ecr != tg->ecr) return "TS ecr";
    return std::nullopt;
}

void Runner::expect(const Event& ev, const PacketEvent& pe, const TcpSegment& seg, const Resolved& r) {
    const bool any = ev.time.kind == TimeKind::Any;
    const std::int64_t tol = tolerance(r.start, last_script_us_);
    const std::int64_t lo = r.start - tol;
    const std::int64_t hi = r.end + tol;
    const std::string want = strip_time(to_string(ev)) + (any ? "" : " at " + secs(r.start));
    auto s = next_sent(any ? kForever : hi);
    if (!s) {
        fail(ev.loc.line, "expected " + want + " got no packet" + (any ? "" : " by " + secs(hi)));
    }
    // Our ISN is whatever our SYN or SYN-ACK carried (packetdrill learns it the same way).
    TupleInfo& ti = tuples_[s->tuple];
    if (s->hdr.flags & fl::SYN) ti.local_isn = s->hdr.seq.value();
    const std::uint32_t isn = ti.local_isn.value_or(0);
    const std::string got = actual_text(*s) + " at " + secs(us_of(s->at));
    if (auto diff = compare(pe, seg, *s, isn)) {
        fail(ev.loc.line, "expected " + want + " got " + got + " (mismatch: " + *diff + ")");
    }
    const std::int64_t at = us_of(s->at);
    if (!any && (at < lo || at > hi)) {
        fail(ev.loc.line, "expected " + want + " got it at " + secs(at) + " (tolerance " + secs(tol) + ")");
    }
    if ((pe.ip.tos || pe.ip.ttl || pe.ip.flow_label) && !ip_note_done_) {
        ip_note_done_ = true;
        note("line " + std::to_string(ev.loc.line) + ": IP tos/ttl/flow label are not checked (no IP layer)");
    }
    if (!seg.any_options) {
        const auto* ts = find_ts(seg.options);
        if (ts != nullptr && s->hdr.options.timestamps) {
            const std::uint32_t actual = s->hdr.options.timestamps->val;
            ti.ts_map[ts->val] = actual;
            if (!ti.first_ts) ti.first_ts = {ts->val, actual};
        }
    }
    trace(at, got.substr(0, got.rfind(" at ")));
}

// ---------------------------------------------------------------------------
// System calls

const Expr& Runner::arg(const Event& ev, const SyscallEvent& sc, std::size_t i) const {
    if (i >= sc.args.size()) {
        fail(ev.loc.line, "expected at least " + std::to_string(i + 1) + " arguments to " + sc.name + "() got " +
                              std::to_string(sc.args.size()));
    }
    return sc.args[i];
}

std::int64_t Runner::int_arg(const Event& ev, const SyscallEvent& sc, std::size_t i, std::string_view what) const {
    const Expr& e = arg(ev, sc, i);
    auto v = eval_int(e);
    if (!v) fail(ev.loc.line, "expected " + std::string(what) + " as argument " + std::to_string(i + 1) + " of " +
                                  sc.name + "() got " + to_string(e));
    return *v;
}

std::pair<Ipv4Addr, std::uint16_t> Runner::sockaddr_arg(const Event& ev, const SyscallEvent& sc, std::size_t i,
                                                         Ipv4Addr default_addr, std::uint16_t default_port) const {
    const Expr& e = arg(ev, sc, i);
    if (e.is_ellipsis()) return {default_addr, default_port};
    if (!e.as<expr::Struct>()) fail(ev.loc.line, "expected a sockaddr or ... got " + to_string(e));
    Ipv4Addr addr = default_addr;
    std::uint16_t port = default_port;
    for (const char* name : {"sin_port", "sin6_port"}) {
        if (const Expr* p = e.field(name); p != nullptr && !p->is_ellipsis()) {
            auto v = eval_int(*p);
            if (!v || *v < 0 || *v > 0xffff) fail(ev.loc.line, "expected a port got " + to_string(*p));
            port = static_cast<std::uint16_t>(*v);
        }
    }
    if (const Expr* a = e.field("sin_addr"); a != nullptr && !a->is_ellipsis()) {
        auto v = eval_int(*a);
        if (!v) fail(ev.loc.line, "expected an address got " + to_string(*a));
        if (*v != INADDR_ANY) addr = Ipv4Addr(static_cast<std::uint32_t>(*v));
    }
    return {addr, port};
}

void Runner::syscall(const Event& ev, const SyscallEvent& sc, const Resolved& r) {
    const bool blocking = sc.end_us.has_value();
    // A blocking call's end time has the base of its start time (script.hpp).
    std::int64_t end = r.start;
    if (blocking) end = ev.time.kind == TimeKind::Relative ? r.base + *sc.end_us : *sc.end_us;
    if (blocking && pending_) {
        fail(ev.loc.line, "expected " + call_text(sc) + " to start got " + call_text(*pending_->sc) +
                              " (line " + std::to_string(pending_->ev->loc.line) +
                              ") still blocking: one blocking call at a time");
    }
    Call call = make_call(ev, sc);
    auto settle = [&](CallResult res) -> CallResult {
        if (!res && !call.can_block) res = call.when_nonblocking;
        if (!res && call.deadline && host_->now() >= *call.deadline) res = call.at_deadline;
        return res;
    };
    CallResult res = settle(call.attempt());
    if (res) {
        if (blocking) verify_return_time(ev, sc, r.start, end, *res);
        complete(ev, sc, call, *res);
        return;
    }
    if (blocking) {
        trace(r.start, call_text(sc) + " blocks");
        pending_ = Pending{&ev, &sc, std::move(call), r.start, end};
        return;
    }
    // It blocks although the script did not say so: nothing else in the script can happen
    // until it returns (packetdrill's main thread is inside the call), only timers run.
    for (;;) {
        Instant d = host_->next_deadline();
        if (call.deadline) d = std::min(d, *call.deadline);
        if (d == tcp::kNever) {
            fail(ev.loc.line, "expected " + call_text(sc) + " = " + expected_result_text(sc) +
                                  " got a call that blocks with nothing left to wake it (write `...` for a "
                                  "call that waits for later events)");
        }
        step_to(d);
        res = settle(call.attempt());
        if (res) break;
    }
    complete(ev, sc, call, *res);
}

void Runner::verify_return_time(const Event& ev, const SyscallEvent& sc, std::int64_t start, std::int64_t end,
                                const SysResult& res) const {
    const std::int64_t tol = tolerance(end, start);
    const std::int64_t at = now_us();
    if (at < end - tol || at > end + tol) {
        fail(ev.loc.line, "expected " + call_text(sc) + " to return at " + secs(end) + " got return at " + secs(at) +
                              " = " + result_text(res) + " (tolerance " + secs(tol) + ")");
    }
}

void Runner::complete(const Event& ev, const SyscallEvent& sc, const Call& call, const SysResult& res) {
    if (!sc.result.is_ellipsis()) {
        auto want = eval_int(sc.result);
        if (!want) fail(ev.loc.line, "expected an integer result got " + to_string(sc.result));
        bool ok = res.value == *want;
        if (ok && *want == -1 && sc.errno_name) {
            auto e = errno_value(*sc.errno_name);
            if (!e) fail(ev.loc.line, "expected a known errno name got " + *sc.errno_name);
            ok = res.err == *e;
        }
        if (!ok) {
            fail(ev.loc.line, "expected " + call_text(sc) + " = " + expected_result_text(sc) + " got " +
                                  result_text(res));
        }
    }
    if (call.check_outputs) call.check_outputs(res);
    trace(now_us(), call_text(sc) + " = " + result_text(res));
}

Call Runner::read_call(const Event& ev, const SyscallEvent& sc, int fd, std::int64_t len, std::int64_t flags) {
    if (len < 0) fail(ev.loc.line, "expected a length >= 0 for " + sc.name + "() got " + std::to_string(len));
    const auto info = host_->info(fd);
    Call c;
    c.can_block = !(info && info->nonblocking) && !(flags & MSG_DONTWAIT);
    const bool peek = (flags & MSG_PEEK) != 0;
    c.attempt = [this, fd, len, peek] { return host_->read(fd, static_cast<std::size_t>(len), peek); };
    return c;
}

Call Runner::write_call(const Event& ev, const SyscallEvent& sc, int fd, std::int64_t len, std::int64_t flags) {
    if (len < 0) fail(ev.loc.line, "expected a length >= 0 for " + sc.name + "() got " + std::to_string(len));
    const auto info = host_->info(fd);
    Call c;
    c.can_block = !(info && info->nonblocking) && !(flags & MSG_DONTWAIT);
    // A blocking write returns when all of it is queued (or fails); a non-blocking one
    // returns what fit.
    auto done = std::make_shared<std::int64_t>(0);
    const bool block = c.can_block;
    c.attempt = [this, fd, len, done, block]() -> CallResult {
        CallResult r = host_->write(fd, static_cast<std::size_t>(len - *done));
        if (!r) return *done > 0 && !block ? CallResult(SysResult::ok(*done)) : std::nullopt;
        if (r->failed()) return *done > 0 ? SysResult::ok(*done) : *r;
        *done += r->value;
        if (*done >= len || !block) return SysResult::ok(*done);
        return std::nullopt;
    };
    return c;
}

Call Runner::setsockopt_call(const Event& ev, const SyscallEvent& sc) {
    const int fd = static_cast<int>(int_arg(ev, sc, 0, "an fd"));
    const std::int64_t level = int_arg(ev, sc, 1, "a level");
    const std::int64_t name = int_arg(ev, sc, 2, "an option name");
    const Expr& val = arg(ev, sc, 3);
    Call c;
    SocketOptions* o = host_->options(fd);
    if (o == nullptr) {
        c.attempt = [] { return SysResult::error(EBADF); };
        return c;
    }
    auto int_value = [&]() -> std::int64_t {
        if (val.is_ellipsis()) return 0;
        auto v = eval_int(val);
        if (!v) fail(ev.loc.line, "expected an integer option value got " + to_string(val));
        return *v;
    };
    SysResult r = SysResult::ok(0);
    const std::string what = to_string(arg(ev, sc, 2));
    if (level == SOL_SOCKET && name == SO_LINGER) {
        const Expr* on = val.field("l_onoff");
        const Expr* secs_e = val.field("l_linger");
        auto onv = on != nullptr ? eval_int(*on) : std::nullopt;
        auto sv = secs_e != nullptr ? eval_int(*secs_e) : std::nullopt;
        if (!onv || !sv) fail(ev.loc.line, "expected {l_onoff=N, l_linger=N} got " + to_string(val));
        r = set_linger(*host_, fd, *onv != 0, static_cast<int>(*sv));
    } else if (is_int_sockopt(static_cast<int>(level), static_cast<int>(name))) {
        const SockoptSet set =
            set_int_sockopt(*host_, fd, static_cast<int>(level), static_cast<int>(name), int_value());
        r = set.result;
        if (!set.reaches_tcp && set_.verbose && level == IPPROTO_TCP) {
            note("line " + std::to_string(ev.loc.line) + ": " + what + " stored; lib/tcp has no such knob yet");
        }
    } else if (set_.lenient_sockopt) {
        note("line " + std::to_string(ev.loc.line) + ": setsockopt " + what +
             " accepted without effect (--lenient=sockopt)");
    } else {
        r = SysResult::error(ENOPROTOOPT);
    }
    c.attempt = [r] { return r; };
    return c;
}

Call Runner::getsockopt_call(const Event& ev, const SyscallEvent& sc) {
    const int fd = static_cast<int>(int_arg(ev, sc, 0, "an fd"));
    const std::int64_t level = int_arg(ev, sc, 1, "a level");
    const std::int64_t name = int_arg(ev, sc, 2, "an option name");
    const Expr& val = arg(ev, sc, 3);
    Call c;
    SocketOptions* o = host_->options(fd);
    if (o == nullptr) {
        c.attempt = [] { return SysResult::error(EBADF); };
        return c;
    }
    std::optional<std::int64_t> got;  // the value returned through the argument
    SysResult r = SysResult::ok(0);
    bool checked_here = false;
    if (level == SOL_SOCKET && name == SO_LINGER) {
        checked_here = true;
        if (!val.is_ellipsis() && !set_.lenient_sockopt) {
            const Expr* on = val.field("l_onoff");
            const Expr* ls = val.field("l_linger");
            auto onv = on != nullptr ? eval_int(*on) : std::nullopt;
            auto sv = ls != nullptr ? eval_int(*ls) : std::nullopt;
            if ((onv && (*onv != 0) != o->linger_on) || (sv && *sv != o->linger_secs)) {
                fail(ev.loc.line, "expected getsockopt SO_LINGER " + to_string(val) + " got {l_onoff=" +
                                      std::to_string(o->linger_on ? 1 : 0) + ", l_linger=" +
                                      std::to_string(o->linger_secs) + "}");
            }
        }
    } else if (level == IPPROTO_TCP && name == TCP_INFO) {
        checked_here = true;
        if (!val.is_ellipsis() && !set_.lenient_sockopt) {
            if (const Expr* st = val.field("tcpi_state"); st != nullptr && !st->is_ellipsis()) {
                auto want = eval_int(*st);
                const auto info = host_->info(fd);
                const std::int64_t have = linux_tcp_state(*host_, fd);
                if (!want || *want != have) {
                    const std::string_view state_name = info && info->state ? tcp::to_string(*info->state) : "CLOSED";
                    fail(ev.loc.line, "expected tcpi_state " + to_string(*st) + " got " + std::to_string(have) + " (" +
                                          std::string(state_name) + ")");
                }
            }
            note("line " + std::to_string(ev.loc.line) + ": TCP_INFO: only tcpi_state is compared");
        }
    } else if (auto v = get_int_sockopt(*host_, fd, static_cast<int>(level), static_cast<int>(name))) {
        got = *v;
    } else if (set_.lenient_sockopt) {
        checked_here = true;
        note("line " + std::to_string(ev.loc.line) + ": getsockopt " + to_string(arg(ev, sc, 2)) +
             " not compared (--lenient=sockopt)");
    } else {
        r = SysResult::error(ENOPROTOOPT);
    }
    c.attempt = [r] { return r; };
    if (got && !checked_here && !val.is_ellipsis() && !r.failed()) {
        const std::string what = to_string(arg(ev, sc, 2));
        const std::int64_t have = *got;
        const int line = ev.loc.line;
        c.check_outputs = [this, &val, have, what, line](const SysResult&) {
            auto want = eval_int(val);
            if (!want) fail(line, "expected an integer value for getsockopt " + what + " got " + to_string(val));
            if (*want != have && !set_.lenient_sockopt) {
                fail(line, "expected getsockopt " + what + " value " + to_string(val) + " got [" +
                               std::to_string(have) + "]");
            }
        };
    }
    return c;
}

Call Runner::poll_call(const Event& ev, const SyscallEvent& sc) {
    const Expr& fds = arg(ev, sc, 0);
    const auto* list = fds.as<expr::List>();
    if (list == nullptr) fail(ev.loc.line, "expected a list of pollfd got " + to_string(fds));
    struct Entry {
        int fd;
        short events;
        const Expr* revents;
    };
    auto entries = std::make_shared<std::vector<Entry>>();
    for (const Expr& item : list->items) {
        const Expr* f = item.field("fd");
        const Expr* e = item.field("events");
        auto fv = f != nullptr ? eval_int(*f) : std::nullopt;
        auto evv = e != nullptr ? eval_int(*e) : std::nullopt;
        if (!fv || !evv) fail(ev.loc.line, "expected {fd=N, events=...} got " + to_string(item));
        entries->push_back({static_cast<int>(*fv), static_cast<short>(*evv), item.field("revents")});
    }
    const std::int64_t timeout = int_arg(ev, sc, 2, "a timeout");
    auto revents = std::make_shared<std::vector<short>>(entries->size(), 0);
    Call c;
    c.attempt = [this, entries, revents]() -> CallResult {
        int ready = 0;
        for (std::size_t i = 0; i < entries->size(); ++i) {
            const Entry& en = (*entries)[i];
            const short all = host_->poll_events(en.fd);
            (*revents)[i] = static_cast<short>(all & (en.events | POLLERR | POLLHUP | POLLNVAL));
            if ((*revents)[i] != 0) ++ready;
        }
        if (ready > 0) return SysResult::ok(ready);
        return std::nullopt;
    };
    if (timeout == 0) {
        c.can_block = false;
        c.when_nonblocking = SysResult::ok(0);
    } else if (timeout > 0) {
        c.deadline = host_->now() + Duration::millis(timeout);
    }
    const int line = ev.loc.line;
    c.check_outputs = [entries, revents, line](const SysResult& res) {
        for (std::size_t i = 0; i < entries->size(); ++i) {
            const Entry& en = (*entries)[i];
            const short have = res.value == 0 ? short{0} : (*revents)[i];
            if (en.revents == nullptr || en.revents->is_ellipsis()) continue;
            auto want = eval_int(*en.revents);
            if (!want) fail(line, "expected revents as an integer got " + to_string(*en.revents));
            if (*want != have) {
                char buf[64];
                std::snprintf(buf, sizeof buf, "0x%x", static_cast<unsigned>(static_cast<unsigned short>(have)));
                fail(line, "expected poll revents " + to_string(*en.revents) + " for fd " + std::to_string(en.fd) +
                               " got " + buf);
            }
        }
    };
    return c;
}

Call Runner::make_call(const Event& ev, const SyscallEvent& sc) {
    const std::string& n = sc.name;
    const int line = ev.loc.line;
    Call c;
    auto fixed = [&c](SysResult r) {
        c.attempt = [r] { return r; };
        return c;
    };
    if (n == "socket") {
        const Expr& dom = arg(ev, sc, 0);
        if (!dom.is_ellipsis()) {
            auto d = eval_int(dom);
            if (!d || (*d != AF_INET && *d != AF_INET6)) return fixed(SysResult::error(EAFNOSUPPORT));
        }
        const std::int64_t type = int_arg(ev, sc, 1, "a socket type");
        if ((type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) != SOCK_STREAM) {
            skip("only SOCK_STREAM sockets are supported (line " + std::to_string(line) + ")");
        }
        const SysResult r = host_->socket((type & SOCK_NONBLOCK) != 0);
        sut_kind_ = SutKind::None;  // packetdrill: the new socket is the socket under test
        sut_port_ = 0;
        return fixed(r);
    }
    if (n == "bind") {
        const int fd = static_cast<int>(int_arg(ev, sc, 0, "an fd"));
        const auto [addr, port] = sockaddr_arg(ev, sc, 1, set_.local, set_.bind_port);
        (void)addr;
        const SysResult r = host_->bind(fd, port);
        if (!r.failed()) sut_port_ = host_->info(fd)->port;
        return fixed(r);
    }
    if (n == "listen") {
        const int fd = static_cast<int>(int_arg(ev, sc, 0, "an fd"));
        const std::int64_t backlog = int_arg(ev, sc, 1, "a backlog");
        const auto b = static_cast<int>(std::clamp<std::int64_t>(backlog, -1, 1 << 20));
        const SysResult r = host_->listen(fd, b, set_.bind_port);
        if (!r.failed()) {
            sut_kind_ = SutKind::Listening;
            sut_port_ = host_->info(fd)->port;
        }
        return fixed(r);
    }
    if (n == "accept") {
        const int fd = static_cast<int>(int_arg(ev, sc, 0, "an fd"));
        const auto info = host_->info(fd);
        c.can_block = !(info && info->nonblocking);
        c.attempt = [this, fd] { return host_->accept(fd); };
        return c;
    }
    if (n == "connect") {
        const int fd = static_cast<int>(int_arg(ev, sc, 0, "an fd"));
        const auto [addr, port] = sockaddr_arg(ev, sc, 1, set_.remote, set_.connect_port);
        const auto info = host_->info(fd);
        const bool nonblocking = info && info->nonblocking;
        const SysResult first = host_->connect(fd, addr, port);
        if (auto i = host_->info(fd); i && i->tuple) {
            sut_kind_ = SutKind::Connection;
            sut_tuple_ = *i->tuple;
        }
        if (nonblocking || !first.failed() || (first.err != EINPROGRESS && first.err != EALREADY)) return fixed(first);
        c.attempt = [this, fd] { return host_->connect_done(fd); };
        return c;
    }
    if (n == "read") {
        return read_call(ev, sc, static_cast<int>(int_arg(ev, sc, 0, "an fd")), int_arg(ev, sc, 2, "a length"), 0);
    }
    if (n == "recv" || n == "recvfrom") {
        return read_call(ev, sc, static_cast<int>(int_arg(ev, sc, 0, "an fd")), int_arg(ev, sc, 2, "a length"),
                         int_arg(ev, sc, 3, "flags"));
    }
    if (n == "readv" || n == "writev") {
        auto total = iov_total(arg(ev, sc, 1));
        if (!total) fail(line, "expected an iovec list got " + to_string(arg(ev, sc, 1)));
        const int fd = static_cast<int>(int_arg(ev, sc, 0, "an fd"));
        return n == "readv" ? read_call(ev, sc, fd, *total, 0) : write_call(ev, sc, fd, *total, 0);
    }
    if (n == "recvmsg" || n == "sendmsg") {
        const Expr& msg = arg(ev, sc, 1);
        const Expr* iov = msg.field("msg_iov");
        auto total = iov != nullptr ? iov_total(*iov) : std::nullopt;
        if (!total) fail(line, "expected a msghdr with msg_iov got " + to_string(msg));
        const int fd = static_cast<int>(int_arg(ev, sc, 0, "an fd"));
        const std::int64_t flags = int_arg(ev, sc, 2, "flags");
        return n == "recvmsg" ? read_call(ev, sc, fd, *total, flags) : write_call(ev, sc, fd, *total, flags);
    }
    if (n == "write") {
        return write_call(ev, sc, static_cast<int>(int_arg(ev, sc, 0, "an fd")), int_arg(ev, sc, 2, "a length"), 0);
    }
    if (n == "send" || n == "sendto") {
        return write_call(ev, sc, static_cast<int>(int_arg(ev, sc, 0, "an fd")), int_arg(ev, sc, 2, "a length"),
                          int_arg(ev, sc, 3, "flags"));
    }
    if (n == "close") return fixed(host_->close(static_cast<int>(int_arg(ev, sc, 0, "an fd"))));
    if (n == "shutdown") {
        return fixed(host_->shutdown(static_cast<int>(int_arg(ev, sc, 0, "an fd")),
                                     static_cast<int>(int_arg(ev, sc, 1, "SHUT_RD, SHUT_WR or SHUT_RDWR"))));
    }
    if (n == "setsockopt") return setsockopt_call(ev, sc);
    if (n == "getsockopt") return getsockopt_call(ev, sc);
    if (n == "fcntl") {
        const int fd = static_cast<int>(int_arg(ev, sc, 0, "an fd"));
        const std::int64_t cmd = int_arg(ev, sc, 1, "a command");
        const auto info = host_->info(fd);
        if (!info) return fixed(SysResult::error(EBADF));
        if (cmd == F_GETFL) return fixed(SysResult::ok(O_RDWR | (info->nonblocking ? O_NONBLOCK : 0)));
        if (cmd == F_SETFL) return fixed(host_->set_nonblocking(fd, (int_arg(ev, sc, 2, "flags") & O_NONBLOCK) != 0));
        if (cmd == F_GETFD || cmd == F_SETFD) return fixed(SysResult::ok(0));
        return fixed(SysResult::error(EINVAL));
    }
    if (n == "poll") return poll_call(ev, sc);
    if (n == "ioctl") {
        const int fd = static_cast<int>(int_arg(ev, sc, 0, "an fd"));
        const std::int64_t req = int_arg(ev, sc, 1, "a request");
        SysResult have;
        if (req == FIONREAD) have = host_->bytes_readable(fd);
        else if (req == SIOCOUTQ) have = host_->bytes_unacked(fd);
        else return fixed(SysResult::error(EINVAL));
        if (have.failed()) return fixed(have);
        const Expr& val = arg(ev, sc, 2);
        c.attempt = [] { return SysResult::ok(0); };
        c.check_outputs = [&val, have, line](const SysResult&) {
            if (val.is_ellipsis()) return;
            auto want = eval_int(val);
            if (!want || *want != have.value) {
                fail(line, "expected ioctl value " + to_string(val) + " got [" + std::to_string(have.value) + "]");
            }
        };
        return c;
    }
    skip("system call " + n + "() is not supported (line " + std::to_string(line) + ")");
}

}  // namespace

Verdict run_script(const Script& script, const RunOptions& opts) { return Runner(script, opts).run(); }

std::optional<std::string> skip_marker(std::string_view text) {
    // A line "// ustcp-skip: REASON" marks a script for behaviour ustcp does not have yet: it
    // is kept (and parsed, so it stays valid) but reported as SKIP, never as passed.
    constexpr std::string_view kMarker = "// ustcp-skip:";
    for (std::size_t at = 0; at < text.size();) {
        const std::size_t end = std::min(text.find('\n', at), text.size());
        const std::string_view line = text.substr(at, end - at);
        if (line.starts_with(kMarker)) {
            std::string_view why = line.substr(kMarker.size());
            while (!why.empty() && why.front() == ' ') why.remove_prefix(1);
            return std::string(why.empty() ? "marked ustcp-skip" : why);
        }
        at = end + 1;
    }
    return std::nullopt;
}

Verdict run_script_text(std::string_view text, const RunOptions& opts) {
    auto script = parse_script(text);
    if (!script) {
        Verdict v;
        v.outcome = Outcome::Fail;
        v.line = script.error().loc.line;
        v.column = script.error().loc.column;
        v.message = script.error().message;
        return v;
    }
    if (auto why = skip_marker(text)) {
        Verdict v;
        v.outcome = Outcome::Skip;
        v.message = "not built yet: " + *why;
        return v;
    }
    return run_script(*script, opts);
}

std::optional<std::string> check_cli_option(const ScriptOption& opt) {
    if (known(opt.name, kIgnoredOptions)) return std::nullopt;
    if (!known(opt.name, kRunnerOptions)) return "unknown option --" + opt.name;
    Settings s;
    bool ignored = false;
    return apply_option(s, opt, ignored);
}

}  // namespace ustcp::packetdrill
