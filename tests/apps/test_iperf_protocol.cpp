// The iperf3 control messages and the iperf 2 header, byte by byte (apps/ustcp-server).
// The messages are those of a capture of iperf3 3.12 and iperf 2.1.8 against themselves
// (tcpdump -i lo, a namespace): README "iperf3 and iperf against ustcp-server". Also the
// cross-lcore test registry, and the idle timeout of Iperf3App on an engine (virtual clock).
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "iperf2_app.hpp"
#include "iperf3_app.hpp"
#include "ustcp/engine/engine.hpp"
#include "ustcp/engine/sim_port.hpp"

namespace {

using ustcp::iperf3::ControlBuffer;
using Take = ControlBuffer::Take;

std::vector<std::uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }
std::vector<std::uint8_t> framed(std::string_view json) {
    std::vector<std::uint8_t> v{0, 0, static_cast<std::uint8_t>(json.size() >> 8), static_cast<std::uint8_t>(json.size())};
    v.insert(v.end(), json.begin(), json.end());
    return v;
}

// iperf3 3.12's parameters for `iperf3 -c ... -t 1 -P 2`.
constexpr std::string_view kParams =
    R"({"tcp":true,"omit":0,"time":1,"num":0,"blockcount":0,"parallel":2,"len":131072,"pacing_timer":1000,"client_version":"3.12"})";

TEST(Iperf3Params, TheRealClientsParameters) {
    auto p = ustcp::iperf3::parse_params(kParams);
    ASSERT_TRUE(p) << p.error();
    EXPECT_TRUE(p->tcp);
    EXPECT_EQ(p->time, 1u);
    EXPECT_EQ(p->parallel, 2u);
    EXPECT_EQ(p->len, 131072u);
    EXPECT_FALSE(p->reverse);
    EXPECT_EQ(p->streams(), 2u);
    EXPECT_FALSE(p->server_sends(0));
}

TEST(Iperf3Params, ReverseBidirAndOmit) {
    auto r = ustcp::iperf3::parse_params(R"( {"tcp":true,"reverse":true,"omit":2,"len":16384, "extra":{"a":[1,2,{"b":null}]}} )");
    ASSERT_TRUE(r) << r.error();
    EXPECT_TRUE(r->reverse);
    EXPECT_EQ(r->omit, 2u);
    EXPECT_EQ(r->len, 16384u);
    EXPECT_TRUE(r->server_sends(0));
    auto b = ustcp::iperf3::parse_params(R"({"tcp":true,"parallel":4,"bidirectional":true})");
    ASSERT_TRUE(b) << b.error();
    EXPECT_EQ(b->streams(), 8u);
    // --bidir: the first `parallel` streams carry data to the server, the rest from it.
    EXPECT_FALSE(b->server_sends(3));
    EXPECT_TRUE(b->server_sends(4));
    EXPECT_TRUE(b->server_sends(7));
}

TEST(Iperf3Params, MalformedOrUnsupported) {
    for (const char* bad : {"", "{", "[]", R"({"tcp":true)", R"({"tcp":true,})", R"({"tcp":tru})", R"({"tcp":true} x)",
                            R"({"tcp":true,"parallel":-1})", R"({"tcp":true,"parallel":1.5})", R"({"tcp":true,"parallel":129})",
                            R"({"tcp":true,"len":"big"})", R"({"udp":true})", R"({"omit":0})", R"({"tcp":true,"parallel":0})",
                            R"({"tcp":true,"s":"\x"})", "{\"tcp\":true,\"s\":\"a\nb\"}", R"({"tcp":true,"n":01})",
                            R"({"tcp":true,"len":17000000})"}) {
        auto p = ustcp::iperf3::parse_params(bad);
        EXPECT_FALSE(p) << bad;
    }
    EXPECT_NE(ustcp::iperf3::parse_params(R"({"udp":true})").error().find("only TCP"), std::string::npos);
    // Nesting deeper than the reader allows is an error, not a stack overflow.
    std::string deep = R"({"tcp":true,"x":)" + std::string(10000, '[') + std::string(10000, ']') + "}";
    EXPECT_FALSE(ustcp::iperf3::parse_params(deep));
}

