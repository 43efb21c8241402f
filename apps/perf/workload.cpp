#include "workload.hpp"

#include <algorithm>
#include <cstring>

namespace ustcp::perf {

namespace {

constexpr std::size_t kPattern = 64 * 1024;

std::vector<std::uint8_t> make_pattern() {
    std::vector<std::uint8_t> p(kPattern);
    for (std::size_t i = 0; i < p.size(); ++i) p[i] = static_cast<std::uint8_t>('0' + i % 10);  // iperf's too
    return p;
}

}  // namespace

void Counters::add(const Counters& o) noexcept {
    requests += o.requests;
    connects += o.connects;
    bytes_sent += o.bytes_sent;
    bytes_received += o.bytes_received;
    errors += o.errors;
    http_2xx += o.http_2xx;
    http_non_2xx += o.http_non_2xx;
}

void ServerCounters::add(const ServerCounters& o) noexcept {
    accepted += o.accepted;
    refused += o.refused;
    for (std::size_t i = 0; i < kHeaderErrorCount; ++i) bad_header[i] += o.bad_header[i];
    requests += o.requests;
    bytes_in += o.bytes_in;
    bytes_out += o.bytes_out;
    for (std::size_t i = 0; i < 5; ++i) by_mode[i] += o.by_mode[i];
}

ClientEnv::ClientEnv(Workload wl) : w(std::move(wl)), pattern(make_pattern()), scratch(kPattern) {
    w.depth = std::clamp<std::uint32_t>(w.depth, 1, Workload::kMaxDepth);
    if (w.mode != Mode::Rr) w.depth = 1;
}

ServerEnv::ServerEnv() : pattern(make_pattern()), scratch(kPattern) {}

// ---- ClientConn ----

void ClientConn::begin(Instant now) {
    opened_ = now;
    connected_ = false;
    error_.clear();
    hdr_len_ = 0;
    hdr_off_ = 0;
    first_ = 0;
    inflight_ = 0;
    req_left_ = 0;
    resp_got_ = 0;
    exchanges_ = 0;
    http_ = HttpResponseReader{};
}

void ClientConn::fail(Sink& s, std::string why) {
    if (!error_.empty()) return;
    error_ = std::move(why);
    ++s.c.errors;
}

ClientConn::Step ClientConn::failed_with(Sink& s, std::string why) {
    fail(s, std::move(why));
    return Step::Failed;
}

ClientConn::Step ClientConn::on_connected(const ClientEnv& env, Io& io, Instant now, Sink& s) {
    connected_ = true;
    ++s.c.connects;
    const Workload& w = env.w;
    if (starts_.size() != w.depth) starts_.assign(w.depth, Instant{});
    switch (w.mode) {
        case Mode::Bulk:
        case Mode::Rr:
        case Mode::Crr:
        case Mode::Hold: {
            Header h;
            h.mode = w.mode;
            h.direction = w.mode == Mode::Bulk ? w.direction : Direction::Send;
            if (w.mode == Mode::Rr || w.mode == Mode::Crr) {
                h.req_size = w.req_size;
                h.resp_size = w.resp_size;
            }
            const auto b = encode_header(h);
            std::memcpy(hdr_.data(), b.data(), b.size());
            hdr_len_ = b.size();
            break;
        }
        case Mode::Iperf: {
            const auto b = iperf2_client_header(w.iperf_seconds);
            std::memcpy(hdr_.data(), b.data(), b.size());
            hdr_len_ = b.size();
            break;
        }
        case Mode::Http: hdr_len_ = 0; break;
    }
    hdr_off_ = 0;
    return pump(env, io, now, s);
}

ClientConn::Step ClientConn::on_event(const ClientEnv& env, Io& io, Instant now, Sink& s) {
    if (!connected_ || !error_.empty()) return error_.empty() ? Step::Continue : Step::Failed;
    return pump(env, io, now, s);
}

bool ClientConn::send_bytes(Io& io, std::span<const std::uint8_t> b, std::size_t& off, Sink& s, Step& st) {
    while (off < b.size()) {
        const IoResult r = io.send(b.subspan(off));
        if (r.status == IoStatus::WouldBlock) return false;
        if (r.status != IoStatus::Ok) {
            st = failed_with(s, "send failed");
            return false;
        }
        off += r.n;
        s.c.bytes_sent += r.n;
    }
    return true;
}

ClientConn::Step ClientConn::pump(const ClientEnv& env, Io& io, Instant now, Sink& s) {
    const Workload& w = env.w;
    Step st = Step::Continue;
    // The header first.
    if (hdr_off_ < hdr_len_) {
        if (!send_bytes(io, std::span<const std::uint8_t>(hdr_.data(), hdr_len_), hdr_off_, s, st)) return st;
    }
    const std::span<const std::uint8_t> pattern(env.pattern);
    const bool exchanges = w.mode == Mode::Rr || w.mode == Mode::Crr || w.mode == Mode::Http;
    for (;;) {
        bool progress = false;
        now = io.refresh(now);
        // Send: bulk send and iperf stream; the exchanges start requests up to the depth.
        if ((w.mode == Mode::Bulk && w.direction == Direction::Send) || w.mode == Mode::Iperf) {
            while (!stopped_) {
                const IoResult r = io.send(pattern);
                if (r.status == IoStatus::WouldBlock) break;
                if (r.status != IoStatus::Ok) return failed_with(s, "send failed");
                s.c.bytes_sent += r.n;
            }
        } else if (exchanges) {
            const bool one_shot = w.mode == Mode::Crr || (w.mode == Mode::Http && w.http_close);
            for (;;) {
                if (req_left_ == 0) {
                    if (stopped_ || inflight_ >= w.depth || (one_shot && exchanges_ + inflight_ >= 1)) break;
                    starts_[(first_ + inflight_) % starts_.size()] = now;
                    ++inflight_;
                    req_left_ = w.mode == Mode::Http ? w.http_request.size() : w.req_size;
                }
                std::span<const std::uint8_t> src = pattern;
                std::size_t off = 0;
                if (w.mode == Mode::Http) {
                    const auto* p = reinterpret_cast<const std::uint8_t*>(w.http_request.data());
                    off = w.http_request.size() - static_cast<std::size_t>(req_left_);
                    src = std::span<const std::uint8_t>(p, w.http_request.size());
                } else {
                    src = pattern.first(static_cast<std::size_t>(std::min<std::uint64_t>(req_left_, pattern.size())));
                }
                const IoResult r = io.send(src.subspan(off));
                if (r.status == IoStatus::WouldBlock) break;
                if (r.status != IoStatus::Ok) return failed_with(s, "send failed");
                s.c.bytes_sent += r.n;
                req_left_ -= r.n;
                progress = true;
            }
        }
        // Receive.
        for (;;) {
            const IoResult r = io.recv(env.scratch_span());
            if (r.status == IoStatus::WouldBlock) break;
            if (r.status == IoStatus::Error) return failed_with(s, "connection reset");
            if (r.status == IoStatus::Eof) {
                if (w.mode == Mode::Http) {
                    if (auto resp = http_.on_eof()) {
                        ++(resp->status / 100 == 2 ? s.c.http_2xx : s.c.http_non_2xx);
                        ++s.c.requests;
                        ++exchanges_;
                        --inflight_;
                        s.record(static_cast<std::uint64_t>((now - starts_[first_]).as_nanos()));
                        return Step::Done;
                    }
                    if (w.http_close && exchanges_ >= 1 && inflight_ == 0) return Step::Done;
                }
                if (stopped_) return Step::Done;
                return failed_with(s, "the server closed the connection");
            }
            s.c.bytes_received += r.n;
            progress = true;
            now = io.refresh(now);
            if (w.mode == Mode::Rr || w.mode == Mode::Crr) {
                resp_got_ += r.n;
                while (resp_got_ >= w.resp_size && inflight_ > 0) {
                    // A response for a request still being sent would be the server's mistake.
                    if (inflight_ == 1 && req_left_ > 0) return failed_with(s, "a response before its request");
                    resp_got_ -= w.resp_size;
                    const Instant t0 = w.mode == Mode::Crr ? opened_ : starts_[first_];
                    first_ = (first_ + 1) % starts_.size();
                    --inflight_;
                    ++exchanges_;
                    ++s.c.requests;
                    s.record(static_cast<std::uint64_t>((now - t0).as_nanos()));
                }
                if (resp_got_ > 0 && inflight_ == 0) return failed_with(s, "more response bytes than requested");
                if (w.mode == Mode::Crr && exchanges_ >= 1) return Step::Done;
            } else if (w.mode == Mode::Http) {
                std::span<const std::uint8_t> in(env.scratch.data(), r.n);
                while (!in.empty()) {
                    std::optional<HttpResponseReader::Response> done;
                    const std::size_t used = http_.feed(in, done);
                    in = in.subspan(used);
                    if (http_.state() == HttpResponseReader::State::Failed) return failed_with(s, "http: " + http_.error());
                    if (!done) continue;
                    if (inflight_ == 0) return failed_with(s, "http: a response without a request");
                    ++(done->status / 100 == 2 ? s.c.http_2xx : s.c.http_non_2xx);
                    ++s.c.requests;
                    ++exchanges_;
                    s.record(static_cast<std::uint64_t>((now - starts_[first_]).as_nanos()));
                    first_ = (first_ + 1) % starts_.size();
                    --inflight_;
                    if (w.http_close || done->close) return Step::Done;
                }
            }
        }
        if (!progress || !exchanges) break;
    }
    return st;
}

// ---- ServerConn ----

ServerConn::Step ServerConn::on_event(const ServerEnv& env, Io& io, ServerCounters& c) {
    const std::span<std::uint8_t> scratch = env.scratch_span();
    for (;;) {
        bool progress = false;
        // Read: the header, then requests (or bytes to drop).
        for (;;) {
            std::span<std::uint8_t> into = scratch;
            if (!hdr_) into = std::span<std::uint8_t>(head_.data() + head_len_, kHeaderSize - head_len_);
            const IoResult r = io.recv(into);
            if (r.status == IoStatus::WouldBlock) break;
            if (r.status != IoStatus::Ok) return Step::Close;  // FIN (the client is done) or reset
            progress = true;
            c.bytes_in += r.n;
            if (!hdr_) {
                head_len_ += r.n;
                if (head_len_ < kHeaderSize) continue;
                auto h = parse_header(std::span<const std::uint8_t, kHeaderSize>(head_));
                if (!h) {
                    refused_ = h.error();
                    ++c.refused;
                    ++c.bad_header[static_cast<std::size_t>(h.error())];
                    return Step::Refuse;
                }
                hdr_ = *h;
                ++c.by_mode[static_cast<std::size_t>(hdr_->mode)];
                if (hdr_->mode == Mode::Bulk && hdr_->direction == Direction::Recv) owed_ = ~std::uint64_t{0};
                continue;
            }
            if (hdr_->mode == Mode::Rr || hdr_->mode == Mode::Crr) {
                req_got_ += r.n;
                const std::uint64_t done = req_got_ / hdr_->req_size;
                req_got_ %= hdr_->req_size;
                owed_ += done * hdr_->resp_size;
                c.requests += done;
            }
        }
        // Send what is owed.
        while (owed_ > 0) {
            const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(owed_, env.pattern.size()));
            const IoResult r = io.send(std::span<const std::uint8_t>(env.pattern.data(), n));
            if (r.status == IoStatus::WouldBlock) break;
            if (r.status != IoStatus::Ok) return Step::Close;
            progress = true;
            c.bytes_out += r.n;
            if (owed_ != ~std::uint64_t{0}) owed_ -= r.n;
        }
        if (!progress) return Step::Continue;
    }
}

