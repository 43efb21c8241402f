#include "ustcp/sim/fault_port.hpp"

#include <cstring>

#include "ustcp/engine/engine.hpp"

namespace ustcp::sim {

FaultPort::FaultPort(engine::Port& inner, const PortFaults& faults, Clock clock)
    : inner_(inner), clock_(std::move(clock)) {
    if (faults.rx && faults.rx->active()) rx_.emplace(*faults.rx);
    if (faults.tx && faults.tx->active()) tx_.emplace(*faults.tx);
}

FaultPort::~FaultPort() {
    rx_line_.drain([&](engine::RxFrame&& f) { inner_.free_rx(&f.handle, 1); });
    for (auto& f : rx_ready_) inner_.free_rx(&f.handle, 1);
    tx_line_.drain([&](engine::TxFrame&& f) { inner_.free_rx(&f.raw, 1); });
}

engine::PortCaps FaultPort::caps() const noexcept {
    engine::PortCaps c = inner_.caps();
    if (tx_) {
        // Faults apply per wire frame, and a frame built here or flipped needs its sums in software.
        c.tx_tso = false;
        c.tx_l4_csum = false;
        c.tx_ip_csum = false;
    }
    return c;
}

const FaultCounters& FaultPort::rx_counters() const noexcept { return rx_ ? rx_->counters() : none_; }
const FaultCounters& FaultPort::tx_counters() const noexcept { return tx_ ? tx_->counters() : none_; }

void FaultPort::publish() noexcept {
    engine::publish_counters(published_rx_, rx_counters());
    engine::publish_counters(published_tx_, tx_counters());
    published_no_buffer_.store(no_buffer_, std::memory_order_relaxed);
}

FaultPort::Published FaultPort::published() const noexcept {
    Published p;
    engine::read_counters(published_rx_, p.rx);
    engine::read_counters(published_tx_, p.tx);
    p.no_buffer = published_no_buffer_.load(std::memory_order_relaxed);
    return p;
}

std::uint16_t FaultPort::rx_burst(engine::RxFrame* out, std::uint16_t max) noexcept {
    if (!rx_ && !tx_) return inner_.rx_burst(out, max);
    const std::uint16_t m = receive(out, max);
    publish();
    return m;
}

std::uint16_t FaultPort::receive(engine::RxFrame* out, std::uint16_t max) noexcept {
    const Instant now = clock_();
    if (tx_) release_tx(now);
    if (!rx_) return inner_.rx_burst(out, max);

    std::array<engine::RxFrame, 512> in;
    const std::uint16_t n = inner_.rx_burst(in.data(), std::min<std::uint16_t>(max, in.size()));
    const bool hold = rx_->spec().holds_frames();
    for (std::uint16_t i = 0; i < n; ++i) {
        engine::RxFrame f = in[i];
        Copy c[2];
        const unsigned k = rx_->admit(f.len, l4_range(f.data, f.len), now, c);
        if (k == 0) {
            inner_.free_rx(&f.handle, 1);
            continue;
        }
        if (c[0].flip_bit != Copy::kNoFlip) {
            flip(f.data, c[0].flip_bit);
            f.flags &= ~static_cast<std::uint32_t>(engine::kRxL4CsumGood | engine::kRxIpCsumGood);
        }
        engine::RxFrame copies[2] = {f, {}};
        if (k == 2) {
            const tcp::BufferOps ops = inner_.buffer_ops();
            tcp::MutBuf b = ops.alloc(ops.self, f.len);
            if (b.handle != nullptr && b.cap >= f.len) {
                std::memcpy(b.data, f.data, f.len);
                copies[1] = engine::RxFrame{b.handle, b.data, f.len, f.flags};
            } else {
                if (b.handle != nullptr) inner_.free_rx(&b.handle, 1);
                ++no_buffer_;
            }
        }
        for (unsigned j = 0; j < k; ++j) {
            if (copies[j].handle == nullptr) continue;
            if (hold) rx_line_.push(c[j].at, copies[j]);
            else rx_ready_.push_back(copies[j]);
        }
    }
    rx_line_.pop_due(now, [&](engine::RxFrame&& f) { rx_ready_.push_back(f); });
    const auto m = static_cast<std::uint16_t>(std::min<std::size_t>(max, rx_ready_.size()));
    std::copy_n(rx_ready_.begin(), m, out);
    rx_ready_.erase(rx_ready_.begin(), rx_ready_.begin() + m);
    return m;
}

void FaultPort::release_tx(Instant now) noexcept {
    if (tx_line_.empty()) return;
    tx_out_.clear();
    tx_line_.pop_due(now, [&](engine::TxFrame&& f) { tx_out_.push_back(f); });
    if (!tx_out_.empty()) (void)inner_.tx_burst(tx_out_.data(), static_cast<std::uint16_t>(tx_out_.size()));
}

std::uint16_t FaultPort::tx_burst(engine::TxFrame* frames, std::uint16_t n) noexcept {
    if (!tx_) return inner_.tx_burst(frames, n);
    const Instant now = clock_();
    release_tx(now);
    const bool hold = tx_->spec().holds_frames();
    tx_out_.clear();
    for (std::uint16_t i = 0; i < n; ++i) {
        engine::TxFrame& f = frames[i];
        std::uint32_t len = f.raw != nullptr ? f.raw_len : static_cast<std::uint32_t>(f.hdr_len) + f.len;
        const std::uint8_t* head = f.raw != nullptr ? f.raw_data : f.hdr.data();
        Copy c[2];
        const unsigned k = tx_->admit(len, l4_range(head, len), now, c);
        if (k == 0) {
            if (f.raw != nullptr) inner_.free_rx(&f.raw, 1);
            continue;
        }
        const bool flip_it = c[0].flip_bit != Copy::kNoFlip;
        if ((hold || flip_it) && !inner_.materialize(f)) {  // now one buffer of its own
            ++no_buffer_;
            continue;
        }
        if (flip_it) flip(f.raw_data, c[0].flip_bit);
        engine::TxFrame copies[2] = {f, f};
        unsigned made = 1;
        if (k == 2) {
            if (f.raw == nullptr) {
                made = 2;  // headers here, payload borrowed: the inner port attaches it twice
            } else {
                const tcp::BufferOps ops = inner_.buffer_ops();
                tcp::MutBuf b = ops.alloc(ops.self, f.raw_len);
                if (b.handle != nullptr && b.cap >= f.raw_len) {
                    std::memcpy(b.data, f.raw_data, f.raw_len);
                    copies[1].raw = b.handle;
                    copies[1].raw_data = b.data;
                    made = 2;
                } else {
                    if (b.handle != nullptr) inner_.free_rx(&b.handle, 1);
                    ++no_buffer_;
                }
            }
        }
        for (unsigned j = 0; j < made; ++j) {
            if (hold) tx_line_.push(c[j].at, copies[j]);
            else tx_out_.push_back(copies[j]);
        }
    }
    if (!tx_out_.empty()) (void)inner_.tx_burst(tx_out_.data(), static_cast<std::uint16_t>(tx_out_.size()));
    if (hold) release_tx(now);  // what is due already (zero delay) goes in this burst's turn
    return n;  // every frame went onto the (faulty) wire; the inner port counts its own drops
}

}  // namespace ustcp::sim
