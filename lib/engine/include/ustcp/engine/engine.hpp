// One Engine per worker lcore, run to completion (DESIGN "The per-lcore engine"):
//
//   Engine e(cfg, port, isn_key, cookie_key);
//   e.set_app(&echo);                  // callbacks run on this lcore, inside poll()
//   (void)e.listen(7, 128);
//   while (running) e.poll(clock.now());
//
// poll(): rx_burst -> Ethernet/ARP/IPv4/ICMP -> TCP demux (flow table, then the
// listeners) -> TCP input for the whole burst with ACKs deferred -> application
// callbacks -> one ACK per touched connection -> timers due -> frames built and one
// tx_burst. Nothing blocks, locks or allocates per packet; connections come from a
// fixed pool sized by EngineConfig::max_connections.
//
// The application works on tcp::Connection directly, with the engine's context:
//   c.send_buf(e.ctx(), e.now(), buf); c.receive_bufs(e.ctx(), e.now(), out); ...
#pragma once

#include <cstdint>
#include <cstddef>
#include <memory>
#include <new>
#include <optional>
#include <unordered_map>
#include <vector>

#include "ustcp/base/addr.hpp"
#include "ustcp/base/result.hpp"
#include "ustcp/base/time.hpp"
#include "ustcp/engine/port.hpp"
#include "ustcp/tcp/connection.hpp"
#include "ustcp/tcp/context.hpp"
#include "ustcp/tcp/listener.hpp"

namespace ustcp::engine {

struct EngineConfig {
    Ipv4Addr addr;                    ///< our address on the port
    std::uint8_t prefix_len = 24;     ///< on-link subnet
    std::optional<Ipv4Addr> gateway;  ///< next hop beyond the subnet
    tcp::Config tcp{};
    std::uint16_t burst = 32;
    std::uint32_t max_connections = 16384;
    std::size_t buffer_nodes = 1u << 18;  ///< lib/tcp queue nodes for every connection's payload
    std::uint32_t accept_backlog = 1024;
    std::uint32_t syn_backlog = 1024;
};

/// Why a received frame was dropped before TCP (TCP's own reasons are in tcp::Counters).
struct EngineCounters {
    std::uint64_t rx_frames = 0;
    std::uint64_t rx_bad_ethernet = 0;
    std::uint64_t rx_not_ipv4 = 0;       ///< IPv6 and other ethertypes
    std::uint64_t rx_bad_ipv4 = 0;       ///< header too short, bad length or version
    std::uint64_t rx_bad_ip_checksum = 0;
    std::uint64_t rx_not_for_us = 0;
    std::uint64_t rx_fragments = 0;      ///< IPv4 fragments (reassembly: not yet)
    std::uint64_t rx_other_protocol = 0;
    std::uint64_t rx_bad_tcp = 0;        ///< TCP header or checksum failed (details in tcp::Counters)
    std::uint64_t arp_in = 0;
    std::uint64_t arp_replies_sent = 0;
    std::uint64_t arp_requests_sent = 0;
    std::uint64_t icmp_echo_replies = 0;
    std::uint64_t icmp_other = 0;
    std::uint64_t tx_no_neighbour = 0;   ///< segment dropped: next hop's MAC unknown (ARP sent)
    std::uint64_t conn_pool_exhausted = 0;
    std::uint64_t connections_opened = 0;
    std::uint64_t connections_closed = 0;
};

class Engine;

/// What the application is told, on the engine's lcore, inside poll(). `c` stays valid
/// until on_closed() returns; after that the engine frees it.
class App {
public:
    virtual ~App() = default;
    virtual void on_accept(Engine& /*e*/, tcp::Connection& /*c*/) {}
    virtual void on_connected(Engine& /*e*/, tcp::Connection& /*c*/) {}
    virtual void on_readable(Engine& /*e*/, tcp::Connection& /*c*/) {}
    virtual void on_writable(Engine& /*e*/, tcp::Connection& /*c*/) {}
    virtual void on_peer_closed(Engine& /*e*/, tcp::Connection& /*c*/) {}
    virtual void on_error(Engine& /*e*/, tcp::Connection& /*c*/, tcp::Error /*err*/) {}
    virtual void on_closed(Engine& /*e*/, tcp::Connection& /*c*/) {}
};

class Engine {
public:
    Engine(const EngineConfig& cfg, Port& port, const tcp::SipKey& isn_key, const tcp::SipKey& cookie_key);
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;
    ~Engine();

