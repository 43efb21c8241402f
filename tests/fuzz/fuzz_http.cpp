// Fuzzes --app http's request parser and router (apps/ustcp-server/http_parser.hpp). Beyond
// ASan's "no read outside the buffer", it checks the parser's promises: a complete head lies
// within the input and within the limit, a rejection carries a status and a reason, a
// parse of any prefix of an accepted head is Incomplete or the same answer, and every
// response head fits kMaxHead and ends with the empty line.
#include <array>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http_parser.hpp"

using namespace ustcp::http;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string in(reinterpret_cast<const char*>(data), size);  // exact-size copy for ASan
    Limits l;
    l.max_head = 512;
    l.max_headers = 8;
    l.max_body = 1000;
    const Parsed p = parse_request(in, l);
    Response r;
    switch (p.outcome) {
        case Outcome::Incomplete: return 0;
        case Outcome::Bad:
            if (p.status < 400 || p.status > 599 || p.why.empty()) std::abort();
            r = error_response(p.status);
            break;
        case Outcome::Ok: {
            if (p.head_len == 0 || p.head_len > in.size()) std::abort();
            if (p.req.content_length > l.max_body) std::abort();
            // The head alone parses the same; a strict prefix of it is still incomplete.
            const Parsed again = parse_request(std::string_view(in).substr(0, p.head_len), l);
            if (again.outcome != Outcome::Ok || again.head_len != p.head_len) std::abort();
            if (parse_request(std::string_view(in).substr(0, p.head_len - 1), l).outcome == Outcome::Ok) std::abort();
            r = route(p.req, 1u << 20);
            break;
        }
    }
    std::array<char, kMaxHead> head{};
    const std::size_t n = format_head(r, head);
    if (n < 4 || n >= kMaxHead || std::string_view(head.data() + n - 4, 4) != "\r\n\r\n") std::abort();
    std::array<char, 100> body{};
    if (r.length > 0) body_bytes(r, r.length - 1, std::span<char>(body.data(), 1));
    return 0;
}
