// packetdrill script parser: a lexer that follows packetdrill's lexer.l token
// rules (longest match, then rule order) and a recursive-descent parser over
// packetdrill's grammar for TCP scripts. Newlines are whitespace, as in
// packetdrill: statements end where the grammar says they do.
//
// Internally a failure unwinds with a private exception; parse_script turns it
// into a ParseError, so none escapes.
#include "parser.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <limits>
#include <utility>

namespace ustcp::packetdrill {

std::string ParseError::to_string() const {
    return std::to_string(loc.line) + ":" + std::to_string(loc.column) + ": " + message;
}

namespace {

// ---------------------------------------------------------------------------
// Lexer

enum class Tok : std::uint8_t {
    End,
    Word,        // [A-Za-z0-9_]+ (keywords are words; the parser reads them in context)
    Integer,     // -?[0-9]+
    Hex,         // 0x[0-9a-fA-F]+
    Float,       // -?[0-9]*\.[0-9]+
    Ipv4,        // 1.2.3.4 (only so that it is one token; the grammar here never takes it)
    String,      // "..."; value = contents
    BackQuoted,  // `...`; value = contents
    Code,        // %{ ... }%; value = contents, spaces/tabs trimmed
    Option,      // --name[=value]; value = name, option_value = value
    Ellipsis,    // ...
    Punct,       // any other single character
    Error,       // value = message; always the last token before End
};

struct Token {
    Tok kind = Tok::End;
    std::size_t begin = 0;  // byte offsets into the script text
    std::size_t end = 0;
    Location loc;
    char punct = 0;
    std::string value;
    std::optional<std::string> option_value;
};

bool is_word_char(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}
bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
bool is_hex_digit(char c) noexcept {
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
// packetdrill's lexer treats only space, tab and newline as blanks; CR, FF and VT
// are accepted too so that CRLF scripts parse.
bool is_blank(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string unclosed(char quote) {
    return quote == '"' ? "expected '\"' to close the string" : "expected '`' to close the command";
}

/// `[ect0]` and friends: the ECN codepoint named `w`, if it is one.
std::optional<Ecn> ecn_codepoint(std::string_view w) noexcept {
    static constexpr std::pair<std::string_view, Ecn> kCodepoints[] = {
        {"noecn", Ecn::NotEct}, {"ect0", Ecn::Ect0}, {"ect1", Ecn::Ect1}, {"ce", Ecn::Ce}, {"ect01", Ecn::AnyEct},
    };
    for (auto [name, ecn] : kCodepoints) {
        if (w == name) return ecn;
    }
    return std::nullopt;
}

class Lexer {
public:
    explicit Lexer(std::string_view text) : s_(text) {
        line_starts_.push_back(0);
        for (std::size_t i = 0; i < s_.size(); ++i) {
            if (s_[i] == '\n') line_starts_.push_back(i + 1);
        }
    }

    [[nodiscard]] Location loc_of(std::size_t off) const {
        auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), off);
        const auto line = static_cast<std::size_t>(it - line_starts_.begin());  // >= 1
        return Location{static_cast<int>(line), static_cast<int>(off - line_starts_[line - 1] + 1)};
    }

    /// All tokens, ending with End; a lexical error ends the list early with Error, End.
    std::vector<Token> run() {
        std::vector<Token> out;
        for (;;) {
            Token t = next();
            const bool stop = t.kind == Tok::End || t.kind == Tok::Error;
            out.push_back(std::move(t));
            if (stop) break;
        }
        if (out.back().kind == Tok::Error) {
            Token end;
            end.begin = end.end = s_.size();
            end.loc = loc_of(s_.size());
            out.push_back(std::move(end));
        }
        return out;
    }

private:
    [[nodiscard]] char at(std::size_t i) const noexcept { return i < s_.size() ? s_[i] : '\0'; }

    Token make(Tok kind, std::size_t begin, std::size_t end) const {
        Token t;
        t.kind = kind;
        t.begin = begin;
        t.end = end;
        t.loc = loc_of(begin);
        return t;
    }

    Token error(std::size_t begin, std::string message) const {
        Token t = make(Tok::Error, begin, begin);
        t.value = std::move(message);
        return t;
    }

    // Lengths of the candidate numeric/word tokens at p (0 = no match).
    [[nodiscard]] std::size_t word_len(std::size_t p) const {
        std::size_t q = p;
        while (is_word_char(at(q))) ++q;
        return q - p;
    }
    [[nodiscard]] std::size_t integer_len(std::size_t p) const {
        std::size_t q = p;
        if (at(q) == '-') ++q;
        const std::size_t digits = q;
        while (is_digit(at(q))) ++q;
        return q > digits ? q - p : 0;
    }
    [[nodiscard]] std::size_t hex_len(std::size_t p) const {
        if (at(p) != '0' || at(p + 1) != 'x') return 0;
        std::size_t q = p + 2;
        while (is_hex_digit(at(q))) ++q;
        return q > p + 2 ? q - p : 0;
    }
    [[nodiscard]] std::size_t float_len(std::size_t p) const {
        std::size_t q = p;
        if (at(q) == '-') ++q;
        while (is_digit(at(q))) ++q;
        if (at(q) != '.') return 0;
        const std::size_t frac = ++q;
        while (is_digit(at(q))) ++q;
        return q > frac ? q - p : 0;
    }
    [[nodiscard]] std::size_t ipv4_len(std::size_t p) const {
        std::size_t q = p;
        for (int group = 0; group < 4; ++group) {
            if (group != 0) {
                if (at(q) != '.') return 0;
                ++q;
            }
            const std::size_t digits = q;
            while (is_digit(at(q))) ++q;
            if (q == digits) return 0;
        }
        return q - p;
    }

    Token next() {
        // Blanks and comments.
        for (;;) {
            while (is_blank(at(pos_))) ++pos_;
            if (at(pos_) == '/' && at(pos_ + 1) == '/') {
                while (pos_ < s_.size() && s_[pos_] != '\n') ++pos_;
                continue;
            }
            if (at(pos_) == '/' && at(pos_ + 1) == '*') {
                const std::size_t close = s_.find("*/", pos_ + 2);
                if (close == std::string_view::npos) return error(pos_, "expected '*/' to close the comment");
                pos_ = close + 2;
                continue;
            }
            break;
        }
        const std::size_t p = pos_;
        if (p >= s_.size()) return make(Tok::End, p, p);
        const char c = s_[p];

        if (c == '"' || c == '`') {
            std::size_t q = p + 1;
            while (q < s_.size() && s_[q] != c) q += (s_[q] == '\\' && q + 1 < s_.size()) ? 2 : 1;
            if (q >= s_.size()) return error(p, unclosed(c));
            Token t = make(c == '"' ? Tok::String : Tok::BackQuoted, p, q + 1);
            t.value = std::string(s_.substr(p + 1, q - p - 1));
            pos_ = q + 1;
            return t;
        }
        if (c == '%' && at(p + 1) == '{') {
            const std::size_t close = s_.find("}%", p + 2);
            if (close == std::string_view::npos) return error(p, "expected '}%' to close the code block");
            std::size_t b = p + 2;
            std::size_t e = close;
            while (b < e && (s_[b] == ' ' || s_[b] == '\t')) ++b;
            while (e > b && (s_[e - 1] == ' ' || s_[e - 1] == '\t')) --e;
            Token t = make(Tok::Code, p, close + 2);
            t.value = std::string(s_.substr(b, e - b));
            pos_ = close + 2;
            return t;
        }
        if (c == '.' && at(p + 1) == '.' && at(p + 2) == '.') {
            pos_ = p + 3;
            return make(Tok::Ellipsis, p, p + 3);
        }
        if (c == '-' && at(p + 1) == '-' && is_word_char(at(p + 2))) return option(p);

        // Longest match among the numeric and word rules; on a tie the earlier
        // rule in lexer.l wins (float, integer, hex, word, IPv4 address).
        const std::pair<Tok, std::size_t> candidates[] = {
            {Tok::Float, float_len(p)}, {Tok::Integer, integer_len(p)}, {Tok::Hex, hex_len(p)},
            {Tok::Word, word_len(p)},   {Tok::Ipv4, ipv4_len(p)},
        };
        std::pair<Tok, std::size_t> best{Tok::Punct, 0};
        for (const auto& cand : candidates) {
            if (cand.second > best.second) best = cand;
        }
        if (best.second > 0) {
            pos_ = p + best.second;
            return make(best.first, p, pos_);
        }
        Token t = make(Tok::Punct, p, p + 1);
        t.punct = c;
        pos_ = p + 1;
        return t;
    }

    // `--name`, `--name=value`. The value runs to the next blank; quoted parts may
    // hold blanks. A value that is one quoted string loses its quotes.
    Token option(std::size_t p) {
        std::size_t q = p + 2;
        while (is_word_char(at(q))) ++q;
        Token t = make(Tok::Option, p, q);
        t.value = std::string(s_.substr(p + 2, q - p - 2));
        if (at(q) == '=') {
            const std::size_t vb = ++q;
            while (q < s_.size() && !is_blank(s_[q])) {
                const char ch = s_[q];
                if (ch == '"' || ch == '`') {
                    const std::size_t close = s_.find(ch, q + 1);
                    if (close == std::string_view::npos) return error(q, unclosed(ch));
                    q = close + 1;
                } else {
                    ++q;
                }
            }
            if (q == vb) return error(vb, "expected option value after '='");
            std::string_view v = s_.substr(vb, q - vb);
            if (v.size() >= 2 && (v.front() == '"' || v.front() == '`') && v.find(v.front(), 1) == v.size() - 1) {
                v = v.substr(1, v.size() - 2);
            }
            t.option_value = std::string(v);
            t.end = q;
        }
        pos_ = t.end;
        return t;
    }

    std::string_view s_;
    std::size_t pos_ = 0;
    std::vector<std::size_t> line_starts_;
};

// ---------------------------------------------------------------------------
// Parser

struct Failure {
    ParseError error;
};

constexpr std::uint64_t kU16 = 0xffff;
constexpr std::uint64_t kU32 = 0xffff'ffff;

class Parser {
public:
    Parser(std::string_view text, std::vector<Token> toks) : text_(text), toks_(std::move(toks)) {}

