// tcpdump-format printing (see tcpdump.hpp).
//
// The structure follows how tcpdump 4.99 prints a packet, because the exact text on
// malformed input depends on it:
//  - each layer checks the bytes it needs against the *snapshot end* (the captured
//    bytes, clipped to the end of the IP datagram once IP has read its total length);
//  - reading a field that was not captured abandons the whole packet, and the line ends
//    with " [|proto]" naming the layer that was printing (tcpdump longjmps out of its
//    printers there). Here every printer returns Status::Truncated instead, and
//    format() adds the marker;
//  - lengths printed come from the wire length and the header fields, never from the
//    number of bytes captured.
// Text that tcpdump builds with quirks of its own (double spaces, an unbalanced bracket
// after "[bad opt]", a stray '>' after a truncated option) is reproduced on purpose;
// the comments say where.
#include "ustcp/wire/tcpdump.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <initializer_list>
#include <optional>
#include <span>
#include <string_view>

#include "ustcp/base/endian.hpp"

namespace ustcp::wire {

namespace {

/// tcpdump's MAXIMUM_SNAPLEN: records claiming more are reported as invalid.
constexpr std::uint32_t kMaxSnaplen = 262144;

constexpr std::uint8_t kProtoIcmp = 1;
constexpr std::uint8_t kProtoIpv4 = 4;
constexpr std::uint8_t kProtoTcp = 6;
constexpr std::uint8_t kProtoUdp = 17;
constexpr std::uint8_t kProtoDccp = 33;
constexpr std::uint8_t kProtoIpv6 = 41;
constexpr std::uint8_t kProtoIcmpv6 = 58;
constexpr std::uint8_t kProtoNone = 59;
constexpr std::uint8_t kProtoNd = 77;
constexpr std::uint8_t kProtoSctp = 132;

/// Whether a printer got to the end of what it prints, or ran out of captured bytes.
/// Truncated unwinds to format(), which ends the line with " [|<protocol>]".
enum class [[nodiscard]] Status { Ok, Truncated };

/// The bytes a printer may read: the captured part of its layer, up to the snapshot end.
class Snap {
public:
    Snap() = default;
    explicit Snap(Bytes b) noexcept : b_(b) {}

    [[nodiscard]] std::size_t size() const noexcept { return b_.size(); }
    [[nodiscard]] bool has(std::size_t off, std::size_t n) const noexcept {
        return off <= b_.size() && n <= b_.size() - off;
    }
    [[nodiscard]] std::optional<std::uint8_t> u8(std::size_t off) const noexcept {
        if (!has(off, 1)) return std::nullopt;
        return b_[off];
    }
    [[nodiscard]] std::optional<std::uint16_t> be16(std::size_t off) const noexcept {
        if (!has(off, 2)) return std::nullopt;
        return load_be16(&b_[off]);
    }
    [[nodiscard]] std::optional<std::uint32_t> be32(std::size_t off) const noexcept {
        if (!has(off, 4)) return std::nullopt;
        return load_be32(&b_[off]);
    }
    /// Pointer to `n` bytes at `off`. Precondition: has(off, n).
    [[nodiscard]] const std::uint8_t* at(std::size_t off) const noexcept { return b_.data() + off; }
    /// The bytes from `off` on (empty when `off` is past the end).
    [[nodiscard]] Snap from(std::size_t off) const noexcept {
        return off >= b_.size() ? Snap() : Snap(b_.subspan(off));
    }
    /// Moves the snapshot end back to `len` bytes from here, never forward
    /// (tcpdump's nd_push_snapend).
    [[nodiscard]] Snap clip(std::size_t len) const noexcept { return Snap(b_.first(std::min(len, b_.size()))); }

private:
    Bytes b_;
};

/// The text of one packet and the protocol named if it turns out truncated.
class Line {
public:
    std::string text;
    std::string_view proto;  ///< tcpdump's ndo_protocol

    Line& put(std::string_view s) {
        text.append(s);
        return *this;
    }
    Line& put(char c) {
        text.push_back(c);
        return *this;
    }
    Line& dec(std::uint64_t v) {
        char buf[24];
        auto r = std::to_chars(buf, buf + sizeof buf, v);
        text.append(buf, r.ptr);
        return *this;
    }
    /// `v` in lower-case hex, at least `width` digits.
    Line& hex(std::uint64_t v, int width = 1) {
        char buf[24];
        auto r = std::to_chars(buf, buf + sizeof buf, v, 16);
        for (int n = static_cast<int>(r.ptr - buf); n < width; ++n) text.push_back('0');
        text.append(buf, r.ptr);
        return *this;
    }
    /// Dotted quad of the 4 bytes at `p`.
    Line& ipv4(const std::uint8_t* p) {
        for (int i = 0; i < 4; ++i) {
            if (i > 0) put('.');
            dec(p[i]);
        }
        return *this;
    }
    /// RFC 4291 text of the 16 bytes at `p`: the longest run of two or more zero groups
    /// becomes "::" (the first such run on a tie), hex without leading zeros, and an
    /// IPv4-mapped or IPv4-compatible address ends in a dotted quad. This is what
    /// tcpdump's addrtostr6() (from BIND's inet_ntop) prints.
    Line& ipv6(const std::uint8_t* p) {
        std::uint16_t w[8];
        for (int i = 0; i < 8; ++i) w[i] = load_be16(p + 2 * i);
        int best = -1, best_len = 0;
        for (int i = 0; i < 8;) {
            if (w[i] != 0) {
                ++i;
                continue;
            }
            int j = i;
            while (j < 8 && w[j] == 0) ++j;
            if (j - i > best_len) best = i, best_len = j - i;
            i = j;
        }
        if (best_len < 2) best = -1;
        for (int i = 0; i < 8; ++i) {
            if (best >= 0 && i >= best && i < best + best_len) {
                if (i == best) put(':');
                continue;
            }
            if (i != 0) put(':');
            // IPv4-compatible (::a.b.c.d) or IPv4-mapped (::ffff:a.b.c.d) tail.
            if (i == 6 && best == 0 && (best_len == 6 || (best_len == 5 && w[5] == 0xffff))) {
                ipv4(p + 12);
                break;
            }
            hex(w[i]);
        }
        if (best >= 0 && best + best_len == 8) put(':');
        return *this;
    }
    Line& mac(const std::uint8_t* p, std::size_t n) {
        for (std::size_t i = 0; i < n; ++i) {
            if (i > 0) put(':');
            hex(p[i], 2);
        }
        return *this;
    }
    /// tcpdump's print_unknown_data() with indent "\n\t": hex_print() of at most `length`
    /// bytes and at most what was captured, 8 16-bit groups a line, no ASCII column.
    void hex_dump(Snap s, std::size_t length) {
        const std::size_t n = std::min(length, s.size());
        for (std::size_t i = 0; i < n; i += 2) {
            if (i % 16 == 0) put("\n\t0x").hex(i, 4).put(": ");
            put(' ').hex(*s.at(i), 2);
            if (i + 1 < n) hex(*s.at(i + 1), 2);
        }
    }
    /// tcpdump's hex_and_ascii_print(): 16 bytes a line, each line "\n\t0x%04x: " then
    /// the bytes as 16-bit groups padded to 40 columns, two spaces, printable ASCII.
    /// Prints at most `length` bytes and at most what was captured; if the capture is
    /// shorter than `length` it ends with " [|<proto>]".
    void hex_and_ascii_dump(Snap s, std::size_t length) {
        const bool truncated = length > s.size();
        const std::size_t n = std::min(length, s.size());
        for (std::size_t line = 0; line < n; line += 16) {
            std::string hexpart, ascii;
            const std::size_t end = std::min(n, line + 16);
            for (std::size_t i = line; i < end; i += 2) {
                hexpart.push_back(' ');
                for (std::size_t j = i; j < std::min(end, i + 2); ++j) {
                    static constexpr char kDigits[] = "0123456789abcdef";
                    const std::uint8_t c = *s.at(j);
                    hexpart.push_back(kDigits[c >> 4]);
                    hexpart.push_back(kDigits[c & 0xf]);
                    ascii.push_back(c > 0x20 && c < 0x7f ? static_cast<char>(c) : '.');
                }
            }
            hexpart.resize(std::max<std::size_t>(hexpart.size(), 40), ' ');
            put("\n\t0x").hex(line, 4).put(": ").put(hexpart).put("  ").put(ascii);
        }
        if (truncated) put(" [|").put(proto).put(']');
    }
};

/// What the transport printers need from the IP header in front of them.
struct IpInfo {
    bool v6 = false;
    const std::uint8_t* src = nullptr;  ///< 4 or 16 bytes, inside the captured packet
    const std::uint8_t* dst = nullptr;
    std::uint8_t next_proto = 0;  ///< IPv4 protocol / IPv6 next header field
    bool fragmented = false;      ///< IPv4 "more fragments" set (tcpdump's `fragmented`)

