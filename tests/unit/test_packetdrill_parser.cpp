// The packetdrill script parser (apps/ustcp-packetdrill): every construct of the
// language that TCP scripts use, checked on the AST; whole scripts in the style
// of packetdrill's own examples; the printed form re-parsing to itself; the
// sample scripts under tests/packetdrill; and each error with its exact
// line:column message.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "parser.hpp"

using namespace ustcp::packetdrill;

namespace {

Script parse_ok(std::string_view text) {
    auto r = parse_script(text);
    if (!r) {
        ADD_FAILURE() << "parse failed: " << r.error().to_string() << "\n--- script ---\n" << text;
        return Script{};
    }
    return std::move(r).value();
}

/// "line:column: message", or "<parsed>" when the script parses.
std::string parse_err(std::string_view text) {
    auto r = parse_script(text);
    return r ? std::string("<parsed>") : r.error().to_string();
}

/// The only event of a one-event script. Events are kept for the whole test
/// program so that references into them stay valid.
const Event& one(std::string_view text) {
    static std::deque<Event> kept;
    Script s = parse_ok(text);
    EXPECT_EQ(s.events.size(), 1u) << text;
    kept.push_back(s.events.empty() ? Event{} : s.events.front());
    return kept.back();
}

const PacketEvent& packet(const Event& e) { return std::get<PacketEvent>(e.action); }
const TcpSegment& tcp(const Event& e) { return std::get<TcpSegment>(packet(e).body); }
const SyscallEvent& call(const Event& e) { return std::get<SyscallEvent>(e.action); }

std::vector<std::string> printed(const Script& s) {
    std::vector<std::string> out;
    for (const Event& e : s.events) out.push_back(to_string(e));
    return out;
}

std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace

// ---------------------------------------------------------------------------
// Comments, options, commands

TEST(PacketdrillParser, CommentsAreBlanks) {
    Script s = parse_ok(
        "// a line comment\n"
        "/* a block\n"
        "   comment */ 0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3 // trailing\n"
        "+0 /* inline */ close(3) = 0\n"
        "// comment at end of file without newline");
    ASSERT_EQ(s.events.size(), 2u);
    EXPECT_EQ(s.events[0].loc, (Location{3, 15}));
    EXPECT_EQ(call(s.events[0]).name, "socket");
    EXPECT_EQ(s.events[1].loc, (Location{4, 1}));
    EXPECT_EQ(call(s.events[1]).name, "close");
}

TEST(PacketdrillParser, LeadingOptionsAreAllKept) {
    Script s = parse_ok(
        "--ip_version=ipv6\n"
        "--tolerance_usecs=10000\n"
        "--local_ip=192.168.0.1 --remote_ip=192.0.2.1\n"
        "--define=CC=\"reno\"\n"
        "--mtu=\"1500\"\n"
        "--verbose\n"
        "0 close(3) = 0\n");
    ASSERT_EQ(s.options.size(), 7u);
    EXPECT_EQ(s.ip_version, IpVersion::V6);
    EXPECT_EQ(s.options[0].name, "ip_version");
    EXPECT_EQ(s.options[0].value, "ipv6");
    EXPECT_EQ(s.options[0].loc, (Location{1, 1}));
    EXPECT_EQ(s.options[1].name, "tolerance_usecs");
    EXPECT_EQ(s.options[1].value, "10000");
    EXPECT_EQ(s.options[2].value, "192.168.0.1");
    EXPECT_EQ(s.options[3].name, "remote_ip");
    EXPECT_EQ(s.options[3].loc, (Location{3, 24}));
    EXPECT_EQ(s.options[4].value, "CC=\"reno\"");  // quotes inside the value stay
    EXPECT_EQ(s.options[5].value, "1500");         // a wholly quoted value loses them
    EXPECT_EQ(s.options[6].name, "verbose");
    EXPECT_FALSE(s.options[6].value.has_value());
}

TEST(PacketdrillParser, IpVersionValues) {
    EXPECT_EQ(parse_ok("0 close(3) = 0").ip_version, IpVersion::V4);
    EXPECT_EQ(parse_ok("--ip_version=ipv4\n0 close(3) = 0").ip_version, IpVersion::V4);
    EXPECT_EQ(parse_ok("--ip_version=ipv4-mapped-ipv6\n0 close(3) = 0").ip_version, IpVersion::V4MappedV6);
    EXPECT_EQ(parse_ok("--ip_version=ipv4 --ip_version=ipv6\n0 close(3) = 0").ip_version, IpVersion::V6);
}

TEST(PacketdrillParser, InitTimedAndCleanupCommands) {
    Script s = parse_ok(
        "`../common/defaults.sh\n"
        "sysctl -q net.ipv4.tcp_ecn=3\n"
        "`\n"
        "0 `sysctl -q net.ipv4.tcp_sack=0`\n"
        "+0 close(3) = 0\n"
        "`echo done`\n");
    ASSERT_TRUE(s.init_command.has_value());
    EXPECT_EQ(s.init_command->command, "../common/defaults.sh\nsysctl -q net.ipv4.tcp_ecn=3\n");
    ASSERT_EQ(s.events.size(), 2u);
    EXPECT_EQ(std::get<CommandEvent>(s.events[0].action).command, "sysctl -q net.ipv4.tcp_sack=0");
    ASSERT_TRUE(s.cleanup_command.has_value());
    EXPECT_EQ(s.cleanup_command->command, "echo done");
}

TEST(PacketdrillParser, CodeSnippet) {
    Event e = one("0 %{ assert tcpi_snd_cwnd == 10 }%");
    EXPECT_EQ(std::get<CodeEvent>(e.action).code, "assert tcpi_snd_cwnd == 10");
}

// ---------------------------------------------------------------------------
// Event times

TEST(PacketdrillParser, EventTimesInMicroseconds) {
    struct Case {
        const char* time;
        TimeKind kind;
        std::int64_t start;
        std::int64_t end;
    };
    const Case cases[] = {
        {"0", TimeKind::Absolute, 0, 0},
        {"0.100", TimeKind::Absolute, 100'000, 0},
        {"1", TimeKind::Absolute, 1'000'000, 0},
        {"2.5", TimeKind::Absolute, 2'500'000, 0},
        {".3", TimeKind::Absolute, 300'000, 0},  // exact, not 299999 from a double
        {"0.000001", TimeKind::Absolute, 1, 0},
        {"0.1234567", TimeKind::Absolute, 123'456, 0},  // sub-microsecond digits dropped
        {"+0", TimeKind::Relative, 0, 0},
        {"+.1", TimeKind::Relative, 100'000, 0},
        {"+0.05", TimeKind::Relative, 50'000, 0},
        {"+1", TimeKind::Relative, 1'000'000, 0},
        {"*", TimeKind::Any, 0, 0},
        {"0.1~0.2", TimeKind::AbsoluteRange, 100'000, 200'000},
        {"+0~+0.2", TimeKind::RelativeRange, 0, 200'000},
        {"+0.1~+0.1", TimeKind::RelativeRange, 100'000, 100'000},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.time);
        Event e = one(std::string(c.time) + " > . 1:1(0) ack 1");
        EXPECT_EQ(e.time.kind, c.kind);
        EXPECT_EQ(e.time.start_us, c.start);
        EXPECT_EQ(e.time.end_us, c.end);
    }
}

TEST(PacketdrillParser, BlockingSystemCallEndTime) {
    Event e = one("+0...0.200 accept(3, ..., ...) = 4");
    EXPECT_EQ(e.time.kind, TimeKind::Relative);
    EXPECT_EQ(call(e).end_us, 200'000);
    EXPECT_EQ(call(e).name, "accept");

    Event spaced = one("+.002 ... 0.052 connect(4, ..., ...) = 0");
    EXPECT_EQ(spaced.time.start_us, 2'000);
    EXPECT_EQ(call(spaced).end_us, 52'000);

    Event absolute = one("1.0...1.5 read(4, ..., 10) = 10");
    EXPECT_EQ(absolute.time.kind, TimeKind::Absolute);
    EXPECT_EQ(call(absolute).end_us, 1'500'000);

    EXPECT_FALSE(call(one("0 close(3) = 0")).end_us.has_value());
}

// ---------------------------------------------------------------------------
// Packets

TEST(PacketdrillParser, TcpFlags) {
    namespace f = tcp_flag;
    struct Case {
        const char* flags;
        std::uint16_t mask;
    };
    const Case cases[] = {
        {"S", f::SYN},
        {"S.", f::SYN | f::ACK},
        {".", f::ACK},
        {"F.", f::FIN | f::ACK},
        {"P.", f::PSH | f::ACK},
        {"R.", f::RST | f::ACK},
        {"R", f::RST},
        {"F", f::FIN},
        {"FP.", f::FIN | f::PSH | f::ACK},
        {"U.", f::URG | f::ACK},
        {"SEW", f::SYN | f::ECE | f::CWR},
        {"SEWA", f::SYN | f::ECE | f::CWR | f::AE},
        {"SE.", f::SYN | f::ECE | f::ACK},
        {"W.", f::CWR | f::ACK},
        {"-", 0},
        {"S .", f::SYN | f::ACK},  // packetdrill allows a blank before the '.'
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.flags);
        Event e = one(std::string("0 > ") + c.flags + " 0:0(0)");
        EXPECT_EQ(tcp(e).flags, c.mask);
    }
}

TEST(PacketdrillParser, SequenceAckWindowUrgent) {
    Event in = one("+.1 < P. 1:1001(1000) ack 1 win 257 urg 3");
    EXPECT_EQ(packet(in).direction, Direction::Inbound);
    const TcpSegment& s = tcp(in);
    EXPECT_EQ(s.seq, 1u);
    EXPECT_EQ(s.seq_end, 1001u);
    EXPECT_EQ(s.payload_len, 1000u);
    EXPECT_EQ(s.ack, 1u);
    EXPECT_EQ(s.window, 257);
    EXPECT_EQ(s.urg_ptr, 3);
    EXPECT_FALSE(s.any_options);
    EXPECT_TRUE(s.options.empty());
    EXPECT_FALSE(s.src_port.has_value());

    Event out = one("0 > S 0:0(0)");
    EXPECT_EQ(packet(out).direction, Direction::Outbound);
    EXPECT_FALSE(tcp(out).ack.has_value());
    EXPECT_FALSE(tcp(out).window.has_value());  // unchecked on outbound packets

    Event top = one("0 < . 4294967295:4294967295(0) ack 4294967295 win 65535");
    EXPECT_EQ(tcp(top).seq, 4294967295u);
    EXPECT_EQ(tcp(top).ack, 4294967295u);
    EXPECT_EQ(tcp(top).window, 65535);
}

TEST(PacketdrillParser, TcpOptionsEachKind) {
    Event e = one(
        "0 < S 0:0(0) win 32792 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7,"
        "sack 1461:2921 4381:5841,eol,eol>");
    const auto& o = tcp(e).options;
    ASSERT_EQ(o.size(), 8u);
    EXPECT_EQ(std::get<tcpopt::Mss>(o[0]).value, 1460);
    EXPECT_TRUE(std::holds_alternative<tcpopt::SackPermitted>(o[1]));
    EXPECT_EQ(std::get<tcpopt::Timestamp>(o[2]).val, 100u);
    EXPECT_EQ(std::get<tcpopt::Timestamp>(o[2]).ecr, 0u);
    EXPECT_TRUE(std::holds_alternative<tcpopt::Nop>(o[3]));
    EXPECT_EQ(std::get<tcpopt::WindowScale>(o[4]).shift, 7);
    const auto& sack = std::get<tcpopt::Sack>(o[5]);
    ASSERT_EQ(sack.blocks.size(), 2u);
    EXPECT_EQ(sack.blocks[0], (tcpopt::SackBlock{1461, 2921}));
    EXPECT_EQ(sack.blocks[1], (tcpopt::SackBlock{4381, 5841}));
    EXPECT_TRUE(std::holds_alternative<tcpopt::Eol>(o[6]));

    EXPECT_EQ(option_kind(o[0]), 2);
    EXPECT_EQ(option_kind(o[1]), 4);
    EXPECT_EQ(option_kind(o[2]), 8);
    EXPECT_EQ(option_kind(o[3]), 1);
    EXPECT_EQ(option_kind(o[4]), 3);
    EXPECT_EQ(option_kind(o[5]), 5);
    EXPECT_EQ(option_kind(o[6]), 0);
    EXPECT_EQ(option_length(o[5]), 18u);
    std::size_t total = 0;
    for (const auto& opt : o) total += option_length(opt);
    EXPECT_EQ(total, 40u);
}

TEST(PacketdrillParser, FastOpenAndMd5Options) {
    const auto& fo = tcp(one("0 > S 0:0(0) <mss 1460,nop,nop,sackOK,nop,nop,FO 0123456789abcdef>")).options;
    const auto& cookie = std::get<tcpopt::FastOpen>(fo[6]);
    EXPECT_FALSE(cookie.experimental);
    EXPECT_EQ(cookie.cookie, (std::vector<std::uint8_t>{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}));
    EXPECT_EQ(option_kind(fo[6]), 34);
    EXPECT_EQ(option_length(fo[6]), 10u);

    const auto& req = tcp(one("0 > S 0:0(0) <mss 1460,FO,nop,nop>")).options;
    EXPECT_TRUE(std::get<tcpopt::FastOpen>(req[1]).cookie.empty());

    const auto& exp = tcp(one("0 > S 0:0(0) <FOEXP 12345678>")).options;
    EXPECT_TRUE(std::get<tcpopt::FastOpen>(exp[0]).experimental);
    EXPECT_EQ(option_kind(exp[0]), 254);
    EXPECT_EQ(option_length(exp[0]), 8u);

    const auto& md5 = tcp(one("0 > S 0:0(0) <md5 000102030405060708090a0b0c0d0e0f,nop,nop>")).options;
    EXPECT_EQ(std::get<tcpopt::Md5>(md5[0]).digest.size(), 16u);
    EXPECT_EQ(option_kind(md5[0]), 19);
}

TEST(PacketdrillParser, AnyOptionsOnOutbound) {
    const TcpSegment& s = tcp(one("0 > F. 101:101(0) ack 101 <...>"));
    EXPECT_TRUE(s.any_options);
    EXPECT_TRUE(s.options.empty());
}

TEST(PacketdrillParser, IpInfoAndEcnMarkers) {
    EXPECT_EQ(packet(one("0 < [ect0] . 1:1(0) ack 1 win 1")).ip.ecn, Ecn::Ect0);
    EXPECT_EQ(packet(one("0 < (ect1) . 1:1(0) ack 1 win 1")).ip.ecn, Ecn::Ect1);
    EXPECT_EQ(packet(one("0 < [ce] . 1:1(0) ack 1 win 1")).ip.ecn, Ecn::Ce);
    EXPECT_EQ(packet(one("0 < [noecn] . 1:1(0) ack 1 win 1")).ip.ecn, Ecn::NotEct);
    EXPECT_EQ(packet(one("0 > [ect01] . 1:1(0) ack 1")).ip.ecn, Ecn::AnyEct);
    EXPECT_EQ(packet(one("0 < (ecn ect0) . 1:1(0) ack 1 win 1")).ip.ecn, Ecn::Ect0);

    IpInfo tos = packet(one("0 > (tos 0x10) S 0:0(0)")).ip;
    EXPECT_EQ(tos.tos, 0x10);
    EXPECT_FALSE(tos.ecn.has_value());

    IpInfo combo = packet(one("0 > [ect0, flowlabel 0x12345, ttl 64] S 0:0(0)")).ip;
    EXPECT_EQ(combo.ecn, Ecn::Ect0);
    EXPECT_EQ(combo.flow_label, 0x12345u);
    EXPECT_EQ(combo.ttl, 64);
    EXPECT_EQ(packet(one("0 > (hlim 1) S 0:0(0)")).ip.ttl, 1);
    EXPECT_EQ(packet(one("0 > S 0:0(0)")).ip, IpInfo{});
}

TEST(PacketdrillParser, ExplicitPorts) {
    const TcpSegment& s = tcp(one("0 < 40000>8080 S 0:0(0) win 100"));
    EXPECT_EQ(s.src_port, 40000);
    EXPECT_EQ(s.dst_port, 8080);
    EXPECT_EQ(s.flags, tcp_flag::SYN);
}

TEST(PacketdrillParser, UdpAndIcmpPackets) {
    const auto& u = std::get<UdpDatagram>(packet(one("0 < udp (100)")).body);
    EXPECT_EQ(u.payload_len, 100u);
    const auto& up = std::get<UdpDatagram>(packet(one("0 > udp 53>1234 (8)")).body);
    EXPECT_EQ(up.src_port, 53);
    EXPECT_EQ(up.dst_port, 1234);

    const auto& m = std::get<IcmpMessage>(packet(one("0 < icmp unreachable frag_needed mtu 1200 [1:1461(1460)]")).body);
    EXPECT_EQ(m.type, "unreachable");
    EXPECT_EQ(m.code, "frag_needed");
    EXPECT_EQ(m.mtu, 1200u);
    const auto& echoed = std::get<IcmpMessage::EchoedTcp>(m.echoed);
    EXPECT_EQ(echoed.seq, 1u);
    EXPECT_EQ(echoed.payload_len, 1460u);

    const auto& bare = std::get<IcmpMessage>(packet(one("0 < icmp echo_reply id 7")).body);
    EXPECT_EQ(bare.type, "echo_reply");
    EXPECT_EQ(bare.code, "");
    EXPECT_EQ(bare.id, 7u);
    EXPECT_TRUE(std::holds_alternative<std::monostate>(bare.echoed));

    const auto& udp_echo = std::get<IcmpMessage>(packet(one("0 < icmp unreachable port_unreachable [udp (10)]")).body);
    EXPECT_EQ(std::get<IcmpMessage::EchoedUdp>(udp_echo.echoed).payload_len, 10u);
}

// ---------------------------------------------------------------------------
// System calls and expressions

TEST(PacketdrillParser, SocketCallShape) {
    Event e = one("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3");
    const SyscallEvent& s = call(e);
    EXPECT_EQ(s.name, "socket");
    ASSERT_EQ(s.args.size(), 3u);
    EXPECT_TRUE(s.args[0].is_ellipsis());
    EXPECT_TRUE(s.args[1].is_word("SOCK_STREAM"));
    EXPECT_TRUE(s.args[2].is_word("IPPROTO_TCP"));
    EXPECT_EQ(s.args[2].loc, (Location{1, 28}));
    EXPECT_EQ(s.result.integer(), 3);
    EXPECT_FALSE(s.errno_name.has_value());
    EXPECT_FALSE(s.note.has_value());
    EXPECT_TRUE(call(one("0 getpid() = 1")).args.empty());
}

TEST(PacketdrillParser, SetsockoptWithArrayValue) {
    const SyscallEvent& s = call(one("+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0"));
    ASSERT_EQ(s.args.size(), 5u);
    EXPECT_EQ(s.args[0].integer(), 3);
    const auto* list = s.args[3].as<expr::List>();
    ASSERT_NE(list, nullptr);
    ASSERT_EQ(list->items.size(), 1u);
    EXPECT_EQ(list->items[0].integer(), 1);
    EXPECT_EQ(to_string(s.args[3]), "[1]");
    EXPECT_EQ(to_string(call(one("0 getsockopt(3, SOL_SOCKET, SO_ERROR, [ECONNRESET], [4]) = 0")).args[3]),
              "[ECONNRESET]");
    EXPECT_EQ(to_string(call(one("0 setsockopt(3, SOL_TCP, TCP_MAXSEG, [1000], 4) = 0")).args[3]), "[1000]");
}

TEST(PacketdrillParser, SockaddrStruct) {
    const SyscallEvent& s = call(one(
        "0 connect(3, {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr(\"192.0.2.1\")}, 16) = 0"));
    const Expr& addr = s.args[1];
    const auto* st = addr.as<expr::Struct>();
    ASSERT_NE(st, nullptr);
    ASSERT_EQ(st->items.size(), 3u);
    EXPECT_TRUE(addr.field("sa_family")->is_word("AF_INET"));
    const auto* port = addr.field("sin_port")->as<expr::Call>();
    ASSERT_NE(port, nullptr);
    EXPECT_EQ(port->name, "htons");
    EXPECT_EQ(port->args.at(0).integer(), 8080);
    const auto* ip = addr.field("sin_addr")->as<expr::Call>();
    ASSERT_NE(ip, nullptr);
    EXPECT_EQ(ip->name, "inet_addr");
    EXPECT_EQ(ip->args.at(0).as<expr::String>()->text, "192.0.2.1");
    EXPECT_EQ(addr.field("sin_zero"), nullptr);
    EXPECT_EQ(to_string(addr), "{sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr(\"192.0.2.1\")}");
}

TEST(PacketdrillParser, PollfdArray) {
    const SyscallEvent& s = call(one("+0 poll([{fd=4, events=POLLIN|POLLOUT, revents=POLLOUT}, {fd=5, events=0}], 2, 0) = 1"));
    const auto* fds = s.args[0].as<expr::List>();
    ASSERT_NE(fds, nullptr);
    ASSERT_EQ(fds->items.size(), 2u);
    EXPECT_EQ(fds->items[0].field("fd")->integer(), 4);
    const auto* events = fds->items[0].field("events")->as<expr::BitOr>();
    ASSERT_NE(events, nullptr);
    EXPECT_TRUE(events->lhs->is_word("POLLIN"));
    EXPECT_TRUE(events->rhs->is_word("POLLOUT"));
    EXPECT_TRUE(fds->items[0].field("revents")->is_word("POLLOUT"));
    EXPECT_EQ(fds->items[1].field("revents"), nullptr);  // the runner applies packetdrill's default of 0
    EXPECT_EQ(to_string(s.args[0]), "[{fd=4, events=POLLIN|POLLOUT, revents=POLLOUT}, {fd=5, events=0}]");
}

TEST(PacketdrillParser, LingerBothSpellings) {
    const Expr& a = call(one("0 setsockopt(4, SOL_SOCKET, SO_LINGER, {l_onoff=1, l_linger=0}, 8) = 0")).args[3];
    EXPECT_EQ(a.field("l_onoff")->integer(), 1);
    EXPECT_EQ(a.field("l_linger")->integer(), 0);
    const Expr& b = call(one("0 setsockopt(4, SOL_SOCKET, SO_LINGER, {onoff=1, linger=30}, 8) = 0")).args[3];
    EXPECT_EQ(b.field("onoff")->integer(), 1);
    EXPECT_EQ(b.field("linger")->integer(), 30);
}

TEST(PacketdrillParser, BitOrIsLeftAssociative) {
    const Expr& e = call(one("0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK|O_APPEND) = 0")).args[2];
    const auto* outer = e.as<expr::BitOr>();
    ASSERT_NE(outer, nullptr);
    EXPECT_TRUE(outer->rhs->is_word("O_APPEND"));
    const auto* inner = outer->lhs->as<expr::BitOr>();
    ASSERT_NE(inner, nullptr);
    EXPECT_TRUE(inner->lhs->is_word("O_RDWR"));
    EXPECT_TRUE(inner->rhs->is_word("O_NONBLOCK"));
    EXPECT_EQ(to_string(e), "O_RDWR|O_NONBLOCK|O_APPEND");
    EXPECT_EQ(to_string(call(one("0 fcntl(3, F_GETFL) = O_RDWR|O_NONBLOCK")).result), "O_RDWR|O_NONBLOCK");
}

TEST(PacketdrillParser, ErrnoAndNote) {
    const SyscallEvent& c = call(one("+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)"));
    EXPECT_EQ(c.result.integer(), -1);
    EXPECT_EQ(c.errno_name, "EINPROGRESS");
    EXPECT_EQ(c.note, "Operation now in progress");

    const SyscallEvent& r = call(one("+0 read(4, ..., 1000) = -1 ECONNRESET (Connection\n   reset by peer)"));
    EXPECT_EQ(r.errno_name, "ECONNRESET");
    EXPECT_EQ(r.note, "Connection reset by peer");

    const SyscallEvent& n = call(one("+0 write(4, ..., 10) = 10 (a note (nested))"));
    EXPECT_FALSE(n.errno_name.has_value());
    EXPECT_EQ(n.note, "a note (nested)");

    EXPECT_TRUE(call(one("0 accept(3, ..., ...) = ...")).result.is_ellipsis());
}

TEST(PacketdrillParser, LiteralsAndNestedStructs) {
    const SyscallEvent& s = call(one(
        "0 sendmsg(4, {msg_name(...)=..., msg_iov(1)=[{..., 10}], msg_flags=0}, 0x40) = 10"));
    const Expr& msg = s.args[1];
    const auto* st = msg.as<expr::Struct>();
    ASSERT_NE(st, nullptr);
    const auto* name = st->items[0].as<expr::Field>();
    ASSERT_NE(name, nullptr);
    EXPECT_EQ(name->name, "msg_name");
    ASSERT_EQ(name->key_args.size(), 1u);
    EXPECT_TRUE(name->key_args[0].is_ellipsis());
    EXPECT_TRUE(name->value->is_ellipsis());
    const auto* iov = msg.field("msg_iov")->as<expr::List>();
    ASSERT_NE(iov, nullptr);
    const auto* vec = iov->items.at(0).as<expr::Struct>();
    ASSERT_NE(vec, nullptr);
    EXPECT_TRUE(vec->items.at(0).is_ellipsis());
    EXPECT_EQ(vec->items.at(1).integer(), 10);
    EXPECT_EQ(s.args[2].integer(), 0x40);
    EXPECT_TRUE(s.args[2].as<expr::Integer>()->hex);
    EXPECT_EQ(to_string(msg), "{msg_name(...)=..., msg_iov(1)=[{..., 10}], msg_flags=0}");
    EXPECT_EQ(to_string(s.args[2]), "0x40");

    const auto& strs = call(one("0 write(4, \"abc\" \"def\", 6) = 6")).args[1];
    EXPECT_EQ(strs.as<expr::String>()->text, "abcdef");
    EXPECT_FALSE(strs.as<expr::String>()->trailing_ellipsis);
    const auto& pre = call(one("0 read(4, \"GET \"..., 100) = 100")).args[1];
    EXPECT_EQ(pre.as<expr::String>()->text, "GET ");
    EXPECT_TRUE(pre.as<expr::String>()->trailing_ellipsis);
    EXPECT_EQ(to_string(pre), "\"GET \"...");

    EXPECT_EQ(to_string(call(one("0 f([], {}, -5, inet6_addr(\"::1\")) = 0")).args[3]), "inet6_addr(\"::1\")");
    EXPECT_EQ(call(one("0 f(-9223372036854775808) = 0")).args[0].integer(), INT64_MIN);
    const auto& empty = call(one("0 f([], {}) = 0"));
    EXPECT_TRUE(empty.args[0].as<expr::List>()->items.empty());
    EXPECT_TRUE(empty.args[1].as<expr::Struct>()->items.empty());
}

// ---------------------------------------------------------------------------
// Whole scripts

// Passive open with timestamps and SACK, data both ways, close.
constexpr const char* kServerScript = R"(// Server side: handshake, data, close.
`../common/defaults.sh`

    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0

   +0 < S 0:0(0) win 32792 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>
   +0 > S. 0:0(0) ack 1 <mss 1460,sackOK,TS val 200 ecr 100,nop,wscale 8>
 +.01 < . 1:1(0) ack 1 win 257 <nop,nop,TS val 110 ecr 200>
   +0 accept(3, ..., ...) = 4

   +0 write(4, ..., 2000) = 2000
   +0 > . 1:1449(1448) ack 1 <nop,nop,TS val 210 ecr 110>
   +0 > P. 1449:2001(552) ack 1 <nop,nop,TS val 210 ecr 110>
 +.01 < . 1:1(0) ack 2001 win 257 <nop,nop,TS val 120 ecr 210>

 +.01 < P. 1:101(100) ack 2001 win 257 <nop,nop,TS val 130 ecr 210>
   +0 > . 2001:2001(0) ack 101 <nop,nop,TS val 220 ecr 130>
   +0 read(4, ..., 100) = 100

   +0 close(4) = 0
   +0 > F. 2001:2001(0) ack 101 <nop,nop,TS val 220 ecr 130>
 +.01 < F. 101:101(0) ack 2002 win 257 <nop,nop,TS val 140 ecr 220>
   +0 > . 2002:2002(0) ack 102 <nop,nop,TS val 230 ecr 140>
)";

TEST(PacketdrillParser, ServerScript) {
    Script s = parse_ok(kServerScript);
    ASSERT_EQ(s.events.size(), 19u);
    EXPECT_EQ(s.init_command->command, "../common/defaults.sh");
    EXPECT_EQ(s.events[0].loc, (Location{4, 5}));
    EXPECT_EQ(call(s.events[0]).name, "socket");
    const TcpSegment& syn = tcp(s.events[4]);
    EXPECT_EQ(syn.flags, tcp_flag::SYN);
    EXPECT_EQ(syn.window, 32792);
    EXPECT_EQ(std::get<tcpopt::Timestamp>(syn.options[2]).val, 100u);
    const TcpSegment& synack = tcp(s.events[5]);
    EXPECT_EQ(synack.flags, tcp_flag::SYN | tcp_flag::ACK);
    EXPECT_EQ(synack.ack, 1u);
    EXPECT_EQ(std::get<tcpopt::WindowScale>(synack.options[4]).shift, 8);
    const TcpSegment& second = tcp(s.events[10]);
    EXPECT_EQ(second.seq, 1449u);
    EXPECT_EQ(second.payload_len, 552u);
    EXPECT_EQ(s.events[10].time, (EventTime{TimeKind::Relative, 0, 0}));
    EXPECT_EQ(s.events[11].time, (EventTime{TimeKind::Relative, 10'000, 0}));
    EXPECT_EQ(tcp(s.events.back()).ack, 102u);
}

// Active open with a blocking connect, as in packetdrill's blocking tests.
constexpr const char* kClientScript = R"(
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0...0.1 connect(3, ..., ...) = 0
   +0 > S 0:0(0) <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 8>
 +.1 < S. 0:0(0) ack 1 win 5792 <mss 1460,sackOK,TS val 700 ecr 100,nop,wscale 7>
   +0 > . 1:1(0) ack 1 <nop,nop,TS val 200 ecr 700>
   +0 write(3, ..., 1000) = 1000
   +0 > P. 1:1001(1000) ack 1 <nop,nop,TS val 200 ecr 700>
+.1~+.3 < . 1:1(0) ack 1001 win 257 <nop,nop,TS val 800 ecr 200>
)";

TEST(PacketdrillParser, ClientScriptRejectsInboundRange) {
    // The last line puts a time range on an inbound packet, which packetdrill refuses.
    EXPECT_EQ(parse_err(kClientScript), "9:1: expected an outbound packet after a time range");
    std::string fixed(kClientScript);
    fixed.replace(fixed.find("+.1~+.3"), 7, "+.1");
    Script s = parse_ok(fixed);
    ASSERT_EQ(s.events.size(), 8u);
    EXPECT_EQ(call(s.events[1]).end_us, 100'000);
    EXPECT_EQ(tcp(s.events[3]).window, 5792);
}

// SACK-based fast retransmit, after packetdrill's fr-4pkt-sack.
constexpr const char* kSackScript = R"(
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
  +.1 < S 0:0(0) win 32792 <mss 1460,sackOK,nop,nop,nop,wscale 7>
   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 8>
  +.1 < . 1:1(0) ack 1 win 257
   +0 accept(3, ..., ...) = 4
   +0 write(4, ..., 5840) = 5840
   +0 > P. 1:5841(5840) ack 1
  +.1 < . 1:1(0) ack 1 win 257 <sack 1461:2921,nop,nop>
   +0 < . 1:1(0) ack 1 win 257 <sack 1461:4381,nop,nop>
   +0 < . 1:1(0) ack 1 win 257 <sack 1461:5841,nop,nop>
   +0 > . 1:1461(1460) ack 1
  +.1 < . 1:1(0) ack 5841 win 257
    * > . 5841:5841(0) ack 1 <...>
)";

TEST(PacketdrillParser, SackScript) {
    // The last line (a wildcard-time outbound packet) is legal but unusual.
    Script s = parse_ok(kSackScript);
    ASSERT_EQ(s.events.size(), 16u);
    const auto& third = std::get<tcpopt::Sack>(tcp(s.events[12]).options.at(0));
    EXPECT_EQ(third.blocks.at(0), (tcpopt::SackBlock{1461, 5841}));
    EXPECT_EQ(tcp(s.events[13]).payload_len, 1460u);
    EXPECT_EQ(s.events[15].time.kind, TimeKind::Any);
    EXPECT_TRUE(tcp(s.events[15]).any_options);
}

TEST(PacketdrillParser, PrintedEventsParseToThemselves) {
    std::string extra =
        "0 < [ect0, ttl 9] 1>2 SEWA 0:0(0) win 1 urg 5 <md5 00ff,FO abcd,nop,nop,nop,nop,eol,eol,eol,eol>\n"
        "+0 > (tos 0x04) udp (3)\n"
        "+0 < icmp unreachable frag_needed mtu 1200 id 3 [1:1461(1460)]\n"
        "0.5~1.25 > - 7:7(0) <FOEXP>\n"
        "+0 write(4, \"x\" \"y\"..., 2) = -1 EAGAIN (Resource temporarily unavailable)\n"
        "+0 `echo hi`\n"
        "+0 %{ x = 1 }%\n";
    for (const char* text : {kServerScript, kSackScript, extra.c_str()}) {
        Script first = parse_ok(text);
        std::string again;
        for (const std::string& line : printed(first)) again += line + "\n";
        Script second = parse_ok(again);
        EXPECT_EQ(printed(second), printed(first)) << again;
    }
    Script s = parse_ok(extra);
    EXPECT_EQ(to_string(s.events[0]),
              "0 < [ect0, ttl 9] 1>2 SEWA 0:0(0) win 1 urg 5 <md5 00ff,FO abcd,nop,nop,nop,nop,eol,eol,eol,eol>");
    EXPECT_EQ(to_string(s.events[3]), "0.5~1.25 > - 7:7(0) <FOEXP>");
    EXPECT_EQ(to_string(s.events[4]),
              "+0 write(4, \"xy\"..., 2) = -1 EAGAIN (Resource temporarily unavailable)");
    EXPECT_EQ(to_string(parse_ok("+0...0.2 accept(3, ..., ...) = 4").events[0]), "+0...0.2 accept(3, ..., ...) = 4");
}

TEST(PacketdrillParser, SampleScriptsParse) {
    const char* dir = std::getenv("USTCP_PACKETDRILL_DIR");
    if (dir == nullptr) GTEST_SKIP() << "USTCP_PACKETDRILL_DIR not set";
    std::vector<std::filesystem::path> files;
    // The suite's scripts at every depth (topic directories), but not the self-tests, which
    // are deliberately wrong.
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
        if (entry.path().extension() != ".pkt") continue;
        if (entry.path().parent_path().filename() == "selftest") continue;
        files.push_back(entry.path());
    }
    ASSERT_GE(files.size(), 3u);
    for (const auto& p : files) {
        SCOPED_TRACE(p.string());
        const std::string text = read_file(p);
        EXPECT_EQ(text.rfind("// RFC 9293 §", 0), 0u) << "should open by naming its RFC 9293 section";
        auto r = parse_script(text);
        ASSERT_TRUE(r) << p.filename().string() << ":" << r.error().to_string();
        EXPECT_EQ(call(r->events.at(0)).name, "socket");
        EXPECT_EQ(r->events.at(0).time, (EventTime{TimeKind::Absolute, 0, 0}));
    }
}

TEST(PacketdrillParser, EveryPrefixAndCorruptionFailsCleanly) {
    // Cut the scripts at every byte and overwrite single bytes with characters
    // that matter to the lexer: each result is a script or an "expected" error
    // located inside the text.
    const std::string texts[] = {kServerScript, kSackScript};
    const char noise[] = {'<', '>', '(', ')', '[', ']', '{', '}', '"', '`', '.', '-', '+', '*', '~', ':', ',', '=',
                          '|', '/', '%', 'x', '0', ' ', '\n', '\0'};
    auto check = [](const std::string& text) {
        auto r = parse_script(text);
        if (r) return;
        const ParseError e = r.error();
        EXPECT_EQ(e.message.rfind("expected ", 0), 0u) << e.to_string();
        const int lines = 1 + static_cast<int>(std::count(text.begin(), text.end(), '\n'));
        EXPECT_GE(e.loc.line, 1);
        EXPECT_LE(e.loc.line, lines);
        EXPECT_GE(e.loc.column, 1);
    };
    for (const std::string& t : texts) {
        for (std::size_t n = 0; n <= t.size(); ++n) check(t.substr(0, n));
        for (std::size_t i = 0; i < t.size(); i += 3) {
            for (char c : noise) {
                std::string m = t;
                m[i] = c;
                check(m);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Errors: the first one, with its position.

struct ErrorCase {
    const char* script;
    const char* error;
};

void PrintTo(const ErrorCase& c, std::ostream* os) { *os << '"' << c.script << '"'; }

class PacketdrillParserErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(PacketdrillParserErrors, ReportsLineColumnExpected) {
    EXPECT_EQ(parse_err(GetParam().script), GetParam().error) << GetParam().script;
}

INSTANTIATE_TEST_SUITE_P(
    All, PacketdrillParserErrors,
    ::testing::Values(
        // Lexical.
        ErrorCase{"0 close(3) = 0\n/* open", "2:1: expected '*/' to close the comment"},
        ErrorCase{"0 write(3, \"abc, 3) = 3", "1:12: expected '\"' to close the string"},
        ErrorCase{"0 `sysctl -q x", "1:3: expected '`' to close the command"},
        ErrorCase{"0 %{ x = 1", "1:3: expected '}%' to close the code block"},
        ErrorCase{"--mss= 1000\n0 close(3) = 0", "1:7: expected option value after '='"},
        ErrorCase{"--define=X=\"a b\n0 close(3) = 0", "1:12: expected '\"' to close the string"},
        // Script structure.
        ErrorCase{"", "1:1: expected event time"},
        ErrorCase{"// only a comment\n", "2:1: expected event time"},
        ErrorCase{"`init`\n", "2:1: expected event time"},
        ErrorCase{"close(3) = 0", "1:1: expected event time"},
        ErrorCase{"0 close(3) = 0\n--mss=1000", "2:1: expected event time (options go before the first event)"},
        ErrorCase{"0 close(3) = 0\n`cleanup`\n+0 close(4) = 0", "3:1: expected end of script after the cleanup command"},
        ErrorCase{"--ip_version=ipv5\n0 close(3) = 0", "1:1: expected --ip_version=ipv4, ipv4-mapped-ipv6 or ipv6"},
        ErrorCase{"--ip_version\n0 close(3) = 0", "1:1: expected --ip_version=ipv4, ipv4-mapped-ipv6 or ipv6"},
        // Times.
        ErrorCase{"-1 close(3) = 0", "1:1: expected non-negative time"},
        ErrorCase{"+ close(3) = 0", "1:3: expected time in seconds"},
        ErrorCase{"1234567890123 close(3) = 0", "1:1: expected a time below 10^12 seconds"},
        ErrorCase{"+0.1~0.2 > . 1:1(0)", "1:6: expected '+' (both ends of a relative range are relative)"},
        ErrorCase{"0.1~+0.2 > . 1:1(0)", "1:5: expected absolute time (both ends of an absolute range are absolute)"},
        ErrorCase{"0.2~0.1 > . 1:1(0)", "1:5: expected range end >= range start"},
        ErrorCase{"0.1~ > . 1:1(0)", "1:6: expected end time in seconds"},
        ErrorCase{"0 = 3", "1:3: expected packet ('<' or '>'), system call, `command` or %{ code }%"},
        ErrorCase{"0 close(3) = 0\n* < S 0:0(0) win 1", "2:1: expected an outbound packet after a '*' time"},
        ErrorCase{"* close(3) = 0", "1:1: expected an outbound packet after a '*' time"},
        ErrorCase{"0.1~0.2 < S 0:0(0) win 1", "1:1: expected an outbound packet after a time range"},
        ErrorCase{"+0~+1 read(3, ..., 1) = 1", "1:1: expected an outbound packet after a time range"},
        // IP info.
        ErrorCase{"0 < [ect0, ce] S 0:0(0) win 1", "1:12: expected one ECN codepoint or tos, not several"},
        ErrorCase{"0 < [ect0, tos 0x1] S 0:0(0) win 1", "1:12: expected one ECN codepoint or tos, not several"},
        ErrorCase{"0 < [ect01] S 0:0(0) win 1", "1:6: expected noecn, ect0, ect1 or ce (ect01 only matches outbound packets)"},
        ErrorCase{"0 > (ecn 3) S 0:0(0)", "1:10: expected ECN codepoint (noecn, ect0, ect1, ce, ect01)"},
        ErrorCase{"0 > (tos 0x100) S 0:0(0)", "1:10: expected tos in 0..255"},
        ErrorCase{"0 > (flowlabel 0x100000) S 0:0(0)", "1:16: expected flow label in 0..1048575"},
        ErrorCase{"0 > (dscp 0x10) S 0:0(0)", "1:6: expected ECN codepoint (noecn, ect0, ect1, ce, ect01), tos, flowlabel, ttl or hlim"},
        ErrorCase{"0 > [ect0) S 0:0(0)", "1:10: expected ',' or ']'"},
        ErrorCase{"0 > (ect0] S 0:0(0)", "1:10: expected ',' or ')'"},
        // Flags, ports, sequence numbers.
        ErrorCase{"0 > SX 0:0(0)", "1:5: expected TCP flags (letters from FSRPEWAU, '.' for ACK, or '-')"},
        ErrorCase{"0 > 0:0(0)", "1:5: expected TCP flags (letters from FSRPEWAU, '.' for ACK, or '-')"},
        ErrorCase{"0 > P.5 1:101(100)", "1:6: expected TCP flags without AccECN ACE digits (not supported)"},
        ErrorCase{"0 > .5 1:1(0)", "1:5: expected TCP flags without AccECN ACE digits (not supported)"},
        ErrorCase{"0 > ipv4 192.0.2.1 > 192.168.0.1 : S 0:0(0)",
                  "1:5: expected TCP flags, 'udp' or 'icmp' (encapsulation headers are not supported)"},
        ErrorCase{"0 < 1>70000 S 0:0(0) win 1", "1:7: expected destination port in 0..65535"},
        ErrorCase{"0 > S ack 1", "1:7: expected sequence numbers start:end(length)"},
        ErrorCase{"0 > S 0 ack 1", "1:9: expected ':' (sequence numbers are start:end(length))"},
        ErrorCase{"0 > S 0:4294967296(0)", "1:9: expected end sequence number in 0..4294967295"},
        ErrorCase{"0 > S 4294967296:0(0)", "1:7: expected start sequence number in 0..4294967295"},
        ErrorCase{"0 > S 0:0 ack 1", "1:11: expected '(' and payload length"},
        ErrorCase{"0 > S 0:0(70000)", "1:11: expected payload length in 0..65535"},
        ErrorCase{"0 > S 0:0(0 ack 1", "1:13: expected ')'"},
        ErrorCase{"0 < P. 1:1000(1000) ack 1 win 1", "1:10: expected end sequence number 1001 (start + length)"},
        ErrorCase{"0 > . 1:1(0) ack -1", "1:18: expected ack number in 0..4294967295"},
        ErrorCase{"0 > . 1:1(0) ack 1 win 65536", "1:24: expected window in 0..65535"},
        ErrorCase{"0 < . 1:1(0) ack 1", "1:19: expected 'win' (inbound packets need a window)"},
        ErrorCase{"0 < . 1:1(0) ack 1 <nop,nop,nop,nop>", "1:20: expected 'win' (inbound packets need a window)"},
        ErrorCase{"0 > . 1:1(0) urg x", "1:18: expected urgent pointer in 0..65535"},
        ErrorCase{"0 > . 1:1(0) win 1 ack 1", "1:20: expected ack, win, urg and <options> in that order"},
        // TCP options.
        ErrorCase{"0 < S 0:0(0) win 1 <...>", "1:20: expected TCP options ('<...>' only matches outbound packets)"},
        ErrorCase{"0 > S 0:0(0) <...x", "1:18: expected '>'"},
        ErrorCase{"0 > S 0:0(0) <mss 1460,wscale 7>", "1:14: expected TCP options padded to a multiple of 4 bytes (these take 7; add nop)"},
        ErrorCase{"0 > S 0:0(0) <sack 1:2 3:4 5:6 7:8 9:10,nop,nop>",
                  "1:14: expected at most 40 bytes of TCP options (these take 44)"},
        ErrorCase{"0 > S 0:0(0) <mss 1460 nop>", "1:24: expected ',' or '>'"},
        ErrorCase{"0 > S 0:0(0) <>", "1:15: expected TCP option (nop, eol, mss, wscale, sackOK, sack, TS, FO, FOEXP, md5)"},
        ErrorCase{"0 > S. 0:0(0) ack 1 <ECN e0b 1 ceb 0 e1b 1,nop>",
                  "1:22: expected TCP option (nop, eol, mss, wscale, sackOK, sack, TS, FO, FOEXP, md5)"},
        ErrorCase{"0 > S 0:0(0) <254 1,nop>", "1:15: expected TCP option (nop, eol, mss, wscale, sackOK, sack, TS, FO, FOEXP, md5)"},
        ErrorCase{"0 > S 0:0(0) <mss 65536>", "1:19: expected MSS in 0..65535"},
        ErrorCase{"0 > S 0:0(0) <wscale 256>", "1:22: expected window scale shift in 0..255"},
        ErrorCase{"0 > . 1:1(0) <sack nop>", "1:20: expected SACK block left:right"},
        ErrorCase{"0 > . 1:1(0) <sack 1-2>", "1:21: expected ':' (SACK blocks are left:right)"},
        ErrorCase{"0 > . 1:1(0) <TS 1 ecr 2>", "1:18: expected 'val'"},
        ErrorCase{"0 > . 1:1(0) <TS val 1 2>", "1:24: expected 'ecr'"},
        ErrorCase{"0 > . 1:1(0) <TS val 1 ecr x>", "1:28: expected TS echo reply in 0..4294967295"},
        ErrorCase{"0 > S 0:0(0) <FO abc,nop>", "1:18: expected Fast Open cookie as an even number of hex digits"},
        ErrorCase{"0 > S 0:0(0) <md5>", "1:18: expected MD5 digest as an even number of hex digits"},
        // UDP and ICMP.
        ErrorCase{"0 < udp 100", "1:9: expected '(' and payload length"},
        ErrorCase{"0 < icmp [1:1(0)]", "1:10: expected ICMP type (e.g. unreachable)"},
        ErrorCase{"0 < icmp unreachable [1:1(0)", "1:29: expected ']'"},
        // System calls and expressions.
        ErrorCase{"0...x close(3) = 0", "1:5: expected end time after '...'"},
        ErrorCase{"1...0.5 close(3) = 0", "1:5: expected end time >= start time"},
        ErrorCase{"0 ... < S 0:0(0) win 1", "1:7: expected end time after '...'"},
        ErrorCase{"0...1 < S 0:0(0) win 1", "1:7: expected system call name"},
        ErrorCase{"0 close 3 = 0", "1:9: expected '(' after the system call name"},
        ErrorCase{"0 close(3 = 0", "1:11: expected ',' or ')'"},
        ErrorCase{"0 close(3)", "1:11: expected '=' and the expected result"},
        ErrorCase{"0 close(3) 0", "1:12: expected '=' and the expected result"},
        ErrorCase{"0 close(3) =", "1:13: expected expression"},
        ErrorCase{"0 close(3) = 0.5", "1:14: expected expression"},
        ErrorCase{"0 read(3, ..., 1) = -1 EAGAIN", "1:30: expected '(' and a description after EAGAIN"},
        ErrorCase{"0 read(3, ..., 1) = -1 EAGAIN (Resource\n", "2:1: expected ')'"},
        ErrorCase{"0 f(99999999999999999999) = 0", "1:5: expected an integer that fits in 64 bits"},
        ErrorCase{"0 f([1, 2) = 0", "1:10: expected ',' or ']'"},
        ErrorCase{"0 f({a=1 b=2}) = 0", "1:10: expected ',' or '}'"},
        ErrorCase{"0 f({a=}) = 0", "1:8: expected expression"},
        ErrorCase{"0 f(a|) = 0", "1:7: expected expression"},
        ErrorCase{"0 f(htons (80)) = 0", "1:11: expected ',' or ')'"},
        ErrorCase{"0 f(192.0.2.1) = 0", "1:5: expected expression"},
        // A lexical error is reported where it starts, after the tokens before it parsed.
        ErrorCase{"0 close(3) = 0\n+0 write(4, \"x, 1) = 1", "2:13: expected '\"' to close the string"}));
