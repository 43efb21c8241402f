/*
 * The C interface through which Google's packetdrill drives a TCP stack that it loads as a
 * shared object (packetdrill --so_filename=LIB --so_flags=FLAGS). Written for ustcp from the
 * interface's published layout; binary-compatible with packetdrill's own declaration, which
 * this file does not include.
 *
 * The library exports packetdrill_interface_init(). packetdrill allocates a zeroed
 * `struct packetdrill_interface`, passes it to the init function with the --so_flags string
 * (NULL when none was given), and from then on calls only through the table, always passing
 * `userdata` back as the first argument. It calls `free` once, last.
 *
 * Conventions, as for the libc functions the members are named after: a call returns -1 and
 * sets errno on failure. packetdrill calls from two threads (its main thread, and a thread
 * that runs the calls a script marks as blocking), so an implementation must be thread-safe.
 *
 * The layout must not change: packetdrill reads the members by position. This is the layout
 * of upstream packetdrill with the epoll, pipe and splice members (2019 and later); a build
 * whose table ends earlier must not load a library that fills this one.
 */
#ifndef USTCP_PACKETDRILL_ABI_H
#define USTCP_PACKETDRILL_ABI_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#ifdef __cplusplus
extern "C" {
#endif

struct epoll_event;
struct timezone;

struct packetdrill_interface {
    /* Whatever the library wants back in every call; set by the init function. */
    void *userdata;
    /* Releases everything the library holds for this instance. */
    void (*free)(void *userdata);

    /* The socket calls, each with its libc signature after `userdata`. */
    int (*socket)(void *userdata, int domain, int type, int protocol);
    int (*bind)(void *userdata, int fd, const struct sockaddr *addr, socklen_t addrlen);
    int (*listen)(void *userdata, int fd, int backlog);
    int (*accept)(void *userdata, int fd, struct sockaddr *addr, socklen_t *addrlen);
    int (*connect)(void *userdata, int fd, const struct sockaddr *addr, socklen_t addrlen);
    ssize_t (*read)(void *userdata, int fd, void *buf, size_t count);
    ssize_t (*readv)(void *userdata, int fd, const struct iovec *iov, int iovcnt);
    ssize_t (*recv)(void *userdata, int fd, void *buf, size_t len, int flags);
    ssize_t (*recvfrom)(void *userdata, int fd, void *buf, size_t len, int flags, struct sockaddr *src_addr,
                        socklen_t *addrlen);
    ssize_t (*recvmsg)(void *userdata, int fd, struct msghdr *msg, int flags);
    ssize_t (*write)(void *userdata, int fd, const void *buf, size_t count);
    ssize_t (*writev)(void *userdata, int fd, const struct iovec *iov, int iovcnt);
    ssize_t (*send)(void *userdata, int fd, const void *buf, size_t len, int flags);
    ssize_t (*sendto)(void *userdata, int fd, const void *buf, size_t len, int flags,
                      const struct sockaddr *dest_addr, socklen_t addrlen);
    ssize_t (*sendmsg)(void *userdata, int fd, const struct msghdr *msg, int flags);
    /* Variadic like fcntl(2): F_SETFL and F_SETFD pass an int. */
    int (*fcntl)(void *userdata, int fd, int cmd, ...);
    /* Variadic like ioctl(2): the third argument is a pointer for the requests that take one. */
    int (*ioctl)(void *userdata, int fd, unsigned long request, ...);
    int (*close)(void *userdata, int fd);
    int (*shutdown)(void *userdata, int fd, int how);
    int (*getsockopt)(void *userdata, int fd, int level, int optname, void *optval, socklen_t *optlen);
    int (*setsockopt)(void *userdata, int fd, int level, int optname, const void *optval, socklen_t optlen);
    int (*poll)(void *userdata, struct pollfd *fds, nfds_t nfds, int timeout);

    /* The network. netdev_send hands the stack one packet from the peer: `count` bytes at
     * `buf`, an IP packet beginning with its IPv4 (or IPv6) header, no link-layer header.
     * 0, or -1 on error. */
    int (*netdev_send)(void *userdata, const void *buf, size_t count);
    /* netdev_receive takes the next packet the stack sent, in the same form: on entry `*count`
     * is the room at `buf`; on return it is the packet's length, or 0 when no packet came.
     * `*time_usecs` is when the packet left, in the microseconds gettimeofday counts.
     * 0, or -1 on error. */
    int (*netdev_receive)(void *userdata, void *buf, size_t *count, long long *time_usecs);

    /* The stack's clock: packetdrill waits with usleep and reads the time with gettimeofday,
     * so a stack with a virtual clock lets time pass in the one and reports it in the other. */
    int (*usleep)(void *userdata, useconds_t usec);
    int (*gettimeofday)(void *userdata, struct timeval *tv, struct timezone *tz);

    int (*epoll_create)(void *userdata, int size);
    int (*epoll_ctl)(void *userdata, int epfd, int op, int fd, struct epoll_event *event);
    int (*epoll_wait)(void *userdata, int epfd, struct epoll_event *events, int maxevents, int timeout);
    int (*pipe)(void *userdata, int pipefd[2]);
    /* The offsets are loff_t, a 64-bit file offset. */
    int (*splice)(void *userdata, int fd_in, int64_t *off_in, int fd_out, int64_t *off_out, size_t len,
                  unsigned int flags);
};

/* The function the library exports under the name "packetdrill_interface_init". */
typedef void (*packetdrill_interface_init_t)(const char *flags, struct packetdrill_interface *ifc);

void packetdrill_interface_init(const char *flags, struct packetdrill_interface *ifc);

#ifdef __cplusplus
}
#endif

#endif /* USTCP_PACKETDRILL_ABI_H */
