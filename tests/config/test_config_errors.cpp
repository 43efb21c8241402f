// lib/config: every error kind with its exact message (file, line, key, value, what is accepted), the
// nearest-key suggestion, and which error is reported when there are several.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "helpers.hpp"
#include "ustcp/config/load.hpp"

using namespace ustcp::config;
using cfgtest::load_err;
using cfgtest::message;

namespace {

/// A file with one port and `section`'s body; the body's first line is line 4.
std::string with(std::string_view section, std::string_view body) {
    return "[[port]]\nip = \"198.18.0.2/24\"\n[" + std::string(section) + "]\n" + std::string(body) + "\n";
}
/// A file with one port whose table holds `keys` from line 3 on.
std::string port_with(std::string_view keys) { return "[[port]]\nip = \"198.18.0.2/24\"\n" + std::string(keys) + "\n"; }

constexpr std::string_view kDuration = "expected an integer with a unit (e.g. 40ms, 1s; units ns, us, ms, s, min, h)";

}  // namespace

// ---- FileUnreadable ----

TEST(ConfigErrors, FileUnreadable) {
    auto r = load_config("/nonexistent/ustcp.toml");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ConfigErrorKind::FileUnreadable);
    EXPECT_EQ(r.error().file, "/nonexistent/ustcp.toml");
    EXPECT_EQ(r.error().message(), "/nonexistent/ustcp.toml: cannot read: No such file or directory");
    const char* dir = std::getenv("USTCP_CONFIG_DIR");
    auto d = load_config(dir != nullptr ? dir : "/");
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error().kind, ConfigErrorKind::FileUnreadable);
    EXPECT_NE(d.error().message().find(": cannot read: Is a directory"), std::string::npos) << d.error().message();
}

// ---- Syntax ----

TEST(ConfigErrors, SyntaxNamesLineAndColumn) {
    const ConfigError e = load_err("burst = 1\nburst = = 2\n");
    EXPECT_EQ(e.kind, ConfigErrorKind::Syntax);
    EXPECT_EQ(e.file, "t.toml");
    EXPECT_EQ(e.line, 2u);
    EXPECT_EQ(e.message().rfind("t.toml:2:9: invalid TOML: ", 0), 0u) << e.message();

    const ConfigError dup = load_err("burst = 1\nburst = 2\n");
    EXPECT_EQ(dup.kind, ConfigErrorKind::Syntax);
    EXPECT_EQ(dup.line, 2u);
    EXPECT_NE(dup.message().find("burst"), std::string::npos) << dup.message();
}

TEST(ConfigErrors, UnquotedTextGetsAHint) {
    constexpr std::string_view hint = " (text values need quotes, e.g. delayed_ack = \"40ms\", ip = \"198.18.0.2/24\")";
    for (const char* text : {"[tcp]\ndelayed_ack = 40ms\n", "[[port]]\nip = 198.18.0.2/24\n"}) {
        const std::string m = message(text);
        EXPECT_EQ(m.rfind("t.toml:2:", 0), 0u) << m;
        ASSERT_GE(m.size(), hint.size());
        EXPECT_EQ(m.substr(m.size() - hint.size()), hint) << m;
    }
}

// ---- UnknownKey, with the nearest key ----

TEST(ConfigErrors, UnknownKeySuggestsTheNearestKey) {
    const ConfigError e = load_err(with("tcp", "delayed_acks = \"40ms\""));
    EXPECT_EQ(e.kind, ConfigErrorKind::UnknownKey);
    EXPECT_EQ(e.key, "tcp.delayed_acks");
    EXPECT_EQ(e.suggestion, "tcp.delayed_ack");
    EXPECT_EQ(e.line, 4u);
    EXPECT_EQ(e.column, 1u);
    EXPECT_EQ(e.message(), "t.toml:4: unknown key tcp.delayed_acks; did you mean tcp.delayed_ack?");

    EXPECT_EQ(message(with("tcp", "delay_ack = \"40ms\"")),
              "t.toml:4: unknown key tcp.delay_ack; did you mean tcp.delayed_ack?");
    EXPECT_EQ(message(with("tcp", "sak = true")), "t.toml:4: unknown key tcp.sak; did you mean tcp.sack?");
    EXPECT_EQ(message(with("mempool", "mbufs_per_core = 1")),
              "t.toml:4: unknown key mempool.mbufs_per_core; did you mean mempool.mbufs_per_lcore?");
    EXPECT_EQ(message(with("tcp.newreno", "ca_grow = \"per-ack\"")),
              "t.toml:4: unknown key tcp.newreno.ca_grow; did you mean tcp.newreno.ca_growth?");
    // In the wrong section: the key of the same name elsewhere.
    EXPECT_EQ(message("delayed_ack = \"40ms\"\n[[port]]\nip = \"198.18.0.2/24\"\n"),
              "t.toml:1: unknown key delayed_ack; did you mean tcp.delayed_ack?");
    EXPECT_EQ(message(with("tcp", "mtu = 1500")), "t.toml:4: unknown key tcp.mtu; did you mean port.mtu?");
    EXPECT_EQ(message(port_with("mss = 1400")), "t.toml:3: unknown key port[0].mss; did you mean tcp.mss?");
    // Port keys are named with their port.
    EXPECT_EQ(message(port_with("[[port]]\nip = \"10.0.0.1/8\"\nmtus = 1500")),
              "t.toml:5: unknown key port[1].mtus; did you mean port[1].mtu?");
    // Sections.
    EXPECT_EQ(message("[tpc]\nmss = 1400\n"), "t.toml:1: unknown key tpc; did you mean tcp?");
    EXPECT_EQ(message("[mempol]\ncache = 1\n"), "t.toml:1: unknown key mempol; did you mean mempool?");
}

