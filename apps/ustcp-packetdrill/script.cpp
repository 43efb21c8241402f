// Printers and small helpers for the packetdrill AST. The printed forms are
// packetdrill syntax that parse_script accepts again.
#include "script.hpp"

#include <cstdio>
#include <type_traits>

#include "ustcp/wire/tcp.hpp"

namespace ustcp::packetdrill {

namespace {

template <typename... Ts>
struct Overloaded : Ts... {
    using Ts::operator()...;
};
template <typename... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

std::string hex_bytes(const std::vector<std::uint8_t>& bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string s;
    for (std::uint8_t b : bytes) {
        s += kDigits[b >> 4];
        s += kDigits[b & 0xf];
    }
    return s;
}

void append_list(std::string& out, const std::vector<Expr>& items) {
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i != 0) out += ", ";
        out += to_string(items[i]);
    }
}

/// Seconds with up to six decimals and no trailing zeros: 0, 0.1, 1.000001.
std::string seconds(std::int64_t us) {
    std::string s = std::to_string(us / 1'000'000);
    std::int64_t frac = us % 1'000'000;
    if (frac == 0) return s;
    char buf[8];
    std::snprintf(buf, sizeof buf, "%06lld", static_cast<long long>(frac));
    std::string f(buf);
    while (f.back() == '0') f.pop_back();
    return s + "." + f;
}

std::string flags_text(std::uint16_t flags) {
    static constexpr std::pair<std::uint16_t, char> kLetters[] = {
        {tcp_flag::FIN, 'F'}, {tcp_flag::SYN, 'S'}, {tcp_flag::RST, 'R'}, {tcp_flag::PSH, 'P'},
        {tcp_flag::URG, 'U'}, {tcp_flag::ECE, 'E'}, {tcp_flag::CWR, 'W'}, {tcp_flag::AE, 'A'},
    };
    std::string s;
    for (auto [bit, letter] : kLetters) {
        if ((flags & bit) != 0) s += letter;
    }
    if ((flags & tcp_flag::ACK) != 0) s += '.';
    return s.empty() ? "-" : s;
}

std::string ip_info_text(const IpInfo& ip) {
    std::vector<std::string> items;
    if (ip.ecn) {
        static constexpr const char* kNames[] = {"noecn", "ect1", "ect0", "ce", "ect01"};
        items.emplace_back(kNames[static_cast<int>(*ip.ecn)]);
    }
    char buf[32];
    if (ip.tos) {
        std::snprintf(buf, sizeof buf, "tos 0x%02x", static_cast<unsigned>(*ip.tos));
        items.emplace_back(buf);
    }
    if (ip.flow_label) {
        std::snprintf(buf, sizeof buf, "flowlabel 0x%x", static_cast<unsigned>(*ip.flow_label));
        items.emplace_back(buf);
    }
    if (ip.ttl) items.push_back("ttl " + std::to_string(*ip.ttl));
    if (items.empty()) return {};
    std::string s = "[";
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i != 0) s += ", ";
        s += items[i];
    }
    return s + "]";
}

std::string seq_text(std::uint32_t seq, std::uint32_t end, std::uint16_t len) {
    return std::to_string(seq) + ":" + std::to_string(end) + "(" + std::to_string(len) + ")";
}

std::string ports_text(const std::optional<std::uint16_t>& src, const std::optional<std::uint16_t>& dst) {
    if (!src || !dst) return {};
    return std::to_string(*src) + ">" + std::to_string(*dst) + " ";
}

