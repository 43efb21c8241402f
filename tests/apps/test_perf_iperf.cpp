// ustcp-perf's iperf 2 client header read back by ustcp-server's iperf 2 server code
// (apps/ustcp-server/iperf2_app.hpp): what one side writes, the other understands.
#include <gtest/gtest.h>

#include "iperf2_app.hpp"
#include "protocol.hpp"

namespace {

TEST(PerfIperf, OurServerParsesOurClientsHeader) {
    for (std::uint32_t secs : {1u, 2u, 10u, 3600u}) {
        const auto b = ustcp::perf::iperf2_client_header(secs);
        const std::uint32_t flags = (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) | b[3];
        EXPECT_EQ(ustcp::iperf2::header_length(flags), b.size());
        auto h = ustcp::iperf2::parse_header(b);
        ASSERT_TRUE(h) << h.error();
        EXPECT_TRUE(h->extended);
        EXPECT_FALSE(h->reverse);
        EXPECT_FALSE(h->dual);
        EXPECT_EQ(h->threads, 1u);
        EXPECT_EQ(h->amount, -static_cast<std::int32_t>(secs) * 100);  // time mode, 10 ms units
    }
    EXPECT_EQ(ustcp::iperf2::header_ack().size(), ustcp::perf::kIperf2AckSize);
}

}  // namespace