TEST(ConfigErrors, UnknownKeyWithoutANearOneListsTheSection) {
    EXPECT_EQ(message(with("app", "greeting = \"hello\"")),
              "t.toml:4: unknown key app.greeting; expected one of: name, listen, http_max_bytes, http_idle_timeout, "
              "iperf3_idle_timeout, http_max_request");
    EXPECT_EQ(message("frobnicate = 1\n"),
              "t.toml:1: unknown key frobnicate; expected one of: lcores, burst, shutdown_timeout, pcap, fault, [[port]], "
              "[mempool], "
              "[tcp], [app]");
    EXPECT_EQ(message(port_with("frobnicate = 1")),
              "t.toml:3: unknown key port[0].frobnicate; expected one of: name, vdev, pci, devargs, ip, gateway, extra_ips, mac, "
              "mtu, rx_queues, tx_queues, rx_desc, tx_desc, rss, checksum_offload, tso");
    EXPECT_EQ(message(with("mempool", "frobnicate = 1")),
              "t.toml:4: unknown key mempool.frobnicate; expected one of: mbufs_per_lcore, cache, data_room");
    const std::string m = message(with("tcp.cubic", "beta = 0.7"));
    EXPECT_EQ(m.rfind("t.toml:3: unknown key tcp.cubic; expected one of: mss, default_peer_mss, window_scaling, ", 0),
              0u)
        << m;
    constexpr std::string_view tail = "accept_backlog, max_connections, fixed_iss, [tcp.newreno]";
    ASSERT_GE(m.size(), tail.size());
    EXPECT_EQ(m.substr(m.size() - tail.size()), tail) << m;
}

// ---- WrongType ----

TEST(ConfigErrors, WrongType) {
    const ConfigError e = load_err(with("tcp", "mss = \"1400\""));
    EXPECT_EQ(e.kind, ConfigErrorKind::WrongType);
    EXPECT_EQ(e.key, "tcp.mss");
    EXPECT_EQ(e.value, "\"1400\"");
    EXPECT_EQ(e.expected, "an integer 88..8960");
    EXPECT_EQ(e.message(), "t.toml:4: key tcp.mss: \"1400\" is not an integer; expected an integer 88..8960");

    EXPECT_EQ(message("tcp = 5\n"), "t.toml:1: key tcp: 5 is not a table; expected a [tcp] table");
    EXPECT_EQ(message("[port]\nip = \"198.18.0.2/24\"\n"),
              "t.toml:1: key port: a table is not an array of tables; expected one [[port]] table per port");
    EXPECT_EQ(message("port = []\n"),
              "t.toml:1: key port: [] is not an array of tables; expected one [[port]] table per port");
    EXPECT_EQ(message(with("tcp", "nodelay = \"yes\"")),
              "t.toml:4: key tcp.nodelay: \"yes\" is not a boolean; expected true or false");
    EXPECT_EQ(message(with("tcp", "delayed_ack = 40")),
              "t.toml:4: key tcp.delayed_ack: 40 is not a duration; " + std::string(kDuration));
    EXPECT_EQ(message(with("tcp", "send_buffer = true")),
              "t.toml:4: key tcp.send_buffer: true is not a size; expected a size in bytes (e.g. 262144, \"256KiB\", "
              "\"1MiB\"; units B, KiB, MiB, GiB)");
    EXPECT_EQ(message(port_with("mtu = 1500.0")),
              "t.toml:3: key port[0].mtu: 1500.0 is not an integer; expected an integer 68..9000");
    EXPECT_EQ(message(port_with("rss = 1")), "t.toml:3: key port[0].rss: 1 is not a string; expected auto, on or off");
    EXPECT_EQ(message("[[port]]\nip = [1, 2]\n"),
              "t.toml:2: key port[0].ip: [1, 2] is not a string; expected an address with a prefix (e.g. "
              "\"198.18.0.2/24\")");
    EXPECT_EQ(message(with("app", "name = 5")),
               "t.toml:4: key app.name: 5 is not a string; expected echo, discard, iperf, iperf3, http, welcome, print or perf");
    EXPECT_EQ(message(with("app", "listen = [\"7\"]")),
              "t.toml:4: key app.listen: [\"7\"] is not a list of integers; expected a list of TCP ports 1..65535, "
              "each once (e.g. [7, 9])");
    EXPECT_EQ(message("lcores = [1, 2]\n" + port_with("")),
              "t.toml:1: key lcores: [1, 2] is not an lcore list; expected lcore ids 0..127 as \"1\", \"1-3\" or "
              "\"1,3-5\", each once");
    EXPECT_EQ(message(with("tcp", "[tcp.mss]\nx = 1")),
              "t.toml:4: key tcp.mss: a table is not an integer; expected an integer 88..8960");
}