    void addr(Line& l, const std::uint8_t* a) const {
        if (v6) {
            l.ipv6(a);
        } else {
            l.ipv4(a);
        }
    }
    /// "src > dst"
    void addrs(Line& l) const {
        addr(l, src);
        l.put(" > ");
        addr(l, dst);
    }
    /// "src.sport > dst.dport"
    void endpoints(Line& l, std::uint16_t sport, std::uint16_t dport) const {
        addr(l, src);
        l.put('.').dec(sport).put(" > ");
        addr(l, dst);
        l.put('.').dec(dport);
    }
};

// tcpdump's name tables, as far as this printer needs them.

/// ethertype_values in print-ether.c (also used by ARP for the protocol type).
std::optional<std::string_view> ethertype_name(std::uint16_t type) {
    switch (type) {
        case 0x0800: return "IPv4";
        case 0x8847: return "MPLS unicast";
        case 0x8848: return "MPLS multicast";
        case 0x86dd: return "IPv6";
        case 0x8100: return "802.1Q";
        case 0x9100: return "802.1Q-9100";
        case 0x88a8: return "802.1Q-QinQ";
        case 0x9200: return "802.1Q-9200";
        case 0x88e5: return "802.1AE MACsec";
        case 0x0200: return "PUP";
        case 0x0806: return "ARP";
        case 0x8035: return "Reverse ARP";
        case 0x0600: return "NS";
        case 0x0500: return "Sprite";
        case 0x1000: return "Trail";
        case 0x6001: return "MOP DL";
        case 0x6002: return "MOP RC";
        case 0x6003: return "DN";
        case 0x6004: return "LAT";
        case 0x6007: return "SCA";
        case 0x6558: return "TEB";
        case 0x8038: return "Lanbridge";
        case 0x803c: return "DEC DNS";
        case 0x803e: return "DEC DTS";
        case 0x805b: return "VEXP";
        case 0x805c: return "VPROD";
        case 0x809b: return "Appletalk";
        case 0x80f3: return "Appletalk ARP";
        case 0x8137: return "IPX";
        case 0x880b: return "PPP";
        case 0x8808: return "MPCP";
        case 0x8809: return "Slow Protocols";
        case 0x8863: return "PPPoE D";
        case 0x8864: return "PPPoE S";
        case 0x888e: return "EAPOL";
        case 0x8899: return "RRCP";
        case 0x886f: return "MS NLB heartbeat";
        case 0x8870: return "Jumbo";
        case 0x894f: return "NSH";
        case 0x9000: return "Loopback";
        case 0xfefe: return "OSI";
        case 0xabcd: return "CFM (old)";
        case 0x8902: return "CFM";
        case 0x893a: return "IEEE1905.1";
        case 0x88cc: return "LLDP";
        case 0x88ca: return "TIPC";
        case 0x0707: return "GeoNet (old)";
        case 0x8947: return "GeoNet";
        case 0x1111: return "CALM FAST";
        case 0x88a2: return "AoE";
        case 0x88f7: return "PTP";
        case 0xd28b: return "Arista Vendor Specific Protocol";
        default: return std::nullopt;
    }
}

/// arphrd_values in print-arp.c.
std::optional<std::string_view> arp_hardware_name(std::uint16_t hrd) {
    switch (hrd) {
        case 1: return "Ethernet";
        case 6: return "TokenRing";
        case 7: return "ArcNet";
        case 15: return "FrameRelay";
        case 19: return "ATM";
        case 23: return "Strip";
        case 24: return "IEEE 1394";
        default: return std::nullopt;
    }
}

/// arpop_values in print-arp.c.
std::optional<std::string_view> arp_op_name(std::uint16_t op) {
    switch (op) {
        case 1: return "Request";
        case 2: return "Reply";
        case 3: return "Reverse Request";
        case 4: return "Reverse Reply";
        case 8: return "Inverse Request";
        case 9: return "Inverse Reply";
        case 10: return "NACK Reply";
        default: return std::nullopt;
    }
}

/// tcp_option_values in print-tcp.c. Kind 13 (CC.ECHO) really is the empty string there.
std::optional<std::string_view> tcp_option_name(std::uint8_t kind) {
    switch (kind) {
        case 0: return "eol";
        case 1: return "nop";
        case 2: return "mss";
        case 3: return "wscale";
        case 4: return "sackOK";
        case 5: return "sack";
        case 6: return "echo";
        case 7: return "echoreply";
        case 8: return "TS";
        case 11: return "cc";
        case 12: return "ccnew";
        case 13: return "";
        case 19: return "md5";
        case 20: return "scps";
        case 28: return "uto";
        case 29: return "tcp-ao";
        case 30: return "mptcp";
        case 34: return "tfo";
        case 254: return "exp";
        default: return std::nullopt;
    }
}

/// HTTP requests tcpdump recognises (httpcmds in print-http.c, WebDAV included).
constexpr std::string_view kHttpCommands[] = {
    "GET", "PUT", "COPY", "HEAD", "LOCK", "MOVE", "POLL", "POST", "BCOPY", "BMOVE", "MKCOL", "TRACE", "LABEL",
    "MERGE", "DELETE", "SEARCH", "UNLOCK", "REPORT", "UPDATE", "NOTIFY", "BDELETE", "CONNECT", "OPTIONS",
    "CHECKIN", "PROPFIND", "CHECKOUT", "CCM_POST", "SUBSCRIBE", "PROPPATCH", "BPROPFIND", "BPROPPATCH",
    "UNCHECKOUT", "MKACTIVITY", "MKWORKSPACE", "UNSUBSCRIBE", "RPC_CONNECT", "VERSION-CONTROL",
    "BASELINE-CONTROL",
};

/// RTSP requests tcpdump recognises (rtspcmds in print-rtsp.c).
constexpr std::string_view kRtspCommands[] = {
    "DESCRIBE", "ANNOUNCE", "GET_PARAMETER", "OPTIONS", "PAUSE", "PLAY", "RECORD", "REDIRECT", "SETUP",
    "SET_PARAMETER", "TEARDOWN",
};

bool ascii_print(std::uint8_t c) { return c >= 0x20 && c <= 0x7e; }

bool equal_ignoring_case(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

}  // namespace

/// Formats one packet against a TcpdumpPrinter's conversation state. One instance per
/// packet; each member prints one protocol the way the tcpdump printer of that name does.
class PacketPrinter {
public:
    PacketPrinter(TcpdumpPrinter& owner, Line& line) : owner_(owner), l_(line) {}

    Status ether(Snap s, std::uint32_t length);
    Status ip_by_version(Snap s, std::uint32_t length);

private:
    std::optional<Status> ethertype(std::uint16_t type, Snap s, std::uint32_t length);
    Status ipv4(Snap s, std::uint32_t length);
    Status ipv6(Snap s, std::uint32_t length);
    Status ip_payload(Snap s, std::uint32_t length, const IpInfo& ip);
    Status arp(Snap s, std::uint32_t length);
    Status atm_arp(Snap s, std::uint32_t length);
    void q922_address(const std::uint8_t* p, std::size_t len);
    Status icmp(Snap s, std::uint32_t length);
    Status icmp6(Snap s, std::uint32_t length, const IpInfo& ip);
    Status udp(Snap s, std::uint32_t length, const IpInfo& ip);
    Status tcp(Snap s, std::uint32_t length, const IpInfo& ip);

    enum class OptEnd { Done, Bad, Truncated, Unwind };
    struct SeqBase {
        bool rev = false;
        std::uint32_t seq = 0;
        std::uint32_t ack = 0;
    };
    OptEnd tcp_options(Snap tp, std::size_t hlen, std::uint32_t payload_len, std::uint8_t flags, const SeqBase& base,
                       char& sep);
    bool mptcp(Bytes opt, std::uint8_t flags);
    void tcp_fastopen(Snap tp, std::size_t off, std::size_t datalen, bool experimental);
    Status text_protocol(Snap payload, std::uint32_t length, std::string_view name,
                         std::span<const std::string_view> commands, bool code_second);
    std::size_t text_token(Snap p, std::size_t idx, std::uint32_t len, std::string& token);

