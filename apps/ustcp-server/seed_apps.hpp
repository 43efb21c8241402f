// Two small servers from the seed documents (/work/shared/seeds), on dpdk::WorkerApp:
//
// `--app welcome` (seed 000, port 20000): on accept, logs "connect from client: IP: A, Port: P",
// sends "welcome to our server. timestamp on server: <ctime(3)>" (ctime's text ends in a
// newline) and closes (FIN after the line). Input is not read: a client that sends something
// before our close gets a RST (RFC 9293 §3.10.4), as from the seed's close().
//
// `--app print` (seed 002, port 8000): logs every newline-terminated message each connection
// sends as "A:P Message from client=[...]" (bytes outside printable ASCII shown as '.', a line
// longer than 4 KiB logged in pieces, the rest of a last unterminated line at end of stream).
// When the client closes, logs "A:P closed by the client" and closes too; when it aborts
// (RST), logs "A:P aborted by the client (RST): ..." and the engine frees the connection.
// Every log line is flushed at once (stdout may be a file the tests read).
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "ustcp/dpdk/launcher.hpp"

namespace ustcp::apps {

class WelcomeApp final : public dpdk::WorkerApp {
public:
    explicit WelcomeApp(std::vector<std::uint16_t> ports) : ports_(std::move(ports)) {}
    Result<void, std::string> start(engine::Engine& e) override;
    void on_accept(engine::Engine& e, tcp::Connection& c) override;
    void report(std::string& out) const override;

private:
    std::vector<std::uint16_t> ports_;
    std::uint64_t greeted_ = 0;
};

class PrintApp final : public dpdk::WorkerApp {
public:
    explicit PrintApp(std::vector<std::uint16_t> ports) : ports_(std::move(ports)) {}
    Result<void, std::string> start(engine::Engine& e) override;
    void on_accept(engine::Engine& e, tcp::Connection& c) override;
    void on_readable(engine::Engine& e, tcp::Connection& c) override { drain(e, c); }
    void on_peer_closed(engine::Engine& e, tcp::Connection& c) override;
    void on_error(engine::Engine& e, tcp::Connection& c, tcp::Error err) override;
    void on_closed(engine::Engine& e, tcp::Connection& c) override;
    void report(std::string& out) const override;

private:
    void drain(engine::Engine& e, tcp::Connection& c);
    void log_message(const tcp::Connection& c, std::string_view msg);

    std::vector<std::uint16_t> ports_;
    std::unordered_map<tcp::Connection*, std::string> partial_;  // an unterminated line so far
    std::uint64_t messages_ = 0;
    std::uint64_t aborted_ = 0;
};

}  // namespace ustcp::apps
