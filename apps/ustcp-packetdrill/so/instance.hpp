// One stack under test for packetdrill's shared-object mode: a Host (../host.hpp) behind the
// calls of struct packetdrill_interface (packetdrill_abi.h), which interface.cpp forwards
// here. Everything is in C terms -- sockaddr, iovec, msghdr, pollfd, errno values -- and every
// call takes the one mutex, because packetdrill calls from two threads.
//
// The clock is virtual. It starts at kEpochMicros (wall-clock microseconds, what
// gettimeofday reports) and moves only when packetdrill lets time pass:
//  * usleep(n) moves it n microseconds, firing lib/tcp's timers at their deadlines on the way;
//  * every gettimeofday() moves it one tick (Flags::tick, 1 us) after reading it, because
//    packetdrill spins on gettimeofday for the last microseconds before an event, and a clock
//    that never moved would keep it spinning;
//  * netdev_receive() with nothing sent moves it to the next timer deadline, as packets
//    "arrive later" for a sniffer on a real network; with no deadline left it reports none.
//
// Blocking calls. A call on a blocking socket that cannot complete yet (accept with an empty
// queue, read with no data, connect during the handshake, a blocking write with the buffer
// full, poll with a timeout) waits on a condition variable with the mutex released. It is
// retried, by whichever thread changed something, after every packet in, every timer step and
// every other call, so it completes at the virtual instant that made it possible -- and the
// next gettimeofday() on its thread reports that instant, which is when packetdrill checks
// that a blocking call returned. packetdrill runs such calls on its second thread and goes on
// injecting packets and sleeping on the main one, which is what wakes them. When no other
// thread calls in for Flags::idle (200 ms of real time), the waiting call takes it that it is
// alone -- a blocking call packetdrill made on its main thread, or packetdrill waiting for this
// one to finish -- and moves the clock itself to the next deadline (a retransmission, its own
// poll timeout), as time passes for a process asleep in a real kernel. A call that nothing
// could ever wake (no timer left, nobody calling) goes on waiting, as on Linux, after one
// line on stderr.
// Non-blocking sockets and MSG_DONTWAIT answer EAGAIN instead, as on Linux.
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "host.hpp"
#include "ustcp/tcp/config.hpp"

namespace ustcp::packetdrill::so {

/// The wall-clock time the virtual clock starts at: 2020-09-13 12:26:40 UTC, in microseconds.
inline constexpr std::int64_t kEpochMicros = 1'600'000'000'000'000;

/// What --so_flags sets (docs/packetdrill-so.md lists the names).
struct Flags {
    Ipv4Addr local{192, 168, 0, 1};  ///< our address (packetdrill's --local_ip default)
    Ipv4Addr remote{192, 0, 2, 1};   ///< the peer's (packetdrill's --remote_ip default)
    tcp::Config cfg;
    Duration tick = Duration::micros(1);        ///< how far each gettimeofday() moves the clock
    std::chrono::milliseconds idle{200};        ///< real time before a lone waiter moves the clock (0: never)
    bool lenient_sockopt = false;               ///< unknown socket options succeed (set) and read 0 (get)
    bool verbose = false;                       ///< one line on stderr per packet and per call
};

/// Parses a --so_flags string: entries `name=value` (or a bare `name`, meaning 1) separated by
/// commas or spaces; null or empty gives the defaults. Returns the error text for an unknown
/// name or a bad value. Sysctl names (net.ipv4.tcp_sack=0) go through apply_sysctl(); those
/// lib/tcp has no equivalent for are reported in `warnings`, not refused.
std::optional<std::string> parse_flags(const char* text, Flags& out, std::vector<std::string>& warnings);

class Instance {
public:
    explicit Instance(const Flags& flags);
    Instance(const Instance&) = delete;
    Instance& operator=(const Instance&) = delete;
    ~Instance();

