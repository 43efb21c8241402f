// lib/config: flags with the file's key names, winning over the file; short forms; errors on the
// command line; --help; --config.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "helpers.hpp"
#include "ustcp/config/load.hpp"

using namespace ustcp;
using namespace ustcp::config;
using cfgtest::Argv;
using cfgtest::load_ok;

namespace {

/// Writes `text` to a file under the test's temporary directory and returns its path.
std::string write_file(const std::string& name, std::string_view text) {
    std::string path = ::testing::TempDir() + name;
    std::ofstream(path) << text;
    return path;
}

constexpr std::string_view kFile = R"(burst = 16
[[port]]
vdev = "net_tap0,iface=ustcp0"
ip = "198.18.0.2/24"
gateway = "198.18.0.1"
[tcp]
delayed_ack = "40ms"
sack = true
[app]
listen = [7]
)";

Result<StackConfig, ConfigError> command_line(std::vector<std::string> args) {
    Argv a(std::move(args));
    return load_command_line(a.argc(), a.argv());
}

/// apply_flags() over kFile; fails the test on an error.
StackConfig flags_ok(std::vector<std::string> args) {
    StackConfig c = load_ok(kFile);
    Argv a(std::move(args));
    auto r = apply_flags(a.argc(), a.argv(), c);
    if (!r) ADD_FAILURE() << r.error().message();
    return c;
}

/// The error of apply_flags() over kFile.
ConfigError flags_err(std::vector<std::string> args) {
    StackConfig c = load_ok(kFile);
    Argv a(std::move(args));
    auto r = apply_flags(a.argc(), a.argv(), c);
    if (r) {
        ADD_FAILURE() << "flags applied, but an error was expected";
        return {};
    }
    return r.error();
}

std::string flags_message(std::vector<std::string> args) { return flags_err(std::move(args)).message(); }

}  // namespace

TEST(ConfigFlags, FlagsWinOverTheFile) {
    const std::string path = write_file("flags_win.toml", kFile);
    auto r = command_line({"--config", path, "--tcp.delayed_ack=0s", "--burst", "64", "--mtu", "1400"});
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->tcp.delayed_ack, Duration::zero());
    EXPECT_EQ(r->burst, 64);
    EXPECT_EQ(r->ports.at(0).mtu, 1400);
    EXPECT_EQ(r->tcp.mss, 1360);  // derived from the flag's mtu
    EXPECT_TRUE(r->tcp.sack);     // from the file
    EXPECT_EQ(r->ports[0].device, "net_tap0,iface=ustcp0");
    EXPECT_EQ(r->sources.file, path);
    ASSERT_NE(r->sources.find("tcp.delayed_ack"), nullptr);
    EXPECT_EQ(r->sources.find("tcp.delayed_ack")->flag, "--tcp.delayed_ack");
    EXPECT_EQ(r->sources.find("port[0].mtu")->flag, "--mtu");
    EXPECT_EQ(r->sources.find("tcp.sack")->line, 8u);
    const std::string dump = to_toml(*r);
    EXPECT_NE(dump.find("mtu = 1400                              # --mtu\n"), std::string::npos) << dump;
    EXPECT_NE(dump.find("sack = true                             # " + path + ":8\n"), std::string::npos) << dump;
}

TEST(ConfigFlags, EveryKeyIsAFlag) {
    const std::string help = flags_help();
    for (const std::string& key : config_keys()) EXPECT_NE(help.find("--" + key + " "), std::string::npos) << key;
    for (const char* alias : {"--ip ", "--gateway ", "--mac ", "--mtu ", "--app ", "--listen ", "--config "}) {
        EXPECT_NE(help.find(alias), std::string::npos) << alias;
    }
}

