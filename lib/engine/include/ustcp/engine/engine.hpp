// One Engine per worker lcore, run to completion (DESIGN "The per-lcore engine"):
//
//   Engine e(cfg, port, isn_key, cookie_key);
//   e.set_app(&echo);                  // callbacks run on this lcore, inside poll()
//   (void)e.listen(7);
//   while (running) e.poll(clock.now());
//
// poll(): rx_burst -> Ethernet -> ARP (lib/ip ArpHandler + NeighborCache) / IPv4 checks
// (Ipv4Input) -> ICMP echo (IcmpHandler) / TCP demux (the flow table, then the listeners)
// -> TCP input for the whole burst with ACKs deferred -> application callbacks -> one ACK
// per touched connection -> due timers (a hashed wheel, one entry per connection at
// lib/tcp's next_deadline()) -> frames built and one tx_burst. Nothing blocks, locks or
// allocates per packet; connections come from a fixed pool of max_connections.
//
// Next hops come from the neighbour cache: a segment to a next hop being resolved is
// built into a buffer of its own (Port::materialize) and queued on the entry (a bounded
// number per entry), then sent when the reply comes or freed when resolution gives up.
//
// The application works on tcp::Connection directly, with the engine's context:
//   c.send_buf(e.ctx(), e.now(), buf); c.receive_bufs(e.ctx(), e.now(), out); ...
// Inside callbacks the engine notices what changed. Outside them (a connect(), a send
// from some other trigger) call e.touch(c) afterwards and e.flush(now) to send.
//
// Readers on other threads (telemetry, console): published() holds the counters as of
// the last publish (every millisecond of polling), for_each_flow_concurrent() walks the
// connections through the flow table's lock-free read side, reading only each flow's
// published FlowInfo; such a thread must be a reader of EngineConfig::readers.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <cstddef>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <thread>
#include <type_traits>
#include <vector>

#include "ustcp/base/addr.hpp"
#include "ustcp/base/result.hpp"
#include "ustcp/base/time.hpp"
#include "ustcp/engine/ephemeral.hpp"
#include "ustcp/engine/flow_table.hpp"
#include "ustcp/engine/port.hpp"
#include "ustcp/engine/reclaim.hpp"
#include "ustcp/engine/timer_wheel.hpp"
#include "ustcp/ip/arp.hpp"
#include "ustcp/ip/icmp.hpp"
#include "ustcp/ip/interface.hpp"
#include "ustcp/ip/ipv4.hpp"
#include "ustcp/ip/neighbor.hpp"
#include "ustcp/tcp/connection.hpp"
#include "ustcp/tcp/context.hpp"
#include "ustcp/tcp/listener.hpp"

