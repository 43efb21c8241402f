// SipHash-2-4, RFC 6528 ISNs and SYN cookies (lib/tcp/{siphash,isn,syncookie}).
#include <gtest/gtest.h>

#include <array>
#include <bit>
#include <cstdint>
#include <optional>
#include <random>
#include <set>
#include <string_view>
#include <vector>

#include "ustcp/tcp/isn.hpp"
#include "ustcp/tcp/siphash.hpp"
#include "ustcp/tcp/syncookie.hpp"

namespace {

using ustcp::Duration;
using ustcp::FourTuple;
using ustcp::Instant;
using ustcp::Ipv4Addr;
using ustcp::SeqNum;
using ustcp::tcp::IsnGenerator;
using ustcp::tcp::SipKey;
using ustcp::tcp::SynCookieOptions;
using ustcp::tcp::SynCookies;

// ---------------------------------------------------------------------------------------------
// SipHash-2-4

constexpr SipKey kRefKey = SipKey::from_bytes({0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                                               0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f});

// The 64 reference outputs of SipHash-2-4 for key 00 01 .. 0f and message i = 00 01 .. (i-1),
// each the 8 output bytes in order (the 64-bit result stored little-endian). Source: the
// SipHash reference implementation by Aumasson and Bernstein, github.com/veorq/SipHash,
// vectors.h, table vectors_sip64 (the same values as the paper's reference code's test).
constexpr std::array<std::string_view, 64> kSip64Vectors{
    "310e0edd47db6f72", "fd67dc93c539f874", "5a4fa9d909806c0d", "2d7efbd796666785",
    "b7877127e09427cf", "8da699cd64557618", "cee3fe586e46c9cb", "37d1018bf50002ab",
    "6224939a79f5f593", "b0e4a90bdf82009e", "f3b9dd94c5bb5d7a", "a7ad6b22462fb3f4",
    "fbe50e86bc8f1e75", "903d84c02756ea14", "eef27a8e90ca23f7", "e545be4961ca29a1",
    "db9bc2577fcc2a3f", "9447be2cf5e99a69", "9cd38d96f0b3c14b", "bd6179a71dc96dbb",
    "98eea21af25cd6be", "c7673b2eb0cbf2d0", "883ea3e395675393", "c8ce5ccd8c030ca8",
    "94af49f6c650adb8", "eab8858ade92e1bc", "f315bb5bb835d817", "adcf6b0763612e2f",
    "a5c91da7acaa4dde", "716595876650a2a6", "28ef495c53a387ad", "42c341d8fa92d832",
    "ce7cf2722f512771", "e37859f94623f3a7", "381205bb1ab0e012", "ae97a10fd434e015",
    "b4a31508beff4d31", "81396229f0907902", "4d0cf49ee5d4dcca", "5c73336a76d8bf9a",
    "d0a704536ba93e0e", "925958fcd6420cad", "a915c29bc8067318", "952b79f3bc0aa6d4",
    "f21df2e41d4535f9", "87577519048f53a9", "10a56cf5dfcd9adb", "eb75095ccd986cd0",
    "51a9cb9ecba312e6", "96afadfc2ce666c7", "72fe52975a4364ee", "5a1645b276d592a1",
    "b274cb8ebf87870a", "6f9bb4203de7b381", "eaecb2a30b22a87f", "9924a43cc1315724",
    "bd838d3aafbf8db7", "0b1a2a3265d51aea", "135079a3231ce660", "932b2846e4d70666",
    "e1915f5cb1eca46c", "f325965ca16d629f", "575ff28e60381be5", "724506eb4c328a95",
};

/// The 16 hex digits of 8 little-endian output bytes as the 64-bit value.
std::uint64_t le_hex(std::string_view hex) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < 8; ++i) {
        auto nib = [](char c) -> std::uint64_t {
            return c <= '9' ? static_cast<std::uint64_t>(c - '0') : static_cast<std::uint64_t>(c - 'a' + 10);
        };
        v |= (nib(hex[2 * i]) << 4 | nib(hex[2 * i + 1])) << (8 * i);
    }
    return v;
}

