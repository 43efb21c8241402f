// FaultPort: `--fault`'s syntax (rx:, tx:, both, errors), the capabilities it hides with
// TX faults, and a transfer between two engines whose ports drop, duplicate, corrupt,
// reorder and delay frames on RX and TX: SHA-256 equal at both ends, every corrupted
// frame counted as a checksum drop, every buffer back in its pool.
#include <gtest/gtest.h>

#include "sha256.hpp"
#include "ustcp/sim/fault_port.hpp"
#include "ustcp/sim/transfer.hpp"

using namespace ustcp;
using namespace ustcp::sim;

TEST(PortFaults, ParsesDirections) {
    auto rx = parse_port_faults("rx:loss=2%");
    ASSERT_TRUE(rx) << rx.error();
    ASSERT_TRUE(rx->rx);
    EXPECT_FALSE(rx->tx);
    EXPECT_DOUBLE_EQ(rx->rx->loss, 0.02);
    EXPECT_TRUE(rx->any());

    auto both = parse_port_faults("loss=1%,seed=5");
    ASSERT_TRUE(both) << both.error();
    ASSERT_TRUE(both->rx && both->tx);
    EXPECT_EQ(both->rx->seed, 5u);
    EXPECT_EQ(both->tx->seed, 6u);  // the two directions' fates differ

    auto two = parse_port_faults("rx:loss=1%;tx:dup=3%,delay=1ms");
    ASSERT_TRUE(two) << two.error();
    EXPECT_DOUBLE_EQ(two->rx->loss, 0.01);
    EXPECT_DOUBLE_EQ(two->tx->dup, 0.03);
    EXPECT_EQ(two->tx->delay, Duration::millis(1));

    auto none = parse_port_faults("");
    ASSERT_TRUE(none);
    EXPECT_FALSE(none->any());

    auto bad = parse_port_faults("rx:loss=2");
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().find("fault (rx)"), std::string::npos) << bad.error();
    EXPECT_NE(bad.error().find("'loss=2'"), std::string::npos) << bad.error();
    auto twice = parse_port_faults("rx:loss=1%;rx:dup=1%");
    ASSERT_FALSE(twice);
    EXPECT_NE(twice.error().find("given twice"), std::string::npos) << twice.error();
    auto prefix = parse_port_faults("up:loss=1%");
    ASSERT_FALSE(prefix);
    EXPECT_NE(prefix.error().find("unknown key 'up:loss'"), std::string::npos) << prefix.error();
}

TEST(FaultPort, TxFaultsHideTsoAndChecksumOffload) {
    tcp::HeapBuffers pool(16, 2048);
    engine::PortCaps caps;
    caps.tx_tso = caps.tx_l4_csum = caps.tx_ip_csum = caps.rx_l4_csum = true;
    engine::SimPort inner(MacAddr({2, 0, 0, 0, 0, 1}), pool, caps);
    Instant now;
    FaultPort rx_only(inner, *parse_port_faults("rx:loss=1%"), [&] { return now; });
    EXPECT_TRUE(rx_only.caps().tx_tso);
    EXPECT_TRUE(rx_only.caps().tx_l4_csum);
    FaultPort tx(inner, *parse_port_faults("tx:loss=1%"), [&] { return now; });
    EXPECT_FALSE(tx.caps().tx_tso);
    EXPECT_FALSE(tx.caps().tx_l4_csum);
    EXPECT_FALSE(tx.caps().tx_ip_csum);
    EXPECT_TRUE(tx.caps().rx_l4_csum);
}