// ---- BadValue ----

TEST(ConfigErrors, BadDuration) {
    const ConfigError e = load_err(with("tcp", "delayed_ack = \"40\""));
    EXPECT_EQ(e.kind, ConfigErrorKind::BadValue);
    EXPECT_EQ(e.file, "t.toml");
    EXPECT_EQ(e.line, 4u);
    EXPECT_EQ(e.column, 1u);
    EXPECT_EQ(e.key, "tcp.delayed_ack");
    EXPECT_EQ(e.value, "\"40\"");
    EXPECT_EQ(e.problem, "is not a duration");
    EXPECT_EQ(e.message(), "t.toml:4: key tcp.delayed_ack: \"40\" is not a duration; " + std::string(kDuration));
    for (const char* bad : {"1.5s", "40 ms", "-1s", "40MS", "s", "1d", "40ms ", "0", "1e3ms"}) {
        EXPECT_EQ(message(with("tcp", "delayed_ack = \"" + std::string(bad) + "\"")),
                  "t.toml:4: key tcp.delayed_ack: \"" + std::string(bad) + "\" is not a duration; " +
                      std::string(kDuration));
    }
    EXPECT_EQ(load_err(with("tcp", "msl = \"99999999999999999999s\"")).problem, "is not a duration");  // overflow
}

TEST(ConfigErrors, BadChoice) {
    EXPECT_EQ(message(with("tcp", "syn_cookies = \"sometimes\"")),
              "t.toml:4: key tcp.syn_cookies: \"sometimes\" is not one of the accepted values; expected off, "
              "on-overflow or always");
    EXPECT_EQ(
        message(with("tcp", "accept_overflow = \"ignore\"")),
        "t.toml:4: key tcp.accept_overflow: \"ignore\" is not one of the accepted values; expected drop or reset");
    EXPECT_EQ(message(with("tcp", "congestion_control = \"bbr\"")),
              "t.toml:4: key tcp.congestion_control: \"bbr\" is not one of the accepted values; expected newreno or "
              "cubic");
    EXPECT_EQ(message(with("tcp.newreno", "recovery_exit = \"fast\"")),
              "t.toml:4: key tcp.newreno.recovery_exit: \"fast\" is not one of the accepted values; expected "
              "flight-size or ssthresh");
    EXPECT_EQ(message(port_with("checksum_offload = \"yes\"")),
              "t.toml:3: key port[0].checksum_offload: \"yes\" is not one of the accepted values; expected auto, on or "
              "off");
    EXPECT_EQ(message(with("app", "name = \"chargen\"")),
               "t.toml:4: key app.name: \"chargen\" is not one of the accepted values; expected echo, discard, iperf, "
               "iperf3, http, welcome, print or perf");
}

