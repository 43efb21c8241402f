// The ten packets of the seed echo session (tests/vectors/seed001-echo-session.txt).
// For each packet the test reads the tcpdump line, pulls every field out of it with
// its own small parser, and checks that the checked views report the same values;
// then it classifies the TCP checksum (valid vs pseudo-header-only).
#include <gtest/gtest.h>

#include <regex>
#include <sstream>
#include <string>

#include "ustcp/wire/checksum.hpp"
#include "ustcp/wire/ipv4.hpp"
#include "ustcp/wire/tcp.hpp"
#include "vectors.hpp"

using namespace ustcp;
using namespace ustcp::wire;

namespace {

// What a `tcpdump -S -nt` line for an IPv4/TCP packet says.
struct TcpdumpLine {
    std::string src, dst;
    std::uint16_t sport = 0, dport = 0;
    std::string flags;
    std::optional<std::uint32_t> seq, seq_end, ack;
    std::uint32_t win = 0;
    std::vector<std::string> options;  // e.g. "mss 1460", "sackOK", "TS val 1 ecr 2", "nop", "wscale 7"
    std::uint32_t length = 0;
};

TcpdumpLine parse_line(const std::string& line) {
    static const std::regex head(
        R"(^IP (\d+\.\d+\.\d+\.\d+)\.(\d+) > (\d+\.\d+\.\d+\.\d+)\.(\d+): Flags \[([^\]]*)\](.*), length (\d+)$)");
    std::smatch m;
    if (!std::regex_match(line, m, head)) throw std::runtime_error("unrecognised tcpdump line: " + line);
    TcpdumpLine t;
    t.src = m[1];
    t.sport = static_cast<std::uint16_t>(std::stoul(m[2]));
    t.dst = m[3];
    t.dport = static_cast<std::uint16_t>(std::stoul(m[4]));
    t.flags = m[5];
    t.length = static_cast<std::uint32_t>(std::stoul(m[7]));
    const std::string rest = m[6];
    std::smatch f;
    if (std::regex_search(rest, f, std::regex(R"(, seq (\d+)(?::(\d+))?)"))) {
        t.seq = static_cast<std::uint32_t>(std::stoul(f[1]));
        if (f[2].matched) t.seq_end = static_cast<std::uint32_t>(std::stoul(f[2]));
    }
    if (std::regex_search(rest, f, std::regex(R"(, ack (\d+))"))) t.ack = static_cast<std::uint32_t>(std::stoul(f[1]));
    if (!std::regex_search(rest, f, std::regex(R"(, win (\d+))"))) throw std::runtime_error("no win: " + line);
    t.win = static_cast<std::uint32_t>(std::stoul(f[1]));
    if (std::regex_search(rest, f, std::regex(R"(, options \[([^\]]*)\])"))) {
        std::stringstream ss(f[1].str());
        std::string opt;
        while (std::getline(ss, opt, ',')) t.options.push_back(opt);
    }
    return t;
}

// tcpdump's flag letters, in its order.
std::string flag_letters(std::uint8_t fl) {
    std::string s;
    if (fl & tcp_flags::FIN) s += 'F';
    if (fl & tcp_flags::SYN) s += 'S';
    if (fl & tcp_flags::RST) s += 'R';
    if (fl & tcp_flags::PSH) s += 'P';
    if (fl & tcp_flags::ACK) s += '.';
    if (fl & tcp_flags::URG) s += 'U';
    if (fl & tcp_flags::ECE) s += 'E';
    if (fl & tcp_flags::CWR) s += 'W';
    return s;
}

// The option list as tcpdump words, from our iterator (not from the printer).
std::vector<std::string> option_words(Bytes area) {
    std::vector<std::string> out;
    TcpOptionReader r(area);
    for (;;) {
        auto o = r.next();
        if (!o) throw std::runtime_error(std::string("bad options: ") + std::string(to_string(o.error())));
        if (!*o) return out;
        const TcpOption& op = **o;
        switch (op.kind) {
            case tcp_opt::NOP: out.push_back("nop"); break;
            case tcp_opt::EOL: out.push_back("eol"); break;
            case tcp_opt::MSS: out.push_back("mss " + std::to_string(load_be16(op.data.data()))); break;
            case tcp_opt::WSCALE: out.push_back("wscale " + std::to_string(op.data[0])); break;
            case tcp_opt::SACK_PERMITTED: out.push_back("sackOK"); break;
            case tcp_opt::TIMESTAMP:
                out.push_back("TS val " + std::to_string(load_be32(op.data.data())) + " ecr " +
                              std::to_string(load_be32(op.data.data() + 4)));
                break;
            default: out.push_back("kind " + std::to_string(op.kind)); break;
        }
    }
}

}  // namespace