// ---- intervals ----

std::size_t RunSpec::intervals() const noexcept {
    const std::int64_t i = std::max<std::int64_t>(interval.as_nanos(), 1);
    return static_cast<std::size_t>((duration.as_nanos() + i - 1) / i);
}

IntervalLog::IntervalLog(std::size_t capacity) {
    slots_.reserve(capacity);
    for (std::size_t i = 0; i < capacity; ++i) slots_.push_back(std::make_unique<Interval>());
}

Meter::Meter(const RunSpec& spec, IntervalLog& log) : spec_(spec), log_(log) {}

void Meter::start(Instant now) noexcept {
    started_ = true;
    measure_start_ = now + spec_.warmup;
    next_ = 0;
    open_ = false;
}

Meter::Phase Meter::phase(Instant now) const noexcept {
    if (!started_ || now < measure_start_) return Phase::Warmup;
    if (next_ >= log_.capacity() || now >= end()) return Phase::Done;
    return Phase::Measure;
}

void Meter::open(std::size_t i) noexcept {
    Interval& iv = log_.slot(i);
    iv.latency.reset();
    cur_.c = Counters{};
    cur_.latency = &iv.latency;
    open_ = true;
}

void Meter::roll(Instant now, std::uint64_t established) noexcept {
    if (!started_ || now < measure_start_) return;
    scratch_.c = Counters{};  // warm-up counts are not kept
    if (!open_ && next_ == 0) open(0);
    while (open_) {
        const Duration end_rel =
            std::min(spec_.interval * static_cast<std::int64_t>(next_ + 1), spec_.duration);
        if (now < measure_start_ + end_rel) return;
        Interval& iv = log_.slot(next_);
        iv.end = end_rel;
        iv.length = end_rel - spec_.interval * static_cast<std::int64_t>(next_);
        iv.c = cur_.c;
        iv.established = established;
        ++next_;
        log_.publish(next_);
        open_ = false;
        if (next_ < log_.capacity()) open(next_);
    }
}

