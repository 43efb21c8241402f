// apps/perf without a network: the perf header, the client and server state machines driven
// against each other through an in-memory transport (FakeIo) on a fake clock, the HTTP
// response reader, the iperf 2 header, the meter's intervals and the report.
#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "protocol.hpp"
#include "report.hpp"
#include "workload.hpp"

namespace {

using namespace ustcp;
using namespace ustcp::perf;

// ---- the fake transport: two byte queues, a bounded "send buffer" each way ----

struct Pipe {
    std::deque<std::uint8_t> q;
    std::size_t cap = 1 << 20;
    bool fin = false;
    bool reset = false;
};

class FakeIo final : public Io {
public:
    FakeIo(Pipe& out, Pipe& in) : out_(out), in_(in) {}
    std::size_t max_read = std::numeric_limits<std::size_t>::max();  // bytes per recv() at most
    IoResult send(std::span<const std::uint8_t> b) override {
        if (out_.reset || out_.fin) return {0, IoStatus::Error};
        const std::size_t n = std::min(b.size(), out_.cap - std::min(out_.cap, out_.q.size()));
        if (n == 0) return {0, IoStatus::WouldBlock};
        out_.q.insert(out_.q.end(), b.begin(), b.begin() + static_cast<std::ptrdiff_t>(n));
        return {n, IoStatus::Ok};
    }
    IoResult recv(std::span<std::uint8_t> b) override {
        if (in_.reset) return {0, IoStatus::Error};
        if (in_.q.empty()) return {0, in_.fin ? IoStatus::Eof : IoStatus::WouldBlock};
        const std::size_t n = std::min({b.size(), in_.q.size(), max_read});
        std::copy_n(in_.q.begin(), n, b.begin());
        in_.q.erase(in_.q.begin(), in_.q.begin() + static_cast<std::ptrdiff_t>(n));
        return {n, IoStatus::Ok};
    }

private:
    Pipe& out_;
    Pipe& in_;
};

/// A client connection and a server connection joined by two pipes, on a fake clock.
struct Link {
    Pipe c2s, s2c;
    FakeIo cio{c2s, s2c};
    FakeIo sio{s2c, c2s};
    ServerEnv senv;
    ServerCounters sc;
    ServerConn server;
    Instant now = Instant::from_nanos(1'000'000);
    std::unique_ptr<Histogram> h = std::make_unique<Histogram>();
    Sink sink;
    Link() { sink.latency = h.get(); }

