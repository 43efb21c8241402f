// tcp::Config::fixed_iss: the deterministic ISS that replaying a capture needs
// (tests/interop/tap/pcap_replay.sh does the same against ustcp-server and net_pcap).
// A client's segments recorded against one server are fed, open loop and an hour later,
// into a second server with another secret key: with the same fixed ISS it answers with
// the same sequence and acknowledgment numbers, flags and payload as the first; without
// it the replayed handshake ACK is unacceptable and gets a RST.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "harness.hpp"

using namespace ustcp;
using namespace ustcp::tcp;
using namespace ustcp::tcp::test;
namespace fl = wire::tcp_flags;

namespace {

const Ipv4Addr kClient(198, 18, 0, 1);
const Ipv4Addr kServer(198, 18, 0, 2);
constexpr std::uint16_t kPort = 7;
constexpr std::uint32_t kIss = 0x1234'5678;

Config fixed(std::uint32_t iss) {
    Config c;
    c.fixed_iss = iss;
    return c;
}

/// The echo application: whatever is readable goes back; the peer's FIN, once everything
/// was echoed, closes our side too.
void echo(Endpoint& srv, Instant now) {
    for (Connection* c : srv.live()) {
        if (c->state() == State::Closed) continue;
        std::uint8_t buf[2048];
        for (;;) {
            auto n = c->receive(srv.ctx, now, buf);
            if (!n || *n == 0) break;
            ASSERT_TRUE(c->send(srv.ctx, now, wire::Bytes(buf, *n)));
        }
        if (c->peer_closed() && c->bytes_readable() == 0 && c->state() == State::CloseWait) {
            ASSERT_TRUE(c->close(srv.ctx, now));
        }
    }
}

/// What a server sent, without what depends on its clock (the timestamps).
struct Sent {
    std::uint32_t seq;
    std::uint32_t ack;
    std::uint8_t flags;
    std::uint16_t window;
    std::string payload;
    bool operator==(const Sent&) const = default;
};
Sent sent(const Wire& w) {
    return {w.hdr.seq.value(), w.hdr.ack.value(), w.hdr.flags, w.hdr.window,
            std::string(w.payload.begin(), w.payload.end())};
}

/// One echo session, a segment at a time: the client's segments go to the server one by
/// one, each followed by the application and the server's answer, as net_pcap replays them
/// with a burst of 1. Returns the client's segments; `server_out` gets the server's.
std::vector<Wire> record(Endpoint& client, Endpoint& srv, Instant now, std::vector<Sent>& server_out) {
    std::vector<Wire> client_out;
    srv.listen(kPort);
    Connection& c = client.connect(now, 40000, kServer, kPort);
    bool sent_data = false;
    for (int guard = 0; guard < 1000; ++guard) {
        auto from_client = client.drain();
        std::vector<Wire> from_srv;
        for (const Wire& w : from_client) {
            client_out.push_back(w);
            srv.deliver(w, now);
            echo(srv, now);
            for (Wire& s : srv.drain()) from_srv.push_back(std::move(s));
        }
        for (const Wire& s : from_srv) {
            server_out.push_back(sent(s));
            client.deliver(s, now);
        }
        if (c.state() == State::Established && !sent_data) {
            EXPECT_TRUE(c.send(client.ctx, now, bytes_of("hello, echo\n")));
            sent_data = true;
        } else if (sent_data && c.bytes_readable() == 12 && c.state() == State::Established) {
            EXPECT_EQ(read_all(client, c, now), "hello, echo\n");
            EXPECT_TRUE(c.close(client.ctx, now));
        }
        if (from_client.empty() && from_srv.empty()) break;
        now = now + Duration::millis(1);
    }
    return client_out;
}

/// The recorded client segments into `srv`, one by one, nothing sent back to anyone.
std::vector<Sent> replay(const std::vector<Wire>& client_out, Endpoint& srv, Instant now) {
    std::vector<Sent> out;
    srv.listen(kPort);
    for (const Wire& w : client_out) {
        srv.deliver(w, now);
        echo(srv, now);
        for (const Wire& s : srv.drain()) out.push_back(sent(s));
        now = now + Duration::micros(10);
    }
    return out;
}

}  // namespace

