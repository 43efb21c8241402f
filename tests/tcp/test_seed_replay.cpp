// Replays the client side of the seed echo session (tests/vectors/seed001-echo-session.txt)
// against our server and compares our answers with what the seed's Linux echo server sent:
// flags, acknowledgment numbers, sequence numbers relative to the ISN, and the option set.
//
// The client's packets are fed as captured, except that their ACK numbers are moved from
// the seed server's ISN to ours. The echo application is modelled as the seed's was:
// Linux acknowledged the data at once (quick-ACK at connection start) and the echo
// followed, while the FIN's ACK waited and left together with the server's own FIN. Here
// the engine defers ACKs to the end of a burst (Context::defer_acks); the application
// echoes data in the next poll and closes on end-of-stream within the same poll.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "harness.hpp"
#include "ustcp/tcp/segment.hpp"
#include "ustcp/wire/ipv4.hpp"
#include "vectors.hpp"

using namespace ustcp;
using namespace ustcp::tcp;
using namespace ustcp::tcp::test;
namespace fl = wire::tcp_flags;

namespace {

struct Seg {
    FourTuple sender;  // sender's view
    wire::TcpRepr hdr;
    std::vector<std::uint8_t> payload;
};

Seg parse(const std::vector<std::uint8_t>& datagram) {
    auto ip = wire::Ipv4View::checked(datagram);
    if (!ip) throw std::runtime_error("bad IPv4 in vectors");
    // Six of the ten carry only the pseudo-header sum (captured before offload): trust them.
    auto p = parse_segment(ip->src(), ip->dst(), ip->payload(), false);
    if (!p) throw std::runtime_error("bad TCP in vectors");
    return Seg{p->tuple.reversed(), p->hdr, {p->payload.begin(), p->payload.end()}};
}

std::vector<std::uint8_t> option_kinds(const wire::TcpOptions& o) {
    // Re-emit and walk: the kinds in wire order.
    std::vector<std::uint8_t> buf(o.encoded_len());
    o.emit(buf);
    std::vector<std::uint8_t> kinds;
    wire::TcpOptionReader r(buf);
    for (auto x = r.next(); x && *x; x = r.next()) kinds.push_back((*x)->kind);
    return kinds;
}

}  // namespace

TEST(SeedReplay, EchoServerAnswersLikeTheSeed) {
    const auto pkts = vectors::load_seed_vectors();
    ASSERT_EQ(pkts.size(), 10u);
    std::vector<Seg> segs;
    for (const auto& p : pkts) segs.push_back(parse(p.bytes));

    const Ipv4Addr server_ip = segs[1].sender.local_addr;   // 120.79.72.214
    const std::uint16_t server_port = segs[1].sender.local_port;  // 7
    const SeqNum seed_iss = segs[1].hdr.seq;                 // the seed server's ISN
    const SeqNum client_isn = segs[0].hdr.seq;

    Endpoint server(server_ip);
    server.ctx.defer_acks = true;
    server.listen(server_port);
    Instant now = Instant::from_nanos(5'000'000'000);

    Connection* conn = nullptr;
    SeqNum our_iss;
    // Server answers per client packet number, seed and ours, as "flags ack=A seq=S+rel len=L".
    std::map<int, std::vector<std::string>> seed_answers, our_answers;
    auto describe = [](const wire::TcpRepr& h, std::size_t len, SeqNum iss, SeqNum peer_isn) {
        std::string f;
        if (h.flags & fl::FIN) f += 'F';
        if (h.flags & fl::SYN) f += 'S';
        if (h.flags & fl::RST) f += 'R';
        if (h.flags & fl::PSH) f += 'P';
        if (h.flags & fl::ACK) f += '.';
        return f + " ack=+" + std::to_string(h.ack - peer_isn) + " seq=+" + std::to_string(h.seq - iss) +
               " len=" + std::to_string(len);
    };

    int last_client = 0;
    for (std::size_t i = 0; i < segs.size(); ++i) {
        const Seg& s = segs[i];
        const int number = pkts[i].number;
        const bool from_client = s.sender.local_addr != server_ip;
        if (!from_client) {
            seed_answers[last_client].push_back(describe(s.hdr, s.payload.size(), seed_iss, client_isn));
            if (s.hdr.flags & fl::SYN) {
                // Option set of the seed's SYN-ACK, for the comparison below.
                const auto kinds = option_kinds(s.hdr.options);
                seed_answers[-1].push_back(std::string(kinds.begin(), kinds.end()));
            }
            continue;
        }
        last_client = number;
        now += Duration::millis(10);
        Wire w{s.sender, s.hdr, s.payload};
        if (conn != nullptr) w.hdr.ack = our_iss + static_cast<std::uint32_t>(s.hdr.ack - seed_iss);
        server.deliver(w, now);
        if (conn == nullptr) {
            conn = server.find(s.sender.reversed());
            ASSERT_NE(conn, nullptr);
            our_iss = conn->iss();
        }
        // Same poll: the application closes on end-of-stream; then the burst's ACKs go out.
        const bool eof = conn->peer_closed() && conn->bytes_readable() == 0;
        if (eof && conn->state() == State::CloseWait) {
            ASSERT_TRUE(conn->close(server.ctx, now));
        }
        conn->flush_ack(server.ctx, now);
        // Next poll: the application echoes what it read.
        std::uint8_t buf[256];
        auto n = conn->receive(server.ctx, now, buf);
        if (n && *n > 0) {
            ASSERT_TRUE(conn->send(server.ctx, now, wire::Bytes(buf, *n)));
        }
        for (const Wire& out : server.drain()) {
            our_answers[number].push_back(describe(out.hdr, out.payload.size(), our_iss, client_isn));
            if (out.hdr.flags & fl::SYN) {
                const auto kinds = option_kinds(out.hdr.options);
                our_answers[-1].push_back(std::string(kinds.begin(), kinds.end()));
            }
            if (!out.payload.empty()) {
                EXPECT_EQ(std::string(out.payload.begin(), out.payload.end()), "1\r\n") << "the echo";
            }
        }
    }
    // pkt 1 (SYN) -> S.; pkt 4 (data) -> ., P.; pkt 8 (FIN) -> F.; pkts 3, 7, 10 -> nothing.
    EXPECT_EQ(our_answers, seed_answers);
    EXPECT_EQ(seed_answers.size(), 4u) << "three client packets answered, plus the option set";
    EXPECT_EQ(conn->state(), State::Closed) << "the last ACK closed LAST-ACK";
}