    Script parse() {
        Script script;
        while (cur().kind == Tok::Option) {
            const Token& t = take();
            script.options.push_back(ScriptOption{t.loc, t.value, t.option_value});
            if (t.value != "ip_version") continue;
            if (t.option_value == "ipv4") {
                script.ip_version = IpVersion::V4;
            } else if (t.option_value == "ipv4-mapped-ipv6") {
                script.ip_version = IpVersion::V4MappedV6;
            } else if (t.option_value == "ipv6") {
                script.ip_version = IpVersion::V6;
            } else {
                fail(t, "expected --ip_version=ipv4, ipv4-mapped-ipv6 or ipv6");
            }
        }
        if (cur().kind == Tok::BackQuoted) script.init_command = CommandEvent{take().value};

        for (;;) {
            const Token& t = cur();
            if (starts_event(t)) {
                script.events.push_back(event());
            } else if (t.kind == Tok::BackQuoted && !script.events.empty()) {
                script.cleanup_command = CommandEvent{take().value};
                if (cur().kind != Tok::End) fail(cur(), "expected end of script after the cleanup command");
                break;
            } else if (t.kind == Tok::End && !script.events.empty()) {
                break;
            } else if (t.kind == Tok::Option) {
                fail(t, "expected event time (options go before the first event)");
            } else {
                fail(t, "expected event time");
            }
        }
        return script;
    }

private:
    // --- token access -----------------------------------------------------