TEST(ConfigFlags, ValuesOfEveryType) {
    const StackConfig c = flags_ok({
        "--lcores", "1-3",            "--port.rx_queues=2",          "--tcp.mss", "1000",
        "--tcp.nodelay",              "--tcp.sack=false",             "--tcp.rto_min", "50ms",
        "--tcp.send_buffer", "1MiB",  "--tcp.recv_buffer=65536",      "--tcp.syn_cookies", "always",
        "--port.rss", "on",           "--tcp.newreno.ca_growth=per-ack", "--mac", "02:00:00:00:00:09",
        "--gateway", "198.18.0.254",  "--port.name", "tap9",          "--port.devargs", "persist=1",
        "--app", "discard",           "--mempool.cache", "128",       "--tcp.keepalive", "true",
        "--fault", "rx:loss=2%",
    });
    EXPECT_EQ(c.fault, "rx:loss=2%");
    EXPECT_EQ(c.lcores, (std::vector<unsigned>{1, 2, 3}));
    EXPECT_EQ(c.ports[0].rx_queues, 2);
    EXPECT_EQ(c.ports[0].tx_queues, 3);  // derived from the flag's lcores
    EXPECT_EQ(c.tcp.mss, 1000);
    EXPECT_TRUE(c.tcp.nodelay);  // a boolean flag alone means true
    EXPECT_FALSE(c.tcp.sack);
    EXPECT_TRUE(c.tcp.keepalive);
    EXPECT_EQ(c.tcp.rto_min, Duration::millis(50));
    EXPECT_EQ(c.tcp.send_buffer, 1u << 20);
    EXPECT_EQ(c.tcp.recv_buffer, 65536u);
    EXPECT_EQ(c.tcp.syn_cookies, tcp::SynCookieMode::Always);
    EXPECT_EQ(c.ports[0].rss, Toggle::On);
    EXPECT_EQ(c.tcp.cc.newreno.ca_growth, tcp::cc::NewRenoConfig::CaGrowth::PerAck);
    EXPECT_EQ(c.ports[0].mac->to_string(), "02:00:00:00:00:09");
    EXPECT_EQ(c.ports[0].gateway, Ipv4Addr(198, 18, 0, 254));
    EXPECT_EQ(c.ports[0].name, "tap9");
    EXPECT_EQ(c.ports[0].devargs_string(), "net_tap0,iface=ustcp0,persist=1");
    EXPECT_EQ(c.app.name, AppKind::Discard);
    EXPECT_EQ(c.app.listen, (std::vector<std::uint16_t>{7}));  // the file's, not discard's 9
    EXPECT_EQ(c.mempool.cache, 128u);
}

TEST(ConfigFlags, ShortFormsAndTheLastValueWins) {
    EXPECT_EQ(flags_ok({"--port.ip", "198.18.0.3/24", "--ip", "198.18.0.4/16"}).ports[0].ip.to_string(),
              "198.18.0.4/16");
    EXPECT_EQ(flags_ok({"--ip", "198.18.0.4/16", "--port.ip", "198.18.0.3/24"}).ports[0].ip.to_string(),
              "198.18.0.3/24");
    EXPECT_EQ(flags_ok({"--burst", "8", "--burst", "64"}).burst, 64);
    EXPECT_EQ(flags_ok({"--tcp.nodelay", "--tcp.nodelay=false"}).tcp.nodelay, false);
    EXPECT_EQ(flags_ok({"--app.name", "iperf", "--app", "http"}).app.name, AppKind::Http);
    EXPECT_EQ(flags_ok({"--mtu", "1280", "--port.mtu", "1400"}).ports[0].mtu, 1400);
    // --listen lists accumulate, and replace the file's list.
    EXPECT_EQ(flags_ok({"--listen", "7,9", "--app.listen", "80", "--listen=8080"}).app.listen,
              (std::vector<std::uint16_t>{7, 9, 80, 8080}));
    // A negative number is a value, not a flag.
    EXPECT_EQ(flags_err({"--burst", "-5"}).message(), "command line: --burst: \"-5\" is out of range; expected 1..512");
}

TEST(ConfigFlags, DerivedDefaultsFollowFlags) {
    const StackConfig c = flags_ok({"--lcores", "1-4"});
    EXPECT_EQ(c.ports[0].rx_queues, 4);
    EXPECT_EQ(c.ports[0].tx_queues, 4);
    const StackConfig d = flags_ok({"--app", "iperf"});
    EXPECT_EQ(d.app.listen, (std::vector<std::uint16_t>{7}));  // kFile gives listen
    auto e = command_line({"--ip", "198.18.0.2/24", "--app", "iperf3"});
    ASSERT_TRUE(e) << e.error().message();
    EXPECT_EQ(e->app.listen, (std::vector<std::uint16_t>{5201}));
}

TEST(ConfigFlags, NoFileOnlyFlags) {
    // tests/interop/tap/lib.sh: EAL's --vdev makes the port, the flags give its address.
    auto r = command_line({"--ip", "198.18.0.2/24", "--app", "echo", "--listen", "7,9"});
    ASSERT_TRUE(r) << r.error().message();
    ASSERT_EQ(r->ports.size(), 1u);
    EXPECT_EQ(r->ports[0].kind, DeviceKind::Eal);
    EXPECT_EQ(r->ports[0].name, "port0");
    EXPECT_EQ(r->ports[0].ip.to_string(), "198.18.0.2/24");
    EXPECT_EQ(r->app.listen, (std::vector<std::uint16_t>{7, 9}));
    EXPECT_EQ(r->sources.file, "");

    auto v = command_line({"--port.vdev", "net_memif0,role=client,socket=/tmp/ustcp.sock", "--ip", "198.18.2.2/24"});
    ASSERT_TRUE(v) << v.error().message();
    EXPECT_EQ(v->ports[0].kind, DeviceKind::Vdev);
    EXPECT_EQ(v->ports[0].device_name(), "net_memif0");

    auto none = command_line({});
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error().message(),
              "command line: key port is missing; expected at least one [[port]] table (or --ip for a port EAL made "
              "from its --vdev or -a)");
    auto null_argv = load_command_line(0, nullptr);
    ASSERT_FALSE(null_argv);
    EXPECT_EQ(null_argv.error().kind, ConfigErrorKind::Missing);
}