    // The socket calls. Each returns what the libc call would, with the errno in `err`.
    SysResult socket(int domain, int type, int protocol);
    SysResult bind(int fd, const sockaddr* addr, socklen_t len);
    SysResult listen(int fd, int backlog);
    SysResult accept(int fd, sockaddr* addr, socklen_t* len);
    SysResult connect(int fd, const sockaddr* addr, socklen_t len);
    /// read, readv, recv, recvfrom and recvmsg: a scatter list and flags (MSG_PEEK,
    /// MSG_DONTWAIT, MSG_WAITALL). `namelen` (may be null): the source address length
    /// recvfrom/recvmsg report -- 0, as Linux does for TCP.
    SysResult recv(int fd, const iovec* iov, std::size_t iovcnt, int flags, socklen_t* namelen);
    /// write, writev, send, sendto and sendmsg: a gather list and flags (MSG_DONTWAIT;
    /// MSG_NOSIGNAL and MSG_MORE are accepted and change nothing: no signal is ever raised).
    SysResult send(int fd, const iovec* iov, std::size_t iovcnt, int flags);
    /// F_GETFL, F_SETFL (O_NONBLOCK), F_GETFD, F_SETFD; `arg` is the int argument.
    SysResult fcntl(int fd, int cmd, int arg);
    /// FIONREAD/SIOCINQ, SIOCOUTQ (int out), FIONBIO (int in); `arg` points at the int.
    SysResult ioctl(int fd, unsigned long request, void* arg);
    SysResult close(int fd);
    SysResult shutdown(int fd, int how);
    SysResult getsockopt(int fd, int level, int name, void* val, socklen_t* len);
    SysResult setsockopt(int fd, int level, int name, const void* val, socklen_t len);
    SysResult poll(pollfd* fds, nfds_t nfds, int timeout_ms);

    // The network and the clock.
    /// A packet from the peer. Anything that is not a well-formed IPv4 TCP packet is dropped,
    /// as a host would drop it (counted in verbose mode); the call still succeeds.
    SysResult netdev_send(const void* buf, std::size_t count);
    /// The oldest packet the stack sent and packetdrill has not taken, as an IPv4 packet, and
    /// the wall-clock microseconds it left at; *count = 0 when none will come. EMSGSIZE (and
    /// the packet is dropped) when it does not fit in *count bytes.
    SysResult netdev_receive(void* buf, std::size_t* count, long long* time_usecs);
    SysResult usleep(std::uint64_t usec);
    SysResult gettimeofday(timeval* tv);

private:
    struct Waiter;
    using Lock = std::unique_lock<std::mutex>;

    /// Takes the mutex for one call and counts the call as activity.
    Lock enter(bool reading_clock = false);
    /// Runs `attempt` until it completes (see the file comment). `can_block` false: a call
    /// that cannot complete now returns `when_nonblocking`. A deadline ends the wait with
    /// `at_deadline` (poll's timeout).
    SysResult run(Lock& lk, std::function<CallResult()> attempt, bool can_block,
                  SysResult when_nonblocking = SysResult::error(EAGAIN), std::optional<Instant> deadline = {},
                  SysResult at_deadline = SysResult::ok(0));
    /// Retries every waiting call; wakes those that completed.
    void check_waiters();
    /// The earliest timer of any connection or deadline of a waiting call.
    [[nodiscard]] Instant next_wake() const;
    void step_to(Instant t);
    /// Moves the clock to `t`, stopping at every timer deadline on the way.
    void advance_to(Instant t);
    /// A line on stderr in verbose mode, stamped with `at` (default: now).
    void trace(const std::string& line, std::optional<Instant> at = std::nullopt) const;

    Flags flags_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    Host host_;
    std::vector<Waiter*> waiters_;
    std::uint64_t activity_ = 0;  // calls so far, from any thread
    const std::uint64_t id_;      // unique per instance: names it in a thread's return stamp
};

}  // namespace ustcp::packetdrill::so
