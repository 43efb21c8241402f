// lib/engine with secondary local addresses and a large pool: ARP answered for a secondary
// address (and its reply names that address), connects from one (the SYN carries it), an
// echo exchanged end to end from one, ephemeral ports counted per address (one address's
// ports running out leaves the others untouched, a port shared among peers only when none is
// free and back once reaped), refusal of an address not configured, a
// configuration whose range is not usable refused by Engine::check, and pool slots touched
// only as connections first use them.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "ustcp/engine/engine.hpp"
#include "ustcp/engine/sim_port.hpp"
#include "ustcp/wire/arp.hpp"
#include "ustcp/wire/ethernet.hpp"
#include "ustcp/wire/ipv4.hpp"
#include "ustcp/wire/tcp.hpp"

using namespace ustcp;
using namespace ustcp::engine;

namespace {

const MacAddr kMacA({0x02, 0, 0, 0, 0, 0x0a});
const MacAddr kMacB({0x02, 0, 0, 0, 0, 0x0b});
const MacAddr kMacPeer({0x02, 0, 0, 0, 0, 0x0c});
const Ipv4Addr kIpA(198, 18, 0, 1);
const Ipv4Addr kIpB(198, 18, 0, 2);
const Ipv4Addr kExtraFirst(198, 18, 0, 100);  // A's secondary addresses: .100 .. .103
constexpr std::uint32_t kExtraCount = 4;

tcp::SipKey key(std::uint64_t k) { return tcp::SipKey::from_words(k, k * 7 + 1); }

EngineConfig config(Ipv4Addr addr, bool extras) {
    EngineConfig c;
    c.addr = addr;
    c.prefix_len = 24;
    c.max_connections = 64;
    c.buffer_nodes = 8192;
    c.announce = false;
    c.flow_seed = 42;
    if (extras) {
        c.extra_first = kExtraFirst;
        c.extra_count = kExtraCount;
    }
    return c;
}

std::vector<std::uint8_t> arp_request(Ipv4Addr from, Ipv4Addr target) {
    std::vector<std::uint8_t> f(wire::kEthHeaderLen + wire::kArpIpv4Len);
    wire::EthernetRepr{MacAddr::broadcast(), kMacPeer, wire::kEtherTypeArp}.emit(f);
    wire::ArpRepr{wire::kArpOpRequest, kMacPeer, from, MacAddr{}, target}.emit(
        wire::MutBytes(f.data() + wire::kEthHeaderLen, wire::kArpIpv4Len));
    return f;
}

/// Sends one line once connected and closes once it came back.
struct Client : App {
    std::string data = "from a secondary address";
    std::string got;
    bool closed = false;
    void on_connected(Engine& e, tcp::Connection& c) override {
        ASSERT_TRUE(c.send(e.ctx(), e.now(), wire::Bytes(reinterpret_cast<const std::uint8_t*>(data.data()), data.size())));
    }
    void on_readable(Engine& e, tcp::Connection& c) override {
        std::uint8_t buf[256];
        for (;;) {
            auto r = c.receive(e.ctx(), e.now(), buf);
            if (!r || *r == 0) break;
            got.append(reinterpret_cast<const char*>(buf), *r);
        }
        if (got.size() == data.size()) (void)c.close(e.ctx(), e.now());
    }
    void on_closed(Engine&, tcp::Connection&) override { closed = true; }
};

/// Echoes what it reads and remembers the local address each connection was accepted on.
struct Echo : App {
    std::vector<Ipv4Addr> accepted_on;
    std::vector<Ipv4Addr> accepted_from;
    void on_accept(Engine&, tcp::Connection& c) override {
        accepted_on.push_back(c.tuple().local_addr);
        accepted_from.push_back(c.tuple().remote_addr);
    }
    void on_readable(Engine& e, tcp::Connection& c) override {
        std::uint8_t buf[256];
        for (;;) {
            auto r = c.receive(e.ctx(), e.now(), buf);
            if (!r || *r == 0) break;
            (void)c.send(e.ctx(), e.now(), wire::Bytes(buf, *r));
        }
    }
    void on_peer_closed(Engine& e, tcp::Connection& c) override { (void)c.close(e.ctx(), e.now()); }
};

/// Only three ports of the ephemeral range reach this port's queue: a small stand-in for 28232.
void owns_three_ports(SimPort& port) {
    port.owns_flow = [](const FourTuple& t) {
        return t.local_port == kEphemeralFirst || t.local_port == kEphemeralFirst + 1 || t.local_port == kEphemeralLast;
    };
}
/// Three connects to kIpB:`port`, their local ports into `ports`.
void connect_three(Engine& e, std::uint16_t port, std::set<std::uint16_t>& ports) {
    for (int i = 0; i < 3; ++i) {
        auto c = e.connect(kIpB, port);
        ASSERT_TRUE(c);
        ports.insert((*c)->tuple().local_port);
    }
}
}  // namespace

