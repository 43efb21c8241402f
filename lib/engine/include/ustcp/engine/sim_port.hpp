// A Port over heap buffers, for tests and tools: frames are copied into blocks of a
// HeapBuffers pool on RX (as a NIC's DMA would) and gathered into one contiguous
// frame on TX. Two SimPorts joined by link() form a wire; a test can also inject
// frames with deliver() and read what was sent from `sent` when no peer is linked.
// Test code: it allocates per frame.
#pragma once

#include <algorithm>
#include <cstring>
#include <deque>
#include <functional>
#include <vector>

#include "ustcp/base/endian.hpp"
#include "ustcp/engine/port.hpp"
#include "ustcp/wire/checksum.hpp"

namespace ustcp::engine {

class SimPort final : public Port {
public:
    SimPort(MacAddr mac, tcp::HeapBuffers& pool, PortCaps caps = {}) : mac_(mac), pool_(pool), caps_(caps) {}

    /// Frames sent by one port arrive at the other's RX queue.
    static void link(SimPort& a, SimPort& b) noexcept {
        a.peer_ = &b;
        b.peer_ = &a;
    }
    /// A frame arrives on this port's RX queue.
    void deliver(std::vector<std::uint8_t> frame) { inbox_.push_back(std::move(frame)); }
    /// Return true to drop a frame this port sends (it is still counted as sent).
    std::function<bool(const std::vector<std::uint8_t>&)> drop;
    /// Frames sent while no peer is linked.
    std::vector<std::vector<std::uint8_t>> sent;
    [[nodiscard]] std::size_t pending() const noexcept { return inbox_.size(); }

    std::uint16_t rx_burst(RxFrame* out, std::uint16_t max) noexcept override {
        std::uint16_t n = 0;
        while (n < max && !inbox_.empty()) {
            const auto& f = inbox_.front();
            tcp::MutBuf b = pool_.alloc(static_cast<std::uint32_t>(f.size()));
            if (b.handle == nullptr || b.cap < f.size()) break;  // pool empty: the frame waits, as in a ring
            std::memcpy(b.data, f.data(), f.size());
            out[n++] = RxFrame{b.handle, b.data, static_cast<std::uint32_t>(f.size()), rx_flags};
            stats_.rx_frames++;
            stats_.rx_bytes += f.size();
            inbox_.pop_front();
        }
        return n;
    }

    std::uint16_t tx_burst(TxFrame* frames, std::uint16_t n) noexcept override {
        for (std::uint16_t i = 0; i < n; ++i) {
            TxFrame& t = frames[i];
            std::vector<std::uint8_t> f;
            if (t.raw != nullptr) {
                f.assign(t.raw_data, t.raw_data + t.raw_len);
                pool_.free(t.raw);
            } else {
                f.assign(t.hdr.data(), t.hdr.data() + t.hdr_len);
                tcp::for_each_piece(t.pieces, t.len,
                                    [&](const std::uint8_t* d, std::uint32_t k) { f.insert(f.end(), d, d + k); });
            }
            if (t.tso_segsz > 0 && t.len > t.tso_segsz) {
                ++tso_frames;
                segment(t, f);
                continue;
            }
            put(std::move(f));
        }
        return n;
    }

    bool materialize(TxFrame& t) noexcept override {
        if (t.raw != nullptr) return true;
        const std::uint32_t len = t.hdr_len + t.len;
        tcp::MutBuf b = pool_.alloc(len);
        if (b.handle == nullptr || b.cap < len) {
            if (b.handle != nullptr) pool_.free(b.handle);
            stats_.tx_no_buffer++;
            return false;
        }
        std::memcpy(b.data, t.hdr.data(), t.hdr_len);
        std::uint32_t at = t.hdr_len;
        tcp::for_each_piece(t.pieces, t.len, [&](const std::uint8_t* d, std::uint32_t k) {
            std::memcpy(b.data + at, d, k);
            at += k;
        });
        t.raw = b.handle;
        t.raw_data = b.data;
        t.raw_len = len;
        return true;
    }