namespace ustcp::engine {

/// Secondary addresses an engine takes at most (EngineConfig::extra_count).
inline constexpr std::uint32_t kMaxExtraAddrs = 4096;
/// The ephemeral ports connect() uses on each local address (RFC 6056 §2.1's suggested range
/// 49152..65535 is narrower; this is Linux's default, 28232 ports).
inline constexpr std::uint16_t kEphemeralFirst = 32768;
inline constexpr std::uint16_t kEphemeralLast = 60999;

struct EngineConfig {
    Ipv4Addr addr;                    ///< our address on the port
    std::uint8_t prefix_len = 24;     ///< on-link subnet
    /// Secondary addresses extra_first .. extra_first + extra_count - 1 in the subnet (ip::Interface):
    /// ARP is answered and segments accepted for each; connect() may use one as its source, with
    /// ephemeral ports of its own. At most kMaxExtraAddrs.
    Ipv4Addr extra_first{};
    std::uint32_t extra_count = 0;
    std::optional<Ipv4Addr> gateway;  ///< next hop beyond the subnet
    tcp::Config tcp{};
    std::uint16_t burst = 32;
    /// The connection pool: TCBs, timer entries and the flow table are sized for this many.
    /// The slots are reserved (virtual memory) up front and touched as connections first use
    /// them, so an idle engine with a large pool costs little resident memory; the flow table
    /// (64 bytes a slot at a power-of-two capacity) is zeroed at construction.
    std::uint32_t max_connections = 16384;
    std::size_t buffer_nodes = 1u << 18;  ///< lib/tcp queue nodes for every connection's payload
    std::uint32_t accept_backlog = 1024;
    std::uint32_t syn_backlog = 1024;
    std::uint16_t mtu = 0;                ///< 0: the port's
    ip::NeighborConfig neighbours{};
    /// Gratuitous ARP announcements at start (RFC 5227 §2.3). One engine per port sends
    /// them; the others of a multi-lcore port leave it off.
    bool announce = true;
    std::uint64_t flow_seed = 0;          ///< the flow table's hash key; 0: random
    Duration timer_tick = Duration::millis(1);
    /// TCP segmentation offload: when the port offers it, one segment carries up to this much
    /// payload and the port cuts it at the MSS. 0 (or a port without TSO): lib/tcp segments
    /// at the MSS itself, which is the software segmentation (nothing is cut twice).
    std::uint32_t tso_max = 0;
    /// Grace periods for threads that read the flow table (telemetry); none: no readers.
    std::optional<ReclaimerRef> readers;
    /// The clock read when a connection is created (opened_at()), once per connection; null:
    /// the poll's time. The runtime gives the TSC, so that opened_at() orders connections of
    /// different lcores by when their SYN was taken, not by when the polls that took them began.
    Instant (*clock)() noexcept = nullptr;
};

/// Why a received frame was dropped before TCP (TCP's own reasons are in tcp::Counters).
struct EngineCounters {
    std::uint64_t rx_frames = 0;
    std::uint64_t rx_bad_ethernet = 0;
    std::uint64_t rx_not_ipv4 = 0;       ///< IPv6 and other ethertypes
    std::uint64_t rx_bad_ipv4 = 0;       ///< header too short, bad length or version
    std::uint64_t rx_bad_ip_checksum = 0;
    std::uint64_t rx_not_for_us = 0;
    std::uint64_t rx_fragments = 0;      ///< IPv4 fragments the port did not reassemble
    std::uint64_t rx_link_broadcast = 0; ///< unicast IP in a broadcast frame, martian source, options
    std::uint64_t rx_other_protocol = 0;
    std::uint64_t rx_bad_tcp = 0;        ///< TCP header or checksum failed (details in tcp::Counters)
    std::uint64_t arp_in = 0;
    std::uint64_t arp_bad = 0;           ///< malformed or from ourselves (ip::ArpDrop)
    std::uint64_t arp_replies_sent = 0;
    std::uint64_t arp_requests_sent = 0;
    std::uint64_t arp_announcements = 0;
    std::uint64_t icmp_echo_replies = 0;
    std::uint64_t icmp_other = 0;
    std::uint64_t tx_arp_queued = 0;     ///< segments held while their next hop resolved
    std::uint64_t tx_no_neighbour = 0;   ///< segments dropped: resolution failed or its queue was full
    std::uint64_t tx_no_route = 0;       ///< no route (off-link, no gateway) or a bad destination
    std::uint64_t tx_no_buffer = 0;      ///< no buffer to hold a segment while resolving
    std::uint64_t conn_pool_exhausted = 0;
    /// TIME-WAIT connections ended early, oldest first, to keep free slots for new ones
    /// (the pool ran low; as Linux's tcp_max_tw_buckets, the TIME-WAIT state is dropped).
    std::uint64_t time_wait_recycled = 0;
    std::uint64_t flow_table_full = 0;   ///< readers held grace periods open: no room for a new flow
    /// connect()s that found every ephemeral port of their local address in use (by flows to
    /// other peers) and shared one: a sign the address's ports are running out (port.extra_ips).
    std::uint64_t ephemeral_shared = 0;
    std::uint64_t connections_opened = 0;
    std::uint64_t connections_closed = 0;
};

/// Calls f(name, value) for every EngineCounters field, in declaration order.
template <class F>
void for_each_counter(const EngineCounters& c, F&& f) {
    f("rx_frames", c.rx_frames);
    f("rx_bad_ethernet", c.rx_bad_ethernet);
    f("rx_not_ipv4", c.rx_not_ipv4);
    f("rx_bad_ipv4", c.rx_bad_ipv4);
    f("rx_bad_ip_checksum", c.rx_bad_ip_checksum);
    f("rx_not_for_us", c.rx_not_for_us);
    f("rx_fragments", c.rx_fragments);
    f("rx_link_broadcast", c.rx_link_broadcast);
    f("rx_other_protocol", c.rx_other_protocol);
    f("rx_bad_tcp", c.rx_bad_tcp);
    f("arp_in", c.arp_in);
    f("arp_bad", c.arp_bad);
    f("arp_replies_sent", c.arp_replies_sent);
    f("arp_requests_sent", c.arp_requests_sent);
    f("arp_announcements", c.arp_announcements);
    f("icmp_echo_replies", c.icmp_echo_replies);
    f("icmp_other", c.icmp_other);
    f("tx_arp_queued", c.tx_arp_queued);
    f("tx_no_neighbour", c.tx_no_neighbour);
    f("tx_no_route", c.tx_no_route);
    f("tx_no_buffer", c.tx_no_buffer);
    f("conn_pool_exhausted", c.conn_pool_exhausted);
    f("time_wait_recycled", c.time_wait_recycled);
    f("flow_table_full", c.flow_table_full);
    f("ephemeral_shared", c.ephemeral_shared);
    f("connections_opened", c.connections_opened);
    f("connections_closed", c.connections_closed);
}
static_assert(sizeof(EngineCounters) == 27 * sizeof(std::uint64_t), "for_each_counter lists every field");

/// Adds each counter of `from` to `into`: for structs of uint64_t counters only (EngineCounters,
/// tcp::Counters, PortStats), e.g. totals over lcores.
template <class T>
void add_counters(T& into, const T& from) noexcept {
    static_assert(sizeof(T) % sizeof(std::uint64_t) == 0 && std::is_trivially_copyable_v<T>);
    std::uint64_t a[sizeof(T) / 8];
    std::uint64_t b[sizeof(T) / 8];
    std::memcpy(a, &into, sizeof(T));
    std::memcpy(b, &from, sizeof(T));
    for (std::size_t i = 0; i < sizeof(T) / 8; ++i) a[i] += b[i];
    std::memcpy(&into, a, sizeof(T));
}

/// Copies the counters of `from` into the atomic words `to` (relaxed), for another thread to
/// read with read_counters(): same structs as add_counters.
template <class T, std::size_t N>
void publish_counters(std::array<std::atomic<std::uint64_t>, N>& to, const T& from) noexcept {
    static_assert(sizeof(T) == N * sizeof(std::uint64_t) && std::is_trivially_copyable_v<T>);
    std::uint64_t w[N];
    std::memcpy(w, &from, sizeof(T));
    for (std::size_t i = 0; i < N; ++i) to[i].store(w[i], std::memory_order_relaxed);
}

/// What publish_counters() wrote (each word as of some publish).
template <class T, std::size_t N>
void read_counters(const std::array<std::atomic<std::uint64_t>, N>& from, T& to) noexcept {
    static_assert(sizeof(T) == N * sizeof(std::uint64_t) && std::is_trivially_copyable_v<T>);
    std::uint64_t w[N];
    for (std::size_t i = 0; i < N; ++i) w[i] = from[i].load(std::memory_order_relaxed);
    std::memcpy(static_cast<void*>(&to), w, sizeof(T));
}

/// What a reader thread may see of one connection: written by the owner lcore (relaxed
/// stores, whenever the connection was active), read anywhere.
struct FlowInfo {
    std::atomic<std::uint8_t> state{0};  ///< tcp::State
    std::atomic<std::uint64_t> bytes_in{0};
    std::atomic<std::uint64_t> bytes_out{0};
    std::atomic<std::uint64_t> bytes_retrans{0};
    std::atomic<std::uint32_t> srtt_us{0};
    std::atomic<std::uint32_t> cwnd{0};          ///< bytes (the congestion control's cwnd())
    std::atomic<std::uint32_t> retransmits{0};   ///< segments resent: after an RTO plus fast retransmits
    std::atomic<std::uint32_t> send_queued{0};
    std::atomic<std::uint32_t> recv_queued{0};
};

/// The engine's counters as of its last publish, for other threads. Word for word the
/// owner's EngineCounters, tcp::Counters, PortStats and connections by state.
struct PublishedStats {
    static constexpr std::size_t kEngineWords = sizeof(EngineCounters) / 8;
    static constexpr std::size_t kTcpWords = sizeof(tcp::Counters) / 8;
    static constexpr std::size_t kPortWords = sizeof(PortStats) / 8;
    std::array<std::atomic<std::uint64_t>, kEngineWords> engine{};
    std::array<std::atomic<std::uint64_t>, kTcpWords> tcp{};
    std::array<std::atomic<std::uint64_t>, kPortWords> port{};
    std::array<std::atomic<std::uint64_t>, tcp::kStateCount> states{};
    /// lib/ip's drops by reason (indexed by ip::Ipv4Drop, ip::ArpDrop, ip::IcmpDrop, ip::NeighborDrop).
    std::array<std::atomic<std::uint64_t>, ip::kIpv4DropCount> ipv4_drops{};
    std::array<std::atomic<std::uint64_t>, ip::kArpDropCount> arp_drops{};
    std::array<std::atomic<std::uint64_t>, ip::kIcmpDropCount> icmp_drops{};
    std::array<std::atomic<std::uint64_t>, ip::kNeighborDropCount> neighbour_drops{};
    std::atomic<std::uint64_t> connections{0};
    std::atomic<std::int64_t> at_ns{0};  ///< when (the engine's clock)