std::string packet_text(const PacketEvent& p) {
    std::string s = p.direction == Direction::Inbound ? "<" : ">";
    if (std::string ip = ip_info_text(p.ip); !ip.empty()) s += " " + ip;
    s += " ";
    s += std::visit(
        Overloaded{
            [](const TcpSegment& t) {
                std::string b = ports_text(t.src_port, t.dst_port) + flags_text(t.flags) + " " +
                                seq_text(t.seq, t.seq_end, t.payload_len);
                if (t.ack) b += " ack " + std::to_string(*t.ack);
                if (t.window) b += " win " + std::to_string(*t.window);
                if (t.urg_ptr) b += " urg " + std::to_string(*t.urg_ptr);
                if (t.any_options) {
                    b += " <...>";
                } else if (!t.options.empty()) {
                    b += " <";
                    for (std::size_t i = 0; i < t.options.size(); ++i) {
                        if (i != 0) b += ",";
                        b += to_string(t.options[i]);
                    }
                    b += ">";
                }
                return b;
            },
            [](const UdpDatagram& u) {
                return "udp " + ports_text(u.src_port, u.dst_port) + "(" + std::to_string(u.payload_len) + ")";
            },
            [](const IcmpMessage& m) {
                std::string b = "icmp " + m.type;
                if (!m.code.empty()) b += " " + m.code;
                if (m.mtu) b += " mtu " + std::to_string(*m.mtu);
                if (m.id) b += " id " + std::to_string(*m.id);
                if (const auto* t = std::get_if<IcmpMessage::EchoedTcp>(&m.echoed)) {
                    b += " [" + seq_text(t->seq, t->seq_end, t->payload_len) + "]";
                } else if (const auto* u = std::get_if<IcmpMessage::EchoedUdp>(&m.echoed)) {
                    b += " [udp (" + std::to_string(u->payload_len) + ")]";
                }
                return b;
            },
        },
        p.body);
    return s;
}

std::string syscall_text(const SyscallEvent& s) {
    std::string out = s.name + "(";
    append_list(out, s.args);
    out += ") = " + to_string(s.result);
    if (s.errno_name) out += " " + *s.errno_name;
    if (s.note) out += " (" + *s.note + ")";
    return out;
}

}  // namespace

const Expr* Expr::field(std::string_view name) const noexcept {
    const auto* s = as<expr::Struct>();
    if (s == nullptr) return nullptr;
    for (const Expr& item : s->items) {
        if (const auto* f = item.as<expr::Field>(); f != nullptr && f->name == name) return &*f->value;
    }
    return nullptr;
}

std::string to_string(const Expr& e) {
    return std::visit(
        Overloaded{
            [](const expr::Integer& i) {
                if (!i.hex) return std::to_string(i.value);
                char buf[24];
                std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(i.value));
                return std::string(buf);
            },
            [](const expr::String& s) { return "\"" + s.text + "\"" + (s.trailing_ellipsis ? "..." : ""); },
            [](const expr::Ellipsis&) { return std::string("..."); },
            [](const expr::Word& w) { return w.name; },
            [](const expr::Call& c) {
                std::string s = c.name + "(";
                append_list(s, c.args);
                return s + ")";
            },
            [](const expr::List& l) {
                std::string s = "[";
                append_list(s, l.items);
                return s + "]";
            },
            [](const expr::Struct& st) {
                std::string s = "{";
                append_list(s, st.items);
                return s + "}";
            },
            [](const expr::Field& f) {
                std::string s = f.name;
                if (!f.key_args.empty()) {
                    s += "(";
                    append_list(s, f.key_args);
                    s += ")";
                }
                return s + "=" + to_string(*f.value);
            },
            [](const expr::BitOr& b) { return to_string(*b.lhs) + "|" + to_string(*b.rhs); },
        },
        e.node);
}

std::string to_string(const EventTime& t) {
    switch (t.kind) {
    case TimeKind::Absolute: return seconds(t.start_us);
    case TimeKind::Relative: return "+" + seconds(t.start_us);
    case TimeKind::Any: return "*";
    case TimeKind::AbsoluteRange: return seconds(t.start_us) + "~" + seconds(t.end_us);
    case TimeKind::RelativeRange: return "+" + seconds(t.start_us) + "~+" + seconds(t.end_us);
    }
    return {};
}

