#include "http_parser.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <cstring>

namespace ustcp::http {

namespace {

constexpr std::string_view kPage =
    "<!DOCTYPE html>\n"
    "<html><head><title>ustcp</title></head>\n"
    "<body><h1>ustcp</h1><p>Served by a kernel-bypass TCP/IP stack on DPDK.</p>\n"
    "<p>GET /bytes/N returns N bytes.</p></body></html>\n";

// 63 printable characters and a newline: /bytes/N bodies are this, repeated.
constexpr std::string_view kLine = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-\n";
static_assert(kLine.size() == 64);

// RFC 9110 §5.6.2 tchar.
bool is_tchar(char c) noexcept {
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}
bool is_token(std::string_view s) noexcept {
    return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar);
}
char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}
std::string_view trim_ows(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

Parsed bad(int status, std::string_view why) noexcept {
    Parsed p;
    p.outcome = Outcome::Bad;
    p.status = status;
    p.why = why;
    return p;
}

/// The next line of `buf` from `pos`: its content without CR LF / LF, and where the next one
/// starts. False when no LF is there yet.
bool next_line(std::string_view buf, std::size_t pos, std::string_view& line, std::size_t& next) noexcept {
    const std::size_t lf = buf.find('\n', pos);
    if (lf == std::string_view::npos) return false;
    std::size_t end = lf;
    if (end > pos && buf[end - 1] == '\r') --end;
    line = buf.substr(pos, end - pos);
    next = lf + 1;
    return true;
}

// The request line (RFC 9112 §3): method SP request-target SP HTTP-version.
Parsed parse_request_line(std::string_view line, Request& req) noexcept {
    const std::size_t sp1 = line.find(' ');
    if (sp1 == std::string_view::npos) return bad(400, "request line without a target");
    const std::size_t sp2 = line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos) return bad(400, "request line without a version");
    req.method_token = line.substr(0, sp1);
    req.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    const std::string_view version = line.substr(sp2 + 1);
    if (!is_token(req.method_token)) return bad(400, "method is not a token");
    if (req.target.empty()) return bad(400, "empty request target");
    for (char c : req.target) {
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return bad(400, "request target has a control or space");
    }
    if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' || version[5] < '0' ||
        version[5] > '9' || version[7] < '0' || version[7] > '9') {
        return bad(400, "malformed HTTP version");
    }
    if (version[5] != '1' || (version[7] != '0' && version[7] != '1')) return bad(505, "HTTP version not supported");
    req.minor = static_cast<unsigned>(version[7] - '0');
    req.keep_alive = req.minor == 1;
    // Methods are case-sensitive (RFC 9110 §9.1).
    if (req.method_token == "GET") req.method = Method::Get;
    else if (req.method_token == "HEAD") req.method = Method::Head;
    else req.method = Method::Other;
    Parsed p;
    p.outcome = Outcome::Ok;
    return p;
}

}  // namespace

Parsed parse_request(std::string_view buf, const Limits& limits) noexcept {
    std::size_t pos = 0;
    std::string_view line;
    std::size_t next = 0;
    // RFC 9112 §2.2: empty lines before the request line are ignored.
    for (;;) {
        if (!next_line(buf, pos, line, next)) {
            if (buf.size() - pos > limits.max_head) return bad(414, "request line too long");
            return {};
        }
        if (!line.empty()) break;
        pos = next;
        if (pos > limits.max_head) return bad(400, "only empty lines");
    }
    const std::size_t start = pos;
    if (next - start > limits.max_head) return bad(414, "request line too long");
    Request req;
    if (Parsed p = parse_request_line(line, req); p.outcome != Outcome::Ok) return p;

    std::size_t fields = 0;
    bool have_length = false;
    bool have_host = false;
    bool conn_close = false;
    bool conn_keep = false;
    pos = next;
    for (;;) {
        if (!next_line(buf, pos, line, next)) {
            if (buf.size() - start > limits.max_head) return bad(431, "header section too large");
            return {};
        }
        if (next - start > limits.max_head) return bad(431, "header section too large");
        pos = next;
        if (line.empty()) break;
        if (++fields > limits.max_headers) return bad(431, "too many header fields");
        if (line.front() == ' ' || line.front() == '\t') return bad(400, "obsolete line folding");
        const std::size_t colon = line.find(':');
        if (colon == std::string_view::npos) return bad(400, "header field without ':'");
        const std::string_view name = line.substr(0, colon);
        if (!is_token(name)) return bad(400, "header field name is not a token (or has whitespace before ':')");
        const std::string_view value = trim_ows(line.substr(colon + 1));
        for (char c : value) {
            const auto u = static_cast<unsigned char>(c);
            if ((u < 0x20 && c != '\t') || u == 0x7f) return bad(400, "control character in a field value");
        }
        if (iequals(name, "content-length")) {
            std::uint64_t v = 0;
            if (value.empty() || !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
                return bad(400, "Content-Length is not a number");
            }
            auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
            if (ec != std::errc{} || p != value.data() + value.size()) return bad(400, "Content-Length too large");
            if (have_length && v != req.content_length) return bad(400, "conflicting Content-Length fields");
            have_length = true;
            req.content_length = v;
        } else if (iequals(name, "transfer-encoding")) {
            return bad(501, "Transfer-Encoding in a request is not supported");
        } else if (iequals(name, "host")) {
            if (have_host) return bad(400, "more than one Host field");
            have_host = true;
        } else if (iequals(name, "connection")) {
            std::string_view rest = value;
            while (!rest.empty()) {
                const std::size_t comma = rest.find(',');
                const std::string_view opt = trim_ows(rest.substr(0, comma));
                if (iequals(opt, "close")) conn_close = true;
                else if (iequals(opt, "keep-alive")) conn_keep = true;
                if (comma == std::string_view::npos) break;
                rest.remove_prefix(comma + 1);
            }
        }
    }
    // RFC 9112 §3.2: a 1.1 request without Host (or with several) is answered with 400.
    if (req.minor == 1 && !have_host) return bad(400, "HTTP/1.1 request without Host");
    if (req.content_length > limits.max_body) return bad(413, "request body too large");
    if (conn_close) req.keep_alive = false;
    else if (conn_keep) req.keep_alive = true;

    Parsed p;
    p.outcome = Outcome::Ok;
    p.head_len = pos;
    p.req = req;
    return p;
}

