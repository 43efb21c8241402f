#include "iperf3_app.hpp"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "ustcp/engine/engine.hpp"

namespace ustcp::iperf3 {

namespace {

/// A minimal JSON reader: validates the whole text (RFC 8259 grammar, nesting at most
/// kMaxDepth) and hands each top-level member to a callback as a typed value.
class Json {
public:
    struct Value {
        enum class Kind : std::uint8_t { Number, String, Bool, Null, Composite } kind = Kind::Null;
        double number = 0;
        bool integral = false;       // written without fraction or exponent
        bool boolean = false;
    };
    static constexpr int kMaxDepth = 32;

    explicit Json(std::string_view t) : t_(t) {}

    /// Parses one object; f(key, value) for each top-level member. Returns an error or "".
    template <class F>
    std::string object(F&& f) {
        skip_ws();
        if (!eat('{')) return "not a JSON object";
        skip_ws();
        if (!eat('}')) {
            for (;;) {
                skip_ws();
                std::string key;
                if (!string(&key)) return err("a member name");
                skip_ws();
                if (!eat(':')) return err("':'");
                skip_ws();
                Value v;
                if (!value(&v, 1)) return err("a value");
                f(key, v);
                skip_ws();
                if (eat(',')) continue;
                if (eat('}')) break;
                return err("',' or '}'");
            }
        }
        skip_ws();
        if (i_ != t_.size()) return "text after the JSON object at offset " + std::to_string(i_);
        return {};
    }

private:
    std::string err(const char* what) const { return std::string("expected ") + what + " at offset " + std::to_string(i_); }
    bool eat(char c) {
        if (i_ < t_.size() && t_[i_] == c) {
            ++i_;
            return true;
        }
        return false;
    }
    void skip_ws() {
        while (i_ < t_.size() && (t_[i_] == ' ' || t_[i_] == '\t' || t_[i_] == '\n' || t_[i_] == '\r')) ++i_;
    }
    bool literal(std::string_view w) {
        if (t_.substr(i_, w.size()) != w) return false;
        i_ += w.size();
        return true;
    }
    static bool hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
    // A string; its text (escapes other than \uXXXX decoded, those kept as written) into `out`.
    bool string(std::string* out) {
        if (!eat('"')) return false;
        while (i_ < t_.size()) {
            const char c = t_[i_++];
            if (c == '"') return true;
            if (static_cast<unsigned char>(c) < 0x20) return false;
            if (c != '\\') {
                if (out) out->push_back(c);
                continue;
            }
            if (i_ >= t_.size()) return false;
            const char e = t_[i_++];
            switch (e) {
                case '"': case '\\': case '/': if (out) out->push_back(e); break;
                case 'b': case 'f': case 'n': case 'r': case 't': if (out) out->push_back(' '); break;
                case 'u':
                    for (int k = 0; k < 4; ++k) {
                        if (i_ >= t_.size() || !hex(t_[i_])) return false;
                        ++i_;
                    }
                    if (out) out->push_back('?');
                    break;
                default: return false;
            }
        }
        return false;
    }
    bool number(Value* v) {
        const std::size_t b = i_;
        eat('-');
        if (i_ >= t_.size() || t_[i_] < '0' || t_[i_] > '9') return false;
        if (t_[i_] == '0') ++i_;
        else while (i_ < t_.size() && t_[i_] >= '0' && t_[i_] <= '9') ++i_;
        bool integral = true;
        if (eat('.')) {
            integral = false;
            if (i_ >= t_.size() || t_[i_] < '0' || t_[i_] > '9') return false;
            while (i_ < t_.size() && t_[i_] >= '0' && t_[i_] <= '9') ++i_;
        }
        if (i_ < t_.size() && (t_[i_] == 'e' || t_[i_] == 'E')) {
            integral = false;
            ++i_;
            if (!eat('+')) eat('-');
            if (i_ >= t_.size() || t_[i_] < '0' || t_[i_] > '9') return false;
            while (i_ < t_.size() && t_[i_] >= '0' && t_[i_] <= '9') ++i_;
        }
        // strtod needs a terminator: the number is short (a copy of at most 64 characters).
        const std::size_t n = std::min<std::size_t>(i_ - b, 64);
        char tmp[65];
        std::memcpy(tmp, t_.data() + b, n);
        tmp[n] = '\0';
        v->kind = Value::Kind::Number;
        v->number = std::strtod(tmp, nullptr);
        v->integral = integral;
        return true;
    }
    bool value(Value* v, int depth) {
        if (depth > kMaxDepth || i_ >= t_.size()) return false;
        const char c = t_[i_];
        if (c == '"') {
            v->kind = Value::Kind::String;
            return string(nullptr);
        }
        if (c == 't' || c == 'f') {
            v->kind = Value::Kind::Bool;
            v->boolean = c == 't';
            return literal(c == 't' ? "true" : "false");
        }
        if (c == 'n') {
            v->kind = Value::Kind::Null;
            return literal("null");
        }
        if (c == '{' || c == '[') {
            v->kind = Value::Kind::Composite;
            const char close = c == '{' ? '}' : ']';
            ++i_;
            skip_ws();
            if (eat(close)) return true;
            for (;;) {
                skip_ws();
                if (c == '{') {
                    if (!string(nullptr)) return false;
                    skip_ws();
                    if (!eat(':')) return false;
                    skip_ws();
                }
                Value inner;
                if (!value(&inner, depth + 1)) return false;
                skip_ws();
                if (eat(',')) continue;
                return eat(close);
            }
        }
        return number(v);
    }

