// StackConfig: everything ustcp is configured with, typed (DESIGN.md "Configuration"). One TOML file
// (config/*.toml) and command-line flags with the same key names fill it (load.hpp); the engine, lib/dpdk
// and ustcp-server read it and never see TOML or argv. EAL's own arguments are not here: they come
// before `--` on the command line and go to rte_eal_init() untouched.
//
//   auto r = ustcp::config::load_command_line(argc, argv);   // --config FILE, then the other flags
//   if (!r) { std::fprintf(stderr, "%s\n", r.error().message().c_str()); return 2; }
//   const ustcp::config::StackConfig& cfg = *r;
//   for (const auto& port : cfg.ports) probe(port.devargs_string(), port.rx_queues, port.rx_desc);
//   Engine engine(cfg.tcp, cfg.lcores.front());
//
// Every key, its type, default and range (the same list `ustcp-server --help` prints). Durations are
// strings with an integer and a unit: "40ms", "1s" (units ns, us, ms, s, min, h; "0s" for zero; no
// fractions, no bare numbers). Sizes are integers of bytes or strings with a binary unit: 262144,
// "256KiB", "1MiB" (units B, KiB, MiB, GiB). Booleans are true/false. Anything else is an error.
//
//   lcores                 "1"            worker lcores: "1", "1-3", "2,4-6" (0..127, each once); or an integer
//   burst                  32             RX/TX burst size, 1..512
//   shutdown_timeout       "5s"           0s..10min: on SIGINT/SIGTERM, how long connections get to close
//                                         gracefully (FIN) before the rest are reset
//   pcap                   ""             a pcapng file that gets every frame each port receives and sends
//                                         (lib/dpdk's Capture; `--pcap FILE`); "": no capture
//   fault                  ""             seeded faults on every port's RX and/or TX, for experiments
//                                         (lib/sim's FaultPort; `--fault rx:loss=2%`): "[rx:|tx:]SPEC[;...]",
//                                         SPEC as "loss=1%,burst=..,reorder=2%,dup=1%,corrupt=1%,delay=2ms,
//                                         jitter=1ms,rate=100Mbit,queue=100,seed=1" (sim/fault.hpp); "": none
//   [[port]]               (one or more; `--port.KEY` flags set the first)
//     name                 "port<N>"      a unique name: letters, digits, '_' and '-', at most 32
//     vdev                 -              a virtual ethdev and its arguments: "net_tap0,iface=ustcp0" \ at most
//     pci                  -              a PCI device: "0000:01:00.0" (or "01:00.0")                 / one; with
//                                         neither, the port is an ethdev EAL made from its own --vdev/-a
//                                         (the k-th such port is DPDK port id k)
//     devargs              ""             extra driver arguments appended to vdev or pci: "k=v,k=v"
//     ip                   (required)     address and prefix: "198.18.0.2/24" (a host address of the prefix)
//     gateway              none           next hop for addresses outside `ip`'s prefix; inside it
//     extra_ips            ""             secondary addresses "A.B.C.D-A.B.C.E" (at most 4096) inside `ip`'s
//                                         prefix, without its address, gateway, network or broadcast: ARP is
//                                         answered and TCP accepted for each, and connects may come from them
//                                         (ustcp-perf --src-range); "": none
//     mac                  the port's     override the port's MAC: "02:00:00:00:00:01" (unicast)
//     mtu                  1500           68..9000
//     rx_queues, tx_queues one per lcore  1..number of lcores (each lcore owns queue q of every port);
//                                         rx_queues defaults to 1 when rss = "off"
//     rx_desc, tx_desc     1024           ring sizes, 32..32768
//     rss                  "auto"         "auto" | "on" | "off"; rx_queues > 1 needs it not "off"
//     checksum_offload     "auto"         "auto" | "on" | "off" (IPv4/TCP checksums on TX and RX)
//     tso                  "auto"         "auto" | "on" | "off"; "on" needs checksum_offload not "off"
//   [mempool]              (one pool per lcore per NUMA socket)
//     mbufs_per_lcore      16383          511..16777215; at least every ring of the lcore + cache + burst
//     cache                256            0..512 and at most mbufs_per_lcore / 1.5 (rte_mempool's rules)
//     data_room            2176           256..65535 bytes; a whole frame fits: 128 + 18 + mtu at least
//   [tcp]                  tcp::Config's fields, same names, meaning and defaults (lib/tcp/.../tcp/config.hpp)
//     mss                  mtu - 40       88..8960; at most the smallest port mtu - 40
//     default_peer_mss     536            88..8960
//     window_scaling, timestamps, sack    true
//     send_buffer, recv_buffer  "256KiB"  4KiB..1GiB, at least mss
//     msl                  "30s"          1ms..10min (TIME-WAIT lasts 2 * msl)
//     rto_initial          "1s"           1ms..10min \ rto_min <= rto_initial <= rto_max
//     rto_min              "200ms"        1ms..10min |
//     rto_max              "60s"          1ms..10min /
//     syn_retries          7              1..127
//     synack_retries       5              1..255
//     data_retries         15             1..255
//     user_timeout         "0s"           0s..24h, 0s: off
//     delayed_ack          "40ms"         0s up to (not including) 500ms, 0s: ACK every segment
//     quickack             16             0..255
//     nodelay              false
//     persist_max          "60s"          1ms..10min, at least rto_min
//     keepalive            false
//     keepalive_idle       "2h"           1s..32767s
//     keepalive_interval   "75s"          1s..32767s
//     keepalive_count      9              1..127
//     congestion_control   "cubic"        "cubic" (RFC 9438 + HyStart++) | "newreno"
//     rfc5961              true
//     challenge_acks_per_conn_per_sec   10     0..65535
//     challenge_acks_per_engine_per_sec 1000   0..1000000
//     syn_cookies          "on-overflow"  "off" | "on-overflow" | "always"
//     accept_overflow      "drop"         "drop" | "reset"
//     syn_backlog          1024           1..1048576: connections in SYN-RECEIVED per listener and lcore
//     accept_backlog       4096           1..1048576: established connections waiting in accept()
//     max_connections      16384          1..16777216: connections per lcore and port (the engine's pool;
//                                         ordinary memory, about 0.9 KiB per connection used plus 64 bytes
//                                         per pool slot for the flow table, docs/runtime.md)
//     fixed_iss            0              0..4294967295: the ISS of every connection, for replaying captures
//                                         and tests only (RFC 6528 off); 0: RFC 6528 ISNs
//   [tcp.newreno]          cc::NewRenoConfig
//     abc_limit_segments   2              1..255 (RFC 3465's L)
//     ca_growth            "byte-counting" "byte-counting" | "per-ack"
//     recovery_exit        "flight-size"  "flight-size" | "ssthresh"
//   [app]
//     name                 "echo"         "echo" | "discard" | "iperf" | "iperf3" | "http" | "welcome" | "print" | "perf"
//     listen               the app's port a list of TCP ports 1..65535, each once: [7] (echo 7, discard 9,
//                                         iperf 5001, iperf3 5201, http 80, welcome 20000, print 8000, perf 5555 when not given)
//     http_max_bytes       "1GiB"         0B..1TiB: the largest N of http's GET /bytes/N
//     http_idle_timeout    "10s"          1ms..1h: http closes a connection idle (nothing read or sent) this long
//     iperf3_idle_timeout  "60s"          100ms..1h: iperf3 ends a test (or drops a connection without its
//                                         cookie) after this long without a control message; while the test
//                                         runs, after its -t plus -O plus this
//     http_max_request     "8KiB"         256B..1MiB: an http request head (414/431 above it) and body (413)
//
// Derived defaults: rx_queues and tx_queues follow the number of lcores, tcp.mss follows the smallest
// port mtu and app.listen follows app.name, each unless given (ConfigSources says what was). finalize()
// (load.hpp) recomputes them after every change, so a `--lcores 1-4` flag over a file without rx_queues
// gives 4 queues.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ustcp/base/addr.hpp"
#include "ustcp/base/time.hpp"
#include "ustcp/tcp/config.hpp"

