// Test harness for lib/tcp: endpoints with a fake clock, a demux (flow map, then
// listener), and a link that carries segments between two endpoints with optional
// loss. Payloads are copied out of the outbox, as a NIC would, so a test can hold
// segments across calls. Test-only code: it allocates freely.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ustcp/tcp/connection.hpp"
#include "ustcp/tcp/context.hpp"
#include "ustcp/tcp/listener.hpp"

namespace ustcp::tcp::test {

/// A segment on the wire, as its sender named the 4-tuple.
struct Wire {
    FourTuple tuple;
    wire::TcpRepr hdr;
    std::vector<std::uint8_t> payload;

    [[nodiscard]] bool has(std::uint8_t f) const { return (hdr.flags & f) != 0; }
    /// tcpdump-like flag letters: "S", "S.", ".", "P.", "F.", "R", "R." ...
    [[nodiscard]] std::string flags() const;
};

struct RecordedEvent {
    EventKind kind;
    std::optional<Error> error;
    Connection* conn;
};

/// One host: a TCP context, at most one listener, and its connections.
class Endpoint : public Stack {
public:
    explicit Endpoint(Ipv4Addr addr, Config cfg = {}, std::uint64_t key_seed = 1);

    Ipv4Addr addr;

    void listen(std::uint16_t port, std::uint32_t accept_backlog = 16, std::uint32_t syn_backlog = 16);
    Listener* listener() { return listener_ ? listener_.get() : nullptr; }

    /// A new connection object for `local_port` -> remote (storage sized from cfg).
    Connection& make(std::uint16_t local_port, Ipv4Addr remote, std::uint16_t remote_port);
    Connection& connect(Instant now, std::uint16_t local_port, Ipv4Addr remote, std::uint16_t remote_port);
    /// The connection for a tuple named from our side, if any (and not freed).
    Connection* find(const FourTuple& t);
    /// All connections ever made here that are not yet freed.
    std::vector<Connection*> live();

    /// SEGMENT ARRIVES from the network: demux to a connection, TIME-WAIT reuse, listener, or RST.
    void deliver(const Wire& w, Instant now);
    /// Due timers.
    void tick(Instant now);
    /// Earliest deadline of any connection.
    Instant next_deadline() const;

    /// Segments produced since the last drain (payload copied), events appended to `events`.
    std::vector<Wire> drain();
    std::vector<RecordedEvent> events;
    /// Free connections whose Closed event was seen (the engine's job).
    void reap();

private:
    struct Slot {
        std::unique_ptr<Connection> conn;
    };
    Slot& new_slot(const FourTuple& t);

    std::unique_ptr<Listener> listener_;
    std::map<FourTuple, std::unique_ptr<Slot>> flows_;
    std::vector<std::unique_ptr<Slot>> graveyard_;  // freed slots stay valid for pointers in events
};

/// Whether `e` has recorded an event of kind `k` (and error `err`, if given).
bool has_event(const Endpoint& e, EventKind k, std::optional<Error> err = std::nullopt);
/// Everything readable from `c` now, as a string.
std::string read_all(Endpoint& e, Connection& c, Instant now);
/// A string's bytes, for send().
inline wire::Bytes bytes_of(const std::string& s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

/// Two endpoints and the wire between them, on one fake clock.
class Link {
public:
    Link(Endpoint& a, Endpoint& b) : a_(a), b_(b) {}

    Instant now = Instant::from_nanos(1'000'000'000);
    /// Return true to drop a segment (it is still recorded in `trace`).
    std::function<bool(const Wire&, bool from_a)> drop;
    /// Every segment that crossed (or was dropped), in order, and who sent it.
    struct Hop {
        Wire w;
        bool from_a;
        bool dropped;
    };
    std::vector<Hop> trace;

    /// Moves segments both ways until both outboxes stay empty. Returns hops moved.
    std::size_t pump();
    /// Advances the clock to the next deadline (at most `limit` ahead), fires timers, pumps.
    bool run_timers(Duration limit = Duration::seconds(3600));
    /// Runs timers and pumps until nothing is pending or `until` passes.
    void settle(Instant until);
    /// The last `n` hops' flags, e.g. {"S", "S.", "."}.
    std::vector<std::string> flags_since(std::size_t first) const;

private:
    Endpoint& a_;
    Endpoint& b_;
};

}  // namespace ustcp::tcp::test
