// The AST of a packetdrill script (Google's packetdrill language), as produced by
// `parse_script` (parser.hpp) and executed by ustcp-packetdrill's runner against
// lib/tcp on a virtual clock. Nothing here executes anything.
//
//   auto script = parse_script(text);
//   if (!script) { fputs(script.error().to_string().c_str(), stderr); return 1; }
//   for (const Event& ev : script->events) {
//       Instant at = resolve(ev.time, last_event_time);            // the runner's job
//       if (auto* p = std::get_if<PacketEvent>(&ev.action)) ...    // inject or expect
//       if (auto* s = std::get_if<SyscallEvent>(&ev.action)) ...   // call, compare result
//   }
//
// Conventions kept from packetdrill, which the runner must apply:
//  * Times are microseconds. A relative time (`+0.1`) counts from the previous
//    event's time; `*` matches any time; ranges allow any time within [start, end].
//    A blocking call's end time (`+0...0.2 accept(...)`) has the same base as its
//    start time: absolute for an absolute start, the previous event for a relative one.
//  * Sequence numbers are as written: for outbound packets, and for acks in inbound
//    packets, they are relative to the local ISN; remote numbers are absolute.
//  * A packet with no `<...>` list expects/sends no options; `<...>` (outbound only)
//    matches any options. An outbound packet with no `win` does not check the window.
//  * Addresses and ports are not in the script. packetdrill's defaults: remote
//    192.0.2.1, local 192.168.0.1 (newer releases pick a random 192.168/16
//    address), bind and connect port 8080; `--local_ip` etc. override them.
//  * packetdrill does not check the TS val of outbound packets by default
//    (--tcp_ts_tick_usecs=0); TS ecr and all other fields are checked.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace ustcp::packetdrill {

/// 1-based line and column (in bytes; a tab counts as one column) in the script text.
struct Location {
    int line = 0;
    int column = 0;
    friend bool operator==(const Location&, const Location&) = default;
};

/// A copyable owning pointer, for the recursive parts of the expression tree.
template <typename T>
class Box {
public:
    Box(T v) : p_(std::make_unique<T>(std::move(v))) {}  // NOLINT: implicit by design
    Box(const Box& o) : p_(std::make_unique<T>(*o.p_)) {}
    Box(Box&&) noexcept = default;
    Box& operator=(const Box& o) {
        if (this != &o) p_ = std::make_unique<T>(*o.p_);
        return *this;
    }
    Box& operator=(Box&&) noexcept = default;
    ~Box() = default;

    [[nodiscard]] T& operator*() noexcept { return *p_; }
    [[nodiscard]] const T& operator*() const noexcept { return *p_; }
    [[nodiscard]] T* operator->() noexcept { return p_.get(); }
    [[nodiscard]] const T* operator->() const noexcept { return p_.get(); }

private:
    std::unique_ptr<T> p_;  // never null, except after a move
};

// ---------------------------------------------------------------------------
// System-call expressions. Generic on purpose: packetdrill's special forms
// (sockaddr, pollfd, linger, iovec, msghdr, epoll_event) are Structs of Fields,
// and the runner gives meaning to names such as AF_INET or htons.

struct Expr;

namespace expr {
struct Integer {
    std::int64_t value = 0;
    bool hex = false;  ///< written as 0x...
};
/// "text": the characters between the quotes, backslashes kept as written.
/// Adjacent literals are concatenated. `"abc"...` sets trailing_ellipsis.
struct String {
    std::string text;
    bool trailing_ellipsis = false;
};
struct Ellipsis {};  ///< `...`: any value (argument) or don't-care (result)
struct Word {        ///< a symbol: AF_INET, SOL_SOCKET, POLLIN, ...
    std::string name;
};
struct Call {  ///< htons(8080), inet_addr("192.0.2.1"), inet6_addr("::1")
    std::string name;
    std::vector<Expr> args;
};
struct List {  ///< [1], [], [{fd=3, events=POLLIN}]
    std::vector<Expr> items;
};
/// `{...}`: items are Fields (`{fd=3, events=POLLIN}`) or plain values (`{..., 10}`).
struct Struct {
    std::vector<Expr> items;
};
/// `name=value` inside braces; `msg_iov(1)=[...]` puts `1` in key_args.
struct Field {
    std::string name;
    std::vector<Expr> key_args;
    Box<Expr> value;
};
struct BitOr {  ///< O_RDWR|O_NONBLOCK (left-associative)
    Box<Expr> lhs;
    Box<Expr> rhs;
};
}  // namespace expr

struct Expr {
    using Node = std::variant<expr::Integer, expr::String, expr::Ellipsis, expr::Word, expr::Call, expr::List,
                              expr::Struct, expr::Field, expr::BitOr>;
    Location loc;
    Node node;