TEST(ConfigErrors, BadAddresses) {
    auto ip = [](std::string_view v) { return message("[[port]]\nip = \"" + std::string(v) + "\"\n"); };
    EXPECT_EQ(ip("198.18.0.2"),
              "t.toml:2: key port[0].ip: \"198.18.0.2\" is not an address with a prefix; expected an address with a "
              "prefix (e.g. \"198.18.0.2/24\")");
    EXPECT_EQ(ip("198.18.0.2/33"),
              "t.toml:2: key port[0].ip: \"198.18.0.2/33\" is not an address with a prefix; expected an address with a "
              "prefix (e.g. \"198.18.0.2/24\")");
    EXPECT_EQ(ip("198.18.0.0/24"),
              "t.toml:2: key port[0].ip: \"198.18.0.0/24\" is the network address of its prefix; expected a host "
              "address of the prefix (198.18.0.1..198.18.0.254)");
    EXPECT_EQ(ip("198.18.0.255/24"),
              "t.toml:2: key port[0].ip: \"198.18.0.255/24\" is the broadcast address of its prefix; expected a host "
              "address of the prefix (198.18.0.1..198.18.0.254)");
    EXPECT_EQ(ip("127.0.0.1/8"),
              "t.toml:2: key port[0].ip: \"127.0.0.1/8\" is a loopback address; expected a unicast host address with "
              "a prefix");
    EXPECT_EQ(ip("224.0.0.1/4"),
              "t.toml:2: key port[0].ip: \"224.0.0.1/4\" is a multicast address; expected a unicast host address with "
              "a prefix");
    EXPECT_EQ(ip("0.1.2.3/8"),
              "t.toml:2: key port[0].ip: \"0.1.2.3/8\" is in 0.0.0.0/8 (\"this network\"); expected a unicast host "
              "address with a prefix");
    EXPECT_EQ(ip("255.255.255.255/32"),
              "t.toml:2: key port[0].ip: \"255.255.255.255/32\" is a reserved or broadcast address; expected a unicast "
              "host address with a prefix");
    // /31 and /32 have no network or broadcast address to avoid (RFC 3021).
    EXPECT_EQ(cfgtest::load_ok("[[port]]\nip = \"10.0.0.0/31\"\n").ports[0].ip.len, 31);

    EXPECT_EQ(message(port_with("gateway = \"198.18.0.300\"")),
              "t.toml:3: key port[0].gateway: \"198.18.0.300\" is not an IPv4 address; expected an IPv4 address inside "
              "the port's prefix (e.g. \"198.18.0.1\")");
    EXPECT_EQ(message(port_with("gateway = \"127.0.0.1\"")),
              "t.toml:3: key port[0].gateway: \"127.0.0.1\" is a loopback address; expected a unicast address inside "
              "the port's prefix");
    EXPECT_EQ(message(port_with("mac = \"01:00:5e:00:00:01\"")),
              "t.toml:3: key port[0].mac: \"01:00:5e:00:00:01\" is not a unicast MAC address; expected a unicast MAC "
              "address (e.g. \"02:00:00:00:00:01\")");
    EXPECT_EQ(load_err(port_with("mac = \"00:00:00:00:00:00\"")).problem, "is not a unicast MAC address");
    EXPECT_EQ(
        message(port_with("mac = \"02:00:00:00:00\"")),
        "t.toml:3: key port[0].mac: \"02:00:00:00:00\" is not a MAC address; expected a unicast MAC address (e.g. "
        "\"02:00:00:00:00:01\")");
}

TEST(ConfigErrors, BadDevices) {
    const std::string vdev_expected =
        "expected a virtual ethdev \"net_<driver><n>[,key=value...]\" (e.g. \"net_tap0,iface=ustcp0\")";
    for (const char* bad :
         {"tap0", "net_", "net_tap0,iface", "net_tap0,=x", "net_tap0,a=[1,2", "net tap0", "net_tap0,"}) {
        EXPECT_EQ(message(port_with("vdev = \"" + std::string(bad) + "\"")),
                  "t.toml:3: key port[0].vdev: \"" + std::string(bad) + "\" is not a virtual ethdev; " + vdev_expected);
    }
    for (const char* bad : {"0000:01:00", "0000:01:20.0", "01:00.8", "1:2:3:4.0", "00000:01:00.0", "x1:00.0"}) {
        EXPECT_EQ(message(port_with("pci = \"" + std::string(bad) + "\"")),
                  "t.toml:3: key port[0].pci: \"" + std::string(bad) +
                      "\" is not a PCI address; expected a PCI address \"dddd:bb:dd.f\" (e.g. \"0000:01:00.0\")");
    }
    EXPECT_EQ(message(port_with("vdev = \"net_tap0\"\ndevargs = \"persist\"")),
              "t.toml:4: key port[0].devargs: \"persist\" is not a list of driver arguments; expected driver arguments "
              "\"key=value[,key=value...]\"");
    EXPECT_EQ(
        message(port_with("name = \"my port\"")),
        "t.toml:3: key port[0].name: \"my port\" is not a port name; expected 1 to 32 letters, digits, '_' or '-'");
    EXPECT_EQ(load_err(port_with("name = \"\"")).problem, "is not a port name");
    EXPECT_EQ(load_err(port_with("name = \"" + std::string(33, 'a') + "\"")).problem, "is not a port name");
}