namespace ustcp::config {

/// Lcore ids are below this (Debian's RTE_MAX_LCORE; lib/dpdk checks the running EAL's limit).
inline constexpr unsigned kMaxLcores = 128;

/// A three-way switch for something a port may or may not offer.
enum class Toggle : std::uint8_t {
    Auto,  ///< use it when the port offers it, software otherwise
    On,    ///< require it: starting the port fails when the port does not offer it
    Off,   ///< never use it
};

/// An interface address and its prefix length: "198.18.0.2/24".
struct Ipv4Prefix {
    Ipv4Addr addr;
    std::uint8_t len = 0;  ///< 1..32

    /// "a.b.c.d/n" with n 1..32; nullopt otherwise (no check that addr is a host address).
    static std::optional<Ipv4Prefix> parse(std::string_view s) noexcept;

    [[nodiscard]] constexpr std::uint32_t mask() const noexcept {
        return len == 0 ? 0 : ~std::uint32_t{0} << (32 - len);
    }
    [[nodiscard]] constexpr Ipv4Addr network() const noexcept { return Ipv4Addr(addr.value() & mask()); }
    [[nodiscard]] constexpr Ipv4Addr broadcast() const noexcept { return Ipv4Addr(addr.value() | ~mask()); }
    [[nodiscard]] constexpr bool contains(Ipv4Addr a) const noexcept {
        return (a.value() & mask()) == network().value();
    }
    /// Whether the two prefixes share any address.
    [[nodiscard]] constexpr bool overlaps(const Ipv4Prefix& o) const noexcept {
        const std::uint32_t m = len < o.len ? mask() : o.mask();
        return (addr.value() & m) == (o.addr.value() & m);
    }
    [[nodiscard]] std::string to_string() const;  ///< "198.18.0.2/24"
    friend constexpr bool operator==(const Ipv4Prefix&, const Ipv4Prefix&) noexcept = default;
};

/// How lib/dpdk finds a port's device.
enum class DeviceKind : std::uint8_t {
    Eal,   ///< no vdev or pci key: EAL made the ethdev from its own -a/--vdev arguments; the k-th such
           ///< port is DPDK port id k (EAL's ports come before any probed from this config)
    Vdev,  ///< a virtual ethdev that ustcp creates from `device` (what EAL's --vdev takes)
    Pci,   ///< the PCI device at `device` (what EAL's -a takes)
};

/// One `[[port]]` table.
struct PortConfig {
    std::string name = "port0";     ///< unique; the loader names unnamed ports port0, port1, ...
    DeviceKind kind = DeviceKind::Eal;
    /// Vdev: the driver instance and its arguments, "net_tap0,iface=ustcp0". Pci: the address, normalised
    /// to "dddd:bb:dd.f" in lower case. Eal: empty.
    std::string device;
    std::string devargs;            ///< extra driver arguments "k=v,..." appended to `device`; may be empty
    Ipv4Prefix ip;                  ///< this port's address and on-link prefix
    std::optional<Ipv4Addr> gateway;  ///< next hop for everything outside ip's prefix; inside the prefix
    /// Secondary addresses extra_first .. extra_first + extra_count - 1 (`extra_ips`); count 0: none.
    Ipv4Addr extra_first{};
    std::uint32_t extra_count = 0;
    std::optional<MacAddr> mac;     ///< replaces the port's own MAC address when set
    std::uint16_t mtu = 1500;       ///< IPv4 MTU: the largest IP packet, without the Ethernet header
    std::uint16_t rx_queues = 1;    ///< unless given: lcores.size(), or 1 with rss = Off
    std::uint16_t tx_queues = 1;    ///< unless given: lcores.size()
    std::uint16_t rx_desc = 1024;
    std::uint16_t tx_desc = 1024;
    Toggle rss = Toggle::Auto;      ///< symmetric Toeplitz RSS over the RX queues
    Toggle checksum_offload = Toggle::Auto;  ///< IPv4 and TCP checksums in the NIC, both directions
    Toggle tso = Toggle::Auto;      ///< TCP segmentation offload on TX