    /// The current token; a lexical error is reported as soon as it becomes current.
    const Token& cur() const {
        const Token& t = toks_[i_];
        if (t.kind == Tok::Error) fail(t.loc, t.value);
        return t;
    }
    /// Lookahead without the lexical-error check (an Error token matches nothing).
    [[nodiscard]] const Token& peek(std::size_t k) const { return toks_[std::min(i_ + k, toks_.size() - 1)]; }
    const Token& take() {
        const Token& t = cur();
        if (i_ + 1 < toks_.size()) ++i_;
        prev_end_ = t.end;
        return t;
    }

    static bool is_punct(const Token& t, char c) noexcept { return t.kind == Tok::Punct && t.punct == c; }
    [[nodiscard]] std::string_view text(const Token& t) const { return text_.substr(t.begin, t.end - t.begin); }
    [[nodiscard]] bool is_word(const Token& t, std::string_view w) const { return t.kind == Tok::Word && text(t) == w; }

    [[noreturn]] static void fail(Location loc, std::string message) {
        throw Failure{ParseError{loc, std::move(message)}};
    }
    [[noreturn]] static void fail(const Token& t, std::string message) { fail(t.loc, std::move(message)); }

    const Token& expect_punct(char c, std::string_view message) {
        if (!is_punct(cur(), c)) fail(cur(), std::string(message));
        return take();
    }
    void expect_word(std::string_view w, std::string_view message) {
        if (!is_word(cur(), w)) fail(cur(), std::string(message));
        take();
    }