Response error_response(int status) noexcept {
    Response r;
    r.status = status;
    r.body = Body::Text;
    char tmp[64];
    const std::string_view why = reason(status);
    r.length = static_cast<std::uint64_t>(std::snprintf(tmp, sizeof tmp, "%d %.*s\n", status,
                                                        static_cast<int>(why.size()), why.data()));
    r.close = true;
    return r;
}

Response route(const Request& req, std::uint64_t max_bytes) noexcept {
    Response r;
    std::string_view path = req.target;
    if (path.size() >= 7 && iequals(path.substr(0, 7), "http://")) {
        const std::size_t slash = path.find('/', 7);
        path = slash == std::string_view::npos ? std::string_view("/") : path.substr(slash);
    }
    path = path.substr(0, path.find('?'));
    if (req.method == Method::Other) {
        r = error_response(405);
    } else if (path == "/") {
        r.body = Body::Page;
        r.length = kPage.size();
    } else if (path.substr(0, 7) == "/bytes/" && path.size() > 7 && path.size() <= 7 + 20 &&
               std::all_of(path.begin() + 7, path.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        std::uint64_t n = 0;
        auto [p, ec] = std::from_chars(path.data() + 7, path.data() + path.size(), n);
        if (ec != std::errc{} || n > max_bytes) {
            r = error_response(400);
            r.close = false;
        } else {
            r.body = Body::Bytes;
            r.length = n;
        }
    } else {
        r = error_response(404);
        r.close = false;
    }
    // Every answer to a well-formed request keeps the connection unless the client closes it.
    r.close = !req.keep_alive;
    r.keep_alive_header = !r.close && req.minor == 0;
    r.send_body = req.method != Method::Head;
    return r;
}

std::string_view reason(int status) noexcept {
    switch (status) {
        case 200: return "OK";
        case 400: return "Bad Request";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 408: return "Request Timeout";
        case 413: return "Content Too Large";
        case 414: return "URI Too Long";
        case 431: return "Request Header Fields Too Large";
        case 501: return "Not Implemented";
        case 505: return "HTTP Version Not Supported";
        default: return "Unknown";
    }
}

std::size_t format_head(const Response& r, std::span<char, kMaxHead> out) noexcept {
    const std::string_view why = reason(r.status);
    const char* type = r.body == Body::Page ? "text/html; charset=utf-8"
                       : r.body == Body::Bytes ? "application/octet-stream"
                                               : "text/plain";
    const char* conn = r.close ? "Connection: close\r\n" : r.keep_alive_header ? "Connection: keep-alive\r\n" : "";
    const char* allow = r.status == 405 ? "Allow: GET, HEAD\r\n" : "";
    const int n = std::snprintf(out.data(), out.size(),
                                "HTTP/1.1 %d %.*s\r\nServer: ustcp\r\nContent-Type: %s\r\nContent-Length: %llu\r\n%s%s\r\n",
                                r.status, static_cast<int>(why.size()), why.data(), type,
                                static_cast<unsigned long long>(r.length), conn, allow);
    return n < 0 ? 0 : std::min(static_cast<std::size_t>(n), out.size() - 1);
}

void body_bytes(const Response& r, std::uint64_t offset, std::span<char> out) noexcept {
    switch (r.body) {
        case Body::Page:
            for (std::size_t i = 0; i < out.size(); ++i) out[i] = offset + i < kPage.size() ? kPage[offset + i] : ' ';
            return;
        case Body::Bytes:
            for (std::size_t i = 0; i < out.size();) {
                const std::size_t at = (offset + i) % kLine.size();
                const std::size_t n = std::min(kLine.size() - at, out.size() - i);
                std::memcpy(out.data() + i, kLine.data() + at, n);
                i += n;
            }
            return;
        case Body::Text: {
            char tmp[64];
            const std::string_view why = reason(r.status);
            const int n = std::snprintf(tmp, sizeof tmp, "%d %.*s\n", r.status, static_cast<int>(why.size()), why.data());
            for (std::size_t i = 0; i < out.size(); ++i) {
                out[i] = offset + i < static_cast<std::size_t>(n) ? tmp[offset + i] : ' ';
            }
            return;
        }
    }
}

std::string_view page() noexcept { return kPage; }

}  // namespace ustcp::http