    std::string_view t_;
    std::size_t i_ = 0;
};

void log(const char* fmt, const std::string& a) {
    std::printf(fmt, a.c_str());
    std::fflush(stdout);
}

std::string peer_name(const tcp::Connection& c) {
    return c.tuple().remote_addr.to_string() + ":" + std::to_string(c.tuple().remote_port);
}

}  // namespace

// ---- Parsing ----

Result<Params, std::string> parse_params(std::string_view json) {
    Params p;
    std::string bad;
    auto uint_of = [&](const std::string& key, const Json::Value& v, std::uint64_t max, auto& into) {
        if (v.kind != Json::Value::Kind::Number || !v.integral || v.number < 0 || v.number > static_cast<double>(max)) {
            if (bad.empty()) bad = "\"" + key + "\" is not an integer 0.." + std::to_string(max);
            return;
        }
        into = static_cast<std::remove_reference_t<decltype(into)>>(v.number);
    };
    auto bool_of = [&](const std::string& key, const Json::Value& v, bool& into) {
        // iperf3 writes flags as true; some clients write 1.
        if (v.kind == Json::Value::Kind::Bool) into = v.boolean;
        else if (v.kind == Json::Value::Kind::Number && v.integral) into = v.number != 0;
        else if (bad.empty()) bad = "\"" + key + "\" is not a boolean";
    };
    bool udp = false;
    bool sctp = false;
    const std::string e = Json(json).object([&](const std::string& k, const Json::Value& v) {
        if (k == "tcp") bool_of(k, v, p.tcp);
        else if (k == "udp") bool_of(k, v, udp);
        else if (k == "sctp") bool_of(k, v, sctp);
        else if (k == "omit") uint_of(k, v, 86400, p.omit);
        else if (k == "time") uint_of(k, v, 86400 * 365, p.time);
        else if (k == "num") uint_of(k, v, UINT64_C(1) << 53, p.num);
        else if (k == "blockcount") uint_of(k, v, UINT64_C(1) << 53, p.blockcount);
        else if (k == "len") uint_of(k, v, kMaxBlock, p.len);
        else if (k == "parallel") uint_of(k, v, kMaxParallel, p.parallel);
        else if (k == "reverse") bool_of(k, v, p.reverse);
        else if (k == "bidirectional") bool_of(k, v, p.bidirectional);
    });
    if (!e.empty()) return Err("parameters: " + e);
    if (!bad.empty()) return Err("parameters: " + bad);
    if (udp || sctp || !p.tcp) return Err(std::string("parameters: only TCP tests are served (") +
                                          (udp ? "udp" : sctp ? "sctp" : "no \"tcp\"") + ")");
    if (p.parallel == 0) return Err(std::string("parameters: \"parallel\" is 0"));
    if (p.len == 0) p.len = 128 * 1024;
    return p;
}

Result<void, std::string> check_object(std::string_view json) {
    const std::string e = Json(json).object([](const std::string&, const Json::Value&) {});
    if (!e.empty()) return Err(e);
    return {};
}

bool valid_cookie(std::span<const std::uint8_t> cookie) noexcept {
    if (cookie.size() != kCookieSize || cookie.back() != 0) return false;
    return std::all_of(cookie.begin(), cookie.end() - 1, [](std::uint8_t b) { return b >= 0x21 && b <= 0x7e; });
}

std::string results_json(std::span<const StreamResult> streams, bool sender_has_retransmits) {
    std::string s = "{\"cpu_util_total\":0,\"cpu_util_user\":0,\"cpu_util_system\":0,\"sender_has_retransmits\":";
    s += sender_has_retransmits ? "1" : "-1";
    s += ",\"streams\":[";
    char buf[256];
    for (std::size_t i = 0; i < streams.size(); ++i) {
        const StreamResult& r = streams[i];
        std::snprintf(buf, sizeof buf,
                      "%s{\"id\":%d,\"bytes\":%" PRIu64 ",\"retransmits\":%" PRId64
                      ",\"jitter\":0,\"errors\":0,\"packets\":0,\"start_time\":%.6f,\"end_time\":%.6f}",
                      i ? "," : "", r.id, r.bytes, r.retransmits, r.start, r.end);
        s += buf;
    }
    s += "]}";
    return s;
}

bool ControlBuffer::append(std::span<const std::uint8_t> bytes) {
    if (size() + bytes.size() > kMaxJson + 64) return false;
    if (pos_ > 0 && pos_ == buf_.size()) {
        buf_.clear();
        pos_ = 0;
    }
    buf_.insert(buf_.end(), bytes.begin(), bytes.end());
    return true;
}

void ControlBuffer::consume(std::size_t n) {
    pos_ += n;
    if (pos_ == buf_.size()) {
        buf_.clear();
        pos_ = 0;
    }
}

ControlBuffer::Take ControlBuffer::take_cookie(std::string& cookie, std::string& why) {
    if (size() < kCookieSize) return Take::NeedMore;
    if (!valid_cookie({front(), kCookieSize})) {
        why = "not an iperf3 cookie (36 printable characters and a NUL)";
        return Take::Bad;
    }
    cookie.assign(reinterpret_cast<const char*>(front()), kCookieSize - 1);
    consume(kCookieSize);
    return Take::Done;
}

ControlBuffer::Take ControlBuffer::take_state(std::int8_t& state) {
    if (size() < 1) return Take::NeedMore;
    state = static_cast<std::int8_t>(*front());
    consume(1);
    return Take::Done;
}

ControlBuffer::Take ControlBuffer::take_json(std::string& json, std::string& why) {
    if (size() < 4) return Take::NeedMore;
    const std::uint8_t* p = front();
    const std::uint32_t len = (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
    if (len == 0 || len > kMaxJson) {
        why = "JSON length " + std::to_string(len) + " (expected 1.." + std::to_string(kMaxJson) + ")";
        return Take::Bad;
    }
    if (size() < 4 + std::size_t{len}) return Take::NeedMore;
    json.assign(reinterpret_cast<const char*>(p + 4), len);
    consume(4 + std::size_t{len});
    return Take::Done;
}

// ---- The registry ----

Registry::Claim Registry::claim(std::string_view cookie, unsigned lcore, Instant opened) {
    std::lock_guard<std::mutex> lock(mu_);
    Claim c;
    if (auto it = tests_.find(std::string(cookie)); it != tests_.end()) {
        Test& t = *it->second;
        if (t.phase.load(std::memory_order_relaxed) != Phase::Streams) {
            c.why = "its test is not waiting for streams";
            return c;
        }
        if (t.claimed >= t.params.streams()) {
            c.why = "its test has all its " + std::to_string(t.params.streams()) + " stream(s)";
            return c;
        }
        c.kind = Claim::Kind::Stream;
        c.index = t.claimed++;
        Slot& s = t.slots[c.index];
        s.lcore = lcore;
        s.opened = opened;
        s.order = c.index;
        s.sends = t.params.server_sends(c.index);  // until order_streams()
        c.test = it->second;
        t.joined.fetch_add(1, std::memory_order_release);
        return c;
    }
    if (tests_.size() >= max_tests_) {
        c.why = "a test is running";
        return c;
    }
    auto t = std::make_shared<Test>();
    t->cookie = std::string(cookie);
    t->control_lcore = lcore;
    tests_.emplace(t->cookie, t);
    c.kind = Claim::Kind::Control;
    c.test = std::move(t);
    return c;
}

void Registry::set_params(Test& t, const Params& p) {
    std::lock_guard<std::mutex> lock(mu_);
    t.params = p;
    t.slots = std::make_unique<Slot[]>(p.streams());
    t.phase.store(Phase::Streams, std::memory_order_release);
}

void Registry::order_streams(Test& t) {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::uint32_t> by_syn(t.claimed);
    for (std::uint32_t i = 0; i < t.claimed; ++i) by_syn[i] = i;
    // Ties (one poll took both SYNs: not the client's sequential connects) keep the claim order.
    std::stable_sort(by_syn.begin(), by_syn.end(),
                     [&](std::uint32_t a, std::uint32_t b) { return t.slots[a].opened < t.slots[b].opened; });
    for (std::uint32_t k = 0; k < by_syn.size(); ++k) {
        Slot& s = t.slots[by_syn[k]];
        s.order = k;
        s.sends = t.params.server_sends(k);
    }
}

void Registry::release(Test& t) {
    t.phase.store(Phase::Ended, std::memory_order_release);
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = tests_.find(t.cookie); it != tests_.end() && it->second.get() == &t) tests_.erase(it);
}

std::size_t Registry::tests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return tests_.size();
}