    /// A copy of what was published (each word as of some publish; words may be from two
    /// consecutive publishes).
    void read(EngineCounters& e, tcp::Counters& t, PortStats& p) const noexcept;
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
    /// Whether `cfg` with `port` makes a valid interface (address, prefix, gateway, MTU, MAC);
    /// the constructor's precondition. Errors: ip::InterfaceError.
    static Result<void, ip::InterfaceError> check(const EngineConfig& cfg, const Port& port) noexcept;
    Engine(const EngineConfig& cfg, Port& port, const tcp::SipKey& isn_key, const tcp::SipKey& cookie_key);
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;
    ~Engine();

    void set_app(App* app) noexcept { app_ = app; }

    /// A passive open on `port` (replicated per lcore). Errors: InvalidState if already listening.
    Result<void, tcp::Error> listen(std::uint16_t port);
    /// An active open to remote:port from an ephemeral port of `local` (the primary address when
    /// not given, else one of the secondary ones; each address has its own ephemeral ports).
    /// Errors: AddressNotAvailable when `local` is not one of ours; NotConnected when the
    /// connection pool is full or no ephemeral port of `local` is free.
    Result<tcp::Connection*, tcp::Error> connect(Ipv4Addr remote, std::uint16_t port,
                                                 std::optional<Ipv4Addr> local = std::nullopt);

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
    [[nodiscard]] const ip::NeighborCache& neighbours() const noexcept { return neigh_; }
    [[nodiscard]] const ip::Ipv4Counters& ipv4_counters() const noexcept { return ipv4_in_.counters(); }
    [[nodiscard]] const ip::ArpCounters& arp_counters() const noexcept { return arp_.counters(); }
    [[nodiscard]] const ip::IcmpCounters& icmp_counters() const noexcept { return icmp_.counters(); }
    /// Live connections (exact on this lcore, recent elsewhere).
    [[nodiscard]] std::size_t connections() const noexcept { return flows_.size(); }
    /// Connections by tcp::State (this lcore).
    [[nodiscard]] const std::array<std::uint64_t, tcp::kStateCount>& states() const noexcept { return states_; }
    /// Calls f(const tcp::Connection&) for every live connection (this lcore only).
    template <class F>
    void for_each_connection(F&& f) const {
        flows_.for_each([&](const FourTuple&, Flow* fl) { f(fl->conn()); });
    }
    /// The connection's slot in the pool, 0..max_connections-1, stable while it lives: an
    /// application may index its own per-connection state by it instead of hashing pointers.
    [[nodiscard]] std::uint32_t slot_index(const tcp::Connection& c) noexcept {
        return static_cast<std::uint32_t>(&flow_of(&c) - slots_.get());
    }
    /// Slots of the pool touched so far (the most connections alive at once, rounded by reuse).
    [[nodiscard]] std::uint32_t slots_used() const noexcept { return slots_made_; }
    /// After calling a connection outside the engine's callbacks: its timer is re-armed.
    void touch(tcp::Connection& c) noexcept { rearm(flow_of(&c)); }
    /// When the connection was created (EngineConfig::clock, else the poll's time): as its SYN
    /// was taken (passive), or by connect(). With a shared clock this orders connections
    /// across lcores.
    [[nodiscard]] Instant opened_at(const tcp::Connection& c) noexcept { return flow_of(&c).opened; }

