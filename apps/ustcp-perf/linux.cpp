// ustcp-perf --backend linux: the same workloads (apps/perf) on kernel sockets, one thread,
// non-blocking sockets on an edge-triggered epoll. --busy-poll USEC sets SO_BUSY_POLL on
// every socket and polls epoll without sleeping.
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "options.hpp"
#include "report.hpp"

namespace ustcp::perf {

namespace {

volatile std::sig_atomic_t g_stop = 0;  // SIGINT/SIGTERM: the process has one loop
void on_signal(int) { g_stop = 1; }

Instant mono_now() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return Instant::from_nanos(static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec);
}

class FdIo final : public Io {
public:
    explicit FdIo(int fd) : fd_(fd) {}
    IoResult send(std::span<const std::uint8_t> b) override {
        const ssize_t n = ::send(fd_, b.data(), b.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) return {static_cast<std::size_t>(n), IoStatus::Ok};
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return {0, IoStatus::WouldBlock};
        return {0, IoStatus::Error};
    }
    IoResult recv(std::span<std::uint8_t> b) override {
        const ssize_t n = ::recv(fd_, b.data(), b.size(), MSG_DONTWAIT);
        if (n > 0) return {static_cast<std::size_t>(n), IoStatus::Ok};
        if (n == 0) return {0, IoStatus::Eof};
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return {0, IoStatus::WouldBlock};
        return {0, IoStatus::Error};
    }
    [[nodiscard]] Instant refresh(Instant) const override { return mono_now(); }

private:
    int fd_;
};

void tune(int fd, const Options& o) {
    const int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (o.busy_poll_us > 0) {
        const int us = static_cast<int>(o.busy_poll_us);
        (void)setsockopt(fd, SOL_SOCKET, SO_BUSY_POLL, &us, sizeof us);
    }
}

void reset_close(int fd) {
    const linger l{1, 0};  // close() sends RST
    (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    ::close(fd);
}

sockaddr_in sockaddr_of(Ipv4Addr a, std::uint16_t port) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(a.value());
    return sa;
}

/// The client's sockets, one per pool slot.
class LinuxClient final : public PoolBackend {
public:
    LinuxClient(const Options& o, int ep) : o_(o), ep_(ep), fds_(o.conns, -1), gen_(o.conns, 0) {}

    bool open(std::size_t slot, std::string& err) override {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            err = std::strerror(errno);
            return false;
        }
        tune(fd, o_);
        if (!o_.sources.empty()) {
            const sockaddr_in local = sockaddr_of(o_.sources[slot % o_.sources.size()], 0);
            if (::bind(fd, reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0) {
                err = std::string("bind: ") + std::strerror(errno);
                ::close(fd);
                return false;
            }
        }
        const sockaddr_in sa = sockaddr_of(o_.remote, o_.port);
        if (::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0 && errno != EINPROGRESS) {
            err = std::strerror(errno);
            ::close(fd);
            return false;
        }
        ++gen_[slot];
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
        ev.data.u64 = (std::uint64_t{gen_[slot]} << 32) | slot;
        if (epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev) != 0) {
            err = std::string("epoll_ctl: ") + std::strerror(errno);
            ::close(fd);
            return false;
        }
        fds_[slot] = fd;
        return true;
    }
    void close(std::size_t slot, bool reset) override {
        const int fd = fds_[slot];
        if (fd < 0) return;
        fds_[slot] = -1;
        (void)epoll_ctl(ep_, EPOLL_CTL_DEL, fd, nullptr);
        if (reset) reset_close(fd);
        else ::close(fd);
    }
    /// Whether an event's tag still names the slot's current socket.
    [[nodiscard]] int fd_for(std::uint64_t tag, std::size_t& slot) const {
        slot = static_cast<std::size_t>(tag & 0xffffffffu);
        if (slot >= fds_.size() || gen_[slot] != static_cast<std::uint32_t>(tag >> 32)) return -1;
        return fds_[slot];
    }

private:
    const Options& o_;
    int ep_;
    std::vector<int> fds_;
    std::vector<std::uint32_t> gen_;
};

bool write_file(const std::string& path, const std::string& text) {
    std::ofstream f(path);
    f << text;
    return static_cast<bool>(f);
}

}  // namespace

