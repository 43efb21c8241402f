#include "iperf2_app.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "ustcp/engine/engine.hpp"

namespace ustcp::iperf2 {

namespace {

std::uint32_t be32(const std::uint8_t* p) noexcept {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

// type 2 (the server's acknowledgement), length 28, no flags, version 2.1.8 final ("2.1" and
// "8, 3"), two reserved words: byte for byte what `iperf -s` 2.1.8 sends.
constexpr std::uint8_t kAck[28] = {0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 0, 0, 2, 0, 1,
                                   0, 8, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0};

double seconds(Duration d) { return static_cast<double>(d.as_micros()) / 1e6; }

void say(const std::string& line) {
    std::printf("ustcp-server: iperf: %s\n", line.c_str());
    std::fflush(stdout);
}

std::string id_of(int id) {
    char b[16];
    std::snprintf(b, sizeof b, "[%3d]", id);
    return b;
}

}  // namespace

std::size_t header_length(std::uint32_t flags) noexcept {
    if ((flags & (kHeaderVersion1 | kHeaderExtend | kHeaderVersion2)) == 0) return 0;
    std::size_t n = 24;                                   // the version 1 header
    if (flags & kHeaderExtend) n = 60;
    if (flags & kHeaderLenBit) n = (flags & kHeaderLenMask) >> 1;
    return std::clamp<std::size_t>(n, 24, kMaxHeader);
}

Result<Header, std::string> parse_header(std::span<const std::uint8_t> b) {
    if (b.size() < 24) return Err("header of " + std::to_string(b.size()) + " bytes (at least 24)");
    Header h;
    h.flags = be32(b.data());
    if (b.size() < header_length(h.flags)) return Err(std::string("header shorter than its flags say"));
    h.threads = be32(b.data() + 4);
    h.amount = static_cast<std::int32_t>(be32(b.data() + 20));
    h.extended = (h.flags & kHeaderExtend) != 0;
    h.dual = (h.flags & kHeaderVersion1) != 0;
    h.run_now = (h.flags & kHeaderRunNow) != 0;
    h.port = static_cast<std::uint16_t>(be32(b.data() + 8));
    if (h.extended && b.size() >= 36) h.reverse = (be32(b.data() + 32) >> 16 & kUpperReverse) != 0;
    if (h.threads == 0 || h.threads > 4096) h.threads = 1;
    return h;
}

std::span<const std::uint8_t> header_ack() noexcept { return kAck; }

std::string interval_line(const std::string& id, double from, double to, std::uint64_t bytes) {
    const double secs = to - from;
    const double mbytes = static_cast<double>(bytes) / (1024.0 * 1024.0);
    const double mbits = secs > 0 ? static_cast<double>(bytes) * 8 / secs / 1e6 : 0.0;
    char b[160];
    std::snprintf(b, sizeof b, "%s %.4f-%.4f sec  %.2f MBytes  %.2f Mbits/sec", id.c_str(), from, to, mbytes, mbits);
    return b;
}

Iperf2App::Iperf2App(std::vector<std::uint16_t> ports)
    : ports_(std::move(ports)), pattern_(128 * 1024), scratch_(64 * 1024) {
    for (std::size_t i = 0; i < pattern_.size(); ++i) pattern_[i] = static_cast<std::uint8_t>('0' + i % 10);
}

Result<void, std::string> Iperf2App::start(engine::Engine& e) {
    for (std::uint16_t p : ports_) {
        if (!e.listen(p)) return Err("already listening on " + std::to_string(p));
    }
    return {};
}

void Iperf2App::on_accept(engine::Engine& e, tcp::Connection& c) {
    Flow& f = flows_[&c];
    f.id = next_id_++;
    f.start = e.now();
    f.next_report = f.start + Duration::seconds(1);
    next_due_ = std::min(next_due_, f.next_report);
    const FourTuple& t = c.tuple();
    say(id_of(f.id) + " local " + t.local_addr.to_string() + " port " + std::to_string(t.local_port) +
        " connected with " + t.remote_addr.to_string() + " port " + std::to_string(t.remote_port));
    handle(e, c);
}

void Iperf2App::handle(engine::Engine& e, tcp::Connection& c) {
    auto it = flows_.find(&c);
    if (it == flows_.end()) return;
    Flow& f = it->second;
    if (f.done) return;
    for (;;) {
        auto r = c.receive(e.ctx(), e.now(), wire::MutBytes(scratch_.data(), scratch_.size()));
        if (!r || *r == 0) break;
        if (!f.header_done) {
            const std::size_t take = std::min(*r, kMaxHeader - f.head.size());
            f.head.insert(f.head.end(), scratch_.begin(), scratch_.begin() + static_cast<std::ptrdiff_t>(take));
        }
        if (!f.hdr.reverse) f.bytes += *r;
        if (!f.header_done) on_header(e, c, f);
    }
    if (!f.header_done && c.peer_closed()) f.header_done = true;  // fewer bytes than a header: plain data
    if (f.sending) fill(e, c, f);
    if (c.peer_closed() && !f.sending) finish(e, c, f, true);
}

void Iperf2App::on_header(engine::Engine& e, tcp::Connection& c, Flow& f) {
    if (f.head.size() < 4) return;
    const std::size_t need = header_length(be32(f.head.data()));
    if (need == 0) {  // a client that sends no header: everything is data
        f.header_done = true;
        return;
    }
    if (f.head.size() < need) return;
    f.header_done = true;
    auto h = parse_header(std::span<const std::uint8_t>(f.head.data(), need));
    f.head.clear();
    f.head.shrink_to_fit();
    if (!h) {
        say(id_of(f.id) + " header ignored: " + h.error());
        return;
    }
    f.hdr = *h;
    if (f.hdr.dual && f.hdr.port == 0) f.hdr.dual = false;
    if (f.hdr.dual) {
        say(id_of(f.id) + " dual test: connecting back to port " + std::to_string(f.hdr.port) +
            (f.hdr.run_now ? " now (-d)" : " after the test (-r)"));
        if (f.hdr.run_now) backs_.push_back({c.tuple().remote_addr, f.hdr.port, f.hdr.amount, e.now(), 0});
    }
    Group& g = groups_[c.tuple().remote_addr.value()];
    if (g.expected == 0) {
        g.expected = f.hdr.threads * (f.hdr.dual && f.hdr.run_now ? 2 : 1);  // -d: [SUM] of both ways
        g.start = f.start;
    }
    if (f.hdr.reverse) {
        f.bytes = 0;  // what we send is what counts
        start_sending(e, f, f.hdr.amount);
        say(id_of(f.id) + " reverse: the server sends");
        fill(e, c, f);
    } else if (f.hdr.extended) {
        const auto ack = header_ack();
        (void)c.send(e.ctx(), e.now(), wire::Bytes(ack.data(), ack.size()));
    }
}

void Iperf2App::start_sending(engine::Engine& e, Flow& f, std::int32_t amount) {
    f.sending = true;
    // At most an hour: the header is not trusted further.
    if (amount < 0) {
        f.send_until = e.now() + Duration::millis(std::min<std::int64_t>(-static_cast<std::int64_t>(amount), 360000) * 10);
    } else {
        f.send_left = static_cast<std::uint64_t>(amount);
    }
    if (amount == 0) f.send_until = e.now() + Duration::seconds(10);
}

void Iperf2App::connect_back(engine::Engine& e, const Back& b) {
    auto r = e.connect(b.remote, b.port);
    if (!r) {
        say("dual test: connecting back to " + b.remote.to_string() + " port " + std::to_string(b.port) + " failed");
        return;
    }
    tcp::Connection& c = **r;
    Flow& f = flows_[&c];
    f.id = next_id_++;
    f.back = true;
    f.header_done = true;
    f.hdr.reverse = true;  // we send; what comes in is not counted
    f.hdr.amount = b.amount;
    f.hdr.port = b.port;
    f.tries = b.tries;
    f.start = e.now();
    f.next_report = tcp::kNever;
    e.touch(c);
    e.flush(e.now());
}

void Iperf2App::on_connected(engine::Engine& e, tcp::Connection& c) {
    auto it = flows_.find(&c);
    if (it == flows_.end()) return;
    Flow& f = it->second;
    f.connected = true;
    f.start = e.now();
    f.next_report = f.start + Duration::seconds(1);
    start_sending(e, f, f.hdr.amount);
    next_due_ = std::min({next_due_, f.next_report, f.send_until});
    const FourTuple& t = c.tuple();
    say(id_of(f.id) + " local " + t.local_addr.to_string() + " port " + std::to_string(t.local_port) +
        " connected with " + t.remote_addr.to_string() + " port " + std::to_string(t.remote_port) + " (reverse)");
    fill(e, c, f);
}

void Iperf2App::fill(engine::Engine& e, tcp::Connection& c, Flow& f) {
    for (;;) {
        if (e.now() >= f.send_until || (f.send_until == tcp::kNever && f.send_left == 0)) {
            f.sending = false;
            (void)c.shutdown_write(e.ctx(), e.now());
            e.touch(c);
            return;
        }
        std::size_t n = pattern_.size();
        if (f.send_until == tcp::kNever) n = std::min<std::uint64_t>(n, f.send_left);
        auto r = c.send(e.ctx(), e.now(), wire::Bytes(pattern_.data(), n));
        if (!r || *r == 0) break;
        f.bytes += *r;
        if (f.send_until == tcp::kNever) f.send_left -= *r;
    }
}

void Iperf2App::finish(engine::Engine& e, tcp::Connection& c, Flow& f, bool live) {
    f.done = true;
    const double t = seconds(e.now() - f.start);
    say("[ ID] Interval       Transfer     Bandwidth");
    char b[64];
    std::snprintf(b, sizeof b, " (%" PRIu64 " bytes)", f.bytes);
    say(interval_line(id_of(f.id), 0.0, t, f.bytes) + b);
    if (live) {
        (void)c.close(e.ctx(), e.now());
        e.touch(c);
    }
    if (f.hdr.dual && !f.hdr.run_now && !f.back) backs_.push_back({c.tuple().remote_addr, f.hdr.port, f.hdr.amount, e.now(), 0});
    auto git = groups_.find(c.tuple().remote_addr.value());
    if (git == groups_.end()) return;
    Group& g = git->second;
    g.bytes += f.bytes;
    if (++g.ended < g.expected) return;
    if (g.expected > 1) {
        std::snprintf(b, sizeof b, " (%" PRIu64 " bytes)", g.bytes);
        say(interval_line("[SUM]", 0.0, seconds(e.now() - g.start), g.bytes) + b);
    }
    groups_.erase(git);
}

void Iperf2App::after_poll(engine::Engine& e) {
    if (!backs_.empty()) {
        std::vector<Back> backs = std::move(backs_);
        backs_.clear();
        for (const Back& b : backs) {
            if (e.now() >= b.not_before) connect_back(e, b);
            else backs_.push_back(b);
        }
    }
    if (e.now() < next_due_) return;
    next_due_ = tcp::kNever;
    for (auto& [c, f] : flows_) {
        if (f.done) continue;
        if (f.sending && e.now() >= f.send_until) {
            fill(e, *c, f);  // stops, sends our FIN
            if (c->peer_closed()) finish(e, *c, f, true);
        }
        if (e.now() >= f.next_report) {
            const double from = seconds(f.next_report - f.start) - 1.0;
            say(interval_line(id_of(f.id), from, from + 1.0, f.bytes - f.bytes_reported));
            f.bytes_reported = f.bytes;
            f.next_report += Duration::seconds(1);
        }
        next_due_ = std::min(next_due_, f.next_report);
        if (f.sending) next_due_ = std::min(next_due_, f.send_until);
    }
}

void Iperf2App::on_closed(engine::Engine& e, tcp::Connection& c) {
    auto it = flows_.find(&c);
    if (it == flows_.end()) return;
    Flow& f = it->second;
    if (f.back && !f.connected && f.tries < 30) {  // refused: the listener is not up yet
        backs_.push_back({c.tuple().remote_addr, f.hdr.port, f.hdr.amount, e.now() + Duration::millis(100), f.tries + 1});
        flows_.erase(it);
        return;
    }
    if (!it->second.done) finish(e, c, it->second, false);  // reset or timed out: report what came
    flows_.erase(it);
}

}  // namespace ustcp::iperf2
