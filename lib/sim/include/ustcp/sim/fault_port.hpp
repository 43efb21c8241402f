// FaultPort: the faults of fault.hpp applied to a real port's RX and/or TX, for
// experiments on real links (ustcp-server/ustcp-client `--fault rx:loss=2%`). It wraps
// any engine::Port (a DpdkPort, a SteeringPort, a SimPort) and is one itself:
//
//   auto f = sim::parse_port_faults("rx:loss=2%,reorder=1%;tx:dup=1%");   // Errors: a message
//   sim::FaultPort port(inner, *f, [] { return dpdk::now(); });
//   engine::Engine e(cfg, port, ...);
//
// RX: each frame the inner port received meets its fate (FaultPath): lost frames are
// freed, a duplicate is copied into a buffer of the port's pool, a corrupted frame has
// one L4 bit flipped and its "checksum good" RX flags cleared (so the engine's software
// check, not a NIC's earlier verdict, judges it), and frames to delay are held until
// their time, then handed out by a later rx_burst().
// TX: lost frames are not sent (a raw one is freed), a duplicate is sent twice (a raw one
// copied first), and frames to corrupt or delay are first built into one buffer
// (Port::materialize) and then flipped or held; held frames go out from a later
// tx_burst() or rx_burst() (the engine calls rx_burst every loop). With TX faults the
// port reports no TSO (faults apply per wire frame) and, when `corrupt` is set, no TX
// checksum offload (a NIC would compute the checksum over the flipped bit).
// Not on the fast path: it allocates for held frames. One instance per engine (lcore).
#pragma once

#include <array>
#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ustcp/engine/port.hpp"
#include "ustcp/sim/fault.hpp"
#include "ustcp/sim/link.hpp"

namespace ustcp::sim {

class FaultPort final : public engine::Port {
public:
    using Clock = std::function<Instant()>;
    FaultPort(engine::Port& inner, const PortFaults& faults, Clock clock);
    FaultPort(const FaultPort&) = delete;
    FaultPort& operator=(const FaultPort&) = delete;
    /// Frees every frame still held.
    ~FaultPort() override;

    std::uint16_t rx_burst(engine::RxFrame* out, std::uint16_t max) noexcept override;
    std::uint16_t tx_burst(engine::TxFrame* frames, std::uint16_t n) noexcept override;
    void free_rx(void* const* handles, std::uint16_t n) noexcept override { inner_.free_rx(handles, n); }
    tcp::BufferOps buffer_ops() noexcept override { return inner_.buffer_ops(); }
    bool materialize(engine::TxFrame& f) noexcept override { return inner_.materialize(f); }
    [[nodiscard]] bool owns(const FourTuple& t) const noexcept override { return inner_.owns(t); }
    [[nodiscard]] MacAddr mac() const noexcept override { return inner_.mac(); }
    [[nodiscard]] engine::PortCaps caps() const noexcept override;
    [[nodiscard]] const engine::PortStats& stats() const noexcept override { return inner_.stats(); }

    /// What was done to received frames (all zero without RX faults).
    [[nodiscard]] const FaultCounters& rx_counters() const noexcept;
    /// What was done to sent frames (all zero without TX faults).
    [[nodiscard]] const FaultCounters& tx_counters() const noexcept;
    /// Copies that could not be made (no buffer in the pool, or materialize() failed): the
    /// frame went once, or not at all when it had to be built to be corrupted or held.
    [[nodiscard]] std::uint64_t no_buffer() const noexcept { return no_buffer_; }
    /// Frames held (delayed) now.
    [[nodiscard]] std::size_t held() const noexcept { return rx_line_.size() + tx_line_.size(); }

    /// The counters above as of the last rx_burst() (which the engine calls every loop),
    /// for another thread (telemetry): each word as of some rx_burst().
    struct Published {
        FaultCounters rx{};
        FaultCounters tx{};
        std::uint64_t no_buffer = 0;
    };
    [[nodiscard]] Published published() const noexcept;

private:
    static constexpr std::size_t kWords = sizeof(FaultCounters) / sizeof(std::uint64_t);
    std::uint16_t receive(engine::RxFrame* out, std::uint16_t max) noexcept;
    void publish() noexcept;
    void release_tx(Instant now) noexcept;

    engine::Port& inner_;
    Clock clock_;
    std::optional<FaultPath> rx_;
    std::optional<FaultPath> tx_;
    DelayLine<engine::RxFrame> rx_line_;
    DelayLine<engine::TxFrame> tx_line_;
    std::vector<engine::RxFrame> rx_ready_;  ///< due frames not yet handed out
    std::vector<engine::TxFrame> tx_out_;
    std::uint64_t no_buffer_ = 0;
    FaultCounters none_{};
    std::array<std::atomic<std::uint64_t>, kWords> published_rx_{};
    std::array<std::atomic<std::uint64_t>, kWords> published_tx_{};
    std::atomic<std::uint64_t> published_no_buffer_{0};
};

}  // namespace ustcp::sim
