#include "ustcp/sim/link.hpp"

namespace ustcp::sim {

void SimPath::offer(std::vector<std::uint8_t> frame, Instant now) {
    Copy copies[2];
    const auto len = static_cast<std::uint32_t>(frame.size());
    const unsigned n = path_.admit(len, l4_range(frame.data(), len), now, copies);
    for (unsigned i = 0; i < n; ++i) {
        std::vector<std::uint8_t> f = i + 1 < n ? frame : std::move(frame);
        if (copies[i].flip_bit != Copy::kNoFlip) flip(f.data(), copies[i].flip_bit);
        line_.push(copies[i].at, std::move(f));
    }
}

std::size_t SimPath::deliver_due(Instant now, engine::SimPort& to, PcapWriter* capture) {
    return line_.pop_due(now, [&](std::vector<std::uint8_t>&& f) {
        if (capture != nullptr) capture->write(now, f);
        to.deliver(std::move(f));
    });
}

std::size_t SimLink::step(Instant now) {
    auto take = [&](engine::SimPort& from, SimPath& path) {
        std::vector<std::vector<std::uint8_t>> sent;
        sent.swap(from.sent);
        for (auto& f : sent) path.offer(std::move(f), now);
    };
    take(a_, ab_);
    take(b_, ba_);
    return ab_.deliver_due(now, b_, capture_) + ba_.deliver_due(now, a_, capture_);
}

std::optional<Instant> SimLink::next_arrival() const {
    const auto x = ab_.next_arrival();
    const auto y = ba_.next_arrival();
    if (!x) return y;
    if (!y) return x;
    return std::min(*x, *y);
}

}  // namespace ustcp::sim