// ---- The server ----

Iperf3App::Iperf3App(Iperf3Settings s)
    : set_(std::move(s)), pattern_(128 * 1024), scratch_(64 * 1024) {
    if (!set_.registry) set_.registry = std::make_shared<Registry>();
    // iperf3 sends random bytes by default; a fixed pattern is as good for TCP.
    for (std::size_t i = 0; i < pattern_.size(); ++i) pattern_[i] = static_cast<std::uint8_t>('0' + i % 10);
}

Result<void, std::string> Iperf3App::start(engine::Engine& e) {
    for (std::uint16_t p : set_.ports) {
        if (!e.listen(p)) return Err("already listening on " + std::to_string(p));
    }
    return {};
}

void Iperf3App::handle(engine::Engine& e, tcp::Connection& c) {
    auto [it, fresh] = peers_.try_emplace(&c);
    Peer& p = it->second;
    if (fresh) p.since = e.now();
    switch (p.role) {
        case Role::New: handle_new(e, c, p); break;
        case Role::Control: handle_control(e, c, p); break;
        case Role::Stream: handle_stream(e, c); break;
        case Role::Gone: drain(e, c, nullptr); break;
    }
}

void Iperf3App::handle_new(engine::Engine& e, tcp::Connection& c, Peer& p) {
    // Only the cookie: what follows belongs to the role it gives.
    std::uint8_t buf[kCookieSize];
    const std::size_t want = kCookieSize - p.in.size();
    auto r = c.receive(e.ctx(), e.now(), wire::MutBytes(buf, want));
    if (r && *r > 0) (void)p.in.append({buf, *r});
    std::string cookie;
    std::string why;
    const auto t = p.in.take_cookie(cookie, why);
    if (t == ControlBuffer::Take::NeedMore) {
        if (c.peer_closed()) {
            p.role = Role::Gone;
            (void)c.close(e.ctx(), e.now());
        }
        return;
    }
    if (t == ControlBuffer::Take::Bad) {
        log("ustcp-server: iperf3: %s\n", peer_name(c) + ": closed: " + why);
        p.role = Role::Gone;
        (void)c.close(e.ctx(), e.now());
        return;
    }
    Registry::Claim claim = set_.registry->claim(cookie, set_.lcore, e.opened_at(c));
    if (claim.kind == Registry::Claim::Kind::Control && test_) {
        // Only with a registry that allows several tests: one control per engine.
        set_.registry->release(*claim.test);
        claim = {};
        claim.why = "this lcore has a test running";
    }
    switch (claim.kind) {
        case Registry::Claim::Kind::Control: {
            p.role = Role::Control;
            p.in = ControlBuffer{};
            test_.emplace();
            test_->control = &c;
            test_->shared = std::move(claim.test);
            test_->heard = e.now();
            c.set_nodelay(e.ctx(), e.now(), true);  // state bytes go out one by one, at once
            log("ustcp-server: iperf3: test from %s\n", peer_name(c) + " on lcore " + std::to_string(set_.lcore));
            if (!send_state(e, c, StateByte::ParamExchange)) return;
            handle_control(e, c, p);
            return;
        }
        case Registry::Claim::Kind::Stream: {
            p.role = Role::Stream;
            ++streams_served_;
            Stream& s = streams_[&c];
            s.index = claim.index;
            s.test = std::move(claim.test);  // whether we send on it: once the test runs
            // The control on this engine begins at once when this was the last stream.
            if (test_ && test_->shared == s.test && test_->phase == Phase::Streams) {
                test_->heard = e.now();
                if (s.test->joined.load(std::memory_order_acquire) == s.test->params.streams()) begin_test(e);
            }
            if (streams_.count(&c) != 0) handle_stream(e, c);
            return;
        }
        case Registry::Claim::Kind::Denied: break;
    }
    ++denied_;
    log("ustcp-server: iperf3: %s\n", peer_name(c) + ": access denied (" + claim.why + ")");
    p.role = Role::Gone;
    (void)send_state(e, c, StateByte::AccessDenied);
    (void)c.close(e.ctx(), e.now());
}

