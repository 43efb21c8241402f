/*
 * harness LIB: loads libustcp_packetdrill.so the way packetdrill's --so_filename does (dlopen,
 * dlsym("packetdrill_interface_init"), init with a --so_flags string) and drives it through the
 * table only, as packetdrill would: socket calls, packets in with netdev_send (IPv4 + TCP built
 * here, checksums included), packets out with netdev_receive, the clock through usleep and
 * gettimeofday, and a blocking read on a second thread that a packet from the first one wakes.
 *
 * The scenario: passive open on 192.168.0.1:8080 from 192.0.2.1; data each way; the reply's
 * retransmission when its ACK is withheld (found by netdev_receive moving the clock to the RTO,
 * and again by usleep running through it); a blocking read; close with FIN, ACK, the peer's FIN
 * and our last ACK; an active open with a non-blocking connect; a lone blocking poll; the
 * unsupported calls; and a bad --so_flags string.
 *
 * Exit status 0 on success; otherwise 1, with the failed step named on stderr.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "packetdrill_abi.h"

static struct packetdrill_interface ifc;
static const char *step = "start";

static void fail(const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "harness: step \"%s\" failed: ", step);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

#define CHECK(cond, ...)                  \
    do {                                  \
        if (!(cond)) fail(__VA_ARGS__);   \
    } while (0)

/* A call that must succeed with `want`; a failure shows errno. */
#define EXPECT_RET(call, want)                                                                     \
    do {                                                                                           \
        errno = 0;                                                                                 \
        long long got_ = (long long)(call);                                                        \
        CHECK(got_ == (long long)(want), "%s = %lld (errno %d, %s), expected %lld", #call, got_,   \
              errno, strerror(errno), (long long)(want));                                          \
    } while (0)

/* A call that must fail with errno `err`. */
#define EXPECT_ERR(call, err)                                                                      \
    do {                                                                                           \
        errno = 0;                                                                                 \
        long long got_ = (long long)(call);                                                        \
        CHECK(got_ == -1 && errno == (err), "%s = %lld (errno %d, %s), expected -1 %s", #call,    \
              got_, errno, strerror(errno), #err);                                                 \
    } while (0)

/* ------------------------------------------------------------------------------------------ */
/* Packets */

#define LOCAL_IP 0xc0a80001u  /* 192.168.0.1, the stack */
#define REMOTE_IP 0xc0000201u /* 192.0.2.1, the peer (us) */
#define LOCAL_PORT 8080
#define PEER_PORT 40000

#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_PSH 0x08
#define F_ACK 0x10

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s) {
    for (; n > 1; p += 2, n -= 2) s += (uint32_t)(p[0] << 8 | p[1]);
    if (n == 1) s += (uint32_t)(p[0] << 8);
    return s;
}

static uint16_t fold(uint32_t s) {
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return (uint16_t)s;
}

static void put16(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v) {
    put16(p, v >> 16);
    put16(p + 2, v & 0xffff);
}

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)get16(p) << 16 | get16(p + 2); }

/* The TCP checksum over the IPv4 pseudo-header and `len` bytes of segment. */
static uint16_t tcp_sum(uint32_t src, uint32_t dst, const uint8_t *seg, size_t len) {
    uint8_t ph[12];
    put32(ph, src);
    put32(ph + 4, dst);
    ph[8] = 0;
    ph[9] = IPPROTO_TCP;
    put16(ph + 10, (uint32_t)len);
    return fold(sum16(seg, len, sum16(ph, sizeof ph, 0)));
}

/* Builds an IPv4 packet from the peer: header, TCP header with `opts` (a multiple of 4 bytes),
 * payload. Returns its length. */