// ---- ClientPool ----

ClientPool::ClientPool(const ClientEnv& env, Meter& meter, std::size_t conns, PoolBackend& backend,
                       Duration connect_timeout)
    : env_(env), meter_(meter), backend_(backend), connect_timeout_(connect_timeout), slots_(conns) {
    first_errors_.reserve(8);
    for (std::size_t i = 0; i < conns; ++i) ready_.push_back(i);
}

void ClientPool::note(const std::string& why) {
    if (first_errors_.size() < 8) first_errors_.push_back(why);
}

void ClientPool::leave_connecting(Slot& s) noexcept {
    if (s.state == State::Connecting) --connecting_;
}

void ClientPool::tick(Instant now) {
    if (stopped_) return;
    if (!meter_.started()) meter_.start(now);
    meter_.roll(now, established_);
    if (meter_.phase(now) == Meter::Phase::Done) {
        for (std::size_t i = 0; i < slots_.size(); ++i) {
            Slot& s = slots_[i];
            s.conn.stop();
            if (s.state == State::Connecting) ++pending_at_end_;
            if (s.state != State::Idle) backend_.close(i, ClientConn::reset_on_done(env_.w) || s.state == State::Connecting);
            if (s.state == State::Open && s.conn.established()) --established_;
            leave_connecting(s);
            s.state = State::Idle;
        }
        stopped_ = true;
        return;
    }
    // Opens are paced: a burst of SYNs at most per tick and kMaxConnecting unanswered, so that
    // thousands of connections (hold) do not overflow the TX ring, the server's SYN backlog or
    // the neighbour queue all at once and then retransmit in lockstep.
    std::size_t opens = 0;
    while (opens < kOpensPerTick && connecting_ < kMaxConnecting) {
        std::size_t i;
        if (!retry_.empty() && slots_[retry_.front()].not_before <= now) {
            i = retry_.front();
            retry_.pop_front();
        } else if (!ready_.empty()) {
            i = ready_.front();
            ready_.pop_front();
        } else {
            break;
        }
        Slot& s = slots_[i];
        ++opens;
        s.conn.begin(now);
        s.since = now;
        s.state = State::Connecting;
        ++connecting_;
        pending_.emplace_back(i, now);
        std::string err;
        if (!backend_.open(i, err)) {
            leave_connecting(s);
            s.state = State::Idle;
            s.conn.fail(meter_.sink(), "connect: " + err);
            note("connect: " + err);
            s.not_before = now + Duration::millis(10);
            retry_.push_back(i);
        }
    }
    // Connects that took too long, oldest first; they are opened again from the next tick.
    while (!pending_.empty()) {
        const auto [i, since] = pending_.front();
        Slot& s = slots_[i];
        if (s.state != State::Connecting || s.since != since) {
            pending_.pop_front();  // connected, failed or reopened since
            continue;
        }
        if (now - since <= connect_timeout_) break;
        pending_.pop_front();
        s.conn.fail(meter_.sink(), "connect timed out");
        note("connect timed out");
        drop(i, now, true, Duration::zero());
    }
}