    template <typename T>
    [[nodiscard]] const T* as() const noexcept { return std::get_if<T>(&node); }
    [[nodiscard]] bool is_ellipsis() const noexcept { return as<expr::Ellipsis>() != nullptr; }
    [[nodiscard]] bool is_word(std::string_view name) const noexcept {
        const auto* w = as<expr::Word>();
        return w != nullptr && w->name == name;
    }
    /// The value of an Integer literal; nullopt for anything else.
    [[nodiscard]] std::optional<std::int64_t> integer() const noexcept {
        const auto* i = as<expr::Integer>();
        return i != nullptr ? std::optional<std::int64_t>(i->value) : std::nullopt;
    }
    /// For a Struct: the value of its first Field named `name`; nullptr otherwise.
    [[nodiscard]] const Expr* field(std::string_view name) const noexcept;
};

/// packetdrill syntax for the expression, e.g. `{sa_family=AF_INET, sin_port=htons(8080)}`.
std::string to_string(const Expr& e);

// ---------------------------------------------------------------------------
// Event times.

enum class TimeKind : std::uint8_t {
    Absolute,       ///< `0.100`
    Relative,       ///< `+0.1`: after the previous event
    Any,            ///< `*`: outbound packets only
    AbsoluteRange,  ///< `0.1~0.2`: outbound packets only
    RelativeRange,  ///< `+0.1~+0.2`: outbound packets only
};

struct EventTime {
    TimeKind kind = TimeKind::Absolute;
    std::int64_t start_us = 0;  ///< unused for Any
    std::int64_t end_us = 0;    ///< ranges only; end_us >= start_us
    friend bool operator==(const EventTime&, const EventTime&) = default;
};

std::string to_string(const EventTime& t);

// ---------------------------------------------------------------------------
// Packets.

enum class Direction : std::uint8_t {
    Inbound,   ///< `<`: the runner injects it
    Outbound,  ///< `>`: the stack must send it
};

/// ECN codepoints (RFC 3168 §5) as written in `[ect0]`, plus `ect01` (either ECT).
enum class Ecn : std::uint8_t { NotEct = 0, Ect1 = 1, Ect0 = 2, Ce = 3, AnyEct = 4 };

/// The `(...)`/`[...]` after the direction: `[ect0]`, `(tos 0x10)`, `[ce, ttl 64]`.
struct IpInfo {
    std::optional<Ecn> ecn;  ///< AnyEct only on outbound packets
    std::optional<std::uint8_t> tos;
    std::optional<std::uint32_t> flow_label;  ///< 20 bits (IPv6)
    std::optional<std::uint8_t> ttl;          ///< `ttl N` or `hlim N`
    friend bool operator==(const IpInfo&, const IpInfo&) = default;
};

/// TCP header flag bits in wire positions; AE (AccECN) is the bit above CWR.
namespace tcp_flag {
inline constexpr std::uint16_t FIN = 0x001;  ///< F
inline constexpr std::uint16_t SYN = 0x002;  ///< S
inline constexpr std::uint16_t RST = 0x004;  ///< R
inline constexpr std::uint16_t PSH = 0x008;  ///< P
inline constexpr std::uint16_t ACK = 0x010;  ///< .
inline constexpr std::uint16_t URG = 0x020;  ///< U
inline constexpr std::uint16_t ECE = 0x040;  ///< E
inline constexpr std::uint16_t CWR = 0x080;  ///< W
inline constexpr std::uint16_t AE = 0x100;   ///< A
}  // namespace tcp_flag

namespace tcpopt {
struct Eol {};
struct Nop {};
struct Mss {
    std::uint16_t value = 0;
};
struct WindowScale {
    std::uint8_t shift = 0;
};
struct SackPermitted {};
struct SackBlock {
    std::uint32_t left = 0;
    std::uint32_t right = 0;
    friend bool operator==(const SackBlock&, const SackBlock&) = default;
};
struct Sack {
    std::vector<SackBlock> blocks;  ///< at least one
};
struct Timestamp {
    std::uint32_t val = 0;
    std::uint32_t ecr = 0;
};
/// `FO [cookie]` (kind 34, RFC 7413) or `FOEXP [cookie]` (kind 254, magic 0xF989).
struct FastOpen {
    std::vector<std::uint8_t> cookie;
    bool experimental = false;
};
struct Md5 {  ///< `md5 <hex digest>` (kind 19, RFC 2385)
    std::vector<std::uint8_t> digest;
};
}  // namespace tcpopt