    /// A decimal integer token in [0, max]; `what` names it in the error.
    std::uint64_t unsigned_in(std::uint64_t max, std::string_view what) {
        const Token& t = cur();
        std::uint64_t v = 0;
        if (t.kind == Tok::Integer) {
            const std::string_view s = text(t);
            auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
            if (ec == std::errc() && p == s.data() + s.size() && v <= max) {
                take();
                return v;
            }
        }
        fail(t, "expected " + std::string(what) + " in 0.." + std::to_string(max));
    }
    /// Like unsigned_in, also taking 0x... (tos, flowlabel).
    std::uint64_t unsigned_or_hex_in(std::uint64_t max, std::string_view what) {
        const Token& t = cur();
        if (t.kind == Tok::Hex) {
            const std::string_view s = text(t).substr(2);
            std::uint64_t v = 0;
            auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 16);
            if (ec == std::errc() && p == s.data() + s.size() && v <= max) {
                take();
                return v;
            }
            fail(t, "expected " + std::string(what) + " in 0.." + std::to_string(max));
        }
        return unsigned_in(max, what);
    }

    // --- times --------------------------------------------------------------

    static bool starts_event(const Token& t) noexcept {
        return t.kind == Tok::Integer || t.kind == Tok::Float || is_punct(t, '+') || is_punct(t, '*');
    }

    /// Seconds (integer or decimal) to microseconds, exactly; digits past the sixth
    /// decimal are dropped, as packetdrill's conversion truncates.
    std::int64_t time_us(std::string_view what) {
        const Token& t = cur();
        if (t.kind != Tok::Integer && t.kind != Tok::Float) fail(t, "expected " + std::string(what));
        std::string_view s = text(t);
        if (s.front() == '-') fail(t, "expected non-negative time");
        const std::size_t dot = s.find('.');
        const std::string_view whole = s.substr(0, dot);
        std::string frac = dot == std::string_view::npos ? std::string() : std::string(s.substr(dot + 1));
        if (whole.size() > 12) fail(t, "expected a time below 10^12 seconds");
        frac.resize(6, '0');
        std::int64_t secs = 0;
        std::int64_t micros = 0;
        if (!whole.empty()) std::from_chars(whole.data(), whole.data() + whole.size(), secs);
        std::from_chars(frac.data(), frac.data() + 6, micros);
        take();
        return secs * 1'000'000 + micros;
    }

    EventTime event_time() {
        EventTime et;
        if (is_punct(cur(), '*')) {
            take();
            et.kind = TimeKind::Any;
            return et;
        }
        const bool relative = is_punct(cur(), '+');
        if (relative) take();
        et.kind = relative ? TimeKind::Relative : TimeKind::Absolute;
        et.start_us = time_us("time in seconds");
        if (!is_punct(cur(), '~')) return et;
        take();
        if (relative) {
            expect_punct('+', "expected '+' (both ends of a relative range are relative)");
        } else if (is_punct(cur(), '+')) {
            fail(cur(), "expected absolute time (both ends of an absolute range are absolute)");
        }
        const Location end_loc = cur().loc;
        et.kind = relative ? TimeKind::RelativeRange : TimeKind::AbsoluteRange;
        et.end_us = time_us("end time in seconds");
        if (et.end_us < et.start_us) fail(end_loc, "expected range end >= range start");
        return et;
    }

    // --- events -------------------------------------------------------------

    Event event() {
        Event ev;
        ev.loc = cur().loc;
        ev.time = event_time();
        const Token& t = cur();
        if (is_punct(t, '<') || is_punct(t, '>')) {
            ev.action = packet();
        } else if (t.kind == Tok::Word || t.kind == Tok::Ellipsis) {
            ev.action = syscall(ev.time);
        } else if (t.kind == Tok::BackQuoted) {
            ev.action = CommandEvent{take().value};
        } else if (t.kind == Tok::Code) {
            ev.action = CodeEvent{take().value};
        } else {
            fail(t, "expected packet ('<' or '>'), system call, `command` or %{ code }%");
        }

        const auto* p = std::get_if<PacketEvent>(&ev.action);
        const bool outbound = p != nullptr && p->direction == Direction::Outbound;
        if (ev.time.kind == TimeKind::Any && !outbound) {
            fail(ev.loc, "expected an outbound packet after a '*' time");
        }
        if ((ev.time.kind == TimeKind::AbsoluteRange || ev.time.kind == TimeKind::RelativeRange) && !outbound) {
            fail(ev.loc, "expected an outbound packet after a time range");
        }
        return ev;
    }

    // --- packets ------------------------------------------------------------

