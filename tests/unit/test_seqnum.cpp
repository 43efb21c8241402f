#include "ustcp/base/seqnum.hpp"

#include <gtest/gtest.h>

using ustcp::SeqNum;

TEST(SeqNum, OrdersAcrossWrap) {
    SeqNum a(0xfffffff0u);
    SeqNum b = a + 0x20;  // wraps to 0x10
    EXPECT_EQ(b.value(), 0x10u);
    EXPECT_LT(a, b);
    EXPECT_GT(b, a);
    EXPECT_EQ(b - a, 0x20);
    EXPECT_EQ(a - b, -0x20);
    EXPECT_LE(a, a);
    EXPECT_EQ(SeqNum::max(a, b), b);
    EXPECT_EQ(SeqNum::min(a, b), a);
}

TEST(SeqNum, HalfSpaceBoundary) {
    SeqNum a(0);
    // Up to 2^31 - 1 ahead is "greater"; beyond 2^31 the other one is ahead.
    EXPECT_LT(a, a + 0x7fffffffu);
    EXPECT_GT(a, a + 0x80000001u);
}

TEST(SeqNum, InWindow) {
    SeqNum start(0xfffffffeu);
    EXPECT_TRUE(start.in_window(start, 4));
    EXPECT_TRUE((start + 3).in_window(start, 4));
    EXPECT_FALSE((start + 4).in_window(start, 4));
    EXPECT_FALSE((start - 1).in_window(start, 4));
    EXPECT_FALSE(start.in_window(start, 0)) << "an empty window holds nothing";
}

TEST(SeqNum, CompoundAssignment) {
    SeqNum s(10);
    s += 5;
    EXPECT_EQ(s.value(), 15u);
    s -= 20;
    EXPECT_EQ(s.value(), 0xfffffffbu);
}
