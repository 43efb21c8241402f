#include "perf_app.hpp"

#include <cinttypes>
#include <cstdio>

#include "ustcp/engine/engine.hpp"

namespace ustcp::apps {

namespace {

class EngineIo final : public perf::Io {
public:
    EngineIo(engine::Engine& e, tcp::Connection& c) : e_(e), c_(c) {}
    perf::IoResult send(std::span<const std::uint8_t> b) override {
        auto r = c_.send(e_.ctx(), e_.now(), wire::Bytes(b.data(), b.size()));
        if (!r) return {0, r.error() == tcp::Error::WouldBlock ? perf::IoStatus::WouldBlock : perf::IoStatus::Error};
        if (*r == 0) return {0, perf::IoStatus::WouldBlock};
        return {*r, perf::IoStatus::Ok};
    }
    perf::IoResult recv(std::span<std::uint8_t> b) override {
        auto r = c_.receive(e_.ctx(), e_.now(), wire::MutBytes(b.data(), b.size()));
        if (!r) return {0, r.error() == tcp::Error::WouldBlock ? perf::IoStatus::WouldBlock : perf::IoStatus::Error};
        if (*r == 0) return {0, perf::IoStatus::Eof};
        return {*r, perf::IoStatus::Ok};
    }

private:
    engine::Engine& e_;
    tcp::Connection& c_;
};

}  // namespace

Result<void, std::string> PerfApp::start(engine::Engine& e) {
    for (std::uint16_t p : ports_) {
        if (!e.listen(p)) return Err("already listening on " + std::to_string(p));
    }
    return {};
}

PerfApp::Entry& PerfApp::entry(std::uint32_t slot) {
    const std::size_t k = slot / kChunk;
    if (k >= chunks_.size()) chunks_.resize(k + 1);
    if (!chunks_[k]) chunks_[k] = std::make_unique<Entry[]>(kChunk);
    return chunks_[k][slot % kChunk];
}

PerfApp::Entry* PerfApp::find(engine::Engine& e, const tcp::Connection& c) noexcept {
    const std::uint32_t slot = e.slot_index(c);
    const std::size_t k = slot / kChunk;
    if (k >= chunks_.size() || !chunks_[k]) return nullptr;
    Entry& en = chunks_[k][slot % kChunk];
    return en.live ? &en : nullptr;
}

void PerfApp::on_accept(engine::Engine& e, tcp::Connection& c) {
    ++counters_.accepted;
    Entry& en = entry(e.slot_index(c));
    en.live = true;
    en.conn = perf::ServerConn{};
    handle(e, c);
}

void PerfApp::handle(engine::Engine& e, tcp::Connection& c) {
    Entry* en = find(e, c);
    if (en == nullptr) return;
    EngineIo io(e, c);
    const perf::ServerConn::Step st = en->conn.on_event(env_, io, counters_);
    if (st == perf::ServerConn::Step::Continue) return;
    if (st == perf::ServerConn::Step::Refuse) {
        const FourTuple& t = c.tuple();
        std::printf("ustcp-server: perf: %s:%u: refused: %.*s\n", t.remote_addr.to_string().c_str(), t.remote_port,
                    static_cast<int>(perf::to_string(*en->conn.refused_why()).size()),
                    perf::to_string(*en->conn.refused_why()).data());
        std::fflush(stdout);
        en->live = false;
        c.abort(e.ctx(), e.now());
        return;
    }
    en->live = false;
    (void)c.close(e.ctx(), e.now());
}

void PerfApp::on_closed(engine::Engine& e, tcp::Connection& c) {
    if (Entry* en = find(e, c)) en->live = false;
}

void PerfApp::report(std::string& out) const {
    char b[512];
    const perf::ServerCounters& k = counters_;
    std::snprintf(b, sizeof b,
                  "perf: accepted %" PRIu64 " (bulk %" PRIu64 " rr %" PRIu64 " crr %" PRIu64 " hold %" PRIu64
                  ") requests %" PRIu64 " bytes in %" PRIu64 " out %" PRIu64 " refused %" PRIu64,
                  k.accepted, k.by_mode[1], k.by_mode[2], k.by_mode[3], k.by_mode[4], k.requests, k.bytes_in,
                  k.bytes_out, k.refused);
    out += b;
    for (std::size_t i = 0; i < perf::kHeaderErrorCount; ++i) {
        if (k.bad_header[i] == 0) continue;
        std::snprintf(b, sizeof b, " %.*s %" PRIu64, static_cast<int>(perf::to_string(static_cast<perf::HeaderError>(i)).size()),
                      perf::to_string(static_cast<perf::HeaderError>(i)).data(), k.bad_header[i]);
        out += b;
    }
    out += "\n";
}

}  // namespace ustcp::apps
