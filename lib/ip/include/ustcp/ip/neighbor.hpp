// The neighbour (ARP) cache: IPv4 next hop -> MAC, with the deadlines of address
// resolution (RFC 826, RFC 1122 §2.3.2), without I/O or a clock. One cache per lcore and
// port; a fixed-capacity table allocated by the constructor, so no call below allocates.
//
//   NeighborCache cache(NeighborConfig{.capacity = 1024});
//   // sending a datagram to next hop `nh` (from Router::route):
//   auto r = cache.resolve(nh, mbuf, now);
//   if (r.request) send_arp_request(*r.request);     // build_arp_request(ifc, *r.request, frame)
//   if (r.status == ResolveStatus::Ready) transmit(mbuf, r.mac);
//   else if (r.status == ResolveStatus::Dropped) free(mbuf);   // counted by r.drop
//   // (Queued: the cache holds mbuf until the reply or the give-up.)
//
//   // an ARP packet arrived (ArpHandler calls this for you):
//   auto u = cache.update(sender_ip, sender_mac, now, Learned::AddressedToUs);
//   for (PacketHandle h : u.released) transmit(h, u.mac);
//
//   // the engine's timer loop:
//   if (auto t = cache.next_deadline(); t && *t <= now) {
//       auto d = cache.on_deadline(now);
//       for (const ArpRequest& q : d.requests) send_arp_request(q);
//       for (PacketHandle h : d.dropped) free(h);
//   }
//
// States and transitions (a simplification of RFC 4861 §7.3.2's NUD, which Linux also uses
// for ARP):
//   (none) --resolve--> INCOMPLETE: one broadcast ARP request now, then one every
//       retry_interval until max_requests have gone out; a reply makes the entry REACHABLE and
//       hands back the queued packets in the order they were queued; no reply retry_interval
//       after the last request gives up: the entry goes and its queued packets are handed back
//       to be freed (NeighborDrop::ResolutionFailed).
//   REACHABLE --reachable_time without confirmation--> STALE (evaluated when looked at: no timer).
//   STALE: still used, so traffic never stalls; the first use sends a unicast ARP request to the
//       cached MAC (RFC 1122 §2.3.2.1 "unicast poll") and repeats it every retry_interval up to
//       max_requests; a reply makes it REACHABLE again, no reply removes the entry (the next
//       resolve starts over with a broadcast).
//   An ARP packet addressed to us (request or reply) creates or refreshes the sender's entry as
//   REACHABLE. One overheard (not addressed to us, e.g. a gratuitous ARP) only updates an
//   existing entry (RFC 826's merge): a new MAC makes it STALE, an INCOMPLETE entry becomes
//   STALE with its queue released.
//
// Table full: a new entry takes a free slot, else the slot of the least recently updated
// REACHABLE/STALE entry (counted in `evictions`); INCOMPLETE entries are never evicted, since
// they hold the caller's packets, so when every entry is INCOMPLETE the new one is refused
// (NeighborDrop::TableFull for resolve, `learn_refused` for update).
//
// Time: every `now` must be >= the previous one (the engine's TSC reading per loop).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "ustcp/base/addr.hpp"
#include "ustcp/base/result.hpp"
#include "ustcp/base/time.hpp"
#include "ustcp/ip/counters.hpp"

namespace ustcp::ip {

/// An outgoing packet the cache holds while its next hop resolves: owned by the caller
/// (an rte_mbuf* in production), never dereferenced here.
using PacketHandle = void*;

enum class NeighborConfigError : std::uint8_t {
    BadCapacity,       ///< 0, or above kMaxNeighborCapacity
    NoRequests,        ///< max_requests is 0
    BadReachableTime,  ///< not positive
    BadRetryInterval,  ///< not positive
};
/// Stable names: "bad-capacity", "no-requests", "bad-reachable-time", "bad-retry-interval".
[[nodiscard]] std::string_view to_string(NeighborConfigError e) noexcept;

inline constexpr std::uint32_t kMaxNeighborCapacity = 1u << 24;

struct NeighborConfig {
    std::uint32_t capacity = 1024;        ///< entries
    std::uint8_t queue_per_entry = 4;     ///< packets held per INCOMPLETE entry (0: none, every miss drops)
    std::uint8_t max_requests = 3;        ///< ARP requests per resolution or STALE re-check, the first included
    Duration reachable_time = Duration::seconds(30);  ///< REACHABLE lifetime after a confirmation
    Duration retry_interval = Duration::seconds(1);   ///< between requests (RFC 1122 §2.3.2.1: at most one/s)

