// The C side of libustcp_packetdrill.so: packetdrill_interface_init() and the table of
// functions packetdrill calls (packetdrill_abi.h). Each forwards to the Instance that
// `userdata` points at (instance.hpp) and turns its SysResult into libc's convention, setting
// errno after the Instance has let go of its mutex. No exception crosses into C: running out
// of memory is ENOMEM.
#include <fcntl.h>
#include <limits.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "instance.hpp"
#include "packetdrill_abi.h"

namespace {

using ustcp::packetdrill::SysResult;
using ustcp::packetdrill::so::Flags;
using ustcp::packetdrill::so::Instance;

static_assert(sizeof(packetdrill_interface) == 33 * sizeof(void*), "packetdrill's table has 33 members");

Instance& inst(void* ud) { return *static_cast<Instance*>(ud); }

template <class F>
long long call(F&& f) noexcept {
    SysResult r;
    try {
        r = f();
    } catch (const std::bad_alloc&) {
        r = SysResult::error(ENOMEM);
    } catch (...) {
        r = SysResult::error(EIO);
    }
    if (r.failed()) {
        errno = r.err;
        return -1;
    }
    return r.value;
}

int fail(int err) {
    errno = err;
    return -1;
}

bool bad_iovcnt(int n) { return n < 0 || n > IOV_MAX; }

void so_free(void* ud) { delete static_cast<Instance*>(ud); }

int so_socket(void* ud, int domain, int type, int protocol) {
    return static_cast<int>(call([&] { return inst(ud).socket(domain, type, protocol); }));
}

int so_bind(void* ud, int fd, const sockaddr* addr, socklen_t len) {
    return static_cast<int>(call([&] { return inst(ud).bind(fd, addr, len); }));
}

int so_listen(void* ud, int fd, int backlog) {
    return static_cast<int>(call([&] { return inst(ud).listen(fd, backlog); }));
}

int so_accept(void* ud, int fd, sockaddr* addr, socklen_t* len) {
    return static_cast<int>(call([&] { return inst(ud).accept(fd, addr, len); }));
}

int so_connect(void* ud, int fd, const sockaddr* addr, socklen_t len) {
    return static_cast<int>(call([&] { return inst(ud).connect(fd, addr, len); }));
}

ssize_t so_read(void* ud, int fd, void* buf, size_t count) {
    const iovec v{buf, count};
    return call([&] { return inst(ud).recv(fd, &v, 1, 0, nullptr); });
}

ssize_t so_readv(void* ud, int fd, const iovec* iov, int iovcnt) {
    if (bad_iovcnt(iovcnt)) return fail(EINVAL);
    return call([&] { return inst(ud).recv(fd, iov, static_cast<std::size_t>(iovcnt), 0, nullptr); });
}

ssize_t so_recv(void* ud, int fd, void* buf, size_t len, int flags) {
    const iovec v{buf, len};
    return call([&] { return inst(ud).recv(fd, &v, 1, flags, nullptr); });
}

ssize_t so_recvfrom(void* ud, int fd, void* buf, size_t len, int flags, sockaddr* /*src*/, socklen_t* addrlen) {
    const iovec v{buf, len};
    return call([&] { return inst(ud).recv(fd, &v, 1, flags, addrlen); });
}

ssize_t so_recvmsg(void* ud, int fd, msghdr* msg, int flags) {
    if (msg == nullptr) return fail(EFAULT);
    if (msg->msg_iovlen > IOV_MAX) return fail(EMSGSIZE);
    const long long r =
        call([&] { return inst(ud).recv(fd, msg->msg_iov, msg->msg_iovlen, flags, &msg->msg_namelen); });
    if (r >= 0) {
        msg->msg_controllen = 0;  // no ancillary data
        msg->msg_flags = 0;
    }
    return r;
}

ssize_t so_write(void* ud, int fd, const void* buf, size_t count) {
    const iovec v{const_cast<void*>(buf), count};
    return call([&] { return inst(ud).send(fd, &v, 1, 0); });
}

ssize_t so_writev(void* ud, int fd, const iovec* iov, int iovcnt) {
    if (bad_iovcnt(iovcnt)) return fail(EINVAL);
    return call([&] { return inst(ud).send(fd, iov, static_cast<std::size_t>(iovcnt), 0); });
}

ssize_t so_send(void* ud, int fd, const void* buf, size_t len, int flags) {
    const iovec v{const_cast<void*>(buf), len};
    return call([&] { return inst(ud).send(fd, &v, 1, flags); });
}

// A connected TCP socket ignores the destination address, as on Linux.
ssize_t so_sendto(void* ud, int fd, const void* buf, size_t len, int flags, const sockaddr* /*dest*/,
                  socklen_t /*addrlen*/) {
    const iovec v{const_cast<void*>(buf), len};
    return call([&] { return inst(ud).send(fd, &v, 1, flags); });
}

ssize_t so_sendmsg(void* ud, int fd, const msghdr* msg, int flags) {
    if (msg == nullptr) return fail(EFAULT);
    if (msg->msg_iovlen > IOV_MAX) return fail(EMSGSIZE);
    return call([&] { return inst(ud).send(fd, msg->msg_iov, msg->msg_iovlen, flags); });
}

int so_fcntl(void* ud, int fd, int cmd, ...) {
    int arg = 0;
    if (cmd == F_SETFL || cmd == F_SETFD) {  // the commands that take an int
        va_list ap;
        va_start(ap, cmd);
        arg = va_arg(ap, int);
        va_end(ap);
    }
    return static_cast<int>(call([&] { return inst(ud).fcntl(fd, cmd, arg); }));
}

int so_ioctl(void* ud, int fd, unsigned long request, ...) {
    va_list ap;
    va_start(ap, request);
    void* arg = va_arg(ap, void*);
    va_end(ap);
    return static_cast<int>(call([&] { return inst(ud).ioctl(fd, request, arg); }));
}

int so_close(void* ud, int fd) { return static_cast<int>(call([&] { return inst(ud).close(fd); })); }

int so_shutdown(void* ud, int fd, int how) {
    return static_cast<int>(call([&] { return inst(ud).shutdown(fd, how); }));
}

int so_getsockopt(void* ud, int fd, int level, int name, void* val, socklen_t* len) {
    return static_cast<int>(call([&] { return inst(ud).getsockopt(fd, level, name, val, len); }));
}

int so_setsockopt(void* ud, int fd, int level, int name, const void* val, socklen_t len) {
    return static_cast<int>(call([&] { return inst(ud).setsockopt(fd, level, name, val, len); }));
}

int so_poll(void* ud, pollfd* fds, nfds_t nfds, int timeout) {
    return static_cast<int>(call([&] { return inst(ud).poll(fds, nfds, timeout); }));
}

int so_netdev_send(void* ud, const void* buf, size_t count) {
    return static_cast<int>(call([&] { return inst(ud).netdev_send(buf, count); }));
}

int so_netdev_receive(void* ud, void* buf, size_t* count, long long* time_usecs) {
    return static_cast<int>(call([&] { return inst(ud).netdev_receive(buf, count, time_usecs); }));
}

int so_usleep(void* ud, useconds_t usec) { return static_cast<int>(call([&] { return inst(ud).usleep(usec); })); }

int so_gettimeofday(void* ud, timeval* tv, struct timezone* tz) {
    if (tz != nullptr) *tz = {};  // UTC, no DST
    return static_cast<int>(call([&] { return inst(ud).gettimeofday(tv); }));
}

// Not offered: epoll, pipes and splice have no counterpart in the Host.
int so_epoll_create(void*, int) { return fail(ENOSYS); }
int so_epoll_ctl(void*, int, int, int, epoll_event*) { return fail(ENOSYS); }
int so_epoll_wait(void*, int, epoll_event*, int, int) { return fail(ENOSYS); }
int so_pipe(void*, int*) { return fail(ENOSYS); }
int so_splice(void*, int, std::int64_t*, int, std::int64_t*, size_t, unsigned int) { return fail(ENOSYS); }

}  // namespace