static size_t build(uint8_t *out, uint8_t flags, uint32_t seq, uint32_t ack, uint16_t win, const uint8_t *opts,
                    size_t optlen, const void *data, size_t len) {
    const size_t thl = 20 + optlen;
    const size_t total = 20 + thl + len;
    uint8_t *ip = out, *tcp = out + 20;
    memset(out, 0, total);
    ip[0] = 0x45;
    put16(ip + 2, (uint32_t)total);
    put16(ip + 4, 0x1234);
    put16(ip + 6, 0x4000); /* DF */
    ip[8] = 64;
    ip[9] = IPPROTO_TCP;
    put32(ip + 12, REMOTE_IP);
    put32(ip + 16, LOCAL_IP);
    put16(ip + 10, (uint16_t)~fold(sum16(ip, 20, 0)));
    put16(tcp, PEER_PORT);
    put16(tcp + 2, LOCAL_PORT);
    put32(tcp + 4, seq);
    put32(tcp + 8, ack);
    tcp[12] = (uint8_t)((thl / 4) << 4);
    tcp[13] = flags;
    put16(tcp + 14, win);
    if (optlen > 0) memcpy(tcp + 20, opts, optlen);
    if (len > 0) memcpy(tcp + thl, data, len);
    put16(tcp + 16, (uint16_t)~tcp_sum(REMOTE_IP, LOCAL_IP, tcp, thl + len));
    return total;
}

/* A packet the stack sent, parsed and checked. */
struct pkt {
    uint8_t buf[65536];
    size_t len;
    long long time_us;
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;
    uint16_t win;
    const uint8_t *opts;
    size_t optlen;
    const uint8_t *data;
    size_t datalen;
};

/* The data of TCP option `kind` in p (its length in *len), or NULL. */
static const uint8_t *find_opt(const struct pkt *p, uint8_t kind, size_t *len) {
    size_t i = 0;
    while (i < p->optlen) {
        const uint8_t k = p->opts[i];
        if (k == 0) break;
        if (k == 1) {
            ++i;
            continue;
        }
        CHECK(i + 1 < p->optlen && p->opts[i + 1] >= 2 && i + p->opts[i + 1] <= p->optlen, "malformed options");
        if (k == kind) {
            *len = (size_t)p->opts[i + 1] - 2;
            return p->opts + i + 2;
        }
        i += p->opts[i + 1];
    }
    return NULL;
}

/* netdev_receive one packet, which must be a well-formed IPv4 TCP packet from the stack. */
static void receive(struct pkt *p) {
    p->len = sizeof p->buf;
    p->time_us = -1;
    EXPECT_RET(ifc.netdev_receive(ifc.userdata, p->buf, &p->len, &p->time_us), 0);
    CHECK(p->len > 0, "netdev_receive returned no packet");
    CHECK(p->len >= 40, "a packet of %zu bytes", p->len);
    const uint8_t *ip = p->buf, *tcp = p->buf + 20;
    CHECK(ip[0] == 0x45, "IP version/IHL byte 0x%02x", ip[0]);
    CHECK(get16(ip + 2) == p->len, "IP total length %u for %zu bytes", get16(ip + 2), p->len);
    CHECK(fold(sum16(ip, 20, 0)) == 0xffff, "bad IPv4 header checksum");
    CHECK(ip[9] == IPPROTO_TCP, "IP protocol %u", ip[9]);
    CHECK(ip[8] == 64 && (get16(ip + 6) & 0x4000) != 0, "TTL %u / flags 0x%04x: expected 64 and DF", ip[8],
          get16(ip + 6));
    CHECK(get32(ip + 12) == LOCAL_IP && get32(ip + 16) == REMOTE_IP, "addresses %08x > %08x", get32(ip + 12),
          get32(ip + 16));
    const size_t thl = (size_t)(tcp[12] >> 4) * 4;
    CHECK(thl >= 20 && 20 + thl <= p->len, "TCP header length %zu", thl);
    CHECK(tcp_sum(LOCAL_IP, REMOTE_IP, tcp, p->len - 20) == 0xffff, "bad TCP checksum");
    p->sport = get16(tcp);
    p->dport = get16(tcp + 2);
    p->seq = get32(tcp + 4);
    p->ack = get32(tcp + 8);
    p->flags = tcp[13];
    p->win = get16(tcp + 14);
    p->opts = tcp + 20;
    p->optlen = thl - 20;
    p->data = tcp + thl;
    p->datalen = p->len - 20 - thl;
}

/* ------------------------------------------------------------------------------------------ */
/* The peer's side of the connection under test */

static uint32_t peer_seq = 1000; /* the peer's ISN: its SYN */
static uint32_t local_isn;
static uint32_t ts_val = 100;   /* the peer's TSval, one more per packet */
static uint32_t ts_recent;      /* the stack's last TSval, which the peer echoes */