TEST(ConfigFlags, ADeviceFlagReplacesTheFilesDevice) {
    const StackConfig c = flags_ok({"--port.pci", "01:00.0"});
    EXPECT_EQ(c.ports[0].kind, DeviceKind::Pci);
    EXPECT_EQ(c.ports[0].device, "0000:01:00.0");
    EXPECT_FALSE(c.sources.given("port[0].vdev"));
    EXPECT_EQ(c.sources.find("port[0].pci")->flag, "--port.pci");
    EXPECT_EQ(to_toml(c).find("vdev ="), std::string::npos);
}

TEST(ConfigFlags, TheConfigFileFlag) {
    const std::string path = write_file("memif.toml", "[[port]]\nip = \"198.18.2.1/24\"\nvdev = \"net_memif0\"\n");
    auto r = command_line({"--config=" + path});
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->ports[0].device, "net_memif0");

    auto missing = command_line({"--config", "/nonexistent/x.toml", "--burst", "8"});
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().message(), "/nonexistent/x.toml: cannot read: No such file or directory");

    const std::string bad = write_file("bad.toml", "[[port]]\nip = \"198.18.2.1/24\"\nmtu = 1\n");
    auto e = command_line({"--config", bad});
    ASSERT_FALSE(e);
    EXPECT_EQ(e.error().message(), bad + ":3: key port[0].mtu: 1 is out of range; expected 68..9000");
    // A flag can repair what the file got wrong only if the file loads: errors in the file come first.
    EXPECT_FALSE(command_line({"--config", bad, "--mtu", "1500"}));

    // apply_flags() does not read files.
    EXPECT_EQ(flags_message({"--config", path}), "command line: unknown flag --config (--help lists the flags)");
}

TEST(ConfigFlags, UnknownFlagsSuggestTheNearestFlag) {
    const ConfigError e = flags_err({"--tcp.delayed_acks=3"});
    EXPECT_EQ(e.kind, ConfigErrorKind::UnknownKey);
    EXPECT_EQ(e.flag, "--tcp.delayed_acks");
    EXPECT_EQ(e.suggestion, "--tcp.delayed_ack");
    EXPECT_EQ(e.file, "");
    EXPECT_EQ(e.message(), "command line: unknown flag --tcp.delayed_acks; did you mean --tcp.delayed_ack?");
    EXPECT_EQ(flags_message({"--delayed_ack", "40ms"}),
              "command line: unknown flag --delayed_ack; did you mean --tcp.delayed_ack?");
    EXPECT_EQ(flags_message({"--gatway", "198.18.0.1"}),
              "command line: unknown flag --gatway; did you mean --gateway?");
    EXPECT_EQ(flags_message({"--vdev", "net_tap0"}), "command line: unknown flag --vdev; did you mean --port.vdev?");
    EXPECT_EQ(flags_message({"--frobnicate"}), "command line: unknown flag --frobnicate (--help lists the flags)");
    EXPECT_EQ(flags_message({"-x"}), "command line: unknown flag -x (--help lists the flags)");
}