void ClientPool::drop(std::size_t i, Instant now, bool reset, Duration delay) {
    Slot& s = slots_[i];
    if (s.state == State::Idle) return;
    if (s.conn.established()) --established_;
    leave_connecting(s);
    backend_.close(i, reset);
    s.state = State::Idle;
    s.not_before = now + delay;
    (delay == Duration::zero() ? ready_ : retry_).push_back(i);
}

void ClientPool::handle(std::size_t i, ClientConn::Step st, Instant now) {
    switch (st) {
        case ClientConn::Step::Continue: return;
        case ClientConn::Step::Done: drop(i, now, ClientConn::reset_on_done(env_.w), Duration::zero()); return;
        case ClientConn::Step::Failed:
            note(slots_[i].conn.error());
            drop(i, now, true, Duration::millis(10));
            return;
    }
}

void ClientPool::on_connected(std::size_t i, Io& io, Instant now) {
    Slot& s = slots_[i];
    if (stopped_ || s.state != State::Connecting) return;
    leave_connecting(s);
    s.state = State::Open;
    ++established_;
    handle(i, s.conn.on_connected(env_, io, now, meter_.sink()), now);
}

void ClientPool::on_event(std::size_t i, Io& io, Instant now) {
    Slot& s = slots_[i];
    if (stopped_ || s.state != State::Open) return;
    handle(i, s.conn.on_event(env_, io, now, meter_.sink()), now);
}

void ClientPool::on_failed(std::size_t i, Instant now, const std::string& why) {
    Slot& s = slots_[i];
    if (stopped_ || s.state == State::Idle) return;
    s.conn.fail(meter_.sink(), why);
    note(why);
    drop(i, now, true, Duration::millis(10));
}

}  // namespace ustcp::perf