void Iperf3App::handle_control(engine::Engine& e, tcp::Connection& c, Peer& p) {
    for (;;) {
        std::uint8_t buf[2048];
        auto r = c.receive(e.ctx(), e.now(), wire::MutBytes(buf, sizeof buf));
        if (!r || *r == 0) break;
        if (test_ && test_->control == &c) test_->heard = e.now();
        if (!p.in.append({buf, *r})) {
            end_test(e, "control connection sent more than one message can hold", true);
            return;
        }
    }
    while (test_ && test_->control == &c && !test_->results_wait) {
        std::string why;
        std::string json;
        std::int8_t st = 0;
        ControlBuffer::Take t = ControlBuffer::Take::NeedMore;
        switch (test_->phase) {
            case Phase::Params:
                t = p.in.take_json(json, why);
                if (t != ControlBuffer::Take::Done) break;
                if (auto params = parse_params(json); !params) {
                    why = params.error();
                    t = ControlBuffer::Take::Bad;
                } else {
                    set_.registry->set_params(*test_->shared, *params);
                    test_->phase = Phase::Streams;
                    char line[160];
                    std::snprintf(line, sizeof line, "%u stream(s)%s%s, %u s, blocks of %u bytes, omit %u s",
                                  params->streams(), params->reverse ? ", reverse" : "",
                                  params->bidirectional ? ", bidirectional" : "", params->time, params->len,
                                  params->omit);
                    log("ustcp-server: iperf3: %s\n", std::string(line));
                    if (!send_state(e, c, StateByte::CreateStreams)) return;
                }
                break;
            case Phase::Streams:
            case Phase::Running:
            case Phase::Done:
                t = p.in.take_state(st);
                if (t != ControlBuffer::Take::Done) break;
                if (st == static_cast<std::int8_t>(StateByte::ClientTerminate)) {
                    end_test(e, "the client terminated the test", false);
                    return;
                }
                if (test_->phase == Phase::Running && st == static_cast<std::int8_t>(StateByte::TestEnd)) {
                    test_->end = e.now();
                    test_->phase = Phase::Results;
                    // As iperf3 does: the streams end here (FIN after what is queued), so that a
                    // client blocked reading a stream (-R) sees the end of it. Streams on other
                    // lcores see the phase at their next poll; this engine's close now.
                    test_->shared->phase.store(Registry::Phase::Ended, std::memory_order_release);
                    poll_streams(e);
                    if (!send_state(e, c, StateByte::ExchangeResults)) return;
                } else if (test_->phase == Phase::Done && st == static_cast<std::int8_t>(StateByte::IperfDone)) {
                    end_test(e, "done", false);
                    return;
                } else {
                    why = "state byte " + std::to_string(st) + " out of turn";
                    t = ControlBuffer::Take::Bad;
                }
                break;
            case Phase::Results:
                t = p.in.take_json(json, why);
                if (t != ControlBuffer::Take::Done) break;
                if (auto ok = check_object(json); !ok) {
                    why = "client results: " + ok.error();
                    t = ControlBuffer::Take::Bad;
                } else {
                    test_->results_wait = true;
                    send_results(e);
                }
                break;
        }
        if (t == ControlBuffer::Take::Bad) {
            end_test(e, why, true);
            return;
        }
        if (t == ControlBuffer::Take::NeedMore) break;
    }
    if (test_ && test_->control == &c && c.peer_closed()) end_test(e, "the client closed the control connection", true);
}