int run_linux_client(const Options& o) {
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    std::signal(SIGPIPE, SIG_IGN);
    const int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) {
        std::fprintf(stderr, "ustcp-perf: epoll_create1: %s\n", std::strerror(errno));
        return 1;
    }
    ClientEnv env(o.w);
    IntervalLog log(o.spec.intervals());
    Meter meter(o.spec, log);
    LinuxClient backend(o, ep);
    ClientPool pool(env, meter, o.conns, backend, Duration::seconds(o.timeout_s));
    ReportInfo info{o.w.mode, "linux", o.remote.to_string() + ":" + std::to_string(o.port), o.conns, env.w, o.spec};
    Reporter rep(info, {&log});
    std::printf("ustcp-perf: %s, linux backend, %u connection(s) to %s:%u, %.1f s (warm-up %.1f s)%s\n",
                std::string(to_string(o.w.mode)).c_str(), o.conns, o.remote.to_string().c_str(), o.port,
                static_cast<double>(o.spec.duration.as_millis()) / 1e3, static_cast<double>(o.spec.warmup.as_millis()) / 1e3,
                o.busy_poll_us > 0 ? ", busy polling" : "");
    std::fflush(stdout);
    std::vector<epoll_event> evs(256);
    while (!pool.finished()) {
        const Instant now = mono_now();
        if (g_stop) {
            std::printf("ustcp-perf: stopped by a signal\n");
            break;
        }
        pool.tick(now);
        while (auto line = rep.next_line()) std::printf("%s\n", line->c_str());
        std::fflush(stdout);
        if (pool.finished()) break;
        const int n = epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), o.busy_poll_us > 0 ? 0 : 1);
        const Instant t = mono_now();
        for (int k = 0; k < n; ++k) {
            std::size_t slot = 0;
            const int fd = backend.fd_for(evs[static_cast<std::size_t>(k)].data.u64, slot);
            if (fd < 0) continue;
            const std::uint32_t e = evs[static_cast<std::size_t>(k)].events;
            FdIo io(fd);
            if ((e & EPOLLOUT) || (e & EPOLLERR) || (e & EPOLLHUP)) {
                int soerr = 0;
                socklen_t len = sizeof soerr;
                (void)getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
                if (soerr != 0) {
                    pool.on_failed(slot, t, std::string("connect: ") + std::strerror(soerr));
                    continue;
                }
                pool.on_connected(slot, io, t);  // ignored once connected
            }
            if (backend.fd_for(evs[static_cast<std::size_t>(k)].data.u64, slot) == fd) pool.on_event(slot, io, t);
        }
    }
    for (std::size_t i = 0; i < pool.size(); ++i) backend.close(i, true);
    ::close(ep);
    for (const std::string& e : pool.first_errors()) std::printf("ustcp-perf: error: %s\n", e.c_str());
    if (pool.pending_at_end() > 0) std::printf("ustcp-perf: %zu connect(s) still in progress at the end\n", pool.pending_at_end());
    rep.finish();
    std::fputs(rep.summary().c_str(), stdout);
    if (!o.json.empty() && !write_file(o.json, rep.json())) {
        std::fprintf(stderr, "ustcp-perf: cannot write %s\n", o.json.c_str());
        return 1;
    }
    std::fflush(stdout);
    return g_stop ? 1 : 0;
}

int run_linux_server(const Options& o) {
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    std::signal(SIGPIPE, SIG_IGN);
    const int ls = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    const int one = 1;
    (void)setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    const sockaddr_in sa = sockaddr_of(o.serve_addr, o.serve);
    if (ls < 0 || ::bind(ls, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0 || ::listen(ls, 4096) != 0) {
        std::fprintf(stderr, "ustcp-perf: serve: port %u: %s\n", o.serve, std::strerror(errno));
        return 1;
    }
    const int ep = epoll_create1(EPOLL_CLOEXEC);
    epoll_event lev{};
    lev.events = EPOLLIN;
    lev.data.u64 = ~std::uint64_t{0};
    (void)epoll_ctl(ep, EPOLL_CTL_ADD, ls, &lev);
    ServerEnv env;
    ServerCounters total;
    std::unordered_map<int, ServerConn> conns;
    std::printf("ustcp-perf: serving the perf protocol on port %u (linux backend%s); SIGINT/SIGTERM stops\n", o.serve,
                o.busy_poll_us > 0 ? ", busy polling" : "");
    std::fflush(stdout);
    std::vector<epoll_event> evs(256);
    auto drop = [&](int fd, bool reset) {
        (void)epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
        conns.erase(fd);
        if (reset) reset_close(fd);
        else ::close(fd);
    };
    while (!g_stop) {
        const int n = epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), o.busy_poll_us > 0 ? 0 : 100);
        for (int k = 0; k < n; ++k) {
            const epoll_event& ev = evs[static_cast<std::size_t>(k)];
            if (ev.data.u64 == ~std::uint64_t{0}) {
                for (;;) {
                    sockaddr_in peer{};
                    socklen_t len = sizeof peer;
                    const int fd = ::accept4(ls, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (fd < 0) break;
                    tune(fd, o);
                    ++total.accepted;
                    conns.emplace(fd, ServerConn{});
                    epoll_event cev{};
                    cev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
                    cev.data.u64 = static_cast<std::uint64_t>(fd);
                    (void)epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
                }
                continue;
            }
            const int fd = static_cast<int>(ev.data.u64);
            auto it = conns.find(fd);
            if (it == conns.end()) continue;
            FdIo io(fd);
            const ServerConn::Step st = it->second.on_event(env, io, total);
            if (st == ServerConn::Step::Refuse) {
                sockaddr_in peer{};
                socklen_t len = sizeof peer;
                (void)getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len);
                std::printf("ustcp-perf: serve: %s:%u: refused: %s\n",
                            Ipv4Addr(ntohl(peer.sin_addr.s_addr)).to_string().c_str(), ntohs(peer.sin_port),
                            std::string(to_string(*it->second.refused_why())).c_str());
                std::fflush(stdout);
                drop(fd, true);
            } else if (st == ServerConn::Step::Close) {
                drop(fd, false);
            }
        }
    }
    for (auto it = conns.begin(); it != conns.end(); it = conns.begin()) drop(it->first, true);
    ::close(ls);
    ::close(ep);
    std::printf("ustcp-perf: served %llu connection(s) (bulk %llu, rr %llu, crr %llu, hold %llu), %llu request(s), "
                "%llu bytes in, %llu bytes out, %llu refused\n",
                static_cast<unsigned long long>(total.accepted), static_cast<unsigned long long>(total.by_mode[1]),
                static_cast<unsigned long long>(total.by_mode[2]), static_cast<unsigned long long>(total.by_mode[3]),
                static_cast<unsigned long long>(total.by_mode[4]), static_cast<unsigned long long>(total.requests),
                static_cast<unsigned long long>(total.bytes_in), static_cast<unsigned long long>(total.bytes_out),
                static_cast<unsigned long long>(total.refused));
    std::fflush(stdout);
    return 0;
}

}  // namespace ustcp::perf