TEST(ConfigFlags, BadValuesNameTheFlag) {
    const ConfigError e = flags_err({"--tcp.delayed_ack", "40"});
    EXPECT_EQ(e.kind, ConfigErrorKind::BadValue);
    EXPECT_EQ(e.flag, "--tcp.delayed_ack");
    EXPECT_EQ(e.key, "tcp.delayed_ack");
    EXPECT_EQ(e.value, "\"40\"");
    EXPECT_EQ(e.message(),
              "command line: --tcp.delayed_ack: \"40\" is not a duration; expected an integer with a unit (e.g. 40ms, "
              "1s; units ns, us, ms, s, min, h)");
    EXPECT_EQ(flags_message({"--burst", "abc"}),
              "command line: --burst: \"abc\" is not an integer; expected an integer 1..512");
    EXPECT_EQ(flags_message({"--burst=0"}), "command line: --burst: \"0\" is out of range; expected 1..512");
    EXPECT_EQ(flags_message({"--burst", "+5"}),
              "command line: --burst: \"+5\" is not an integer; expected an integer 1..512");
    EXPECT_EQ(flags_message({"--tcp.sack=maybe"}),
              "command line: --tcp.sack: \"maybe\" is not a boolean; expected true or false");
    EXPECT_EQ(flags_message({"--ip", "198.18.0.2"}),
              "command line: --ip: \"198.18.0.2\" is not an address with a prefix; expected an address with a prefix "
              "(e.g. \"198.18.0.2/24\")");
    EXPECT_EQ(
        flags_message({"--listen", "7,x"}),
        "command line: --listen: \"7,x\" is not a list of ports; expected a list of TCP ports 1..65535, each once "
        "(e.g. [7, 9])");
    EXPECT_EQ(
        flags_message({"--listen", "7", "--listen", "7"}),
        "command line: --listen: \"7,7\" lists port 7 twice; expected a list of TCP ports 1..65535, each once (e.g. "
        "[7, 9])");
    EXPECT_EQ(flags_message({"--tcp.syn_cookies", "sometimes"}),
              "command line: --tcp.syn_cookies: \"sometimes\" is not one of the accepted values; expected off, "
              "on-overflow or always");
    // --fault: the item the spec's parser rejected, and what the key takes.
    const std::string fault = flags_message({"--fault", "rx:loss=2"});
    EXPECT_NE(fault.find("command line: --fault: \"rx:loss=2\" is not a fault spec (fault (rx): fault spec: bad item "
                         "'loss=2': expected a percentage"),
              std::string::npos)
        << fault;
    EXPECT_NE(fault.find("; expected \"[rx:|tx:]SPEC"), std::string::npos) << fault;
    EXPECT_NE(flags_message({"--fault", "lose=1%"}).find("unknown key 'lose'; keys: loss, burst"), std::string::npos);
    EXPECT_EQ(flags_message({"--port.vdev", "net_tap1", "--port.pci", "01:00.0"}),
              "command line: --port.pci: \"01:00.0\" conflicts with --port.vdev; expected one device per port");
}

TEST(ConfigFlags, CrossFieldErrorsNameWhereTheValueCameFrom) {
    // The key's own flag.
    EXPECT_EQ(
        flags_message({"--port.rx_queues", "4"}),
        "command line: --port.rx_queues: 4 is more than the 1 worker lcore; expected 1..1 (each queue is owned by "
        "one lcore)");
    // The key came from the file, the other one from a flag: the file's line.
    const std::string path = write_file("mss.toml", "[[port]]\nip = \"198.18.0.2/24\"\n[tcp]\nmss = 1460\n");
    auto r = command_line({"--config", path, "--mtu", "1400"});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), path + ":4: key tcp.mss: 1460 does not fit port[0].mtu 1400; expected at most 1360 "
                                          "(mtu - 40 bytes of IPv4 and TCP headers)");
    // The key at its default, the other one from a flag: the command line.
    EXPECT_EQ(flags_message({"--mtu", "100"}),
              "command line: key tcp.mss: 88 does not fit port[0].mtu 100; expected an mtu of at least 128 (an MSS of "
              "88 or more + 40 bytes of headers)");
}

TEST(ConfigFlags, SyntaxErrors) {
    const ConfigError e = flags_err({"--tcp.sack", "--burst"});
    EXPECT_EQ(e.kind, ConfigErrorKind::Syntax);
    EXPECT_EQ(e.message(), "command line: --burst needs a value");
    EXPECT_EQ(flags_message({"--burst", "8", "foo"}), "command line: unexpected argument \"foo\"");
    EXPECT_EQ(flags_message({"--", "--burst", "8"}),
              "command line: unexpected argument \"--\" (EAL's arguments go before the first --; rte_eal_init() takes "
              "them)");
}

TEST(ConfigFlags, Help) {
    for (const char* flag : {"--help", "-h"}) {
        const ConfigError e = flags_err({"--burst", "8", flag});
        EXPECT_EQ(e.kind, ConfigErrorKind::HelpRequested);
        const std::string m = e.message();
        EXPECT_NE(m.find("--tcp.delayed_ack"), std::string::npos);
        EXPECT_NE(m.find("[40ms]"), std::string::npos) << "defaults are shown";
        EXPECT_NE(m.find("Flags win over the file"), std::string::npos);
    }
    auto r = command_line({"--help"});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ConfigErrorKind::HelpRequested);
    EXPECT_NE(r.error().message().find("--config FILE"), std::string::npos) << r.error().message();
}

TEST(ConfigFlags, ApplyFlagsLeavesTheConfigAloneOnError) {
    StackConfig c = load_ok(kFile);
    const std::string before = to_toml(c);
    Argv a({"--burst", "64", "--tcp.mss", "9999"});
    ASSERT_FALSE(apply_flags(a.argc(), a.argv(), c));
    EXPECT_EQ(to_toml(c), before);
    Argv b({"--burst", "64", "--port.rx_queues", "2"});  // each value fine, the combination is not
    ASSERT_FALSE(apply_flags(b.argc(), b.argv(), c));
    EXPECT_EQ(to_toml(c), before);
}