void Iperf3App::send_results(engine::Engine& e) {
    Test& t = *test_;
    Registry::Test& sh = *t.shared;
    const std::uint32_t n = sh.params.streams();
    // Streams on other lcores report once they have seen the test end (their next poll).
    if (sh.reported.load(std::memory_order_acquire) < n) return;
    t.results_wait = false;
    t.heard = e.now();
    const Instant from = t.start + Duration::seconds(sh.params.omit);
    const double secs = t.end > from ? static_cast<double>((t.end - from).as_micros()) / 1e6 : 0.0;
    std::vector<StreamResult> res(n);
    bool sender = false;
    for (std::uint32_t i = 0; i < n; ++i) {
        const Registry::Slot& s = sh.slots[i];
        StreamResult& r = res[s.order];  // in the client's order, with its ids
        r.id = stream_id(s.order);
        r.bytes = s.bytes;
        if (s.sends) r.retransmits = static_cast<std::int64_t>(s.retransmits);
        sender = sender || s.sends;
        r.end = secs;
    }
    tcp::Connection& c = *t.control;
    if (!send_json(e, c, results_json(res, sender))) return;
    test_->phase = Phase::Done;
    (void)send_state(e, c, StateByte::DisplayResults);
}

void Iperf3App::handle_stream(engine::Engine& e, tcp::Connection& c) {
    auto it = streams_.find(&c);
    if (it == streams_.end()) {
        drain(e, c, nullptr);
        return;
    }
    Stream& s = it->second;
    drain(e, c, &s);
    if (s.sends && s.seen == Registry::Phase::Running) fill(e, c, s);
    // The client is done with this stream (it closes its streams at the end).
    if (c.peer_closed() && !s.sends) finish_stream(e, c);
}