TEST(SeedVectors, FileHasTenPackets) {
    auto pkts = vectors::load_seed_vectors();
    ASSERT_EQ(pkts.size(), 10u);
    for (std::size_t i = 0; i < pkts.size(); ++i) EXPECT_EQ(pkts[i].number, static_cast<int>(i + 1));
}

TEST(SeedVectors, EveryFieldOfEveryLine) {
    for (const auto& p : vectors::load_seed_vectors()) {
        SCOPED_TRACE("pkt " + std::to_string(p.number) + ": " + p.tcpdump_line);
        const TcpdumpLine want = parse_line(p.tcpdump_line);

        auto ip = Ipv4View::checked(p.bytes);
        ASSERT_TRUE(ip) << to_string(ip.error());
        EXPECT_TRUE(ip->header_checksum_ok());
        EXPECT_FALSE(ip->is_fragment());
        EXPECT_EQ(ip->protocol(), kIpProtoTcp);
        EXPECT_EQ(ip->src().to_string(), want.src);
        EXPECT_EQ(ip->dst().to_string(), want.dst);

        auto tcp = TcpView::checked(ip->payload());
        ASSERT_TRUE(tcp) << to_string(tcp.error());
        EXPECT_EQ(tcp->src_port(), want.sport);
        EXPECT_EQ(tcp->dst_port(), want.dport);
        EXPECT_EQ(flag_letters(tcp->flags()), want.flags);
        if (want.seq) {
            EXPECT_EQ(tcp->seq().value(), *want.seq);
            if (want.seq_end) {
                EXPECT_EQ((tcp->seq() + static_cast<std::uint32_t>(tcp->payload().size())).value(), *want.seq_end);
            }
        } else {
            EXPECT_TRUE(tcp->payload().empty() && !tcp->syn() && !tcp->fin() && !tcp->rst())
                << "tcpdump omits seq only for pure ACKs";
        }
        EXPECT_EQ(tcp->has_ack(), want.ack.has_value());
        if (want.ack) {
            EXPECT_EQ(tcp->ack().value(), *want.ack);
        }
        EXPECT_EQ(tcp->window(), want.win);
        EXPECT_EQ(option_words(tcp->options()), want.options);
        EXPECT_EQ(tcp->payload().size(), want.length);

        // The decoded options agree with the words too.
        auto opts = TcpOptions::parse(tcp->options());
        ASSERT_TRUE(opts);
        for (const auto& w : want.options) {
            if (w.rfind("mss ", 0) == 0) {
                EXPECT_EQ(opts->mss, std::stoul(w.substr(4)));
            }
            if (w.rfind("wscale ", 0) == 0) {
                EXPECT_EQ(opts->wscale, std::stoul(w.substr(7)));
            }
            if (w == "sackOK") {
                EXPECT_TRUE(opts->sack_permitted);
            }
            if (w.rfind("TS val ", 0) == 0) {
                ASSERT_TRUE(opts->timestamps);
                EXPECT_EQ("TS val " + std::to_string(opts->timestamps->val) + " ecr " + std::to_string(opts->timestamps->ecr), w);
            }
        }
    }
}

TEST(SeedVectors, ChecksumClassification) {
    // Four packets verify fully; six carry only the folded pseudo-header sum because
    // they were captured on the sender before checksum offload filled the field.
    int valid = 0, pseudo = 0;
    for (const auto& p : vectors::load_seed_vectors()) {
        SCOPED_TRACE("pkt " + std::to_string(p.number));
        auto ip = Ipv4View::checked(p.bytes);
        ASSERT_TRUE(ip);
        const Bytes seg = ip->payload();
        const bool full_ok = l4_checksum_ok_ipv4(ip->src(), ip->dst(), kIpProtoTcp, seg);
        const std::uint16_t field = load_be16(&seg[16]);
        const std::uint16_t phdr = checksum_fold(
            ipv4_pseudo_header_sum(ip->src(), ip->dst(), kIpProtoTcp, static_cast<std::uint16_t>(seg.size())));
        const std::string got = full_ok ? "valid" : (field == phdr ? "pseudo-header-only" : "bad");
        EXPECT_EQ(got, p.tcp_checksum);
        valid += got == "valid";
        pseudo += got == "pseudo-header-only";
    }
    EXPECT_EQ(valid, 4);
    EXPECT_EQ(pseudo, 6);
}