    /// Runs both sides until neither moves; the client's last step.
    ClientConn::Step run(ClientEnv& env, ClientConn& c, ServerConn::Step* sstep = nullptr, int rounds = 64) {
        ClientConn::Step st = ClientConn::Step::Continue;
        for (int i = 0; i < rounds; ++i) {
            const ServerConn::Step ss = server.on_event(senv, sio, sc);
            if (sstep != nullptr) *sstep = ss;
            if (ss != ServerConn::Step::Continue) return st;
            now += Duration::micros(10);
            st = c.on_event(env, cio, now, sink);
            if (st != ClientConn::Step::Continue) return st;
        }
        return st;
    }
};

// ---- the header ----

TEST(PerfHeader, RoundTripsEveryMode) {
    for (Header h : {Header{Mode::Rr, Direction::Send, 100, 2000}, Header{Mode::Crr, Direction::Send, 1, kMaxMessage},
                     Header{Mode::Bulk, Direction::Send, 0, 0}, Header{Mode::Bulk, Direction::Recv, 0, 0},
                     Header{Mode::Hold, Direction::Send, 0, 0}}) {
        const auto b = encode_header(h);
        EXPECT_EQ(b[0], 'U');
        EXPECT_EQ(b[3], 'F');
        auto r = parse_header(b);
        ASSERT_TRUE(r) << to_string(r.error());
        EXPECT_EQ(*r, h);
    }
    // Big-endian sizes at bytes 8 and 12.
    const auto b = encode_header(Header{Mode::Rr, Direction::Send, 0x01020304, 0x00000506});
    EXPECT_EQ(std::vector<std::uint8_t>(b.begin() + 8, b.end()), (std::vector<std::uint8_t>{1, 2, 3, 4, 0, 0, 5, 6}));
}

TEST(PerfHeader, EveryMalformationHasItsReason) {
    const auto good = encode_header(Header{Mode::Rr, Direction::Send, 64, 64});
    auto with = [&](std::size_t at, std::uint8_t v) {
        auto b = good;
        b[at] = v;
        return parse_header(b);
    };
    EXPECT_EQ(with(0, 'X').error(), HeaderError::BadMagic);
    EXPECT_EQ(with(4, 2).error(), HeaderError::BadVersion);
    EXPECT_EQ(with(5, 0).error(), HeaderError::BadMode);
    EXPECT_EQ(with(5, 5).error(), HeaderError::BadMode);  // http is not a perf-protocol mode
    EXPECT_EQ(with(6, 2).error(), HeaderError::BadDirection);
    EXPECT_EQ(with(6, 1).error(), HeaderError::BadDirection);  // recv is bulk's only
    EXPECT_EQ(with(7, 0x80).error(), HeaderError::BadFlags);
    EXPECT_EQ(parse_header(encode_header(Header{Mode::Rr, Direction::Send, 0, 64})).error(), HeaderError::BadSize);
    EXPECT_EQ(parse_header(encode_header(Header{Mode::Rr, Direction::Send, 64, kMaxMessage + 1})).error(),
              HeaderError::BadSize);
    EXPECT_EQ(parse_header(encode_header(Header{Mode::Bulk, Direction::Send, 1, 0})).error(), HeaderError::BadSize);
    EXPECT_EQ(to_string(HeaderError::BadMagic), "bad_magic");
    EXPECT_EQ(to_string(HeaderError::BadSize), "bad_size");
}

// ---- client against server ----

TEST(PerfWorkload, RrPipelinesAndTimesEveryExchange) {
    Workload w;
    w.mode = Mode::Rr;
    w.req_size = 300;
    w.resp_size = 5000;
    w.depth = 3;
    ClientEnv env(w);
    Link l;
    ClientConn c;
    c.begin(l.now);
    ASSERT_EQ(c.on_connected(env, l.cio, l.now, l.sink), ClientConn::Step::Continue);
    // The header and three requests went out at once (the depth), nothing more.
    EXPECT_EQ(l.c2s.q.size(), kHeaderSize + 3 * 300);
    EXPECT_EQ(l.sink.c.connects, 1u);
    // One round: the server answers all three; the client takes them and sends three more.
    EXPECT_EQ(l.run(env, c, nullptr, 1), ClientConn::Step::Continue);
    EXPECT_EQ(l.sc.requests, 3u);
    EXPECT_EQ(l.sink.c.requests, 3u);
    EXPECT_EQ(l.sink.c.bytes_received, 3u * 5000);
    EXPECT_EQ(l.c2s.q.size(), 3u * 300);
    // Each exchange took the 10 us the fake clock moved between the request and its answer.
    EXPECT_EQ(l.h->count(), 3u);
    EXPECT_NEAR(static_cast<double>(l.h->percentile(50)), 10'000.0, 10'000.0 * Histogram::kRelativeError);
    l.run(env, c, nullptr, 10);
    EXPECT_EQ(l.sink.c.requests, 33u);
    EXPECT_EQ(l.sc.requests, 33u);
    EXPECT_EQ(l.sink.c.errors, 0u);
    EXPECT_EQ(l.sink.c.bytes_sent, kHeaderSize + 36u * 300);  // 3 more in flight
    EXPECT_EQ(l.sc.by_mode[static_cast<int>(Mode::Rr)], 1u);
}

TEST(PerfWorkload, RrSurvivesOneByteReadsAndAFullSendBuffer) {
    Workload w;
    w.req_size = 7;
    w.resp_size = 13;
    w.depth = 2;
    ClientEnv env(w);
    Link l;
    l.sio.max_read = 1;  // the server sees the stream a byte at a time
    l.cio.max_read = 1;
    l.c2s.cap = 5;       // and the client can queue only 5 bytes
    ClientConn c;
    c.begin(l.now);
    c.on_connected(env, l.cio, l.now, l.sink);
    l.run(env, c, nullptr, 2000);
    EXPECT_GT(l.sink.c.requests, 10u);
    EXPECT_EQ(l.sink.c.errors, 0u);
    EXPECT_EQ(l.sc.refused, 0u);
    EXPECT_LE(l.sc.requests - l.sink.c.requests, 2u);  // at most the depth answered and not yet read
}

TEST(PerfWorkload, CrrIsOneExchangeThenDone) {
    Workload w;
    w.mode = Mode::Crr;
    w.req_size = 10;
    w.resp_size = 20;
    ClientEnv env(w);
    Link l;
    ClientConn c;
    const Instant opened = l.now;
    c.begin(opened);
    l.now += Duration::micros(50);  // the handshake
    c.on_connected(env, l.cio, l.now, l.sink);
    EXPECT_EQ(l.run(env, c), ClientConn::Step::Done);
    EXPECT_EQ(l.sink.c.requests, 1u);
    EXPECT_EQ(l.sc.requests, 1u);
    EXPECT_EQ(l.c2s.q.size(), 0u);  // no second request
    // The latency counts from the connect: handshake + one exchange.
    EXPECT_NEAR(static_cast<double>(l.h->max()), 60'000.0, 60'000.0 * Histogram::kRelativeError);
    EXPECT_TRUE(ClientConn::reset_on_done(w));
}

TEST(PerfWorkload, BulkBothDirections) {
    for (Direction d : {Direction::Send, Direction::Recv}) {
        Workload w;
        w.mode = Mode::Bulk;
        w.direction = d;
        ClientEnv env(w);
        Link l;
        l.c2s.cap = l.s2c.cap = 100'000;
        ClientConn c;
        c.begin(l.now);
        c.on_connected(env, l.cio, l.now, l.sink);
        l.run(env, c, nullptr, 20);
        if (d == Direction::Send) {
            EXPECT_GT(l.sink.c.bytes_sent, 1'000'000u);
            EXPECT_EQ(l.sc.bytes_in + l.c2s.q.size(), l.sink.c.bytes_sent);  // everything sent reached the server
            EXPECT_EQ(l.sc.bytes_out, 0u);
        } else {
            EXPECT_GT(l.sink.c.bytes_received, 1'000'000u);
            EXPECT_EQ(l.sc.bytes_out, l.sink.c.bytes_received + l.s2c.q.size());
            EXPECT_EQ(l.sink.c.bytes_sent, kHeaderSize);
        }
        EXPECT_EQ(l.sink.c.errors, 0u);
        EXPECT_EQ(l.h->count(), 0u);
        // The client closes: the server sees its FIN and closes too.
        l.c2s.fin = true;
        ServerConn::Step ss{};
        l.run(env, c, &ss, 64);
        EXPECT_EQ(ss, ServerConn::Step::Close);
    }
}

TEST(PerfWorkload, HoldSendsOnlyTheHeader) {
    Workload w;
    w.mode = Mode::Hold;
    ClientEnv env(w);
    Link l;
    ClientConn c;
    c.begin(l.now);
    c.on_connected(env, l.cio, l.now, l.sink);
    l.run(env, c, nullptr, 10);
    EXPECT_TRUE(c.established());
    EXPECT_EQ(l.sink.c.bytes_sent, kHeaderSize);
    EXPECT_EQ(l.sc.by_mode[static_cast<int>(Mode::Hold)], 1u);
    EXPECT_EQ(l.sc.bytes_out, 0u);
}

TEST(PerfWorkload, ServerRefusesABadHeaderAndCountsTheReason) {
    Link l;
    const std::string junk = "GET / HTTP/1.1\r\n";
    l.c2s.q.assign(junk.begin(), junk.end());
    EXPECT_EQ(l.server.on_event(l.senv, l.sio, l.sc), ServerConn::Step::Refuse);
    EXPECT_EQ(l.server.refused_why(), HeaderError::BadMagic);
    EXPECT_EQ(l.sc.refused, 1u);
    EXPECT_EQ(l.sc.bad_header[static_cast<int>(HeaderError::BadMagic)], 1u);
    EXPECT_EQ(l.sc.bytes_out, 0u);
    // A short header, then the FIN: closed, not refused.
    Link l2;
    l2.c2s.q.assign(5, 'U');
    l2.c2s.fin = true;
    EXPECT_EQ(l2.server.on_event(l2.senv, l2.sio, l2.sc), ServerConn::Step::Close);
    EXPECT_EQ(l2.sc.refused, 0u);
}

TEST(PerfWorkload, ClientFailsOnAStrayResponseOrAnEarlyClose) {
    Workload w;
    w.req_size = 4;
    w.resp_size = 4;
    ClientEnv env(w);
    {
        Link l;
        ClientConn c;
        c.begin(l.now);
        c.on_connected(env, l.cio, l.now, l.sink);
        l.s2c.q.assign(9, 'x');  // one response and then some, for one request
        EXPECT_EQ(c.on_event(env, l.cio, l.now, l.sink), ClientConn::Step::Failed);
        EXPECT_EQ(l.sink.c.errors, 1u);
        EXPECT_EQ(c.error(), "more response bytes than requested");
    }
    {
        Link l;
        ClientConn c;
        c.begin(l.now);
        c.on_connected(env, l.cio, l.now, l.sink);
        l.s2c.fin = true;
        EXPECT_EQ(c.on_event(env, l.cio, l.now, l.sink), ClientConn::Step::Failed);
        EXPECT_EQ(c.error(), "the server closed the connection");
        c.fail(l.sink, "again");  // counted once
        EXPECT_EQ(l.sink.c.errors, 1u);
    }
}

// ---- HTTP ----

TEST(PerfHttp, ReaderFollowsContentLengthAndCountsStatus) {
    HttpResponseReader r;
    const std::string two = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 404 Not Found\r\ncontent-length:0\r\n\r\n";
    std::span<const std::uint8_t> in(reinterpret_cast<const std::uint8_t*>(two.data()), two.size());
    std::optional<HttpResponseReader::Response> done;
    std::size_t used = r.feed(in, done);
    ASSERT_TRUE(done);
    EXPECT_EQ(done->status, 200);
    EXPECT_EQ(used, two.find("HTTP/1.1 404"));
    used = r.feed(in.subspan(used), done);
    ASSERT_TRUE(done);
    EXPECT_EQ(done->status, 404);
    // Chunked bodies and garbage are refused with a reason.
    HttpResponseReader c;
    const std::string ch = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    c.feed(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(ch.data()), ch.size()), done);
    EXPECT_EQ(c.state(), HttpResponseReader::State::Failed);
    EXPECT_NE(c.error().find("chunked"), std::string::npos);
    HttpResponseReader g;
    const std::string junk = "SSH-2.0-OpenSSH\r\n\r\n";
    g.feed(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(junk.data()), junk.size()), done);
    EXPECT_EQ(g.state(), HttpResponseReader::State::Failed);
    // No length: the body ends with the connection.
    HttpResponseReader e;
    const std::string nolen = "HTTP/1.0 200 OK\r\nConnection: close\r\n\r\nabc";
    e.feed(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(nolen.data()), nolen.size()), done);
    EXPECT_FALSE(done);
    auto last = e.on_eof();
    ASSERT_TRUE(last);
    EXPECT_TRUE(last->close);
    // HTTP/1.0 closes unless it says keep-alive; HTTP/1.1 keeps the connection.
    for (auto [text, close] : {std::pair{"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", true},
                               {"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", false},
                               {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false}}) {
        HttpResponseReader k;
        const std::string t = text;
        k.feed(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(t.data()), t.size()), done);
        ASSERT_TRUE(done) << t;
        EXPECT_EQ(done->close, close) << t;
    }
}