void Iperf3App::drain(engine::Engine& e, tcp::Connection& c, Stream* s) {
    for (;;) {
        auto r = c.receive(e.ctx(), e.now(), wire::MutBytes(scratch_.data(), scratch_.size()));
        if (!r || *r == 0) break;
        if (s) s->bytes += *r;
    }
    if (s == nullptr && c.peer_closed()) {
        if (auto it = peers_.find(&c); it != peers_.end() && it->second.role == Role::Gone) (void)c.close(e.ctx(), e.now());
    }
}

void Iperf3App::fill(engine::Engine& e, tcp::Connection& c, Stream& s) {
    const std::size_t block = std::min<std::size_t>(s.test->params.len, pattern_.size());
    for (;;) {
        auto r = c.send(e.ctx(), e.now(), wire::Bytes(pattern_.data(), block));
        if (!r || *r == 0) break;
        s.bytes += *r;
    }
}

bool Iperf3App::send_state(engine::Engine& e, tcp::Connection& c, StateByte b) {
    const auto byte = static_cast<std::uint8_t>(static_cast<std::int8_t>(b));
    auto r = c.send(e.ctx(), e.now(), wire::Bytes(&byte, 1));
    e.touch(c);
    if (r && *r == 1) return true;
    if (test_ && test_->control == &c) end_test(e, "could not send on the control connection", true);
    return false;
}

bool Iperf3App::send_json(engine::Engine& e, tcp::Connection& c, const std::string& json) {
    std::vector<std::uint8_t> msg(4 + json.size());
    const auto n = static_cast<std::uint32_t>(json.size());
    msg[0] = static_cast<std::uint8_t>(n >> 24);
    msg[1] = static_cast<std::uint8_t>(n >> 16);
    msg[2] = static_cast<std::uint8_t>(n >> 8);
    msg[3] = static_cast<std::uint8_t>(n);
    std::memcpy(msg.data() + 4, json.data(), json.size());
    auto r = c.send(e.ctx(), e.now(), wire::Bytes(msg.data(), msg.size()));
    e.touch(c);
    if (r && *r == msg.size()) return true;
    end_test(e, "the results did not fit the control connection's send buffer", true);
    return false;
}

