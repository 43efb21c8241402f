// The host ustcp-packetdrill runs a script against: lib/tcp plus the parts an
// operating system adds around it -- file descriptors, a socket layer with
// Linux's calling conventions, a demux from 4-tuples to connections and
// listeners, and a virtual clock. Nothing here reads a real clock or touches a
// network: the runner injects the peer's segments and reads ours back from
// `sent()`, and time moves only when the runner calls `advance_to()`.
//
//   Host host(cfg, local, remote);
//   int fd = host.socket(false).value;
//   host.bind(fd, 8080); host.listen(fd, 1);
//   host.inject(tuple, segment_bytes);         // the peer's SYN
//   for (const SentSegment& s : host.sent()) ...  // our SYN-ACK, stamped with the time it left
//   host.advance_to(host.now() + Duration::seconds(1));  // retransmission timers fire
//
// Socket semantics follow Linux where packetdrill scripts depend on them: fds
// from 3, lowest free first; a connection's error (sk_err) is reported once, by
// the first call that looks, after which reads see end of file and writes EPIPE;
// SO_RCVBUF/SO_SNDBUF read back doubled; writes on a connection still in its
// handshake wait for it. Calls that cannot complete yet return nullopt
// (`CallResult`), and the runner decides whether that means EAGAIN or waiting.
//
// Test-tool code: it allocates freely (connections are never freed during a run,
// so pointers in lib/tcp's events stay valid). lib/tcp itself allocates nothing.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ustcp/base/addr.hpp"
#include "ustcp/base/time.hpp"
#include "ustcp/tcp/config.hpp"
#include "ustcp/tcp/connection.hpp"
#include "ustcp/tcp/context.hpp"
#include "ustcp/tcp/listener.hpp"
#include "ustcp/wire/tcp.hpp"

namespace ustcp::packetdrill {

/// What a system call returned: `value` >= 0, or -1 with `err` (an errno).
struct SysResult {
    std::int64_t value = 0;
    int err = 0;

    static SysResult ok(std::int64_t v) noexcept { return {v, 0}; }
    static SysResult error(int e) noexcept { return {-1, e}; }
    [[nodiscard]] bool failed() const noexcept { return value < 0; }
    friend bool operator==(const SysResult&, const SysResult&) = default;
};

/// A call that may have to wait: nullopt means it cannot complete yet (a blocking
/// socket would sleep; a non-blocking one answers EAGAIN).
using CallResult = std::optional<SysResult>;

/// A segment our TCP sent, as it left: header, payload and the time.
struct SentSegment {
    Instant at;
    FourTuple tuple;  ///< our side first
    wire::TcpRepr hdr;
    std::size_t payload_len = 0;
    std::vector<std::uint8_t> payload;  ///< payload_len bytes, copied as the segment left
};

/// Per-socket settings from setsockopt(); those lib/tcp has a knob for are applied
/// to the Config of the connections the socket opens.
struct SocketOptions {
    std::optional<std::uint32_t> rcvbuf;  ///< SO_RCVBUF as set (reads back doubled)
    std::optional<std::uint32_t> sndbuf;  ///< SO_SNDBUF as set
    std::optional<std::uint16_t> maxseg;  ///< TCP_MAXSEG: caps our MSS option
    std::optional<std::uint8_t> syncnt;   ///< TCP_SYNCNT: SYN retransmissions
    bool linger_on = false;               ///< SO_LINGER l_onoff
    int linger_secs = 0;                  ///< SO_LINGER l_linger
    /// Everything else that was set, by (level, name): stored and read back only.
    std::map<std::pair<int, int>, std::int64_t> stored;
};

class Host {
public:
    /// `cfg` is the system-wide TCP configuration (sysctls edit it through config()).
    Host(const tcp::Config& cfg, Ipv4Addr local, Ipv4Addr remote);
    Host(const Host&) = delete;
    Host& operator=(const Host&) = delete;
    ~Host();

    /// The system-wide configuration. Connections copy it (with their socket's options)
    /// when they are created, as sysctls apply to new connections.
    tcp::Config& config() noexcept { return stack_.cfg; }
    [[nodiscard]] Ipv4Addr local_addr() const noexcept { return local_; }
    [[nodiscard]] Ipv4Addr remote_addr() const noexcept { return remote_; }
    [[nodiscard]] Instant now() const noexcept { return now_; }

    // ---- Sockets. fds are small integers from 3, lowest free first. ----

    enum class SocketKind : std::uint8_t { Fresh, Listening, Connection };
    struct SocketInfo {
        SocketKind kind = SocketKind::Fresh;
        bool nonblocking = false;
        std::uint16_t port = 0;  ///< bound or listening port; the local port of a connection
        std::optional<FourTuple> tuple;              ///< a connection's 4-tuple, our side first
        std::optional<tcp::State> state;             ///< a connection's TCP state
    };
    /// nullopt when `fd` is not open.
    [[nodiscard]] std::optional<SocketInfo> info(int fd) const;

