// A simulated link between two engines in one process, on a virtual clock: each
// direction is a FaultPath (fault.hpp: seeded loss, Gilbert–Elliott bursts, a
// rate-limited drop-tail bottleneck, duplication, corruption, delay, jitter,
// reordering) in front of a delay line holding the frames in flight.
//
//   tcp::HeapBuffers pa_pool(4096, 2048), pb_pool(4096, 2048);
//   engine::SimPort pa(mac_a, pa_pool), pb(mac_b, pb_pool);     // not SimPort::link()ed
//   sim::SimLink link(pa, pb, spec_ab, spec_ba);
//   engine::Engine a(cfg_a, pa, ...), b(cfg_b, pb, ...);
//   Instant now = ...;
//   sim::run(a, b, link, now, now + Duration::seconds(60), [&] { return done; });
//
// The link takes what each SimPort sent (SimPort::sent) and delivers it to the other
// one's RX queue (SimPort::deliver) when its arrival time comes. Test and tool code:
// it allocates per frame.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "ustcp/base/time.hpp"
#include "ustcp/engine/engine.hpp"
#include "ustcp/engine/sim_port.hpp"
#include "ustcp/sim/fault.hpp"
#include "ustcp/sim/pcap.hpp"

namespace ustcp::sim {

/// Items held until their time; items of equal time leave in the order they came.
template <class T>
class DelayLine {
public:
    void push(Instant at, T item) { q_.emplace(at, std::move(item)); }
    /// Calls f(T&&) for every item due at `now`, earliest first. Returns how many.
    template <class F>
    std::size_t pop_due(Instant now, F&& f) {
        std::size_t n = 0;
        while (!q_.empty() && q_.begin()->first <= now) {
            auto node = q_.extract(q_.begin());
            f(std::move(node.mapped()));
            ++n;
        }
        return n;
    }
    [[nodiscard]] std::optional<Instant> next() const {
        if (q_.empty()) return std::nullopt;
        return q_.begin()->first;
    }
    [[nodiscard]] std::size_t size() const noexcept { return q_.size(); }
    [[nodiscard]] bool empty() const noexcept { return q_.empty(); }
    /// Calls f(T&&) for every item left (e.g. to free held buffers).
    template <class F>
    void drain(F&& f) {
        for (auto& [at, item] : q_) f(std::move(item));
        q_.clear();
    }

private:
    std::multimap<Instant, T> q_;  // equal keys keep insertion order
};

/// One direction: frames offered at some time, delivered when due.
class SimPath {
public:
    explicit SimPath(const FaultSpec& spec) : path_(spec) {}
    /// A frame enters the link at `now`.
    void offer(std::vector<std::uint8_t> frame, Instant now);
    /// Delivers the frames due at `now` to `to`. Returns how many.
    std::size_t deliver_due(Instant now, engine::SimPort& to, PcapWriter* capture = nullptr);
    [[nodiscard]] std::optional<Instant> next_arrival() const { return line_.next(); }
    [[nodiscard]] std::size_t in_flight() const noexcept { return line_.size(); }
    [[nodiscard]] const FaultCounters& counters() const noexcept { return path_.counters(); }
    [[nodiscard]] FaultPath& path() noexcept { return path_; }

private:
    FaultPath path_;
    DelayLine<std::vector<std::uint8_t>> line_;
};

class SimLink {
public:
    /// `ab` for frames from `a` to `b`, `ba` for the way back. Use different seeds for the
    /// two directions unless the same fates are wanted.
    SimLink(engine::SimPort& a, engine::SimPort& b, const FaultSpec& ab, const FaultSpec& ba)
        : a_(a), b_(b), ab_(ab), ba_(ba) {}

    /// Takes what both ports sent and delivers what is due at `now`. Returns frames delivered.
    std::size_t step(Instant now);
    /// The next time a frame arrives, if any is in flight.
    [[nodiscard]] std::optional<Instant> next_arrival() const;
    [[nodiscard]] std::size_t in_flight() const noexcept { return ab_.in_flight() + ba_.in_flight(); }
    [[nodiscard]] const SimPath& ab() const noexcept { return ab_; }
    [[nodiscard]] const SimPath& ba() const noexcept { return ba_; }
    /// Writes every frame delivered (both directions, faults applied) to `w`; nullptr: off.
    void set_capture(PcapWriter* w) noexcept { capture_ = w; }

private:
    PcapWriter* capture_ = nullptr;
    engine::SimPort& a_;
    engine::SimPort& b_;
    SimPath ab_;
    SimPath ba_;
};

/// Drives two engines over `link` on the virtual clock `now` until `done()` or `until`:
/// polls both at `now` until nothing moves, then advances `now` to the next frame arrival
/// or by `tick` (the engines' timer tick), whichever is sooner. Returns done().
template <class Done>
bool run(engine::Engine& a, engine::Engine& b, SimLink& link, engine::SimPort& pa, engine::SimPort& pb,
         Instant& now, Instant until, Done&& done, Duration tick = Duration::millis(1)) {
    while (!done()) {
        if (now >= until) return false;
        const std::size_t moved = a.poll(now) + b.poll(now) + link.step(now);
        if (moved > 0 || pa.pending() > 0 || pb.pending() > 0) continue;
        Instant next = now + tick;
        if (const auto arr = link.next_arrival(); arr && *arr < next) next = std::max(*arr, now);
        now = next == now ? now + Duration::nanos(1) : next;
    }
    return true;
}

}  // namespace ustcp::sim