TEST(FaultPort, RxLossDropsAndFreesFramesAndCorruptionClearsChecksumFlags) {
    tcp::HeapBuffers pool(4096, 2048);
    engine::SimPort inner(MacAddr({2, 0, 0, 0, 0, 1}), pool);
    inner.rx_flags = engine::kRxL4CsumGood | engine::kRxIpCsumGood;
    Instant now = Instant::from_nanos(1);
    FaultPort port(inner, *parse_port_faults("rx:loss=10%,dup=10%,corrupt=10%,seed=3"), [&] { return now; });
    std::vector<std::uint8_t> frame(14 + 20 + 20 + 100, 0);  // IPv4/TCP headers enough for l4_range
    frame[12] = 0x08;
    frame[14] = 0x45;
    frame[17] = 140;
    frame[23] = 6;
    const int n = 2000;
    for (int i = 0; i < n; ++i) inner.deliver(frame);
    std::uint64_t got = 0, flagged_bad = 0;
    engine::RxFrame rx[32];
    for (;;) {
        const auto k = port.rx_burst(rx, 32);
        if (k == 0 && inner.pending() == 0) break;
        for (std::uint16_t i = 0; i < k; ++i) {
            ++got;
            const bool flipped = std::memcmp(rx[i].data, frame.data(), frame.size()) != 0;
            if (flipped) {
                ++flagged_bad;
                EXPECT_EQ(rx[i].flags & (engine::kRxL4CsumGood | engine::kRxIpCsumGood), 0u);
            } else {
                EXPECT_NE(rx[i].flags & engine::kRxL4CsumGood, 0u);
            }
            port.free_rx(&rx[i].handle, 1);
        }
    }
    const FaultCounters& c = port.rx_counters();
    EXPECT_EQ(c.frames, static_cast<std::uint64_t>(n));
    EXPECT_EQ(got, c.delivered);
    EXPECT_EQ(got, n - c.lost + c.duplicated);
    EXPECT_EQ(flagged_bad, c.corrupted);
    EXPECT_GT(c.lost, 100u);
    EXPECT_GT(c.duplicated, 100u);
    EXPECT_GT(c.corrupted, 100u);
    EXPECT_EQ(pool.in_use(), 0u);
}

TEST(FaultPort, TransferThroughFaultyPortsIsByteExact) {
    TransferSetup s;
    s.ab = *parse_fault_spec("rate=100Mbit,queue=100,delay=2ms,seed=1");
    s.ba = *parse_fault_spec("rate=100Mbit,queue=100,delay=2ms,seed=2");
    s.port_b = *parse_port_faults("rx:loss=2%,dup=2%,corrupt=2%,reorder=2%,delay=1ms,seed=7");
    s.port_a = *parse_port_faults("tx:loss=1%,dup=1%,corrupt=1%,seed=8;rx:delay=1ms,jitter=1ms,seed=9");
    s.bytes = 2 << 20;
    s.limit = Duration::seconds(120);
    test_support::Sha256 sent, got;
    s.on_sent = [&](std::span<const std::uint8_t> b) { sent.update(b); };
    s.on_received = [&](std::span<const std::uint8_t> b) { got.update(b); };
    const TransferResult r = run_transfer(s);
    ASSERT_TRUE(r.completed) << r.received;
    EXPECT_EQ(sent.hex(), got.hex());
    EXPECT_GT(r.port_b_rx.lost, 0u);
    EXPECT_GT(r.port_b_rx.duplicated, 0u);
    EXPECT_GT(r.port_b_rx.corrupted, 0u);
    EXPECT_GT(r.port_b_rx.reordered, 0u);
    EXPECT_GT(r.port_a_tx.lost, 0u);
    EXPECT_GT(r.port_a_tx.duplicated, 0u);
    EXPECT_GT(r.port_a_tx.corrupted, 0u);
    EXPECT_GT(r.port_a_rx.delivered, 0u);
    // A's TX corruption and B's RX corruption reach B's checksum check; none reached A.
    EXPECT_EQ(r.tcp_b.drop_bad_checksum, r.port_b_rx.corrupted + r.port_a_tx.corrupted);
    EXPECT_EQ(r.tcp_a.drop_bad_checksum, 0u);
    EXPECT_EQ(r.buffers_left, 0u);
}
