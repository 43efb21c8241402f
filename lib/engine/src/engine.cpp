#include "ustcp/engine/engine.hpp"

#include <algorithm>
#include <cstring>

#include "ustcp/base/endian.hpp"
#include "ustcp/tcp/segment.hpp"
#include "ustcp/wire/arp.hpp"
#include "ustcp/wire/checksum.hpp"
#include "ustcp/wire/ethernet.hpp"
#include "ustcp/wire/icmp.hpp"
#include "ustcp/wire/ipv4.hpp"
#include "ustcp/wire/tcp.hpp"

namespace ustcp::engine {

namespace {

constexpr std::size_t kEthLen = wire::kEthHeaderLen;
constexpr std::size_t kIpLen = wire::kIpv4MinHeaderLen;
constexpr Duration kArpRetry = Duration::seconds(1);

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

}  // namespace

Engine::Engine(const EngineConfig& cfg, Port& port, const tcp::SipKey& isn_key, const tcp::SipKey& cookie_key)
    : cfg_(cfg),
      port_(port),
      stack_(cfg.tcp, isn_key, cookie_key, port.buffer_ops(), cfg.buffer_nodes),
      mac_(port.mac()),
      caps_(port.caps()),
      slots_(cfg.max_connections) {
    free_slots_.reserve(cfg.max_connections);
    for (std::uint32_t i = cfg.max_connections; i-- > 0;) free_slots_.push_back(i);
    flows_.reserve(cfg.max_connections);
    rx_.resize(cfg.burst);
    tx_.resize(std::max<std::size_t>(2u * cfg.burst, tcp::Outbox::kMaxSegments + cfg.burst));
    rx_free_.reserve(cfg.burst);
    touched_.reserve(cfg.burst);
    stack_.ctx.defer_acks = true;
}

Engine::~Engine() {
    for (Slot& s : slots_) {
        if (!s.live) continue;
        s.conn().release_buffers(stack_.ctx);
        s.conn().~Connection();
        s.live = false;
    }
    stack_.done_with_output();
}

Result<void, tcp::Error> Engine::listen(std::uint16_t port) {
    for (const auto& l : listeners_) {
        if (l->port() == port) return Err(tcp::Error::InvalidState);
    }
    listeners_.push_back(std::make_unique<tcp::Listener>(cfg_.addr, port, cfg_.accept_backlog, cfg_.syn_backlog));
    return {};
}

Result<tcp::Connection*, tcp::Error> Engine::connect(Ipv4Addr remote, std::uint16_t port) {
    for (int tries = 0; tries < 28232; ++tries) {
        const std::uint16_t p = next_ephemeral_;
        next_ephemeral_ = next_ephemeral_ == 60999 ? 32768 : static_cast<std::uint16_t>(next_ephemeral_ + 1);
        const FourTuple t{cfg_.addr, remote, p, port};
        if (flows_.count(t) != 0) continue;
        tcp::Connection* c = new_connection(t);
        if (c == nullptr) return Err(tcp::Error::NotConnected);
        if (auto r = c->connect(stack_.ctx, now_); !r) return Err(r.error());
        return c;
    }
    return Err(tcp::Error::NotConnected);
}

tcp::Connection* Engine::new_connection(const FourTuple& t) {
    if (free_slots_.empty()) {
        ++counters_.conn_pool_exhausted;
        return nullptr;
    }
    const std::uint32_t i = free_slots_.back();
    free_slots_.pop_back();
    auto* c = new (slots_[i].storage) tcp::Connection(t);
    slots_[i].live = true;
    flows_[t] = i;  // a closed TCB of the same tuple, not yet reaped, stays in its slot
    ++counters_.connections_opened;
    return c;
}

std::uint16_t Engine::poll(Instant now) {
    now_ = now;
    const std::uint16_t n = port_.rx_burst(rx_.data(), cfg_.burst);
    touched_.clear();
    for (std::uint16_t i = 0; i < n; ++i) {
        ++counters_.rx_frames;
        handle_frame(rx_[i]);
        // Keep the outbox from filling mid-burst: a full one makes lib/tcp hold data back.
        if (stack_.out.segments().size() + cfg_.burst >= tcp::Outbox::kMaxSegments) transmit();
    }
    if (!rx_free_.empty()) {
        port_.free_rx(rx_free_.data(), static_cast<std::uint16_t>(rx_free_.size()));
        rx_free_.clear();
    }
    dispatch_events();
    // One ACK per connection per burst, unless data or a FIN the application sent carried it.
    for (tcp::Connection* c : touched_) c->flush_ack(stack_.ctx, now_);
    run_timers();
    transmit();
    reap();
    return n;
}

void Engine::flush(Instant now) {
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
            handle_ipv4(f, eth->header_len(), eth->src());
            return;
        default:
            ++counters_.rx_not_ipv4;
            rx_free_.push_back(f.handle);
            return;
    }
}

