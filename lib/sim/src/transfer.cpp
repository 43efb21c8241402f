#include "ustcp/sim/transfer.hpp"

#include <algorithm>
#include <optional>
#include <random>
#include <vector>

#include "ustcp/engine/sim_port.hpp"
#include "ustcp/sim/link.hpp"

namespace ustcp::sim {

namespace {

const MacAddr kMacA({0x02, 0, 0, 0, 0x51, 0x0a});
const MacAddr kMacB({0x02, 0, 0, 0, 0x51, 0x0b});
const Ipv4Addr kIpA(198, 18, 0, 1);
const Ipv4Addr kIpB(198, 18, 0, 2);
constexpr std::uint16_t kPort = 5001;
constexpr std::size_t kChunk = 64 * 1024;

engine::EngineConfig engine_config(Ipv4Addr addr, const tcp::Config& tcp, std::uint64_t seed) {
    engine::EngineConfig c;
    c.addr = addr;
    c.prefix_len = 24;
    c.tcp = tcp;
    c.max_connections = 16;
    c.buffer_nodes = 16384;
    c.flow_seed = seed;
    return c;
}

/// A: writes `total` pseudo-random bytes, then closes.
struct Sender : engine::App {
    std::uint64_t total = 0;
    std::uint64_t written = 0;
    std::mt19937_64 rng;
    std::vector<std::uint8_t> chunk;
    std::size_t chunk_at = 0;
    const std::function<void(std::span<const std::uint8_t>)>* on_sent = nullptr;
    bool closing = false;
    bool failed = false;

    void refill() {
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, total - written - (chunk.size() - chunk_at)));
        chunk.resize(n);
        for (std::size_t i = 0; i + 8 <= n; i += 8) {
            const std::uint64_t x = rng();
            std::memcpy(&chunk[i], &x, 8);
        }
        for (std::size_t i = n - n % 8; i < n; ++i) chunk[i] = static_cast<std::uint8_t>(rng());
        chunk_at = 0;
        if (*on_sent) (*on_sent)(chunk);
    }
    void pump(engine::Engine& e, tcp::Connection& c) {
        while (written < total) {
            if (chunk_at == chunk.size()) refill();
            auto r = c.send(e.ctx(), e.now(), wire::Bytes(chunk.data() + chunk_at, chunk.size() - chunk_at));
            if (!r || *r == 0) break;
            chunk_at += *r;
            written += *r;
        }
        if (written == total && !closing) {
            closing = true;
            (void)c.close(e.ctx(), e.now());
        }
    }
    void on_connected(engine::Engine& e, tcp::Connection& c) override { pump(e, c); }
    void on_writable(engine::Engine& e, tcp::Connection& c) override { pump(e, c); }
    void on_error(engine::Engine&, tcp::Connection&, tcp::Error) override { failed = true; }
};

/// B: reads everything, closes on the peer's FIN.
struct Receiver : engine::App {
    std::uint64_t received = 0;
    std::uint64_t total = 0;
    Instant done_at;
    Instant last_progress;
    Duration longest_stall;
    bool closed = false;
    bool failed = false;
    std::vector<std::uint8_t> buf = std::vector<std::uint8_t>(kChunk);
    const std::function<void(std::span<const std::uint8_t>)>* on_received = nullptr;

    void on_readable(engine::Engine& e, tcp::Connection& c) override {
        for (;;) {
            auto r = c.receive(e.ctx(), e.now(), buf);
            if (!r || *r == 0) break;
            if (*on_received) (*on_received)(std::span<const std::uint8_t>(buf.data(), *r));
            received += *r;
            longest_stall = std::max(longest_stall, e.now() - last_progress);
            last_progress = e.now();
            if (received == total) done_at = e.now();
        }
    }
    void on_peer_closed(engine::Engine& e, tcp::Connection& c) override {
        on_readable(e, c);
        (void)c.close(e.ctx(), e.now());
    }
    void on_error(engine::Engine&, tcp::Connection&, tcp::Error) override { failed = true; }
    void on_closed(engine::Engine&, tcp::Connection&) override { closed = true; }
};

tcp::SipKey key(std::uint64_t k) { return tcp::SipKey::from_words(k, k * 7 + 1); }

}  // namespace

TransferResult run_transfer(const TransferSetup& s) {
    TransferResult res;
    // Blocks for the receive window, the out-of-order queue and what waits in the RX ring.
    tcp::HeapBuffers pool_a(8192, 2048);
    tcp::HeapBuffers pool_b(8192, 2048);
    {
        engine::SimPort pa(kMacA, pool_a);
        engine::SimPort pb(kMacB, pool_b);
        SimLink link(pa, pb, s.ab, s.ba);
        std::optional<PcapWriter> cap;
        if (!s.pcap.empty()) {
            auto w = PcapWriter::open(s.pcap);
            if (w) cap.emplace(std::move(*w));
            if (cap) link.set_capture(&*cap);
        }
        Instant now = Instant::from_nanos(1'000'000'000);
        FaultPort fa(pa, s.port_a, [&now] { return now; });
        FaultPort fb(pb, s.port_b, [&now] { return now; });
        engine::Engine a(engine_config(kIpA, s.tcp, 7), fa, key(1), key(2));
        engine::Engine b(engine_config(kIpB, s.tcp, 9), fb, key(3), key(4));
        Sender tx;
        tx.total = s.bytes;
        tx.rng.seed(s.data_seed);
        tx.on_sent = &s.on_sent;
        Receiver rx;
        rx.total = s.bytes;
        rx.on_received = &s.on_received;
        a.set_app(&tx);
        b.set_app(&rx);
        const Instant start = now;
        rx.last_progress = now;
        if (b.listen(kPort) && a.connect(kIpB, kPort)) {
            a.flush(now);
            const bool ok = run(a, b, link, pa, pb, now, start + s.limit, [&] {
                return (rx.received == s.bytes && rx.closed) || tx.failed || rx.failed;
            });
            res.completed = ok && rx.received == s.bytes && rx.closed && !tx.failed && !rx.failed;
        }
        res.received = rx.received;
        res.longest_stall = std::max(rx.longest_stall, rx.received < s.bytes ? now - rx.last_progress : Duration::zero());
        res.elapsed = rx.received == s.bytes ? rx.done_at - start : now - start;
        // Drain the link so that every corrupted copy counted was also delivered.
        const Instant drain_end = now + Duration::seconds(10);
        (void)run(a, b, link, pa, pb, now, drain_end, [&] {
            return link.in_flight() == 0 && pa.pending() == 0 && pb.pending() == 0 && fa.held() == 0 && fb.held() == 0;
        });
        a.abort_all(now);
        b.abort_all(now);
        res.tcp_a = a.tcp_counters();
        res.tcp_b = b.tcp_counters();
        res.engine_a = a.counters();
        res.engine_b = b.counters();
        res.ab = link.ab().counters();
        res.ba = link.ba().counters();
        res.port_a_rx = fa.rx_counters();
        res.port_a_tx = fa.tx_counters();
        res.port_b_rx = fb.rx_counters();
        res.port_b_tx = fb.tx_counters();
        res.retransmits = res.tcp_a.retransmits + res.tcp_a.fast_retransmits;
    }
    res.buffers_left = pool_a.in_use() + pool_b.in_use();
    return res;
}

}  // namespace ustcp::sim