TEST(EngineAddrs, AnswersArpForASecondaryAddressInItsName) {
    tcp::HeapBuffers pool(256, 2048);
    SimPort port(kMacA, pool);
    Engine e(config(kIpA, true), port, key(1), key(2));
    const Ipv4Addr second(198, 18, 0, 102);
    port.deliver(arp_request(kIpB, second));
    port.deliver(arp_request(kIpB, Ipv4Addr(198, 18, 0, 104)));  // one past the range: not ours
    e.poll(Instant::from_nanos(1));
    ASSERT_EQ(port.sent.size(), 1u);
    auto eth = wire::EthernetView::checked(port.sent[0]);
    ASSERT_TRUE(eth);
    EXPECT_EQ(eth->dst(), kMacPeer);
    auto arp = wire::ArpView::checked(eth->payload());
    ASSERT_TRUE(arp);
    EXPECT_EQ(arp->op(), wire::kArpOpReply);
    EXPECT_EQ(arp->sender_mac(), kMacA);
    EXPECT_EQ(arp->sender_ip(), second);  // the address asked for, not the primary one
    EXPECT_EQ(arp->target_ip(), kIpB);
    EXPECT_EQ(e.counters().arp_replies_sent, 1u);
    EXPECT_EQ(e.arp_counters().for_us, 1u);
    EXPECT_EQ(e.arp_counters().not_for_us, 1u);
}

TEST(EngineAddrs, ConnectsFromASecondaryAddressEndToEnd) {
    tcp::HeapBuffers pool_a(1024, 2048);
    tcp::HeapBuffers pool_b(1024, 2048);
    SimPort pa(kMacA, pool_a);
    SimPort pb(kMacB, pool_b);
    SimPort::link(pa, pb);
    Client client;
    Echo echo;
    Instant now = Instant::from_nanos(1'000'000'000);
    const Ipv4Addr from(198, 18, 0, 101);
    {
        Engine a(config(kIpA, true), pa, key(1), key(2));
        Engine b(config(kIpB, false), pb, key(3), key(4));
        a.set_app(&client);
        b.set_app(&echo);
        ASSERT_TRUE(b.listen(7));
        auto c = a.connect(kIpB, 7, from);
        ASSERT_TRUE(c);
        EXPECT_EQ((*c)->tuple().local_addr, from);
        a.flush(now);
        const Instant end = now + Duration::seconds(30);
        while (now < end && !client.closed) {
            const auto n = a.poll(now) + b.poll(now);
            if (n == 0 && pa.pending() == 0 && pb.pending() == 0) now = now + Duration::millis(1);
        }
        EXPECT_EQ(client.got, client.data);
        ASSERT_EQ(echo.accepted_on.size(), 1u);
        EXPECT_EQ(echo.accepted_on[0], kIpB);
        EXPECT_EQ(echo.accepted_from[0], from);  // B saw the secondary address as the source
        // B resolved the secondary address by ARP (or gleaned it) and A answered for it.
        EXPECT_EQ(b.counters().tx_no_neighbour, 0u);
        EXPECT_EQ(a.counters().rx_not_for_us, 0u);
        a.abort_all(now);
        b.abort_all(now);
    }
    EXPECT_EQ(pool_a.in_use(), 0u);
    EXPECT_EQ(pool_b.in_use(), 0u);
}

TEST(EngineAddrs, RefusesALocalAddressThatIsNotOurs) {
    tcp::HeapBuffers pool(256, 2048);
    SimPort port(kMacA, pool);
    Engine plain(config(kIpA, false), port, key(1), key(2));
    auto r = plain.connect(kIpB, 80, kExtraFirst);  // no secondary addresses configured
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), tcp::Error::AddressNotAvailable);
    EXPECT_EQ(tcp::to_errno(r.error()), EADDRNOTAVAIL);
    Engine e(config(kIpA, true), port, key(1), key(2));
    for (Ipv4Addr bad : {Ipv4Addr(198, 18, 0, 99), Ipv4Addr(198, 18, 0, 104), kIpB, Ipv4Addr(10, 0, 0, 1)}) {
        auto q = e.connect(kIpB, 80, bad);
        ASSERT_FALSE(q) << bad.to_string();
        EXPECT_EQ(q.error(), tcp::Error::AddressNotAvailable) << bad.to_string();
    }
    EXPECT_EQ(e.connections(), 0u);
    auto ok = e.connect(kIpB, 80, kIpA);  // the primary, named explicitly
    ASSERT_TRUE(ok);
    EXPECT_EQ((*ok)->tuple().local_addr, kIpA);
    e.abort_all(Instant::from_nanos(1));
}

