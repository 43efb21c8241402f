// lib/config: every key read into StackConfig, the defaults, the value formats, derived defaults,
// to_toml() round trips, and the documented example files in config/ load.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>

#include "helpers.hpp"
#include "ustcp/config/load.hpp"

using namespace ustcp;
using namespace ustcp::config;
using cfgtest::load_ok;

namespace {

// Every key set to something other than its default. Two ports, so that both vdev and pci appear.
constexpr std::string_view kEveryKey = R"(
lcores = "2-5"
burst = 64
shutdown_timeout = "2s"
pcap = "/tmp/ustcp-test.pcapng"
fault = "rx:loss=2%,delay=1ms;tx:dup=1%"

[[port]]
name = "tap0"
vdev = "net_tap0,iface=ustcp0"
devargs = "persist=1"
ip = "198.18.0.2/24"
gateway = "198.18.0.1"
extra_ips = "198.18.0.10-198.18.0.200"
mac = "02:00:00:00:00:02"
mtu = 1400
rx_queues = 2
tx_queues = 3
rx_desc = 512
tx_desc = 256
rss = "on"
checksum_offload = "off"
tso = "off"

[[port]]
name = "nic0"
pci = "01:00.1"
devargs = "rxq_cqe_comp_en=1,txq_inline_max=[64,128]"
ip = "10.0.0.2/16"
mtu = 9000
rss = "off"
checksum_offload = "on"
tso = "on"

[mempool]
mbufs_per_lcore = 32767
cache = 128
data_room = 9344

[tcp]
mss = 1300
default_peer_mss = 1000
window_scaling = false
timestamps = false
sack = false
send_buffer = "1MiB"
recv_buffer = 65536
msl = "10s"
rto_initial = "2s"
rto_min = "100ms"
rto_max = "2min"
syn_retries = 3
synack_retries = 2
data_retries = 8
user_timeout = "5min"
delayed_ack = "20ms"
quickack = 0
nodelay = true
persist_max = "30s"
keepalive = true
keepalive_idle = "10min"
keepalive_interval = "5s"
keepalive_count = 4
congestion_control = "newreno"
rfc5961 = false
challenge_acks_per_conn_per_sec = 5
challenge_acks_per_engine_per_sec = 500
syn_cookies = "always"
accept_overflow = "reset"
syn_backlog = 64
accept_backlog = 32
max_connections = 1000000
fixed_iss = 4000000000
rack = false

[tcp.newreno]
abc_limit_segments = 1
ca_growth = "per-ack"
recovery_exit = "ssthresh"

[app]
name = "http"
listen = [80, 8080]
http_max_bytes = "2MiB"
http_idle_timeout = "3s"
iperf3_idle_timeout = "90s"
http_max_request = "16KiB"
)";

/// kEveryKey's keys as flags name them; must be config_keys(), so a new key needs a line above.
const std::vector<std::string> kEveryKeyNames = {
    "lcores", "burst", "shutdown_timeout", "pcap", "fault",
    "port.name", "port.vdev", "port.pci", "port.devargs", "port.ip", "port.gateway", "port.extra_ips", "port.mac",
    "port.mtu",
    "port.rx_queues", "port.tx_queues", "port.rx_desc", "port.tx_desc", "port.rss", "port.checksum_offload",
    "port.tso",
    "mempool.mbufs_per_lcore", "mempool.cache", "mempool.data_room",
    "tcp.mss", "tcp.default_peer_mss", "tcp.window_scaling", "tcp.timestamps", "tcp.sack", "tcp.rack", "tcp.send_buffer",
    "tcp.recv_buffer", "tcp.msl", "tcp.rto_initial", "tcp.rto_min", "tcp.rto_max", "tcp.syn_retries",
    "tcp.synack_retries", "tcp.data_retries", "tcp.user_timeout", "tcp.delayed_ack", "tcp.quickack", "tcp.nodelay",
    "tcp.persist_max", "tcp.keepalive", "tcp.keepalive_idle", "tcp.keepalive_interval", "tcp.keepalive_count",
    "tcp.congestion_control", "tcp.rfc5961", "tcp.challenge_acks_per_conn_per_sec",
    "tcp.challenge_acks_per_engine_per_sec", "tcp.syn_cookies", "tcp.accept_overflow", "tcp.syn_backlog",
    "tcp.accept_backlog", "tcp.max_connections", "tcp.fixed_iss",
    "tcp.newreno.abc_limit_segments", "tcp.newreno.ca_growth", "tcp.newreno.recovery_exit",
    "app.name", "app.listen", "app.http_max_bytes", "app.http_idle_timeout", "app.iperf3_idle_timeout",
    "app.http_max_request",
};