void Engine::handle_arp(const RxFrame& f, std::size_t l2_len) {
    ++counters_.arp_in;
    auto arp = wire::ArpView::checked(wire::Bytes(f.data + l2_len, f.len - l2_len));
    rx_free_.push_back(f.handle);
    if (!arp || arp->target_ip() != cfg_.addr) return;
    // RFC 826: "If the pair <protocol type, sender protocol address> is already in my
    // translation table, update the sender hardware address ... if I am the target,
    // merge it if not there"; then answer a request.
    learn(arp->sender_ip(), arp->sender_mac());
    if (arp->op() != wire::kArpOpRequest || tx_count_ == tx_.size()) return;
    TxFrame& t = tx_[tx_count_++];
    t = TxFrame{};
    wire::EthernetRepr{arp->sender_mac(), mac_, wire::kEtherTypeArp}.emit(wire::MutBytes(t.hdr.data(), kEthLen));
    wire::ArpRepr{wire::kArpOpReply, mac_, cfg_.addr, arp->sender_mac(), arp->sender_ip()}.emit(
        wire::MutBytes(t.hdr.data() + kEthLen, wire::kArpIpv4Len));
    t.hdr_len = static_cast<std::uint16_t>(kEthLen + wire::kArpIpv4Len);
    ++counters_.arp_replies_sent;
}

void Engine::handle_ipv4(const RxFrame& f, std::size_t l2_len, MacAddr src_mac) {
    std::uint8_t* l3 = f.data + l2_len;
    auto ip = wire::Ipv4View::checked(wire::Bytes(l3, f.len - l2_len));
    if (!ip) {
        ++counters_.rx_bad_ipv4;
        rx_free_.push_back(f.handle);
        return;
    }
    if (!(f.flags & kRxIpCsumGood) &&
        ((f.flags & kRxIpCsumBad) || wire::internet_checksum(wire::Bytes(l3, ip->header_len())) != 0)) {
        ++counters_.rx_bad_ip_checksum;
        rx_free_.push_back(f.handle);
        return;
    }
    if (ip->dst() != cfg_.addr) {
        ++counters_.rx_not_for_us;
        rx_free_.push_back(f.handle);
        return;
    }
    if (ip->is_fragment()) {
        ++counters_.rx_fragments;
        rx_free_.push_back(f.handle);
        return;
    }
    // The sender answered from this MAC: a usable next hop for the reply (and for an
    // on-link peer, its own address).
    if (neighbours_.find(ip->src().value()) == neighbours_.end()) learn(ip->src(), src_mac);
    std::uint8_t* l4 = l3 + ip->header_len();
    const auto l4_len = static_cast<std::uint32_t>(ip->total_length() - ip->header_len());
    switch (ip->protocol()) {
        case wire::kIpProtoTcp:
            handle_tcp(f, ip->src(), ip->dst(), l4, l4_len);
            return;
        case wire::kIpProtoIcmp: {
            auto icmp = wire::IcmpView::checked(wire::Bytes(l4, l4_len));
            if (!icmp || icmp->type() != wire::kIcmpEchoRequest ||
                wire::internet_checksum(wire::Bytes(l4, l4_len)) != 0 || tx_count_ == tx_.size()) {
                ++counters_.icmp_other;
                rx_free_.push_back(f.handle);
                return;
            }
            // Echo reply in place (RFC 792): type 0, addresses and MACs swapped, checksum updated.
            const std::uint16_t old_word = load_be16(l4);
            l4[0] = wire::kIcmpEchoReply;
            store_be16(&l4[2], wire::checksum_update16(load_be16(&l4[2]), old_word, load_be16(l4)));
            const Ipv4Addr src = ip->src();
            store_be32(&l3[12], cfg_.addr.value());
            store_be32(&l3[16], src.value());
            l3[8] = 64;
            store_be16(&l3[10], 0);
            store_be16(&l3[10], wire::internet_checksum(wire::Bytes(l3, ip->header_len())));
            std::memcpy(f.data, src_mac.bytes().data(), 6);
            std::memcpy(f.data + 6, mac_.bytes().data(), 6);
            send_raw(f.handle, f.data, static_cast<std::uint32_t>(l2_len + ip->total_length()));
            ++counters_.icmp_echo_replies;
            return;
        }
        default:
            ++counters_.rx_other_protocol;
            rx_free_.push_back(f.handle);
            return;
    }
}