TEST(EngineAddrs, EphemeralPortsArePerLocalAddress) {
    tcp::HeapBuffers pool(256, 2048);
    SimPort port(kMacA, pool);
    owns_three_ports(port);
    Engine e(config(kIpA, true), port, key(1), key(2));
    const Ipv4Addr x(198, 18, 0, 100);
    const Ipv4Addr y(198, 18, 0, 103);
    std::set<std::uint16_t> ports_x;
    for (int i = 0; i < 3; ++i) {
        auto c = e.connect(kIpB, 80, x);
        ASSERT_TRUE(c);
        EXPECT_EQ((*c)->tuple().local_addr, x);
        ports_x.insert((*c)->tuple().local_port);
    }
    EXPECT_EQ(ports_x, (std::set<std::uint16_t>{kEphemeralFirst, kEphemeralFirst + 1, kEphemeralLast}));
    // x's ports are all taken; y and the primary still have every one of theirs, starting at the first.
    auto full = e.connect(kIpB, 80, x);
    ASSERT_FALSE(full);
    EXPECT_EQ(full.error(), tcp::Error::NotConnected);
    auto cy = e.connect(kIpB, 80, y);
    ASSERT_TRUE(cy);
    EXPECT_EQ((*cy)->tuple().local_addr, y);
    EXPECT_EQ((*cy)->tuple().local_port, kEphemeralFirst);
    auto ca = e.connect(kIpB, 80);
    ASSERT_TRUE(ca);
    EXPECT_EQ((*ca)->tuple().local_addr, kIpA);
    EXPECT_EQ((*ca)->tuple().local_port, kEphemeralFirst);
    // The same port on two addresses is two flows.
    EXPECT_EQ(e.connections(), 5u);
    e.abort_all(Instant::from_nanos(1));
}