    /// The device with its arguments, as EAL's --vdev / -a and rte_dev_probe() take it:
    /// "net_tap0,iface=ustcp0" or "0000:01:00.0,rxq_cqe_comp_en=1". Empty for DeviceKind::Eal.
    [[nodiscard]] std::string devargs_string() const;
    /// The device's name without arguments, as rte_eth_dev_get_port_by_name() takes it: "net_tap0",
    /// "0000:01:00.0". Empty for DeviceKind::Eal.
    [[nodiscard]] std::string device_name() const;
};

/// `[mempool]`: one pktmbuf pool per lcore per NUMA socket.
struct MempoolConfig {
    std::uint32_t mbufs_per_lcore = 16383;  ///< 2^n - 1 is what rte_mempool stores best
    std::uint32_t cache = 256;              ///< per-lcore cache of the pool
    std::uint16_t data_room = 2176;         ///< buffer size including the 128-byte headroom (RTE default)
};

/// Listener backlogs (`tcp.syn_backlog`, `tcp.accept_backlog`), per listener and lcore (listener.hpp).
struct BacklogConfig {
    std::uint32_t syn = 1024;     ///< connections in SYN-RECEIVED before SYN cookies or drops
    std::uint32_t accept = 4096;  ///< established connections waiting for accept()
};

/// The applications ustcp-server runs.
enum class AppKind : std::uint8_t {
    Echo,     ///< RFC 862, port 7
    Discard,  ///< RFC 863, port 9
    Iperf,    ///< iperf 2 (2.1.x wire protocol), port 5001
    Iperf3,   ///< iperf3 (control connection and streams), port 5201
    Http,     ///< a static HTTP/1.1 responder, port 80
    Welcome,  ///< seed 000: a timestamped greeting, then close; port 20000
    Print,    ///< seed 002: logs what each client sends; port 8000
    Perf,     ///< ustcp-perf's perf protocol (apps/perf protocol.hpp), port 5555
};

/// "echo", "discard", "iperf", "iperf3", "http", "welcome", "print", "perf".
[[nodiscard]] std::string_view to_string(AppKind a) noexcept;
/// The port an application listens on when `app.listen` is not given.
[[nodiscard]] std::uint16_t default_port(AppKind a) noexcept;

/// `[app]`: what ustcp-server serves. Free-form application keys are not allowed.
struct AppConfig {
    AppKind name = AppKind::Echo;
    std::vector<std::uint16_t> listen{7};  ///< in the order written, each port once
    std::uint64_t http_max_bytes = std::uint64_t{1} << 30;  ///< http: largest N of GET /bytes/N
    Duration http_idle_timeout = Duration::seconds(10);     ///< http: idle keep-alive connections close
    std::uint32_t http_max_request = 8192;                  ///< http: request head and body limit, bytes
    Duration iperf3_idle_timeout = Duration::seconds(60);   ///< iperf3: a silent control connection ends its test
};

/// Where a key's value came from: a file position, a flag, or (when absent from ConfigSources) the
/// default. The loader uses it to name the line of a cross-field error, and to_toml() prints it.
struct Origin {
    std::string file;          ///< the config file, when from a file
    std::uint32_t line = 0;    ///< 1-based, when from a file
    std::uint32_t column = 0;  ///< 1-based, when from a file
    std::string flag;          ///< the flag as given ("--ip"), when from the command line
};

/// The origins of every key that was given, by full key name ("tcp.mss", "port[0].ip"; "port[0]" is
/// the `[[port]]` header).
struct ConfigSources {
    std::string file;  ///< the config file that was loaded; empty when none
    std::map<std::string, Origin, std::less<>> keys;

