// lib/engine on SimPorts: ARP and ICMP answered, gratuitous ARP, segments held while ARP
// resolves (and freed when it fails), an echo server and a client engine exchanging data
// over a lossy in-memory wire, timers from the wheel, connections by state, published
// counters, flow slots reused only after readers' grace periods, source ports chosen for
// the queue that owns the flow, connections freed and every buffer returned at the end.
#include <gtest/gtest.h>

#include <algorithm>

#include <string>
#include <thread>
#include <vector>

#include "ustcp/base/endian.hpp"
#include "ustcp/engine/engine.hpp"
#include "ustcp/engine/qsbr.hpp"
#include "ustcp/engine/sim_port.hpp"
#include "ustcp/wire/arp.hpp"
#include "ustcp/wire/checksum.hpp"
#include "ustcp/wire/ethernet.hpp"
#include "ustcp/wire/icmp.hpp"
#include "ustcp/wire/ipv4.hpp"

using namespace ustcp;
using namespace ustcp::engine;

namespace {

const MacAddr kMacA({0x02, 0, 0, 0, 0, 0x0a});
const MacAddr kMacB({0x02, 0, 0, 0, 0, 0x0b});
const MacAddr kMacPeer({0x02, 0, 0, 0, 0, 0x0c});
const Ipv4Addr kIpA(198, 18, 0, 1);
const Ipv4Addr kIpB(198, 18, 0, 2);

tcp::SipKey key(std::uint64_t k) { return tcp::SipKey::from_words(k, k * 7 + 1); }

EngineConfig config(Ipv4Addr addr) {
    EngineConfig c;
    c.addr = addr;
    c.prefix_len = 24;
    c.max_connections = 64;
    c.buffer_nodes = 8192;
    c.announce = false;  // the tests below count every frame sent
    c.flow_seed = 42;
    return c;
}

/// Two SimPorts joined into one wire, A (kMacA) and B (kMacB), each on its own heap pool, and
/// the virtual clock the tests drive them with.
struct Wire {
    explicit Wire(std::size_t blocks, PortCaps caps = {})
        : pool_a(blocks, 2048), pool_b(blocks, 2048), pa(kMacA, pool_a, caps), pb(kMacB, pool_b, caps) {
        SimPort::link(pa, pb);
    }
    tcp::HeapBuffers pool_a;
    tcp::HeapBuffers pool_b;
    SimPort pa;
    SimPort pb;
    Instant now = Instant::from_nanos(1'000'000'000);
};

/// Echo: everything read is sent back (zero copy: the received buffers themselves).
struct Echo : App {
    void on_readable(Engine& e, tcp::Connection& c) override {
        tcp::BufRef bufs[16];
        for (;;) {
            auto r = c.receive_bufs(e.ctx(), e.now(), bufs);
            if (!r || *r == 0) break;
            for (std::size_t i = 0; i < *r; ++i) {
                if (!c.send_buf(e.ctx(), e.now(), bufs[i])) e.ctx().bufs.drop_handle(bufs[i].handle);
            }
        }
    }
    void on_peer_closed(Engine& e, tcp::Connection& c) override { (void)c.close(e.ctx(), e.now()); }
    int accepted = 0;
    void on_accept(Engine&, tcp::Connection&) override { ++accepted; }
};

/// Sends `data` once connected, collects what comes back, closes when all is back.
struct Client : App {
    std::string data;
    std::string got;
    std::size_t sent = 0;
    bool connected = false;
    bool closed = false;
    void pump(Engine& e, tcp::Connection& c) {
        while (sent < data.size()) {
            auto r = c.send(e.ctx(), e.now(),
                            wire::Bytes(reinterpret_cast<const std::uint8_t*>(data.data()) + sent, data.size() - sent));
            if (!r) break;
            sent += *r;
        }
    }
    void on_connected(Engine& e, tcp::Connection& c) override {
        connected = true;
        pump(e, c);
    }
    void on_writable(Engine& e, tcp::Connection& c) override { pump(e, c); }
    void on_readable(Engine& e, tcp::Connection& c) override {
        std::uint8_t buf[4096];
        for (;;) {
            auto r = c.receive(e.ctx(), e.now(), buf);
            if (!r || *r == 0) break;
            got.append(reinterpret_cast<const char*>(buf), *r);
        }
        if (got.size() == data.size()) (void)c.close(e.ctx(), e.now());
    }
    void on_closed(Engine&, tcp::Connection&) override { closed = true; }
};

std::vector<std::uint8_t> arp_request_for(Ipv4Addr target) {
    std::vector<std::uint8_t> f(wire::kEthHeaderLen + wire::kArpIpv4Len);
    wire::EthernetRepr{MacAddr::broadcast(), kMacPeer, wire::kEtherTypeArp}.emit(f);
    wire::ArpRepr{wire::kArpOpRequest, kMacPeer, kIpA, MacAddr{}, target}.emit(
        wire::MutBytes(f.data() + wire::kEthHeaderLen, wire::kArpIpv4Len));
    return f;
}

}  // namespace

TEST(Engine, AnswersArpForItsAddressOnly) {
    tcp::HeapBuffers pool(256, 2048);
    SimPort port(kMacB, pool);
    Engine e(config(kIpB), port, key(1), key(2));
    port.deliver(arp_request_for(Ipv4Addr(198, 18, 0, 99)));  // someone else's
    port.deliver(arp_request_for(kIpB));
    e.poll(Instant::from_nanos(1));
    ASSERT_EQ(port.sent.size(), 1u);
    auto eth = wire::EthernetView::checked(port.sent[0]);
    ASSERT_TRUE(eth);
    EXPECT_EQ(eth->dst(), kMacPeer);
    EXPECT_EQ(eth->src(), kMacB);
    auto arp = wire::ArpView::checked(eth->payload());
    ASSERT_TRUE(arp);
    EXPECT_EQ(arp->op(), wire::kArpOpReply);
    EXPECT_EQ(arp->sender_mac(), kMacB);
    EXPECT_EQ(arp->sender_ip(), kIpB);
    EXPECT_EQ(arp->target_mac(), kMacPeer);
    EXPECT_EQ(arp->target_ip(), kIpA);
    EXPECT_EQ(e.counters().arp_replies_sent, 1u);
    EXPECT_EQ(pool.in_use(), 0u);
}

TEST(Engine, AnswersIcmpEchoInPlace) {
    tcp::HeapBuffers pool(256, 2048);
    SimPort port(kMacB, pool);
    Engine e(config(kIpB), port, key(1), key(2));
    std::vector<std::uint8_t> f(14 + 20 + 8 + 32);
    wire::EthernetRepr{kMacB, kMacPeer, wire::kEtherTypeIpv4}.emit(f);
    wire::Ipv4Repr ip{kIpA, kIpB, wire::kIpProtoIcmp, 64, 0, 7, false, 8 + 32};
    ip.emit(wire::MutBytes(f.data() + 14, 20));
    std::uint8_t* icmp = f.data() + 34;
    icmp[0] = wire::kIcmpEchoRequest;
    store_be16(&icmp[4], 0x1234);  // id
    store_be16(&icmp[6], 1);       // sequence
    for (int i = 0; i < 32; ++i) icmp[8 + i] = static_cast<std::uint8_t>(i);
    store_be16(&icmp[2], wire::internet_checksum(wire::Bytes(icmp, 40)));
    port.deliver(f);
    e.poll(Instant::from_nanos(1));
    ASSERT_EQ(port.sent.size(), 1u);
    const auto& r = port.sent[0];
    auto eth = wire::EthernetView::checked(r);
    ASSERT_TRUE(eth);
    EXPECT_EQ(eth->dst(), kMacPeer);
    auto v4 = wire::Ipv4View::checked(eth->payload());
    ASSERT_TRUE(v4);
    EXPECT_EQ(v4->src(), kIpB);
    EXPECT_EQ(v4->dst(), kIpA);
    EXPECT_EQ(wire::internet_checksum(wire::Bytes(r.data() + 14, 20)), 0);
    const std::uint8_t* ri = r.data() + 34;
    EXPECT_EQ(ri[0], wire::kIcmpEchoReply);
    EXPECT_EQ(load_be16(&ri[4]), 0x1234);
    EXPECT_EQ(wire::internet_checksum(wire::Bytes(ri, 40)), 0);
    EXPECT_EQ(std::vector<std::uint8_t>(ri + 8, ri + 40), std::vector<std::uint8_t>(icmp + 8, icmp + 40));
    EXPECT_EQ(e.counters().icmp_echo_replies, 1u);
    EXPECT_EQ(pool.in_use(), 0u);
}

namespace {

/// Runs two engines until both are quiet, the client closed, or `limit` of virtual time passed.
void run(Engine& a, Engine& b, SimPort& pa, SimPort& pb, Instant& now, const Client& client,
         Duration limit = Duration::seconds(120)) {
    const Instant end = now + limit;
    while (now < end && !client.closed) {
        const auto n = a.poll(now) + b.poll(now);
        if (n == 0 && pa.pending() == 0 && pb.pending() == 0) now = now + Duration::millis(1);
    }
}

}  // namespace

TEST(Engine, EchoOverALossyWireResolvesArpAndReturnsEveryBuffer) {
    Wire w(4096);
    int n = 0;
    w.pa.drop = [&](const std::vector<std::uint8_t>&) { return ++n % 17 == 0; };  // 1 in 17 lost
    Client client;
    for (std::uint32_t i = 0; i < 300000; ++i) client.data += static_cast<char>('a' + (i * 7919u) % 26u);
    Echo echo;
    {
        Engine a(config(kIpA), w.pa, key(1), key(2));
        Engine b(config(kIpB), w.pb, key(3), key(4));
        a.set_app(&client);
        b.set_app(&echo);
        ASSERT_TRUE(b.listen(7));
        ASSERT_TRUE(a.connect(kIpB, 7));
        a.flush(w.now);
        run(a, b, w.pa, w.pb, w.now, client);
        EXPECT_TRUE(client.connected);
        EXPECT_EQ(client.got.size(), client.data.size());
        EXPECT_EQ(client.got, client.data);
        EXPECT_TRUE(client.closed);
        EXPECT_EQ(echo.accepted, 1);
        EXPECT_GE(a.counters().arp_requests_sent, 1u);  // B's MAC was unknown at the SYN
        EXPECT_GE(b.counters().arp_replies_sent, 1u);
        // Let the server's side finish its close (LAST-ACK), then nothing is left.
        for (int i = 0; i < 200000 && b.connections() > 0; ++i) {
            a.poll(w.now);
            b.poll(w.now);
            w.now = w.now + Duration::millis(5);
        }
        EXPECT_EQ(b.connections(), 0u);
        EXPECT_EQ(b.counters().connections_closed, 1u);
        EXPECT_GT(a.tcp_counters().retransmits + a.tcp_counters().fast_retransmits, 0u);
        a.abort_all(w.now);  // A's TIME-WAIT
        EXPECT_EQ(a.connections(), 0u);
    }
    EXPECT_EQ(w.pool_a.in_use(), 0u);
    EXPECT_EQ(w.pool_b.in_use(), 0u);
}

namespace {

std::optional<wire::ArpView> arp_of(const std::vector<std::uint8_t>& f) {
    auto eth = wire::EthernetView::checked(f);
    if (!eth || eth->ethertype() != wire::kEtherTypeArp) return std::nullopt;
    auto a = wire::ArpView::checked(eth->payload());
    if (!a) return std::nullopt;
    return *a;
}

std::vector<std::uint8_t> arp_reply_from(MacAddr mac, Ipv4Addr ip, MacAddr to_mac, Ipv4Addr to_ip) {
    std::vector<std::uint8_t> f(wire::kEthHeaderLen + wire::kArpIpv4Len);
    wire::EthernetRepr{to_mac, mac, wire::kEtherTypeArp}.emit(f);
    wire::ArpRepr{wire::kArpOpReply, mac, ip, to_mac, to_ip}.emit(
        wire::MutBytes(f.data() + wire::kEthHeaderLen, wire::kArpIpv4Len));
    return f;
}

std::optional<wire::TcpView> tcp_of(const std::vector<std::uint8_t>& f) {
    auto eth = wire::EthernetView::checked(f);
    if (!eth || eth->ethertype() != wire::kEtherTypeIpv4) return std::nullopt;
    auto ip = wire::Ipv4View::checked(eth->payload());
    if (!ip || ip->protocol() != wire::kIpProtoTcp) return std::nullopt;
    auto t = wire::TcpView::checked(ip->payload());
    if (!t) return std::nullopt;
    return *t;
}

}  // namespace

TEST(Engine, AnnouncesItsAddressTwiceAtStart) {
    tcp::HeapBuffers pool(256, 2048);
    SimPort port(kMacB, pool);
    EngineConfig cfg = config(kIpB);
    cfg.announce = true;
    Engine e(cfg, port, key(1), key(2));
    Instant now = Instant::from_nanos(5'000'000'000);
    e.poll(now);
    e.poll(now + Duration::millis(1));  // not yet: RFC 5227's ANNOUNCE_INTERVAL is 2 s
    ASSERT_EQ(port.sent.size(), 1u);
    e.poll(now + Duration::seconds(2));
    e.poll(now + Duration::seconds(10));
    ASSERT_EQ(port.sent.size(), 2u);
    for (const auto& f : port.sent) {
        auto a = arp_of(f);
        ASSERT_TRUE(a);
        EXPECT_EQ(a->op(), wire::kArpOpRequest);
        EXPECT_EQ(a->sender_ip(), kIpB);
        EXPECT_EQ(a->target_ip(), kIpB);
        EXPECT_EQ(a->sender_mac(), kMacB);
    }
    EXPECT_EQ(e.counters().arp_announcements, 2u);
}

TEST(Engine, HoldsTheSynWhileArpResolvesAndSendsItOnTheReply) {
    tcp::HeapBuffers pool(256, 2048);
    SimPort port(kMacA, pool);
    Engine e(config(kIpA), port, key(1), key(2));
    Instant now = Instant::from_nanos(1'000'000'000);
    e.poll(now);
    auto c = e.connect(kIpB, 7);
    ASSERT_TRUE(c);
    e.flush(now);
    ASSERT_EQ(port.sent.size(), 1u);  // the ARP request; the SYN waits on the entry
    auto req = arp_of(port.sent[0]);
    ASSERT_TRUE(req);
    EXPECT_EQ(req->target_ip(), kIpB);
    EXPECT_EQ(e.counters().tx_arp_queued, 1u);
    EXPECT_EQ(pool.in_use(), 1u);  // the held copy of the SYN
    port.sent.clear();
    port.deliver(arp_reply_from(kMacB, kIpB, kMacA, kIpA));
    e.poll(now + Duration::millis(3));  // long before the SYN's 1 s retransmission
    ASSERT_EQ(port.sent.size(), 1u);
    auto eth = wire::EthernetView::checked(port.sent[0]);
    ASSERT_TRUE(eth);
    EXPECT_EQ(eth->dst(), kMacB);
    auto syn = tcp_of(port.sent[0]);
    ASSERT_TRUE(syn);
    EXPECT_TRUE(syn->flags() & wire::tcp_flags::SYN);
    EXPECT_EQ(syn->dst_port(), 7);
    EXPECT_EQ(e.tcp_counters().retransmits, 0u);
    e.abort_all(now + Duration::millis(4));
    e.poll(now + Duration::millis(5));
    EXPECT_EQ(pool.in_use(), 0u);
}

TEST(Engine, FreesHeldSegmentsWhenResolutionFails) {
    tcp::HeapBuffers pool(256, 2048);
    SimPort port(kMacA, pool);
    Engine e(config(kIpA), port, key(1), key(2));
    Instant now = Instant::from_nanos(1'000'000'000);
    ASSERT_TRUE(e.connect(kIpB, 7));
    e.flush(now);
    EXPECT_EQ(pool.in_use(), 1u);
    for (int ms = 0; ms <= 10'000; ms += 10) e.poll(now + Duration::millis(ms));
    // Three requests a second apart, then the entry gives up and frees what it held; the
    // SYN retransmissions meanwhile start new resolutions, each held and freed the same way.
    std::size_t requests = 0;
    for (const auto& f : port.sent) requests += arp_of(f) ? 1 : 0;
    EXPECT_EQ(requests, port.sent.size());  // nothing but ARP went out
    EXPECT_GE(requests, 3u);
    EXPECT_GE(e.counters().tx_no_neighbour, 1u);
    EXPECT_EQ(e.counters().tx_no_neighbour + pool.in_use(), e.counters().tx_arp_queued);
    e.abort_all(now + Duration::seconds(11));
    EXPECT_EQ(pool.in_use(), 0u);
}

TEST(Engine, TimersComeFromTheWheelAndStatesAreCounted) {
    Wire w(1024);
    EngineConfig ca = config(kIpA);
    ca.tcp.msl = Duration::seconds(1);
    Engine a(ca, w.pa, key(1), key(2));
    Engine b(config(kIpB), w.pb, key(3), key(4));
    Client client;
    client.data = "hello";
    Echo echo;
    a.set_app(&client);
    b.set_app(&echo);
    ASSERT_TRUE(b.listen(7));
    ASSERT_TRUE(a.connect(kIpB, 7));
    a.flush(w.now);
    // The client closes once the echo is back, first: TIME-WAIT for 2 * MSL, ended by its
    // timer on the wheel.
    const auto time_wait = static_cast<std::size_t>(tcp::State::TimeWait);
    for (int i = 0; i < 5000 && a.states()[time_wait] == 0; ++i) {
        a.poll(w.now);
        b.poll(w.now);
        w.now = w.now + Duration::millis(1);
    }
    ASSERT_EQ(client.got, "hello");
    EXPECT_EQ(a.states()[time_wait], 1u);
    EXPECT_EQ(a.connections(), 1u);
    const Instant tw = w.now;
    while (a.connections() > 0 && w.now < tw + Duration::seconds(3)) {
        a.poll(w.now);
        b.poll(w.now);
        w.now = w.now + Duration::millis(1);
    }
    EXPECT_EQ(a.connections(), 0u);
    EXPECT_GE(w.now - tw, Duration::millis(1990));  // not early
    EXPECT_LE(w.now - tw, Duration::millis(2010));  // within a tick or so
    EXPECT_EQ(a.states()[time_wait], 0u);
    // Published for other threads within a millisecond of polling.
    a.poll(w.now + Duration::millis(2));
    EngineCounters ec;
    tcp::Counters tc;
    PortStats ps;
    a.published().read(ec, tc, ps);
    EXPECT_EQ(ec.connections_closed, 1u);
    EXPECT_EQ(tc.segs_out, a.tcp_counters().segs_out);
    EXPECT_EQ(ps.tx_frames, w.pa.stats().tx_frames);
    EXPECT_EQ(a.published().connections.load(), 0u);
}

TEST(Engine, TimeWaitIsRecycledOldestFirstWhenThePoolRunsLow) {
    // The client closes first, so every connection it made stays in TIME-WAIT for 2 * MSL
    // (2 minutes here). With a pool of 8 the ninth connect would find no slot; instead the
    // oldest TIME-WAIT connections are ended as free slots run below the engine's margin.
    Wire w(1024);
    EngineConfig ca = config(kIpA);
    ca.max_connections = 8;
    ca.tcp.msl = Duration::seconds(60);
    Engine a(ca, w.pa, key(1), key(2));
    Engine b(config(kIpB), w.pb, key(3), key(4));
    Client client;
    client.data = "hi";
    Echo echo;
    a.set_app(&client);
    b.set_app(&echo);
    ASSERT_TRUE(b.listen(7));
    const auto time_wait = static_cast<std::size_t>(tcp::State::TimeWait);
    std::vector<std::uint16_t> ports;
    for (int k = 0; k < 20; ++k) {
        client.got.clear();
        client.sent = 0;
        const std::size_t tw_before = a.states()[time_wait] + a.counters().time_wait_recycled;
        auto c = a.connect(kIpB, 7);
        ASSERT_TRUE(c) << "connect " << k;
        ports.push_back((*c)->tuple().local_port);
        a.flush(w.now);
        for (int i = 0; i < 2000 && a.states()[time_wait] + a.counters().time_wait_recycled == tw_before; ++i) {
            a.poll(w.now);
            b.poll(w.now);
            w.now = w.now + Duration::millis(1);
        }
        ASSERT_EQ(client.got, "hi") << "connection " << k;
        EXPECT_LE(a.connections(), 8u);
    }
    a.poll(w.now);
    EXPECT_EQ(a.counters().conn_pool_exhausted, 0u);
    EXPECT_GE(a.counters().time_wait_recycled, 20u - 8u);
    EXPECT_GE(a.states()[time_wait], 1u);  // not all of them: only what the margin needs
    EXPECT_EQ(a.states()[time_wait] + a.counters().time_wait_recycled, 20u);
    // Oldest first: the connections still in TIME-WAIT are the last ones made.
    std::vector<std::uint16_t> in_tw;
    a.for_each_flow_concurrent([&](const FourTuple& t, const FlowInfo& info) {
        if (info.state.load() == static_cast<std::uint8_t>(tcp::State::TimeWait)) in_tw.push_back(t.local_port);
    });
    std::sort(in_tw.begin(), in_tw.end());
    std::vector<std::uint16_t> newest(ports.end() - static_cast<std::ptrdiff_t>(in_tw.size()), ports.end());
    std::sort(newest.begin(), newest.end());
    EXPECT_EQ(in_tw, newest);
    a.abort_all(w.now);
    b.abort_all(w.now);
}

TEST(Engine, ConnectPicksSourcePortsWhoseRepliesReachThisQueue) {
    tcp::HeapBuffers pool(256, 2048);
    SimPort port(kMacA, pool);
    port.owns_flow = [](const FourTuple& t) { return t.local_port % 4 == 3; };  // as a RETA would split
    Engine e(config(kIpA), port, key(1), key(2));
    for (int i = 0; i < 8; ++i) {
        auto c = e.connect(kIpB, 80);
        ASSERT_TRUE(c);
        EXPECT_EQ((*c)->tuple().local_port % 4, 3);
    }
    EXPECT_EQ(e.connections(), 8u);
    e.abort_all(Instant::from_nanos(1));
}

TEST(Engine, AFlowSlotIsReusedOnlyAfterReadersReportQuiescence) {
    tcp::HeapBuffers pool(256, 2048);
    SimPort port(kMacA, pool);
    Qsbr qsbr(1);
    EngineConfig cfg = config(kIpA);
    cfg.max_connections = 2;
    cfg.readers = ReclaimerRef(qsbr);
    Engine e(cfg, port, key(1), key(2));
    qsbr.register_reader(0);
    qsbr.online(0);
    Instant now = Instant::from_nanos(1);
    ASSERT_TRUE(e.connect(kIpB, 80));
    ASSERT_TRUE(e.connect(kIpB, 81));
    std::size_t seen = 0;
    std::thread reader([&] {
        e.for_each_flow_concurrent([&](const FourTuple& t, const FlowInfo& info) {
            EXPECT_EQ(t.local_addr, kIpA);
            EXPECT_EQ(info.state.load(), static_cast<std::uint8_t>(tcp::State::SynSent));
            ++seen;
        });
    });
    reader.join();
    EXPECT_EQ(seen, 2u);
    e.abort_all(now);
    e.poll(now);
    EXPECT_EQ(e.connections(), 0u);
    // The reader has not reported since: both slots are still held for it.
    EXPECT_FALSE(e.connect(kIpB, 82));
    EXPECT_EQ(e.counters().conn_pool_exhausted, 1u);
    qsbr.quiescent(0);
    e.poll(now);
    EXPECT_TRUE(e.connect(kIpB, 83));
    qsbr.offline(0);
    e.abort_all(now);
    e.poll(now);
}

TEST(Engine, FlowInfoPublishesCwndAndRetransmitsForReaders) {
    // A lossy echo: the client's connection resends, and its cwnd moves. What a reader thread
    // sees of it once all is echoed and the wire is quiet (the connection held open) is the
    // connection's own.
    Wire w(4096);
    int n = 0;
    w.pa.drop = [&](const std::vector<std::uint8_t>&) { return ++n % 13 == 0; };
    struct Keeper : Client {
        const tcp::Connection* conn = nullptr;
        void on_connected(Engine& e, tcp::Connection& c) override {
            conn = &c;
            Client::on_connected(e, c);
        }
        void on_readable(Engine& e, tcp::Connection& c) override {  // collects, never closes
            std::uint8_t buf[4096];
            for (;;) {
                auto r = c.receive(e.ctx(), e.now(), buf);
                if (!r || *r == 0) break;
                got.append(reinterpret_cast<const char*>(buf), *r);
            }
        }
    } client;
    for (std::uint32_t i = 0; i < 200000; ++i) client.data += static_cast<char>('a' + (i * 7919u) % 26u);
    Echo echo;
    Qsbr qsbr(1);
    EngineConfig cfg = config(kIpA);
    cfg.readers = ReclaimerRef(qsbr);
    {
        Engine a(cfg, w.pa, key(1), key(2));
        Engine b(config(kIpB), w.pb, key(3), key(4));
        a.set_app(&client);
        b.set_app(&echo);
        ASSERT_TRUE(b.listen(7));
        ASSERT_TRUE(a.connect(kIpB, 7));
        a.flush(w.now);
        const Instant end = w.now + Duration::seconds(120);
        for (bool quiet = false; w.now < end && !(quiet && client.got.size() == client.data.size());) {
            const auto k = a.poll(w.now) + b.poll(w.now);
            quiet = k == 0 && w.pa.pending() == 0 && w.pb.pending() == 0;
            if (quiet) w.now = w.now + Duration::millis(1);
        }
        ASSERT_EQ(client.got, client.data);
        ASSERT_NE(client.conn, nullptr);
        ASSERT_EQ(client.conn->state(), tcp::State::Established);
        const tcp::ConnStats& st = client.conn->stats();
        const std::uint32_t resent = st.retrans_timeout + st.retrans_fast;
        EXPECT_GT(resent, 0u);
        EXPECT_LE(resent, a.tcp_counters().retransmits + a.tcp_counters().fast_retransmits);
        const std::uint32_t cwnd = client.conn->congestion().cwnd();
        EXPECT_GT(cwnd, 0u);
        qsbr.register_reader(0);
        qsbr.online(0);
        std::size_t seen = 0;
        std::thread reader([&] {
            a.for_each_flow_concurrent([&](const FourTuple&, const FlowInfo& info) {
                EXPECT_EQ(info.cwnd.load(), cwnd);
                EXPECT_EQ(info.retransmits.load(), resent);
                EXPECT_EQ(info.bytes_retrans.load(), st.bytes_retrans);
                ++seen;
            });
        });
        reader.join();
        qsbr.offline(0);
        EXPECT_EQ(seen, 1u);
        a.abort_all(w.now);
        b.abort_all(w.now);
        a.poll(w.now);
        b.poll(w.now);
    }
    EXPECT_EQ(w.pool_a.in_use(), 0u);
    EXPECT_EQ(w.pool_b.in_use(), 0u);
}

namespace {
std::int64_t g_clock_ns = 0;  // FlowsAreStampedWithTheConfiguredClock's clock
}  // namespace

TEST(Engine, FlowsAreStampedWithTheConfiguredClock) {
    // opened_at(): EngineConfig::clock when given (read once per new connection), else the poll's time.
    tcp::HeapBuffers pool(256, 2048);
    SimPort port(kMacA, pool);
    EngineConfig cfg = config(kIpA);
    cfg.clock = []() noexcept { return Instant::from_nanos(g_clock_ns += 1000); };
    Engine e(cfg, port, key(1), key(2));
    g_clock_ns = 5'000'000;
    auto c1 = e.connect(kIpB, 80);
    auto c2 = e.connect(kIpB, 81);
    ASSERT_TRUE(c1 && c2);
    EXPECT_EQ(e.opened_at(**c1), Instant::from_nanos(5'001'000));
    EXPECT_EQ(e.opened_at(**c2), Instant::from_nanos(5'002'000));
    e.abort_all(Instant::from_nanos(1));

    SimPort port2(kMacA, pool);
    Engine plain(config(kIpA), port2, key(1), key(2));
    plain.flush(Instant::from_nanos(7'000'000));
    auto c3 = plain.connect(kIpB, 80);
    ASSERT_TRUE(c3);
    EXPECT_EQ(plain.opened_at(**c3), Instant::from_nanos(7'000'000));
    plain.abort_all(Instant::from_nanos(7'000'000));
}

TEST(Engine, TsoSendsLargeSegmentsThePortCutsAtTheMss) {
    PortCaps caps;
    caps.tx_tso = true;
    Wire w(8192, caps);
    Client client;
    for (std::uint32_t i = 0; i < 1'000'000; ++i) client.data += static_cast<char>('a' + (i * 7919u) % 26u);
    Echo echo;
    {
        EngineConfig ca = config(kIpA);
        ca.tso_max = 64000;
        ca.tcp.send_buffer = 1u << 20;
        EngineConfig cb = config(kIpB);
        cb.tso_max = 64000;
        Engine a(ca, w.pa, key(1), key(2));
        Engine b(cb, w.pb, key(3), key(4));
        a.set_app(&client);
        b.set_app(&echo);
        ASSERT_TRUE(b.listen(7));
        ASSERT_TRUE(a.connect(kIpB, 7));
        a.flush(w.now);
        run(a, b, w.pa, w.pb, w.now, client);
        EXPECT_EQ(client.got, client.data);
        EXPECT_GT(w.pa.tso_frames, 0u);  // both directions sent super-segments ...
        EXPECT_GT(w.pb.tso_frames, 0u);
        EXPECT_LE(w.pa.largest_frame, 1514u);  // ... and the wire saw MSS-sized frames only
        EXPECT_LE(w.pb.largest_frame, 1514u);
        EXPECT_EQ(b.tcp_counters().drop_bad_checksum + a.tcp_counters().drop_bad_checksum, 0u);
        a.abort_all(w.now);
        b.abort_all(w.now);
    }
    EXPECT_EQ(w.pool_a.in_use(), 0u);
    EXPECT_EQ(w.pool_b.in_use(), 0u);
}

TEST(Engine, WithoutTsoEverySegmentIsAtMostOneMss) {
    Wire w(8192);  // no TSO offered: tso_max is ignored
    Client client;
    client.data.assign(200'000, 'x');
    Echo echo;
    {
        EngineConfig ca = config(kIpA);
        ca.tso_max = 64000;
        Engine a(ca, w.pa, key(1), key(2));
        Engine b(config(kIpB), w.pb, key(3), key(4));
        a.set_app(&client);
        b.set_app(&echo);
        ASSERT_TRUE(b.listen(7));
        ASSERT_TRUE(a.connect(kIpB, 7));
        a.flush(w.now);
        run(a, b, w.pa, w.pb, w.now, client);
        EXPECT_EQ(client.got, client.data);
        EXPECT_EQ(w.pa.tso_frames, 0u);
        EXPECT_LE(w.pa.largest_frame, 1514u);
        a.abort_all(w.now);
        b.abort_all(w.now);
    }
}

namespace {

std::vector<std::uint8_t> echo_request(std::size_t data_len) {
    std::vector<std::uint8_t> f(14 + 20 + 8 + data_len);
    wire::EthernetRepr{kMacB, kMacPeer, wire::kEtherTypeIpv4}.emit(f);
    wire::Ipv4Repr ip{kIpA, kIpB, wire::kIpProtoIcmp, 64, 0, 7, false, static_cast<std::uint16_t>(8 + data_len)};
    ip.emit(wire::MutBytes(f.data() + 14, 20));
    std::uint8_t* icmp = f.data() + 34;
    icmp[0] = wire::kIcmpEchoRequest;
    store_be16(&icmp[4], 0x77);
    for (std::size_t i = 0; i < data_len; ++i) icmp[8 + i] = static_cast<std::uint8_t>(i * 13);
    store_be16(&icmp[2], wire::internet_checksum(wire::Bytes(icmp, 8 + data_len)));
    return f;
}

}  // namespace

TEST(Engine, AnswersAReassembledEchoAboveTheMtuOnlyWhenThePortFragments) {
    // As a port hands over a request it reassembled: 3000 bytes of ICMP in one frame.
    tcp::HeapBuffers pool(64, 4096);
    {
        SimPort port(kMacB, pool);  // no fragmentation on TX: the reply could not go
        Engine e(config(kIpB), port, key(1), key(2));
        port.deliver(echo_request(3000));
        e.poll(Instant::from_nanos(1));
        EXPECT_TRUE(port.sent.empty());
        EXPECT_EQ(e.counters().icmp_other, 1u);
    }
    PortCaps caps;
    caps.tx_ip_fragment = true;
    SimPort port(kMacB, pool, caps);
    Engine e(config(kIpB), port, key(1), key(2));
    port.deliver(echo_request(3000));
    e.poll(Instant::from_nanos(1));
    ASSERT_EQ(port.sent.size(), 1u);  // whole: the port fragments it on the way out
    const auto& r = port.sent[0];
    ASSERT_EQ(r.size(), 14u + 20 + 8 + 3000);
    EXPECT_EQ(r[14 + 6] & 0x40, 0);  // DF clear, or it could not be fragmented
    EXPECT_EQ(wire::internet_checksum(wire::Bytes(r.data() + 14, 20)), 0);
    EXPECT_EQ(r[34], wire::kIcmpEchoReply);
    EXPECT_EQ(wire::internet_checksum(wire::Bytes(r.data() + 34, 8 + 3000)), 0);
    EXPECT_EQ(pool.in_use(), 0u);
}

TEST(Engine, AWriterBlockedForWantOfBuffersHearsWritableWhenTheyReturn) {
    Wire w(1024);
    struct Writer : App {
        int writable = 0;
        bool sent = false;
        std::string got;
        void on_writable(Engine& e, tcp::Connection& c) override {
            ++writable;
            if (!sent) sent = c.send(e.ctx(), e.now(), wire::Bytes(reinterpret_cast<const std::uint8_t*>("hello"), 5)).ok();
        }
        void on_readable(Engine& e, tcp::Connection& c) override {
            std::uint8_t buf[64];
            auto r = c.receive(e.ctx(), e.now(), buf);
            if (r) got.append(reinterpret_cast<const char*>(buf), *r);
        }
    } writer;
    Echo echo;
    EngineConfig ca = config(kIpA);
    ca.buffer_nodes = 64;
    Engine a(ca, w.pa, key(1), key(2));
    Engine b(config(kIpB), w.pb, key(3), key(4));
    a.set_app(&writer);
    b.set_app(&echo);
    ASSERT_TRUE(b.listen(7));
    auto c = a.connect(kIpB, 7);
    ASSERT_TRUE(c);
    a.flush(w.now);
    for (int i = 0; i < 50; ++i) {
        a.poll(w.now);
        b.poll(w.now);
        w.now = w.now + Duration::millis(1);
    }
    ASSERT_EQ((*c)->state(), tcp::State::Established);
    // Every node taken (as other connections' queues would): the write finds none.
    tcp::BufNode* hog = nullptr;
    while (a.ctx().bufs.nodes_free() > 0) {
        tcp::BufNode* n = a.ctx().bufs.take(tcp::BufRef{});
        n->next = hog;
        hog = n;
    }
    EXPECT_FALSE((*c)->send(a.ctx(), a.now(), wire::Bytes(reinterpret_cast<const std::uint8_t*>("hello"), 5)));
    EXPECT_TRUE((*c)->write_blocked());
    a.touch(**c);
    for (int i = 0; i < 5; ++i) a.poll(w.now = w.now + Duration::millis(1));
    EXPECT_EQ(writer.writable, 0);  // nothing in flight: no ACK will bring it
    a.ctx().bufs.release_chain(hog);
    for (int i = 0; i < 50 && writer.got.empty(); ++i) {
        a.poll(w.now);
        b.poll(w.now);
        w.now = w.now + Duration::millis(1);
    }
    EXPECT_GE(writer.writable, 1);
    EXPECT_EQ(writer.got, "hello");
    a.abort_all(w.now);
    b.abort_all(w.now);
}
