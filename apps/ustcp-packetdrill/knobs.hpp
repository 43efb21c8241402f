// Linux's knobs on a Host: integer socket options (setsockopt/getsockopt) and sysctls,
// mapped onto SocketOptions and tcp::Config. Shared by the script runner (runner.cpp),
// which takes the values from script expressions, and the shared-object interface
// (so/), which takes them from the C calls packetdrill makes; neither decides on its
// own what an option means.
//
//   SockoptSet r = set_int_sockopt(host, fd, IPPROTO_TCP, TCP_NODELAY, 1);
//   if (!r.known) ...;                                 // ENOPROTOOPT, or lenient acceptance
//   std::optional<std::int64_t> v = get_int_sockopt(host, fd, SOL_SOCKET, SO_RCVBUF);
//   SysctlResult s = apply_sysctl(host.config(), "net.ipv4.tcp_sack", 0);
//
// Values follow Linux: SO_RCVBUF/SO_SNDBUF are capped at rmem_max/wmem_max and read back
// doubled, TCP_MAXSEG accepts 88..32767, TCP_SYNCNT 1..127, and unset options read back
// Linux's defaults.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "host.hpp"
#include "ustcp/tcp/config.hpp"
#include "ustcp/tcp/state.hpp"

namespace ustcp::packetdrill {

/// Linux's default net.core.rmem_max / wmem_max: SO_RCVBUF/SO_SNDBUF are capped here.
inline constexpr std::int64_t kMaxSocketBuffer = 212992;

struct SockoptSet {
    /// 0, or -1 with the errno (EBADF, EINVAL for a value out of range). ENOPROTOOPT is left
    /// to the caller: see `known`.
    SysResult result;
    bool known = false;     ///< an option this host understands (false: nothing was changed)
    bool reaches_tcp = false;  ///< it changes what lib/tcp does (else it is only stored and read back)
};

/// Whether set_int_sockopt() knows (level, name).
bool is_int_sockopt(int level, int name);

/// setsockopt() of an integer-valued option (not SO_LINGER: set_linger()).
SockoptSet set_int_sockopt(Host& host, int fd, int level, int name, std::int64_t value);

/// setsockopt(SO_LINGER). Errors: EBADF.
SysResult set_linger(Host& host, int fd, bool on, int secs);

/// getsockopt() of an integer-valued option: its value, or nullopt for an option this host
/// does not know (the caller answers ENOPROTOOPT) or a closed fd (check host.options() first).
/// SO_ERROR consumes the pending error, as on Linux.
std::optional<std::int64_t> get_int_sockopt(Host& host, int fd, int level, int name);

/// Linux's tcpi_state number for a TCP state, and for what `fd` is now (TCP_LISTEN for a
/// listener, TCP_CLOSE for a fresh socket or a closed fd).
std::int64_t linux_tcp_state(tcp::State s);
std::int64_t linux_tcp_state(const Host& host, int fd);

struct SysctlResult {
    bool applied = false;
    /// applied: what it set ("Config::sack=false"); otherwise why it was ignored.
    std::string detail;
};

/// Applies a sysctl assignment to the system-wide configuration (Linux and FreeBSD names).
SysctlResult apply_sysctl(tcp::Config& cfg, const std::string& name, std::int64_t value);

}  // namespace ustcp::packetdrill