    /// Errors: BadCapacity, NoRequests, BadReachableTime, BadRetryInterval.
    [[nodiscard]] Result<void, NeighborConfigError> validate() const noexcept;
};

enum class NeighborState : std::uint8_t {
    Incomplete,  ///< resolution in progress; packets queue
    Reachable,   ///< confirmed within reachable_time
    Stale,       ///< usable, but re-checked with a unicast request on the next use
};
[[nodiscard]] std::string_view to_string(NeighborState s) noexcept;

/// Why the cache did not take (or gave back) a packet.
enum class NeighborDrop : std::uint8_t {
    QueueFull,         ///< the INCOMPLETE entry already holds queue_per_entry packets (the new one is refused)
    TableFull,         ///< no free entry and nothing evictable
    ResolutionFailed,  ///< max_requests went unanswered
    Flushed,           ///< remove() or flush()
};
inline constexpr std::size_t kNeighborDropCount = static_cast<std::size_t>(NeighborDrop::Flushed) + 1;
/// Stable names: "queue-full", "table-full", "resolution-failed", "flushed".
[[nodiscard]] std::string_view to_string(NeighborDrop d) noexcept;

/// An ARP request the caller should transmit (build_arp_request in arp.hpp).
struct ArpRequest {
    Ipv4Addr target;
    /// Ethernet destination: broadcast while INCOMPLETE, the cached MAC for a STALE re-check.
    MacAddr dst_mac;
    [[nodiscard]] bool unicast() const noexcept { return dst_mac != MacAddr::broadcast(); }
    friend bool operator==(const ArpRequest&, const ArpRequest&) noexcept = default;
};

enum class ResolveStatus : std::uint8_t {
    Ready,    ///< `mac` is valid: transmit now; the packet was not taken
    Queued,   ///< the cache holds the packet (if one was given) until resolution ends
    Dropped,  ///< not taken (see `drop`): the caller frees the packet it passed
};

struct [[nodiscard]] ResolveResult {
    ResolveStatus status = ResolveStatus::Dropped;
    MacAddr mac;                        ///< Ready only
    NeighborDrop drop = NeighborDrop::TableFull;  ///< Dropped only
    std::optional<ArpRequest> request;  ///< send this request now (with any status)
};

/// What kind of ARP evidence update() is given.
enum class Learned : std::uint8_t {
    AddressedToUs,  ///< an ARP request or reply whose target IP is ours: creates or confirms
    Overheard,      ///< any other ARP packet (a gratuitous announcement, a request between others)
};

struct [[nodiscard]] NeighborUpdate {
    /// Packets that were waiting for this neighbour, in queue order: transmit them to `mac`.
    /// Valid until the next non-const call on the cache.
    std::span<const PacketHandle> released;
    MacAddr mac;
    bool created = false;      ///< a new entry was made
    bool known = false;        ///< an entry existed (and was merged with)
    bool mac_changed = false;  ///< an existing entry's MAC changed
};

struct [[nodiscard]] DeadlineOutput {
    /// Requests to transmit (retries and re-checks). Valid until the next non-const call.
    std::span<const ArpRequest> requests;
    /// Packets of resolutions that gave up: free them. Valid until the next non-const call.
    std::span<const PacketHandle> dropped;
};

struct NeighborInfo {
    Ipv4Addr ip;
    MacAddr mac;           ///< zero while INCOMPLETE
    NeighborState state;   ///< as of `now` (a REACHABLE entry past its time reads STALE)
    std::uint8_t queued;   ///< packets held
    std::uint8_t requests_sent;  ///< in the current resolution or re-check; 0 when none is running
    Instant updated_at;    ///< last confirmation (REACHABLE/STALE)
};

struct NeighborCounters {
    std::uint64_t lookups = 0;        ///< resolve() calls
    std::uint64_t hits = 0;           ///< resolve() found REACHABLE
    std::uint64_t stale_hits = 0;     ///< resolve() found STALE (and used it)
    std::uint64_t misses = 0;         ///< resolve() created an INCOMPLETE entry
    std::uint64_t requests_sent = 0;  ///< broadcast requests asked for (first and retries)
    std::uint64_t probes_sent = 0;    ///< unicast re-check requests asked for
    std::uint64_t resolved = 0;       ///< INCOMPLETE entries that got an answer
    std::uint64_t failed = 0;         ///< INCOMPLETE entries given up
    std::uint64_t probe_failed = 0;   ///< STALE entries removed after unanswered re-checks
    std::uint64_t queued = 0;         ///< packets taken
    std::uint64_t released = 0;       ///< packets handed back for transmission
    std::uint64_t learned = 0;        ///< entries created by update()
    std::uint64_t updated = 0;        ///< existing entries refreshed or changed by update()
    std::uint64_t mac_changes = 0;
    std::uint64_t confirmations = 0;  ///< confirm_reachable() that refreshed an entry
    std::uint64_t evictions = 0;
    std::uint64_t learn_refused = 0;  ///< update() could not create an entry: table full of INCOMPLETE
    DropCounts<NeighborDrop, kNeighborDropCount> drops;  ///< packets, by reason
};

class NeighborCache {
public:
    /// Allocates every table. Precondition: cfg.validate() succeeded (asserted; a release build
    /// clamps each invalid field to a valid value instead).
    explicit NeighborCache(const NeighborConfig& cfg);
    ~NeighborCache();
    NeighborCache(NeighborCache&&) noexcept;
    NeighborCache& operator=(NeighborCache&&) noexcept;
    NeighborCache(const NeighborCache&) = delete;
    NeighborCache& operator=(const NeighborCache&) = delete;