std::string config_dir() {
    const char* d = std::getenv("USTCP_CONFIG_DIR");
    return d != nullptr ? d : "config";
}

}  // namespace

TEST(ConfigKeys, TheTestCoversEveryKey) { EXPECT_EQ(config_keys(), kEveryKeyNames); }

TEST(ConfigParse, EveryKeyIsReadIntoItsField) {
    const StackConfig c = load_ok(kEveryKey);
    EXPECT_EQ(c.lcores, (std::vector<unsigned>{2, 3, 4, 5}));
    EXPECT_EQ(c.burst, 64);
    EXPECT_EQ(c.shutdown_timeout, Duration::seconds(2));
    EXPECT_EQ(c.pcap, "/tmp/ustcp-test.pcapng");
    EXPECT_EQ(c.fault, "rx:loss=2%,delay=1ms;tx:dup=1%");

    ASSERT_EQ(c.ports.size(), 2u);
    const PortConfig& t = c.ports[0];
    EXPECT_EQ(t.name, "tap0");
    EXPECT_EQ(t.kind, DeviceKind::Vdev);
    EXPECT_EQ(t.device, "net_tap0,iface=ustcp0");
    EXPECT_EQ(t.devargs, "persist=1");
    EXPECT_EQ(t.devargs_string(), "net_tap0,iface=ustcp0,persist=1");
    EXPECT_EQ(t.device_name(), "net_tap0");
    EXPECT_EQ(t.ip, (Ipv4Prefix{Ipv4Addr(198, 18, 0, 2), 24}));
    EXPECT_EQ(t.gateway, Ipv4Addr(198, 18, 0, 1));
    EXPECT_EQ(t.extra_first, Ipv4Addr(198, 18, 0, 10));
    EXPECT_EQ(t.extra_count, 191u);
    ASSERT_TRUE(t.mac);
    EXPECT_EQ(t.mac->to_string(), "02:00:00:00:00:02");
    EXPECT_EQ(t.mtu, 1400);
    EXPECT_EQ(t.rx_queues, 2);
    EXPECT_EQ(t.tx_queues, 3);
    EXPECT_EQ(t.rx_desc, 512);
    EXPECT_EQ(t.tx_desc, 256);
    EXPECT_EQ(t.rss, Toggle::On);
    EXPECT_EQ(t.checksum_offload, Toggle::Off);
    EXPECT_EQ(t.tso, Toggle::Off);

    const PortConfig& n = c.ports[1];
    EXPECT_EQ(n.name, "nic0");
    EXPECT_EQ(n.kind, DeviceKind::Pci);
    EXPECT_EQ(n.device, "0000:01:00.1");
    EXPECT_EQ(n.devargs_string(), "0000:01:00.1,rxq_cqe_comp_en=1,txq_inline_max=[64,128]");
    EXPECT_EQ(n.device_name(), "0000:01:00.1");
    EXPECT_EQ(n.ip.to_string(), "10.0.0.2/16");
    EXPECT_FALSE(n.gateway);
    EXPECT_EQ(n.extra_count, 0u);
    EXPECT_FALSE(n.mac);
    EXPECT_EQ(n.mtu, 9000);
    EXPECT_EQ(n.rx_queues, 1);  // derived: rss = "off"
    EXPECT_EQ(n.tx_queues, 4);  // derived: one per lcore
    EXPECT_EQ(n.rss, Toggle::Off);
    EXPECT_EQ(n.checksum_offload, Toggle::On);
    EXPECT_EQ(n.tso, Toggle::On);

    EXPECT_EQ(c.max_connections, 1000000u);
    EXPECT_EQ(c.mempool.mbufs_per_lcore, 32767u);
    EXPECT_EQ(c.mempool.cache, 128u);
    EXPECT_EQ(c.mempool.data_room, 9344);

    const tcp::Config& p = c.tcp;
    EXPECT_EQ(p.mss, 1300);
    EXPECT_EQ(p.default_peer_mss, 1000);
    EXPECT_FALSE(p.window_scaling);
    EXPECT_FALSE(p.timestamps);
    EXPECT_FALSE(p.sack);
    EXPECT_FALSE(p.rack);
    EXPECT_EQ(p.send_buffer, 1024u * 1024);
    EXPECT_EQ(p.recv_buffer, 65536u);
    EXPECT_EQ(p.msl, Duration::seconds(10));
    EXPECT_EQ(p.rto_initial, Duration::seconds(2));
    EXPECT_EQ(p.rto_min, Duration::millis(100));
    EXPECT_EQ(p.rto_max, Duration::seconds(120));
    EXPECT_EQ(p.syn_retries, 3);
    EXPECT_EQ(p.synack_retries, 2);
    EXPECT_EQ(p.data_retries, 8);
    EXPECT_EQ(p.user_timeout, Duration::seconds(300));
    EXPECT_EQ(p.delayed_ack, Duration::millis(20));
    EXPECT_EQ(p.quickack, 0);
    EXPECT_TRUE(p.nodelay);
    EXPECT_EQ(p.persist_max, Duration::seconds(30));
    EXPECT_TRUE(p.keepalive);
    EXPECT_EQ(p.keepalive_idle, Duration::seconds(600));
    EXPECT_EQ(p.keepalive_interval, Duration::seconds(5));
    EXPECT_EQ(p.keepalive_count, 4);
    EXPECT_EQ(p.cc.algorithm, tcp::cc::Algorithm::NewReno);
    EXPECT_FALSE(p.rfc5961);
    EXPECT_EQ(p.challenge_acks_per_conn_per_sec, 5);
    EXPECT_EQ(p.challenge_acks_per_engine_per_sec, 500u);
    EXPECT_EQ(p.syn_cookies, tcp::SynCookieMode::Always);
    EXPECT_EQ(p.accept_overflow, tcp::AcceptOverflow::Reset);
    EXPECT_EQ(c.backlog.syn, 64u);
    EXPECT_EQ(c.backlog.accept, 32u);
    EXPECT_EQ(p.fixed_iss, 4'000'000'000u);
    EXPECT_EQ(p.cc.newreno.abc_limit_segments, 1);
    EXPECT_EQ(p.cc.newreno.ca_growth, tcp::cc::NewRenoConfig::CaGrowth::PerAck);
    EXPECT_EQ(p.cc.newreno.recovery_exit, tcp::cc::NewRenoConfig::RecoveryExit::Ssthresh);

    EXPECT_EQ(c.app.name, AppKind::Http);
    EXPECT_EQ(c.app.listen, (std::vector<std::uint16_t>{80, 8080}));
    EXPECT_EQ(c.app.http_max_bytes, 2u << 20);
    EXPECT_EQ(c.app.http_idle_timeout, Duration::seconds(3));
    EXPECT_EQ(c.app.http_max_request, 16u << 10);
    EXPECT_EQ(c.app.iperf3_idle_timeout, Duration::seconds(90));

    // Every key that was written has its line.
    EXPECT_EQ(c.sources.file, "t.toml");
    ASSERT_NE(c.sources.find("tcp.delayed_ack"), nullptr);
    EXPECT_EQ(c.sources.find("tcp.delayed_ack")->line, 56u);
    EXPECT_EQ(c.sources.find("tcp.delayed_ack")->column, 1u);
    ASSERT_NE(c.sources.find("port[1].mtu"), nullptr);
    EXPECT_EQ(c.sources.find("port[1].mtu")->line, 30u);
    ASSERT_NE(c.sources.find("port[1]"), nullptr);
    EXPECT_EQ(c.sources.find("port[1]")->line, 25u);
    EXPECT_FALSE(c.sources.given("port[1].rx_queues"));
}

TEST(ConfigParse, DefaultsMatchTheStructsAndTcpConfig) {
    const StackConfig c = load_ok(cfgtest::kMinimal);
    const StackConfig d;
    EXPECT_EQ(c.lcores, (std::vector<unsigned>{1}));
    EXPECT_EQ(c.burst, 32);
    EXPECT_EQ(c.pcap, "") << "no capture unless asked";
    EXPECT_EQ(c.fault, "") << "no faults unless asked";
    ASSERT_EQ(c.ports.size(), 1u);
    const PortConfig& p = c.ports[0];
    EXPECT_EQ(p.name, "port0");
    EXPECT_EQ(p.kind, DeviceKind::Eal);  // no vdev or pci: the ethdev EAL made
    EXPECT_EQ(p.device, "");
    EXPECT_EQ(p.devargs_string(), "");
    EXPECT_EQ(p.device_name(), "");
    EXPECT_FALSE(p.gateway);
    EXPECT_FALSE(p.mac);
    EXPECT_EQ(p.mtu, 1500);
    EXPECT_EQ(p.rx_queues, 1);
    EXPECT_EQ(p.tx_queues, 1);
    EXPECT_EQ(p.rx_desc, 1024);
    EXPECT_EQ(p.tx_desc, 1024);
    EXPECT_EQ(p.rss, Toggle::Auto);
    EXPECT_EQ(p.checksum_offload, Toggle::Auto);
    EXPECT_EQ(p.tso, Toggle::Auto);
    EXPECT_EQ(c.mempool.mbufs_per_lcore, 16383u);
    EXPECT_EQ(c.mempool.cache, 256u);
    EXPECT_EQ(c.mempool.data_room, 2176);

    const tcp::Config t;  // lib/tcp's defaults are the file's defaults
    EXPECT_EQ(c.tcp.mss, 1460);
    EXPECT_EQ(c.tcp.mss, t.mss);
    EXPECT_EQ(c.tcp.default_peer_mss, t.default_peer_mss);
    EXPECT_EQ(c.tcp.window_scaling, t.window_scaling);
    EXPECT_EQ(c.tcp.timestamps, t.timestamps);
    EXPECT_EQ(c.tcp.sack, t.sack);
    EXPECT_EQ(c.tcp.rack, t.rack);
    EXPECT_EQ(c.tcp.send_buffer, t.send_buffer);
    EXPECT_EQ(c.tcp.recv_buffer, t.recv_buffer);
    EXPECT_EQ(c.tcp.msl, t.msl);
    EXPECT_EQ(c.tcp.rto_initial, t.rto_initial);
    EXPECT_EQ(c.tcp.rto_min, t.rto_min);
    EXPECT_EQ(c.tcp.rto_max, t.rto_max);
    EXPECT_EQ(c.tcp.syn_retries, t.syn_retries);
    EXPECT_EQ(c.tcp.synack_retries, t.synack_retries);
    EXPECT_EQ(c.tcp.data_retries, t.data_retries);
    EXPECT_EQ(c.tcp.user_timeout, t.user_timeout);
    EXPECT_EQ(c.tcp.delayed_ack, t.delayed_ack);
    EXPECT_EQ(c.tcp.quickack, t.quickack);
    EXPECT_EQ(c.tcp.nodelay, t.nodelay);
    EXPECT_EQ(c.tcp.persist_max, t.persist_max);
    EXPECT_EQ(c.tcp.keepalive, t.keepalive);
    EXPECT_EQ(c.tcp.keepalive_idle, t.keepalive_idle);
    EXPECT_EQ(c.tcp.keepalive_interval, t.keepalive_interval);
    EXPECT_EQ(c.tcp.keepalive_count, t.keepalive_count);
    EXPECT_EQ(c.tcp.cc.algorithm, t.cc.algorithm);
    EXPECT_EQ(c.tcp.cc.newreno.abc_limit_segments, t.cc.newreno.abc_limit_segments);
    EXPECT_EQ(c.tcp.cc.newreno.ca_growth, t.cc.newreno.ca_growth);
    EXPECT_EQ(c.tcp.cc.newreno.recovery_exit, t.cc.newreno.recovery_exit);
    EXPECT_EQ(c.tcp.rfc5961, t.rfc5961);
    EXPECT_EQ(c.tcp.challenge_acks_per_conn_per_sec, t.challenge_acks_per_conn_per_sec);
    EXPECT_EQ(c.tcp.challenge_acks_per_engine_per_sec, t.challenge_acks_per_engine_per_sec);
    EXPECT_EQ(c.tcp.syn_cookies, t.syn_cookies);
    EXPECT_EQ(c.tcp.accept_overflow, t.accept_overflow);
    EXPECT_EQ(c.backlog.syn, d.backlog.syn);
    EXPECT_EQ(c.backlog.accept, d.backlog.accept);
    EXPECT_EQ(c.tcp.fixed_iss, 0u) << "RFC 6528 unless asked";
    EXPECT_EQ(c.app.name, AppKind::Echo);
    EXPECT_EQ(c.app.listen, (std::vector<std::uint16_t>{7}));
    // Only the port's header and its ip were given.
    EXPECT_EQ(c.sources.keys.size(), 2u);
}

TEST(ConfigParse, DurationsTakeEveryUnit) {
    auto with = [](std::string_view key, std::string_view value) {
        return load_ok(std::string(cfgtest::kMinimal) + "[tcp]\n" + std::string(key) + " = \"" + std::string(value) +
                       "\"\n")
            .tcp;
    };
    EXPECT_EQ(with("user_timeout", "3h").user_timeout, Duration::seconds(3 * 3600));
    EXPECT_EQ(with("user_timeout", "2min").user_timeout, Duration::seconds(120));
    EXPECT_EQ(with("user_timeout", "7s").user_timeout, Duration::seconds(7));
    EXPECT_EQ(with("user_timeout", "15ms").user_timeout, Duration::millis(15));
    EXPECT_EQ(with("user_timeout", "250us").user_timeout, Duration::micros(250));
    EXPECT_EQ(with("user_timeout", "999ns").user_timeout, Duration::nanos(999));
    EXPECT_EQ(with("user_timeout", "0s").user_timeout, Duration::zero());
    EXPECT_EQ(with("delayed_ack", "499999us").delayed_ack, Duration::micros(499999));  // just below 500ms
    EXPECT_EQ(with("delayed_ack", "0ms").delayed_ack, Duration::zero());
}

TEST(ConfigParse, SizesTakeBytesOrBinaryUnits) {
    auto recv = [](std::string_view value) {
        return load_ok(std::string(cfgtest::kMinimal) + "[tcp]\nrecv_buffer = " + std::string(value) + "\n")
            .tcp.recv_buffer;
    };
    EXPECT_EQ(recv("4096"), 4096u);
    EXPECT_EQ(recv("\"4KiB\""), 4096u);
    EXPECT_EQ(recv("\"2MiB\""), 2u << 20);
    EXPECT_EQ(recv("\"1GiB\""), 1u << 30);
    EXPECT_EQ(recv("\"65536B\""), 65536u);
    EXPECT_EQ(recv("\"300000\""), 300000u);
}

TEST(ConfigParse, LcoreListsAndOtherFormats) {
    auto lcores = [](std::string_view value) {
        return load_ok("lcores = " + std::string(value) + "\n" + std::string(cfgtest::kMinimal)).lcores;
    };
    EXPECT_EQ(lcores("\"3\""), (std::vector<unsigned>{3}));
    EXPECT_EQ(lcores("3"), (std::vector<unsigned>{3}));
    EXPECT_EQ(lcores("\"5,1-3\""), (std::vector<unsigned>{1, 2, 3, 5}));
    EXPECT_EQ(lcores("\" 1 , 2 \""), (std::vector<unsigned>{1, 2}));
    EXPECT_EQ(lcores("\"0-127\"").size(), 128u);

    auto port = [](std::string_view keys) {
        return load_ok("[[port]]\nip = \"198.18.0.2/24\"\n" + std::string(keys) + "\n").ports.at(0);
    };
    EXPECT_EQ(port("pci = \"01:00.0\"").device, "0000:01:00.0");
    EXPECT_EQ(port("pci = \"0000:AF:1F.7\"").device, "0000:af:1f.7");
    EXPECT_EQ(port("rss = true").rss, Toggle::On);  // booleans stand for on/off
    EXPECT_EQ(port("tso = false").tso, Toggle::Off);
    EXPECT_EQ(load_ok("[[port]]\nip = \"198.18.0.9/32\"\n").ports[0].ip.len, 32);
    EXPECT_EQ(load_ok(std::string(cfgtest::kMinimal) + "[app]\nlisten = 9\n").app.listen,
              (std::vector<std::uint16_t>{9}));
    // Dotted keys and inline tables are the same keys.
    const StackConfig c = load_ok("tcp.mss = 1000\ntcp.newreno = { ca_growth = \"per-ack\" }\n" +
                                  std::string(cfgtest::kMinimal));
    EXPECT_EQ(c.tcp.mss, 1000);
    EXPECT_EQ(c.tcp.cc.newreno.ca_growth, tcp::cc::NewRenoConfig::CaGrowth::PerAck);
}

TEST(ConfigParse, DerivedDefaultsFollowWhatTheyDependOn) {
    // rx/tx_queues: one per lcore; without RSS one RX queue.
    StackConfig c = load_ok("lcores = \"1-4\"\n[[port]]\nip = \"198.18.0.2/24\"\n[[port]]\nip = \"10.0.0.1/8\"\n"
                            "rss = \"off\"\nmtu = 1280\n");
    EXPECT_EQ(c.ports[0].rx_queues, 4);
    EXPECT_EQ(c.ports[0].tx_queues, 4);
    EXPECT_EQ(c.ports[1].rx_queues, 1);
    EXPECT_EQ(c.ports[1].tx_queues, 4);
    EXPECT_EQ(c.ports[1].name, "port1");
    // tcp.mss: the smallest port mtu - 40.
    EXPECT_EQ(c.tcp.mss, 1240);
    // app.listen: the app's own port.
    for (auto [name, port] : {std::pair{"echo", 7}, {"discard", 9}, {"iperf", 5001}, {"iperf3", 5201}, {"http", 80},
                              {"welcome", 20000}, {"print", 8000}, {"perf", 5555}}) {
        c = load_ok(std::string(cfgtest::kMinimal) + "[app]\nname = \"" + name + "\"\n");
        EXPECT_EQ(c.app.listen, (std::vector<std::uint16_t>{static_cast<std::uint16_t>(port)})) << name;
        EXPECT_EQ(to_string(c.app.name), name);
        EXPECT_EQ(default_port(c.app.name), port);
    }
    // finalize() recomputes them after a change by hand.
    c = load_ok(cfgtest::kMinimal);
    c.lcores = {1, 2};
    c.ports[0].mtu = 9000;
    c.mempool.data_room = 10240;
    c.app.name = AppKind::Iperf3;
    ASSERT_TRUE(finalize(c));
    EXPECT_EQ(c.ports[0].rx_queues, 2);
    EXPECT_EQ(c.tcp.mss, 8960);
    EXPECT_EQ(c.app.listen, (std::vector<std::uint16_t>{5201}));
}

TEST(ConfigDump, ToTomlLoadsBackToTheSameValues) {
    const StackConfig c = load_ok(kEveryKey);
    const std::string text = to_toml(c, false);
    const StackConfig back = load_ok(text);
    EXPECT_EQ(to_toml(back, false), text);
    EXPECT_EQ(back.ports[1].device, "0000:01:00.1");
    EXPECT_EQ(back.tcp.rto_max, Duration::seconds(120));
    EXPECT_NE(text.find("lcores = \"2-5\"\n"), std::string::npos);
    EXPECT_NE(text.find("rto_max = \"2min\"\n"), std::string::npos);
    EXPECT_NE(text.find("recv_buffer = \"64KiB\"\n"), std::string::npos);
    EXPECT_NE(text.find("[tcp.newreno]\nabc_limit_segments = 1\n"), std::string::npos);
    EXPECT_NE(text.find("listen = [80, 8080]\n"), std::string::npos);

    // The defaults round-trip too, and a size no binary unit divides stays an integer.
    StackConfig d = load_ok(std::string(cfgtest::kMinimal) + "[tcp]\nsend_buffer = 5000\n");
    EXPECT_NE(to_toml(d, false).find("send_buffer = 5000\n"), std::string::npos);
    EXPECT_EQ(to_toml(load_ok(to_toml(d, false)), false), to_toml(d, false));
}

TEST(ConfigDump, LcoreRunsAreCollapsed) {
    auto dump = [](std::string_view lcores) {
        std::string t = to_toml(load_ok("lcores = \"" + std::string(lcores) + "\"\n" + std::string(cfgtest::kMinimal)),
                                false);
        return t.substr(0, t.find('\n'));
    };
    EXPECT_EQ(dump("1,2,3,5"), "lcores = \"1-3,5\"");
    EXPECT_EQ(dump("1,2"), "lcores = \"1,2\"");
    EXPECT_EQ(dump("7,2,9-11"), "lcores = \"2,7,9-11\"");
}

TEST(ConfigDump, SourcesAreNamedInComments) {
    const StackConfig c = load_ok("burst = 16\n[[port]]\nip = \"198.18.0.2/24\"\n");
    const std::string text = to_toml(c);
    EXPECT_NE(text.find("burst = 16                              # t.toml:1\n"), std::string::npos) << text;
    EXPECT_NE(text.find("ip = \"198.18.0.2/24\"                    # t.toml:3\n"), std::string::npos) << text;
    EXPECT_NE(text.find("\nmtu = 1500\n"), std::string::npos) << text;  // a default: no comment
}

TEST(ConfigTypes, Ipv4PrefixHelpers) {
    auto p = Ipv4Prefix::parse("198.18.0.2/24");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->mask(), 0xffffff00u);
    EXPECT_EQ(p->network(), Ipv4Addr(198, 18, 0, 0));
    EXPECT_EQ(p->broadcast(), Ipv4Addr(198, 18, 0, 255));
    EXPECT_TRUE(p->contains(Ipv4Addr(198, 18, 0, 200)));
    EXPECT_FALSE(p->contains(Ipv4Addr(198, 18, 1, 1)));
    EXPECT_TRUE(p->overlaps(*Ipv4Prefix::parse("198.18.0.0/16")));
    EXPECT_FALSE(p->overlaps(*Ipv4Prefix::parse("198.18.1.1/24")));
    EXPECT_EQ(Ipv4Prefix::parse("10.1.2.3/32")->mask(), 0xffffffffu);
    EXPECT_EQ(Ipv4Prefix::parse("10.1.2.3/1")->network(), Ipv4Addr(0, 0, 0, 0));
    for (const char* bad : {"10.0.0.1", "10.0.0.1/", "10.0.0.1/0", "10.0.0.1/33", "10.0.0.1/+8", "10.0.0/8",
                            "10.0.0.1/8/8", "10.0.0.1/ 8"}) {
        EXPECT_FALSE(Ipv4Prefix::parse(bad)) << bad;
    }
}

