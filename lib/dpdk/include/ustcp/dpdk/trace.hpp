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
// dropped(). Off, a frame costs the worker one relaxed load.
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
        std::array<std::uint8_t, kSnap> bytes{};
    };

    TraceRing() : slots_(std::make_unique<Record[]>(kSlots)) {}
    TraceRing(const TraceRing&) = delete;
    TraceRing& operator=(const TraceRing&) = delete;

    void enable(bool on) noexcept { on_.store(on, std::memory_order_relaxed); }
    [[nodiscard]] bool enabled() const noexcept { return on_.load(std::memory_order_relaxed); }

    /// The producer (the port's worker): records frames m[0..n) when enabled.
    void push(rte_mbuf* const* m, std::uint16_t n, bool out) noexcept;
    /// The consumer: the oldest record, false when none.
    bool pop(Record& r) noexcept;
    /// Frames not recorded because the ring was full (the producer's count, read anywhere).
    [[nodiscard]] std::uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }

private:
    std::unique_ptr<Record[]> slots_;
    std::atomic<bool> on_{false};
    alignas(64) std::atomic<std::uint32_t> head_{0};  // next slot the producer writes
    alignas(64) std::atomic<std::uint32_t> tail_{0};  // next slot the consumer reads
    std::atomic<std::uint64_t> dropped_{0};
};

}  // namespace ustcp::dpdk