TEST(ConfigErrors, BadListsAndSizes) {
    const std::string lcores = "expected lcore ids 0..127 as \"1\", \"1-3\" or \"1,3-5\", each once";
    auto lc = [](std::string_view v) { return message("lcores = \"" + std::string(v) + "\"\n" + port_with("")); };
    EXPECT_EQ(lc("3-1"), "t.toml:1: key lcores: \"3-1\" is not an lcore list; " + lcores);
    EXPECT_EQ(lc("1,1"), "t.toml:1: key lcores: \"1,1\" lists lcore 1 twice; " + lcores);
    EXPECT_EQ(lc("1-3,2"), "t.toml:1: key lcores: \"1-3,2\" lists lcore 2 twice; " + lcores);
    for (const char* bad : {"", "a", "1,", ",1", "1-", "-1", "1-2-3", "1;2", "0x1"}) {
        EXPECT_EQ(lc(bad), "t.toml:1: key lcores: \"" + std::string(bad) + "\" is not an lcore list; " + lcores);
    }
    const std::string listen = "expected a list of TCP ports 1..65535, each once (e.g. [7, 9])";
    EXPECT_EQ(message(with("app", "listen = [7, 7]")),
              "t.toml:4: key app.listen: [7, 7] lists port 7 twice; " + listen);
    EXPECT_EQ(message(with("app", "listen = []")), "t.toml:4: key app.listen: [] is empty; " + listen);
    const std::string size = "expected a size in bytes (e.g. 262144, \"256KiB\", \"1MiB\"; units B, KiB, MiB, GiB)";
    for (const char* bad : {"1.5MiB", "256KB", "256k", "KiB", "-1", "1 KiB"}) {
        EXPECT_EQ(message(with("tcp", "send_buffer = \"" + std::string(bad) + "\"")),
                  "t.toml:4: key tcp.send_buffer: \"" + std::string(bad) + "\" is not a size; " + size);
    }
}

// ---- OutOfRange ----

TEST(ConfigErrors, OutOfRange) {
    const ConfigError e = load_err(port_with("mtu = 9001"));
    EXPECT_EQ(e.kind, ConfigErrorKind::OutOfRange);
    EXPECT_EQ(e.expected, "68..9000");
    EXPECT_EQ(e.message(), "t.toml:3: key port[0].mtu: 9001 is out of range; expected 68..9000");
    EXPECT_EQ(message(port_with("mtu = 67")), "t.toml:3: key port[0].mtu: 67 is out of range; expected 68..9000");
    EXPECT_EQ(message("burst = 0\n" + port_with("")), "t.toml:1: key burst: 0 is out of range; expected 1..512");
    EXPECT_EQ(message("burst = 513\n" + port_with("")), "t.toml:1: key burst: 513 is out of range; expected 1..512");
    EXPECT_EQ(message(port_with("rx_desc = 16")),
              "t.toml:3: key port[0].rx_desc: 16 is out of range; expected 32..32768");
    EXPECT_EQ(message(with("tcp", "mss = 87")), "t.toml:4: key tcp.mss: 87 is out of range; expected 88..8960");
    EXPECT_EQ(message(with("tcp", "syn_retries = 0")),
              "t.toml:4: key tcp.syn_retries: 0 is out of range; expected 1..127");
    EXPECT_EQ(message(with("tcp", "syn_retries = 99999999999")),
              "t.toml:4: key tcp.syn_retries: 99999999999 is out of range; expected 1..127");
    EXPECT_EQ(message(with("mempool", "cache = 513")),
              "t.toml:4: key mempool.cache: 513 is out of range; expected 0..512");
    // Durations: the RFC 9293 delayed-ACK bound is exclusive.
    EXPECT_EQ(message(with("tcp", "delayed_ack = \"500ms\"")),
              "t.toml:4: key tcp.delayed_ack: \"500ms\" is out of range; expected 0s up to (not including) 500ms");
    EXPECT_EQ(message(with("tcp", "rto_min = \"0s\"")),
              "t.toml:4: key tcp.rto_min: \"0s\" is out of range; expected 1ms..10min");
    EXPECT_EQ(message(with("tcp", "user_timeout = \"25h\"")),
              "t.toml:4: key tcp.user_timeout: \"25h\" is out of range; expected 0s..24h");
    EXPECT_EQ(message(with("tcp", "keepalive_idle = \"500ms\"")),
              "t.toml:4: key tcp.keepalive_idle: \"500ms\" is out of range; expected 1s..32767s");
    EXPECT_EQ(message(with("app", "iperf3_idle_timeout = \"50ms\"")),
              "t.toml:4: key app.iperf3_idle_timeout: \"50ms\" is out of range; expected 100ms..1h");
    EXPECT_EQ(message(with("app", "iperf3_idle_timeout = \"2h\"")),
              "t.toml:4: key app.iperf3_idle_timeout: \"2h\" is out of range; expected 100ms..1h");
    // Sizes.
    EXPECT_EQ(message(with("tcp", "send_buffer = \"1KiB\"")),
              "t.toml:4: key tcp.send_buffer: \"1KiB\" is out of range; expected 4KiB..1GiB");
    EXPECT_EQ(message(with("tcp", "recv_buffer = \"2GiB\"")),
              "t.toml:4: key tcp.recv_buffer: \"2GiB\" is out of range; expected 4KiB..1GiB");
    EXPECT_EQ(message(with("tcp", "recv_buffer = -1")),
              "t.toml:4: key tcp.recv_buffer: -1 is out of range; expected 4KiB..1GiB");
    // Lists.
    const std::string lcores = "expected lcore ids 0..127 as \"1\", \"1-3\" or \"1,3-5\", each once";
    EXPECT_EQ(message("lcores = \"1,200\"\n" + port_with("")),
              "t.toml:1: key lcores: \"1,200\" names lcore 200; " + lcores);
    EXPECT_EQ(message("lcores = 128\n" + port_with("")), "t.toml:1: key lcores: 128 names lcore 128; " + lcores);
    EXPECT_EQ(message(with("app", "listen = [7, 70000]")),
              "t.toml:4: key app.listen: [7, 70000] names port 70000; expected a list of TCP ports 1..65535, each once "
              "(e.g. [7, 9])");
    EXPECT_EQ(load_err(with("app", "listen = 0")).kind, ConfigErrorKind::OutOfRange);
}