TEST(Iperf3Results, TheKeysTheClientRequires) {
    const ustcp::iperf3::StreamResult s[] = {{1, 1000, -1, 0, 1.5}, {3, 2000, 4, 0, 1.5}};
    const std::string j = ustcp::iperf3::results_json(s, true);
    EXPECT_TRUE(ustcp::iperf3::check_object(j));
    for (const char* key : {"\"cpu_util_total\":", "\"cpu_util_user\":", "\"cpu_util_system\":", "\"sender_has_retransmits\":1",
                            "\"id\":1,\"bytes\":1000,\"retransmits\":-1", "\"id\":3,\"bytes\":2000,\"retransmits\":4",
                            "\"jitter\":0", "\"errors\":0", "\"packets\":0", "\"start_time\":0.000000", "\"end_time\":1.500000"}) {
        EXPECT_NE(j.find(key), std::string::npos) << key << " in " << j;
    }
    EXPECT_EQ(ustcp::iperf3::stream_id(0), 1);
    EXPECT_EQ(ustcp::iperf3::stream_id(1), 3);
    EXPECT_EQ(ustcp::iperf3::stream_id(3), 5);
}

TEST(Iperf3Control, CookieThenJsonInPieces) {
    ControlBuffer b;
    std::string cookie;
    std::string why;
    const auto c = bytes(std::string_view("nbys3ce5fzyryotqhd6hn6rcukkonq3powrm\0", 37));
    ASSERT_TRUE(b.append({c.data(), 20}));
    EXPECT_EQ(b.take_cookie(cookie, why), Take::NeedMore);
    ASSERT_TRUE(b.append({c.data() + 20, c.size() - 20}));
    ASSERT_EQ(b.take_cookie(cookie, why), Take::Done);
    EXPECT_EQ(cookie, "nbys3ce5fzyryotqhd6hn6rcukkonq3powrm");
    EXPECT_EQ(b.size(), 0u);
    // The parameters, one byte at a time, followed by a state byte in the same append.
    auto msg = framed(kParams);
    std::string json;
    for (std::size_t i = 0; i + 1 < msg.size(); ++i) {
        ASSERT_TRUE(b.append({&msg[i], 1}));
        ASSERT_EQ(b.take_json(json, why), Take::NeedMore) << i;
    }
    const std::uint8_t tail[] = {msg.back(), 4};
    ASSERT_TRUE(b.append(tail));
    ASSERT_EQ(b.take_json(json, why), Take::Done);
    EXPECT_EQ(json, kParams);
    std::int8_t st = 0;
    ASSERT_EQ(b.take_state(st), Take::Done);
    EXPECT_EQ(st, static_cast<std::int8_t>(ustcp::iperf3::StateByte::TestEnd));
    EXPECT_EQ(b.take_state(st), Take::NeedMore);
}

TEST(Iperf3Control, BadCookiesAndLengths) {
    std::string cookie;
    std::string why;
    for (std::string_view bad : {std::string_view("nbys3ce5fzyryotqhd6hn6rcukkonq3powrmX", 37),   // no NUL
                                 std::string_view("nbys3ce5fzyryotqhd6hn6r\ncukkonq3powr\0", 37),  // control char
                                 std::string_view("nbys3ce5fzyryotqhd6hn6r cukkonq3powr\0", 37)}) {
        ControlBuffer b;
        ASSERT_TRUE(b.append(bytes(bad)));
        EXPECT_EQ(b.take_cookie(cookie, why), Take::Bad);
        EXPECT_FALSE(why.empty());
    }
    std::string json;
    for (std::vector<std::uint8_t> len : {std::vector<std::uint8_t>{0, 0, 0, 0}, {0xff, 0xff, 0xff, 0xff}, {0, 4, 0, 1}}) {
        ControlBuffer b;
        ASSERT_TRUE(b.append(len));
        EXPECT_EQ(b.take_json(json, why), Take::Bad);
    }
    // A flood beyond what one message can need is refused.
    ControlBuffer b;
    std::vector<std::uint8_t> big(ustcp::iperf3::kMaxJson + 100);
    EXPECT_FALSE(b.append(big));
}