TEST(ConfigExamples, EveryFileInConfigLoads) {
    std::size_t n = 0;
    for (const auto& entry : std::filesystem::directory_iterator(config_dir())) {
        if (entry.path().extension() != ".toml") continue;
        ++n;
        auto r = load_config(entry.path().string());
        EXPECT_TRUE(r) << (r ? "" : r.error().message());
    }
    EXPECT_GE(n, 4u);
}

TEST(ConfigExamples, TapIsTheInteropSetup) {
    auto r = load_config(config_dir() + "/tap.toml");
    ASSERT_TRUE(r) << r.error().message();
    ASSERT_EQ(r->ports.size(), 1u);
    const PortConfig& p = r->ports[0];
    EXPECT_EQ(p.kind, DeviceKind::Vdev);
    EXPECT_EQ(p.devargs_string(), "net_tap0,iface=ustcp0");
    EXPECT_EQ(p.ip.to_string(), "198.18.0.2/24");
    EXPECT_EQ(p.gateway, Ipv4Addr(198, 18, 0, 1));
    EXPECT_EQ(r->tcp.mss, 1460);
    EXPECT_EQ(r->app.listen, (std::vector<std::uint16_t>{7, 9}));
    // tap.toml documents every key: everything but what is commented out was given.
    for (const std::string& key : config_keys()) {
        if (key.rfind("port.", 0) == 0) continue;
        if (key == "tcp.mss") continue;  // commented out: derived from mtu
        EXPECT_TRUE(r->sources.given(key)) << key;
    }
}