    /// Any thread: the counters as of the last publish.
    [[nodiscard]] const PublishedStats& published() const noexcept { return published_; }
    /// Any thread that is an online reader of EngineConfig::readers: f(const FourTuple&,
    /// const FlowInfo&) for the connections (see FlowTable::for_each_concurrent).
    template <class F>
    bool for_each_flow_concurrent(F&& f) const {
        return flows_.for_each_concurrent([&](const FourTuple& t, Flow* fl) { f(t, fl->info); });
    }
    /// Graceful shutdown, first step: listeners stop (new SYNs get RST, queued accepts are
    /// aborted) and every connection is closed (FIN after the queued data). Then keep
    /// polling until connections() is 0 or a grace period ends, and abort_all().
    void shutdown(Instant now);
    /// Aborts every connection (RST where synchronized) and releases every buffer.
    void abort_all(Instant now);

private:
    /// A connection's place in the fixed pool: its timer entry, what readers see, and the
    /// TCB, constructed in place on open and destroyed when it closes. The slot returns to
    /// the free list only when the flow table's readers can no longer hold it.
    struct Flow : TimerEntry {
        FlowInfo info;
        tcp::State counted = tcp::State::Closed;  // the state states_ counts it in
        bool live = false;
        bool rearm_queued = false;                // on rearm_queue_ until flush_rearms()
        std::uint32_t incarnation = 0;            // new_connection() counts the slot's TCBs
        Instant opened;                           // new_connection()'s now_
        alignas(tcp::Connection) std::byte storage[sizeof(tcp::Connection)];
        [[nodiscard]] tcp::Connection& conn() noexcept {
            return *std::launder(reinterpret_cast<tcp::Connection*>(storage));
        }
        [[nodiscard]] const tcp::Connection& conn() const noexcept {
            return *std::launder(reinterpret_cast<const tcp::Connection*>(storage));
        }
    };
    using Flows = FlowTable<Flow, ReclaimerRef>;