// The cross-lcore test registry: who gets to be a control connection, which stream index a
// cookie gets, on which lcore, and that an ended test frees its entry.
using ustcp::iperf3::Registry;
using Kind = Registry::Claim::Kind;
constexpr std::string_view kCookie = "abcdefghijklmnopqrstuvwxyz0123456789";

TEST(Iperf3Registry, OneTestThenItsStreamsByCookie) {
    Registry reg;
    auto ctl = reg.claim(kCookie, 0);
    ASSERT_EQ(ctl.kind, Kind::Control);
    EXPECT_EQ(ctl.test->control_lcore, 0u);
    EXPECT_EQ(reg.tests(), 1u);
    // Before the parameters, the cookie is not a stream's: the test does not wait for any.
    auto early = reg.claim(kCookie, 1);
    EXPECT_EQ(early.kind, Kind::Denied);
    EXPECT_NE(early.why.find("not waiting for streams"), std::string::npos) << early.why;
    // Another client while the test holds the server: busy.
    auto other = reg.claim("0123456789abcdefghijklmnopqrstuvwxyz", 1);
    EXPECT_EQ(other.kind, Kind::Denied);
    EXPECT_EQ(other.why, "a test is running");

    ustcp::iperf3::Params p;
    p.tcp = true;
    p.parallel = 2;
    p.bidirectional = true;  // streams 0, 1 to us; 2, 3 from us
    reg.set_params(*ctl.test, p);
    EXPECT_EQ(ctl.test->phase.load(), Registry::Phase::Streams);
    const unsigned lcores[] = {1, 0, 1, 1};
    for (std::uint32_t i = 0; i < 4; ++i) {
        auto s = reg.claim(kCookie, lcores[i]);
        ASSERT_EQ(s.kind, Kind::Stream) << i;
        EXPECT_EQ(s.index, i);
        EXPECT_EQ(s.test, ctl.test);
        EXPECT_EQ(s.test->slots[i].lcore, lcores[i]);
        EXPECT_EQ(s.test->slots[i].sends, i >= 2) << i;
        EXPECT_EQ(s.test->joined.load(), i + 1);
    }
    auto fifth = reg.claim(kCookie, 0);
    EXPECT_EQ(fifth.kind, Kind::Denied);
    EXPECT_NE(fifth.why.find("all its 4 stream(s)"), std::string::npos) << fifth.why;

    reg.release(*ctl.test);
    EXPECT_EQ(ctl.test->phase.load(), Registry::Phase::Ended);
    EXPECT_EQ(reg.tests(), 0u);
    // Freed: the same cookie now opens a new test (as iperf3 -s treats a stale cookie).
    auto next = reg.claim(kCookie, 1);
    ASSERT_EQ(next.kind, Kind::Control);
    EXPECT_NE(next.test, ctl.test);
    EXPECT_EQ(next.test->control_lcore, 1u);
}