TEST(SipHash, AllSixtyFourReferenceVectors) {
    std::array<std::uint8_t, 64> msg{};
    for (std::size_t i = 0; i < msg.size(); ++i) msg[i] = static_cast<std::uint8_t>(i);
    for (std::size_t len = 0; len < kSip64Vectors.size(); ++len) {
        EXPECT_EQ(ustcp::tcp::siphash24(kRefKey, std::span(msg.data(), len)), le_hex(kSip64Vectors[len]))
            << "message length " << len;
    }
}

TEST(SipHash, PaperAppendixExample) {
    // "SipHash: a fast short-input PRF", Appendix A: key 00..0f, the 15-byte message 00..0e,
    // output a129ca6149be45e5 (printed there as a 64-bit number).
    std::array<std::uint8_t, 15> msg{};
    for (std::size_t i = 0; i < msg.size(); ++i) msg[i] = static_cast<std::uint8_t>(i);
    EXPECT_EQ(ustcp::tcp::siphash24(kRefKey, msg), 0xa129ca6149be45e5ULL);
}

// The word form at compile time: vector 8 (message 00..07 is the one word 0x0706050403020100)
// and vector 16 (two words).
static_assert(ustcp::tcp::siphash24_words(kRefKey, std::array<std::uint64_t, 1>{0x0706050403020100ULL}) ==
              0x93f5f5799a932462ULL);
static_assert(ustcp::tcp::siphash24_words(kRefKey, std::array<std::uint64_t, 2>{0x0706050403020100ULL,
                                                                               0x0f0e0d0c0b0a0908ULL}) ==
              0x3f2acc7f57c29bdbULL);

template <std::size_t N>
void expect_words_match_bytes(std::mt19937_64& rng, const SipKey& key) {
    std::array<std::uint64_t, N> w{};
    std::array<std::uint8_t, 8 * N> b{};
    for (std::size_t i = 0; i < N; ++i) {
        w[i] = rng();
        for (std::size_t j = 0; j < 8; ++j) b[8 * i + j] = static_cast<std::uint8_t>(w[i] >> (8 * j));
    }
    EXPECT_EQ(ustcp::tcp::siphash24_words(key, w), ustcp::tcp::siphash24(key, b)) << "N = " << N;
}

TEST(SipHash, WordFormEqualsByteForm) {
    std::mt19937_64 rng(1);
    for (int i = 0; i < 100; ++i) {
        const SipKey key = SipKey::from_words(rng(), rng());
        expect_words_match_bytes<1>(rng, key);
        expect_words_match_bytes<3>(rng, key);
        expect_words_match_bytes<4>(rng, key);
        expect_words_match_bytes<5>(rng, key);
        expect_words_match_bytes<32>(rng, key);  // 256 bytes: the length byte wraps to 0
    }
}