void Iperf3App::begin_test(engine::Engine& e) {
    Test& t = *test_;
    t.phase = Phase::Running;
    t.start = e.now();
    t.heard = e.now();
    t.shared->start = t.start;
    set_.registry->order_streams(*t.shared);
    t.shared->phase.store(Registry::Phase::Running, std::memory_order_release);
    if (!send_state(e, *t.control, StateByte::TestStart)) return;
    if (!send_state(e, *t.control, StateByte::TestRunning)) return;
    poll_streams(e);  // this engine's streams start now, the others' at their next poll
}

void Iperf3App::poll_streams(engine::Engine& e) {
    for (auto it = streams_.begin(); it != streams_.end();) {
        tcp::Connection& c = *it->first;
        Stream& s = it->second;
        ++it;  // finish_stream() erases s
        const Registry::Phase ph = s.test->phase.load(std::memory_order_acquire);
        if (ph == Registry::Phase::Ended) {
            finish_stream(e, c);
            continue;
        }
        if (ph == Registry::Phase::Running && s.seen != Registry::Phase::Running) {
            // order_streams() ran before the phase was published.
            const Registry::Slot& slot = s.test->slots[s.index];
            s.seen = Registry::Phase::Running;
            s.sends = slot.sends;
            s.omit_over = s.test->params.omit == 0;
            log("ustcp-server: iperf3: %s\n", "stream " + std::to_string(stream_id(slot.order)) + " from " +
                                                  peer_name(c) + " on lcore " + std::to_string(set_.lcore) +
                                                  " (control on lcore " + std::to_string(s.test->control_lcore) +
                                                  (s.sends ? "), we send" : "), we receive"));
            drain(e, c, &s);
            if (s.sends) fill(e, c, s);
            e.touch(c);
        }
        if (s.seen == Registry::Phase::Running && !s.omit_over &&
            e.now() - s.test->start >= Duration::seconds(s.test->params.omit)) {
            s.omit_over = true;
            s.omitted = s.bytes;
        }
    }
}

void Iperf3App::finish_stream(engine::Engine& e, tcp::Connection& c) {
    auto it = streams_.find(&c);
    if (it == streams_.end()) return;
    Stream s = std::move(it->second);
    streams_.erase(it);
    drain(e, c, &s);
    report_stream(c, s);
    if (auto p = peers_.find(&c); p != peers_.end()) p->second.role = Role::Gone;
    (void)c.close(e.ctx(), e.now());
    e.touch(c);
}

void Iperf3App::report_stream(const tcp::Connection& c, const Stream& s) {
    Registry::Slot& slot = s.test->slots[s.index];
    slot.bytes = s.omit_over ? s.bytes - s.omitted : 0;
    slot.retransmits = c.stats().retrans_timeout + c.stats().retrans_fast;
    slot.reported.store(true, std::memory_order_release);  // bytes and retransmits first
    s.test->reported.fetch_add(1, std::memory_order_acq_rel);
}

void Iperf3App::after_poll(engine::Engine& e) {
    if (!streams_.empty()) poll_streams(e);
    if (test_) {
        Registry::Test& sh = *test_->shared;
        if (test_->phase == Phase::Streams) {
            const std::uint32_t joined = sh.joined.load(std::memory_order_acquire);
            if (joined != test_->joined) {
                test_->joined = joined;
                test_->heard = e.now();
                if (joined == sh.params.streams()) begin_test(e);
            }
        } else if (test_->results_wait) {
            send_results(e);
            // DISPLAY_RESULTS out: IPERF_DONE may be waiting already.
            if (test_ && test_->phase == Phase::Done) {
                if (auto it = peers_.find(test_->control); it != peers_.end()) handle_control(e, *test_->control, it->second);
            }
        }
    }
    if (e.now() >= next_idle_check_) {
        next_idle_check_ = e.now() + Duration::millis(100);
        check_idle(e);
    }
}

