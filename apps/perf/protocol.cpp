#include "protocol.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace ustcp::perf {

namespace {

void put32(std::uint8_t* p, std::uint32_t v) noexcept {
    p[0] = static_cast<std::uint8_t>(v >> 24);
    p[1] = static_cast<std::uint8_t>(v >> 16);
    p[2] = static_cast<std::uint8_t>(v >> 8);
    p[3] = static_cast<std::uint8_t>(v);
}
std::uint32_t get32(const std::uint8_t* p) noexcept {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}
constexpr std::uint8_t kMagic[4] = {'U', 'S', 'P', 'F'};

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}
std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

}  // namespace

std::string_view to_string(Mode m) noexcept {
    switch (m) {
        case Mode::Bulk: return "bulk";
        case Mode::Rr: return "rr";
        case Mode::Crr: return "crr";
        case Mode::Hold: return "hold";
        case Mode::Http: return "http";
        case Mode::Iperf: return "iperf";
    }
    return "?";
}

std::optional<Mode> parse_mode(std::string_view s) noexcept {
    for (Mode m : {Mode::Bulk, Mode::Rr, Mode::Crr, Mode::Hold, Mode::Http, Mode::Iperf}) {
        if (s == to_string(m)) return m;
    }
    return std::nullopt;
}

std::string_view to_string(HeaderError e) noexcept {
    switch (e) {
        case HeaderError::BadMagic: return "bad_magic";
        case HeaderError::BadVersion: return "bad_version";
        case HeaderError::BadMode: return "bad_mode";
        case HeaderError::BadDirection: return "bad_direction";
        case HeaderError::BadFlags: return "bad_flags";
        case HeaderError::BadSize: return "bad_size";
    }
    return "?";
}

std::array<std::uint8_t, kHeaderSize> encode_header(const Header& h) noexcept {
    std::array<std::uint8_t, kHeaderSize> b{};
    std::copy(std::begin(kMagic), std::end(kMagic), b.begin());
    b[4] = kVersion;
    b[5] = static_cast<std::uint8_t>(h.mode);
    b[6] = static_cast<std::uint8_t>(h.direction);
    b[7] = 0;
    put32(b.data() + 8, h.req_size);
    put32(b.data() + 12, h.resp_size);
    return b;
}

Result<Header, HeaderError> parse_header(std::span<const std::uint8_t, kHeaderSize> b) noexcept {
    if (!std::equal(std::begin(kMagic), std::end(kMagic), b.begin())) return Err(HeaderError::BadMagic);
    if (b[4] != kVersion) return Err(HeaderError::BadVersion);
    Header h;
    switch (b[5]) {
        case 1: h.mode = Mode::Bulk; break;
        case 2: h.mode = Mode::Rr; break;
        case 3: h.mode = Mode::Crr; break;
        case 4: h.mode = Mode::Hold; break;
        default: return Err(HeaderError::BadMode);
    }
    if (b[6] > 1 || (b[6] == 1 && h.mode != Mode::Bulk)) return Err(HeaderError::BadDirection);
    h.direction = static_cast<Direction>(b[6]);
    if (b[7] != 0) return Err(HeaderError::BadFlags);
    h.req_size = get32(b.data() + 8);
    h.resp_size = get32(b.data() + 12);
    const bool sized = h.mode == Mode::Rr || h.mode == Mode::Crr;
    if (sized) {
        if (h.req_size == 0 || h.req_size > kMaxMessage || h.resp_size == 0 || h.resp_size > kMaxMessage) {
            return Err(HeaderError::BadSize);
        }
    } else if (h.req_size != 0 || h.resp_size != 0) {
        return Err(HeaderError::BadSize);
    }
    return h;
}

std::array<std::uint8_t, 60> iperf2_client_header(std::uint32_t seconds, std::uint16_t port) noexcept {
    std::array<std::uint8_t, 60> b{};
    // flags: HEADER_EXTEND (0x40000000) | HEADER_LEN_BIT (0x00010000) | length 60 << 1.
    put32(b.data(), 0x40000000u | 0x00010000u | (60u << 1));
    put32(b.data() + 4, 1);     // numThreads
    put32(b.data() + 8, port);  // the client's -L (dual tests only)
    // bufferlen and window: 0, as 2.1.8 sends them
    const std::int64_t amount = -static_cast<std::int64_t>(std::min<std::uint32_t>(seconds, 20'000'000u)) * 100;
    put32(b.data() + 20, static_cast<std::uint32_t>(static_cast<std::int32_t>(amount)));
    // type, length, upper/lower flags: 0; the version words 2.1 and 8, 3 (final).
    put32(b.data() + 36, 0x00020001u);
    put32(b.data() + 40, 0x00080003u);
    return b;
}