TEST(SipHash, KeyHalvesAreLittleEndian) {
    EXPECT_EQ(kRefKey.k0(), 0x0706050403020100ULL);
    EXPECT_EQ(kRefKey.k1(), 0x0f0e0d0c0b0a0908ULL);
    const std::array<std::uint8_t, 16> b{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    EXPECT_EQ(SipKey::from_bytes(b).bytes(), b);
    EXPECT_EQ(SipKey::from_words(kRefKey.k0(), kRefKey.k1()), kRefKey);
}

TEST(SipHash, KeyAndMessageBothMatter) {
    const std::array<std::uint8_t, 4> m{1, 2, 3, 4};
    const std::array<std::uint8_t, 4> m2{1, 2, 3, 5};
    const SipKey other = SipKey::from_words(kRefKey.k0() ^ 1, kRefKey.k1());
    EXPECT_NE(ustcp::tcp::siphash24(kRefKey, m), ustcp::tcp::siphash24(other, m));
    EXPECT_NE(ustcp::tcp::siphash24(kRefKey, m), ustcp::tcp::siphash24(kRefKey, m2));
}

TEST(SipHash, RandomKeysDiffer) {
    const SipKey a = SipKey::random();
    const SipKey b = SipKey::random();
    EXPECT_NE(a, b) << "two getrandom(2) keys collided (p = 2^-128)";
    EXPECT_FALSE(a.k0() == 0 && a.k1() == 0);
}

// ---------------------------------------------------------------------------------------------
// RFC 6528 ISNs

const FourTuple kTuple{Ipv4Addr(10, 0, 0, 1), Ipv4Addr(192, 168, 7, 9), 80, 51000};
constexpr SipKey kKeyA = SipKey::from_words(0x0123456789abcdefULL, 0xfedcba9876543210ULL);
constexpr SipKey kKeyB = SipKey::from_words(0x0123456789abcdefULL, 0xfedcba9876543211ULL);
// A 4 us-aligned start far from zero (about 2023 in Unix nanoseconds).
constexpr Instant kT0 = Instant::from_nanos(1'700'000'000'000'000'000LL);

TEST(Isn, AdvancesOnePerFourMicroseconds) {
    const IsnGenerator g(kKeyA);
    const SeqNum base = g.isn(kTuple, kT0);
    EXPECT_EQ(g.isn(kTuple, kT0 + Duration::nanos(3'999)), base) << "still the same 4 us tick";
    EXPECT_EQ(g.isn(kTuple, kT0 + Duration::micros(4)) - base, 1);
    EXPECT_EQ(g.isn(kTuple, kT0 + Duration::micros(8)) - base, 2);
    EXPECT_EQ(g.isn(kTuple, kT0 + Duration::millis(4)) - base, 1'000);
    EXPECT_EQ(g.isn(kTuple, kT0 + Duration::seconds(1)) - base, 250'000);
    EXPECT_GT(g.isn(kTuple, kT0 + Duration::seconds(60)), base);
}

TEST(Isn, WrapsAfterTwoToThe32Ticks) {
    const IsnGenerator g(kKeyA);
    const Duration full = Duration::micros(4) * (std::int64_t{1} << 32);  // ~4.77 hours
    EXPECT_EQ(g.isn(kTuple, kT0 + full), g.isn(kTuple, kT0));
    EXPECT_EQ(g.isn(kTuple, kT0 + full + Duration::micros(4)) - g.isn(kTuple, kT0), 1);
}

TEST(Isn, TimerIsFlooredFourMicroTicks) {
    EXPECT_EQ(IsnGenerator::timer(Instant::from_nanos(0)), 0u);
    EXPECT_EQ(IsnGenerator::timer(Instant::from_nanos(3'999)), 0u);
    EXPECT_EQ(IsnGenerator::timer(Instant::from_nanos(4'000)), 1u);
    EXPECT_EQ(IsnGenerator::timer(Instant::from_nanos(-1)), 0xffffffffu) << "floor, not truncation toward 0";
    EXPECT_EQ(IsnGenerator::timer(Instant::from_nanos(-4'000)), 0xffffffffu);
    EXPECT_EQ(IsnGenerator::timer(Instant::from_nanos(-4'001)), 0xfffffffeu);
}

TEST(Isn, StableForTheSameInputs) {
    const IsnGenerator g(kKeyA);
    const IsnGenerator g2(kKeyA);
    EXPECT_EQ(g.isn(kTuple, kT0), g.isn(kTuple, kT0));
    EXPECT_EQ(g.isn(kTuple, kT0), g2.isn(kTuple, kT0)) << "a second generator with the same key agrees";
}

TEST(Isn, DiffersPerTupleField) {
    const IsnGenerator g(kKeyA);
    const SeqNum base = g.isn(kTuple, kT0);
    FourTuple t = kTuple;
    t.local_addr = Ipv4Addr(10, 0, 0, 2);
    EXPECT_NE(g.isn(t, kT0), base);
    t = kTuple;
    t.remote_addr = Ipv4Addr(192, 168, 7, 8);
    EXPECT_NE(g.isn(t, kT0), base);
    t = kTuple;
    t.local_port = 81;
    EXPECT_NE(g.isn(t, kT0), base);
    t = kTuple;
    t.remote_port = 51001;
    EXPECT_NE(g.isn(t, kT0), base);
    EXPECT_NE(g.isn(kTuple.reversed(), kT0), base) << "the two directions' ISNs are unrelated";
}

TEST(Isn, DiffersPerKey) {
    EXPECT_NE(IsnGenerator(kKeyA).isn(kTuple, kT0), IsnGenerator(kKeyB).isn(kTuple, kT0));
}

TEST(Isn, OffsetLooksRandomAcrossPorts) {
    // F over 4096 consecutive client ports: all distinct offsets, and every bit of the ISN
    // set about half the time (a hash that ignored the port, or added it linearly, fails).
    const IsnGenerator g(kKeyA);
    std::set<std::uint32_t> seen;
    std::array<int, 32> ones{};
    FourTuple t = kTuple;
    constexpr int kN = 4096;
    for (int p = 0; p < kN; ++p) {
        t.remote_port = static_cast<std::uint16_t>(10'000 + p);
        const std::uint32_t v = g.isn(t, kT0).value();
        seen.insert(v);
        for (int b = 0; b < 32; ++b) ones[static_cast<std::size_t>(b)] += (v >> b) & 1;
    }
    EXPECT_EQ(seen.size(), static_cast<std::size_t>(kN));
    for (int b = 0; b < 32; ++b) {
        EXPECT_GT(ones[static_cast<std::size_t>(b)], kN * 4 / 10) << "bit " << b;
        EXPECT_LT(ones[static_cast<std::size_t>(b)], kN * 6 / 10) << "bit " << b;
    }
}

// ---------------------------------------------------------------------------------------------
// SYN cookies

constexpr SeqNum kPeerIsn(0x9abcdef0u);
// The start of a cookie period, so the window tests know where the tick boundaries are.
constexpr Instant kP0 = Instant::from_nanos(SynCookies::kPeriod.as_nanos() * 26'562'500LL);
static_assert(SynCookies::counter(kP0) == 26'562'500LL);

std::vector<SynCookieOptions> option_combinations() {
    std::vector<SynCookieOptions> v;
    const std::array<std::optional<std::uint8_t>, 5> scales{std::nullopt, 0, 1, 7, 14};
    for (std::uint16_t mss : SynCookies::kMssTable) {
        for (bool ts : {false, true}) {
            for (bool sack : {false, true}) {
                for (bool ecn : {false, true}) {
                    for (auto ws : scales) v.push_back({mss, sack, ws, ts, ecn});
                }
            }
        }
    }
    return v;
}

/// What check() should give back for a SYN with these options: everything with timestamps,
/// only the MSS without.
SynCookieOptions expected(const SynCookieOptions& o) {
    if (o.timestamps) return o;
    return SynCookieOptions{o.mss, false, std::nullopt, false, false};
}

TEST(SynCookie, RoundTripsEveryMssAndOptionCombination) {
    const SynCookies c(kKeyA);
    const Instant now = kP0 + Duration::seconds(17);
    const std::uint32_t clock = 0x12345678;
    for (const SynCookieOptions& o : option_combinations()) {
        const SeqNum iss = c.make_isn(kTuple, kPeerIsn, o.mss, now);
        std::optional<std::uint32_t> tsecr;
        if (o.timestamps) tsecr = SynCookies::encode_tsval(clock, o);
        const auto got = c.check(kTuple, kPeerIsn, iss, now + Duration::millis(30), tsecr);
        ASSERT_TRUE(got.has_value()) << "mss " << o.mss;
        EXPECT_EQ(*got, expected(o)) << "mss " << o.mss << " ts " << o.timestamps << " sack " << o.sack_permitted
                                     << " ws " << (o.wscale ? int{*o.wscale} : -1) << " ecn " << o.ecn;
    }
}

TEST(SynCookie, MssRoundsDownToTheTable) {
    const SynCookies c(kKeyA);
    const auto mss_after = [&](std::uint16_t peer_mss) -> int {
        const SeqNum iss = c.make_isn(kTuple, kPeerIsn, peer_mss, kP0);
        const auto got = c.check(kTuple, kPeerIsn, iss, kP0, std::nullopt);
        return got ? got->mss : -1;
    };
    EXPECT_EQ(mss_after(1460), 1460);
    EXPECT_EQ(mss_after(1459), 1440);
    EXPECT_EQ(mss_after(1400), 1380);
    EXPECT_EQ(mss_after(1452), 1440);
    EXPECT_EQ(mss_after(536), 536);
    EXPECT_EQ(mss_after(535), 88);
    EXPECT_EQ(mss_after(9000), 8960);
    EXPECT_EQ(mss_after(65535), 8960);
    EXPECT_EQ(mss_after(40), 88) << "below the table: the smallest entry";
    for (std::size_t i = 1; i < SynCookies::kMssTable.size(); ++i) {
        EXPECT_LT(SynCookies::kMssTable[i - 1], SynCookies::kMssTable[i]) << "the table is ascending";
    }
}

TEST(SynCookie, RejectsAnotherTuple) {
    const SynCookies c(kKeyA);
    const SeqNum iss = c.make_isn(kTuple, kPeerIsn, 1460, kP0);
    ASSERT_TRUE(c.check(kTuple, kPeerIsn, iss, kP0, std::nullopt));
    FourTuple t = kTuple;
    t.local_addr = Ipv4Addr(10, 0, 0, 2);
    EXPECT_FALSE(c.check(t, kPeerIsn, iss, kP0, std::nullopt));
    t = kTuple;
    t.remote_addr = Ipv4Addr(192, 168, 7, 10);
    EXPECT_FALSE(c.check(t, kPeerIsn, iss, kP0, std::nullopt));
    t = kTuple;
    t.local_port = 8080;
    EXPECT_FALSE(c.check(t, kPeerIsn, iss, kP0, std::nullopt));
    t = kTuple;
    t.remote_port = 51001;
    EXPECT_FALSE(c.check(t, kPeerIsn, iss, kP0, std::nullopt));
    EXPECT_FALSE(c.check(kTuple.reversed(), kPeerIsn, iss, kP0, std::nullopt));
}

TEST(SynCookie, RejectsAnotherPeerIsn) {
    const SynCookies c(kKeyA);
    const SeqNum iss = c.make_isn(kTuple, kPeerIsn, 1460, kP0);
    EXPECT_FALSE(c.check(kTuple, kPeerIsn + 1, iss, kP0, std::nullopt));
    EXPECT_FALSE(c.check(kTuple, kPeerIsn - 1, iss, kP0, std::nullopt));
    EXPECT_FALSE(c.check(kTuple, SeqNum(kPeerIsn.value() ^ 0x80000000u), iss, kP0, std::nullopt));
}

TEST(SynCookie, RejectsTamperedCookie) {
    const SynCookies c(kKeyA);
    const SeqNum iss = c.make_isn(kTuple, kPeerIsn, 536, kP0);
    EXPECT_FALSE(c.check(kTuple, kPeerIsn, iss + 1, kP0, std::nullopt));
    EXPECT_FALSE(c.check(kTuple, kPeerIsn, iss - 1, kP0, std::nullopt));
    // Claiming a bigger MSS index (bits 29..27) without fixing the MAC.
    EXPECT_FALSE(c.check(kTuple, kPeerIsn, SeqNum(iss.value() ^ (7u << 27)), kP0, std::nullopt));
}

TEST(SynCookie, RejectsAnotherKey) {
    const SynCookies a(kKeyA);
    const SynCookies b(kKeyB);
    const SeqNum iss = a.make_isn(kTuple, kPeerIsn, 1460, kP0);
    EXPECT_TRUE(a.check(kTuple, kPeerIsn, iss, kP0, std::nullopt));
    EXPECT_FALSE(b.check(kTuple, kPeerIsn, iss, kP0, std::nullopt));
    EXPECT_NE(b.make_isn(kTuple, kPeerIsn, 1460, kP0), iss);
}

TEST(SynCookie, NotAnIsnFromTheSameKey) {
    // Domain separation: sharing one key between IsnGenerator and SynCookies is allowed;
    // an ordinary ISN is not a valid cookie.
    const SynCookies c(kKeyA);
    const IsnGenerator g(kKeyA);
    EXPECT_FALSE(c.check(kTuple, kPeerIsn, g.isn(kTuple, kP0), kP0, std::nullopt));
}

TEST(SynCookie, AcceptedWithinTheValidityWindowOnly) {
    const SynCookies c(kKeyA);
    const Duration p = SynCookies::kPeriod;
    const Duration last_ns = Duration::nanos(1);
    // Made anywhere within period 0 (its start, middle and last nanosecond).
    for (Duration made_at : {Duration::zero(), p / 2, p - last_ns}) {
        const Instant made = kP0 + made_at;
        const SeqNum iss = c.make_isn(kTuple, kPeerIsn, 1440, made);
        const auto ok = [&](Instant at) { return c.check(kTuple, kPeerIsn, iss, at, std::nullopt).has_value(); };
        EXPECT_TRUE(ok(made));
        EXPECT_TRUE(ok(kP0 + p - last_ns));
        EXPECT_TRUE(ok(kP0 + p)) << "age 1";
        EXPECT_TRUE(ok(kP0 + p * 2)) << "age 2";
        EXPECT_TRUE(ok(kP0 + p * 3 - last_ns)) << "age 2, its last nanosecond";
        EXPECT_FALSE(ok(kP0 + p * 3)) << "age 3: expired";
        EXPECT_FALSE(ok(kP0 + p * 4)) << "age 4: same low counter bits, MAC over the full counter fails";
        EXPECT_FALSE(ok(kP0 + p * 5));
        EXPECT_FALSE(ok(kP0 + p * 6));
        EXPECT_FALSE(ok(kP0 + Duration::seconds(3600)));
        EXPECT_FALSE(ok(kP0 - last_ns)) << "a cookie from a later period than now";
        EXPECT_FALSE(ok(kP0 - p * 2));
    }
}

TEST(SynCookie, WorksAcrossNegativeInstants) {
    const SynCookies c(kKeyA);
    const Instant made = Instant::from_nanos(-5);
    const SeqNum iss = c.make_isn(kTuple, kPeerIsn, 1460, made);
    EXPECT_EQ(SynCookies::counter(made), -1);
    EXPECT_TRUE(c.check(kTuple, kPeerIsn, iss, Instant::from_nanos(10), std::nullopt));
    EXPECT_TRUE(c.check(kTuple, kPeerIsn, iss, Instant::from_nanos(0) + SynCookies::kPeriod, std::nullopt));
    EXPECT_FALSE(c.check(kTuple, kPeerIsn, iss, Instant::from_nanos(0) + SynCookies::kPeriod * 2, std::nullopt));
}

TEST(SynCookie, CookieChangesWithTimeAndPeerIsn) {
    const SynCookies c(kKeyA);
    const SeqNum a = c.make_isn(kTuple, kPeerIsn, 1460, kP0);
    EXPECT_EQ(c.make_isn(kTuple, kPeerIsn, 1460, kP0 + Duration::seconds(1)), a) << "same period, same cookie";
    EXPECT_NE(c.make_isn(kTuple, kPeerIsn, 1460, kP0 + SynCookies::kPeriod), a);
    EXPECT_NE(c.make_isn(kTuple, kPeerIsn + 1, 1460, kP0), a);
}

TEST(SynCookie, EverySingleBitFlipIsRejected) {
    // 27-bit MAC: a wrong cookie passes with probability about 2^-27, so 512 * 32 flips
    // accepting none is the expectation (the key is fixed, so the test is deterministic).
    const SynCookies c(kKeyA);
    std::mt19937 rng(7);
    const Instant now = kP0 + Duration::seconds(100);
    int accepted = 0;
    int valid = 0;
    for (int i = 0; i < 512; ++i) {
        const FourTuple t{Ipv4Addr(static_cast<std::uint32_t>(rng())), Ipv4Addr(static_cast<std::uint32_t>(rng())),
                          static_cast<std::uint16_t>(rng()), static_cast<std::uint16_t>(rng())};
        const SeqNum peer(static_cast<std::uint32_t>(rng()));
        const auto mss = SynCookies::kMssTable[rng() % SynCookies::kMssTable.size()];
        const SeqNum iss = c.make_isn(t, peer, mss, now);
        valid += c.check(t, peer, iss, now, std::nullopt).has_value();
        for (int b = 0; b < 32; ++b) {
            accepted += c.check(t, peer, SeqNum(iss.value() ^ (1u << b)), now, std::nullopt).has_value();
        }
    }
    EXPECT_EQ(valid, 512);
    EXPECT_EQ(accepted, 0);
}

TEST(SynCookie, RandomCookiesAreRejected) {
    const SynCookies c(kKeyA);
    std::mt19937 rng(11);
    int accepted = 0;
    for (int i = 0; i < 200'000; ++i) {
        accepted += c.check(kTuple, kPeerIsn, SeqNum(static_cast<std::uint32_t>(rng())), kP0, std::nullopt).has_value();
    }
    // Expectation 200000 * 3/4 * 2^-27 ~ 0.001; a weak MAC would let many through.
    EXPECT_EQ(accepted, 0);
}

TEST(SynCookie, TsvalEncodingRoundTripsAndNeverRunsAhead) {
    const std::array<std::uint32_t, 6> clocks{0, 5, 63, 64, 0x7fffffc1u, 0xffffffffu};
    const std::array<std::optional<std::uint8_t>, 4> scales{std::nullopt, 0, 9, 14};
    const SynCookies c(kKeyA);
    for (std::uint32_t clock : clocks) {
        for (auto ws : scales) {
            for (bool sack : {false, true}) {
                for (bool ecn : {false, true}) {
                    const SynCookieOptions o{1460, sack, ws, true, ecn};
                    const std::uint32_t tsval = SynCookies::encode_tsval(clock, o);
                    EXPECT_LT(clock - tsval, 64u) << "at most 63 ticks behind the clock, never ahead: "
                                                  << clock << " -> " << tsval;
                    const SeqNum iss = c.make_isn(kTuple, kPeerIsn, 1460, kP0);
                    const auto got = c.check(kTuple, kPeerIsn, iss, kP0, tsval);
                    ASSERT_TRUE(got);
                    EXPECT_EQ(got->wscale, ws);
                    EXPECT_EQ(got->sack_permitted, sack);
                    EXPECT_EQ(got->ecn, ecn);
                    EXPECT_TRUE(got->timestamps);
                }
            }
        }
    }
    // The clock's own low bits already equal the options: sent unchanged.
    EXPECT_EQ(SynCookies::encode_tsval(0x1000 | 15, SynCookieOptions{}), 0x1000u | 15);
    // Options above the clock's low bits: one block back, across zero.
    EXPECT_EQ(SynCookies::encode_tsval(3, SynCookieOptions{}), 0xffffffc0u | 15);
}

TEST(SynCookie, TsvalClampsWindowScaleTo14) {
    SynCookieOptions o;
    o.wscale = 20;
    EXPECT_EQ(SynCookies::encode_tsval(0x4000, o) & 0xf, 14u);
}

TEST(SynCookie, TsecrWithoutWindowScale) {
    const SynCookies c(kKeyA);
    const SeqNum iss = c.make_isn(kTuple, kPeerIsn, 1300, kP0);
    const auto got = c.check(kTuple, kPeerIsn, iss, kP0, std::uint32_t{0xabcd0000u | 0x1f});
    ASSERT_TRUE(got);
    EXPECT_EQ(got->mss, 1300);
    EXPECT_FALSE(got->wscale.has_value()) << "15 in the low nibble means no Window Scale option";
    EXPECT_TRUE(got->sack_permitted);
    EXPECT_FALSE(got->ecn);
    EXPECT_TRUE(got->timestamps);
}

TEST(SynCookie, WithoutTimestampsOnlyTheMssSurvives) {
    const SynCookies c(kKeyA);
    const SeqNum iss = c.make_isn(kTuple, kPeerIsn, 1460, kP0);
    const auto got = c.check(kTuple, kPeerIsn, iss, kP0, std::nullopt);
    ASSERT_TRUE(got);
    EXPECT_EQ(*got, (SynCookieOptions{1460, false, std::nullopt, false, false}));
}

}  // namespace
