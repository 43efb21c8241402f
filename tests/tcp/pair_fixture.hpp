// The GoogleTest fixture most lib/tcp tests start from: client A (198.18.0.1) and
// server B (198.18.0.2) on one fake-clock link.
#pragma once

#include <gtest/gtest.h>

#include "harness.hpp"

namespace ustcp::tcp::test {

inline const Ipv4Addr kA(198, 18, 0, 1);
inline const Ipv4Addr kB(198, 18, 0, 2);
inline constexpr std::uint16_t kPort = 7;
inline constexpr std::uint16_t kEphemeral = 39804;

struct PairTest : ::testing::Test {
    Endpoint a{kA};
    Endpoint b{kB, Config{}, 2};
    Link link{a, b};

    /// A connects to B's listener on kPort; the handshake runs to completion.
    Connection& open() {
        b.listen(kPort);
        Connection& c = a.connect(link.now, kEphemeral, kB, kPort);
        link.pump();
        return c;
    }
    /// B's side of the connection open() made.
    Connection& server() {
        Connection* s = b.find(FourTuple{kB, kA, kPort, kEphemeral});
        EXPECT_NE(s, nullptr);
        return *s;
    }
    /// Simultaneous open: A (port 5000) and B (port 6000) connect to each other and their
    /// SYNs cross, leaving both in SYN-RECEIVED with their SYN,ACKs in the outboxes.
    std::pair<Connection*, Connection*> cross_syns() {
        Connection& ca = a.connect(link.now, 5000, kB, 6000);
        Connection& cb = b.connect(link.now, 6000, kA, 5000);
        auto sa = a.drain();
        auto sb = b.drain();
        EXPECT_EQ(sa.size(), 1u);
        EXPECT_EQ(sb.size(), 1u);
        b.deliver(sa.at(0), link.now);
        a.deliver(sb.at(0), link.now);
        return {&ca, &cb};
    }
};

}  // namespace ustcp::tcp::test