    TcpdumpPrinter& owner_;
    Line& l_;
};

std::size_t TcpdumpPrinter::ConvKeyHash::operator()(const ConvKey& k) const noexcept {
    // FNV-1a over the key bytes; the table is for a tool, not the data path.
    std::uint64_t h = 0xcbf29ce484222325ULL;
    auto mix = [&h](std::uint8_t b) { h = (h ^ b) * 0x100000001b3ULL; };
    for (auto b : k.src) mix(b);
    for (auto b : k.dst) mix(b);
    for (int i = 0; i < 4; ++i) mix(static_cast<std::uint8_t>(k.ports >> (8 * i)));
    mix(k.v6 ? 1 : 0);
    return static_cast<std::size_t>(h);
}

TcpdumpPrinter::TcpdumpPrinter(bool absolute_seq) : absolute_seq_(absolute_seq) {}

void TcpdumpPrinter::forget_conversations() noexcept { conversations_.clear(); }

std::string TcpdumpPrinter::format(LinkType link, Bytes captured, std::uint32_t wire_len) {
    Line l;
    // pretty_print_packet(): records that no printer could make sense of.
    const std::size_t caplen = captured.size();
    bool invalid = false;
    auto problem = [&](std::string_view first) {
        l.put(invalid ? "," : "[Invalid header:");
        invalid = true;
        l.put(first);
    };
    if (caplen == 0) problem(" caplen==0");
    if (wire_len == 0) {
        problem(" len==0");
    } else if (wire_len < caplen) {
        problem(" len(");
        l.dec(wire_len).put(") < caplen(").dec(caplen).put(')');
    }
    if (caplen > kMaxSnaplen) {
        problem(" caplen(");
        l.dec(caplen).put(") > ").dec(kMaxSnaplen);
    }
    if (wire_len > kMaxSnaplen) {
        problem(" len(");
        l.dec(wire_len).put(") > ").dec(kMaxSnaplen);
    }
    if (invalid) {
        l.put(']');
        return std::move(l.text);
    }

    PacketPrinter p(*this, l);
    Status st = Status::Ok;
    switch (link) {
        case LinkType::Ethernet:
            st = p.ether(Snap(captured), wire_len);
            break;
        case LinkType::RawIp:
        case LinkType::RawIpv4:
        case LinkType::RawIpv6:
            st = p.ip_by_version(Snap(captured), wire_len);
            break;
    }
    if (st == Status::Truncated) l.put(" [|").put(l.proto).put(']');
    return std::move(l.text);
}

// ---------------------------------------------------------------------------------
// Link layers

// ether_common_print(): Ethernet II, any number of 802.1Q/802.1ad tags, then the
// ethertype's printer. Without -e nothing of the link header is printed unless the
// ethertype is one tcpdump cannot decode.
Status PacketPrinter::ether(Snap s, std::uint32_t length) {
    l_.proto = "ether";
    std::size_t caplen = s.size();
    if (caplen < 14 || length < 14) return Status::Truncated;
    const std::uint32_t orig_length = length;
    std::size_t off = 12;
    std::uint16_t type = *s.be16(off);
    off += 2, length -= 14, caplen -= 14;
    while (type == 0x8100 || type == 0x9100 || type == 0x9200 || type == 0x88a8) {
        if (caplen < 4 || length < 4) {
            l_.proto = "vlan";
            return Status::Truncated;
        }
        type = *s.be16(off + 2);
        off += 4, length -= 4, caplen -= 4;
    }
    Snap payload = s.from(off);
    if (type > 1500) {
        if (auto st = ethertype(type, payload, length)) return *st;
    }
    // Unknown ethertype: the addresses, the type and the frame length, then the rest of
    // the frame as a hex dump (tcpdump's default printer). 802.3 lengths (LLC), jumbo,
    // MACsec and Arista frames also land here: tcpdump decodes those, ustcp does not.
    l_.mac(s.at(6), 6).put(" > ").mac(s.at(0), 6).put(", ethertype ");
    l_.put(ethertype_name(type).value_or("Unknown")).put(" (0x").hex(type, 4).put("), length ");
    l_.dec(orig_length).put(": ");
    l_.hex_and_ascii_dump(payload, caplen);
    return Status::Ok;
}

// ethertype_print() for the types this printer decodes; nullopt for the others, which
// tcpdump either cannot decode either or decodes with printers not replicated here.
std::optional<Status> PacketPrinter::ethertype(std::uint16_t type, Snap s, std::uint32_t length) {
    switch (type) {
        case 0x0800: return ipv4(s, length);
        case 0x86dd: return ipv6(s, length);
        case 0x0806:
        case 0x8035: return arp(s, length);
        default: return std::nullopt;
    }
}

// ipN_print(): the raw IP link types, dispatched on the version nibble.
Status PacketPrinter::ip_by_version(Snap s, std::uint32_t length) {
    l_.proto = "ipn";
    if (length < 1) {
        l_.put("truncated-ip ").dec(length);
        return Status::Ok;
    }
    auto first = s.u8(0);
    if (!first) return Status::Truncated;
    switch (*first & 0xf0) {
        case 0x40: return ipv4(s, length);
        case 0x60: return ipv6(s, length);
        default: l_.put("unknown ip ").dec(*first >> 4); return Status::Ok;
    }
}

// ---------------------------------------------------------------------------------
// IPv4 / IPv6

// ip_print(). `length` is what the link layer says is left of the frame on the wire.
Status PacketPrinter::ipv4(Snap s, std::uint32_t length) {
    l_.proto = "ip";
    auto vhl = s.u8(0);
    if (!vhl) return Status::Truncated;
    if ((*vhl >> 4) != 4) {
        if ((*vhl >> 4) == 6) {
            l_.put("IP6, wrong link-layer encapsulation");
        } else {
            l_.put("IP").dec(*vhl >> 4);
        }
        l_.put(" (invalid)");
        return Status::Ok;
    }
    l_.put("IP ");
    if (!s.has(0, 20)) return Status::Truncated;  // "IP  [|ip]": two spaces, as tcpdump
    if (length < 20) {
        l_.put("truncated-ip ").dec(length);
        return Status::Ok;
    }
    const std::uint32_t hlen = (*vhl & 0x0fu) * 4;
    if (hlen < 20) {
        l_.put("bad-hlen ").dec(hlen);
        return Status::Ok;
    }
    std::uint32_t len = *s.be16(2);
    if (length < len) l_.put("truncated-ip - ").dec(len - length).put(" bytes missing! ");
    if (len < hlen) {  // also total length 0: this tcpdump is built without GUESS_TSO
        l_.put("bad-len ").dec(len);
        return Status::Ok;
    }
    s = s.clip(len);
    len -= hlen;
    const std::uint16_t off = *s.be16(6);
    IpInfo ip;
    ip.src = s.at(12);
    ip.dst = s.at(16);
    ip.next_proto = *s.u8(9);
    ip.fragmented = (off & 0x2000) != 0;
    if ((off & 0x1fff) != 0) {
        // Not the first fragment: no transport header to decode. -n prints the protocol
        // as a number, and there is no length.
        ip.addrs(l_);
        l_.put(": ip-proto-").dec(ip.next_proto);
        return Status::Ok;
    }
    const std::uint8_t nh = ip.next_proto;
    if (nh != kProtoTcp && nh != kProtoUdp && nh != kProtoSctp && nh != kProtoDccp) {
        ip.addrs(l_);
        l_.put(": ");
    }
    if (!s.has(0, hlen)) {
        l_.put(" [remaining caplen(").dec(s.size()).put(") < header length(").dec(hlen).put(")]");
        return Status::Truncated;
    }
    return ip_payload(s.from(hlen), len, ip);
}

// ip6_print(), for a fixed header followed directly by the upper layer.
Status PacketPrinter::ipv6(Snap s, std::uint32_t length) {
    l_.proto = "ip6";
    if (!s.has(0, 40)) return Status::Truncated;
    if (length < 40) {
        l_.put("truncated-ip6 ").dec(length);
        return Status::Ok;
    }
    l_.put("IP6 ");
    if ((*s.u8(0) >> 4) != 6) {
        l_.put("version error: ").dec(*s.u8(0) >> 4).put(" != 6");
        return Status::Ok;
    }
    const std::uint32_t payload_len = *s.be16(4);
    std::uint32_t len = 0;
    if (payload_len != 0) {
        len = payload_len + 40;
        if (length < len) l_.put("truncated-ip6 - ").dec(len - length).put(" bytes missing!");
    } else {
        len = length + 40;  // jumbogram guess; tcpdump then looks for a Jumbo option
    }
    s = s.clip(len);
    IpInfo ip;
    ip.v6 = true;
    ip.src = s.at(8);
    ip.dst = s.at(24);
    ip.next_proto = *s.u8(6);
    const std::uint8_t nh = ip.next_proto;
    if (nh != kProtoTcp && nh != kProtoUdp && nh != kProtoSctp && nh != kProtoDccp) {
        ip.addrs(l_);
        l_.put(": ");
    }
    len -= 40;
    if (payload_len == 0) {
        // Without a Jumbo Payload option (which would need a hop-by-hop header) tcpdump
        // cuts the packet back to the fixed header: nothing of the payload is visible.
        return ip_payload(Snap(), 0, ip);
    }
    return ip_payload(s.from(40), len, ip);
}

// ip_demux_print(), for the protocols this printer knows; the others print the way
// tcpdump prints a protocol it has no decoder for.
Status PacketPrinter::ip_payload(Snap s, std::uint32_t length, const IpInfo& ip) {
    switch (ip.next_proto) {
        case kProtoTcp: return tcp(s, length, ip);
        case kProtoUdp: return udp(s, length, ip);
        case kProtoIcmp:
            if (!ip.v6) return icmp(s, length);
            l_.put("[ICMP requires IPv4] (invalid)");
            return Status::Ok;
        case kProtoIcmpv6:
            if (ip.v6) return icmp6(s, length, ip);
            l_.put("[ICMPv6 requires IPv6] (invalid)");
            return Status::Ok;
        case kProtoIpv4: return ipv4(s, length);
        case kProtoIpv6: return ipv6(s, length);
        case kProtoNd: l_.put(" nd ").dec(length); return Status::Ok;
        case kProtoNone: l_.put("no next header"); return Status::Ok;
        case kProtoSctp:
        case kProtoDccp:
            // tcpdump's SCTP and DCCP printers are not replicated; unlike the generic
            // form below, the addresses have not been printed yet.
            ip.addrs(l_);
            l_.put(": ");
            [[fallthrough]];
        default:
            // Also the protocols tcpdump has other decoders for (IGMP, GRE, ESP, OSPF, ...).
            l_.put(" ip-proto-").dec(ip.next_proto).put(' ').dec(length);
            return Status::Ok;
    }
}

// ---------------------------------------------------------------------------------
// ARP

// arp_print() for every hardware type but ATM (whose layout differs).
Status PacketPrinter::arp(Snap s, std::uint32_t length) {
    l_.proto = "arp";
    if (!s.has(0, 8)) return Status::Truncated;
    const std::uint16_t hrd = *s.be16(0), pro = *s.be16(2), op = *s.be16(6);
    if (hrd == 19) return atm_arp(s, length);
    const std::size_t hln = *s.u8(4), pln = *s.u8(5);
    const std::size_t sha = 8, spa = sha + hln, tha = spa + pln, tpa = tha + hln;
    if (!s.has(tpa, pln)) return Status::Truncated;  // nothing printed yet: just " [|arp]"
    l_.put("ARP, ");
    const bool ip = (pro == 0x0800 || pro == 0x1000) && pln == 4;
    if (!ip || hln == 0) {
        if (auto n = arp_hardware_name(hrd)) {
            l_.put(*n);
        } else {
            l_.put("Unknown Hardware (").dec(hrd).put(')');
        }
        l_.put(" (len ").dec(hln).put("), ");
        if (auto n = ethertype_name(pro)) {
            l_.put(*n);
        } else {
            l_.put("Unknown Protocol (0x").hex(pro, 4).put(')');
        }
        l_.put(" (len ").dec(pln).put("), length ").dec(length);
        return Status::Ok;
    }
    auto hw = [&](std::size_t at) {
        if (hln == 0) {
            l_.put("<empty>");
        } else if (hrd == 15) {
            q922_address(s.at(at), hln);
        } else {
            l_.mac(s.at(at), hln);
        }
    };
    auto op_name = arp_op_name(op);
    if (op_name) {
        l_.put(*op_name).put(' ');
    } else {
        l_.put("Unknown (").dec(op).put(") ");
    }
    switch (op) {
        case 1: {
            l_.put("who-has ").ipv4(s.at(tpa));
            bool nonzero = false;
            for (std::size_t i = 0; i < hln; ++i) nonzero = nonzero || *s.at(tha + i) != 0;
            if (nonzero) {
                l_.put(" (");
                hw(tha);
                l_.put(')');
            }
            l_.put(" tell ").ipv4(s.at(spa));
            break;
        }
        case 2:
            l_.ipv4(s.at(spa)).put(" is-at ");
            hw(sha);
            break;
        case 3:
        case 8:
            l_.put("who-is ");
            hw(tha);
            l_.put(" tell ");
            hw(sha);
            break;
        case 4:
            hw(tha);
            l_.put(" at ").ipv4(s.at(tpa));
            break;
        case 9:
            hw(sha);
            l_.put(" at ").ipv4(s.at(spa));
            break;
        default:
            // Operations without a format (including NACK Reply): tcpdump dumps the
            // captured ARP bytes and prints no length.
            l_.hex_and_ascii_dump(s, s.size());
            return Status::Ok;
    }
    l_.put(", length ").dec(length);
    return Status::Ok;
}

// atmarp_print(): ATM ARP (RFC 2225) has separate number and subaddress lengths.
Status PacketPrinter::atm_arp(Snap s, std::uint32_t length) {
    if (!s.has(0, 12)) return Status::Truncated;
    const std::uint16_t pro = *s.be16(2), op = *s.be16(6);
    const std::size_t shl = *s.u8(4) & 0x3fu, ssl = *s.u8(5) & 0x3fu, spl = *s.u8(8);
    const std::size_t thl = *s.u8(9) & 0x3fu, tsl = *s.u8(10) & 0x3fu, tpl = *s.u8(11);
    const std::size_t sha = 12, ssa = sha + shl, spa = ssa + ssl, tha = spa + spl, tsa = tha + thl, tpa = tsa + tsl;
    if (!s.has(tpa, tpl)) return Status::Truncated;
    l_.put("ARP, ");
    const bool ip_proto = pro == 0x0800 || pro == 0x1000;
    if (!ip_proto || spl != 4 || tpl != 4) {
        l_.put("ATM, ");
        if (auto n = ethertype_name(pro)) {
            l_.put(*n);
        } else {
            l_.put("Unknown Protocol (0x").hex(pro, 4).put(')');
        }
        l_.put(" (len ").dec(spl).put('/').dec(tpl).put("), length ").dec(length);
        return Status::Ok;
    }
    auto addr = [&](std::size_t ha, std::size_t ha_len, std::size_t sa, std::size_t sa_len) {
        if (ha_len == 0) {
            l_.put("<No address>");
            return;
        }
        l_.mac(s.at(ha), ha_len);
        if (sa_len != 0) l_.put(',').mac(s.at(sa), sa_len);
    };
    if (auto n = arp_op_name(op)) {
        l_.put(*n).put(' ');
    } else {
        l_.put("Unknown (").dec(op).put(") ");
    }
    switch (op) {
        case 1:
            l_.put("who-has ").ipv4(s.at(tpa));
            if (thl != 0) {
                l_.put(" (");
                addr(tha, thl, tsa, tsl);
                l_.put(')');
            }
            l_.put(" tell ").ipv4(s.at(spa));
            break;
        case 2:
            l_.ipv4(s.at(spa)).put(" is-at ");
            addr(sha, shl, ssa, ssl);
            break;
        case 8:
            l_.put("who-is ");
            addr(tha, thl, tsa, tsl);
            l_.put(" tell ");
            addr(sha, shl, ssa, ssl);
            break;
        case 9:
            addr(sha, shl, ssa, ssl);
            l_.put("at ").ipv4(s.at(spa));  // sic: no space before "at"
            break;
        case 10:
            l_.put("for ").ipv4(s.at(spa));
            break;
        default:
            l_.hex_and_ascii_dump(s, s.size());
            return Status::Ok;
    }
    l_.put(", length ").dec(length);
    return Status::Ok;
}

// q922_string(): a Frame Relay hardware address is a Q.922 address (2 to 4 bytes, the
// low bit of the last one set) holding a DLCI.
void PacketPrinter::q922_address(const std::uint8_t* p, std::size_t len) {
    constexpr std::uint8_t kEa = 0x01;  // address extension bit: set in the last byte
    if (len < 1 || (p[0] & kEa) != 0) {
        l_.put(len < 1 ? "<Truncated DLCI>" : "<Invalid DLCI>");
        return;
    }
    if (len < 2) {
        l_.put("<Truncated DLCI>");
        return;
    }
    std::uint32_t dlci = ((p[0] & 0xfcu) << 2) | ((p[1] & 0xf0u) >> 4);
    if ((p[1] & kEa) == 0) {
        std::size_t i = 2;
        if (len < 3) {
            l_.put("<Truncated DLCI>");
            return;
        }
        if ((p[i] & kEa) == 0) {  // 4-byte address
            dlci = (dlci << 7) | (p[i] >> 1);
            ++i;
            if (len < 4) {
                l_.put("<Truncated DLCI>");
                return;
            }
        }
        if ((p[i] & kEa) == 0) {
            l_.put("<Invalid DLCI>");
            return;
        }
        dlci = (dlci << 6) | (p[i] >> 2);
    }
    l_.put("DLCI ").dec(dlci);
}

// ---------------------------------------------------------------------------------
// ICMP

namespace {

/// icmp_tstamp_print(): milliseconds since midnight UTC as hh:mm:ss.mmm.
void icmp_time(Line& l, std::uint32_t ms) {
    const std::uint32_t msec = ms % 1000, total_sec = ms / 1000;
    const std::uint32_t hrs = total_sec / 3600, min = total_sec / 60 % 60, sec = total_sec % 60;
    auto two = [&l](std::uint32_t v) {
        if (v < 10) l.put('0');
        l.dec(v);
    };
    two(hrs);
    l.put(':');
    two(min);
    l.put(':');
    two(sec);
    l.put('.');
    if (msec < 100) l.put('0');
    if (msec < 10) l.put('0');
    l.dec(msec);
}

}  // namespace

// icmp_print(). tcpdump builds the message in a buffer first and prints it only when
// every field it needs was captured, so a truncated message prints nothing of itself.
Status PacketPrinter::icmp(Snap s, std::uint32_t length) {
    l_.proto = "icmp";
    auto type = s.u8(0), code = s.u8(1);
    if (!type || !code) return Status::Truncated;
    Line msg;
    auto inner_dst = [&]() -> bool {  // destination of the datagram quoted in an error
        if (!s.has(24, 4)) return false;
        msg.ipv4(s.at(24));
        return true;
    };
    switch (*type) {
        case 0:
        case 8: {
            auto id = s.be16(4), seq = s.be16(6);
            if (!id || !seq) return Status::Truncated;
            msg.put(*type == 8 ? "echo request" : "echo reply").put(", id ").dec(*id).put(", seq ").dec(*seq);
            break;
        }
        case 3:
            switch (*code) {
                case 0: case 1: case 6: case 7: case 9: case 10: case 11: case 12: case 13: case 14: case 15: {
                    static constexpr std::string_view kPrefix[] = {
                        "net ", "host ", "", "", "", "", "net ", "host ", "", "net ", "host ", "net ", "host ",
                        "host ", "host ", "host "};
                    static constexpr std::string_view kSuffix[] = {
                        " unreachable", " unreachable", "", "", "", "", " unreachable - unknown",
                        " unreachable - unknown", "", " unreachable - admin prohibited",
                        " unreachable - admin prohibited", " unreachable - tos prohibited",
                        " unreachable - tos prohibited", " unreachable - admin prohibited filter",
                        " unreachable - host precedence violation", " unreachable - precedence cutoff"};
                    msg.put(kPrefix[*code]);
                    if (!inner_dst()) return Status::Truncated;
                    msg.put(kSuffix[*code]);
                    break;
                }
                case 2: {
                    auto p = s.u8(17);
                    if (!inner_dst() || !p) return Status::Truncated;
                    msg.put(" protocol ").dec(*p).put(" unreachable");
                    break;
                }
                case 3: {
                    auto vhl = s.u8(8), p = s.u8(17);
                    if (!vhl || !p) return Status::Truncated;
                    auto dport = s.be16(8 + (*vhl & 0x0fu) * 4 + 2);
                    if (!dport || !inner_dst()) return Status::Truncated;
                    if (*p == kProtoTcp) {
                        msg.put(" tcp port ").dec(*dport);
                    } else if (*p == kProtoUdp) {
                        msg.put(" udp port ").dec(*dport);
                    } else {
                        msg.put(" protocol ").dec(*p).put(" port ").dec(*dport);
                    }
                    msg.put(" unreachable");
                    break;
                }
                case 4: {
                    auto mtu = s.be16(6);
                    if (!mtu || !inner_dst()) return Status::Truncated;
                    msg.put(" unreachable - need to frag");
                    if (*mtu != 0) msg.put(" (mtu ").dec(*mtu).put(')');
                    break;
                }
                case 5:
                    if (!inner_dst()) return Status::Truncated;
                    msg.put(" unreachable - source route failed");
                    break;
                case 8:
                    if (!inner_dst()) return Status::Truncated;
                    msg.put(" unreachable - source host isolated");
                    break;
                default:
                    if (!inner_dst()) return Status::Truncated;
                    msg.put(" unreachable - #").dec(*code);
                    break;
            }
            break;
        case 5: {
            if (!s.has(24, 4) || !s.has(4, 4)) return Status::Truncated;
            switch (*code) {
                case 0: msg.put("redirect "); break;
                case 1: msg.put("redirect "); break;
                case 2: msg.put("redirect-tos "); break;
                case 3: msg.put("redirect-tos "); break;
                default: msg.put("redirect-#").dec(*code).put(' '); break;
            }
            msg.ipv4(s.at(24));
            msg.put(*code == 0 || *code == 2 ? " to net " : *code <= 3 ? " to host " : " to ");
            msg.ipv4(s.at(4));
            break;
        }
        case 9: {
            msg.put("router advertisement");
            if (!s.has(4, 4)) return Status::Truncated;
            msg.put(" lifetime ");
            const std::uint32_t lifetime = *s.be16(6);
            auto two = [&msg](std::uint32_t v) {
                if (v < 10) msg.put('0');
                msg.dec(v);
            };
            if (lifetime < 60) {
                msg.dec(lifetime);
            } else if (lifetime < 3600) {
                msg.dec(lifetime / 60).put(':');
                two(lifetime % 60);
            } else {
                msg.dec(lifetime / 3600).put(':');
                two(lifetime % 3600 / 60);
                msg.put(':');
                two(lifetime % 60);
            }
            const std::uint32_t num = *s.u8(4), size = *s.u8(5);
            msg.put(' ').dec(num).put(':');
            if (size != 2) {
                msg.put(" [size ").dec(size).put(']');
                break;
            }
            for (std::uint32_t i = 0; i < num; ++i) {
                const std::size_t at = 8 + 8 * i;
                if (!s.has(at, 8)) return Status::Truncated;
                msg.put(" {").ipv4(s.at(at)).put(' ').dec(*s.be32(at + 4)).put('}');
            }
            // tcpdump formats this into a char[MAXHOSTNAMELEN + 100] (164 bytes on Linux)
            // with snprintf, which cuts long advertisements off.
            if (msg.text.size() > 163) msg.text.resize(163);
            break;
        }
        case 11:
            if (!s.has(24, 4)) return Status::Truncated;
            if (*code == 0) {
                msg.put("time exceeded in-transit");
            } else if (*code == 1) {
                msg.put("ip reassembly time exceeded");
            } else {
                msg.put("time exceeded-#").dec(*code);
            }
            break;
        case 12:
            if (*code != 0) {
                msg.put("parameter problem - code ").dec(*code);
            } else {
                auto ptr = s.u8(4);
                if (!ptr) return Status::Truncated;
                msg.put("parameter problem - octet ").dec(*ptr);
            }
            break;
        case 18: {
            auto mask = s.be32(8);
            if (!mask) return Status::Truncated;
            msg.put("address mask is 0x").hex(*mask, 8);
            break;
        }
        case 13: {
            auto id = s.be16(4), seq = s.be16(6);
            if (!id || !seq) return Status::Truncated;
            msg.put("time stamp query id ").dec(*id).put(" seq ").dec(*seq);
            break;
        }
        case 14: {
            if (!s.has(4, 16)) return Status::Truncated;
            msg.put("time stamp reply id ").dec(*s.be16(4)).put(" seq ").dec(*s.be16(6)).put(": org ");
            icmp_time(msg, *s.be32(8));
            msg.put(", recv ");
            icmp_time(msg, *s.be32(12));
            msg.put(", xmit ");
            icmp_time(msg, *s.be32(16));
            break;
        }
        case 4: msg.put("source quench"); break;
        case 10: msg.put("router solicitation"); break;
        case 15: msg.put("information request"); break;
        case 16: msg.put("information reply"); break;
        case 17: msg.put("address mask request"); break;
        default: msg.put("type-#").dec(*type); break;
    }
    l_.put("ICMP ").put(msg.text).put(", length ").dec(length);
    return Status::Ok;
}

namespace {

/// icmp6_type_values in print-icmp6.c.
std::optional<std::string_view> icmp6_type_name(std::uint8_t type) {
    switch (type) {
        case 1: return "destination unreachable";
        case 2: return "packet too big";
        case 3: return "time exceeded in-transit";
        case 4: return "parameter problem";
        case 128: return "echo request";
        case 129: return "echo reply";
        case 130: return "multicast listener query";
        case 131: return "multicast listener report";
        case 132: return "multicast listener done";
        case 133: return "router solicitation";
        case 134: return "router advertisement";
        case 135: return "neighbor solicitation";
        case 136: return "neighbor advertisement";
        case 137: return "redirect";
        case 138: return "router renumbering";
        case 139: return "who-are-you request";
        case 140: return "who-are-you reply";
        case 141: return "inverse neighbor solicitation";
        case 142: return "inverse neighbor advertisement";
        case 143: return "multicast listener report v2";
        case 144: return "ha discovery request";
        case 145: return "ha discovery reply";
        case 146: return "mobile router solicitation";
        case 147: return "mobile router advertisement";
        case 155: return "RPL";
        case 200: return "mtrace response";
        case 201: return "mtrace message";
        default: return std::nullopt;
    }
}

}  // namespace

// icmp6_print() for the messages a host sends without -v: echo, neighbor discovery,
// packet too big, MLD, unknown types as tcpdump's hex dump. The error messages that
// quote a packet (unreachable, time exceeded, parameter problem), redirects, router
// renumbering, node information and RPL print only their name here.
Status PacketPrinter::icmp6(Snap s, std::uint32_t length, const IpInfo&) {
    l_.proto = "icmp6";
    if (length == 0) {
        l_.put("ICMP6, length 0 (invalid)");
        return Status::Ok;
    }
    auto type = s.u8(0);
    if (!type) return Status::Truncated;
    l_.put("ICMP6, ");
    const auto name = icmp6_type_name(*type);
    if (name) {
        l_.put(*name);
    } else {
        l_.put("unknown icmp6 type (").dec(*type).put(')');
    }
    if (!s.u8(1)) return Status::Truncated;  // the code byte
    switch (*type) {
        case 128:
        case 129: {
            auto id = s.be16(4), seq = s.be16(6);
            if (!id || !seq) return Status::Truncated;
            l_.put(", id ").dec(*id).put(", seq ").dec(*seq);
            break;
        }
        case 2: {
            auto mtu = s.be32(4);
            if (!mtu) return Status::Truncated;
            l_.put(", mtu ").dec(*mtu);
            break;
        }
        case 135:
        case 136:
            if (!s.has(8, 16)) return Status::Truncated;
            l_.put(*type == 135 ? ", who has " : ", tgt is ").ipv6(s.at(8));
            break;
        case 143:
            if (length < 8) {
                l_.put(" [invalid len ").dec(length).put(']');
                break;
            } else {
                auto groups = s.be16(6);
                if (!groups) return Status::Truncated;
                l_.put(", ").dec(*groups).put(" group record(s)");
            }
            break;
        case 131:
        case 132:  // mld6_print(): only when the whole MLD message was captured
            if (s.has(0, 24)) {
                l_.put("max resp delay: ").dec(*s.be16(4)).put(" addr: ").ipv6(s.at(8));
            }
            break;
        case 130:
            if (length == 24) {
                if (s.has(0, 24)) l_.put("max resp delay: ").dec(*s.be16(4)).put(" addr: ").ipv6(s.at(8));
            } else if (length < 28) {
                l_.put(" unknown-version (len ").dec(length).put(") ");
            }
            break;  // MLDv2 queries: not replicated
        case 144:
        case 146: {
            auto id = s.be16(4);
            if (!id) return Status::Truncated;
            l_.put(", id 0x").hex(*id, 4);
            break;
        }
        case 1: case 3: case 4: case 133: case 134: case 137: case 138: case 139: case 140: case 141:
        case 142: case 145: case 147: case 155:
            break;  // (1, 3, 4, 137-140, 155: tcpdump prints more, not replicated)
        default:
            l_.put(", length ").dec(length);
            l_.hex_dump(s, length);
            return Status::Ok;
    }
    l_.put(", length ").dec(length);
    return Status::Ok;
}

// ---------------------------------------------------------------------------------
// UDP

// udp_print() without the port-specific application decoders.
Status PacketPrinter::udp(Snap s, std::uint32_t length, const IpInfo& ip) {
    l_.proto = "udp";
    const bool is_udp = ip.next_proto == kProtoUdp;
    auto sport = s.be16(0), dport = s.be16(2);
    if (!sport || !dport) {
        if (is_udp) {
            ip.addrs(l_);
            l_.put(": ");
        }
        return Status::Truncated;
    }
    auto addresses = [&] {
        if (is_udp) {
            ip.endpoints(l_, *sport, *dport);
        } else {
            l_.dec(*sport).put(" > ").dec(*dport);
        }
        l_.put(": ");
    };
    if (length < 8) {
        addresses();
        l_.put("truncated-udp ").dec(length);
        return Status::Ok;
    }
    auto ulen_field = s.be16(4);
    if (!ulen_field) {
        addresses();
        return Status::Truncated;
    }
    std::uint32_t ulen = *ulen_field;
    if (ulen == 0 && length > 65535) ulen = length;
    if (ulen < 8) {
        addresses();
        l_.put("truncated-udplength ").dec(ulen);
        return Status::Ok;
    }
    ulen -= 8;
    length -= 8;
    if (ulen < length) length = ulen;
    if (s.size() < 8) {
        addresses();
        return Status::Truncated;
    }
    addresses();
    if (ulen > length && !ip.fragmented) {
        l_.put("UDP, bad length ").dec(ulen).put(" > ").dec(length);
    } else {
        l_.put("UDP, length ").dec(ulen);
    }
    return Status::Ok;
}

// ---------------------------------------------------------------------------------
// TCP

// tcp_print().
Status PacketPrinter::tcp(Snap tp, std::uint32_t length, const IpInfo& ip) {
    l_.proto = "tcp";
    if (!tp.has(2, 2)) {
        ip.addrs(l_);
        l_.put(':');
        return Status::Truncated;  // "IP A > B: [|tcp]"
    }
    const std::uint16_t sport = *tp.be16(0), dport = *tp.be16(2);
    if (ip.next_proto == kProtoTcp) {
        ip.endpoints(l_, sport, dport);
    } else {
        l_.dec(sport).put(" > ").dec(dport);
    }
    l_.put(": ");
    if (!tp.has(0, 20)) return Status::Truncated;  // ":  [|tcp]": two spaces, as tcpdump
    const std::uint32_t hlen = (*tp.u8(12) >> 4) * 4u;
    if (hlen < 20) {
        l_.put(" tcp ").dec(static_cast<std::uint32_t>(length - hlen)).put(" [bad hdr length ").dec(hlen);
        l_.put(" - too short, < 20]");
        return Status::Ok;
    }
    std::uint32_t seq = *tp.be32(4), ack = *tp.be32(8);
    const std::uint16_t win = *tp.be16(14), urp = *tp.be16(18);
    const std::uint8_t flags = *tp.u8(13);

    // Flag letters in tcpdump's table order (so SYN+ACK is "S." and FIN+ACK "F.").
    static constexpr std::pair<std::uint8_t, char> kFlags[] = {
        {0x01, 'F'}, {0x02, 'S'}, {0x04, 'R'}, {0x08, 'P'}, {0x10, '.'}, {0x20, 'U'}, {0x40, 'E'}, {0x80, 'W'}};
    l_.put("Flags [");
    if (flags == 0) l_.put("none");
    for (auto [bit, c] : kFlags) {
        if ((flags & bit) != 0) l_.put(c);
    }
    l_.put(']');

    constexpr std::uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kAck = 0x10, kUrg = 0x20;
    SeqBase base;
    if (!owner_.absolute_seq_ && (flags & kAck) != 0) {
        // Relative sequence numbers. One entry per conversation, keyed with the lower
        // port first (addresses break a tie), so both directions share it. A miss or a
        // SYN records this packet's numbers as the bases and prints them unchanged;
        // every later packet prints its numbers minus the bases.
        const std::size_t alen = ip.v6 ? 16 : 4;
        bool rev = sport > dport || (sport == dport && std::memcmp(ip.src, ip.dst, alen) > 0);
        TcpdumpPrinter::ConvKey key;
        key.v6 = ip.v6;
        std::memcpy(key.src.data(), rev ? ip.dst : ip.src, alen);
        std::memcpy(key.dst.data(), rev ? ip.src : ip.dst, alen);
        key.ports = rev ? (std::uint32_t{dport} << 16 | sport) : (std::uint32_t{sport} << 16 | dport);
        auto [it, inserted] = owner_.conversations_.try_emplace(key);
        TcpdumpPrinter::ConvBases& th = it->second;
        if (inserted || (flags & kSyn) != 0) {
            if (rev) {
                th.ack = seq, th.seq = ack - 1;
            } else {
                th.seq = seq, th.ack = ack - 1;
            }
        } else if (rev) {
            seq -= th.ack, ack -= th.seq;
        } else {
            seq -= th.seq, ack -= th.ack;
        }
        base = SeqBase{rev, th.seq, th.ack};
    }
    if (hlen > length) {
        l_.put(" [bad hdr length ").dec(hlen).put(" - too long, > ").dec(length).put(']');
        return Status::Ok;
    }
    length -= hlen;
    if (length > 0 || (flags & (kSyn | kFin | kRst)) != 0) {
        l_.put(", seq ").dec(seq);
        if (length > 0) l_.put(':').dec(static_cast<std::uint32_t>(seq + length));
    }
    if ((flags & kAck) != 0) l_.put(", ack ").dec(ack);
    l_.put(", win ").dec(win);
    if ((flags & kUrg) != 0) l_.put(", urg ").dec(urp);
    if (hlen > 20) {
        l_.put(", options [");
        char sep = '\0';
        switch (tcp_options(tp, hlen, length, flags, base, sep)) {
            case OptEnd::Done:
                l_.put(']');
                break;
            case OptEnd::Bad:
                // The line ends here; the bracket closes only if an option was printed.
                l_.put("[bad opt]");
                if (sep != '\0') l_.put(']');
                return Status::Ok;
            case OptEnd::Truncated:
                // A leftover of tcpdump's old "<...>" option syntax: '>' after the marker.
                l_.put(" [|").put(l_.proto).put(']');
                if (sep != '\0') l_.put('>');
                return Status::Ok;
            case OptEnd::Unwind:
                return Status::Truncated;
        }
    }
    l_.put(", length ").dec(length);
    if (length == 0) return Status::Ok;
    if (!tp.has(0, hlen)) {
        l_.put(" [remaining caplen(").dec(tp.size()).put(") < header length(").dec(hlen).put(")]");
        return Status::Truncated;
    }
    // The application decoders tcp_print() picks by port, in its order. The text-line
    // protocols are replicated; for the ports of the others nothing more is printed
    // here, where tcpdump would decode the payload.
    auto port_is = [&](std::initializer_list<std::uint16_t> ports) {
        return std::find(ports.begin(), ports.end(), sport) != ports.end() ||
               std::find(ports.begin(), ports.end(), dport) != ports.end();
    };
    const Snap payload = tp.from(hlen);
    if (port_is({23})) return Status::Ok;  // telnet: not replicated
    if (port_is({25})) return l_.put(": "), text_protocol(payload, length, "smtp", {}, false);
    if (port_is({43})) return l_.put(": "), text_protocol(payload, length, "whois", {}, false);
    if (port_is({179, 1723, 6379, 22, 139, 445, 10288, 6633, 6653})) return Status::Ok;  // not replicated
    if (port_is({21})) return l_.put(": "), text_protocol(payload, length, "ftp", {}, false);
    if (port_is({80, 8080})) return l_.put(": "), text_protocol(payload, length, "http", kHttpCommands, true);
    if (port_is({554, 8554})) return l_.put(": "), text_protocol(payload, length, "rtsp", kRtspCommands, true);
    return Status::Ok;  // DNS, MSDP, RPKI-RTR, LDP, NFS and the rest: not replicated
}

// The option loop of tcp_print(). `hlen` is the whole header length; options start at
// offset 20. Unwind means a kind or length byte was not captured (tcpdump longjmps);
// Truncated means an option's body was not captured (tcpdump's local "trunc" label).
PacketPrinter::OptEnd PacketPrinter::tcp_options(Snap tp, std::size_t hlen_total, std::uint32_t payload_len,
                                                 std::uint8_t flags, const SeqBase& base, char& sep) {
    std::size_t cp = 20;
    std::size_t hlen = hlen_total - 20;  // option bytes not yet consumed
    while (hlen > 0) {
        if (sep != '\0') l_.put(sep);
        auto kind = tp.u8(cp);
        if (!kind) return OptEnd::Unwind;
        const std::uint8_t opt = *kind;
        ++cp;
        const bool zero_len = opt == 0 || opt == 1;
        std::size_t len = 1;
        if (!zero_len) {
            auto l = tp.u8(cp);
            if (!l) return OptEnd::Unwind;
            ++cp;
            len = *l;
            if (len < 2 || len > hlen) return OptEnd::Bad;
            --hlen;
        }
        --hlen;
        std::size_t datalen = 0;
        // tcpdump's LENCHECK: the body must lie within the option area (else "[bad opt]")
        // and within the capture (else truncated).
        auto lencheck = [&](std::size_t n) -> std::optional<OptEnd> {
            if (n > hlen) return OptEnd::Bad;
            if (!tp.has(cp, n)) return OptEnd::Truncated;
            return std::nullopt;
        };
        if (auto name = tcp_option_name(opt)) {
            l_.put(*name);
        } else {
            l_.put("unknown-").dec(opt);
        }
        switch (opt) {
            case 2:  // mss
                datalen = 2;
                if (auto e = lencheck(datalen)) return *e;
                l_.put(' ').dec(*tp.be16(cp));
                break;
            case 3:  // wscale
                datalen = 1;
                if (auto e = lencheck(datalen)) return *e;
                l_.put(' ').dec(*tp.u8(cp));
                break;
            case 5: {  // sack
                datalen = len - 2;
                if (datalen % 8 != 0) {
                    l_.put(" invalid sack");
                    break;
                }
                l_.put(' ').dec(datalen / 8).put(' ');
                for (std::size_t i = 0; i < datalen; i += 8) {
                    if (auto e = lencheck(i + 4)) return *e;
                    std::uint32_t s = *tp.be32(cp + i);
                    if (auto e = lencheck(i + 8)) return *e;
                    std::uint32_t e = *tp.be32(cp + i + 4);
                    const std::uint32_t b = base.rev ? base.seq : base.ack;
                    s -= b, e -= b;
                    l_.put('{').dec(s).put(':').dec(e).put('}');
                }
                break;
            }
            case 6:   // echo
            case 7:   // echoreply
            case 11:  // cc
            case 12:  // ccnew
            case 13:  // ccecho
                datalen = 4;
                if (auto e = lencheck(datalen)) return *e;
                l_.put(' ').dec(*tp.be32(cp));
                break;
            case 8:  // timestamps
                datalen = 8;
                if (auto e = lencheck(datalen)) return *e;
                l_.put(" val ").dec(*tp.be32(cp)).put(" ecr ").dec(*tp.be32(cp + 4));
                break;
            case 19:  // md5 signature: tcpdump has no secret to check it with (no -M)
                datalen = 16;
                if (auto e = lencheck(datalen)) return *e;
                l_.put(' ');
                if (hlen_total + payload_len > tp.size()) {
                    l_.put("snaplen too short, ");
                } else {
                    l_.put("shared secret not supplied with -M, ");
                }
                l_.put("can't check - ");
                for (std::size_t i = 0; i < 16; ++i) l_.hex(*tp.u8(cp + i), 2);
                break;
            case 20:  // scps
                datalen = 2;
                if (auto e = lencheck(datalen)) return *e;
                l_.put(" cap ").hex(*tp.u8(cp), 2).put(" id ").dec(*tp.u8(cp + 1));
                break;
            case 29:  // tcp-ao
                datalen = len - 2;
                if (datalen < 2) {
                    l_.put(" (invalid)");
                    break;
                }
                if (auto e = lencheck(1)) return *e;
                l_.put(" keyid ").dec(*tp.u8(cp));
                if (auto e = lencheck(2)) return *e;
                l_.put(" rnextkeyid ").dec(*tp.u8(cp + 1));
                if (datalen > 2) {
                    l_.put(" mac 0x");
                    for (std::size_t i = 2; i < datalen; ++i) {
                        if (auto e = lencheck(i + 1)) return *e;
                        l_.hex(*tp.u8(cp + i), 2);
                    }
                }
                break;
            case 0:  // eol
            case 1:  // nop
            case 4:  // sackOK
                break;
            case 28: {  // uto: raw field, then the timeout in seconds (G bit: minutes)
                datalen = 2;
                if (auto e = lencheck(datalen)) return *e;
                std::uint32_t uto = *tp.be16(cp);
                l_.put(" 0x").hex(uto);
                uto = (uto & 1) != 0 ? (uto >> 1) * 60 : uto >> 1;
                l_.put(' ').dec(uto);
                break;
            }
            case 34:  // tfo
                datalen = len - 2;
                if (auto e = lencheck(datalen)) return *e;
                l_.put(' ');
                tcp_fastopen(tp, cp, datalen, false);
                break;
            case 254: {  // experimental (RFC 6994)
                datalen = len - 2;
                if (auto e = lencheck(datalen)) return *e;
                if (datalen < 2) return OptEnd::Bad;
                const std::uint16_t magic = *tp.be16(cp);
                l_.put('-');
                if (magic == 0xf989) {
                    tcp_fastopen(tp, cp + 2, datalen - 2, true);
                } else {
                    l_.hex(magic, 4);
                }
                break;
            }
            case 30:  // mptcp
                datalen = len - 2;
                if (auto e = lencheck(datalen)) return *e;
                // mptcp_print() renames the protocol, so a later truncation says "[|mptcp]".
                l_.proto = "mptcp";
                if (!mptcp(Bytes(tp.at(cp - 2), len), flags)) return OptEnd::Bad;
                break;
            default:
                datalen = len - 2;
                if (datalen != 0) l_.put(" 0x");
                for (std::size_t i = 0; i < datalen; ++i) {
                    if (auto e = lencheck(i + 1)) return *e;
                    l_.hex(*tp.u8(cp + i), 2);
                }
                break;
        }
        // Fixed-size options consume only their fixed size: any other declared length is
        // annotated and the remaining bytes are read as further options, as tcpdump does.
        cp += datalen;
        hlen -= datalen;
        const std::size_t consumed = datalen + (zero_len ? 1 : 2);
        if (consumed != len) l_.put("[len ").dec(len).put(']');
        sep = ',';
        if (opt == 0) break;
    }
    return OptEnd::Done;
}

// mptcp_print() (RFC 8684). `opt` is the whole option, kind and length bytes included,
// all captured. Returns false where tcpdump's sub-printer rejects the option, which
// tcp_print() reports as "[bad opt]".
bool PacketPrinter::mptcp(Bytes o, std::uint8_t flags) {
    constexpr std::uint8_t kSyn = 0x02, kAck = 0x10;
    const std::size_t len = o.size();
    if (len < 3) return false;
    auto be64 = [&o](std::size_t off) { return std::uint64_t{load_be32(&o[off])} << 32 | load_be32(&o[off + 4]); };
    // Subtypes past fast-close (including MP_TCPRST, 8) are "unknown" in tcpdump 4.99.
    static constexpr std::string_view kNames[] = {"capable", "join", "dss",        "add-addr", "rem-addr",
                                                  "prio",    "fail", "fast-close", "unknown"};
    const std::size_t subtype = std::min<std::size_t>(o[2] >> 4, 8);
    l_.put(' ').dec(len).put(' ').put(kNames[subtype]);
    switch (subtype) {
        case 0: {  // MP_CAPABLE
            if (!((len == 12 || len == 4) && (flags & kSyn) != 0) &&
                !((len == 20 || len == 22) && (flags & (kSyn | kAck)) == kAck)) {
                return false;
            }
            const unsigned version = o[2] & 0x0f;
            if (version > 1) {
                l_.put(" Unknown Version (").dec(version).put(')');
                return true;
            }
            l_.put(" v").dec(version);
            const bool csum = (o[3] & 0x80) != 0;
            if (csum) l_.put(" csum");
            if (len == 12 || len >= 20) {
                l_.put(" {0x").hex(be64(4));
                if (len >= 20) l_.put(",0x").hex(be64(12));
                l_.put('}');
            }
            return true;
        }
        case 1:  // MP_JOIN
            if (!(len == 12 && (flags & kSyn) != 0) && !(len == 16 && (flags & (kSyn | kAck)) == (kSyn | kAck)) &&
                !(len == 24 && (flags & kAck) != 0)) {
                return false;
            }
            if (len != 24) {
                if ((o[2] & 0x01) != 0) l_.put(" backup");
                l_.put(" id ").dec(o[3]);
            }
            if (len == 12) {
                l_.put(" token 0x").hex(load_be32(&o[4])).put(" nonce 0x").hex(load_be32(&o[8]));
            } else if (len == 16) {
                l_.put(" hmac 0x").hex(be64(4)).put(" nonce 0x").hex(load_be32(&o[12]));
            } else {
                l_.put(" hmac 0x");
                for (std::size_t i = 4; i < 24; ++i) l_.hex(o[i], 2);
            }
            return true;
        case 2: {  // DSS
            if (len < 4 || (flags & kSyn) != 0) return false;
            const std::uint8_t f = o[3];
            std::size_t at = 4, left = len - 4;
            auto field = [&](std::size_t n) -> bool {  // prints the next n-byte number
                if (left < n) return false;
                if (n == 8) {
                    l_.dec(be64(at));
                } else if (n == 4) {
                    l_.dec(load_be32(&o[at]));
                } else {
                    l_.dec(load_be16(&o[at]));
                }
                at += n, left -= n;
                return true;
            };
            if ((f & 0x10) != 0) l_.put(" fin");
            if ((f & 0x01) != 0) {  // data ACK, 8 bytes with 'a'
                l_.put(" ack ");
                if (!field((f & 0x02) != 0 ? 8 : 4)) return false;
            }
            if ((f & 0x04) != 0) {  // DSN (8 bytes with 'm'), subflow seq, data-level length
                l_.put(" seq ");
                if (!field((f & 0x08) != 0 ? 8 : 4)) return false;
                if (left < 4) return false;
                l_.put(" subseq ");
                (void)field(4);
                if (left < 2) return false;
                l_.put(" len ");
                (void)field(2);
                if (left >= 2) {
                    l_.put(" csum 0x").hex(load_be16(&o[at]));
                    left -= 2;
                }
            }
            return left == 0;
        }
        case 3: {  // ADD_ADDR
            if (!(len == 8 || len == 10 || len == 16 || len == 18 || len == 20 || len == 22 || len == 28 ||
                  len == 30)) {
                return false;
            }
            switch (o[2] & 0x0f) {
                case 0x6: l_.put(" v0-ip6"); break;
                case 0x4: l_.put(" v0-ip4"); break;
                case 0x1: l_.put(" v1-echo"); break;
                case 0x0: l_.put(" v1"); break;
                default: l_.put(" [bad version/echo]"); break;
            }
            l_.put(" id ").dec(o[3]);
            if (len == 8 || len == 10 || len == 16 || len == 18) {
                l_.put(' ').ipv4(&o[4]);
                if (len == 10 || len == 18) l_.put(':').dec(load_be16(&o[8]));
                if (len == 16) l_.put(" hmac 0x").hex(be64(8));
                if (len == 18) l_.put(" hmac 0x").hex(be64(10));
            } else {
                l_.put(' ').ipv6(&o[4]);
                if (len == 22 || len == 30) l_.put(':').dec(load_be16(&o[20]));
                if (len == 28) l_.put(" hmac 0x").hex(be64(20));
                if (len == 30) l_.put(" hmac 0x").hex(be64(22));
            }
            return true;
        }
        case 4:  // REMOVE_ADDR
            if (len < 4) return false;
            l_.put(" id");
            for (std::size_t i = 3; i < len; ++i) l_.put(' ').dec(o[i]);
            return true;
        case 5:  // MP_PRIO
            if (len != 3 && len != 4) return false;
            l_.put((o[2] & 0x01) != 0 ? " backup" : " non-backup");
            if (len == 4) l_.put(" id ").dec(o[3]);
            return true;
        case 6:  // MP_FAIL
            if (len != 12) return false;
            l_.put(" seq ").dec(be64(4));
            return true;
        case 7:  // MP_FASTCLOSE
            if (len != 12) return false;
            l_.put(" key 0x").hex(be64(4));
            return true;
        default:
            return true;
    }
}

// print_tcp_fastopen_option(). The body was checked as captured by the caller.
void PacketPrinter::tcp_fastopen(Snap tp, std::size_t off, std::size_t datalen, bool experimental) {
    if (experimental) l_.put("tfo");
    if (datalen == 0) {
        l_.put(" cookiereq");
    } else if (datalen % 2 != 0 || datalen < 4 || datalen > 16) {
        l_.put(" (invalid)");
    } else {
        l_.put(" cookie ");
        for (std::size_t i = 0; i < datalen; ++i) l_.hex(*tp.u8(off + i), 2);
    }
}

// txtproto_print(): the protocol's name in capitals, then ": " and the first line of
// the payload if it looks like a request or response: with `commands`, the first token
// must be one of them or the response code (3 digits; the second token when
// `code_second`) must be present; without, every payload qualifies.
Status PacketPrinter::text_protocol(Snap p, std::uint32_t len, std::string_view name,
                                    std::span<const std::string_view> commands, bool code_second) {
    l_.proto = name;
    bool request_or_response = commands.empty();
    if (!commands.empty()) {
        std::string token;
        std::size_t idx = text_token(p, 0, len, token);
        if (idx != 0) {
            for (std::string_view cmd : commands) {
                if (equal_ignoring_case(token, cmd)) {
                    request_or_response = true;
                    break;
                }
            }
            if (code_second) idx = text_token(p, idx, len, token);
            if (idx != 0 && token.size() == 3 &&
                std::all_of(token.begin(), token.end(), [](char c) { return c >= '0' && c <= '9'; })) {
                request_or_response = true;
            }
        }
    }
    for (char c : name) l_.put(c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c);
    if (!request_or_response) return Status::Ok;
    // print_txt_line() with prefix ": ": the first line if it is printable ASCII and
    // ends in LF or CR LF within the payload.
    for (std::size_t i = 0; i < len; ++i) {
        auto c = p.u8(i);
        if (!c) return Status::Truncated;
        if (*c == '\n' || *c == '\r') {
            if (*c == '\r') {
                if (i + 1 >= len) return Status::Ok;
                auto next = p.u8(i + 1);
                if (!next) return Status::Truncated;
                if (*next != '\n') return Status::Ok;
            }
            l_.put(": ").put(std::string_view(reinterpret_cast<const char*>(p.at(0)), i));
            return Status::Ok;
        }
        if (!ascii_print(*c) && *c != '\t') return Status::Ok;
    }
    // No end of line inside the payload: tcpdump prints what it has, then the marker.
    l_.put(": ").put(std::string_view(reinterpret_cast<const char*>(p.at(0)), len));
    return Status::Truncated;
}

// fetch_token(): the token starting at `idx` (printable ASCII up to a blank or line
// end, at most 127 characters), then any blanks after it. Returns the index after them,
// or 0 when there is no token.
std::size_t PacketPrinter::text_token(Snap p, std::size_t idx, std::uint32_t len, std::string& token) {
    token.clear();
    for (; idx < len; ++idx) {
        auto c = p.u8(idx);
        if (!c) return 0;
        if ((*c & 0x80) != 0) return 0;
        if (*c == ' ' || *c == '\t' || *c == '\r' || *c == '\n') break;
        if (!ascii_print(*c)) return 0;
        if (token.size() + 2 > 129) return 0;
        token.push_back(static_cast<char>(*c));
    }
    if (token.empty()) return 0;
    for (; idx < len; ++idx) {
        auto c = p.u8(idx);
        if (!c) break;
        if (*c == '\r' || *c == '\n') break;
        if (!ascii_print(*c)) break;
        if (*c != ' ' && *c != '\t') break;
    }
    return idx;
}

}  // namespace ustcp::wire
