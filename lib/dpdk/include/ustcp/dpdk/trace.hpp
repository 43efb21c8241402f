// A live frame trace for the console's `trace on`: each DpdkPort (one worker's queue) copies
// the head of every frame it receives and sends into a TraceRing of its own, and another
// thread pops them and prints them (lib/wire's tcpdump printer).
//
//   TraceRing ring;                       // one per DpdkPort: one producer, one consumer
//   port.set_trace(&ring);                // before the workers run
//   ring.enable(true);                    // any thread
//   TraceRing::Record r;
//   while (ring.pop(r)) print(r);         // the consumer thread
//
// The worker never waits: when the ring is full the frame is not recorded and counted in
// dropped(). Off, a frame costs the worker one relaxed load. Each enable(true) starts a new
// session and every record carries the session it was taken in: once enable(false) has
// returned, pop() hands out nothing more, not even frames a worker was recording at that
// moment (so `trace off` is the last word on the console, not followed by stragglers).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>

struct rte_mbuf;

namespace ustcp::dpdk {

class TraceRing {
public:
    static constexpr std::uint32_t kSlots = 1024;  ///< a power of two
    static constexpr std::uint16_t kSnap = 128;    ///< bytes kept of each frame: every header

    struct Record {
        std::uint32_t wire_len = 0;  ///< the frame's length (pkt_len)
        std::uint16_t len = 0;       ///< bytes held in `bytes`
        bool out = false;            ///< sent (else received)
        std::uint32_t session = 0;   ///< the enable(true) it was taken under
        std::array<std::uint8_t, kSnap> bytes{};
    };

    TraceRing() : slots_(std::make_unique<Record[]>(kSlots)) {}
    TraceRing(const TraceRing&) = delete;
    TraceRing& operator=(const TraceRing&) = delete;

    /// Starts a session (on) or ends it (off); idempotent either way. Any thread.
    void enable(bool on) noexcept;
    [[nodiscard]] bool enabled() const noexcept { return (session_.load(std::memory_order_relaxed) & 1u) != 0; }

    /// The producer (the port's worker): records frames m[0..n) when enabled.
    void push(rte_mbuf* const* m, std::uint16_t n, bool out) noexcept;
    /// The consumer: the oldest record of the current session, false when none (records of an
    /// ended session are taken off and thrown away).
    bool pop(Record& r) noexcept;
    /// Frames not recorded because the ring was full (the producer's count, read anywhere).
    [[nodiscard]] std::uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }

private:
    std::unique_ptr<Record[]> slots_;
    std::atomic<std::uint32_t> session_{0};  // odd: on; bumped by each change
    alignas(64) std::atomic<std::uint32_t> head_{0};  // next slot the producer writes
    alignas(64) std::atomic<std::uint32_t> tail_{0};  // next slot the consumer reads
    std::atomic<std::uint64_t> dropped_{0};
};

}  // namespace ustcp::dpdk