    PacketEvent packet() {
        PacketEvent p;
        p.direction = is_punct(take(), '<') ? Direction::Inbound : Direction::Outbound;
        if (is_punct(cur(), '(') || is_punct(cur(), '[')) p.ip = ip_info(p.direction);
        if (is_word(cur(), "udp")) {
            p.body = udp();
        } else if (is_word(cur(), "icmp")) {
            p.body = icmp();
        } else {
            p.body = tcp(p.direction);
        }
        return p;
    }

    IpInfo ip_info(Direction dir) {
        const char close = take().punct == '(' ? ')' : ']';
        IpInfo ip;
        for (;;) {
            const Token& t = cur();
            const std::string_view w = t.kind == Tok::Word ? text(t) : std::string_view();
            // Takes the current token if it is an ECN codepoint.
            auto set_ecn = [&] {
                const Token& at = cur();
                const auto ecn = at.kind == Tok::Word ? ecn_codepoint(text(at)) : std::nullopt;
                if (!ecn) return false;
                if (ip.ecn || ip.tos) fail(at, "expected one ECN codepoint or tos, not several");
                if (*ecn == Ecn::AnyEct && dir == Direction::Inbound) {
                    fail(at, "expected noecn, ect0, ect1 or ce (ect01 only matches outbound packets)");
                }
                ip.ecn = ecn;
                take();
                return true;
            };
            if (set_ecn()) {
                // [ect0]
            } else if (w == "ecn") {
                take();
                if (!set_ecn()) fail(cur(), "expected ECN codepoint (noecn, ect0, ect1, ce, ect01)");
            } else if (w == "tos") {
                if (ip.ecn || ip.tos) fail(t, "expected one ECN codepoint or tos, not several");
                take();
                ip.tos = static_cast<std::uint8_t>(unsigned_or_hex_in(0xff, "tos"));
            } else if (w == "flowlabel") {
                take();
                ip.flow_label = static_cast<std::uint32_t>(unsigned_or_hex_in(0xfffff, "flow label"));
            } else if (w == "ttl" || w == "hlim") {
                take();
                ip.ttl = static_cast<std::uint8_t>(unsigned_in(0xff, w == "ttl" ? "ttl" : "hop limit"));
            } else {
                fail(t, "expected ECN codepoint (noecn, ect0, ect1, ce, ect01), tos, flowlabel, ttl or hlim");
            }
            if (is_punct(cur(), ',')) {
                take();
                continue;
            }
            expect_punct(close, close == ')' ? "expected ',' or ')'" : "expected ',' or ']'");
            return ip;
        }
    }

    void ports(std::optional<std::uint16_t>& src, std::optional<std::uint16_t>& dst) {
        if (cur().kind != Tok::Integer || !is_punct(peek(1), '>')) return;
        src = static_cast<std::uint16_t>(unsigned_in(kU16, "source port"));
        take();  // '>'
        dst = static_cast<std::uint16_t>(unsigned_in(kU16, "destination port"));
    }

    /// start:end(len), with end == start + len.
    void sequence(std::uint32_t& seq, std::uint32_t& end, std::uint16_t& len) {
        if (cur().kind != Tok::Integer) fail(cur(), "expected sequence numbers start:end(length)");
        seq = static_cast<std::uint32_t>(unsigned_in(kU32, "start sequence number"));
        expect_punct(':', "expected ':' (sequence numbers are start:end(length))");
        const Token& end_tok = cur();
        end = static_cast<std::uint32_t>(unsigned_in(kU32, "end sequence number"));
        expect_punct('(', "expected '(' and payload length");
        len = static_cast<std::uint16_t>(unsigned_in(kU16, "payload length"));
        expect_punct(')', "expected ')'");
        const std::uint64_t want = std::uint64_t{seq} + len;
        if (end != want) fail(end_tok, "expected end sequence number " + std::to_string(want) + " (start + length)");
    }