    /// The MAC for next hop `ip`, or the start of its resolution. `pkt` (may be null: "just
    /// tell me / start resolving") is queued while the entry is INCOMPLETE. Never fails;
    /// status Dropped carries the reason: QueueFull, TableFull.
    ResolveResult resolve(Ipv4Addr ip, PacketHandle pkt, Instant now) noexcept;

    /// ARP evidence that `ip` is at `mac` (RFC 826 "merge"); see the header comment for the
    /// transitions. The caller has checked that `ip` is an on-link unicast host and `mac` a
    /// unicast MAC (ArpHandler does).
    NeighborUpdate update(Ipv4Addr ip, MacAddr mac, Instant now, Learned how) noexcept;

    /// Upper-layer proof that `ip` is reachable (RFC 4861 §7.3.1: e.g. TCP saw new data
    /// acknowledged): a REACHABLE or STALE entry becomes REACHABLE as of `now` and stops any
    /// re-check. Returns false when there is no such entry (INCOMPLETE entries are untouched).
    bool confirm_reachable(Ipv4Addr ip, Instant now) noexcept;

    /// The earliest time on_deadline() has work: the next retry or give-up. nullopt when no
    /// resolution or re-check is running.
    [[nodiscard]] std::optional<Instant> next_deadline() const noexcept;

    /// Sends due retries and gives up on exhausted resolutions. Handles every entry that is
    /// due at `now` exactly once (a retry it issues is due retry_interval later).
    DeadlineOutput on_deadline(Instant now) noexcept;

    /// Removes `ip`'s entry; its queued packets come back to be freed (counted as Flushed).
    /// Valid until the next non-const call. Empty when there was no entry or nothing queued.
    std::span<const PacketHandle> remove(Ipv4Addr ip) noexcept;

    /// Empties the cache; every queued packet comes back to be freed (Flushed). For shutdown,
    /// so that every mbuf is accounted for. Valid until the next non-const call.
    std::span<const PacketHandle> flush() noexcept;

    /// The entry for `ip` as of `now`, without side effects.
    [[nodiscard]] std::optional<NeighborInfo> lookup(Ipv4Addr ip, Instant now) const noexcept;

    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] std::size_t capacity() const noexcept { return cfg_.capacity; }
    /// Packets held over all entries.
    [[nodiscard]] std::size_t queued() const noexcept { return queued_; }
    [[nodiscard]] const NeighborConfig& config() const noexcept { return cfg_; }
    [[nodiscard]] const NeighborCounters& counters() const noexcept { return counters_; }

private:
    struct Entry;  // defined in neighbor.cpp

    [[nodiscard]] std::uint32_t home_slot(Ipv4Addr ip) const noexcept;
    [[nodiscard]] std::uint32_t find(Ipv4Addr ip) const noexcept;
    void index_insert(std::uint32_t e) noexcept;
    void index_erase(Ipv4Addr ip) noexcept;
    [[nodiscard]] std::uint32_t allocate(Ipv4Addr ip) noexcept;
    void release_entry(std::uint32_t e) noexcept;
    void age_push_back(std::uint32_t e) noexcept;
    void age_unlink(std::uint32_t e) noexcept;
    void res_push_back(std::uint32_t e) noexcept;
    void res_unlink(std::uint32_t e) noexcept;
    void start_check(std::uint32_t e, Instant now) noexcept;
    void stop_check(std::uint32_t e) noexcept;
    [[nodiscard]] bool enqueue(std::uint32_t e, PacketHandle pkt) noexcept;
    /// Appends entry e's queued packets to `out` at `*n`, emptying the queue.
    void drain_queue(std::uint32_t e, PacketHandle* out, std::size_t* n) noexcept;

    NeighborConfig cfg_;
    std::uint32_t slot_mask_ = 0;
    std::uint8_t slot_shift_ = 0;
    std::unique_ptr<std::uint32_t[]> slots_;       ///< open addressing (linear probing) over entry indices
    std::unique_ptr<Entry[]> entries_;            ///< stable indices, linked into the lists below
    std::unique_ptr<PacketHandle[]> queues_;      ///< queue_per_entry slots per entry
    std::unique_ptr<ArpRequest[]> req_out_;       ///< on_deadline() requests: at most one per entry
    std::unique_ptr<PacketHandle[]> drop_out_;    ///< on_deadline()/remove()/flush(): every queued packet
    std::unique_ptr<PacketHandle[]> release_out_; ///< update(): one entry's queue
    std::uint32_t free_head_;
    std::uint32_t age_head_, age_tail_;           ///< REACHABLE/STALE, least recently updated first
    std::uint32_t res_head_, res_tail_;           ///< running resolutions/re-checks, earliest deadline first
    std::size_t size_ = 0;
    std::size_t queued_ = 0;
    NeighborCounters counters_;
};

}  // namespace ustcp::ip