// ---- Missing ----

TEST(ConfigErrors, Missing) {
    const ConfigError e = load_err("burst = 16\n");
    EXPECT_EQ(e.kind, ConfigErrorKind::Missing);
    EXPECT_EQ(e.key, "port");
    EXPECT_EQ(e.line, 0u);
    EXPECT_EQ(e.message(),
              "t.toml: key port is missing; expected at least one [[port]] table (or --ip for a port EAL made from its "
              "--vdev or -a)");
    EXPECT_EQ(load_err("").kind, ConfigErrorKind::Missing);
    // A port without an address: the line of its [[port]].
    EXPECT_EQ(message("[[port]]\nip = \"198.18.0.2/24\"\n\n[[port]]\nvdev = \"net_tap1\"\n"),
              "t.toml:4: key port[1].ip is missing; expected an address with a prefix (e.g. \"198.18.0.2/24\")");
}

// ---- Conflict: the rules between keys ----

TEST(ConfigErrors, MssAgainstMtu) {
    const ConfigError e = load_err(with("tcp", "mss = 1461"));
    EXPECT_EQ(e.kind, ConfigErrorKind::Conflict);
    EXPECT_EQ(e.message(),
              "t.toml:4: key tcp.mss: 1461 does not fit port[0].mtu 1500; expected at most 1460 (mtu - 40 bytes of "
              "IPv4 and TCP headers)");
    // The smallest port's mtu counts; mss at its default is located at that mtu's line.
    EXPECT_EQ(message("[tcp]\nmss = 1400\n" + port_with("[[port]]\nip = \"10.0.0.1/8\"\nmtu = 1280")),
              "t.toml:2: key tcp.mss: 1400 does not fit port[1].mtu 1280; expected at most 1240 (mtu - 40 bytes of "
              "IPv4 and TCP headers)");
    EXPECT_EQ(message(port_with("mtu = 100")),
              "t.toml:3: key tcp.mss: 88 does not fit port[0].mtu 100; expected an mtu of at least 128 (an MSS of 88 "
              "or more + 40 bytes of headers)");
}

TEST(ConfigErrors, QueuesAgainstLcoresAndRss) {
    EXPECT_EQ(message("lcores = \"1-2\"\n" + port_with("rx_queues = 3")),
              "t.toml:4: key port[0].rx_queues: 3 is more than the 2 worker lcores; expected 1..2 (each queue is owned "
              "by one lcore)");
    EXPECT_EQ(message(port_with("tx_queues = 2")),
              "t.toml:3: key port[0].tx_queues: 2 is more than the 1 worker lcore; expected 1..1 (each queue is owned "
              "by one lcore)");
    EXPECT_EQ(message("lcores = \"1-2\"\n" + port_with("rss = \"off\"\nrx_queues = 2")),
              "t.toml:5: key port[0].rx_queues: 2 needs RSS, but port[0].rss is \"off\"; expected rx_queues = 1, or "
              "rss = \"auto\" or \"on\"");
    EXPECT_EQ(message(port_with("tso = \"on\"\nchecksum_offload = \"off\"")),
              "t.toml:3: key port[0].tso: \"on\" needs checksum offload, but port[0].checksum_offload is \"off\"; "
              "expected checksum_offload = \"auto\" or \"on\", or tso = \"auto\" or \"off\"");
    EXPECT_EQ(message("burst = 64\n" + port_with("rx_desc = 32")),
              "t.toml:1: key burst: 64 is more than port[0].rx_desc 32; expected at most 32");
    EXPECT_EQ(message("burst = 64\n" + port_with("tx_desc = 32")),
              "t.toml:1: key burst: 64 is more than port[0].tx_desc 32; expected at most 32");
    EXPECT_TRUE(parse_config(port_with("tx_desc = 32"), "t.toml")) << "a burst of the ring's size is allowed";
}