    std::uint16_t tcp_flags() {
        const Token& t = cur();
        const std::string_view ace_error = "expected TCP flags without AccECN ACE digits (not supported)";
        if (is_punct(t, '-')) {
            take();
            return 0;
        }
        if (is_punct(t, '.')) {
            take();
            return tcp_flag::ACK;
        }
        if (t.kind == Tok::Float && text(t).front() == '.') fail(t, std::string(ace_error));
        if (t.kind != Tok::Word) fail(t, "expected TCP flags (letters from FSRPEWAU, '.' for ACK, or '-')");
        const std::string_view w = text(t);
        if (w == "ipv4" || w == "ipv6" || w == "gre" || w == "mpls") {
            fail(t, "expected TCP flags, 'udp' or 'icmp' (encapsulation headers are not supported)");
        }
        std::uint16_t flags = 0;
        for (char ch : w) {
            switch (ch) {
            case 'F': flags |= tcp_flag::FIN; break;
            case 'S': flags |= tcp_flag::SYN; break;
            case 'R': flags |= tcp_flag::RST; break;
            case 'P': flags |= tcp_flag::PSH; break;
            case 'U': flags |= tcp_flag::URG; break;
            case 'E': flags |= tcp_flag::ECE; break;
            case 'W': flags |= tcp_flag::CWR; break;
            case 'A': flags |= tcp_flag::AE; break;
            default: fail(t, "expected TCP flags (letters from FSRPEWAU, '.' for ACK, or '-')");
            }
        }
        take();
        if (is_punct(cur(), '.')) {
            take();
            flags |= tcp_flag::ACK;
        } else if (cur().kind == Tok::Float && text(cur()).front() == '.') {
            fail(cur(), std::string(ace_error));
        }
        return flags;
    }

    TcpSegment tcp(Direction dir) {
        TcpSegment s;
        ports(s.src_port, s.dst_port);
        s.flags = tcp_flags();
        sequence(s.seq, s.seq_end, s.payload_len);
        if (is_word(cur(), "ack")) {
            take();
            s.ack = static_cast<std::uint32_t>(unsigned_in(kU32, "ack number"));
        }
        if (is_word(cur(), "win")) {
            take();
            s.window = static_cast<std::uint16_t>(unsigned_in(kU16, "window"));
        } else if (dir == Direction::Inbound) {
            fail(cur(), "expected 'win' (inbound packets need a window)");
        }
        if (is_word(cur(), "urg")) {
            take();
            s.urg_ptr = static_cast<std::uint16_t>(unsigned_in(kU16, "urgent pointer"));
        }
        if (is_punct(cur(), '<')) tcp_options(s, dir);
        if (is_word(cur(), "ack") || is_word(cur(), "win") || is_word(cur(), "urg")) {
            fail(cur(), "expected ack, win, urg and <options> in that order");
        }
        return s;
    }

    void tcp_options(TcpSegment& s, Direction dir) {
        const Token& open = take();  // '<'
        if (cur().kind == Tok::Ellipsis) {
            take();
            expect_punct('>', "expected '>'");
            if (dir == Direction::Inbound) fail(open, "expected TCP options ('<...>' only matches outbound packets)");
            s.any_options = true;
            return;
        }
        std::size_t total = 0;
        for (;;) {
            s.options.push_back(tcp_option());
            total += option_length(s.options.back());
            if (is_punct(cur(), ',')) {
                take();
                continue;
            }
            expect_punct('>', "expected ',' or '>'");
            break;
        }
        if (total > 40) {
            fail(open, "expected at most 40 bytes of TCP options (these take " + std::to_string(total) + ")");
        }
        if (total % 4 != 0) {
            fail(open, "expected TCP options padded to a multiple of 4 bytes (these take " + std::to_string(total) +
                           "; add nop)");
        }
    }

    std::vector<std::uint8_t> hex_blob(std::string_view what) {
        const Token& t = cur();
        const std::string_view s = (t.kind == Tok::Word || t.kind == Tok::Integer) ? text(t) : std::string_view();
        const bool ok = !s.empty() && s.size() % 2 == 0 && std::all_of(s.begin(), s.end(), is_hex_digit);
        if (!ok) fail(t, "expected " + std::string(what) + " as an even number of hex digits");
        std::vector<std::uint8_t> out;
        for (std::size_t i = 0; i < s.size(); i += 2) {
            std::uint8_t b = 0;
            std::from_chars(s.data() + i, s.data() + i + 2, b, 16);
            out.push_back(b);
        }
        take();
        return out;
    }