void Engine::handle_tcp(const RxFrame& f, Ipv4Addr src, Ipv4Addr dst, std::uint8_t* l4, std::uint32_t l4_len) {
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
    if (auto it = flows_.find(t); it != flows_.end()) {
        tcp::Connection& c = slots_[it->second].conn();
        if (c.state() != tcp::State::Closed) {
            // RFC 6191: a new incarnation's SYN ends TIME-WAIT early (the old TCB is reaped
            // at the end of the burst; the tuple maps to the new one from here on).
            if (listener != nullptr && c.state() == tcp::State::TimeWait) {
                if (auto iss = c.end_time_wait_for(ctx, now_, p->hdr)) {
                    auto v = listener->on_segment(ctx, now_, t, p->hdr, plen);
                    if (v.action == tcp::Listener::Action::NewConnection) {
                        if (tcp::Connection* n = new_connection(t)) n->accept_syn(ctx, now_, p->hdr, listener, iss);
                    }
                    stack_.bufs.drop_handle(buf.handle);
                    return;
                }
            }
            c.on_segment(ctx, now_, p->hdr, buf);
            if (touched_.size() < touched_.capacity()) touched_.push_back(&c);
            else c.flush_ack(ctx, now_);
            return;
        }
    }
    if (listener != nullptr) {
        auto v = listener->on_segment(ctx, now_, t, p->hdr, plen);
        if (v.action == tcp::Listener::Action::NewConnection) {
            if (tcp::Connection* n = new_connection(t)) n->accept_syn(ctx, now_, p->hdr, listener);
        } else if (v.action == tcp::Listener::Action::CookieConnection) {
            if (tcp::Connection* n = new_connection(t)) {
                n->accept_cookie(ctx, now_, p->hdr, buf, v.cookie, listener);
                return;  // the payload went with it
            }
        }
        stack_.bufs.drop_handle(buf.handle);
        return;
    }
    tcp::reply_closed(ctx, t, p->hdr, plen);  // no connection, no listener: CLOSED
    stack_.bufs.drop_handle(buf.handle);
}

void Engine::dispatch_events() {
    // Callbacks may produce more events; each is delivered once, in order.
    while (events_seen_ < stack_.out.events().size()) {
        const tcp::Event e = stack_.out.events()[events_seen_++];
        if (app_ == nullptr && e.kind != tcp::EventKind::Closed) continue;
        switch (e.kind) {
            case tcp::EventKind::AcceptReady:
                for (const auto& l : listeners_) {
                    while (tcp::Connection* c = l->accept()) {
                        if (app_ != nullptr) app_->on_accept(*this, *c);
                    }
                }
                break;
            case tcp::EventKind::Connected:
                app_->on_connected(*this, *e.conn);
                break;
            case tcp::EventKind::Readable:
                app_->on_readable(*this, *e.conn);
                break;
            case tcp::EventKind::Writable:
                app_->on_writable(*this, *e.conn);
                break;
            case tcp::EventKind::PeerClosed:
                app_->on_peer_closed(*this, *e.conn);
                break;
            case tcp::EventKind::Error:
                app_->on_error(*this, *e.conn, e.error);
                break;
            case tcp::EventKind::Closed:
                if (app_ != nullptr) app_->on_closed(*this, *e.conn);
                closed_.push_back(e.conn);
                break;
        }
    }
}

void Engine::run_timers() {
    // One deadline per connection (lib/tcp's next_deadline()). A timer wheel replaces this
    // scan (issue 6 notes); with the connection counts of the interop tests it is cheap.
    for (auto& [t, i] : flows_) {
        tcp::Connection& c = slots_[i].conn();
        if (c.state() != tcp::State::Closed && c.next_deadline() <= now_) c.on_deadline(stack_.ctx, now_);
    }
    dispatch_events();
}

void Engine::learn(Ipv4Addr ip, MacAddr mac) {
    neighbours_[ip.value()] = mac;
    arp_pending_.erase(ip.value());
}

Ipv4Addr Engine::next_hop(Ipv4Addr dst) const noexcept {
    const std::uint32_t mask = cfg_.prefix_len == 0 ? 0 : ~std::uint32_t{0} << (32 - cfg_.prefix_len);
    if ((dst.value() & mask) == (cfg_.addr.value() & mask) || !cfg_.gateway) return dst;
    return *cfg_.gateway;
}

void Engine::request_arp(Ipv4Addr ip) {
    auto [it, fresh] = arp_pending_.try_emplace(ip.value(), now_);
    if (!fresh && now_ - it->second < kArpRetry) return;
    it->second = now_;
    if (tx_count_ == tx_.size()) return;
    TxFrame& t = tx_[tx_count_++];
    t = TxFrame{};
    wire::EthernetRepr{MacAddr::broadcast(), mac_, wire::kEtherTypeArp}.emit(wire::MutBytes(t.hdr.data(), kEthLen));
    wire::ArpRepr{wire::kArpOpRequest, mac_, cfg_.addr, MacAddr{}, ip}.emit(
        wire::MutBytes(t.hdr.data() + kEthLen, wire::kArpIpv4Len));
    t.hdr_len = static_cast<std::uint16_t>(kEthLen + wire::kArpIpv4Len);
    ++counters_.arp_requests_sent;
}

