// `--app perf` (port 5555): the server side of ustcp-perf's perf protocol (apps/perf
// protocol.hpp) on every engine: each connection's 16-byte header says the mode, then rr/crr
// requests are answered, bulk is dropped or sent, hold idles. The logic is apps/perf's
// ServerConn, the same that `ustcp-perf --backend linux --serve PORT` runs on epoll. A bad
// header is logged with its reason, counted (the stats' "perf:" line) and the connection reset.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ustcp/dpdk/launcher.hpp"
#include "workload.hpp"

namespace ustcp::apps {

class PerfApp final : public dpdk::WorkerApp {
public:
    explicit PerfApp(std::vector<std::uint16_t> ports) : ports_(std::move(ports)) {}

    Result<void, std::string> start(engine::Engine& e) override;
    void on_accept(engine::Engine& e, tcp::Connection& c) override;
    void on_readable(engine::Engine& e, tcp::Connection& c) override { handle(e, c); }
    void on_writable(engine::Engine& e, tcp::Connection& c) override { handle(e, c); }
    void on_peer_closed(engine::Engine& e, tcp::Connection& c) override { handle(e, c); }
    void on_closed(engine::Engine& e, tcp::Connection& c) override;
    void report(std::string& out) const override;

    [[nodiscard]] const perf::ServerCounters& counters() const noexcept { return counters_; }

private:
    /// A connection's state, at its engine slot (Engine::slot_index). Chunks of kChunk entries
    /// are allocated the first time a slot in them is used and kept: a held connection costs
    /// its entry (72 bytes) and no hash-table node, and nothing is allocated per accept once
    /// the pool's slots have been seen.
    struct Entry {
        bool live = false;
        perf::ServerConn conn;
    };
    static constexpr std::uint32_t kChunk = 4096;
    Entry& entry(std::uint32_t slot);
    Entry* find(engine::Engine& e, const tcp::Connection& c) noexcept;
    void handle(engine::Engine& e, tcp::Connection& c);

    std::vector<std::uint16_t> ports_;
    perf::ServerEnv env_;
    perf::ServerCounters counters_;
    std::vector<std::unique_ptr<Entry[]>> chunks_;
};

}  // namespace ustcp::apps