using TcpOption = std::variant<tcpopt::Eol, tcpopt::Nop, tcpopt::Mss, tcpopt::WindowScale, tcpopt::SackPermitted,
                               tcpopt::Sack, tcpopt::Timestamp, tcpopt::FastOpen, tcpopt::Md5>;

/// The option's kind byte on the wire.
std::uint8_t option_kind(const TcpOption& o) noexcept;
/// Bytes on the wire, kind and length bytes included (1 for EOL and NOP).
std::size_t option_length(const TcpOption& o) noexcept;
std::string to_string(const TcpOption& o);

struct TcpSegment {
    std::optional<std::uint16_t> src_port;  ///< `1234>8080` before the flags; rare
    std::optional<std::uint16_t> dst_port;
    std::uint16_t flags = 0;  ///< tcp_flag bits; `-` is none
    std::uint32_t seq = 0;    ///< start:end(len): seq = start, end = seq + payload_len
    std::uint32_t seq_end = 0;
    std::uint16_t payload_len = 0;
    std::optional<std::uint32_t> ack;     ///< `ack N`; the ack field is 0 without it
    std::optional<std::uint16_t> window;  ///< `win N`; required on inbound packets
    std::optional<std::uint16_t> urg_ptr;  ///< `urg N`
    /// true for `<...>`: any options (outbound only). Otherwise `options` is the exact
    /// list, whose option_length()s sum to a multiple of 4 and at most 40.
    bool any_options = false;
    std::vector<TcpOption> options;
};

/// `udp [src>dst] (len)`.
struct UdpDatagram {
    std::optional<std::uint16_t> src_port;
    std::optional<std::uint16_t> dst_port;
    std::uint16_t payload_len = 0;
};

/// `icmp unreachable frag_needed mtu 1200 [1:1461(1460)]`.
struct IcmpMessage {
    std::string type;  ///< as written: unreachable, time_exceeded, echo_request, ...
    std::string code;  ///< as written, empty when absent
    std::optional<std::uint32_t> mtu;
    std::optional<std::uint32_t> id;
    /// What the ICMP message quotes: nothing, a TCP segment `[start:end(len)]`,
    /// or `[udp (len)]`.
    struct EchoedTcp {
        std::uint32_t seq = 0;
        std::uint32_t seq_end = 0;
        std::uint16_t payload_len = 0;
    };
    struct EchoedUdp {
        std::uint16_t payload_len = 0;
    };
    std::variant<std::monostate, EchoedTcp, EchoedUdp> echoed;
};

struct PacketEvent {
    Direction direction = Direction::Inbound;
    IpInfo ip;
    std::variant<TcpSegment, UdpDatagram, IcmpMessage> body;
};

// ---------------------------------------------------------------------------
// Other events.

/// `name(args) = result [ERRNO (text)] [(note)]`, optionally blocking (`...end`).
struct SyscallEvent {
    std::string name;
    std::vector<Expr> args;
    Expr result;
    std::optional<std::string> errno_name;  ///< ECONNRESET in `= -1 ECONNRESET (Connection reset by peer)`
    std::optional<std::string> note;        ///< the parenthesised text, whitespace collapsed
    std::optional<std::int64_t> end_us;     ///< `+0...0.2 accept(...)`: blocks until end_us
};

/// `` `sysctl -q net.ipv4.tcp_sack=0` ``: the text between the backquotes, as written.
struct CommandEvent {
    std::string command;
};

/// `%{ python }%`: the text between the delimiters, spaces and tabs trimmed.
struct CodeEvent {
    std::string code;
};

struct Event {
    Location loc;  ///< where the event time starts
    EventTime time;
    std::variant<PacketEvent, SyscallEvent, CommandEvent, CodeEvent> action;
};

/// packetdrill syntax for an event, one line without the trailing newline. Parsing
/// it again gives the same event (and the same text).
std::string to_string(const Event& e);

// ---------------------------------------------------------------------------

/// A leading `--name=value` line (or `--name` alone). All are kept, in order; the
/// runner decides which it understands. A quoted value loses its quotes.
struct ScriptOption {
    Location loc;
    std::string name;
    std::optional<std::string> value;
};

enum class IpVersion : std::uint8_t { V4, V4MappedV6, V6 };

struct Script {
    std::vector<ScriptOption> options;
    IpVersion ip_version = IpVersion::V4;  ///< from the last --ip_version (ipv4, ipv4-mapped-ipv6, ipv6)
    std::optional<CommandEvent> init_command;     ///< an untimed `` `cmd` `` before the first event
    std::optional<CommandEvent> cleanup_command;  ///< an untimed `` `cmd` `` after the last event
    std::vector<Event> events;                    ///< at least one
};

}  // namespace ustcp::packetdrill
