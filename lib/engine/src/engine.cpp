#include "ustcp/engine/engine.hpp"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <new>
#include <random>
#include <thread>

#include <sys/mman.h>

#include "ustcp/base/endian.hpp"
#include "ustcp/tcp/segment.hpp"
#include "ustcp/wire/checksum.hpp"
#include "ustcp/wire/ethernet.hpp"
#include "ustcp/wire/ipv4.hpp"
#include "ustcp/wire/tcp.hpp"

namespace ustcp::engine {

namespace {

constexpr std::size_t kEthLen = wire::kEthHeaderLen;
constexpr std::size_t kIpLen = wire::kIpv4MinHeaderLen;
constexpr Duration kPublishEvery = Duration::millis(1);

/// The 16-bit one's-complement sum of a payload held in pieces of any length: a piece
/// that starts at an odd offset of the whole contributes its sum byte-swapped (RFC 1071 §2(B)).
std::uint32_t sum_pieces(tcp::SendQueue::Pos pos, std::uint32_t len, std::uint32_t sum) noexcept {
    bool odd = false;
    tcp::for_each_piece(pos, len, [&](const std::uint8_t* d, std::uint32_t n) {
        std::uint16_t s = wire::checksum_fold(wire::checksum_partial(wire::Bytes(d, n)));
        if (odd) s = static_cast<std::uint16_t>((s << 8) | (s >> 8));
        sum += s;
        if (n & 1u) odd = !odd;
    });
    return sum;
}

ip::Interface interface_of(const EngineConfig& cfg, const Port& port) noexcept {
    ip::Interface ifc;
    ifc.mac = port.mac();
    ifc.addr = cfg.addr;
    ifc.prefix_len = cfg.prefix_len;
    ifc.gateway = cfg.gateway;
    ifc.extra_first = cfg.extra_first;
    ifc.extra_count = cfg.extra_count;
    ifc.mtu = cfg.mtu != 0 ? cfg.mtu : port.caps().mtu;
    return ifc;
}

/// Anonymous, private, unreserved pages for `bytes`: the kernel backs each page when it is first
/// written, so a pool of millions of slots costs only what connections have used. Throws
/// std::bad_alloc like the `new` it replaces.
void* map_pool(std::size_t bytes) {
    void* p = ::mmap(nullptr, std::max<std::size_t>(bytes, 1), PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    return p;
}

std::uint64_t seed_of(const EngineConfig& cfg) {
    if (cfg.flow_seed != 0) return cfg.flow_seed;
    std::random_device rd;
    return (std::uint64_t{rd()} << 32) | rd();
}

template <std::size_t N, class D>
void publish_drops(std::array<std::atomic<std::uint64_t>, N>& to, const D& drops) noexcept {
    static_assert(D::size() == N);
    for (std::size_t i = 0; i < N; ++i) to[i].store(drops.at(i), std::memory_order_relaxed);
}

}  // namespace

void PublishedStats::read(EngineCounters& e, tcp::Counters& t, PortStats& p) const noexcept {
    read_counters(engine, e);
    read_counters(tcp, t);
    read_counters(port, p);
}

Result<void, ip::InterfaceError> Engine::check(const EngineConfig& cfg, const Port& port) noexcept {
    if (cfg.extra_count > kMaxExtraAddrs) return Err(ip::InterfaceError::BadExtraAddress);
    return interface_of(cfg, port).validate();
}

void Engine::Unmap::operator()(Flow* p) const noexcept { ::munmap(p, std::max<std::size_t>(bytes, 1)); }

Engine::Engine(const EngineConfig& cfg, Port& port, const tcp::SipKey& isn_key, const tcp::SipKey& cookie_key)
    : cfg_(cfg),
      port_(port),
      stack_(cfg.tcp, isn_key, cookie_key, port.buffer_ops(), cfg.buffer_nodes),
      mac_(port.mac()),
      caps_(port.caps()),
      ifc_(interface_of(cfg, port)),
      router_(ifc_),
      ipv4_in_(ifc_),
      // A port that fragments what it sends may carry replies to reassembled requests.
      icmp_out_(ifc_, 0, caps_.tx_ip_fragment ? std::uint16_t{65535} : std::uint16_t{0}),
      icmp_(ifc_),
      arp_(ifc_),
      neigh_(cfg.neighbours),
      announcements_left_(cfg.announce ? ip::kAnnounceNum : 0),
      readers_(cfg.readers ? *cfg.readers : ReclaimerRef(no_readers_)),
      slots_(static_cast<Flow*>(map_pool(std::size_t{cfg.max_connections} * sizeof(Flow))),
             Unmap{std::size_t{cfg.max_connections} * sizeof(Flow)}),
      flows_(FlowTableConfig{cfg.max_connections, seed_of(cfg)}, readers_),
      wheel_(cfg.timer_tick, Instant{}) {
    assert(ifc_.validate().ok() && cfg.extra_count <= kMaxExtraAddrs);
    // Reserved, not touched: large vectors come from fresh mmap'd pages (glibc), and free_slots_
    // fills only as connections end; time_wait_'s entries are trivial and left uninitialised.
    free_slots_.reserve(cfg.max_connections);
    time_wait_cap_ = cfg.max_connections;
    time_wait_.reset(new TimeWaitEntry[std::max<std::size_t>(time_wait_cap_, 1)]);
    ephemeral_.resize(std::size_t{1} + cfg.extra_count);
    // Keep 1/64 of the pool (two bursts' worth in small pools, but at most a quarter) free of
    // TIME-WAIT: slots come back a loop after their connection ends (reclaim()), so the
    // margin absorbs a burst of SYNs.
    time_wait_low_ = std::max<std::size_t>(cfg.max_connections / 64,
                                           std::min<std::size_t>(2u * cfg.burst, cfg.max_connections / 4));
    rx_.resize(cfg.burst);
    tx_.resize(std::max<std::size_t>(2u * cfg.burst, tcp::Outbox::kMaxSegments + cfg.burst));
    rx_free_.reserve(cfg.burst);
    touched_.reserve(cfg.burst);
    rearm_queue_.reserve(cfg.max_connections);
    const std::size_t held = std::size_t{cfg.neighbours.capacity} * cfg.neighbours.queue_per_entry;
    held_.reset(new Held[held]);
    free_held_.reserve(held);
    for (std::size_t i = held; i-- > 0;) free_held_.push_back(&held_[i]);
    stack_.ctx.defer_acks = true;
    // The IPv4 total length bounds a segment: 65535 - 20 (IPv4) - 60 (TCP with options).
    if (caps_.tx_tso && cfg.tso_max > 0) stack_.ctx.tso_max = std::min<std::uint32_t>(cfg.tso_max, 65455);
}

Engine::~Engine() {
    for (std::uint32_t i = 0; i < slots_made_; ++i) {
        Flow& f = slots_.get()[i];
        if (f.armed()) wheel_.cancel(f);
        if (f.live) {
            f.conn().release_buffers(stack_.ctx);
            f.conn().~Connection();
            f.live = false;
        }
        f.~Flow();
    }
    drop_held(neigh_.flush());  // frames held for neighbours being resolved
    stack_.done_with_output();
}

Result<void, tcp::Error> Engine::listen(std::uint16_t port) {
    for (const auto& l : listeners_) {
        if (l->port() == port) return Err(tcp::Error::InvalidState);
    }
    listeners_.push_back(std::make_unique<tcp::Listener>(cfg_.addr, port, cfg_.accept_backlog, cfg_.syn_backlog));
    return {};
}

Result<tcp::Connection*, tcp::Error> Engine::connect(Ipv4Addr remote, std::uint16_t port,
                                                     std::optional<Ipv4Addr> local) {
    const Ipv4Addr src = local ? *local : cfg_.addr;
    if (!ifc_.is_ours(src)) return Err(tcp::Error::AddressNotAvailable);
    // RFC 6056 §3.3.1's sequential choice, per local address, restricted to the ports whose
    // replies this lcore's queue receives (RSS or software steering on several lcores). First a
    // port no flow from `src` uses (a bitmap walk); when every such port has one, a port whose
    // 4-tuple with this peer is free (a local port may serve several peers), looked up.
    EphemeralPorts& eph = *ephemeral_of(src, true);
    const auto owned = [&](std::uint16_t p) { return port_.owns(FourTuple{src, remote, p, port}); };
    std::optional<std::uint16_t> pick = eph.pick(owned);
    if (!pick) {
        std::uint16_t next = eph.cursor_port();
        for (int tries = 0; tries <= kEphemeralLast - kEphemeralFirst && !pick; ++tries) {
            const std::uint16_t p = next;
            next = next == kEphemeralLast ? kEphemeralFirst : static_cast<std::uint16_t>(next + 1);
            if (owned(p) && flows_.find(FourTuple{src, remote, p, port}) == nullptr) pick = p;
        }
        eph.set_cursor_port(next);
        if (!pick) return Err(tcp::Error::NotConnected);
        ++counters_.ephemeral_shared;
    }
    tcp::Connection* c = new_connection(FourTuple{src, remote, *pick, port});
    if (c == nullptr) return Err(tcp::Error::NotConnected);
    if (auto r = c->connect(stack_.ctx, now_); !r) return Err(r.error());
    rearm(flow_of(c));
    return c;
}

EphemeralPorts* Engine::ephemeral_of(Ipv4Addr local, bool make) {
    if (!ifc_.is_ours(local)) return nullptr;
    auto& e = ephemeral_[local == cfg_.addr ? 0 : 1 + (local.value() - cfg_.extra_first.value())];
    if (e == nullptr && make) e = std::make_unique<EphemeralPorts>(kEphemeralFirst, kEphemeralLast);
    return e.get();
}

bool Engine::map_flow(const FourTuple& t, Flow* f) {
    if (!flows_.insert(t, f)) return false;
    // Counted from the first flow on an ephemeral port of the address, so a table made later
    // (by connect()) starts from true zeros.
    const bool ephemeral = t.local_port >= kEphemeralFirst && t.local_port <= kEphemeralLast;
    if (EphemeralPorts* e = ephemeral_of(t.local_addr, ephemeral)) e->add(t.local_port);
    return true;
}

void Engine::unmap_flow(const FourTuple& t) noexcept {
    flows_.remove(t);
    if (EphemeralPorts* e = ephemeral_of(t.local_addr, false)) e->remove(t.local_port);
}

tcp::Connection* Engine::new_connection(const FourTuple& t) {
    if (free_slots_.empty()) {
        if (slots_made_ == cfg_.max_connections) {
            ++counters_.conn_pool_exhausted;
            return nullptr;
        }
        // The first use of this slot: its page is touched now.
        new (slots_.get() + slots_made_) Flow;
        free_slots_.push_back(slots_made_++);
    }
    const std::uint32_t i = free_slots_.back();
    Flow& f = slots_.get()[i];
    // A closed TCB of the same tuple may still be mapped (reaped at the end of the burst):
    // the tuple maps to the new one from here on.
    if (Flow* old = flows_.find(t); old != nullptr) unmap_flow(t);
    if (!map_flow(t, &f)) {
        ++counters_.flow_table_full;
        return nullptr;
    }
    free_slots_.pop_back();
    auto* c = new (f.storage) tcp::Connection(t);
    f.live = true;
    ++f.incarnation;
    f.opened = cfg_.clock != nullptr ? cfg_.clock() : now_;
    f.counted = tcp::State::Closed;
    ++states_[static_cast<std::size_t>(tcp::State::Closed)];
    f.info.state.store(static_cast<std::uint8_t>(tcp::State::Closed), std::memory_order_relaxed);
    ++counters_.connections_opened;
    return c;
}

void Engine::assert_owner() noexcept {
#ifndef NDEBUG
    // One lcore owns an engine: the first thread that polls it (DESIGN: no locks on the path).
    if (owner_ == std::thread::id{}) owner_ = std::this_thread::get_id();
    assert(owner_ == std::this_thread::get_id() && "an Engine is polled from one thread only");
#endif
}

Engine::Flow& Engine::flow_of(const tcp::Connection* c) noexcept {
    // The TCB lies inside its Flow, so the offset from the pool's start divided by the slot
    // size is the slot.
    const auto off = reinterpret_cast<const std::byte*>(c) - reinterpret_cast<const std::byte*>(slots_.get());
    const auto i = static_cast<std::size_t>(off) / sizeof(Flow);
    assert(i < slots_made_ && slots_.get()[i].storage == reinterpret_cast<const std::byte*>(c));
    return slots_.get()[i];
}

void Engine::rearm(Flow& f) noexcept {
    if (!in_poll_) {
        rearm_now(f);  // connect(), touch(), shutdown(): in place, as their callers expect
        return;
    }
    if (f.rearm_queued) return;
    f.rearm_queued = true;
    rearm_queue_.push_back(&f);
}

void Engine::flush_rearms() noexcept {
    // rearm_now() queues nothing, so the list does not grow while it is walked.
    for (Flow* f : rearm_queue_) {
        f->rearm_queued = false;
        rearm_now(*f);
    }
    rearm_queue_.clear();
}

void Engine::rearm_now(Flow& f) noexcept {
    if (!f.live) return;
    tcp::Connection& c = f.conn();
    const tcp::State st = c.state();
    if (st != f.counted) {
        --states_[static_cast<std::size_t>(f.counted)];
        ++states_[static_cast<std::size_t>(st)];
        f.counted = st;
        f.info.state.store(static_cast<std::uint8_t>(st), std::memory_order_relaxed);
        if (st == tcp::State::TimeWait) {
            // The ring holds one entry per slot at most live, but stale ones linger: when
            // full, the oldest entry goes (that connection just times out as usual).
            if (time_wait_size_ == time_wait_cap_) {
                time_wait_head_ = (time_wait_head_ + 1) % time_wait_cap_;
                --time_wait_size_;
            }
            const auto slot = static_cast<std::uint32_t>(&f - slots_.get());
            time_wait_[(time_wait_head_ + time_wait_size_) % time_wait_cap_] = {slot, f.incarnation};
            ++time_wait_size_;
        }
    }
    const tcp::ConnStats& s = c.stats();
    f.info.bytes_in.store(s.bytes_in, std::memory_order_relaxed);
    f.info.bytes_out.store(s.bytes_out, std::memory_order_relaxed);
    f.info.bytes_retrans.store(s.bytes_retrans, std::memory_order_relaxed);
    f.info.send_queued.store(static_cast<std::uint32_t>(c.send_queued()), std::memory_order_relaxed);
    f.info.recv_queued.store(static_cast<std::uint32_t>(c.bytes_readable()), std::memory_order_relaxed);
    f.info.srtt_us.store(static_cast<std::uint32_t>(c.rtt().srtt().as_micros()), std::memory_order_relaxed);
    f.info.cwnd.store(c.congestion().cwnd(), std::memory_order_relaxed);
    f.info.retransmits.store(s.retrans_timeout + s.retrans_fast, std::memory_order_relaxed);
    if (st == tcp::State::Closed) {
        if (f.armed()) wheel_.cancel(f);
        return;
    }
    wheel_.arm(f, c.next_deadline());
}

std::uint16_t Engine::poll(Instant now) {
    assert_owner();
    now_ = now;
    in_poll_ = true;
    if (announcements_left_ > 0 && now_ >= next_announcement_) announce();
    const std::uint16_t n = port_.rx_burst(rx_.data(), cfg_.burst);
    touched_.clear();
    const std::uint64_t no_buffer_before = stack_.counters.drop_no_buffer;
    for (std::uint16_t i = 0; i < n; ++i) {
        ++counters_.rx_frames;
        handle_frame(rx_[i]);
        // Keep the outbox from filling mid-burst: a full one makes lib/tcp hold data back.
        if (stack_.out.segments().size() + cfg_.burst >= tcp::Outbox::kMaxSegments) transmit();
    }
    // Payload was dropped for want of a buffer: give back what waits out of order in every
    // connection (never SACKed, so the peers resend it), or the segments that fill those
    // holes could find no buffer for ever while the queues behind them hold them all.
    if (stack_.counters.drop_no_buffer != no_buffer_before) {
        flows_.for_each([&](const FourTuple&, Flow* f) { (void)f->conn().prune_ooo(stack_.ctx); });
    }
    if (!rx_free_.empty()) {
        port_.free_rx(rx_free_.data(), static_cast<std::uint16_t>(rx_free_.size()));
        rx_free_.clear();
    }
    dispatch_events();
    // One ACK per connection per burst, unless data or a FIN the application sent carried it.
    for (tcp::Connection* c : touched_) {
        c->flush_ack(stack_.ctx, now_);
        rearm(flow_of(c));
    }
    run_timers();
    run_neighbour_timers();
    transmit();
    reap();
    reclaim();
    recycle_time_wait();
    wake_buffer_waiters();
    flush_rearms();
    in_poll_ = false;
    if (now_ - last_publish_ >= kPublishEvery) publish();
    return n;
}

void Engine::wake_buffer_waiters() {
    // A send that failed for want of a buffer node or a pool buffer gets no Writable from its
    // ACKs when nothing of it is in flight. Once buffers are back (an eighth of the nodes free
    // and the pool answering), every write-blocked connection hears Writable.
    const tcp::BufferStoreStats& b = stack_.bufs.stats();
    const std::uint64_t short_now = b.exhausted + b.alloc_failed;
    if (short_now != buffer_shortages_) {
        buffer_shortages_ = short_now;
        buffers_short_ = true;
        return;
    }
    if (!buffers_short_ || stack_.bufs.nodes_free() < cfg_.buffer_nodes / 8) return;
    buffers_short_ = false;
    std::vector<tcp::Connection*> blocked;  // not called inside the walk: callbacks may open flows
    flows_.for_each([&](const FourTuple&, Flow* f) {
        if (f->conn().state() != tcp::State::Closed && f->conn().write_blocked()) blocked.push_back(&f->conn());
    });
    for (tcp::Connection* c : blocked) {
        if (app_ != nullptr) app_->on_writable(*this, *c);
        rearm(flow_of(c));
    }
    if (!blocked.empty()) transmit();
}

void Engine::flush(Instant now) {
    assert_owner();
    now_ = now;
    transmit();
    reap();
}

void Engine::handle_frame(const RxFrame& f) {
    auto eth = wire::EthernetView::checked(wire::Bytes(f.data, f.len));
    if (!eth) {
        ++counters_.rx_bad_ethernet;
        rx_free_.push_back(f.handle);
        return;
    }
    switch (eth->ethertype()) {
        case wire::kEtherTypeArp:
            handle_arp(f, eth->header_len());
            return;
        case wire::kEtherTypeIpv4:
            handle_ipv4(f, eth->header_len(), eth->src(), ip::is_group_mac(eth->dst()));
            return;
        default:
            ++counters_.rx_not_ipv4;
            rx_free_.push_back(f.handle);
            return;
    }
}

TxFrame* Engine::next_tx() {
    if (tx_count_ == tx_.size()) {
        port_.tx_burst(tx_.data(), tx_count_);
        tx_count_ = 0;
    }
    TxFrame& t = tx_[tx_count_++];
    t = TxFrame{};
    return &t;
}

void Engine::handle_arp(const RxFrame& f, std::size_t l2_len) {
    ++counters_.arp_in;
    std::array<std::uint8_t, ip::kArpFrameLen> reply{};
    auto r = arp_.receive(wire::Bytes(f.data + l2_len, f.len - l2_len), now_, neigh_, wire::MutBytes(reply));
    rx_free_.push_back(f.handle);
    if (!r) {
        ++counters_.arp_bad;
        return;
    }
    // A replica (another lcore's queue got the original) only teaches us the sender.
    if (r->frame_len > 0 && !(f.flags & kRxReplica)) {
        TxFrame* t = next_tx();
        std::memcpy(t->hdr.data(), reply.data(), r->frame_len);
        t->hdr_len = static_cast<std::uint16_t>(r->frame_len);
        if (r->sent == ip::ArpSent::Reply) ++counters_.arp_replies_sent;
    }
    send_released(r->released, r->release_mac);
}

void Engine::send_released(std::span<const ip::PacketHandle> frames, MacAddr mac) {
    // Frames held for this neighbour were built with a zero destination MAC.
    for (ip::PacketHandle h : frames) {
        Held* held = static_cast<Held*>(h);
        TxFrame* t = next_tx();
        t->raw = held->raw;
        t->raw_data = held->data;
        t->raw_len = held->len;
        std::memcpy(t->raw_data, mac.bytes().data(), 6);
        free_held_.push_back(held);
    }
}

void Engine::handle_ipv4(const RxFrame& f, std::size_t l2_len, MacAddr src_mac, bool link_broadcast) {
    ip::RxMeta meta;
    meta.ip_checksum = (f.flags & kRxIpCsumGood)  ? ip::RxChecksum::Good
                       : (f.flags & kRxIpCsumBad) ? ip::RxChecksum::Bad
                                                  : ip::RxChecksum::Unknown;
    meta.link_broadcast = link_broadcast;
    auto pkt = ipv4_in_.receive(wire::Bytes(f.data + l2_len, f.len - l2_len), meta);
    if (!pkt) {
        switch (pkt.error()) {
            case ip::Ipv4Drop::BadChecksum: ++counters_.rx_bad_ip_checksum; break;
            case ip::Ipv4Drop::NotForUs: ++counters_.rx_not_for_us; break;
            case ip::Ipv4Drop::BadSource:
            case ip::Ipv4Drop::LinkBroadcast:
            case ip::Ipv4Drop::BadOptions:
            case ip::Ipv4Drop::SourceRoute:
            case ip::Ipv4Drop::BroadcastTcp: ++counters_.rx_link_broadcast; break;
            default: ++counters_.rx_bad_ipv4; break;
        }
        rx_free_.push_back(f.handle);
        return;
    }
    switch (pkt->kind) {
        case ip::Ipv4Kind::Tcp: {
            auto* l4 = const_cast<std::uint8_t*>(pkt->payload().data());
            handle_tcp(f, pkt->ip.src(), pkt->ip.dst(), l4, static_cast<std::uint32_t>(pkt->payload().size()), src_mac);
            return;
        }
        case ip::Ipv4Kind::Icmp:
            handle_icmp(f, l2_len, *pkt, src_mac);
            return;
        case ip::Ipv4Kind::Fragment:
            ++counters_.rx_fragments;
            break;
        case ip::Ipv4Kind::Other:
            ++counters_.rx_other_protocol;
            break;
    }
    rx_free_.push_back(f.handle);
}

void Engine::handle_icmp(const RxFrame& f, std::size_t l2_len, const ip::Ipv4Packet& pkt, MacAddr src_mac) {
    std::uint8_t* l3 = f.data + l2_len;
    // Software header checksum: a raw frame goes out as it is, without offload flags.
    auto r = icmp_.receive(pkt, wire::MutBytes(l3, f.len - l2_len), icmp_out_, ip::TxChecksum::Software);
    if (!r || r->action != ip::IcmpAction::Reply) {
        ++counters_.icmp_other;  // errors about our segments: TCP's own timers handle them
        rx_free_.push_back(f.handle);
        return;
    }
    // The reply datagram starts where the request's options ended: Ethernet goes before it.
    std::uint8_t* frame = r->reply.data() - kEthLen;
    wire::EthernetRepr{src_mac, mac_, wire::kEtherTypeIpv4}.emit(wire::MutBytes(frame, kEthLen));
    send_raw(f.handle, frame, static_cast<std::uint32_t>(kEthLen + r->reply.size()));
    ++counters_.icmp_echo_replies;
}

void Engine::handle_tcp(const RxFrame& f, Ipv4Addr src, Ipv4Addr dst, std::uint8_t* l4, std::uint32_t l4_len,
                        MacAddr src_mac) {
    auto p = tcp::parse_segment(src, dst, wire::Bytes(l4, l4_len), !(f.flags & kRxL4CsumGood));
    if (!p || (f.flags & kRxL4CsumBad)) {
        if (!p) tcp::count_failure(stack_.counters, p.error());
        else ++stack_.counters.drop_bad_checksum;
        ++counters_.rx_bad_tcp;
        rx_free_.push_back(f.handle);
        return;
    }
    const FourTuple& t = p->tuple;
    const std::size_t plen = p->payload.size();
    // The payload stays in the frame's buffer: lib/tcp takes the buffer with it.
    tcp::BufRef buf{};
    if (plen > 0) buf = tcp::BufRef{f.handle, p->payload.data(), static_cast<std::uint32_t>(plen)};
    else rx_free_.push_back(f.handle);
    auto& ctx = stack_.ctx;

    tcp::Listener* listener = nullptr;
    for (const auto& l : listeners_) {
        if (accepting_ && l->port() == t.local_port) listener = l.get();
    }
    if (Flow* fl = flows_.find(t); fl != nullptr) {
        tcp::Connection& c = fl->conn();
        if (c.state() != tcp::State::Closed) {
            // RFC 6191: a new incarnation's SYN ends TIME-WAIT early (the old TCB is reaped
            // at the end of the burst; the tuple maps to the new one from here on).
            if (listener != nullptr && c.state() == tcp::State::TimeWait) {
                if (auto iss = c.end_time_wait_for(ctx, now_, p->hdr)) {
                    auto v = listener->on_segment(ctx, now_, t, p->hdr, plen);
                    if (v.action == tcp::Listener::Action::NewConnection) {
                        if (tcp::Connection* n = new_connection(t)) {
                            n->accept_syn(ctx, now_, p->hdr, listener, iss);
                            rearm(flow_of(n));
                        }
                    }
                    stack_.bufs.drop_handle(buf.handle);
                    return;
                }
            }
            c.on_segment(ctx, now_, p->hdr, buf);
            if (touched_.size() < touched_.capacity()) {
                touched_.push_back(&c);
            } else {
                c.flush_ack(ctx, now_);
                rearm(*fl);
            }
            return;
        }
    }
    if (listener != nullptr) {
        auto v = listener->on_segment(ctx, now_, t, p->hdr, plen);
        if (v.action != tcp::Listener::Action::NewConnection && v.action != tcp::Listener::Action::CookieConnection) {
            stack_.bufs.drop_handle(buf.handle);
            return;
        }
        // Glean the peer's MAC from a connection's first segment when ARP has not told us
        // (a peer that answered from a cache we never asked, a replayed capture): an entry
        // only if none exists, so ARP's own evidence is never overridden.
        if (ifc_.is_on_link_host(src) && !neigh_.lookup(src, now_)) {
            (void)neigh_.update(src, src_mac, now_, ip::Learned::AddressedToUs);
        }
        tcp::Connection* n = new_connection(t);
        if (n == nullptr) {
            stack_.bufs.drop_handle(buf.handle);
            return;
        }
        if (v.action == tcp::Listener::Action::NewConnection) {
            n->accept_syn(ctx, now_, p->hdr, listener);
            stack_.bufs.drop_handle(buf.handle);
        } else {
            n->accept_cookie(ctx, now_, p->hdr, buf, v.cookie, listener);  // the payload went with it
        }
        rearm(flow_of(n));
        return;
    }
    tcp::reply_closed(ctx, t, p->hdr, plen);  // no connection, no listener: CLOSED
    stack_.bufs.drop_handle(buf.handle);
}

void Engine::dispatch_events() {
    // Callbacks may produce more events; each is delivered once, in order.
    while (events_seen_ < stack_.out.events().size()) {
        const tcp::Event e = stack_.out.events()[events_seen_++];
        if (e.kind == tcp::EventKind::AcceptReady) {
            for (const auto& l : listeners_) {
                while (tcp::Connection* c = l->accept()) {
                    if (app_ != nullptr) app_->on_accept(*this, *c);
                    rearm(flow_of(c));
                }
            }
            continue;
        }
        if (app_ != nullptr) {
            switch (e.kind) {
                case tcp::EventKind::AcceptReady: break;
                case tcp::EventKind::Connected: app_->on_connected(*this, *e.conn); break;
                case tcp::EventKind::Readable: app_->on_readable(*this, *e.conn); break;
                case tcp::EventKind::Writable: app_->on_writable(*this, *e.conn); break;
                case tcp::EventKind::PeerClosed: app_->on_peer_closed(*this, *e.conn); break;
                case tcp::EventKind::Error: app_->on_error(*this, *e.conn, e.error); break;
                case tcp::EventKind::Closed: app_->on_closed(*this, *e.conn); break;
            }
        }
        if (e.kind == tcp::EventKind::Closed) closed_.push_back(e.conn);
        else rearm(flow_of(e.conn));  // the callback may have sent, read or closed
    }
}

void Engine::run_timers() {
    flush_rearms();  // deadlines moved outside a poll (connect(), touch()) are in the wheel first
    wheel_.advance(now_, [&](TimerEntry& entry) {
        Flow& f = static_cast<Flow&>(entry);
        tcp::Connection& c = f.conn();
        // The wheel fires at the tick boundary at or after the deadline.
        if (c.state() != tcp::State::Closed && c.next_deadline() <= now_) c.on_deadline(stack_.ctx, now_);
        rearm(f);
    });
    dispatch_events();
}

void Engine::run_neighbour_timers() {
    auto t = neigh_.next_deadline();
    if (!t || *t > now_) return;
    auto d = neigh_.on_deadline(now_);
    for (const ip::ArpRequest& q : d.requests) send_arp_request(q);
    counters_.tx_no_neighbour += d.dropped.size();
    drop_held(d.dropped);
}

void Engine::drop_held(std::span<const ip::PacketHandle> frames) {
    for (ip::PacketHandle h : frames) {
        Held* held = static_cast<Held*>(h);
        port_.free_rx(&held->raw, 1);
        free_held_.push_back(held);
    }
}

void Engine::send_arp_request(const ip::ArpRequest& r) {
    TxFrame* t = next_tx();
    auto n = ip::build_arp_request(ifc_, r, wire::MutBytes(t->hdr.data(), t->hdr.size()));
    t->hdr_len = static_cast<std::uint16_t>(n ? *n : 0);
    ++counters_.arp_requests_sent;
}

void Engine::announce() {
    TxFrame* t = next_tx();
    auto n = ip::build_arp_announcement(ifc_, wire::MutBytes(t->hdr.data(), t->hdr.size()));
    t->hdr_len = static_cast<std::uint16_t>(n ? *n : 0);
    ++counters_.arp_announcements;
    --announcements_left_;
    next_announcement_ = now_ + ip::kAnnounceInterval;
}

void Engine::send_raw(void* handle, std::uint8_t* data, std::uint32_t len) {
    TxFrame* t = next_tx();
    t->raw = handle;
    t->raw_data = data;
    t->raw_len = len;
}

void Engine::send_segment(const tcp::OutSegment& s) {
    auto route = router_.route(s.tuple.remote_addr);
    if (!route) {
        ++counters_.tx_no_route;
        return;
    }
    auto r = neigh_.resolve(route->next_hop, nullptr, now_);
    if (r.request) send_arp_request(*r.request);
    if (r.status == ip::ResolveStatus::Dropped) {
        ++counters_.tx_no_neighbour;
        return;
    }
    TxFrame* t = next_tx();
    std::uint8_t* h = t->hdr.data();
    const MacAddr dst = r.status == ip::ResolveStatus::Ready ? r.mac : MacAddr{};
    wire::EthernetRepr{dst, mac_, wire::kEtherTypeIpv4}.emit(wire::MutBytes(h, kEthLen));
    const std::size_t tcp_len = s.hdr.header_len();
    const std::uint16_t mss = s.conn != nullptr ? s.conn->snd_mss() : 0;
    const bool tso = mss > 0 && s.len > mss;  // only when ctx.tso_max let lib/tcp build one
    if (tso && r.status != ip::ResolveStatus::Ready) {
        --tx_count_;  // not held (a raw frame gets no offload): TCP resends once ARP answers
        ++counters_.tx_no_neighbour;
        return;
    }
    wire::Ipv4Repr ip;
    ip.src = s.tuple.local_addr;
    ip.dst = s.tuple.remote_addr;
    ip.ident = ip_ident_++;
    ip.payload_len = static_cast<std::uint16_t>(tcp_len + s.len);
    ip.emit(wire::MutBytes(h + kEthLen, kIpLen));
    std::uint8_t* th = h + kEthLen + kIpLen;
    (void)s.hdr.emit_header(wire::MutBytes(th, tcp_len));
    // TSO: the port fills in each wire segment's length, so the pseudo-header sum leaves it out.
    const std::uint32_t pseudo = wire::ipv4_pseudo_header_sum(
        ip.src, ip.dst, wire::kIpProtoTcp, tso ? std::uint16_t{0} : static_cast<std::uint16_t>(tcp_len + s.len));
    // A held frame is copied into one buffer and sent later as it is: it gets a software sum.
    const bool offload = caps_.tx_l4_csum && r.status == ip::ResolveStatus::Ready;
    if (offload) {
        // DPDK's TCP checksum offload wants the pseudo-header sum in the field.
        store_be16(&th[16], wire::checksum_fold(pseudo));
    } else {
        store_be16(&th[16], 0);
        std::uint32_t sum = wire::checksum_partial(wire::Bytes(th, tcp_len), pseudo);
        sum = sum_pieces(s.pos, s.len, sum);
        store_be16(&th[16], static_cast<std::uint16_t>(~wire::checksum_fold(sum)));
    }
    t->l4_csum_offload = offload;
    if (tso) {
        t->tso_segsz = mss;
        t->l4_len = static_cast<std::uint8_t>(tcp_len);
        t->ip_csum_offload = true;
        store_be16(&h[kEthLen + 10], 0);  // each wire segment's header is summed by the port
    }
    t->hdr_len = static_cast<std::uint16_t>(kEthLen + kIpLen + tcp_len);
    t->l3_offset = kEthLen;
    t->pieces = s.pos;
    t->len = s.len;
    if (r.status == ip::ResolveStatus::Ready) return;

    // The next hop is being resolved: hold a copy of the frame on its entry.
    --tx_count_;
    if (free_held_.empty() || !port_.materialize(*t)) {
        ++counters_.tx_no_buffer;
        return;
    }
    Held* held = free_held_.back();
    *held = Held{t->raw, t->raw_data, t->raw_len};
    auto q = neigh_.resolve(route->next_hop, held, now_);
    if (q.request) send_arp_request(*q.request);
    if (q.status == ip::ResolveStatus::Queued) {
        free_held_.pop_back();
        ++counters_.tx_arp_queued;
    } else {
        // QueueFull or TableFull; a Ready answer cannot come within one call.
        ++counters_.tx_no_neighbour;
        port_.free_rx(&held->raw, 1);
    }
}

void Engine::transmit() {
    dispatch_events();
    for (const tcp::OutSegment& s : stack_.out.segments()) {
        send_segment(s);
        // Sending moved the sender's retransmission or delayed-ACK deadline.
        if (s.conn != nullptr) rearm(flow_of(s.conn));
    }
    flush_rearms();
    if (tx_count_ > 0) {
        port_.tx_burst(tx_.data(), tx_count_);
        tx_count_ = 0;
    }
    stack_.done_with_output();
    events_seen_ = 0;
}

void Engine::reap() {
    for (tcp::Connection* c : closed_) {
        Flow& f = flow_of(c);
        if (!f.live) continue;
        if (flows_.find(c->tuple()) == &f) unmap_flow(c->tuple());
        std::erase(touched_, c);
        if (f.armed()) wheel_.cancel(f);
        --states_[static_cast<std::size_t>(f.counted)];
        f.counted = tcp::State::Closed;
        f.info.state.store(static_cast<std::uint8_t>(tcp::State::Closed), std::memory_order_relaxed);
        c->release_buffers(stack_.ctx);
        c->~Connection();
        f.live = false;
        ++counters_.connections_closed;
        // The slot comes back through reclaim(), once no reader can hold it.
    }
    closed_.clear();
}

void Engine::recycle_time_wait() {
    // RFC 9293 §3.10.8 lets TIME-WAIT end early only by timeout; a server that does the
    // active close on many short connections would otherwise fill its pool with TIME-WAIT
    // and drop new SYNs. Linux drops TIME-WAIT beyond tcp_max_tw_buckets; we end the oldest
    // ones while free slots are short (an old duplicate can then reach a new incarnation,
    // which PAWS and the ISN's clock guard against, as for Linux's recycled buckets).
    // Slots of connections ended here come back at a later reclaim(): count them as coming.
    std::size_t ended = 0;
    const std::size_t never_used = cfg_.max_connections - slots_made_;
    while (free_slots_.size() + never_used + ended < time_wait_low_ && time_wait_size_ != 0) {
        const TimeWaitEntry e = time_wait_[time_wait_head_];
        time_wait_head_ = (time_wait_head_ + 1) % time_wait_cap_;
        --time_wait_size_;
        Flow& f = slots_.get()[e.slot];
        if (!f.live || f.incarnation != e.incarnation || f.counted != tcp::State::TimeWait) continue;
        f.conn().abort(stack_.ctx, now_);  // TIME-WAIT: the TCB goes, nothing is sent
        ++counters_.time_wait_recycled;
        ++ended;
    }
    if (ended != 0) {
        transmit();  // delivers the Closed events (onto closed_) and clears the output
        reap();
    }
}

void Engine::reclaim() {
    flows_.reclaim([&](Flow* f) { free_slots_.push_back(static_cast<std::uint32_t>(f - slots_.get())); });
}

void Engine::publish() {
    last_publish_ = now_;
    publish_counters(published_.engine, counters_);
    publish_counters(published_.tcp, stack_.counters);
    publish_counters(published_.port, port_.stats());
    for (std::size_t i = 0; i < states_.size(); ++i) published_.states[i].store(states_[i], std::memory_order_relaxed);
    publish_drops(published_.ipv4_drops, ipv4_in_.counters().drops);
    publish_drops(published_.arp_drops, arp_.counters().drops);
    publish_drops(published_.icmp_drops, icmp_.counters().drops);
    publish_drops(published_.neighbour_drops, neigh_.counters().drops);
    published_.connections.store(flows_.size(), std::memory_order_relaxed);
    published_.at_ns.store(now_.nanos(), std::memory_order_relaxed);
}

void Engine::shutdown(Instant now) {
    now_ = now;
    for (const auto& l : listeners_) {
        while (tcp::Connection* c = l->accept()) c->abort(stack_.ctx, now_);
    }
    accepting_ = false;  // the listeners stay: half-open connections point at them
    flows_.for_each([&](const FourTuple&, Flow* f) {
        tcp::Connection& c = f->conn();
        if (c.state() != tcp::State::Closed) (void)c.close(stack_.ctx, now_);
    });
    transmit();
    reap();
}

void Engine::abort_all(Instant now) {
    now_ = now;
    flows_.for_each([&](const FourTuple&, Flow* f) {
        tcp::Connection& c = f->conn();
        if (c.state() != tcp::State::Closed) c.abort(stack_.ctx, now_);
    });
    transmit();
    reap();
    drop_held(neigh_.flush());
    publish();
}

}  // namespace ustcp::engine
