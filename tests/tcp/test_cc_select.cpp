// Congestion control per connection: Config::cc's algorithm (CUBIC by default) unless the
// connection chose another with set_congestion_control() before its handshake completed.
#include <gtest/gtest.h>

#include "pair_fixture.hpp"

using namespace ustcp;
using namespace ustcp::tcp;
using namespace ustcp::tcp::test;

namespace {
struct CcSelect : PairTest {};
}  // namespace

TEST_F(CcSelect, DefaultIsCubicOnBothSides) {
    Connection& c = open();
    ASSERT_EQ(c.state(), State::Established);
    EXPECT_EQ(cc::algorithm(c.congestion()), cc::Algorithm::Cubic);
    EXPECT_EQ(cc::algorithm(server().congestion()), cc::Algorithm::Cubic);
}

TEST_F(CcSelect, ConfigSelectsNewReno) {
    b.cfg.cc.algorithm = cc::Algorithm::NewReno;
    Connection& c = open();
    ASSERT_EQ(c.state(), State::Established);
    EXPECT_EQ(cc::algorithm(c.congestion()), cc::Algorithm::Cubic);
    EXPECT_EQ(cc::algorithm(server().congestion()), cc::Algorithm::NewReno);
}

TEST_F(CcSelect, AConnectionChoosesBeforeItsHandshakeCompletes) {
    b.listen(kPort);
    Connection& c = a.connect(link.now, kEphemeral, kB, kPort);
    c.set_congestion_control(cc::Algorithm::NewReno);
    link.pump();
    ASSERT_EQ(c.state(), State::Established);
    EXPECT_EQ(cc::algorithm(c.congestion()), cc::Algorithm::NewReno);
    EXPECT_EQ(cc::algorithm(server().congestion()), cc::Algorithm::Cubic);
    c.set_congestion_control(cc::Algorithm::Cubic);  // too late: kept
    EXPECT_EQ(cc::algorithm(c.congestion()), cc::Algorithm::NewReno);
}