    TcpOption tcp_option() {
        const Token& t = cur();
        const std::string_view w = t.kind == Tok::Word ? text(t) : std::string_view();
        if (w == "nop") {
            take();
            return tcpopt::Nop{};
        }
        if (w == "eol") {
            take();
            return tcpopt::Eol{};
        }
        if (w == "mss") {
            take();
            return tcpopt::Mss{static_cast<std::uint16_t>(unsigned_in(kU16, "MSS"))};
        }
        if (w == "wscale") {
            take();
            return tcpopt::WindowScale{static_cast<std::uint8_t>(unsigned_in(0xff, "window scale shift"))};
        }
        if (w == "sackOK") {
            take();
            return tcpopt::SackPermitted{};
        }
        if (w == "sack") {
            take();
            tcpopt::Sack sack;
            if (cur().kind != Tok::Integer) fail(cur(), "expected SACK block left:right");
            while (cur().kind == Tok::Integer) {
                tcpopt::SackBlock b;
                b.left = static_cast<std::uint32_t>(unsigned_in(kU32, "SACK left edge"));
                expect_punct(':', "expected ':' (SACK blocks are left:right)");
                b.right = static_cast<std::uint32_t>(unsigned_in(kU32, "SACK right edge"));
                sack.blocks.push_back(b);
            }
            return sack;
        }
        if (w == "TS") {
            take();
            tcpopt::Timestamp ts;
            expect_word("val", "expected 'val'");
            ts.val = static_cast<std::uint32_t>(unsigned_in(kU32, "TS value"));
            expect_word("ecr", "expected 'ecr'");
            ts.ecr = static_cast<std::uint32_t>(unsigned_in(kU32, "TS echo reply"));
            return ts;
        }
        if (w == "FO" || w == "FOEXP") {
            take();
            tcpopt::FastOpen fo;
            fo.experimental = w == "FOEXP";
            if (cur().kind == Tok::Word || cur().kind == Tok::Integer) fo.cookie = hex_blob("Fast Open cookie");
            return fo;
        }
        if (w == "md5") {
            take();
            return tcpopt::Md5{hex_blob("MD5 digest")};
        }
        fail(t, "expected TCP option (nop, eol, mss, wscale, sackOK, sack, TS, FO, FOEXP, md5)");
    }

    UdpDatagram udp() {
        take();  // udp
        UdpDatagram u;
        ports(u.src_port, u.dst_port);
        expect_punct('(', "expected '(' and payload length");
        u.payload_len = static_cast<std::uint16_t>(unsigned_in(kU16, "payload length"));
        expect_punct(')', "expected ')'");
        return u;
    }

    IcmpMessage icmp() {
        take();  // icmp
        IcmpMessage m;
        if (cur().kind != Tok::Word) fail(cur(), "expected ICMP type (e.g. unreachable)");
        m.type = std::string(text(take()));
        if (cur().kind == Tok::Word && !is_word(cur(), "mtu") && !is_word(cur(), "id")) {
            m.code = std::string(text(take()));
        }
        if (is_word(cur(), "mtu")) {
            take();
            m.mtu = static_cast<std::uint32_t>(unsigned_in(kU32, "MTU"));
        }
        if (is_word(cur(), "id")) {
            take();
            m.id = static_cast<std::uint32_t>(unsigned_in(kU32, "echo id"));
        }
        if (is_punct(cur(), '[')) {
            take();
            if (is_word(cur(), "udp")) {
                take();
                expect_punct('(', "expected '(' and payload length");
                m.echoed = IcmpMessage::EchoedUdp{static_cast<std::uint16_t>(unsigned_in(kU16, "payload length"))};
                expect_punct(')', "expected ')'");
            } else {
                IcmpMessage::EchoedTcp e;
                sequence(e.seq, e.seq_end, e.payload_len);
                m.echoed = e;
            }
            expect_punct(']', "expected ']'");
        }
        return m;
    }

    // --- system calls -------------------------------------------------------

    SyscallEvent syscall(const EventTime& start) {
        SyscallEvent s;
        if (cur().kind == Tok::Ellipsis) {
            take();
            const Location end_loc = cur().loc;
            s.end_us = time_us("end time after '...'");
            const bool comparable = start.kind == TimeKind::Absolute || start.kind == TimeKind::Relative;
            if (comparable && *s.end_us < start.start_us) fail(end_loc, "expected end time >= start time");
        }
        if (cur().kind != Tok::Word) fail(cur(), "expected system call name");
        s.name = std::string(text(take()));
        expect_punct('(', "expected '(' after the system call name");
        s.args = expr_list(')', "expected ',' or ')'");
        expect_punct('=', "expected '=' and the expected result");
        s.result = expression();
        if (cur().kind == Tok::Word) {
            s.errno_name = std::string(text(take()));
            if (!is_punct(cur(), '(')) fail(cur(), "expected '(' and a description after " + *s.errno_name);
            s.note = paren_text();
        } else if (is_punct(cur(), '(')) {
            s.note = paren_text();
        }
        return s;
    }