    void set_app(App* app) noexcept { app_ = app; }

    /// A passive open on `port` (replicated per lcore). Errors: InvalidState if already listening.
    Result<void, tcp::Error> listen(std::uint16_t port);
    /// An active open to remote:port from an ephemeral port. Errors: NotConnected when the
    /// connection pool is full or no ephemeral port is free.
    Result<tcp::Connection*, tcp::Error> connect(Ipv4Addr remote, std::uint16_t port);

    /// One iteration of the run-to-completion loop at `now`. Returns frames received.
    std::uint16_t poll(Instant now);
    /// Sends what the application produced outside poll() (e.g. after connect()).
    void flush(Instant now);

    /// For the application's calls on connections: valid on this lcore only.
    [[nodiscard]] tcp::Context& ctx() noexcept { return stack_.ctx; }
    [[nodiscard]] Instant now() const noexcept { return now_; }
    [[nodiscard]] const EngineConfig& config() const noexcept { return cfg_; }
    [[nodiscard]] const EngineCounters& counters() const noexcept { return counters_; }
    [[nodiscard]] const tcp::Counters& tcp_counters() const noexcept { return stack_.counters; }
    [[nodiscard]] const tcp::BufferStore& buffers() const noexcept { return stack_.bufs; }
    [[nodiscard]] std::size_t connections() const noexcept { return flows_.size(); }
    /// Calls f(const tcp::Connection&) for every live connection (this lcore only).
    template <class F>
    void for_each_connection(F&& f) const {
        for (const auto& [t, i] : flows_) f(const_cast<Slot&>(slots_[i]).conn());
    }
    /// Graceful shutdown, first step: listeners stop (new SYNs get RST, queued accepts are
    /// aborted) and every connection is closed (FIN after the queued data). Then keep
    /// polling until connections() is 0 or a grace period ends, and abort_all().
    void shutdown(Instant now);
    /// Aborts every connection (RST where synchronized) and releases every buffer.
    void abort_all(Instant now);

private:
    /// A connection's storage in the fixed pool; the TCB is constructed in place on open
    /// and destroyed when it closes, so a Connection* maps back to its slot.
    struct Slot {
        alignas(tcp::Connection) std::byte storage[sizeof(tcp::Connection)];
        bool live = false;
        [[nodiscard]] tcp::Connection& conn() noexcept { return *std::launder(reinterpret_cast<tcp::Connection*>(storage)); }
    };

    void handle_frame(const RxFrame& f);
    void handle_arp(const RxFrame& f, std::size_t l2_len);
    void handle_ipv4(const RxFrame& f, std::size_t l2_len, MacAddr src_mac);
    void handle_tcp(const RxFrame& f, Ipv4Addr src, Ipv4Addr dst, std::uint8_t* l4, std::uint32_t l4_len);
    tcp::Connection* new_connection(const FourTuple& t);
    void dispatch_events();
    void run_timers();
    void transmit();
    void send_raw(void* handle, std::uint8_t* data, std::uint32_t len);
    void learn(Ipv4Addr ip, MacAddr mac);
    void request_arp(Ipv4Addr ip);
    [[nodiscard]] Ipv4Addr next_hop(Ipv4Addr dst) const noexcept;
    void reap();

    EngineConfig cfg_;
    Port& port_;
    tcp::Stack stack_;
    App* app_ = nullptr;
    Instant now_;
    MacAddr mac_;
    PortCaps caps_;
    EngineCounters counters_;

    std::vector<Slot> slots_;
    std::vector<std::uint32_t> free_slots_;
    std::unordered_map<FourTuple, std::uint32_t> flows_;
    std::vector<std::unique_ptr<tcp::Listener>> listeners_;
    std::unordered_map<std::uint32_t, MacAddr> neighbours_;
    std::unordered_map<std::uint32_t, Instant> arp_pending_;
    std::vector<tcp::Connection*> touched_;
    std::vector<tcp::Connection*> closed_;
    std::vector<RxFrame> rx_;
    std::vector<TxFrame> tx_;
    std::vector<void*> rx_free_;
    std::uint16_t tx_count_ = 0;
    std::size_t events_seen_ = 0;  // events of the outbox already dispatched
    std::uint16_t ip_ident_ = 0;
    std::uint16_t next_ephemeral_ = 32768;
    bool accepting_ = true;  // false after shutdown(): SYNs to our ports get RST
};

}  // namespace ustcp::engine
