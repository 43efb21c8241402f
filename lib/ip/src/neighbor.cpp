#include "ustcp/ip/neighbor.hpp"

#include <algorithm>
#include <bit>
#include <cassert>

namespace ustcp::ip {

namespace {
constexpr std::uint32_t kNil = 0xffffffffu;
}  // namespace

std::string_view to_string(NeighborConfigError e) noexcept {
    switch (e) {
        case NeighborConfigError::BadCapacity: return "bad-capacity";
        case NeighborConfigError::NoRequests: return "no-requests";
        case NeighborConfigError::BadReachableTime: return "bad-reachable-time";
        case NeighborConfigError::BadRetryInterval: return "bad-retry-interval";
    }
    return "unknown";
}

std::string_view to_string(NeighborState s) noexcept {
    switch (s) {
        case NeighborState::Incomplete: return "INCOMPLETE";
        case NeighborState::Reachable: return "REACHABLE";
        case NeighborState::Stale: return "STALE";
    }
    return "unknown";
}

std::string_view to_string(NeighborDrop d) noexcept {
    switch (d) {
        case NeighborDrop::QueueFull: return "queue-full";
        case NeighborDrop::TableFull: return "table-full";
        case NeighborDrop::ResolutionFailed: return "resolution-failed";
        case NeighborDrop::Flushed: return "flushed";
    }
    return "unknown";
}

Result<void, NeighborConfigError> NeighborConfig::validate() const noexcept {
    if (capacity == 0 || capacity > kMaxNeighborCapacity) return Err(NeighborConfigError::BadCapacity);
    if (max_requests == 0) return Err(NeighborConfigError::NoRequests);
    if (reachable_time <= Duration::zero()) return Err(NeighborConfigError::BadReachableTime);
    if (retry_interval <= Duration::zero()) return Err(NeighborConfigError::BadRetryInterval);
    return {};
}

/// One neighbour. Free entries chain through age_next. An entry is on the age list iff it is
/// REACHABLE or STALE, and on the resolution list iff a request is outstanding (INCOMPLETE
/// always; STALE while re-checking).
struct NeighborCache::Entry {
    Ipv4Addr ip;
    MacAddr mac;
    NeighborState state = NeighborState::Incomplete;
    bool in_use = false;
    bool checking = false;           ///< on the resolution list
    std::uint8_t requests_sent = 0;  ///< in the running resolution/re-check
    std::uint8_t queued = 0;
    Instant updated_at;              ///< last confirmation; REACHABLE until updated_at + reachable_time
    Instant last_request;            ///< the next retry or give-up is last_request + retry_interval
    std::uint32_t age_prev = kNil, age_next = kNil;
    std::uint32_t res_prev = kNil, res_next = kNil;
};

NeighborCache::NeighborCache(const NeighborConfig& cfg) : cfg_(cfg) {
    assert(cfg.validate().ok());
    // Release builds (no assert) clamp instead of indexing with a zero-sized table.
    cfg_.capacity = std::clamp<std::uint32_t>(cfg_.capacity, 1, kMaxNeighborCapacity);
    cfg_.max_requests = std::max<std::uint8_t>(cfg_.max_requests, 1);
    if (cfg_.reachable_time <= Duration::zero()) cfg_.reachable_time = NeighborConfig{}.reachable_time;
    if (cfg_.retry_interval <= Duration::zero()) cfg_.retry_interval = NeighborConfig{}.retry_interval;
    const std::uint32_t n = cfg_.capacity;
    // At most half full, so linear probing stays short.
    const std::uint32_t slots = std::bit_ceil(std::uint32_t{2} * n);
    slot_mask_ = slots - 1;
    slot_shift_ = static_cast<std::uint8_t>(64 - std::countr_zero(slots));
    slots_ = std::make_unique<std::uint32_t[]>(slots);
    for (std::uint32_t i = 0; i < slots; ++i) slots_[i] = kNil;
    entries_ = std::make_unique<Entry[]>(n);
    const std::size_t q = std::size_t{n} * cfg_.queue_per_entry;
    queues_ = std::make_unique<PacketHandle[]>(q == 0 ? 1 : q);
    drop_out_ = std::make_unique<PacketHandle[]>(q == 0 ? 1 : q);
    release_out_ = std::make_unique<PacketHandle[]>(cfg_.queue_per_entry == 0 ? 1 : cfg_.queue_per_entry);
    req_out_ = std::make_unique<ArpRequest[]>(n);
    for (std::uint32_t i = 0; i < n; ++i) entries_[i].age_next = i + 1 < n ? i + 1 : kNil;
    free_head_ = 0;
    age_head_ = age_tail_ = res_head_ = res_tail_ = kNil;
}

NeighborCache::~NeighborCache() = default;
NeighborCache::NeighborCache(NeighborCache&&) noexcept = default;
NeighborCache& NeighborCache::operator=(NeighborCache&&) noexcept = default;

// --- index -------------------------------------------------------------------

std::uint32_t NeighborCache::home_slot(Ipv4Addr ip) const noexcept {
    // Fibonacci hashing: the top bits of a 64-bit multiply spread consecutive addresses.
    // (A shift of 64 would be undefined: slots >= 2, so slot_shift_ <= 63.)
    return static_cast<std::uint32_t>((std::uint64_t{ip.value()} * 0x9E3779B97F4A7C15ull) >> slot_shift_) &
           slot_mask_;
}

std::uint32_t NeighborCache::find(Ipv4Addr ip) const noexcept {
    for (std::uint32_t s = home_slot(ip);; s = (s + 1) & slot_mask_) {
        const std::uint32_t e = slots_[s];
        if (e == kNil) return kNil;
        if (entries_[e].ip == ip) return e;
    }
}

void NeighborCache::index_insert(std::uint32_t e) noexcept {
    std::uint32_t s = home_slot(entries_[e].ip);
    while (slots_[s] != kNil) s = (s + 1) & slot_mask_;
    slots_[s] = e;
}

void NeighborCache::index_erase(Ipv4Addr ip) noexcept {
    std::uint32_t hole = home_slot(ip);
    while (entries_[slots_[hole]].ip != ip) hole = (hole + 1) & slot_mask_;  // present: the caller found it
    // Backward-shift deletion: pull later members of the probe run into the hole when their
    // home slot does not lie cyclically in (hole, j], so no tombstones are needed.
    for (std::uint32_t j = (hole + 1) & slot_mask_; slots_[j] != kNil; j = (j + 1) & slot_mask_) {
        const std::uint32_t home = home_slot(entries_[slots_[j]].ip);
        const bool home_in_gap = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
        if (!home_in_gap) {
            slots_[hole] = slots_[j];
            hole = j;
        }
    }
    slots_[hole] = kNil;
}

// --- lists -------------------------------------------------------------------

void NeighborCache::age_push_back(std::uint32_t e) noexcept {
    Entry& x = entries_[e];
    x.age_prev = age_tail_;
    x.age_next = kNil;
    if (age_tail_ != kNil) entries_[age_tail_].age_next = e;
    else age_head_ = e;
    age_tail_ = e;
}

void NeighborCache::age_unlink(std::uint32_t e) noexcept {
    Entry& x = entries_[e];
    if (x.age_prev != kNil) entries_[x.age_prev].age_next = x.age_next;
    else age_head_ = x.age_next;
    if (x.age_next != kNil) entries_[x.age_next].age_prev = x.age_prev;
    else age_tail_ = x.age_prev;
    x.age_prev = x.age_next = kNil;
}

void NeighborCache::res_push_back(std::uint32_t e) noexcept {
    Entry& x = entries_[e];
    x.res_prev = res_tail_;
    x.res_next = kNil;
    if (res_tail_ != kNil) entries_[res_tail_].res_next = e;
    else res_head_ = e;
    res_tail_ = e;
}

void NeighborCache::res_unlink(std::uint32_t e) noexcept {
    Entry& x = entries_[e];
    if (x.res_prev != kNil) entries_[x.res_prev].res_next = x.res_next;
    else res_head_ = x.res_next;
    if (x.res_next != kNil) entries_[x.res_next].res_prev = x.res_prev;
    else res_tail_ = x.res_prev;
    x.res_prev = x.res_next = kNil;
}

void NeighborCache::start_check(std::uint32_t e, Instant now) noexcept {
    Entry& x = entries_[e];
    assert(!x.checking);
    x.checking = true;
    x.requests_sent = 1;
    x.last_request = now;
    res_push_back(e);  // `now` is the latest time seen, so the list stays in deadline order
}

void NeighborCache::stop_check(std::uint32_t e) noexcept {
    Entry& x = entries_[e];
    if (!x.checking) return;
    res_unlink(e);
    x.checking = false;
    x.requests_sent = 0;
}

// --- entries -----------------------------------------------------------------

std::uint32_t NeighborCache::allocate(Ipv4Addr ip) noexcept {
    std::uint32_t e = free_head_;
    if (e != kNil) {
        free_head_ = entries_[e].age_next;
    } else {
        // Evict the least recently updated REACHABLE/STALE entry; INCOMPLETE ones hold packets.
        e = age_head_;
        if (e == kNil) return kNil;
        assert(entries_[e].queued == 0);
        stop_check(e);
        age_unlink(e);
        index_erase(entries_[e].ip);
        --size_;
        ++counters_.evictions;
    }
    Entry& x = entries_[e];
    x = Entry{};
    x.ip = ip;
    x.in_use = true;
    index_insert(e);
    ++size_;
    return e;
}

void NeighborCache::release_entry(std::uint32_t e) noexcept {
    Entry& x = entries_[e];
    assert(x.in_use && x.queued == 0);
    stop_check(e);
    if (x.state != NeighborState::Incomplete) age_unlink(e);
    index_erase(x.ip);
    x.in_use = false;
    x.age_next = free_head_;
    free_head_ = e;
    --size_;
}

bool NeighborCache::enqueue(std::uint32_t e, PacketHandle pkt) noexcept {
    Entry& x = entries_[e];
    if (x.queued >= cfg_.queue_per_entry) return false;
    queues_[std::size_t{e} * cfg_.queue_per_entry + x.queued] = pkt;
    ++x.queued;
    ++queued_;
    ++counters_.queued;
    return true;
}

void NeighborCache::drain_queue(std::uint32_t e, PacketHandle* out, std::size_t* n) noexcept {
    Entry& x = entries_[e];
    const PacketHandle* q = &queues_[std::size_t{e} * cfg_.queue_per_entry];
    for (std::uint8_t i = 0; i < x.queued; ++i) out[(*n)++] = q[i];
    queued_ -= x.queued;
    x.queued = 0;
}

// --- operations --------------------------------------------------------------

ResolveResult NeighborCache::resolve(Ipv4Addr ip, PacketHandle pkt, Instant now) noexcept {
    ++counters_.lookups;
    ResolveResult r;
    std::uint32_t e = find(ip);
    if (e == kNil) {
        e = allocate(ip);
        if (e == kNil) {
            if (pkt != nullptr) counters_.drops.bump(NeighborDrop::TableFull);
            r.status = ResolveStatus::Dropped;
            r.drop = NeighborDrop::TableFull;
            return r;
        }
        // RFC 826: "Generate an ARP request ... broadcast it". Later requests come from
        // on_deadline(), at most one per retry_interval (RFC 1122 §2.3.2.1: "prevent ARP
        // flooding ... the recommended maximum rate is 1 per second per destination").
        ++counters_.misses;
        ++counters_.requests_sent;
        start_check(e, now);
        r.request = ArpRequest{ip, MacAddr::broadcast()};
    } else {
        Entry& x = entries_[e];
        if (x.state == NeighborState::Reachable && now >= x.updated_at + cfg_.reachable_time) {
            x.state = NeighborState::Stale;
        }
        if (x.state == NeighborState::Reachable) {
            ++counters_.hits;
            r.status = ResolveStatus::Ready;
            r.mac = x.mac;
            return r;
        }
        if (x.state == NeighborState::Stale) {
            ++counters_.stale_hits;
            if (!x.checking) {
                // RFC 1122 §2.3.2.1 (unicast poll): check the cached address with requests sent
                // to it, while still using it.
                ++counters_.probes_sent;
                start_check(e, now);
                r.request = ArpRequest{ip, x.mac};
            }
            r.status = ResolveStatus::Ready;
            r.mac = x.mac;
            return r;
        }
    }
    // INCOMPLETE: hold the packet.
    r.status = ResolveStatus::Queued;
    if (pkt != nullptr && !enqueue(e, pkt)) {
        counters_.drops.bump(NeighborDrop::QueueFull);
        r.status = ResolveStatus::Dropped;
        r.drop = NeighborDrop::QueueFull;
    }
    return r;
}

NeighborUpdate NeighborCache::update(Ipv4Addr ip, MacAddr mac, Instant now, Learned how) noexcept {
    NeighborUpdate u;
    u.mac = mac;
    std::uint32_t e = find(ip);
    if (e == kNil) {
        // RFC 826: "?Am I the target protocol address? Yes: If Merge_flag is false, add the
        // triplet ... to the translation table." Overheard packets only merge.
        if (how == Learned::Overheard) return u;
        e = allocate(ip);
        if (e == kNil) {
            ++counters_.learn_refused;
            return u;
        }
        Entry& x = entries_[e];
        x.mac = mac;
        x.state = NeighborState::Reachable;
        x.updated_at = now;
        age_push_back(e);
        ++counters_.learned;
        u.created = true;
        return u;
    }

    Entry& x = entries_[e];
    ++counters_.updated;
    u.known = true;
    if (x.state == NeighborState::Incomplete) {
        // The answer (or, overheard, at least an address to use): release the queue in order.
        stop_check(e);
        x.mac = mac;
        x.state = how == Learned::AddressedToUs ? NeighborState::Reachable : NeighborState::Stale;
        x.updated_at = now;
        age_push_back(e);
        ++counters_.resolved;
        std::size_t n = 0;
        drain_queue(e, release_out_.get(), &n);
        counters_.released += n;
        u.released = std::span<const PacketHandle>(release_out_.get(), n);
        return u;
    }

    u.mac_changed = x.mac != mac;
    if (u.mac_changed) ++counters_.mac_changes;
    if (how == Learned::AddressedToUs) {
        x.state = NeighborState::Reachable;
    } else if (u.mac_changed) {
        // RFC 826's merge takes the new address; it is unconfirmed, so STALE re-checks it on use.
        x.state = NeighborState::Stale;
    } else {
        return u;  // overheard, nothing new
    }
    // A re-check in flight was for the old state or address: it is answered or obsolete.
    stop_check(e);
    x.mac = mac;
    x.updated_at = now;
    age_unlink(e);
    age_push_back(e);
    return u;
}

bool NeighborCache::confirm_reachable(Ipv4Addr ip, Instant now) noexcept {
    const std::uint32_t e = find(ip);
    if (e == kNil || entries_[e].state == NeighborState::Incomplete) return false;
    Entry& x = entries_[e];
    stop_check(e);
    x.state = NeighborState::Reachable;
    x.updated_at = now;
    age_unlink(e);
    age_push_back(e);
    ++counters_.confirmations;
    return true;
}

std::optional<Instant> NeighborCache::next_deadline() const noexcept {
    if (res_head_ == kNil) return std::nullopt;
    return entries_[res_head_].last_request + cfg_.retry_interval;
}

DeadlineOutput NeighborCache::on_deadline(Instant now) noexcept {
    std::size_t nreq = 0;
    std::size_t ndrop = 0;
    // The resolution list is in deadline order; a retry moves its entry to the tail with a
    // deadline after `now`, so the loop visits each due entry once.
    while (res_head_ != kNil) {
        const std::uint32_t e = res_head_;
        Entry& x = entries_[e];
        if (x.last_request + cfg_.retry_interval > now) break;
        if (x.requests_sent < cfg_.max_requests) {
            ++x.requests_sent;
            x.last_request = now;
            res_unlink(e);
            res_push_back(e);
            if (x.state == NeighborState::Incomplete) {
                ++counters_.requests_sent;
                req_out_[nreq++] = ArpRequest{x.ip, MacAddr::broadcast()};
            } else {
                ++counters_.probes_sent;
                req_out_[nreq++] = ArpRequest{x.ip, x.mac};
            }
            continue;
        }
        // max_requests unanswered for retry_interval after the last one: give up.
        if (x.state == NeighborState::Incomplete) {
            ++counters_.failed;
            const std::size_t before = ndrop;
            drain_queue(e, drop_out_.get(), &ndrop);
            counters_.drops.add(NeighborDrop::ResolutionFailed, ndrop - before);
        } else {
            ++counters_.probe_failed;
        }
        release_entry(e);
    }
    return DeadlineOutput{std::span<const ArpRequest>(req_out_.get(), nreq),
                          std::span<const PacketHandle>(drop_out_.get(), ndrop)};
}

std::span<const PacketHandle> NeighborCache::remove(Ipv4Addr ip) noexcept {
    const std::uint32_t e = find(ip);
    if (e == kNil) return {};
    std::size_t n = 0;
    drain_queue(e, drop_out_.get(), &n);
    counters_.drops.add(NeighborDrop::Flushed, n);
    release_entry(e);
    return std::span<const PacketHandle>(drop_out_.get(), n);
}

std::span<const PacketHandle> NeighborCache::flush() noexcept {
    std::size_t n = 0;
    for (std::uint32_t e = 0; e < cfg_.capacity; ++e) {
        if (!entries_[e].in_use) continue;
        drain_queue(e, drop_out_.get(), &n);
        release_entry(e);
    }
    counters_.drops.add(NeighborDrop::Flushed, n);
    return std::span<const PacketHandle>(drop_out_.get(), n);
}

std::optional<NeighborInfo> NeighborCache::lookup(Ipv4Addr ip, Instant now) const noexcept {
    const std::uint32_t e = find(ip);
    if (e == kNil) return std::nullopt;
    const Entry& x = entries_[e];
    NeighborState s = x.state;
    if (s == NeighborState::Reachable && now >= x.updated_at + cfg_.reachable_time) s = NeighborState::Stale;
    return NeighborInfo{x.ip, x.mac, s, x.queued, x.requests_sent, x.updated_at};
}

}  // namespace ustcp::ip
