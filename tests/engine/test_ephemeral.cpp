// engine::EphemeralPorts: the per-address bitmap connect() picks ports from. Sequential picks
// from a cursor that wraps, ports with flows skipped until their last flow goes, the caller's
// filter (RSS ownership) honoured, range edges that are not whole 64-bit words, and "none".
#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "ustcp/engine/ephemeral.hpp"

using ustcp::engine::EphemeralPorts;

namespace {
const auto any = [](std::uint16_t) { return true; };
}

TEST(EphemeralPorts, PicksSequentiallyAndSkipsPortsWithFlows) {
    EphemeralPorts e(1000, 1009);
    e.add(1001);
    e.add(1002);
    EXPECT_EQ(e.pick(any), 1000);
    EXPECT_EQ(e.pick(any), 1003) << "1001 and 1002 have flows";
    e.add(1000);  // what the engine does once a connection is made from the pick
    e.add(1003);
    EXPECT_EQ(e.pick(any), 1004);
    EXPECT_EQ(e.users(1001), 1u);
    EXPECT_EQ(e.users(1009), 0u);
}

TEST(EphemeralPorts, APortComesBackOnlyWhenItsLastFlowGoes) {
    EphemeralPorts e(1000, 1002);
    e.add(1000);
    e.add(1000);  // two peers on one local port
    e.add(1001);
    e.add(1002);
    EXPECT_FALSE(e.pick(any)) << "every port has a flow";
    e.remove(1000);
    EXPECT_FALSE(e.pick(any)) << "1000 still has one";
    e.remove(1000);
    EXPECT_EQ(e.pick(any), 1000);
    e.remove(1000);  // not counted any more: ignored, not wrapped below zero
    EXPECT_EQ(e.users(1000), 0u);
    e.add(1000);
    EXPECT_FALSE(e.pick(any));
}

TEST(EphemeralPorts, TheCursorWrapsAndCoversEveryPortOnce) {
    // 200 ports: three whole words and 8 bits of a fourth.
    EphemeralPorts e(40000, 40199);
    e.set_cursor_port(40150);
    std::vector<std::uint16_t> order;
    while (auto p = e.pick(any)) {
        order.push_back(*p);
        e.add(*p);
    }
    ASSERT_EQ(order.size(), 200u);
    EXPECT_EQ(order.front(), 40150);
    EXPECT_EQ(order[49], 40199) << "the last port of the range, then the first";
    EXPECT_EQ(order[50], 40000);
    EXPECT_EQ(order.back(), 40149);
    EXPECT_EQ(std::set<std::uint16_t>(order.begin(), order.end()).size(), 200u);
    EXPECT_FALSE(e.pick(any)) << "no bit past the range's end reads as free";
}

TEST(EphemeralPorts, TheFilterDecidesAndRejectedPortsStayFree) {
    EphemeralPorts e(32768, 60999);
    const auto even = [](std::uint16_t p) { return p % 2 == 0; };
    EXPECT_EQ(e.pick(even), 32768);
    EXPECT_EQ(e.pick(even), 32770);
    EXPECT_EQ(e.pick(any), 32771) << "the cursor moved past the picks only";
    const auto none = [](std::uint16_t) { return false; };
    EXPECT_FALSE(e.pick(none));
    EXPECT_EQ(e.pick(any), 32772);
}

TEST(EphemeralPorts, PortsOutsideTheRangeAreIgnored) {
    EphemeralPorts e(32768, 60999);
    e.add(80);
    e.add(61000);
    e.remove(80);
    EXPECT_EQ(e.users(80), 0u);
    EXPECT_EQ(e.pick(any), 32768);
    e.set_cursor_port(80);  // outside: back to the first
    EXPECT_EQ(e.pick(any), 32768);
}
