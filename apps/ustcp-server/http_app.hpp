// `--app http`: an HTTP/1.1 responder on one engine (http_parser.hpp says what it answers).
// Keep-alive and pipelining (requests are answered in order, one response at a time; the next
// request is read once the current response is queued), Connection: close, HEAD, GET / and
// GET /bytes/N. Bodies are generated as send space allows: a /bytes/N response never exists
// whole in memory, it is copied into pool buffers a chunk at a time (Connection::send), and a
// blocked send resumes on Writable. After an error or Connection: close the write side is shut
// (FIN after the response) and input is read and dropped until the client closes, so that a
// client still sending does not get a RST over its response. Connections that are idle
// (nothing read or sent) for `idle_timeout` are closed; after_poll() checks every
// idle_timeout / 8, at most every 10 ms.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "http_parser.hpp"
#include "ustcp/base/time.hpp"
#include "ustcp/dpdk/launcher.hpp"

namespace ustcp::apps {

struct HttpSettings {
    std::vector<std::uint16_t> ports{80};
    std::uint64_t max_bytes = std::uint64_t{1} << 30;  ///< largest N of /bytes/N
    Duration idle_timeout = Duration::seconds(10);
    http::Limits limits{};
};

class HttpApp final : public dpdk::WorkerApp {
public:
    explicit HttpApp(HttpSettings s) : s_(std::move(s)) {}

    Result<void, std::string> start(engine::Engine& e) override;
    void on_accept(engine::Engine& e, tcp::Connection& c) override;
    void on_readable(engine::Engine& e, tcp::Connection& c) override { pump(e, c); }
    void on_writable(engine::Engine& e, tcp::Connection& c) override { pump(e, c); }
    void on_peer_closed(engine::Engine& e, tcp::Connection& c) override { pump(e, c); }
    void on_closed(engine::Engine& e, tcp::Connection& c) override;
    void after_poll(engine::Engine& e) override;
    void report(std::string& out) const override;

private:
    struct Conn {
        std::string in;              // received, not parsed yet
        std::string out;             // response head (and small body) not yet queued
        std::size_t out_off = 0;
        http::Response resp;
        std::uint64_t body_off = 0;  // generated body bytes queued so far (Bytes bodies)
        std::uint64_t skip = 0;      // request body bytes still to drop
        bool sending = false;
        bool draining = false;       // no more requests: finish the response, FIN, drop input
        bool shut = false;           // shutdown_write() done
        bool closed = false;         // close() called: wait for on_closed
        Instant last;
    };
    struct Counters {
        std::uint64_t requests = 0;
        std::uint64_t ok = 0;        // 2xx
        std::uint64_t client_errors = 0;  // 4xx/5xx
        std::uint64_t malformed = 0; // rejected by the parser
        std::uint64_t idle_closed = 0;
        std::uint64_t body_bytes = 0;
    };

    void pump(engine::Engine& e, tcp::Connection& c);
    /// Queues what fits of the current response; true when all of it is queued.
    bool write(engine::Engine& e, tcp::Connection& c, Conn& st);
    void begin(Conn& st, const http::Response& r);
    void finish(engine::Engine& e, tcp::Connection& c, Conn& st);

    HttpSettings s_;
    std::unordered_map<tcp::Connection*, Conn> conns_;
    Counters n_;
    Instant next_sweep_;
};

}  // namespace ustcp::apps