void Iperf3App::check_idle(engine::Engine& e) {
    const Duration idle = set_.idle_timeout;
    auto secs = [](Duration d) {
        char b[32];
        std::snprintf(b, sizeof b, "%.1f s", static_cast<double>(d.as_millis()) / 1e3);
        return std::string(b);
    };
    if (test_) {
        // Silent while it runs is normal: the client keeps time (-t, then -O) and then says
        // TEST_END. A test of -n/-k bytes (time 0) runs as long as the client sends.
        Instant limit = test_->heard + idle;
        const std::uint32_t t = test_->shared->params.time;
        if (test_->phase == Phase::Running) {
            limit = t == 0 ? Instant::from_nanos(INT64_MAX)
                           : test_->start + Duration::seconds(std::int64_t{t} + test_->shared->params.omit) + idle;
        }
        if (e.now() > limit) {
            ++idle_closed_;
            end_test(e, "idle: no control message for " + secs(e.now() - test_->heard) +
                            " (app.iperf3_idle_timeout " + secs(idle) + ")", true);
        }
    }
    for (auto& [c, p] : peers_) {
        if (p.role != Role::New || e.now() - p.since <= idle) continue;
        ++idle_closed_;
        log("ustcp-server: iperf3: %s\n", peer_name(*c) + ": closed: no cookie in " + secs(e.now() - p.since) +
                                              " (app.iperf3_idle_timeout " + secs(idle) + ")");
        p.role = Role::Gone;
        (void)c->close(e.ctx(), e.now());
        e.touch(*c);
    }
}

void Iperf3App::end_test(engine::Engine& e, std::string_view why, bool failed) {
    if (!test_) return;
    Test t = std::move(*test_);
    test_.reset();
    Registry::Test& sh = *t.shared;
    set_.registry->release(sh);  // phase Ended: every stream closes
    poll_streams(e);             // this engine's at once
    std::uint64_t in = 0;
    std::uint64_t out = 0;
    std::uint32_t counted = 0;
    std::string lcores;  // where the streams were
    const std::uint32_t n = sh.slots ? sh.joined.load(std::memory_order_acquire) : 0;
    for (std::uint32_t i = 0; i < n; ++i) {
        const Registry::Slot& s = sh.slots[i];
        const std::string l = std::to_string(s.lcore);
        if (("," + lcores + ",").find("," + l + ",") == std::string::npos) lcores += (lcores.empty() ? "" : ",") + l;
        if (!s.reported.load(std::memory_order_acquire)) continue;
        ++counted;
        (s.sends ? out : in) += s.bytes;
    }
    const Instant until = t.end > t.start ? t.end : e.now();
    const double secs = t.phase >= Phase::Running ? static_cast<double>((until - t.start).as_micros()) / 1e6 : 0.0;
    char line[400];
    std::snprintf(line, sizeof line,
                  "%s%.*s: %u stream(s)%s%s, %" PRIu64 " bytes received, %" PRIu64 " bytes sent in %.3f s "
                  "(%.2f Mbit/s in, %.2f Mbit/s out)%s",
                  failed ? "test ended: " : "test ", static_cast<int>(why.size()), why.data(),
                  n, lcores.empty() ? "" : " on lcore(s) ", lcores.c_str(), in, out, secs, secs > 0 ? static_cast<double>(in) * 8 / secs / 1e6 : 0.0,
                  secs > 0 ? static_cast<double>(out) * 8 / secs / 1e6 : 0.0,
                  counted < n ? " (streams on other lcores not yet counted)" : "");
    log("ustcp-server: iperf3: %s\n", std::string(line));
    ++(failed ? tests_failed_ : tests_done_);
    if (t.control != nullptr) {
        if (auto it = peers_.find(t.control); it != peers_.end()) it->second.role = Role::Gone;
        (void)t.control->close(e.ctx(), e.now());
        e.touch(*t.control);
    }
}

void Iperf3App::on_closed(engine::Engine& e, tcp::Connection& c) {
    if (test_ && test_->control == &c) {
        test_->control = nullptr;  // end_test must not close it again
        end_test(e, "the control connection closed", true);
    }
    if (streams_.count(&c) != 0) {
        // Closed before its test ended (a reset): its counts as they are.
        auto it = streams_.find(&c);
        report_stream(c, it->second);
        streams_.erase(it);
    }
    peers_.erase(&c);
}

void Iperf3App::report(std::string& out) const {
    out += "iperf3: lcore " + std::to_string(set_.lcore) + ": tests " + std::to_string(tests_done_) + " done, " +
           std::to_string(tests_failed_) + " ended early (" + std::to_string(idle_closed_) + " idle), " +
           std::to_string(streams_served_) + " stream(s) served, " + std::to_string(denied_) +
           " connection(s) denied\n";
}

}  // namespace ustcp::iperf3