static void send_packet(uint8_t flags, uint32_t seq, uint32_t ack, const void *data, size_t len) {
    uint8_t opts[12] = {1, 1, 8, 10};
    uint8_t pkt[2048];
    put32(opts + 4, ts_val++);
    put32(opts + 8, ts_recent);
    size_t n = build(pkt, flags, seq, ack, 502, opts, sizeof opts, data, len);
    EXPECT_RET(ifc.netdev_send(ifc.userdata, pkt, n), 0);
}

static void note_ts(const struct pkt *p) {
    size_t n = 0;
    const uint8_t *ts = find_opt(p, 8, &n);
    CHECK(ts != NULL && n == 8, "no timestamp option on a packet of a connection that negotiated them");
    ts_recent = get32(ts);
}

static long long now_us(void) {
    struct timeval tv;
    EXPECT_RET(ifc.gettimeofday(ifc.userdata, &tv, NULL), 0);
    return (long long)tv.tv_sec * 1000000 + tv.tv_usec;
}

/* ------------------------------------------------------------------------------------------ */
/* The blocking read, on a second thread as packetdrill runs blocking calls */

struct reader {
    pid_t tid;
    char buf[64];
    ssize_t ret;
    long long returned_us;
};

static void *reader_main(void *arg) {
    struct reader *r = arg;
    __atomic_store_n(&r->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_SEQ_CST);
    r->ret = ifc.read(ifc.userdata, 4, r->buf, sizeof r->buf);
    /* packetdrill reads the clock right after a blocking call returns. */
    struct timeval tv;
    ifc.gettimeofday(ifc.userdata, &tv, NULL);
    r->returned_us = (long long)tv.tv_sec * 1000000 + tv.tv_usec;
    return NULL;
}

/* Whether thread `tid` is asleep (state S in /proc), which is how packetdrill tells that its
 * system-call thread has blocked. */
static int thread_sleeping(pid_t tid) {
    char path[64], stat[512];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
    FILE *f = fopen(path, "r");
    if (f == NULL) return 0;
    size_t n = fread(stat, 1, sizeof stat - 1, f);
    fclose(f);
    stat[n] = '\0';
    const char *close_paren = strrchr(stat, ')');
    return close_paren != NULL && close_paren[1] == ' ' && close_paren[2] == 'S';
}

