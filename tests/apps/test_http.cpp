// apps/ustcp-server/http_parser: request heads parsed or rejected with the right status, the
// router's answers, and the response heads and bodies it produces.
#include <gtest/gtest.h>

#include <array>
#include <string>

#include "http_parser.hpp"

using namespace ustcp::http;

namespace {

Parsed parse(std::string_view s, Limits l = {}) { return parse_request(s, l); }

std::string head_of(const Response& r) {
    std::array<char, kMaxHead> buf{};
    return std::string(buf.data(), format_head(r, buf));
}

std::string body_of(const Response& r) {
    std::string b(r.length, '\0');
    body_bytes(r, 0, std::span<char>(b.data(), b.size()));
    return b;
}

}  // namespace

TEST(HttpParse, SimpleGet) {
    const std::string req = "GET /index HTTP/1.1\r\nHost: x\r\nUser-Agent: t\r\n\r\n";
    Parsed p = parse(req);
    ASSERT_EQ(p.outcome, Outcome::Ok) << p.why;
    EXPECT_EQ(p.head_len, req.size());
    EXPECT_EQ(p.req.method, Method::Get);
    EXPECT_EQ(p.req.target, "/index");
    EXPECT_EQ(p.req.minor, 1u);
    EXPECT_TRUE(p.req.keep_alive);
    EXPECT_EQ(p.req.content_length, 0u);
}

TEST(HttpParse, IncompleteUntilTheEmptyLine) {
    const std::string req = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    for (std::size_t n = 0; n < req.size(); ++n) {
        EXPECT_EQ(parse(req.substr(0, n)).outcome, Outcome::Incomplete) << n;
    }
    EXPECT_EQ(parse(req).outcome, Outcome::Ok);
}

TEST(HttpParse, PipelinedRequestsOneAtATime) {
    const std::string a = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
    const std::string b = "HEAD /b HTTP/1.1\r\nHost: x\r\n\r\n";
    const std::string both = a + b;
    Parsed p = parse(both);
    ASSERT_EQ(p.outcome, Outcome::Ok);
    EXPECT_EQ(p.head_len, a.size());
    EXPECT_EQ(p.req.target, "/a");
    Parsed q = parse(std::string_view(both).substr(p.head_len));
    ASSERT_EQ(q.outcome, Outcome::Ok);
    EXPECT_EQ(q.req.method, Method::Head);
    EXPECT_EQ(q.req.target, "/b");
}

TEST(HttpParse, LfOnlyLinesAndLeadingEmptyLines) {
    Parsed p = parse("\r\n\nGET / HTTP/1.0\nHost: x\n\n");
    ASSERT_EQ(p.outcome, Outcome::Ok) << p.why;
    EXPECT_EQ(p.req.minor, 0u);
}

