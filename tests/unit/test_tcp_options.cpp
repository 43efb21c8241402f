// The option iterator walks well-formed lists, skips unknown kinds by length, and
// reports each kind of malformation without reading past the option area.
#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>
#include <vector>

#include "ustcp/wire/tcp.hpp"

using namespace ustcp;
using namespace ustcp::wire;
using Buf = std::vector<std::uint8_t>;

namespace {
Buf hex(const char* s) {
    Buf out;
    for (; s[0] && s[1]; s += 2) out.push_back(static_cast<std::uint8_t>(std::stoul(std::string(s, 2), nullptr, 16)));
    return out;
}

struct Walk {
    std::vector<std::uint8_t> kinds;
    std::optional<ParseError> error;
};

Walk walk(Bytes area) {
    Walk w;
    TcpOptionReader r(area);
    for (;;) {
        auto o = r.next();
        if (!o) {
            w.error = o.error();
            return w;
        }
        if (!*o) return w;
        w.kinds.push_back((*o)->kind);
        // Each option's data lies inside the area.
        if (!(*o)->data.empty()) {
            EXPECT_GE((*o)->data.data(), area.data());
            EXPECT_LE((*o)->data.data() + (*o)->data.size(), area.data() + area.size());
        }
    }
}

ParseError parse_error(const Buf& area) {
    auto r = TcpOptions::parse(area);
    EXPECT_FALSE(r);
    return r ? ParseError{} : r.error();
}
}  // namespace

// parse() decodes NOP,NOP,TS (and an empty area) without walking: the same options as the
// walk gives for the same timestamp in other layouts, and a look-alike with a wrong length
// still fails as the walk says.
TEST(TcpOptions, TheAlignedTimestampLayoutDecodesAsTheWalkDoes) {
    const Buf aligned = hex("0101080a8ce4bee301020304");
    const Buf trailing = hex("080a8ce4bee3010203040101");  // TS, NOP, NOP: walked
    const Buf padded = hex("0101080a8ce4bee30102030400000000");  // 16 bytes, EOL-padded: walked
    auto a = TcpOptions::parse(aligned);
    auto t = TcpOptions::parse(trailing);
    auto p = TcpOptions::parse(padded);
    ASSERT_TRUE(a && t && p);
    ASSERT_TRUE(a->timestamps);
    EXPECT_EQ(a->timestamps->val, 0x8ce4bee3u);
    EXPECT_EQ(a->timestamps->ecr, 0x01020304u);
    EXPECT_EQ(*a, *t);
    EXPECT_EQ(*a, *p);
    EXPECT_FALSE(a->mss || a->wscale || a->sack_permitted || a->sack_count != 0);
    auto none = TcpOptions::parse(Bytes{});
    ASSERT_TRUE(none);
    EXPECT_EQ(*none, TcpOptions{});
    // NOP, NOP, TS with length 9 in a 12-byte area: not the fast layout; the walk's error.
    EXPECT_EQ(parse_error(hex("010108090102030405060700")), ParseError::OptionWrongLength);
    // NOP, NOP, SACK-permitted... of 12 bytes is walked, not taken for TS.
    auto sp = TcpOptions::parse(hex("010104020101080a00000001"));
    ASSERT_FALSE(sp) << "TS of length 10 overruns the area after SACK-permitted";
}

TEST(TcpOptions, LinuxSynOptions) {
    // Seed 001 packet 1: mss 1460,sackOK,TS val 2363801315 ecr 0,nop,wscale 7
    Buf a = hex("020405b40402080a8ce4bee30000000001030307");
    EXPECT_EQ(walk(a).kinds, (std::vector<std::uint8_t>{2, 4, 8, 1, 3}));
    auto o = TcpOptions::parse(a);
    ASSERT_TRUE(o);
    EXPECT_EQ(o->mss, 1460);
    EXPECT_TRUE(o->sack_permitted);
    ASSERT_TRUE(o->timestamps);
    EXPECT_EQ(o->timestamps->val, 2363801315u);
    EXPECT_EQ(o->timestamps->ecr, 0u);
    EXPECT_EQ(o->wscale, 7);
    // And we emit the same bytes Linux did.
    Buf out(o->encoded_len());
    EXPECT_EQ(o->emit(out), a.size());
    EXPECT_EQ(out, a);
}

TEST(TcpOptions, SackBlocksOneToFour) {
    for (std::uint8_t n = 1; n <= 4; ++n) {
        TcpOptions t;
        t.sack_count = n;
        for (std::uint8_t i = 0; i < n; ++i) t.sack[i] = SackBlock{SeqNum(1000u * i), SeqNum(1000u * i + 500)};
        if (n <= 3) t.timestamps = TcpTimestamps{1, 2};
        Buf out(t.encoded_len());
        ASSERT_LE(out.size(), kTcpMaxOptionsLen);
        EXPECT_EQ(out.size() % 4, 0u);
        t.emit(out);
        auto back = TcpOptions::parse(out);
        ASSERT_TRUE(back) << int{n};
        EXPECT_EQ(*back, t);
    }
}