TEST(ConfigErrors, GatewayAgainstPrefix) {
    EXPECT_EQ(message(port_with("gateway = \"10.0.0.1\"")),
              "t.toml:3: key port[0].gateway: \"10.0.0.1\" is outside port[0].ip 198.18.0.2/24; expected an address in "
              "198.18.0.0/24");
    EXPECT_EQ(message(port_with("gateway = \"198.18.0.2\"")),
              "t.toml:3: key port[0].gateway: \"198.18.0.2\" is the port's own address; expected another address in "
              "198.18.0.0/24");
    EXPECT_EQ(message(port_with("gateway = \"198.18.0.0\"")),
              "t.toml:3: key port[0].gateway: \"198.18.0.0\" is the network address of port[0].ip 198.18.0.2/24; "
              "expected a host address in 198.18.0.0/24");
    EXPECT_EQ(message(port_with("gateway = \"198.18.0.255\"")),
              "t.toml:3: key port[0].gateway: \"198.18.0.255\" is the broadcast address of port[0].ip 198.18.0.2/24; "
              "expected a host address in 198.18.0.0/24");
}

TEST(ConfigErrors, ExtraIpsAgainstPrefix) {
    constexpr std::string_view range =
        "expected a range \"A.B.C.D-A.B.C.E\" of at most 4096 unicast addresses (e.g. \"198.18.0.10-198.18.0.200\"), "
        "or \"\"";
    EXPECT_EQ(message(port_with("extra_ips = \"198.18.0.10\"")),
              "t.toml:3: key port[0].extra_ips: \"198.18.0.10\" is not a range of IPv4 addresses; " + std::string(range));
    EXPECT_EQ(message(port_with("extra_ips = \"198.18.0.20-198.18.0.10\"")),
              "t.toml:3: key port[0].extra_ips: \"198.18.0.20-198.18.0.10\" ends before it starts; " + std::string(range));
    EXPECT_EQ(message(port_with("extra_ips = \"198.18.0.1-198.18.16.1\"")),
              "t.toml:3: key port[0].extra_ips: \"198.18.0.1-198.18.16.1\" holds more than 4096 addresses; " +
                  std::string(range));
    EXPECT_EQ(message(port_with("extra_ips = \"198.18.1.10-198.18.1.20\"")),
              "t.toml:3: key port[0].extra_ips: \"198.18.1.10-198.18.1.20\" is not inside port[0].ip 198.18.0.2/24; "
              "expected a range of host addresses in 198.18.0.0/24");
    EXPECT_EQ(message(port_with("extra_ips = \"198.18.0.1-198.18.0.5\"")),
              "t.toml:3: key port[0].extra_ips: \"198.18.0.1-198.18.0.5\" holds the port's own address 198.18.0.2; "
              "expected a range without it");
    EXPECT_EQ(message(port_with("gateway = \"198.18.0.7\"\nextra_ips = \"198.18.0.5-198.18.0.9\"")),
              "t.toml:4: key port[0].extra_ips: \"198.18.0.5-198.18.0.9\" holds the gateway 198.18.0.7; "
              "expected a range without it");
    EXPECT_EQ(message(port_with("extra_ips = \"198.18.0.250-198.18.0.255\"")),
              "t.toml:3: key port[0].extra_ips: \"198.18.0.250-198.18.0.255\" holds the network or broadcast address "
              "of port[0].ip 198.18.0.2/24; expected a range of host addresses in 198.18.0.0/24");
    EXPECT_EQ(cfgtest::load_ok(port_with("extra_ips = \"198.18.0.3-198.18.0.254\"")).ports[0].extra_count, 252u);
    EXPECT_EQ(cfgtest::load_ok(port_with("extra_ips = \"\"")).ports[0].extra_count, 0u);
}

TEST(ConfigErrors, MaxConnectionsRange) {
    EXPECT_EQ(message(with("tcp", "max_connections = 0")),
              "t.toml:4: key tcp.max_connections: 0 is out of range; expected 1..16777216");
    EXPECT_EQ(message(with("tcp", "max_connections = 16777217")),
              "t.toml:4: key tcp.max_connections: 16777217 is out of range; expected 1..16777216");
    EXPECT_EQ(cfgtest::load_ok(std::string(with("tcp", "max_connections = 4200000"))).max_connections, 4200000u);
}

TEST(ConfigErrors, PortsMustDiffer) {
    EXPECT_EQ(message("[[port]]\nname = \"a\"\nip = \"198.18.0.2/24\"\n[[port]]\nname = \"a\"\nip = \"10.0.0.1/8\"\n"),
              "t.toml:5: key port[1].name: \"a\" is also the name of port[0]; expected a unique name per port");
    EXPECT_EQ(message("[[port]]\nip = \"198.18.0.2/24\"\nvdev = \"net_tap0,iface=a\"\n"
                      "[[port]]\nip = \"10.0.0.1/8\"\nvdev = \"net_tap0,iface=b\"\n"),
              "t.toml:6: key port[1].vdev: \"net_tap0,iface=b\" names the same device as port[0]; expected a different "
              "device per port");
    EXPECT_EQ(message(port_with("[[port]]\nip = \"198.18.0.3/16\"")),
              "t.toml:4: key port[1].ip: \"198.18.0.3/16\" overlaps port[0].ip 198.18.0.2/24; expected disjoint "
              "prefixes per port");
    EXPECT_EQ(message(port_with("vdev = \"net_tap0\"\npci = \"0000:01:00.0\"")),
              "t.toml:4: key port[0].pci: \"0000:01:00.0\" conflicts with port[0].vdev on line 3; expected one device "
              "per port: vdev or pci");
    EXPECT_EQ(
        message(port_with("devargs = \"a=1\"")),
        "t.toml:3: key port[0].devargs: \"a=1\" has no vdev or pci to go with; expected devargs only with vdev or "
        "pci (EAL's own -a/--vdev take their arguments inline)");
}