TEST(HttpParse, KeepAliveByVersionAndConnection) {
    EXPECT_TRUE(parse("GET / HTTP/1.1\r\nHost: x\r\n\r\n").req.keep_alive);
    EXPECT_FALSE(parse("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").req.keep_alive);
    EXPECT_FALSE(parse("GET / HTTP/1.1\r\nHost: x\r\nconnection: Upgrade, CLOSE\r\n\r\n").req.keep_alive);
    EXPECT_FALSE(parse("GET / HTTP/1.0\r\n\r\n").req.keep_alive);
    EXPECT_TRUE(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").req.keep_alive);
}

TEST(HttpParse, ContentLength) {
    Parsed p = parse("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n\r\nhello world!");
    ASSERT_EQ(p.outcome, Outcome::Ok);
    EXPECT_EQ(p.req.content_length, 12u);
    EXPECT_EQ(p.req.method, Method::Other);
    // The same value twice is allowed; different values, signs and junk are not.
    EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n").outcome, Outcome::Ok);
    EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n").status, 400);
    EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n").status, 400);
    EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n").status, 400);
    EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n").status, 400);
    EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 8193\r\n\r\n").status, 413);
    EXPECT_EQ(parse("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n").status, 501);
}

TEST(HttpParse, MalformedIs400) {
    for (const char* bad : {
             "garbage\r\n\r\n",
             "GET /\r\n\r\n",
             "GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n",
             "GET / HTTX/1.1\r\nHost: x\r\n\r\n",
             "G(T / HTTP/1.1\r\nHost: x\r\n\r\n",
             "GET  / HTTP/1.1\r\nHost: x\r\n\r\n",
             "GET / HTTP/1.1\r\n\r\n",                        // no Host
             "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",   // two Hosts
             "GET / HTTP/1.1\r\nHost: x\r\nBad : v\r\n\r\n",   // whitespace before ':'
             "GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n",
             "GET / HTTP/1.1\r\nHost: x\r\nA: b\r\n folded\r\n\r\n",
             "GET / HTTP/1.1\r\nHost: x\r\nA: b\x01\r\n\r\n",
         }) {
        Parsed p = parse(bad);
        EXPECT_EQ(p.outcome, Outcome::Bad) << bad;
        EXPECT_EQ(p.status, 400) << bad << ": " << p.why;
        EXPECT_FALSE(p.why.empty());
    }
    EXPECT_EQ(parse("GET / HTTP/2.0\r\nHost: x\r\n\r\n").status, 505);
}

TEST(HttpParse, LimitsGive414And431) {
    Limits l;
    l.max_head = 100;
    l.max_headers = 3;
    EXPECT_EQ(parse("GET /" + std::string(200, 'a'), l).status, 414);  // no line end yet, already too long
    EXPECT_EQ(parse("GET /" + std::string(200, 'a') + " HTTP/1.1\r\n\r\n", l).status, 414);
    EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost: x\r\nX: " + std::string(200, 'b'), l).status, 431);
    EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", l).status, 431);
    EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\n\r\n", l).outcome, Outcome::Ok);
}

TEST(HttpRoute, PagesBytesAndErrors) {
    Request r;
    r.method = Method::Get;
    r.target = "/";
    Response a = route(r, 1000);
    EXPECT_EQ(a.status, 200);
    EXPECT_EQ(a.body, Body::Page);
    EXPECT_EQ(a.length, page().size());
    EXPECT_FALSE(a.close);
    EXPECT_EQ(body_of(a), page());

    r.target = "/bytes/1000?x=1";
    Response b = route(r, 1000);
    EXPECT_EQ(b.status, 200);
    EXPECT_EQ(b.length, 1000u);
    const std::string body = body_of(b);
    EXPECT_EQ(body.substr(0, 10), "0123456789");
    EXPECT_EQ(body[63], '\n');
    EXPECT_EQ(body.substr(64, 10), "0123456789");
    // A piece from an offset is the same bytes as the whole.
    std::string piece(100, '\0');
    body_bytes(b, 900, std::span<char>(piece.data(), piece.size()));
    EXPECT_EQ(piece, body.substr(900));

    r.target = "/bytes/1001";
    EXPECT_EQ(route(r, 1000).status, 400);
    r.target = "/bytes/12a";
    EXPECT_EQ(route(r, 1000).status, 404);
    r.target = "/bytes/";
    EXPECT_EQ(route(r, 1000).status, 404);
    r.target = "/nope";
    Response n = route(r, 1000);
    EXPECT_EQ(n.status, 404);
    EXPECT_FALSE(n.close);
    EXPECT_EQ(body_of(n), "404 Not Found\n");
    r.target = "http://example.com/bytes/5";
    EXPECT_EQ(route(r, 1000).length, 5u);

    r.method = Method::Head;
    r.target = "/";
    Response h = route(r, 1000);
    EXPECT_FALSE(h.send_body);
    EXPECT_EQ(h.length, page().size());

    r.method = Method::Other;
    Response m = route(r, 1000);
    EXPECT_EQ(m.status, 405);
    EXPECT_NE(head_of(m).find("\r\nAllow: GET, HEAD\r\n"), std::string::npos);
}

TEST(HttpRoute, ConnectionHeaders) {
    Request r;
    r.method = Method::Get;
    r.target = "/";
    r.minor = 0;
    r.keep_alive = true;
    EXPECT_NE(head_of(route(r, 0)).find("Connection: keep-alive\r\n"), std::string::npos);
    r.keep_alive = false;
    Response c = route(r, 0);
    EXPECT_TRUE(c.close);
    EXPECT_NE(head_of(c).find("Connection: close\r\n"), std::string::npos);
    r.minor = 1;
    r.keep_alive = true;
    EXPECT_EQ(head_of(route(r, 0)).find("Connection:"), std::string::npos);
}

TEST(HttpHead, FormatAndErrorResponses) {
    Response e = error_response(431);
    EXPECT_TRUE(e.close);
    EXPECT_EQ(body_of(e), "431 Request Header Fields Too Large\n");
    const std::string h = head_of(e);
    EXPECT_EQ(h.rfind("HTTP/1.1 431 Request Header Fields Too Large\r\n", 0), 0u);
    EXPECT_NE(h.find("Content-Length: " + std::to_string(e.length) + "\r\n"), std::string::npos);
    EXPECT_EQ(h.substr(h.size() - 4), "\r\n\r\n");
    Response big;
    big.status = 200;
    big.body = Body::Bytes;
    big.length = 18'446'744'073'709'551'615ull;
    big.close = true;
    EXPECT_LT(head_of(big).size(), kMaxHead);
}
