#include "http_app.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

namespace ustcp::apps {

namespace {
// Largest piece of a generated body copied per send() call.
constexpr std::size_t kChunk = 16384;
// Bodies up to this size go out with the head in one send().
constexpr std::uint64_t kInlineBody = 4096;
}  // namespace

Result<void, std::string> HttpApp::start(engine::Engine& e) {
    for (std::uint16_t p : s_.ports) {
        if (!e.listen(p)) return Err("already listening on " + std::to_string(p));
    }
    next_sweep_ = e.now();
    return {};
}

void HttpApp::on_accept(engine::Engine& e, tcp::Connection& c) {
    // Responses are written whole: no reason to hold their last segment for Nagle.
    c.set_nodelay(e.ctx(), e.now(), true);
    conns_[&c].last = e.now();
}

void HttpApp::on_closed(engine::Engine&, tcp::Connection& c) { conns_.erase(&c); }

void HttpApp::begin(Conn& st, const http::Response& r) {
    st.resp = r;
    st.sending = true;
    st.body_off = 0;
    st.out_off = 0;
    std::array<char, http::kMaxHead> head{};
    st.out.assign(head.data(), http::format_head(r, head));
    if (r.send_body && r.length <= kInlineBody) {
        const std::size_t at = st.out.size();
        st.out.resize(at + r.length);
        http::body_bytes(r, 0, std::span<char>(st.out.data() + at, r.length));
        st.body_off = r.length;
    }
    if (!r.send_body) st.body_off = r.length;
    ++n_.requests;
    if (r.status < 300) ++n_.ok;
    else ++n_.client_errors;
}

bool HttpApp::write(engine::Engine& e, tcp::Connection& c, Conn& st) {
    while (st.out_off < st.out.size()) {
        const std::string_view rest = std::string_view(st.out).substr(st.out_off);
        auto r = c.send(e.ctx(), e.now(), wire::Bytes(reinterpret_cast<const std::uint8_t*>(rest.data()), rest.size()));
        if (!r || *r == 0) return false;  // WouldBlock: Writable brings us back; a failure: on_closed follows
        st.out_off += *r;
        st.last = e.now();
    }
    std::array<char, kChunk> buf;
    while (st.body_off < st.resp.length) {
        const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, st.resp.length - st.body_off));
        http::body_bytes(st.resp, st.body_off, std::span<char>(buf.data(), n));
        auto r = c.send(e.ctx(), e.now(), wire::Bytes(reinterpret_cast<const std::uint8_t*>(buf.data()), n));
        if (!r || *r == 0) return false;
        st.body_off += *r;
        n_.body_bytes += *r;
        st.last = e.now();
    }
    return true;
}

void HttpApp::finish(engine::Engine& e, tcp::Connection& c, Conn& st) {
    // Nothing more to send: FIN now, keep reading (and dropping) until the client's FIN.
    if (!st.shut) {
        st.shut = true;
        (void)c.shutdown_write(e.ctx(), e.now());
    }
    std::array<std::uint8_t, 4096> junk;
    for (;;) {
        auto r = c.receive(e.ctx(), e.now(), junk);
        if (!r || *r == 0) break;
        st.last = e.now();
    }
    if (c.peer_closed() && c.bytes_readable() == 0) {
        st.closed = true;
        (void)c.close(e.ctx(), e.now());
    }
}

void HttpApp::pump(engine::Engine& e, tcp::Connection& c) {
    auto it = conns_.find(&c);
    if (it == conns_.end()) {
        it = conns_.emplace(&c, Conn{}).first;
        it->second.last = e.now();
    }
    Conn& st = it->second;
    if (st.closed) return;
    const std::size_t cap = s_.limits.max_head + 1;  // one byte past the limit tells "too large"
    for (;;) {
        if (st.sending) {
            if (!write(e, c, st)) return;
            st.sending = false;
            if (st.resp.close) st.draining = true;
        }
        if (st.draining) {
            finish(e, c, st);
            return;
        }
        // Read what fits under the head limit; request bodies are dropped as they come.
        std::array<char, 4096> buf;
        while (st.in.size() < cap) {
            const std::size_t want = std::min(buf.size(), cap - st.in.size());
            auto r = c.receive(e.ctx(), e.now(), wire::MutBytes(reinterpret_cast<std::uint8_t*>(buf.data()), want));
            if (!r || *r == 0) break;
            st.last = e.now();
            std::size_t off = 0;
            if (st.skip > 0) {
                off = static_cast<std::size_t>(std::min<std::uint64_t>(st.skip, *r));
                st.skip -= off;
            }
            st.in.append(buf.data() + off, *r - off);
        }
        if (st.skip > 0 && c.bytes_readable() > 0) continue;  // more body to drop
        if (st.in.empty()) {
            if (c.peer_closed() && st.skip == 0) {
                st.draining = true;
                continue;
            }
            return;
        }
        const http::Parsed p = http::parse_request(st.in, s_.limits);
        if (p.outcome == http::Outcome::Incomplete) {
            if (c.peer_closed()) {
                st.draining = true;  // a partial request, then end of stream: nothing to answer
                continue;
            }
            return;
        }
        if (p.outcome == http::Outcome::Bad) {
            ++n_.malformed;
            begin(st, http::error_response(p.status));
            st.in.clear();
            continue;
        }
        const http::Response r = http::route(p.req, s_.max_bytes);
        const std::uint64_t body = p.req.content_length;
        begin(st, r);  // before erase: the request's views point into st.in
        const std::size_t have = st.in.size() - p.head_len;
        const std::size_t dropped = static_cast<std::size_t>(std::min<std::uint64_t>(body, have));
        st.in.erase(0, p.head_len + dropped);
        st.skip = body - dropped;
    }
}

void HttpApp::after_poll(engine::Engine& e) {
    const Instant now = e.now();
    if (now < next_sweep_) return;
    next_sweep_ = now + std::max(Duration::millis(10), s_.idle_timeout / 8);
    bool touched = false;
    for (auto& [c, st] : conns_) {
        if (st.closed || now - st.last < s_.idle_timeout) continue;
        ++n_.idle_closed;
        st.closed = true;
        if (st.sending) c->abort(e.ctx(), now);  // the client stopped reading
        else (void)c->close(e.ctx(), now);
        e.touch(*c);
        touched = true;
    }
    if (touched) e.flush(now);
}

void HttpApp::report(std::string& out) const {
    char line[256];
    std::snprintf(line, sizeof line,
                  "http: %zu connections, requests %llu, 2xx %llu, 4xx/5xx %llu, malformed %llu, idle closed %llu, "
                  "generated body bytes %llu\n",
                  conns_.size(), static_cast<unsigned long long>(n_.requests), static_cast<unsigned long long>(n_.ok),
                  static_cast<unsigned long long>(n_.client_errors), static_cast<unsigned long long>(n_.malformed),
                  static_cast<unsigned long long>(n_.idle_closed), static_cast<unsigned long long>(n_.body_bytes));
    out += line;
}

}  // namespace ustcp::apps