TEST(ConfigExamples, MemifPcapAndPci) {
    auto memif = load_config(config_dir() + "/memif.toml");
    ASSERT_TRUE(memif) << memif.error().message();
    EXPECT_EQ(memif->ports.at(0).device_name(), "net_memif0");
    EXPECT_NE(memif->ports.at(0).device.find("role=server"), std::string::npos);

    auto pcap = load_config(config_dir() + "/pcap.toml");
    ASSERT_TRUE(pcap) << pcap.error().message();
    EXPECT_EQ(pcap->ports.at(0).devargs_string(), "net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap");
    EXPECT_EQ(pcap->ports.at(0).rx_queues, 1);

    auto pci = load_config(config_dir() + "/pci.toml");
    ASSERT_TRUE(pci) << pci.error().message();
    const PortConfig& p = pci->ports.at(0);
    EXPECT_EQ(p.kind, DeviceKind::Pci);
    EXPECT_EQ(p.device, "0000:01:00.0");
    EXPECT_EQ(p.rx_queues, 4);
    EXPECT_EQ(p.rss, Toggle::On);
    EXPECT_EQ(p.checksum_offload, Toggle::On);
    EXPECT_EQ(p.tso, Toggle::On);
    EXPECT_EQ(pci->lcores, (std::vector<unsigned>{1, 2, 3, 4}));
}