// The only symbol the library exports (exports.map). An unusable --so_flags string ends the
// process with status 2 and a message on stderr: packetdrill gives init no way to fail, and a
// run with settings other than those asked for would test the wrong thing.
extern "C" __attribute__((visibility("default"))) void packetdrill_interface_init(const char* flags,
                                                                                  packetdrill_interface* ifc) {
    Flags f;
    std::vector<std::string> warnings;
    Instance* instance = nullptr;
    try {
        if (auto err = ustcp::packetdrill::so::parse_flags(flags, f, warnings)) {
            std::fprintf(stderr, "ustcp_packetdrill: %s\n", err->c_str());
            std::exit(2);
        }
        for (const std::string& w : warnings) std::fprintf(stderr, "ustcp_packetdrill: %s\n", w.c_str());
        instance = new Instance(f);
    } catch (const std::bad_alloc&) {
        std::fprintf(stderr, "ustcp_packetdrill: out of memory\n");
        std::exit(2);
    }
    *ifc = packetdrill_interface{};
    ifc->userdata = instance;
    ifc->free = so_free;
    ifc->socket = so_socket;
    ifc->bind = so_bind;
    ifc->listen = so_listen;
    ifc->accept = so_accept;
    ifc->connect = so_connect;
    ifc->read = so_read;
    ifc->readv = so_readv;
    ifc->recv = so_recv;
    ifc->recvfrom = so_recvfrom;
    ifc->recvmsg = so_recvmsg;
    ifc->write = so_write;
    ifc->writev = so_writev;
    ifc->send = so_send;
    ifc->sendto = so_sendto;
    ifc->sendmsg = so_sendmsg;
    ifc->fcntl = so_fcntl;
    ifc->ioctl = so_ioctl;
    ifc->close = so_close;
    ifc->shutdown = so_shutdown;
    ifc->getsockopt = so_getsockopt;
    ifc->setsockopt = so_setsockopt;
    ifc->poll = so_poll;
    ifc->netdev_send = so_netdev_send;
    ifc->netdev_receive = so_netdev_receive;
    ifc->usleep = so_usleep;
    ifc->gettimeofday = so_gettimeofday;
    ifc->epoll_create = so_epoll_create;
    ifc->epoll_ctl = so_epoll_ctl;
    ifc->epoll_wait = so_epoll_wait;
    ifc->pipe = so_pipe;
    ifc->splice = so_splice;
}