    [[nodiscard]] const Origin* find(std::string_view key) const {
        auto it = keys.find(key);
        return it == keys.end() ? nullptr : &it->second;
    }
    [[nodiscard]] bool given(std::string_view key) const { return find(key) != nullptr; }
};

struct StackConfig {
    /// Worker lcores, ascending, each once. Each owns RX queue q and TX queue q of every port, q being
    /// its position here (for ports with fewer queues, the first rx_queues lcores receive on it).
    std::vector<unsigned> lcores{1};
    std::uint16_t burst = 32;       ///< RX/TX burst size
    Duration shutdown_timeout = Duration::seconds(5);  ///< graceful close before the rest are aborted
    std::string pcap;               ///< capture file (pcapng) of every port's frames; empty: off
    std::string fault;              ///< faults on every port (sim::parse_port_faults syntax); empty: none
    std::vector<PortConfig> ports;  ///< at least one after loading
    MempoolConfig mempool;
    tcp::Config tcp;                ///< every TCP tunable, for each lcore's engine
    BacklogConfig backlog;          ///< listener backlogs (keys tcp.syn_backlog, tcp.accept_backlog)
    std::uint32_t max_connections = 16384;  ///< each engine's connection pool (key tcp.max_connections)
    AppConfig app;
    ConfigSources sources;          ///< where each given value came from
};

}  // namespace ustcp::config