    /// The raw text inside `( ... )`, nested parentheses allowed, blanks collapsed.
    std::string paren_text() {
        const Token& open = take();
        int depth = 1;
        for (;;) {
            const Token& t = cur();
            if (t.kind == Tok::End) fail(t, "expected ')'");
            if (is_punct(t, '(')) ++depth;
            if (is_punct(t, ')') && --depth == 0) {
                const std::string_view raw = text_.substr(open.end, t.begin - open.end);
                take();
                std::string out;
                bool blank = false;
                for (char ch : raw) {
                    if (is_blank(ch)) {
                        blank = !out.empty();
                        continue;
                    }
                    if (blank) out += ' ';
                    blank = false;
                    out += ch;
                }
                return out;
            }
            take();
        }
    }

    /// Items up to `close` (consumed); the opening bracket is already taken.
    std::vector<Expr> expr_list(char close, std::string_view message, bool fields = false) {
        std::vector<Expr> items;
        if (is_punct(cur(), close)) {
            take();
            return items;
        }
        for (;;) {
            items.push_back(fields ? struct_item() : expression());
            if (is_punct(cur(), ',')) {
                take();
                continue;
            }
            expect_punct(close, message);
            return items;
        }
    }

    Expr expression() { return or_chain(primary()); }

    Expr or_chain(Expr lhs) {
        while (is_punct(cur(), '|')) {
            take();
            Expr rhs = primary();
            Expr e;
            e.loc = lhs.loc;
            e.node = expr::BitOr{std::move(lhs), std::move(rhs)};
            lhs = std::move(e);
        }
        return lhs;
    }

    /// A word directly followed by '(' is a call: htons(8080).
    bool at_call() const {
        return cur().kind == Tok::Word && is_punct(peek(1), '(') && peek(1).begin == cur().end;
    }

    Expr primary() {
        const Token& t = cur();
        Expr e;
        e.loc = t.loc;
        switch (t.kind) {
        case Tok::Ellipsis:
            take();
            e.node = expr::Ellipsis{};
            return e;
        case Tok::Integer:
        case Tok::Hex: {
            const bool hex = t.kind == Tok::Hex;
            const std::string_view s = hex ? text(t).substr(2) : text(t);
            std::int64_t v = 0;
            auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, hex ? 16 : 10);
            if (ec != std::errc() || p != s.data() + s.size()) fail(t, "expected an integer that fits in 64 bits");
            take();
            e.node = expr::Integer{v, hex};
            return e;
        }
        case Tok::String: {
            expr::String str;
            while (cur().kind == Tok::String) str.text += take().value;
            if (cur().kind == Tok::Ellipsis) {
                take();
                str.trailing_ellipsis = true;
            }
            e.node = std::move(str);
            return e;
        }
        case Tok::Word: {
            std::string name(text(take()));
            if (is_punct(cur(), '(') && cur().begin == prev_end_) {
                take();
                e.node = expr::Call{std::move(name), expr_list(')', "expected ',' or ')'")};
            } else {
                e.node = expr::Word{std::move(name)};
            }
            return e;
        }
        case Tok::Punct:
            if (t.punct == '[') {
                take();
                e.node = expr::List{expr_list(']', "expected ',' or ']'")};
                return e;
            }
            if (t.punct == '{') {
                take();
                e.node = expr::Struct{expr_list('}', "expected ',' or '}'", true)};
                return e;
            }
            break;
        default:
            break;
        }
        fail(t, "expected expression");
    }

    /// Inside braces: `name=value`, `name(args)=value`, or a plain expression.
    Expr struct_item() {
        const Location loc = cur().loc;
        if (cur().kind == Tok::Word && is_punct(peek(1), '=')) {
            std::string name(text(take()));
            take();  // '='
            Expr e;
            e.loc = loc;
            e.node = expr::Field{std::move(name), {}, expression()};
            return e;
        }
        if (at_call()) {
            Expr call = primary();
            if (!is_punct(cur(), '=')) return or_chain(std::move(call));
            take();  // '='
            auto& c = std::get<expr::Call>(call.node);
            Expr e;
            e.loc = loc;
            e.node = expr::Field{std::move(c.name), std::move(c.args), expression()};
            return e;
        }
        return expression();
    }

    std::string_view text_;
    std::vector<Token> toks_;
    std::size_t i_ = 0;
    std::size_t prev_end_ = 0;
};

}  // namespace

Result<Script, ParseError> parse_script(std::string_view text) {
    Lexer lexer(text);
    Parser parser(text, lexer.run());
    try {
        return parser.parse();
    } catch (Failure& f) {
        return Err(std::move(f.error));
    }
}

}  // namespace ustcp::packetdrill