TEST(PerfHttp, KeepAliveClientCountsTwoXxAndOthers) {
    Workload w;
    w.mode = Mode::Http;
    w.http_request = http_request("198.18.0.2", "/x", false);
    EXPECT_EQ(w.http_request, "GET /x HTTP/1.1\r\nHost: 198.18.0.2\r\nUser-Agent: ustcp-perf\r\n\r\n");
    ClientEnv env(w);
    Link l;
    ClientConn c;
    c.begin(l.now);
    c.on_connected(env, l.cio, l.now, l.sink);
    EXPECT_EQ(l.c2s.q.size(), w.http_request.size());  // one request, no header of ours
    for (int i = 0; i < 4; ++i) {
        l.c2s.q.clear();
        const std::string resp = i == 2 ? "HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n"
                                        : "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc";
        l.s2c.q.assign(resp.begin(), resp.end());
        l.now += Duration::micros(5);
        EXPECT_EQ(c.on_event(env, l.cio, l.now, l.sink), ClientConn::Step::Continue);
        EXPECT_EQ(l.c2s.q.size(), w.http_request.size()) << "the next request";
    }
    EXPECT_EQ(l.sink.c.requests, 4u);
    EXPECT_EQ(l.sink.c.http_2xx, 3u);
    EXPECT_EQ(l.sink.c.http_non_2xx, 1u);
    EXPECT_EQ(l.h->count(), 4u);
    // --http-close: done after one response.
    w.http_close = true;
    w.http_request = http_request("h", "/", true);
    EXPECT_NE(w.http_request.find("Connection: close\r\n"), std::string::npos);
    ClientEnv env2(w);
    Link l2;
    ClientConn c2;
    c2.begin(l2.now);
    c2.on_connected(env2, l2.cio, l2.now, l2.sink);
    const std::string resp = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\nz";
    l2.s2c.q.assign(resp.begin(), resp.end());
    EXPECT_EQ(c2.on_event(env2, l2.cio, l2.now, l2.sink), ClientConn::Step::Done);
    EXPECT_EQ(l2.sink.c.http_2xx, 1u);
}