TEST(FixedIss, IssForIsRfc6528UnlessFixed) {
    const IsnGenerator g(SipKey::from_words(1, 2));
    const FourTuple t{kServer, kClient, kPort, 40000};
    const Instant t0 = Instant::from_nanos(5'000'000'000);
    EXPECT_EQ(g.iss_for(t, t0, 0), g.isn(t, t0));
    EXPECT_EQ(g.iss_for(t, t0, kIss), SeqNum(kIss));
    EXPECT_EQ(g.iss_for(t.reversed(), t0 + Duration::seconds(9), kIss), SeqNum(kIss)) << "any tuple, any time";
}

TEST(FixedIss, DefaultIsOff) { EXPECT_EQ(Config{}.fixed_iss, 0u); }

TEST(FixedIss, PassiveAndActiveOpenUseIt) {
    Endpoint a(kClient, fixed(kIss), 1);
    Endpoint b(kServer, fixed(kIss + 1000), 2);
    Link link(a, b);
    b.listen(kPort);
    Connection& c = a.connect(link.now, 40000, kServer, kPort);
    EXPECT_EQ(c.iss(), SeqNum(kIss));
    link.pump();
    ASSERT_GE(link.trace.size(), 3u);
    EXPECT_EQ(link.trace[0].w.hdr.seq, SeqNum(kIss)) << "SYN";
    EXPECT_EQ(link.trace[1].w.flags(), "S.");
    EXPECT_EQ(link.trace[1].w.hdr.seq, SeqNum(kIss + 1000)) << "SYN-ACK";
    EXPECT_EQ(link.trace[1].w.hdr.ack, SeqNum(kIss + 1));
    EXPECT_EQ(c.state(), State::Established);
    // A second connection, later and on another port, starts from the same number.
    Connection& c2 = a.connect(link.now + Duration::seconds(3), 40001, kServer, kPort);
    EXPECT_EQ(c2.iss(), SeqNum(kIss));
    link.pump();
    EXPECT_EQ(c2.state(), State::Established);
    Connection* s2 = b.find(FourTuple{kServer, kClient, kPort, 40001});
    ASSERT_NE(s2, nullptr);
    EXPECT_EQ(s2->iss(), SeqNum(kIss + 1000));
}

TEST(FixedIss, WithoutItTwoServersDisagree) {
    Endpoint b1(kServer, Config{}, 2);
    Endpoint b2(kServer, Config{}, 3);
    const FourTuple t{kServer, kClient, kPort, 40000};
    const Instant t0 = Instant::from_nanos(1'000'000'000);
    EXPECT_NE(b1.isn.iss_for(t, t0, b1.cfg.fixed_iss), b2.isn.iss_for(t, t0, b2.cfg.fixed_iss));
}

TEST(FixedIss, ReplayedClientGetsTheRecordedAnswers) {
    const Instant t0 = Instant::from_nanos(1'000'000'000);
    Endpoint client(kClient, Config{}, 1);
    Endpoint recorder(kServer, fixed(kIss), 2);
    std::vector<Sent> recorded;
    const std::vector<Wire> client_out = record(client, recorder, t0, recorded);
    // Sanity of the recording: handshake, data both ways, both FINs.
    ASSERT_GE(recorded.size(), 3u);
    EXPECT_EQ(recorded[0].flags, fl::SYN | fl::ACK);
    EXPECT_EQ(recorded[0].seq, kIss);
    bool echoed = false, fin = false;
    for (const Sent& s : recorded) {
        echoed |= s.payload == "hello, echo\n";
        fin |= (s.flags & fl::FIN) != 0;
    }
    EXPECT_TRUE(echoed && fin);

    // Another server, another key, an hour later: the same answers.
    Endpoint replayer(kServer, fixed(kIss), 3);
    const std::vector<Sent> replayed = replay(client_out, replayer, t0 + Duration::seconds(3600));
    ASSERT_EQ(replayed.size(), recorded.size());
    for (std::size_t i = 0; i < recorded.size(); ++i) {
        EXPECT_EQ(replayed[i].seq, recorded[i].seq) << "segment " << i;
        EXPECT_EQ(replayed[i].ack, recorded[i].ack) << "segment " << i;
        EXPECT_EQ(replayed[i].flags, recorded[i].flags) << "segment " << i;
        EXPECT_EQ(replayed[i].payload, recorded[i].payload) << "segment " << i;
    }
    // The last ACK closed it (LAST-ACK -> CLOSED), nothing left to retransmit, nothing dropped.
    for (Connection* c : replayer.live()) EXPECT_EQ(c->state(), State::Closed);
    EXPECT_EQ(replayer.counters.retransmits, 0u);
    EXPECT_EQ(replayer.counters.drop_paws, 0u) << "the client's own TSvals are in order";
    EXPECT_EQ(replayer.counters.drop_bad_ack, 0u);
    EXPECT_EQ(replayer.counters.drop_unacceptable, 0u);
}

TEST(FixedIss, ReplayIntoAnRfc6528ServerIsRejected) {
    const Instant t0 = Instant::from_nanos(1'000'000'000);
    Endpoint client(kClient, Config{}, 1);
    Endpoint recorder(kServer, fixed(kIss), 2);
    std::vector<Sent> recorded;
    const std::vector<Wire> client_out = record(client, recorder, t0, recorded);

    Endpoint replayer(kServer, Config{}, 3);
    const std::vector<Sent> replayed = replay(client_out, replayer, t0 + Duration::seconds(3600));
    ASSERT_GE(replayed.size(), 2u);
    EXPECT_EQ(replayed[0].flags, fl::SYN | fl::ACK);
    EXPECT_NE(replayed[0].seq, kIss);
    // SYN-RECEIVED, an ACK of an ISS it never sent: <SEQ=SEG.ACK><CTL=RST> (RFC 9293 §3.10.7.4).
    EXPECT_EQ(replayed[1].flags, fl::RST);
    EXPECT_EQ(replayed[1].seq, kIss + 1);
    bool echoed = false;
    for (const Sent& s : replayed) echoed |= !s.payload.empty();
    EXPECT_FALSE(echoed);
}