TEST(TcpOptions, UnknownKindsSkippedByLength) {
    // kind 30 (MPTCP) length 4, kind 254 (experimental) length 6, then MSS.
    Buf a = hex("1e04abcdfe06000102030204059c");
    EXPECT_EQ(walk(a).kinds, (std::vector<std::uint8_t>{30, 254, 2}));
    EXPECT_EQ(TcpOptions::parse(a)->mss, 1436);
}

TEST(TcpOptions, EolEndsTheList) {
    Buf a = hex("0101000204ffff");  // garbage after EOL is never looked at
    EXPECT_EQ(walk(a).kinds, (std::vector<std::uint8_t>{1, 1, 0}));
    EXPECT_FALSE(walk(a).error);
    EXPECT_FALSE(TcpOptions::parse(a)->mss);
}

TEST(TcpOptions, MalformedListsAreReported) {
    EXPECT_EQ(parse_error(hex("0101020004")), ParseError::OptionBadLength) << "length 0";
    EXPECT_EQ(parse_error(hex("08010000")), ParseError::OptionBadLength) << "length 1";
    EXPECT_EQ(parse_error(hex("010108")), ParseError::OptionTruncated) << "length byte missing";
    EXPECT_EQ(parse_error(hex("01080a0000")), ParseError::OptionPastEnd) << "TS runs past the header";
    EXPECT_EQ(parse_error(hex("020305")), ParseError::OptionWrongLength) << "MSS of length 3";
    EXPECT_EQ(parse_error(hex("0304070000")), ParseError::OptionWrongLength) << "WS of length 4";
    EXPECT_EQ(parse_error(hex("04030000")), ParseError::OptionWrongLength) << "SACK-permitted of length 3";
    EXPECT_EQ(parse_error(hex("080800000000000000000000")), ParseError::OptionWrongLength) << "TS of length 8";
    EXPECT_EQ(parse_error(hex("0502")), ParseError::SackBadLength) << "SACK with no blocks";
    EXPECT_EQ(parse_error(hex("050e000000010000000200000003")), ParseError::SackBadLength) << "SACK of 8n+2 bytes";
}

TEST(TcpOptions, EveryPrefixOfEveryListIsSafe) {
    // Cutting a valid list anywhere yields a clean parse or a structural error,
    // never a read past the cut (ASan builds check the "never").
    const Buf lists[] = {
        hex("020405b40402080a8ce4bee30000000001030307"),
        hex("0101080a8ce4befc2c4e1d26"),
        hex("0101051a0000000a000000140000001e000000280000003200000064"),
    };
    for (const Buf& full : lists) {
        for (std::size_t n = 0; n <= full.size(); ++n) {
            Buf cut(full.begin(), full.begin() + static_cast<long>(n));
            auto r = TcpOptions::parse(cut);
            if (!r) {
                EXPECT_TRUE(r.error() == ParseError::OptionTruncated || r.error() == ParseError::OptionPastEnd ||
                            r.error() == ParseError::OptionBadLength)
                    << "cut at " << n << ": " << to_string(r.error());
            }
        }
    }
}

TEST(TcpOptions, RandomBytesNeverEscape) {
    std::mt19937 rng(7);
    for (int i = 0; i < 20000; ++i) {
        Buf a(rng() % 41);
        for (auto& b : a) b = static_cast<std::uint8_t>(rng() % 12);  // small kinds hit the interesting cases
        (void)walk(a);  // the span checks inside walk() assert containment
        (void)TcpOptions::parse(a);
    }
}

TEST(TcpOptions, ParseErrorNamesAreDistinct) {
    std::set<std::string_view> names;
    for (std::size_t i = 0; i < kParseErrorCount; ++i) names.insert(to_string(static_cast<ParseError>(i)));
    EXPECT_EQ(names.size(), kParseErrorCount);
    EXPECT_EQ(names.count("unknown"), 0u);
}

TEST(TcpOptions, RepeatedSackReplacesEarlier) {
    // Found by fuzz_tcp_options: a second SACK option must not leave blocks of the first behind.
    Buf a = hex("01010512000000010000000200000003000000040101050a0000000a00000014");
    auto o = TcpOptions::parse(a);
    ASSERT_TRUE(o);
    ASSERT_EQ(o->sack_count, 1);
    EXPECT_EQ(o->sack[0], (SackBlock{SeqNum(10), SeqNum(20)}));
    EXPECT_EQ(o->sack[1], SackBlock{}) << "stale block from the first option";
}