    void handle_frame(const RxFrame& f);
    void handle_arp(const RxFrame& f, std::size_t l2_len);
    void handle_ipv4(const RxFrame& f, std::size_t l2_len, MacAddr src_mac, bool link_broadcast);
    void handle_icmp(const RxFrame& f, std::size_t l2_len, const ip::Ipv4Packet& pkt, MacAddr src_mac);
    void handle_tcp(const RxFrame& f, Ipv4Addr src, Ipv4Addr dst, std::uint8_t* l4, std::uint32_t l4_len,
                    MacAddr src_mac);
    tcp::Connection* new_connection(const FourTuple& t);
    /// The flow table and the per-address ephemeral port counts change together, only here.
    [[nodiscard]] bool map_flow(const FourTuple& t, Flow* f);
    void unmap_flow(const FourTuple& t) noexcept;
    /// `local`'s ephemeral port counts (made if `make`), or nullptr (not ours, or not made).
    [[nodiscard]] EphemeralPorts* ephemeral_of(Ipv4Addr local, bool make);
    void dispatch_events();
    void run_timers();
    void transmit();
    void send_segment(const tcp::OutSegment& s);
    void send_raw(void* handle, std::uint8_t* data, std::uint32_t len);
    void send_released(std::span<const ip::PacketHandle> frames, MacAddr mac);
    void send_arp_request(const ip::ArpRequest& r);
    void announce();
    void run_neighbour_timers();
    void drop_held(std::span<const ip::PacketHandle> frames);
    TxFrame* next_tx();
    /// Queues f for rearm_now() at the next flush_rearms() (once, however often it is called):
    /// a segment's input, the callbacks and the output each changed the TCB, and the wheel,
    /// the state counts and FlowInfo need it only once they are all done. Flushed at the end
    /// of transmit(), before the timers run and when poll() returns; outside poll() (connect(),
    /// touch(), shutdown()) at once.
    void rearm(Flow& f) noexcept;
    void rearm_now(Flow& f) noexcept;
    void flush_rearms() noexcept;
    [[nodiscard]] Flow& flow_of(const tcp::Connection* c) noexcept;
    void assert_owner() noexcept;
    void wake_buffer_waiters();
    void reap();
    void recycle_time_wait();
    void reclaim();
    void publish();