static void real_sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ------------------------------------------------------------------------------------------ */

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s path/to/libustcp_packetdrill.so\n", argv[0]);
        return 2;
    }
    struct pkt p;
    const int one = 1;

    step = "load";
    void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    CHECK(lib != NULL, "dlopen: %s", dlerror());
    packetdrill_interface_init_t init = (packetdrill_interface_init_t)dlsym(lib, "packetdrill_interface_init");
    CHECK(init != NULL, "dlsym: %s", dlerror());
    init("mss=1460, sack=1,idle_ms=300", &ifc);
    CHECK(ifc.userdata != NULL, "init left userdata NULL");
    {
        void **slots = (void **)&ifc;
        for (size_t i = 1; i < sizeof ifc / sizeof(void *); ++i) CHECK(slots[i] != NULL, "member %zu is NULL", i);
    }

    step = "clock";
    const long long t0 = now_us();
    CHECK(t0 == 1600000000LL * 1000000, "the clock starts at %lld, expected the fixed epoch", t0);
    EXPECT_RET(ifc.usleep(ifc.userdata, 100000), 0);
    long long t = now_us();
    CHECK(t - t0 >= 100000 && t - t0 <= 100010, "usleep(100000) moved the clock %lld us", t - t0);
    {
        /* packetdrill's wait for an event: sleep until 20 us before it, then spin on the clock. */
        const long long target = t + 50000;
        int spins = 0;
        EXPECT_RET(ifc.usleep(ifc.userdata, (useconds_t)(target - now_us() - 20)), 0);
        while ((t = now_us()) < target) CHECK(++spins < 1000, "the clock stands still at %lld", t);
        CHECK(t == target && spins >= 10 && spins <= 25, "the spin ended at %+lld us after %d reads", t - target,
              spins);
    }

    step = "listen";
    EXPECT_ERR(ifc.socket(ifc.userdata, AF_INET6, SOCK_STREAM, 0), EAFNOSUPPORT);
    EXPECT_ERR(ifc.socket(ifc.userdata, AF_INET, SOCK_DGRAM, 0), EPROTONOSUPPORT);
    EXPECT_RET(ifc.socket(ifc.userdata, AF_INET, SOCK_STREAM, IPPROTO_TCP), 3);
    EXPECT_RET(ifc.setsockopt(ifc.userdata, 3, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one), 0);
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons(LOCAL_PORT);
    sin.sin_addr.s_addr = htonl(LOCAL_IP);
    EXPECT_RET(ifc.bind(ifc.userdata, 3, (struct sockaddr *)&sin, sizeof sin), 0);
    EXPECT_RET(ifc.listen(ifc.userdata, 3, 1), 0);
    EXPECT_RET(ifc.fcntl(ifc.userdata, 3, F_SETFL, O_RDWR | O_NONBLOCK), 0);
    EXPECT_RET(ifc.fcntl(ifc.userdata, 3, F_GETFL), O_RDWR | O_NONBLOCK);
    EXPECT_ERR(ifc.accept(ifc.userdata, 3, NULL, NULL), EAGAIN);
    EXPECT_RET(ifc.fcntl(ifc.userdata, 3, F_SETFL, O_RDWR), 0);

    step = "SYN in, SYN-ACK out";
    {
        /* <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7> */
        uint8_t opts[20] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 100, 0, 0, 0, 0, 1, 3, 3, 7};
        uint8_t syn[128];
        size_t n = build(syn, F_SYN, peer_seq, 0, 65535, opts, sizeof opts, NULL, 0);
        ++ts_val;
        t = now_us();
        EXPECT_RET(ifc.netdev_send(ifc.userdata, syn, n), 0);
    }
    receive(&p);
    CHECK(p.flags == (F_SYN | F_ACK), "flags 0x%02x, expected SYN|ACK", p.flags);
    CHECK(p.ack == peer_seq + 1, "ack %u, expected %u", p.ack, peer_seq + 1);
    CHECK(p.sport == LOCAL_PORT && p.dport == PEER_PORT, "ports %u > %u", p.sport, p.dport);
    CHECK(p.datalen == 0, "a SYN-ACK with %zu bytes of data", p.datalen);
    CHECK(p.time_us >= t && p.time_us <= t + 2, "SYN-ACK stamped %lld, SYN sent at %lld", p.time_us, t);
    {
        size_t n = 0;
        const uint8_t *o = find_opt(&p, 2, &n);
        CHECK(o != NULL && n == 2 && get16(o) == 1460, "no MSS 1460 option");
        CHECK(find_opt(&p, 4, &n) != NULL, "no SACK-permitted option");
        o = find_opt(&p, 3, &n);
        CHECK(o != NULL && n == 1, "no window scale option");
        o = find_opt(&p, 8, &n);
        CHECK(o != NULL && n == 8 && get32(o + 4) == 100, "no timestamp option echoing TSval 100");
    }
    local_isn = p.seq;
    note_ts(&p);
    ++peer_seq;

    step = "ACK in, accept";
    send_packet(F_ACK, peer_seq, local_isn + 1, NULL, 0);
    {
        struct sockaddr_in from;
        socklen_t fromlen = sizeof from;
        memset(&from, 0, sizeof from);
        EXPECT_RET(ifc.accept(ifc.userdata, 3, (struct sockaddr *)&from, &fromlen), 4);
        CHECK(fromlen == sizeof from && from.sin_family == AF_INET && ntohl(from.sin_addr.s_addr) == REMOTE_IP &&
                  ntohs(from.sin_port) == PEER_PORT,
              "accept reported the peer as %08x:%u", ntohl(from.sin_addr.s_addr), ntohs(from.sin_port));
        struct pollfd pfd = {4, POLLIN, 0};
        EXPECT_RET(ifc.poll(ifc.userdata, &pfd, 1, 0), 0);
        int state = 0;
        struct tcp_info ti;
        socklen_t len = sizeof ti;
        EXPECT_RET(ifc.getsockopt(ifc.userdata, 4, IPPROTO_TCP, TCP_INFO, &ti, &len), 0);
        CHECK(ti.tcpi_state == TCP_ESTABLISHED, "tcpi_state %u", ti.tcpi_state);
        len = sizeof state;
        EXPECT_RET(ifc.getsockopt(ifc.userdata, 4, SOL_SOCKET, SO_ERROR, &state, &len), 0);
        CHECK(state == 0 && len == sizeof state, "SO_ERROR %d", state);
        EXPECT_ERR(ifc.getsockopt(ifc.userdata, 4, SOL_SOCKET, SO_RCVTIMEO, &state, &len), ENOPROTOOPT);
    }

    step = "data in, read";
    {
        static const char hello[] = "hello, ustcp";
        const size_t n = sizeof hello - 1;
        send_packet(F_PSH | F_ACK, peer_seq, local_isn + 1, hello, n);
        peer_seq += (uint32_t)n;
        int avail = -1;
        EXPECT_RET(ifc.ioctl(ifc.userdata, 4, FIONREAD, &avail), 0);
        CHECK(avail == (int)n, "FIONREAD %d, expected %zu", avail, n);
        char buf[100];
        memset(buf, 0, sizeof buf);
        EXPECT_RET(ifc.recv(ifc.userdata, 4, buf, 5, MSG_PEEK), 5);
        CHECK(memcmp(buf, "hello", 5) == 0, "MSG_PEEK read \"%.5s\"", buf);
        memset(buf, 0, sizeof buf);
        EXPECT_RET(ifc.read(ifc.userdata, 4, buf, sizeof buf), n);
        CHECK(memcmp(buf, hello, n) == 0, "read \"%.*s\", expected \"%s\"", (int)n, buf, hello);
        EXPECT_ERR(ifc.recv(ifc.userdata, 4, buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
    }

    step = "write, data out";
    static const char world[] = "world";
    const long long sent_at = now_us();
    EXPECT_RET(ifc.write(ifc.userdata, 4, world, 5), 5);
    receive(&p);
    if (p.datalen == 0) {
        /* The ACK of the data may go out on its own before the reply. */
        CHECK(p.flags == F_ACK && p.ack == peer_seq, "flags 0x%02x ack %u before the reply", p.flags, p.ack);
        receive(&p);
    }
    CHECK(p.datalen == 5 && memcmp(p.data, world, 5) == 0, "a segment with %zu bytes, expected \"world\"",
          p.datalen);
    CHECK((p.flags & ~F_PSH) == F_ACK, "flags 0x%02x, expected ACK (and PSH)", p.flags);
    CHECK(p.seq == local_isn + 1 && p.ack == peer_seq, "seq %u ack %u, expected %u %u", p.seq, p.ack,
          local_isn + 1, peer_seq);
    const long long first_tx = p.time_us;
    CHECK(first_tx >= sent_at && first_tx <= sent_at + 2, "data stamped %lld, written at %lld", first_tx, sent_at);
    note_ts(&p);

    step = "retransmission (netdev_receive moves the clock to the RTO)";
    receive(&p);
    CHECK(p.datalen == 5 && p.seq == local_isn + 1, "expected the reply again, got seq %u len %zu", p.seq,
          p.datalen);
    const long long rto1 = p.time_us - first_tx;
    CHECK(rto1 >= 200000 && rto1 <= 3000000, "retransmitted after %lld us", rto1);
    t = now_us();
    CHECK(t >= p.time_us && t <= p.time_us + 2, "the clock reads %lld after a packet stamped %lld", t, p.time_us);

    step = "retransmission (usleep runs through the backed-off RTO)";
    EXPECT_RET(ifc.usleep(ifc.userdata, (useconds_t)(4 * rto1)), 0);
    t = now_us();
    receive(&p);
    CHECK(p.datalen == 5 && p.seq == local_isn + 1, "expected the reply a third time, got seq %u len %zu", p.seq,
          p.datalen);
    {
        const long long gap = p.time_us - (first_tx + rto1);
        CHECK(gap >= 2 * rto1 - 2 && gap <= 2 * rto1 + 2, "second retransmission %lld us after the first, "
              "expected twice the RTO (%lld us)", gap, 2 * rto1);
        CHECK(p.time_us < t, "stamped %lld, after the usleep ended (%lld)", p.time_us, t);
    }
    note_ts(&p);
    send_packet(F_ACK, peer_seq, local_isn + 6, NULL, 0);

    step = "blocking read on a second thread, woken by netdev_send";
    {
        static const char late[] = "late data";
        struct reader r;
        memset(&r, 0, sizeof r);
        pthread_t th;
        CHECK(pthread_create(&th, NULL, reader_main, &r) == 0, "pthread_create");
        int waited = 0;
        while (__atomic_load_n(&r.tid, __ATOMIC_SEQ_CST) == 0 || !thread_sleeping(r.tid)) {
            CHECK(++waited < 5000, "the reader never blocked");
            real_sleep_ms(1);
        }
        real_sleep_ms(10);
        EXPECT_RET(ifc.usleep(ifc.userdata, 50000), 0);
        const long long before = now_us();
        send_packet(F_PSH | F_ACK, peer_seq, local_isn + 6, late, sizeof late - 1);
        peer_seq += (uint32_t)(sizeof late - 1);
        CHECK(pthread_join(th, NULL) == 0, "pthread_join");
        CHECK(r.ret == (ssize_t)(sizeof late - 1) && memcmp(r.buf, late, sizeof late - 1) == 0,
              "the blocking read returned %zd", r.ret);
        CHECK(r.returned_us >= before && r.returned_us <= before + 2,
              "the blocking read returned at %lld, the data arrived at %lld", r.returned_us, before);
    }

    step = "close: FIN out";
    EXPECT_RET(ifc.close(ifc.userdata, 4), 0);
    receive(&p);
    if (p.flags == F_ACK && p.datalen == 0) receive(&p); /* the ACK of "late data", if it waited */
    CHECK(p.flags == (F_FIN | F_ACK), "flags 0x%02x, expected FIN|ACK", p.flags);
    CHECK(p.seq == local_isn + 6 && p.ack == peer_seq, "FIN seq %u ack %u, expected %u %u", p.seq, p.ack,
          local_isn + 6, peer_seq);
    note_ts(&p);
    EXPECT_ERR(ifc.read(ifc.userdata, 4, &p, 1), EBADF);

    step = "close: the peer's ACK and FIN, our last ACK";
    send_packet(F_ACK, peer_seq, local_isn + 7, NULL, 0);
    send_packet(F_FIN | F_ACK, peer_seq, local_isn + 7, NULL, 0);
    ++peer_seq;
    receive(&p);
    CHECK(p.flags == F_ACK && p.ack == peer_seq && p.seq == local_isn + 7 && p.datalen == 0,
          "flags 0x%02x seq %u ack %u, expected the ACK of the FIN", p.flags, p.seq, p.ack);

    step = "active open: non-blocking connect";
    {
        const int fd = 4; /* the lowest free descriptor again */
        EXPECT_RET(ifc.socket(ifc.userdata, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), fd);
        struct sockaddr_in to;
        memset(&to, 0, sizeof to);
        to.sin_family = AF_INET;
        to.sin_port = htons(PEER_PORT + 1);
        to.sin_addr.s_addr = htonl(REMOTE_IP);
        EXPECT_ERR(ifc.connect(ifc.userdata, fd, (struct sockaddr *)&to, sizeof to), EINPROGRESS);
        receive(&p);
        CHECK(p.flags == F_SYN && p.dport == PEER_PORT + 1, "flags 0x%02x to port %u, expected a SYN to %u",
              p.flags, p.dport, PEER_PORT + 1);
        EXPECT_ERR(ifc.connect(ifc.userdata, fd, (struct sockaddr *)&to, sizeof to), EALREADY);
        const uint32_t isn = p.seq;
        const uint16_t lport = p.sport;
        {
            /* SYN-ACK <mss 1000>: no timestamps on this one */
            uint8_t opts[4] = {2, 4, 0x03, 0xe8};
            uint8_t pkt[128];
            size_t n = build(pkt, F_SYN | F_ACK, 5000, isn + 1, 8000, opts, sizeof opts, NULL, 0);
            put16(pkt + 20, PEER_PORT + 1);
            put16(pkt + 22, lport);
            put16(pkt + 36, 0);
            put16(pkt + 36, (uint16_t)~tcp_sum(REMOTE_IP, LOCAL_IP, pkt + 20, n - 20));
            EXPECT_RET(ifc.netdev_send(ifc.userdata, pkt, n), 0);
        }
        receive(&p);
        CHECK(p.flags == F_ACK && p.ack == 5001 && p.seq == isn + 1, "flags 0x%02x ack %u, expected the ACK of 5001",
              p.flags, p.ack);
        struct pollfd pfd = {fd, POLLOUT, 0};
        EXPECT_RET(ifc.poll(ifc.userdata, &pfd, 1, 0), 1);
        CHECK(pfd.revents == POLLOUT, "revents 0x%x, expected POLLOUT", pfd.revents);
        int err = -1, mss = 0;
        socklen_t len = sizeof err;
        EXPECT_RET(ifc.getsockopt(ifc.userdata, fd, SOL_SOCKET, SO_ERROR, &err, &len), 0);
        CHECK(err == 0, "SO_ERROR %d", err);
        len = sizeof mss;
        EXPECT_RET(ifc.getsockopt(ifc.userdata, fd, IPPROTO_TCP, TCP_MAXSEG, &mss, &len), 0);
        CHECK(mss == 1000, "TCP_MAXSEG %d, expected the peer's 1000", mss);
        /* Linux: the first connect() after the handshake reports it done, later ones EISCONN. */
        EXPECT_RET(ifc.connect(ifc.userdata, fd, (struct sockaddr *)&to, sizeof to), 0);
        EXPECT_ERR(ifc.connect(ifc.userdata, fd, (struct sockaddr *)&to, sizeof to), EISCONN);

        step = "a lone blocking poll: the clock moves to its timeout";
        EXPECT_RET(ifc.fcntl(ifc.userdata, fd, F_SETFL, O_RDWR), 0);
        pfd.events = POLLIN;
        const long long start = now_us();
        EXPECT_RET(ifc.poll(ifc.userdata, &pfd, 1, 500), 0);
        t = now_us();
        CHECK(t == start + 1 + 500000, "poll(500 ms) returned at +%lld us", t - start);

        step = "abortive close: RST out";
        const struct linger lg = {1, 0};
        EXPECT_RET(ifc.setsockopt(ifc.userdata, fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
        EXPECT_RET(ifc.close(ifc.userdata, fd), 0);
        receive(&p);
        CHECK((p.flags & F_RST) != 0 && p.dport == PEER_PORT + 1, "flags 0x%02x, expected RST", p.flags);
    }

    step = "unsupported calls";
    {
        int fds[2];
        EXPECT_ERR(ifc.epoll_create(ifc.userdata, 1), ENOSYS);
        EXPECT_ERR(ifc.pipe(ifc.userdata, fds), ENOSYS);
        EXPECT_ERR(ifc.ioctl(ifc.userdata, 3, TIOCGWINSZ, fds), ENOTTY);
        EXPECT_ERR(ifc.close(ifc.userdata, 9), EBADF);
    }

    step = "no packet left to come";
    EXPECT_RET(ifc.close(ifc.userdata, 3), 0);
    p.len = sizeof p.buf;
    EXPECT_RET(ifc.netdev_receive(ifc.userdata, p.buf, &p.len, &p.time_us), 0);
    CHECK(p.len == 0, "a packet of %zu bytes after everything closed", p.len);
    t = now_us();
    CHECK(t - t0 >= 60000000, "TIME-WAIT should have run out on the way (the clock moved %lld us)", t - t0);

    step = "free";
    ifc.free(ifc.userdata);
    CHECK(dlclose(lib) == 0, "dlclose: %s", dlerror());

    step = "a bad --so_flags string ends the process with status 2";
    {
        fflush(NULL);
        const pid_t child = fork();
        CHECK(child >= 0, "fork");
        if (child == 0) {
            void *l = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
            packetdrill_interface_init_t i2 = l ? (packetdrill_interface_init_t)dlsym(l, "packetdrill_interface_init")
                                                : NULL;
            struct packetdrill_interface other;
            if (i2 != NULL) i2("mss=1460,no_such_setting=1", &other);
            _exit(0);
        }
        int status = 0;
        CHECK(waitpid(child, &status, 0) == child, "waitpid");
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 2, "the child ended with status 0x%x", status);
    }

    printf("harness: all steps passed\n");
    return 0;
}
