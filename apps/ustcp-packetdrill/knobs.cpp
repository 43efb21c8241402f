#include "knobs.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

namespace ustcp::packetdrill {

namespace {

/// Options kept as integers in SocketOptions::stored and read back as set.
bool stored_option(int level, int name) {
    if (level == SOL_SOCKET) {
        return name == SO_REUSEADDR || name == SO_REUSEPORT || name == SO_KEEPALIVE || name == SO_OOBINLINE ||
               name == SO_RCVLOWAT || name == SO_PRIORITY || name == SO_DEBUG || name == SO_DONTROUTE ||
               name == SO_BROADCAST;
    }
    if (level == IPPROTO_TCP) {
        return name == TCP_NODELAY || name == TCP_KEEPIDLE || name == TCP_KEEPINTVL || name == TCP_KEEPCNT ||
               name == TCP_USER_TIMEOUT || name == TCP_CORK || name == TCP_QUICKACK || name == TCP_DEFER_ACCEPT ||
               name == TCP_LINGER2 || name == TCP_WINDOW_CLAMP || name == TCP_NOTSENT_LOWAT;
    }
    return false;
}

/// Stored options that Host::options_changed() hands to lib/tcp.
bool live_option(int level, int name) {
    return (level == SOL_SOCKET && name == SO_KEEPALIVE) ||
           (level == IPPROTO_TCP && (name == TCP_NODELAY || name == TCP_KEEPIDLE || name == TCP_KEEPINTVL ||
                                     name == TCP_KEEPCNT || name == TCP_USER_TIMEOUT || name == TCP_QUICKACK));
}

}  // namespace

bool is_int_sockopt(int level, int name) {
    return (level == SOL_SOCKET && (name == SO_RCVBUF || name == SO_SNDBUF)) ||
           (level == IPPROTO_TCP && (name == TCP_MAXSEG || name == TCP_SYNCNT)) || stored_option(level, name);
}

SockoptSet set_int_sockopt(Host& host, int fd, int level, int name, std::int64_t value) {
    SocketOptions* o = host.options(fd);
    if (o == nullptr) return {SysResult::error(EBADF), true, false};
    if (level == SOL_SOCKET && (name == SO_RCVBUF || name == SO_SNDBUF)) {
        // Linux caps the value at net.core.rmem_max / wmem_max and reads it back doubled; the
        // connection's buffer is the capped value.
        const auto bytes = static_cast<std::uint32_t>(std::clamp<std::int64_t>(value, 0, kMaxSocketBuffer));
        (name == SO_RCVBUF ? o->rcvbuf : o->sndbuf) = bytes;
        return {SysResult::ok(0), true, true};
    }
    if (level == IPPROTO_TCP && name == TCP_MAXSEG) {
        if (value < 88 || value > 32767) return {SysResult::error(EINVAL), true, true};
        o->maxseg = static_cast<std::uint16_t>(value);
        return {SysResult::ok(0), true, true};
    }
    if (level == IPPROTO_TCP && name == TCP_SYNCNT) {
        if (value < 1 || value > 127) return {SysResult::error(EINVAL), true, true};
        o->syncnt = static_cast<std::uint8_t>(value);
        return {SysResult::ok(0), true, true};
    }
    if (stored_option(level, name)) {
        o->stored[{level, name}] = value;
        const bool live = live_option(level, name);
        if (live) host.options_changed(fd);
        return {SysResult::ok(0), true, live};
    }
    return {SysResult::error(ENOPROTOOPT), false, false};
}

SysResult set_linger(Host& host, int fd, bool on, int secs) {
    SocketOptions* o = host.options(fd);
    if (o == nullptr) return SysResult::error(EBADF);
    o->linger_on = on;
    o->linger_secs = secs;
    return SysResult::ok(0);
}

std::optional<std::int64_t> get_int_sockopt(Host& host, int fd, int level, int name) {
    SocketOptions* o = host.options(fd);
    if (o == nullptr) return std::nullopt;
    if (level == SOL_SOCKET) {
        switch (name) {
            case SO_ERROR: return host.take_error(fd);
            case SO_RCVBUF: return o->rcvbuf ? 2 * std::int64_t{*o->rcvbuf} : std::int64_t{host.recv_buffer(fd)};
            case SO_SNDBUF: return o->sndbuf ? 2 * std::int64_t{*o->sndbuf} : std::int64_t{host.send_buffer(fd)};
            case SO_TYPE: return SOCK_STREAM;
            default: break;
        }
    }
    if (level == IPPROTO_TCP && name == TCP_MAXSEG) {
        if (auto m = host.connection_mss(fd)) return *m;
        return o->maxseg ? *o->maxseg : 536;  // Linux: TCP_MSS_DEFAULT before a connection
    }
    if (level == IPPROTO_TCP && name == TCP_SYNCNT) return o->syncnt ? *o->syncnt : host.config().syn_retries;
    if (auto it = o->stored.find({level, name}); it != o->stored.end()) return it->second;
    // Linux's defaults for options never set.
    if (level == SOL_SOCKET && (name == SO_REUSEADDR || name == SO_REUSEPORT || name == SO_KEEPALIVE ||
                                name == SO_OOBINLINE || name == SO_PRIORITY || name == SO_DEBUG)) {
        return 0;
    }
    if (level == IPPROTO_TCP) {
        switch (name) {
            case TCP_KEEPIDLE: return 7200;
            case TCP_KEEPINTVL: return 75;
            case TCP_KEEPCNT: return 9;
            case TCP_NODELAY:
            case TCP_CORK:
            case TCP_USER_TIMEOUT:
            case TCP_QUICKACK:
            case TCP_DEFER_ACCEPT: return 0;
            default: break;
        }
    }
    return std::nullopt;
}

std::int64_t linux_tcp_state(tcp::State s) {
    switch (s) {
        case tcp::State::Closed: return TCP_CLOSE;
        case tcp::State::Listen: return TCP_LISTEN;
        case tcp::State::SynSent: return TCP_SYN_SENT;
        case tcp::State::SynReceived: return TCP_SYN_RECV;
        case tcp::State::Established: return TCP_ESTABLISHED;
        case tcp::State::FinWait1: return TCP_FIN_WAIT1;
        case tcp::State::FinWait2: return TCP_FIN_WAIT2;
        case tcp::State::CloseWait: return TCP_CLOSE_WAIT;
        case tcp::State::Closing: return TCP_CLOSING;
        case tcp::State::LastAck: return TCP_LAST_ACK;
        case tcp::State::TimeWait: return TCP_TIME_WAIT;
    }
    return TCP_CLOSE;
}

std::int64_t linux_tcp_state(const Host& host, int fd) {
    const auto info = host.info(fd);
    if (info && info->kind == Host::SocketKind::Listening) return TCP_LISTEN;
    if (info && info->state) return linux_tcp_state(*info->state);
    return TCP_CLOSE;
}

SysctlResult apply_sysctl(tcp::Config& c, const std::string& name, std::int64_t v) {
    const auto set = [](std::string what) { return SysctlResult{true, std::move(what)}; };
    const auto ignore = [](std::string why) { return SysctlResult{false, std::move(why)}; };
    const bool on = v != 0;
    const auto flag = [&](const char* field, bool value) {
        return set(std::string("Config::") + field + "=" + (value ? "true" : "false"));
    };
    if (name == "net.ipv4.tcp_sack" || name == "net.inet.tcp.sack.enable") {
        c.sack = on;
        return flag("sack", on);
    }
    if (name == "net.ipv4.tcp_recovery") {
        // Linux: bit 0 turns RACK loss detection (and its tail-loss probes) on.
        c.rack = (v & 1) != 0;
        return flag("rack", c.rack);
    }
    if (name == "net.ipv4.tcp_timestamps") {
        c.timestamps = on;
        return flag("timestamps", on);
    }
    if (name == "net.ipv4.tcp_window_scaling") {
        c.window_scaling = on;
        return flag("window_scaling", on);
    }
    if (name == "net.inet.tcp.rfc1323") {
        // FreeBSD: 1 both, 0 neither, 2 window scaling only, 3 timestamps only.
        c.window_scaling = v == 1 || v == 2;
        c.timestamps = v == 1 || v == 3;
        return set("Config::window_scaling/timestamps");
    }
    if (name == "net.ipv4.tcp_syncookies") {
        c.syn_cookies = v == 0   ? tcp::SynCookieMode::Off
                        : v == 1 ? tcp::SynCookieMode::OnOverflow
                                 : tcp::SynCookieMode::Always;
        return set("Config::syn_cookies");
    }
    if (name == "net.inet.tcp.syncookies") {
        c.syn_cookies = on ? tcp::SynCookieMode::OnOverflow : tcp::SynCookieMode::Off;
        return set("Config::syn_cookies");
    }
    if (name == "net.inet.tcp.syncookies_only") {
        if (on) c.syn_cookies = tcp::SynCookieMode::Always;
        return set("Config::syn_cookies");
    }
    if (name == "net.inet.tcp.insecure_rst" || name == "net.inet.tcp.insecure_syn") {
        c.rfc5961 = !on;
        return set(std::string("Config::rfc5961=") + (on ? "false" : "true") + " (one knob for RST and SYN hardening)");
    }
    if (name == "net.ipv4.tcp_syn_retries" && v >= 1 && v <= 127) {
        c.syn_retries = static_cast<std::uint8_t>(v);
        return set("Config::syn_retries");
    }
    if (name == "net.ipv4.tcp_synack_retries" && v >= 0 && v <= 255) {
        c.synack_retries = static_cast<std::uint8_t>(v);
        return set("Config::synack_retries");
    }
    if (name == "net.ipv4.tcp_retries2" && v >= 0 && v <= 255) {
        c.data_retries = static_cast<std::uint8_t>(v);
        return set("Config::data_retries");
    }
    if (name == "net.ipv4.tcp_abort_on_overflow") {
        c.accept_overflow = on ? tcp::AcceptOverflow::Reset : tcp::AcceptOverflow::Drop;
        return set("Config::accept_overflow");
    }
    if (name == "net.ipv4.tcp_challenge_ack_limit" && v >= 0) {
        c.challenge_acks_per_engine_per_sec = static_cast<std::uint32_t>(v);
        return set("Config::challenge_acks_per_engine_per_sec");
    }
    if (name == "net.inet.tcp.msl" && v > 0) {
        c.msl = Duration::millis(v);
        return set("Config::msl");
    }
    if (name == "net.ipv4.tcp_rfc1337") {
        return ignore("no equivalent in lib/tcp (a RST in TIME-WAIT closes it, as with tcp_rfc1337=0)");
    }
    if (name == "net.inet.tcp.ecn.enable" || name == "net.ipv4.tcp_ecn") {
        return ignore("lib/tcp does not negotiate ECN");
    }
    return ignore("no equivalent in lib/tcp");
}

}  // namespace ustcp::packetdrill