std::string http_request(std::string_view host, std::string_view path, bool close) {
    std::string r = "GET ";
    r += path;
    r += " HTTP/1.1\r\nHost: ";
    r += host;
    r += "\r\nUser-Agent: ustcp-perf\r\n";
    if (close) r += "Connection: close\r\n";
    r += "\r\n";
    return r;
}

std::size_t HttpResponseReader::feed(std::span<const std::uint8_t> in, std::optional<Response>& done) {
    done.reset();
    std::size_t used = 0;
    while (used < in.size() && state_ != State::Failed && !done) {
        if (state_ == State::Head) {
            // Byte by byte up to the blank line: heads are small, and the body must not be eaten.
            const auto c = static_cast<char>(in[used++]);
            head_.push_back(c);
            if (head_.size() > kMaxHead) {
                error_ = "response head above " + std::to_string(kMaxHead) + " bytes";
                state_ = State::Failed;
                break;
            }
            if (head_.size() >= 4 && head_.compare(head_.size() - 4, 4, "\r\n\r\n") == 0) {
                if (!parse_head()) {
                    state_ = State::Failed;
                    break;
                }
                head_.clear();
                if (body_left_ && *body_left_ == 0) {
                    state_ = State::Head;
                    done = cur_;
                } else {
                    state_ = State::Body;
                }
            }
        } else {  // Body
            std::size_t n = in.size() - used;
            if (body_left_) n = static_cast<std::size_t>(std::min<std::uint64_t>(n, *body_left_));
            used += n;
            if (body_left_) {
                *body_left_ -= n;
                if (*body_left_ == 0) {
                    state_ = State::Head;
                    done = cur_;
                }
            }
        }
    }
    return used;
}

std::optional<HttpResponseReader::Response> HttpResponseReader::on_eof() {
    if (state_ == State::Body && !body_left_) {
        state_ = State::Head;
        return cur_;
    }
    return std::nullopt;
}

bool HttpResponseReader::parse_head() {
    std::string_view h(head_);
    const std::size_t eol = h.find("\r\n");
    const std::string_view status_line = h.substr(0, eol);
    // "HTTP/1.x SSS reason"
    if (!status_line.starts_with("HTTP/1.") || status_line.size() < 12 || status_line[8] != ' ') {
        error_ = "not an HTTP/1.x status line";
        return false;
    }
    int status = 0;
    const auto sv = status_line.substr(9, 3);
    auto [p, ec] = std::from_chars(sv.data(), sv.data() + sv.size(), status);
    if (ec != std::errc{} || p != sv.data() + 3 || status < 100 || status > 999) {
        error_ = "bad status code";
        return false;
    }
    // HTTP/1.0 closes after each response unless it says keep-alive (RFC 9112 9.3).
    cur_ = Response{status, status_line[7] == '0'};
    body_left_.reset();
    std::string_view rest = h.substr(eol + 2);
    while (!rest.empty()) {
        const std::size_t e = rest.find("\r\n");
        const std::string_view line = rest.substr(0, e);
        rest.remove_prefix(e + 2);
        if (line.empty()) break;
        const std::size_t colon = line.find(':');
        if (colon == std::string_view::npos) {
            error_ = "header line without ':'";
            return false;
        }
        const std::string_view name = line.substr(0, colon);
        const std::string_view value = trim(line.substr(colon + 1));
        if (iequals(name, "Content-Length")) {
            std::uint64_t n = 0;
            auto [q, ec2] = std::from_chars(value.data(), value.data() + value.size(), n);
            if (ec2 != std::errc{} || q != value.data() + value.size()) {
                error_ = "bad Content-Length";
                return false;
            }
            body_left_ = n;
        } else if (iequals(name, "Transfer-Encoding") && !iequals(value, "identity")) {
            error_ = "Transfer-Encoding " + std::string(value) + " is not supported";
            return false;
        } else if (iequals(name, "Connection") && iequals(value, "close")) {
            cur_.close = true;
        } else if (iequals(name, "Connection") && iequals(value, "keep-alive")) {
            cur_.close = false;
        }
    }
    // No body: 1xx, 204, 304 (a response to HEAD is not asked for).
    if (status < 200 || status == 204 || status == 304) body_left_ = 0;
    return true;
}

}  // namespace ustcp::perf