    EngineConfig cfg_;
    Port& port_;
    tcp::Stack stack_;
    App* app_ = nullptr;
    Instant now_;
    MacAddr mac_;
    PortCaps caps_;
    EngineCounters counters_;

    ip::Interface ifc_;
    ip::Router router_;
    ip::Ipv4Input ipv4_in_;
    ip::Ipv4Output icmp_out_;  // datagrams up to 65535 when the port fragments what it sends
    ip::IcmpHandler icmp_;
    ip::ArpHandler arp_;
    ip::NeighborCache neigh_;
    /// A frame held on a neighbour entry while it resolves (the cache's PacketHandle).
    struct Held {
        void* raw = nullptr;
        std::uint8_t* data = nullptr;
        std::uint32_t len = 0;
    };
    std::unique_ptr<Held[]> held_;
    std::vector<Held*> free_held_;
    int announcements_left_ = 0;
    Instant next_announcement_;

    NoReaders no_readers_;
    ReclaimerRef readers_;
    /// The pool's memory: max_connections Flows' worth of anonymous pages, mapped up front and
    /// never touched before use. Slots [0, slots_made_) hold constructed Flows; the rest are
    /// raw memory, constructed in order when free_slots_ runs dry (new_connection()).
    struct Unmap {
        std::size_t bytes;
        void operator()(Flow* p) const noexcept;
    };
    std::unique_ptr<Flow, Unmap> slots_;
    std::uint32_t slots_made_ = 0;
    std::vector<std::uint32_t> free_slots_;
    // Connections in the order they entered TIME-WAIT (slot, incarnation), a ring of
    // max_connections entries; an entry whose slot moved on since is skipped. When free
    // slots run below time_wait_low_ the oldest are ended (recycle_time_wait()).
    struct TimeWaitEntry {
        std::uint32_t slot;
        std::uint32_t incarnation;
    };
    std::unique_ptr<TimeWaitEntry[]> time_wait_;  // uninitialised: its pages come in as used
    std::size_t time_wait_cap_ = 0;
    std::size_t time_wait_head_ = 0;
    std::size_t time_wait_size_ = 0;
    std::size_t time_wait_low_ = 0;
    Flows flows_;
    TimerWheel wheel_;
    std::array<std::uint64_t, tcp::kStateCount> states_{};
    PublishedStats published_;
    Instant last_publish_;
    std::vector<std::unique_ptr<tcp::Listener>> listeners_;
    std::vector<tcp::Connection*> touched_;
    std::vector<tcp::Connection*> closed_;
    std::vector<Flow*> rearm_queue_;  // each flow at most once (Flow::rearm_queued)
    bool in_poll_ = false;            // rearm() queues only inside poll()
    std::vector<RxFrame> rx_;
    std::vector<TxFrame> tx_;
    std::vector<void*> rx_free_;
    std::uint16_t tx_count_ = 0;
    std::size_t events_seen_ = 0;  // events of the outbox already dispatched
    std::uint16_t ip_ident_ = 0;
    // Per local address ([0] the primary, [1 + i] extra i), made on the first flow from an
    // ephemeral port of it or the first connect() from it: which ports flows use.
    std::vector<std::unique_ptr<EphemeralPorts>> ephemeral_;
    bool accepting_ = true;               // false after shutdown(): SYNs to our ports get RST
    std::uint64_t buffer_shortages_ = 0;  // BufferStore exhausted + alloc_failed, as last seen
    bool buffers_short_ = false;          // a shortage since the write-blocked were last woken
#ifndef NDEBUG
    std::thread::id owner_{};  // debug builds: the thread that polls, asserted every poll
#endif
};

}  // namespace ustcp::engine