void Engine::send_raw(void* handle, std::uint8_t* data, std::uint32_t len) {
    TxFrame& t = tx_[tx_count_++];
    t = TxFrame{};
    t.raw = handle;
    t.raw_data = data;
    t.raw_len = len;
}

void Engine::transmit() {
    dispatch_events();
    for (const tcp::OutSegment& s : stack_.out.segments()) {
        if (tx_count_ == tx_.size()) {
            port_.tx_burst(tx_.data(), tx_count_);
            tx_count_ = 0;
        }
        const Ipv4Addr nh = next_hop(s.tuple.remote_addr);
        auto mac = neighbours_.find(nh.value());
        if (mac == neighbours_.end()) {
            ++counters_.tx_no_neighbour;  // TCP retransmits once ARP has answered
            request_arp(nh);
            continue;
        }
        TxFrame& t = tx_[tx_count_++];
        t.raw = nullptr;
        std::uint8_t* h = t.hdr.data();
        wire::EthernetRepr{mac->second, mac_, wire::kEtherTypeIpv4}.emit(wire::MutBytes(h, kEthLen));
        const std::size_t tcp_len = s.hdr.header_len();
        wire::Ipv4Repr ip;
        ip.src = s.tuple.local_addr;
        ip.dst = s.tuple.remote_addr;
        ip.ident = ip_ident_++;
        ip.payload_len = static_cast<std::uint16_t>(tcp_len + s.len);
        ip.emit(wire::MutBytes(h + kEthLen, kIpLen));
        std::uint8_t* th = h + kEthLen + kIpLen;
        (void)s.hdr.emit_header(wire::MutBytes(th, tcp_len));
        const std::uint32_t pseudo = wire::ipv4_pseudo_header_sum(ip.src, ip.dst, wire::kIpProtoTcp,
                                                                  static_cast<std::uint16_t>(tcp_len + s.len));
        if (caps_.tx_l4_csum) {
            // DPDK's TCP checksum offload wants the pseudo-header sum in the field.
            store_be16(&th[16], wire::checksum_fold(pseudo));
            t.l4_csum_offload = true;
        } else {
            store_be16(&th[16], 0);
            std::uint32_t sum = wire::checksum_partial(wire::Bytes(th, tcp_len), pseudo);
            sum = sum_pieces(s.pos, s.len, sum);
            store_be16(&th[16], static_cast<std::uint16_t>(~wire::checksum_fold(sum)));
            t.l4_csum_offload = false;
        }
        t.ip_csum_offload = false;
        t.hdr_len = static_cast<std::uint16_t>(kEthLen + kIpLen + tcp_len);
        t.l3_offset = kEthLen;
        t.pieces = s.pos;
        t.len = s.len;
    }
    if (tx_count_ > 0) {
        port_.tx_burst(tx_.data(), tx_count_);
        tx_count_ = 0;
    }
    stack_.done_with_output();
    events_seen_ = 0;
}

void Engine::reap() {
    for (tcp::Connection* c : closed_) {
        Slot* slot = reinterpret_cast<Slot*>(c);  // storage is the slot's first member
        const auto i = static_cast<std::uint32_t>(slot - slots_.data());
        if (i >= slots_.size() || !slot->live) continue;
        auto it = flows_.find(c->tuple());
        if (it != flows_.end() && it->second == i) flows_.erase(it);
        std::erase(touched_, c);
        c->release_buffers(stack_.ctx);
        c->~Connection();
        slot->live = false;
        free_slots_.push_back(i);
        ++counters_.connections_closed;
    }
    closed_.clear();
}

void Engine::shutdown(Instant now) {
    now_ = now;
    for (const auto& l : listeners_) {
        while (tcp::Connection* c = l->accept()) c->abort(stack_.ctx, now_);
    }
    accepting_ = false;  // the listeners stay: half-open connections point at them
    for (auto& [t, i] : flows_) {
        tcp::Connection& c = slots_[i].conn();
        if (c.state() != tcp::State::Closed) (void)c.close(stack_.ctx, now_);
    }
    transmit();
    reap();
}

void Engine::abort_all(Instant now) {
    now_ = now;
    for (auto& [t, i] : flows_) {
        tcp::Connection& c = slots_[i].conn();
        if (c.state() != tcp::State::Closed) c.abort(stack_.ctx, now_);
    }
    transmit();
    reap();
}

}  // namespace ustcp::engine