TEST(Iperf3Registry, StreamsAreOrderedByTheirSynsNotByTheirCookies) {
    // --bidir -P 2: the client connects streams 1, 3 (it sends) then 4, 5 (we send). Their
    // cookies were read on two lcores in another order than their SYNs came.
    Registry reg;
    auto ctl = reg.claim(kCookie, 0);
    ASSERT_EQ(ctl.kind, Kind::Control);
    ustcp::iperf3::Params p;
    p.tcp = true;
    p.parallel = 2;
    p.bidirectional = true;
    reg.set_params(*ctl.test, p);
    const auto at = [](int ms) { return ustcp::Instant::from_nanos(std::int64_t{ms} * 1'000'000); };
    const int syn_ms[] = {30, 10, 40, 20};  // claim order: the 3rd, 1st, 4th and 2nd SYN
    for (int i = 0; i < 4; ++i) ASSERT_EQ(reg.claim(kCookie, i % 2, at(syn_ms[i])).kind, Kind::Stream);
    reg.order_streams(*ctl.test);
    const std::uint32_t want_order[] = {2, 0, 3, 1};
    for (int i = 0; i < 4; ++i) {
        const Registry::Slot& s = ctl.test->slots[i];
        EXPECT_EQ(s.order, want_order[i]) << i;
        EXPECT_EQ(s.sends, want_order[i] >= 2) << i;  // the client's last two streams read
    }
    EXPECT_EQ(ustcp::iperf3::stream_id(ctl.test->slots[1].order), 1);  // the first SYN is stream 1
}

TEST(Iperf3Registry, StreamsClaimedFromTwoThreadsGetDistinctIndices) {
    Registry reg;
    auto ctl = reg.claim(kCookie, 0);
    ASSERT_EQ(ctl.kind, Kind::Control);
    ustcp::iperf3::Params p;
    p.tcp = true;
    p.parallel = 100;
    reg.set_params(*ctl.test, p);
    std::vector<std::uint32_t> got[2];
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < 2; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 60; ++i) {
                auto c = reg.claim(kCookie, t);
                if (c.kind == Kind::Stream) got[t].push_back(c.index);
            }
        });
    }
    for (auto& t : threads) t.join();
    // 120 tries for 100 streams: exactly 100 claimed, each index once, each slot's lcore the claimer's.
    std::vector<int> seen(100, 0);
    for (unsigned t = 0; t < 2; ++t) {
        for (std::uint32_t i : got[t]) {
            ASSERT_LT(i, 100u);
            ++seen[i];
            EXPECT_EQ(ctl.test->slots[i].lcore, t);
        }
    }
    EXPECT_EQ(got[0].size() + got[1].size(), 100u);
    for (int n : seen) EXPECT_EQ(n, 1);
    EXPECT_EQ(ctl.test->joined.load(), 100u);
}

