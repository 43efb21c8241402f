#include <gtest/gtest.h>

#include <unordered_set>

#include "ustcp/base/addr.hpp"
#include "ustcp/base/endian.hpp"
#include "ustcp/base/result.hpp"
#include "ustcp/base/time.hpp"

using namespace ustcp;

TEST(Endian, Be16Be32RoundTrip) {
    auto p = be16::from_host(0x1234);
    EXPECT_EQ(p.host(), 0x1234);
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(&p);
    EXPECT_EQ(bytes[0], 0x12);
    EXPECT_EQ(bytes[1], 0x34);
    auto q = be32::from_host(0xdeadbeef);
    EXPECT_EQ(q.host(), 0xdeadbeefu);
    EXPECT_EQ(q, be32::from_host(0xdeadbeef));
    EXPECT_NE(q, be32::from_host(0xdeadbeee));

    std::uint8_t buf[6] = {};
    store_be16(buf, 0xabcd);
    store_be32(buf + 2, 0x01020304);
    EXPECT_EQ(buf[0], 0xab);
    EXPECT_EQ(buf[5], 0x04);
    EXPECT_EQ(load_be16(buf), 0xabcd);
    EXPECT_EQ(load_be32(buf + 2), 0x01020304u);
}

TEST(Ipv4Addr, ParseAndFormat) {
    auto a = Ipv4Addr::parse("198.18.0.1");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->value(), 0xc6120001u);
    EXPECT_EQ(a->to_string(), "198.18.0.1");
    EXPECT_EQ(Ipv4Addr(10, 0, 0, 255).to_string(), "10.0.0.255");
    for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4 ", "a.b.c.d", "1..2.3", "1.2.3.0004", "-1.2.3.4"}) {
        EXPECT_FALSE(Ipv4Addr::parse(bad)) << bad;
    }
}

TEST(MacAddr, ParseAndFormat) {
    auto m = MacAddr::parse("02:AB:cd:00:01:ff");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->to_string(), "02:ab:cd:00:01:ff");
    EXPECT_FALSE(m->is_zero());
    EXPECT_TRUE(MacAddr().is_zero());
    EXPECT_EQ(MacAddr::broadcast().to_string(), "ff:ff:ff:ff:ff:ff");
    for (const char* bad : {"", "02:ab:cd:00:01", "02-ab-cd-00-01-ff", "02:ab:cd:00:01:fg", "02:ab:cd:00:01:ff:"}) {
        EXPECT_FALSE(MacAddr::parse(bad)) << bad;
    }
}

TEST(FourTuple, ReverseAndHash) {
    FourTuple t{Ipv4Addr(198, 18, 0, 1), Ipv4Addr(198, 18, 0, 2), 5001, 40000};
    FourTuple r = t.reversed();
    EXPECT_EQ(r.local_addr, t.remote_addr);
    EXPECT_EQ(r.remote_port, t.local_port);
    EXPECT_EQ(r.reversed(), t);
    std::unordered_set<FourTuple> s{t, r};
    EXPECT_EQ(s.size(), 2u);
}

TEST(Time, Arithmetic) {
    Instant t0 = Instant::from_nanos(1'000);
    Instant t1 = t0 + Duration::millis(40);
    EXPECT_EQ((t1 - t0).as_micros(), 40'000);
    EXPECT_LT(t0, t1);
    EXPECT_EQ(Duration::seconds(2) / 4, Duration::millis(500));
    EXPECT_EQ(Duration::micros(3) * 2, Duration::nanos(6'000));
}

enum class E { A, B };

Result<int, E> half(int x) {
    if (x % 2 != 0) return Err(E::B);
    return x / 2;
}
Result<void, E> check(bool ok) {
    if (!ok) return Err(E::A);
    return {};
}

TEST(Result, ValueAndError) {
    auto r = half(10);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, 5);
    auto e = half(3);
    ASSERT_FALSE(e);
    EXPECT_EQ(e.error(), E::B);
    EXPECT_TRUE(check(true).ok());
    EXPECT_EQ(check(false).error(), E::A);
}