    SysResult socket(bool nonblocking);
    /// Port 0 picks an ephemeral port. Errors: EBADF, EINVAL (already bound or connected).
    SysResult bind(int fd, std::uint16_t port);
    /// An unbound socket listens on `default_port`. Errors: EBADF, EINVAL (connected).
    SysResult listen(int fd, int backlog, std::uint16_t default_port);
    /// A new fd for the oldest established connection. Errors: EBADF, EINVAL (not listening).
    CallResult accept(int fd);
    /// Starts an active open, or reports on one started before (Linux: EALREADY while
    /// in progress, 0 once established, the error once if it failed, EISCONN after that).
    /// For a new connection the result is EINPROGRESS; connect_done() says when it ends.
    SysResult connect(int fd, Ipv4Addr addr, std::uint16_t port);
    /// For a blocking connect(): nullopt while the handshake runs, then 0 or the error.
    CallResult connect_done(int fd);
    /// Reads up to `len` bytes into `out` (which has room for `len`; null: the data is
    /// discarded); `peek` leaves them queued.
    CallResult read(int fd, std::size_t len, bool peek, std::uint8_t* out = nullptr);
    /// Queues up to `len` bytes from `data` (null: zeros). Returns what was queued.
    CallResult write(int fd, std::size_t len, const std::uint8_t* data = nullptr);
    /// how: SHUT_RD, SHUT_WR or SHUT_RDWR. Errors: EBADF, ENOTCONN, EINVAL.
    SysResult shutdown(int fd, int how);
    /// Errors: EBADF.
    SysResult close(int fd);
    SysResult set_nonblocking(int fd, bool on);
    /// poll(2) revents for `fd` (POLLIN, POLLOUT, POLLERR, POLLHUP, POLLRDHUP), before
    /// masking with the requested events. POLLNVAL for a closed fd.
    [[nodiscard]] short poll_events(int fd) const;
    /// Bytes a read would return now (FIONREAD / SIOCINQ). Errors: EBADF, EINVAL.
    SysResult bytes_readable(int fd) const;
    /// Bytes queued and not yet acknowledged (SIOCOUTQ).
    SysResult bytes_unacked(int fd) const;

    SocketOptions* options(int fd);
    /// The socket's options changed: its connection, if any, takes those lib/tcp applies
    /// while connected (TCP_NODELAY, SO_KEEPALIVE, TCP_KEEPIDLE/INTVL/CNT, TCP_USER_TIMEOUT).
    void options_changed(int fd);
    /// Consumes and returns the connection's pending error (getsockopt SO_ERROR): 0 if none.
    int take_error(int fd);
    /// The current send MSS of a connection, for getsockopt(TCP_MAXSEG).
    [[nodiscard]] std::optional<std::uint16_t> connection_mss(int fd) const;
    /// The receive/send buffer a connection opened by `fd` would get.
    [[nodiscard]] std::uint32_t recv_buffer(int fd) const;
    [[nodiscard]] std::uint32_t send_buffer(int fd) const;

    // ---- Network and clock ----

    /// SEGMENT ARRIVES from the peer: `segment` is the TCP header, options and payload,
    /// with a valid checksum, for `tuple` (our side first). Parsed as the engine parses
    /// what a NIC delivers; malformed segments are counted and dropped.
    void inject(const FourTuple& tuple, wire::Bytes segment);
    /// Moves the clock to `t` (never backwards), firing timers that fall due on the way,
    /// each at its own deadline. Before the clock leaves an instant, the ACKs that
    /// instant's segments left pending (Context::defer_acks) are sent.
    void advance_to(Instant t);
    /// Sends the ACKs deferred at this instant (the end of a burst).
    void flush_acks();
    /// The earliest timer of any connection; kNever if none.
    [[nodiscard]] Instant next_deadline() const;
    /// Segments sent so far and not yet consumed by the runner, oldest first.
    std::deque<SentSegment>& sent() noexcept { return sent_; }
    [[nodiscard]] const tcp::Counters& counters() const noexcept { return stack_.counters; }

private:
    struct Conn;
    struct ListenSlot;
    struct Socket;

    Socket* sock(int fd);
    const Socket* sock(int fd) const;
    int lowest_free_fd() const;
    std::uint16_t ephemeral_port();
    tcp::Config effective_config(const SocketOptions& o) const;
    /// A Context for one call into lib/tcp; converts to the `Context&` lib/tcp takes and
    /// lives until the end of the full expression.
    struct CallCtx {
        tcp::Context c;
        operator tcp::Context&() noexcept { return c; }  // NOLINT: implicit by design
    };
    CallCtx ctx(const tcp::Config& cfg) noexcept;
    Conn& new_conn(const FourTuple& t, const tcp::Config& cfg);
    Conn* find_conn(const tcp::Connection* c);
    /// Moves segments and events out of the outbox (segments stamped now).
    void drain();
    void fire_timers();
    /// The connection's failure, reported once (Linux's sock_error()).
    std::optional<int> take_sk_err(Conn& c);
    void close_listener(ListenSlot& l);

    // The outbox, counters, challenge-ACK budget and keys every call shares. Its Config is the
    // system-wide one; each call gets a Context with its connection's own Config (ctx()).
    tcp::Stack stack_;
    Ipv4Addr local_;
    Ipv4Addr remote_;
    Instant now_;
    std::uint16_t next_ephemeral_ = 32768;  // Linux's default ip_local_port_range starts here

    std::map<int, std::unique_ptr<Socket>> sockets_;
    std::vector<std::unique_ptr<Conn>> conns_;            // every connection ever made; never freed
    std::map<FourTuple, Conn*> flows_;                    // the current incarnation of each 4-tuple
    std::vector<std::unique_ptr<ListenSlot>> listeners_;  // every listener ever made; never freed
    std::map<std::uint16_t, ListenSlot*> listening_;      // open listeners by port
    std::deque<SentSegment> sent_;
};

}  // namespace ustcp::packetdrill