std::uint8_t option_kind(const TcpOption& o) noexcept {
    using K = std::uint8_t;
    return std::visit(Overloaded{
                          [](const tcpopt::Eol&) -> K { return wire::tcp_opt::EOL; },
                          [](const tcpopt::Nop&) -> K { return wire::tcp_opt::NOP; },
                          [](const tcpopt::Mss&) -> K { return wire::tcp_opt::MSS; },
                          [](const tcpopt::WindowScale&) -> K { return wire::tcp_opt::WSCALE; },
                          [](const tcpopt::SackPermitted&) -> K { return wire::tcp_opt::SACK_PERMITTED; },
                          [](const tcpopt::Sack&) -> K { return wire::tcp_opt::SACK; },
                          [](const tcpopt::Timestamp&) -> K { return wire::tcp_opt::TIMESTAMP; },
                          [](const tcpopt::FastOpen& f) -> K { return f.experimental ? 254 : 34; },
                          [](const tcpopt::Md5&) -> K { return 19; },
                      },
                      o);
}

std::size_t option_length(const TcpOption& o) noexcept {
    using N = std::size_t;
    return std::visit(Overloaded{
                          [](const tcpopt::Eol&) -> N { return 1; },
                          [](const tcpopt::Nop&) -> N { return 1; },
                          [](const tcpopt::Mss&) -> N { return 4; },
                          [](const tcpopt::WindowScale&) -> N { return 3; },
                          [](const tcpopt::SackPermitted&) -> N { return 2; },
                          [](const tcpopt::Sack& s) -> N { return 2 + 8 * s.blocks.size(); },
                          [](const tcpopt::Timestamp&) -> N { return 10; },
                          // FOEXP carries the 2-byte magic 0xF989 before the cookie.
                          [](const tcpopt::FastOpen& f) -> N { return (f.experimental ? 4 : 2) + f.cookie.size(); },
                          [](const tcpopt::Md5& m) -> N { return 2 + m.digest.size(); },
                      },
                      o);
}

std::string to_string(const TcpOption& o) {
    return std::visit(Overloaded{
                          [](const tcpopt::Eol&) { return std::string("eol"); },
                          [](const tcpopt::Nop&) { return std::string("nop"); },
                          [](const tcpopt::Mss& m) { return "mss " + std::to_string(m.value); },
                          [](const tcpopt::WindowScale& w) { return "wscale " + std::to_string(w.shift); },
                          [](const tcpopt::SackPermitted&) { return std::string("sackOK"); },
                          [](const tcpopt::Sack& s) {
                              std::string out = "sack";
                              for (const auto& b : s.blocks) {
                                  out += " " + std::to_string(b.left) + ":" + std::to_string(b.right);
                              }
                              return out;
                          },
                          [](const tcpopt::Timestamp& t) {
                              return "TS val " + std::to_string(t.val) + " ecr " + std::to_string(t.ecr);
                          },
                          [](const tcpopt::FastOpen& f) {
                              std::string out = f.experimental ? "FOEXP" : "FO";
                              if (!f.cookie.empty()) out += " " + hex_bytes(f.cookie);
                              return out;
                          },
                          [](const tcpopt::Md5& m) { return "md5 " + hex_bytes(m.digest); },
                      },
                      o);
}

std::string to_string(const Event& e) {
    std::string s = to_string(e.time);
    // A blocking call's end time follows the start time directly: `+0...0.2 accept(...)`.
    const auto* sys = std::get_if<SyscallEvent>(&e.action);
    if (sys != nullptr && sys->end_us) s += "..." + seconds(*sys->end_us);
    s += " ";
    s += std::visit(Overloaded{
                        [](const PacketEvent& p) { return packet_text(p); },
                        [](const SyscallEvent& c) { return syscall_text(c); },
                        [](const CommandEvent& c) { return "`" + c.command + "`"; },
                        [](const CodeEvent& c) { return "%{ " + c.code + " }%"; },
                    },
                    e.action);
    return s;
}

}  // namespace ustcp::packetdrill
