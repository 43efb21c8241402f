// `--app perf` (port 5555): the server side of ustcp-perf's perf protocol (apps/perf
// protocol.hpp) on every engine: each connection's 16-byte header says the mode, then rr/crr
// requests are answered, bulk is dropped or sent, hold idles. The logic is apps/perf's
// ServerConn, the same that `ustcp-perf --backend linux --serve PORT` runs on epoll. A bad
// header is logged with its reason, counted (the stats' "perf:" line) and the connection reset.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
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
    void handle(engine::Engine& e, tcp::Connection& c);

    std::vector<std::uint16_t> ports_;
    perf::ServerEnv env_;
    perf::ServerCounters counters_;
    std::unordered_map<tcp::Connection*, perf::ServerConn> conns_;
};

}  // namespace ustcp::apps
