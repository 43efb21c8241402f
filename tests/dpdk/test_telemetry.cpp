// /ustcp/stats and /ustcp/conns through DPDK's real telemetry socket: an EAL with telemetry
// on (no PCI, no hugepages), two engines on linked SimPorts with connections between them,
// and a client speaking the socket's protocol as dpdk-telemetry.py does. A reader hammers
// /ustcp/conns while the worker opens and closes connections (ASan/TSan-clean: the walk
// only reads published FlowInfo, and slots are reused after the reader's grace period).
#include <gtest/gtest.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "ustcp/dpdk/telemetry.hpp"
#include "ustcp/engine/engine.hpp"
#include "ustcp/engine/sim_port.hpp"
#include "ustcp/sim/fault_port.hpp"
#include "ustcp/wire/ethernet.hpp"
#include "ustcp/wire/ipv4.hpp"

using namespace ustcp;
using namespace ustcp::engine;

namespace {

const MacAddr kMacA({0x02, 0, 0, 0, 0, 0x0a});
const MacAddr kMacB({0x02, 0, 0, 0, 0, 0x0b});
const Ipv4Addr kIpA(198, 18, 0, 1);
const Ipv4Addr kIpB(198, 18, 0, 2);

bool start_eal_with_telemetry() {
    static bool ok = [] {
        std::vector<std::string> args = {"test_dpdk_telemetry", "--no-pci", "--no-huge", "-m", "128", "-l", "0",
                                         "--log-level=error",
                                         "--file-prefix=ustcp-tel-" + std::to_string(::getpid())};
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        if (rte_eal_init(static_cast<int>(argv.size() - 1), argv.data()) < 0) {
            std::fprintf(stderr, "rte_eal_init: %s\n", rte_strerror(rte_errno));
            return false;
        }
        return true;
    }();
    return ok;
}

/// One connection to the telemetry socket (SOCK_SEQPACKET, a JSON greeting first).
class TelClient {
public:
    TelClient() {
        fd_ = ::socket(AF_UNIX, SOCK_SEQPACKET, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        const std::string path = std::string(rte_eal_get_runtime_dir()) + "/dpdk_telemetry.v2";
        std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
        ok_ = fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && !recv_one().empty();
    }
    ~TelClient() {
        if (fd_ >= 0) ::close(fd_);
    }
    [[nodiscard]] bool ok() const { return ok_; }
    std::string ask(const std::string& cmd) {
        if (::send(fd_, cmd.data(), cmd.size(), 0) < 0) return {};
        return recv_one();
    }

private:
    std::string recv_one() {
        std::string buf(64 * 1024, '\0');
        const ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
        if (n <= 0) return {};
        buf.resize(static_cast<std::size_t>(n));
        return buf;
    }
    int fd_ = -1;
    bool ok_ = false;
};

EngineConfig config(Ipv4Addr addr, dpdk::Telemetry& tel) {
    EngineConfig c;
    c.addr = addr;
    c.prefix_len = 24;
    c.max_connections = 256;
    c.buffer_nodes = 8192;
    c.announce = false;
    c.readers = tel.readers();
    return c;
}

struct Nothing : App {};

/// Polls both engines at 1 ms steps of virtual time until `done` or 10 s.
template <class F>
void run_until(Engine& a, Engine& b, Instant& now, F done) {
    for (int i = 0; i < 10000 && !done(); ++i) {
        a.poll(now);
        b.poll(now);
        now = now + Duration::millis(1);
    }
}

std::size_t count(const std::string& s, const std::string& what) {
    std::size_t n = 0;
    for (std::size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
    return n;
}

}  // namespace

TEST(Telemetry, ServesStatsAndConnectionsOverTheSocket) {
    ASSERT_TRUE(start_eal_with_telemetry());
    dpdk::Telemetry tel;
    tcp::HeapBuffers pool_a(2048, 2048);
    tcp::HeapBuffers pool_b(2048, 2048);
    SimPort pa(kMacA, pool_a);
    SimPort pb(kMacB, pool_b);
    SimPort::link(pa, pb);
    Instant now = Instant::from_nanos(1'000'000'000);
    {
        Engine a(config(kIpA, tel), pa, tcp::SipKey::from_words(1, 2), tcp::SipKey::from_words(3, 4));
        Engine b(config(kIpB, tel), pb, tcp::SipKey::from_words(5, 6), tcp::SipKey::from_words(7, 8));
        Nothing app;
        b.set_app(&app);
        ASSERT_TRUE(b.listen(7));
        tel.add(1, a);
        tel.add(2, b);
        ASSERT_TRUE(tel.start());
        for (int i = 0; i < 50; ++i) ASSERT_TRUE(a.connect(kIpB, 7));
        run_until(a, b, now, [&] { return b.states()[static_cast<std::size_t>(tcp::State::Established)] == 50; });
        ASSERT_EQ(b.connections(), 50u);
        // One datagram with a broken header checksum, to be counted by reason.
        std::vector<std::uint8_t> bad(14 + 20 + 8, 0);
        wire::EthernetRepr{kMacB, kMacA, wire::kEtherTypeIpv4}.emit(bad);
        wire::Ipv4Repr{kIpA, kIpB, wire::kIpProtoIcmp, 64, 0, 1, false, 8}.emit(wire::MutBytes(bad.data() + 14, 20));
        bad[14 + 10] ^= 0xff;
        pb.deliver(bad);
        a.poll(now + Duration::millis(2));
        b.poll(now + Duration::millis(2));

        TelClient client;
        ASSERT_TRUE(client.ok());
        const std::string all = client.ask("/ustcp/stats");
        EXPECT_NE(all.find("\"lcores\":[1,2]"), std::string::npos) << all;
        EXPECT_NE(all.find("\"connections\":100"), std::string::npos) << all;
        EXPECT_NE(all.find("\"ESTABLISHED\":100"), std::string::npos) << all;
        EXPECT_NE(all.find("\"connections_opened\":100"), std::string::npos) << all;
        EXPECT_NE(all.find("\"ipv4_bad_checksum\":1"), std::string::npos) << all;  // lib/ip's drops by reason
        EXPECT_NE(all.find("\"neighbour_resolution_failed\":0"), std::string::npos) << all;
        const std::string one = client.ask("/ustcp/stats,2");
        EXPECT_NE(one.find("\"connections\":50"), std::string::npos) << one;
        EXPECT_NE(one.find("\"arp_replies_sent\":1"), std::string::npos) << one;
        EXPECT_EQ(client.ask("/ustcp/stats,9").find("\"connections\""), std::string::npos);  // no such lcore

        const std::string first = client.ask("/ustcp/conns,2");
        EXPECT_EQ(count(first, "\"state\":\"ESTABLISHED\""), dpdk::Telemetry::kConnsPerReply) << first;
        EXPECT_NE(first.find("\"total\":50"), std::string::npos);
        EXPECT_NE(first.find("\"next\":40"), std::string::npos);
        EXPECT_NE(first.find("\"local\":\"198.18.0.2:7\""), std::string::npos);
        const std::string rest = client.ask("/ustcp/conns,2,40");
        EXPECT_EQ(count(rest, "\"state\":\"ESTABLISHED\""), 10u) << rest;
        EXPECT_NE(rest.find("\"next\":-1"), std::string::npos);

        // Churn on the worker while a client keeps walking the connections.
        std::atomic<bool> stop{false};
        std::atomic<int> replies{0};
        std::thread reader([&] {
            TelClient c2;
            while (c2.ok() && !stop.load()) {
                if (c2.ask("/ustcp/conns,1").find("\"total\"") != std::string::npos) ++replies;
            }
        });
        // A reader descheduled mid-walk holds closed flows' slots (the worker never waits for
        // it): a connect may find the pool empty until the reader reports, so it retries.
        const auto connect = [&] {
            for (int k = 0; k < 200000; ++k) {
                if (a.connect(kIpB, 7)) return true;
                a.poll(now);
                std::this_thread::yield();
            }
            return false;
        };
        bool all_connected = true;
        // At least 20 rounds, and on until the reader has walked the table a few times meanwhile.
        for (int round = 0; (round < 20 || replies.load() < 3) && round < 100000 && all_connected; ++round) {
            a.abort_all(now);
            run_until(a, b, now, [&] { return b.connections() == 0; });
            for (int i = 0; i < 50 && all_connected; ++i) all_connected = connect();
            run_until(a, b, now, [&] { return b.states()[static_cast<std::size_t>(tcp::State::Established)] == 50; });
        }
        stop = true;
        reader.join();
        EXPECT_TRUE(all_connected) << "slots never came back from the reader";
        EXPECT_GT(replies.load(), 0);
        tel.stop();
        EXPECT_EQ(client.ask("/ustcp/stats").find("\"lcores\":[1"), std::string::npos);  // forgotten
        a.abort_all(now);
        b.abort_all(now);
    }
    EXPECT_EQ(pool_a.in_use(), 0u);
    EXPECT_EQ(pool_b.in_use(), 0u);
}

// `fault`: the FaultPorts' counters come out under "faults", by direction, the same numbers
// the port itself counts (published at each rx_burst); without a FaultPort there is no such
// dict.
TEST(Telemetry, ServesTheFaultPortsCounters) {
    ASSERT_TRUE(start_eal_with_telemetry());
    dpdk::Telemetry tel;
    tcp::HeapBuffers pool_a(2048, 2048);
    tcp::HeapBuffers pool_b(2048, 2048);
    SimPort pa(kMacA, pool_a);
    SimPort pb(kMacB, pool_b);
    SimPort::link(pa, pb);
    Instant now = Instant::from_nanos(1'000'000'000);
    auto faults = sim::parse_port_faults("rx:loss=20%,seed=4;tx:dup=10%,seed=5");
    ASSERT_TRUE(faults) << faults.error();
    sim::FaultPort fa(pa, *faults, [&] { return now; });
    {
        Engine a(config(kIpA, tel), fa, tcp::SipKey::from_words(1, 2), tcp::SipKey::from_words(3, 4));
        Engine b(config(kIpB, tel), pb, tcp::SipKey::from_words(5, 6), tcp::SipKey::from_words(7, 8));
        Nothing app;
        b.set_app(&app);
        ASSERT_TRUE(b.listen(7));
        tel.add(1, a, 0, &fa);
        tel.add(2, b);
        ASSERT_TRUE(tel.start());
        for (int i = 0; i < 50; ++i) ASSERT_TRUE(a.connect(kIpB, 7));
        run_until(a, b, now, [&] { return b.states()[static_cast<std::size_t>(tcp::State::Established)] == 50; });
        engine::RxFrame none[1];
        ASSERT_EQ(fa.rx_burst(none, 0), 0u);  // publishes what the last tx_burst counted
        const sim::FaultCounters rx = fa.rx_counters();
        const sim::FaultCounters tx = fa.tx_counters();
        ASSERT_GT(rx.lost, 0u);
        ASSERT_GT(tx.duplicated, 0u);

        TelClient client;
        ASSERT_TRUE(client.ok());
        const std::string all = client.ask("/ustcp/stats");
        EXPECT_NE(all.find("\"faults\":{"), std::string::npos) << all;
        EXPECT_NE(all.find("\"rx_frames\":" + std::to_string(rx.frames) + ","), std::string::npos) << all;
        EXPECT_NE(all.find("\"rx_lost\":" + std::to_string(rx.lost) + ","), std::string::npos) << all;
        EXPECT_NE(all.find("\"tx_duplicated\":" + std::to_string(tx.duplicated) + ","), std::string::npos) << all;
        EXPECT_NE(all.find("\"tx_lost\":0,"), std::string::npos) << all;
        EXPECT_EQ(client.ask("/ustcp/stats,2").find("\"faults\""), std::string::npos);  // b has none
        const dpdk::StatsSnapshot lane = tel.read_lane(0);
        EXPECT_TRUE(lane.faults);
        EXPECT_EQ(lane.fault_rx, rx);
        EXPECT_EQ(lane.fault_tx, tx);
        EXPECT_FALSE(tel.read_lane(1).faults);
        // since(): what changed after a baseline.
        const dpdk::StatsSnapshot d = dpdk::since(lane, lane);
        EXPECT_EQ(d.fault_rx, sim::FaultCounters{});
        tel.stop();
        a.abort_all(now);
        b.abort_all(now);
    }
    EXPECT_EQ(pool_a.in_use(), 0u);
    EXPECT_EQ(pool_b.in_use(), 0u);
}