    void put(std::vector<std::uint8_t> f) {
        if (f.size() < 60) f.resize(60, 0);  // Ethernet minimum, as a NIC pads
        stats_.tx_frames++;
        stats_.tx_bytes += f.size();
        largest_frame = std::max(largest_frame, f.size());
        if (drop && drop(f)) return;
        if (peer_ != nullptr) peer_->deliver(std::move(f));
        else sent.push_back(std::move(f));
    }

    /// TSO as a NIC does it: the payload cut at tso_segsz, each piece with the headers
    /// copied, the sequence number advanced, IPv4 length/ID/checksum and the TCP checksum
    /// recomputed, FIN and PSH only on the last.
    void segment(const TxFrame& t, const std::vector<std::uint8_t>& f) {
        const std::size_t l3 = t.l3_offset;
        const std::size_t l4 = l3 + 20;
        const std::size_t hdr = l4 + t.l4_len;
        const std::uint32_t seq0 = load_be32(&f[l4 + 4]);
        const std::uint16_t id0 = load_be16(&f[l3 + 4]);
        std::uint16_t k = 0;
        for (std::size_t off = 0; off < t.len; off += t.tso_segsz, ++k) {
            const std::size_t n = std::min<std::size_t>(t.tso_segsz, t.len - off);
            std::vector<std::uint8_t> g(f.begin(), f.begin() + static_cast<std::ptrdiff_t>(hdr));
            g.insert(g.end(), f.begin() + static_cast<std::ptrdiff_t>(hdr + off),
                     f.begin() + static_cast<std::ptrdiff_t>(hdr + off + n));
            store_be16(&g[l3 + 2], static_cast<std::uint16_t>(20 + t.l4_len + n));
            store_be16(&g[l3 + 4], static_cast<std::uint16_t>(id0 + k));
            store_be16(&g[l3 + 10], 0);
            store_be16(&g[l3 + 10], wire::internet_checksum(wire::Bytes(&g[l3], 20)));
            store_be32(&g[l4 + 4], seq0 + static_cast<std::uint32_t>(off));
            if (off + n < t.len) g[l4 + 13] &= static_cast<std::uint8_t>(~0x09u);  // FIN, PSH: last only
            const auto tcp_len = static_cast<std::uint16_t>(t.l4_len + n);
            store_be16(&g[l4 + 16], 0);
            std::uint32_t sum = wire::ipv4_pseudo_header_sum(Ipv4Addr(load_be32(&g[l3 + 12])),
                                                             Ipv4Addr(load_be32(&g[l3 + 16])), 6, tcp_len);
            sum = wire::checksum_partial(wire::Bytes(&g[l4], tcp_len), sum);
            store_be16(&g[l4 + 16], static_cast<std::uint16_t>(~wire::checksum_fold(sum)));
            put(std::move(g));
        }
    }

    void free_rx(void* const* handles, std::uint16_t n) noexcept override {
        for (std::uint16_t i = 0; i < n; ++i) pool_.free(handles[i]);
    }
    tcp::BufferOps buffer_ops() noexcept override { return pool_.ops(); }
    [[nodiscard]] bool owns(const FourTuple& t) const noexcept override { return !owns_flow || owns_flow(t); }
    [[nodiscard]] MacAddr mac() const noexcept override { return mac_; }
    [[nodiscard]] PortCaps caps() const noexcept override { return caps_; }
    [[nodiscard]] const PortStats& stats() const noexcept override { return stats_; }

    std::uint32_t rx_flags = 0;  ///< what this "NIC" claims to have checked (RxFlags)
    std::size_t tso_frames = 0;     ///< frames the engine handed over for segmentation
    std::size_t largest_frame = 0;  ///< the longest frame put on the wire
    /// Which flows arrive at this queue (as RSS would decide); unset: all.
    std::function<bool(const FourTuple&)> owns_flow;

private:
    MacAddr mac_;
    tcp::HeapBuffers& pool_;
    PortCaps caps_;
    PortStats stats_;
    SimPort* peer_ = nullptr;
    std::deque<std::vector<std::uint8_t>> inbox_;
};

}  // namespace ustcp::engine