// Iperf3App on an engine, driven by a client engine over a SimPort wire on a virtual clock:
// app.iperf3_idle_timeout closes a silent connection and frees the test's registry entry.
namespace idle {

using namespace ustcp;
const MacAddr kMacA({0x02, 0, 0, 0, 0, 0x0a});
const MacAddr kMacB({0x02, 0, 0, 0, 0, 0x0b});
const Ipv4Addr kIpA(198, 18, 0, 1);
const Ipv4Addr kIpB(198, 18, 0, 2);

engine::EngineConfig config(Ipv4Addr addr) {
    engine::EngineConfig c;
    c.addr = addr;
    c.max_connections = 16;
    c.buffer_nodes = 4096;
    c.announce = false;
    c.flow_seed = 7;
    return c;
}
tcp::SipKey key(std::uint64_t k) { return tcp::SipKey::from_words(k, k * 7 + 1); }

/// Connects, sends `hello` once, keeps what comes back, notes the server's FIN.
struct Client : engine::App {
    std::string hello;
    std::vector<std::uint8_t> got;
    bool fin = false;
    void on_connected(engine::Engine& e, tcp::Connection& c) override {
        if (!hello.empty()) {
            (void)c.send(e.ctx(), e.now(), wire::Bytes(reinterpret_cast<const std::uint8_t*>(hello.data()), hello.size()));
        }
    }
    void on_readable(engine::Engine& e, tcp::Connection& c) override {
        std::uint8_t b[256];
        for (;;) {
            auto r = c.receive(e.ctx(), e.now(), wire::MutBytes(b, sizeof b));
            if (!r || *r == 0) break;
            got.insert(got.end(), b, b + *r);
        }
    }
    void on_peer_closed(engine::Engine& e, tcp::Connection& c) override {
        fin = true;
        (void)c.close(e.ctx(), e.now());
    }
};

struct Bench {
    tcp::HeapBuffers pool_a{1024, 2048};
    tcp::HeapBuffers pool_b{1024, 2048};
    engine::SimPort pa{kMacA, pool_a};
    engine::SimPort pb{kMacB, pool_b};
    Instant now = Instant::from_nanos(1'000'000'000);
    std::shared_ptr<ustcp::iperf3::Registry> reg = std::make_shared<ustcp::iperf3::Registry>();
    Bench() { engine::SimPort::link(pa, pb); }
    /// Polls both engines (and the app's after_poll, as a worker does) until `done` or `limit`
    /// of virtual time; idle, the clock moves 10 ms at a time.
    template <class F>
    void run(engine::Engine& a, engine::Engine& b, ustcp::iperf3::Iperf3App& app, Duration limit, F done) {
        const Instant end = now + limit;
        while (now < end && !done()) {
            const auto n = a.poll(now) + b.poll(now);
            app.after_poll(b);
            if (n == 0 && pa.pending() == 0 && pb.pending() == 0) now = now + Duration::millis(10);
        }
    }
};

ustcp::iperf3::Iperf3Settings settings(Bench& w) {
    ustcp::iperf3::Iperf3Settings s;
    s.registry = w.reg;
    s.idle_timeout = Duration::seconds(3);
    return s;
}

}  // namespace idle

TEST(Iperf3Idle, ASilentControlConnectionEndsItsTestAfterTheTimeout) {
    idle::Bench w;
    ustcp::iperf3::Iperf3App app(idle::settings(w));
    idle::Client client;
    client.hello = std::string(kCookie) + '\0';  // a cookie, then nothing
    {
        ustcp::engine::Engine a(idle::config(idle::kIpA), w.pa, idle::key(1), idle::key(2));
        ustcp::engine::Engine b(idle::config(idle::kIpB), w.pb, idle::key(3), idle::key(4));
        a.set_app(&client);
        b.set_app(&app);
        ASSERT_TRUE(app.start(b));
        ASSERT_TRUE(a.connect(idle::kIpB, 5201));
        a.flush(w.now);
        // The test is registered once the cookie is in: PARAM_EXCHANGE comes back.
        w.run(a, b, app, ustcp::Duration::seconds(1), [&] { return !client.got.empty(); });
        ASSERT_EQ(client.got, std::vector<std::uint8_t>{9});
        EXPECT_EQ(w.reg->tests(), 1u);
        const ustcp::Instant heard = w.now;
        // Silence: nothing before the timeout...
        w.run(a, b, app, ustcp::Duration::millis(2900), [&] { return client.fin; });
        EXPECT_FALSE(client.fin);
        EXPECT_EQ(w.reg->tests(), 1u);
        // ... then the server closes, and the registry is free for the next client.
        w.run(a, b, app, ustcp::Duration::seconds(2), [&] { return client.fin; });
        EXPECT_TRUE(client.fin);
        EXPECT_GE(w.now - heard, ustcp::Duration::seconds(3));
        EXPECT_LT(w.now - heard, ustcp::Duration::millis(3300));
        EXPECT_EQ(w.reg->tests(), 0u);
        std::string rep;
        app.report(rep);
        EXPECT_NE(rep.find("ended early (1 idle)"), std::string::npos) << rep;
        a.abort_all(w.now);
        b.abort_all(w.now);
    }
}

TEST(Iperf3Idle, AConnectionWithoutItsCookieIsClosedAfterTheTimeout) {
    idle::Bench w;
    ustcp::iperf3::Iperf3App app(idle::settings(w));
    idle::Client client;  // sends nothing
    {
        ustcp::engine::Engine a(idle::config(idle::kIpA), w.pa, idle::key(1), idle::key(2));
        ustcp::engine::Engine b(idle::config(idle::kIpB), w.pb, idle::key(3), idle::key(4));
        a.set_app(&client);
        b.set_app(&app);
        ASSERT_TRUE(app.start(b));
        ASSERT_TRUE(a.connect(idle::kIpB, 5201));
        a.flush(w.now);
        const ustcp::Instant from = w.now;
        w.run(a, b, app, ustcp::Duration::seconds(10), [&] { return client.fin; });
        EXPECT_TRUE(client.fin);
        EXPECT_GE(w.now - from, ustcp::Duration::seconds(3));
        EXPECT_LT(w.now - from, ustcp::Duration::millis(3300));
        EXPECT_TRUE(client.got.empty());
        EXPECT_EQ(w.reg->tests(), 0u);
        a.abort_all(w.now);
        b.abort_all(w.now);
    }
}

// iperf 2.1.8's header for `iperf -c ... -t 1 -e`, and for `-R` (reverse), from the capture.
const std::vector<std::uint8_t> kHdr = {
    0x40, 0x01, 0x00, 0x78, 0, 0, 0, 1, 0, 0, 0x13, 0x89, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x9c,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1, 0, 8, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};

TEST(Iperf2Header, TheRealClientsHeader) {
    ASSERT_EQ(kHdr.size(), 60u);
    EXPECT_EQ(ustcp::iperf2::header_length(0x40010078), 60u);
    EXPECT_EQ(ustcp::iperf2::header_length(0), 0u);
    EXPECT_EQ(ustcp::iperf2::header_length(0x80000000), 24u);
    auto h = ustcp::iperf2::parse_header(kHdr);
    ASSERT_TRUE(h) << h.error();
    EXPECT_TRUE(h->extended);
    EXPECT_FALSE(h->reverse);
    EXPECT_FALSE(h->dual);
    EXPECT_EQ(h->threads, 1u);
    EXPECT_EQ(h->amount, -100);  // -t 1: 100 units of 10 ms
    auto r = kHdr;
    r[0] = 0x44;
    r[32] = 0x04;  // upperflags HEADER_REVERSE
    auto hr = ustcp::iperf2::parse_header(r);
    ASSERT_TRUE(hr);
    EXPECT_TRUE(hr->reverse);
    // `iperf -c ... -t 1 -d -L 6001` (capture): HEADER_VERSION1 | RUN_NOW, port 6001; -r: no RUN_NOW.
    auto d = kHdr;
    d[0] = 0xc0;
    d[3] = 0x79;
    d[10] = 0x17;
    d[11] = 0x71;
    auto hd = ustcp::iperf2::parse_header(d);
    ASSERT_TRUE(hd);
    EXPECT_TRUE(hd->dual);
    EXPECT_TRUE(hd->run_now);
    EXPECT_EQ(hd->port, 6001);
    EXPECT_EQ(hd->amount, -100);
    d[3] = 0x78;
    auto hrr = ustcp::iperf2::parse_header(d);
    ASSERT_TRUE(hrr);
    EXPECT_TRUE(hrr->dual);
    EXPECT_FALSE(hrr->run_now);
    EXPECT_FALSE(ustcp::iperf2::parse_header({kHdr.data(), 30}));  // shorter than its flags say
    EXPECT_FALSE(ustcp::iperf2::parse_header({kHdr.data(), 10}));
    // A length field beyond the limit is clamped, not trusted.
    EXPECT_EQ(ustcp::iperf2::header_length(0x400101fe), 255u);
    EXPECT_EQ(ustcp::iperf2::header_ack().size(), 28u);
    EXPECT_EQ(ustcp::iperf2::interval_line("[  1]", 0, 1, 1048576 * 10), "[  1] 0.0000-1.0000 sec  10.00 MBytes  83.89 Mbits/sec");
}

}  // namespace
