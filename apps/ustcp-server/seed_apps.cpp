#include "seed_apps.hpp"

#include <array>
#include <cstdio>
#include <ctime>

namespace ustcp::apps {

namespace {

constexpr std::size_t kMaxLine = 4096;

Result<void, std::string> listen_all(engine::Engine& e, const std::vector<std::uint16_t>& ports) {
    for (std::uint16_t p : ports) {
        if (!e.listen(p)) return Err("already listening on " + std::to_string(p));
    }
    return {};
}

std::string peer(const tcp::Connection& c) {
    return c.tuple().remote_addr.to_string() + ":" + std::to_string(c.tuple().remote_port);
}

}  // namespace

Result<void, std::string> WelcomeApp::start(engine::Engine& e) { return listen_all(e, ports_); }

void WelcomeApp::on_accept(engine::Engine& e, tcp::Connection& c) {
    std::printf("welcome: connect from client: IP: %s, Port: %u\n", c.tuple().remote_addr.to_string().c_str(),
                c.tuple().remote_port);
    std::fflush(stdout);
    const std::time_t t = std::time(nullptr);
    std::array<char, 64> when{};
    if (ctime_r(&t, when.data()) == nullptr) std::snprintf(when.data(), when.size(), "?\n");
    const std::string line = std::string("welcome to our server. timestamp on server: ") + when.data();
    // A fresh connection's send buffer (tcp.send_buffer, 4 KiB at least) takes the whole line.
    auto r = c.send(e.ctx(), e.now(), wire::Bytes(reinterpret_cast<const std::uint8_t*>(line.data()), line.size()));
    if (!r || *r != line.size()) {
        std::printf("welcome: %s: could not queue the greeting (%s)\n", peer(c).c_str(),
                    r ? "partial" : tcp::to_string(r.error()));
        std::fflush(stdout);
    }
    ++greeted_;
    (void)c.close(e.ctx(), e.now());
}

void WelcomeApp::report(std::string& out) const {
    out += "welcome: " + std::to_string(greeted_) + " clients greeted\n";
}

Result<void, std::string> PrintApp::start(engine::Engine& e) { return listen_all(e, ports_); }

void PrintApp::on_accept(engine::Engine&, tcp::Connection& c) {
    partial_[&c];
    std::printf("print: %s connected\n", peer(c).c_str());
    std::fflush(stdout);
}

void PrintApp::log_message(const tcp::Connection& c, std::string_view msg) {
    std::string shown(msg);
    for (char& ch : shown) {
        if (static_cast<unsigned char>(ch) < 0x20 || static_cast<unsigned char>(ch) > 0x7e) ch = '.';
    }
    std::printf("print: %s Message from client=[%s]\n", peer(c).c_str(), shown.c_str());
    std::fflush(stdout);
    ++messages_;
}

void PrintApp::drain(engine::Engine& e, tcp::Connection& c) {
    std::string& part = partial_[&c];
    std::array<std::uint8_t, 2048> buf;
    for (;;) {
        auto r = c.receive(e.ctx(), e.now(), buf);
        if (!r || *r == 0) break;
        for (std::size_t i = 0; i < *r; ++i) {
            const char ch = static_cast<char>(buf[i]);
            if (ch == '\n') {
                if (!part.empty() && part.back() == '\r') part.pop_back();
                log_message(c, part);
                part.clear();
            } else {
                part.push_back(ch);
                if (part.size() >= kMaxLine) {
                    log_message(c, part);
                    part.clear();
                }
            }
        }
    }
}

void PrintApp::on_peer_closed(engine::Engine& e, tcp::Connection& c) {
    drain(e, c);
    if (auto it = partial_.find(&c); it != partial_.end() && !it->second.empty()) {
        log_message(c, it->second);
        it->second.clear();
    }
    std::printf("print: %s closed by the client\n", peer(c).c_str());
    std::fflush(stdout);
    (void)c.close(e.ctx(), e.now());
}

void PrintApp::on_error(engine::Engine&, tcp::Connection& c, tcp::Error err) {
    ++aborted_;
    if (err == tcp::Error::ConnectionReset) {
        std::printf("print: %s aborted by the client (RST): %s\n", peer(c).c_str(), tcp::to_string(err));
    } else {
        std::printf("print: %s failed: %s\n", peer(c).c_str(), tcp::to_string(err));
    }
    std::fflush(stdout);
}

void PrintApp::on_closed(engine::Engine&, tcp::Connection& c) {
    partial_.erase(&c);
    std::printf("print: %s connection freed\n", peer(c).c_str());
    std::fflush(stdout);
}

void PrintApp::report(std::string& out) const {
    out += "print: " + std::to_string(messages_) + " messages, " + std::to_string(aborted_) + " clients aborted, " +
           std::to_string(partial_.size()) + " connections\n";
}

}  // namespace ustcp::apps