TEST(ConfigErrors, TcpTimersAndBuffers) {
    EXPECT_EQ(message(with("tcp", "rto_min = \"2s\"")),
              "t.toml:4: key tcp.rto_min: \"2s\" is more than tcp.rto_initial \"1s\"; expected tcp.rto_min <= "
              "tcp.rto_initial <= tcp.rto_max");
    // rto_initial took its default: the line of rto_max, which was given.
    EXPECT_EQ(message(with("tcp", "rto_max = \"500ms\"")),
              "t.toml:4: key tcp.rto_initial: \"1s\" is more than tcp.rto_max \"500ms\"; expected tcp.rto_min <= "
              "tcp.rto_initial <= tcp.rto_max");
    EXPECT_EQ(message(with("tcp", "persist_max = \"100ms\"")),
              "t.toml:4: key tcp.persist_max: \"100ms\" is less than tcp.rto_min \"200ms\"; expected at least "
              "tcp.rto_min");
    EXPECT_EQ(message("[[port]]\nip = \"198.18.0.2/24\"\nmtu = 9000\n[mempool]\ndata_room = 9344\n[tcp]\n"
                      "send_buffer = \"4KiB\"\n"),
              "t.toml:7: key tcp.send_buffer: \"4KiB\" is smaller than one segment (tcp.mss 8960); expected at least "
              "8960");
    EXPECT_EQ(message("[[port]]\nip = \"198.18.0.2/24\"\nmtu = 9000\n[mempool]\ndata_room = 9344\n[tcp]\n"
                      "recv_buffer = 5000\n"),
              "t.toml:7: key tcp.recv_buffer: 5000 is smaller than one segment (tcp.mss 8960); expected at least 8960");
}

TEST(ConfigErrors, MempoolSizes) {
    EXPECT_EQ(message(with("mempool", "mbufs_per_lcore = 511\ncache = 512")),
              "t.toml:5: key mempool.cache: 512 is too large for mempool.mbufs_per_lcore 511; expected at most 340 "
              "(mbufs_per_lcore / 1.5, rte_mempool's rule)");
    EXPECT_EQ(message(with("mempool", "mbufs_per_lcore = 2047")),
              "t.toml:4: key mempool.mbufs_per_lcore: 2047 cannot fill an lcore's rings and cache; expected at least "
              "2336 (rx_desc + tx_desc of every port + cache + burst)");
    EXPECT_EQ(message(with("mempool", "data_room = 1600")),
              "t.toml:4: key mempool.data_room: 1600 cannot hold a frame of port[0].mtu 1500; expected at least 1646 "
              "(128 headroom + 14 Ethernet header + 4 CRC + mtu)");
    // data_room at its default against a jumbo mtu: the mtu's line.
    EXPECT_EQ(message(port_with("mtu = 9000")),
              "t.toml:3: key mempool.data_room: 2176 cannot hold a frame of port[0].mtu 9000; expected at least 9146 "
              "(128 headroom + 14 Ethernet header + 4 CRC + mtu)");
}

// ---- Which error is reported ----

TEST(ConfigErrors, TheFirstErrorInTheFileWins) {
    // toml++ keeps tables sorted by key ("app" < "tcp"); the report follows the file's lines instead.
    EXPECT_EQ(message("[tcp]\nsack = 1\n[app]\nname = 5\n[[port]]\nip = \"198.18.0.2/24\"\n"),
              "t.toml:2: key tcp.sack: 1 is not a boolean; expected true or false");
    EXPECT_EQ(message("[tcp]\nsackk = 1\nsack = 1\n"), "t.toml:2: unknown key tcp.sackk; did you mean tcp.sack?");
    // A value error before a cross-field one, even when the cross-field key comes first.
    EXPECT_EQ(message("[tcp]\nmss = 8000\n[[port]]\nip = \"198.18.0.2/24\"\nmtu = 99999\n"),
              "t.toml:5: key port[0].mtu: 99999 is out of range; expected 68..9000");
}

TEST(ConfigErrors, ParseConfigNamesTheGivenFile) {
    auto r = parse_config("burst = 0\n", "config/tap.toml");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), "config/tap.toml:1: key burst: 0 is out of range; expected 1..512");
}