// A local port serves a second peer only once every port of the address has a flow (the
// bitmap first, then the tuple-exact search), and a port comes back when its last flow is
// reaped.
TEST(EngineAddrs, APortIsSharedAmongPeersOnlyWhenNoneIsFreeAndComesBackWhenReaped) {
    tcp::HeapBuffers pool(256, 2048);
    SimPort port(kMacA, pool);
    owns_three_ports(port);
    Engine e(config(kIpA, false), port, key(1), key(2));
    const Instant now = Instant::from_nanos(1'000'000'000);
    std::set<std::uint16_t> to80;
    std::vector<tcp::Connection*> conns;
    for (int i = 0; i < 3; ++i) {
        auto c = e.connect(kIpB, 80);
        ASSERT_TRUE(c);
        to80.insert((*c)->tuple().local_port);
        conns.push_back(*c);
    }
    EXPECT_EQ(to80.size(), 3u) << "three ports while three are free";
    EXPECT_EQ(e.counters().ephemeral_shared, 0u);
    // Every owned port has a flow: another peer (port 81) still gets one, shared.
    std::set<std::uint16_t> to81;
    ASSERT_NO_FATAL_FAILURE(connect_three(e, 81, to81));
    EXPECT_EQ(to81, to80);
    EXPECT_EQ(e.counters().ephemeral_shared, 3u);
    auto full = e.connect(kIpB, 80);
    ASSERT_FALSE(full) << "every 4-tuple to port 80 is taken";
    EXPECT_EQ(full.error(), tcp::Error::NotConnected);
    // The flows to 80 on one port end, but that port still has its flow to 81: nothing free.
    const std::uint16_t p = conns[1]->tuple().local_port;
    conns[1]->abort(e.ctx(), now);
    e.touch(*conns[1]);
    e.flush(now);
    EXPECT_EQ(e.connections(), 5u);
    auto again = e.connect(kIpB, 80);
    ASSERT_TRUE(again) << "the tuple-exact search finds the freed 4-tuple";
    EXPECT_EQ((*again)->tuple().local_port, p);
    EXPECT_EQ(e.counters().ephemeral_shared, 4u);
    e.abort_all(now);
    EXPECT_EQ(e.connections(), 0u);
    // Everything reaped: all three ports are free again, picked from the bitmap.
    std::set<std::uint16_t> after;
    ASSERT_NO_FATAL_FAILURE(connect_three(e, 82, after));
    EXPECT_EQ(after, to80);
    EXPECT_EQ(e.counters().ephemeral_shared, 4u) << "the counts went back to zero: no sharing";
    e.abort_all(now);
}

TEST(EngineAddrs, CheckRefusesAnUnusableRange) {
    tcp::HeapBuffers pool(16, 2048);
    SimPort port(kMacA, pool);
    auto with = [](Ipv4Addr first, std::uint32_t count) {
        EngineConfig c = config(kIpA, false);
        c.extra_first = first;
        c.extra_count = count;
        return c;
    };
    EXPECT_TRUE(Engine::check(with(kExtraFirst, kExtraCount), port));
    for (const EngineConfig& c : {with(Ipv4Addr(198, 18, 0, 250), 10),  // runs past the subnet's broadcast
                                  with(Ipv4Addr(198, 18, 0, 0), 2),     // the network address
                                  with(kIpA, 3),                        // holds the primary address
                                  with(Ipv4Addr(198, 18, 1, 5), 1),     // another subnet
                                  with(Ipv4Addr(198, 18, 0, 10), kMaxExtraAddrs + 1)}) {
        auto r = Engine::check(c, port);
        ASSERT_FALSE(r) << c.extra_first.to_string() << " +" << c.extra_count;
        EXPECT_EQ(r.error(), ip::InterfaceError::BadExtraAddress);
    }
    EngineConfig g = with(Ipv4Addr(198, 18, 0, 200), 10);
    g.gateway = Ipv4Addr(198, 18, 0, 205);  // the gateway inside the range
    EXPECT_FALSE(Engine::check(g, port));
}

TEST(EngineAddrs, PoolSlotsAreTouchedOnlyAsConnectionsFirstUseThem) {
    tcp::HeapBuffers pool(256, 2048);
    SimPort port(kMacA, pool);
    EngineConfig cfg = config(kIpA, true);
    cfg.max_connections = 1u << 20;  // 1 Mi slots reserved; an idle engine uses none of them
    Engine e(cfg, port, key(1), key(2));
    EXPECT_EQ(e.slots_used(), 0u);
    std::set<std::uint32_t> slots;
    for (int i = 0; i < 10; ++i) {
        auto c = e.connect(kIpB, 80, Ipv4Addr(kExtraFirst.value() + static_cast<std::uint32_t>(i % 4)));
        ASSERT_TRUE(c);
        const std::uint32_t s = e.slot_index(**c);
        EXPECT_LT(s, cfg.max_connections);
        slots.insert(s);
    }
    EXPECT_EQ(slots.size(), 10u);
    EXPECT_EQ(e.slots_used(), 10u);
    Instant now = Instant::from_nanos(1);
    e.abort_all(now);
    e.poll(now);
    // The ten freed slots are used again before any new one is touched.
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(e.connect(kIpB, 81));
    EXPECT_EQ(e.slots_used(), 10u);
    ASSERT_TRUE(e.connect(kIpB, 81));
    EXPECT_EQ(e.slots_used(), 11u);
    e.abort_all(now);
}