// ---- iperf 2 ----

TEST(PerfIperf, HeaderIsByteForByteWhatIperf218Sends) {
    // `iperf -c ... -t 1` (2.1.8), from a capture (tests/apps/test_iperf_protocol.cpp has the same bytes).
    const std::vector<std::uint8_t> real = {
        0x40, 0x01, 0x00, 0x78, 0, 0, 0, 1, 0, 0, 0x13, 0x89, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x9c,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1, 0, 8, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    const auto h = iperf2_client_header(1);
    EXPECT_EQ(std::vector<std::uint8_t>(h.begin(), h.end()), real);
    const auto h10 = iperf2_client_header(10);  // -1000: 0xfffffc18
    EXPECT_EQ(h10[22], 0xfc);
    EXPECT_EQ(h10[23], 0x18);
}

TEST(PerfIperf, ClientSendsTheHeaderThenThePattern) {
    Workload w;
    w.mode = Mode::Iperf;
    w.iperf_seconds = 2;
    ClientEnv env(w);
    Pipe out, in;
    out.cap = 1000;
    FakeIo io(out, in);
    Sink s;
    ClientConn c;
    c.begin(Instant{});
    c.on_connected(env, io, Instant{}, s);
    ASSERT_EQ(out.q.size(), 1000u);
    EXPECT_EQ(out.q[0], 0x40);
    EXPECT_EQ(out.q[60], '0');  // the pattern "0123456789..." right after the header
    EXPECT_EQ(out.q[61], '1');
    EXPECT_EQ(s.c.bytes_sent, 1000u);
}

// ---- the meter and the report ----

TEST(PerfMeter, WarmupIsNotCountedAndIntervalsArePublished) {
    RunSpec spec;
    spec.warmup = Duration::seconds(1);
    spec.duration = Duration::seconds(3);
    spec.interval = Duration::seconds(1);
    ASSERT_EQ(spec.intervals(), 3u);
    IntervalLog log(spec.intervals());
    Meter m(spec, log);
    const Instant t0 = Instant::from_nanos(5'000'000'000);
    m.start(t0);
    EXPECT_EQ(m.phase(t0), Meter::Phase::Warmup);
    m.roll(t0, 0);
    m.sink().c.requests += 1000;  // warm-up: thrown away
    for (int ms = 1000; ms <= 4000; ms += 10) {
        const Instant t = t0 + Duration::millis(ms);
        m.roll(t, 7);
        if (m.phase(t) == Meter::Phase::Measure) {
            m.sink().c.requests += 1;
            m.sink().record(static_cast<std::uint64_t>(ms) * 1000);
        }
    }
    EXPECT_EQ(m.phase(t0 + Duration::seconds(4)), Meter::Phase::Done);
    ASSERT_EQ(log.published(), 3u);
    for (std::size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(log.at(i).c.requests, 100u) << i;
        EXPECT_EQ(log.at(i).latency.count(), 100u);
        EXPECT_EQ(log.at(i).end, Duration::seconds(static_cast<std::int64_t>(i) + 1));
        EXPECT_EQ(log.at(i).established, 7u);
    }
    // Two workers' logs merged: each line once both have published it.
    IntervalLog other(3);
    ReportInfo info;
    info.mode = Mode::Rr;
    info.spec = spec;
    Reporter rep(info, {&log, &other});
    EXPECT_FALSE(rep.next_line());
    other.slot(0).c.requests = 50;
    other.slot(0).end = Duration::seconds(1);
    other.slot(0).length = Duration::seconds(1);
    other.publish(1);
    auto line = rep.next_line();
    ASSERT_TRUE(line);
    EXPECT_EQ(line->rfind("[ 1.0s] 150 req/s p50 ", 0), 0u) << *line;
    EXPECT_NE(line->find(" p99 "), std::string::npos);
    EXPECT_FALSE(rep.next_line());
    rep.finish();
    EXPECT_EQ(rep.totals().c.requests, 350u);
    EXPECT_EQ(rep.totals().latency->count(), 300u);
    const std::string j = rep.json();
    for (const char* k : {"\"mode\": \"rr\"", "\"requests\": 350", "\"latency_ns\"", "\"p99_9\"", "\"intervals\""}) {
        EXPECT_NE(j.find(k), std::string::npos) << k << " in " << j;
    }
    EXPECT_NE(rep.summary().find("350 requests"), std::string::npos) << rep.summary();
}

TEST(PerfReport, LinesPerMode) {
    Interval iv;
    iv.end = Duration::seconds(2);
    iv.length = Duration::seconds(1);
    iv.c.bytes_sent = 1'250'000'000;
    iv.established = 42;
    EXPECT_EQ(Reporter::line(Mode::Bulk, iv).rfind("[ 2.0s] 10.000 Gbit/s", 0), 0u) << Reporter::line(Mode::Bulk, iv);
    EXPECT_EQ(Reporter::line(Mode::Hold, iv), "[ 2.0s] 42 established");
    iv.c.requests = 1234;
    iv.c.errors = 2;
    iv.latency.record(1500);
    const std::string crr = Reporter::line(Mode::Crr, iv);
    EXPECT_EQ(crr.rfind("[ 2.0s] 1234 conn/s p50 1.5us p99 1.5us", 0), 0u) << crr;
    EXPECT_NE(crr.find("errors 2"), std::string::npos);
    // iperf mode prints iperf 2's interval lines, with the exact byte count.
    iv.c.bytes_sent = 13'107'200;
    EXPECT_EQ(Reporter::line(Mode::Iperf, iv), "[  1] 1.0000-2.0000 sec  12.50 MBytes  104.86 Mbits/sec (13107200 bytes)");
    EXPECT_EQ(format_ns(999), "999ns");
    EXPECT_EQ(format_ns(2'345'000), "2.35ms");
}

// ---- the pool: reopening, timeouts, the end ----

class FakeBackend final : public PoolBackend {
public:
    bool open(std::size_t slot, std::string& err) override {
        ++opens;
        if (refuse) {
            err = "no route";
            return false;
        }
        live.push_back(slot);
        return true;
    }
    void close(std::size_t slot, bool reset) override {
        ++closes;
        resets += reset ? 1 : 0;
        live.erase(std::remove(live.begin(), live.end(), slot), live.end());
    }
    int opens = 0, closes = 0, resets = 0;
    bool refuse = false;
    std::vector<std::size_t> live;
};

TEST(PerfPool, CrrReopensEveryConnectionAndStopsAtTheEnd) {
    Workload w;
    w.mode = Mode::Crr;
    w.req_size = w.resp_size = 8;
    ClientEnv env(w);
    RunSpec spec;
    spec.duration = Duration::seconds(3);
    IntervalLog log(spec.intervals());
    Meter meter(spec, log);
    FakeBackend be;
    ClientPool pool(env, meter, 3, be, Duration::seconds(1));
    Instant t = Instant::from_nanos(1);
    pool.tick(t);
    EXPECT_EQ(be.opens, 3);
    ServerEnv senv;
    ServerCounters sc;
    for (int round = 0; round < 5; ++round) {
        std::vector<std::size_t> slots = be.live;
        for (std::size_t s : slots) {
            Pipe c2s, s2c;
            FakeIo cio(c2s, s2c), sio(s2c, c2s);
            ServerConn server;
            pool.on_connected(s, cio, t);
            (void)server.on_event(senv, sio, sc);
            pool.on_event(s, cio, t);  // the response: done, closed with a reset
        }
        t += Duration::millis(1);
        pool.tick(t);  // reopened
    }
    EXPECT_EQ(be.opens, 3 + 15);
    EXPECT_EQ(be.resets, 15);
    EXPECT_EQ(sc.requests, 15u);
    EXPECT_FALSE(pool.finished());
    // A connect that hangs past the timeout is an error, and is tried again.
    t += Duration::millis(1500);
    pool.tick(t);
    EXPECT_EQ(meter.sink().c.errors, 3u);
    ASSERT_EQ(pool.first_errors().size(), 3u);
    EXPECT_EQ(pool.first_errors().front(), "connect timed out");
    EXPECT_EQ(be.opens, 3 + 15);
    pool.tick(t + Duration::millis(1));  // tried again
    EXPECT_EQ(be.opens, 3 + 15 + 3);
    t += Duration::seconds(2);
    pool.tick(t);
    EXPECT_TRUE(pool.finished());
    EXPECT_TRUE(be.live.empty());
    ASSERT_EQ(log.published(), 3u);
    EXPECT_EQ(log.at(0).c.requests, 15u);
    EXPECT_EQ(log.at(0).c.connects, 15u);
    EXPECT_EQ(log.at(1).c.errors, 3u);
    EXPECT_EQ(log.at(2).c.errors, 0u);
}

TEST(PerfPool, RefusedConnectsAreCountedAndRetriedLater) {
    Workload w;
    w.mode = Mode::Hold;
    ClientEnv env(w);
    RunSpec spec;
    spec.duration = Duration::seconds(5);
    IntervalLog log(spec.intervals());
    Meter meter(spec, log);
    FakeBackend be;
    be.refuse = true;
    ClientPool pool(env, meter, 2, be, Duration::seconds(1));
    Instant t = Instant::from_nanos(1);
    pool.tick(t);
    EXPECT_EQ(be.opens, 2);
    EXPECT_EQ(meter.sink().c.errors, 2u);
    pool.tick(t + Duration::millis(1));  // not yet: 10 ms back-off
    EXPECT_EQ(be.opens, 2);
    be.refuse = false;
    pool.tick(t + Duration::millis(20));
    EXPECT_EQ(be.opens, 4);
    Pipe a, b;
    FakeIo io(a, b);
    pool.on_connected(0, io, t + Duration::millis(21));
    pool.on_connected(1, io, t + Duration::millis(21));
    EXPECT_EQ(pool.established(), 2u);
    pool.on_failed(1, t + Duration::millis(22), "connection reset");
    EXPECT_EQ(pool.established(), 1u);
    EXPECT_EQ(meter.sink().c.errors, 3u);
    // Slot 1 reconnects and is still connecting when the run ends: noted, not an error.
    pool.tick(t + Duration::millis(40));
    pool.tick(t + Duration::seconds(6));
    EXPECT_TRUE(pool.finished());
    EXPECT_EQ(pool.pending_at_end(), 1u);
    EXPECT_TRUE(be.live.empty());
}

TEST(PerfPool, OpensArePacedByTheConnectsInFlight) {
    Workload w;
    w.mode = Mode::Hold;
    ClientEnv env(w);
    RunSpec spec;
    spec.duration = Duration::seconds(60);
    IntervalLog log(spec.intervals());
    Meter meter(spec, log);
    FakeBackend be;
    const std::size_t n = 3 * ClientPool::kMaxConnecting;
    ClientPool pool(env, meter, n, be, Duration::seconds(10));
    Instant t = Instant::from_nanos(1);
    // Nothing answers: opens stop at kMaxConnecting, kOpensPerTick a tick.
    pool.tick(t);
    EXPECT_EQ(static_cast<std::size_t>(be.opens), ClientPool::kOpensPerTick);
    for (int i = 0; i < 100; ++i) pool.tick(t += Duration::millis(1));
    EXPECT_EQ(static_cast<std::size_t>(be.opens), ClientPool::kMaxConnecting);
    EXPECT_EQ(pool.connecting(), ClientPool::kMaxConnecting);
    // Each answer lets one more open go.
    Pipe a, b;
    FakeIo io(a, b);
    const std::vector<std::size_t> first(be.live.begin(), be.live.begin() + 10);
    for (std::size_t s : first) pool.on_connected(s, io, t);
    EXPECT_EQ(pool.connecting(), ClientPool::kMaxConnecting - 10);
    pool.tick(t += Duration::millis(1));
    EXPECT_EQ(static_cast<std::size_t>(be.opens), ClientPool::kMaxConnecting + 10);
    EXPECT_EQ(pool.connecting(), ClientPool::kMaxConnecting);
    EXPECT_EQ(pool.established(), 10u);
    // Every slot opens once all are answered, and none twice.
    for (int round = 0; round < 100 && pool.established() < n; ++round) {
        const std::vector<std::size_t> live = be.live;
        for (std::size_t s : live) pool.on_connected(s, io, t);
        pool.tick(t += Duration::millis(1));
    }
    EXPECT_EQ(pool.established(), n);
    EXPECT_EQ(static_cast<std::size_t>(be.opens), n);
    EXPECT_EQ(pool.connecting(), 0u);
    EXPECT_EQ(meter.sink().c.errors, 0u);
}

}  // namespace
