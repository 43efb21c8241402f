// ustcp-perf's own flags (main.cpp parses them; both backends read them).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ustcp/base/addr.hpp"
#include "workload.hpp"

namespace ustcp::perf {

struct Options {
    Workload w;
    RunSpec spec;
    std::string backend = "ustcp";   ///< "ustcp" | "linux"
    Ipv4Addr remote;
    std::uint16_t port = 0;
    std::uint32_t conns = 1;
    std::uint32_t idle = 0;          ///< ustcp: --idle N connections held open (hold) before the workload starts
    std::uint32_t timeout_s = 10;    ///< a connect that takes longer fails
    std::string json;                ///< --json FILE
    std::string wait_for;            ///< connect once this file exists
    std::vector<Ipv4Addr> sources;   ///< --src-range: local addresses, connections round robin
    std::uint16_t serve = 0;         ///< linux: --serve [ADDR:]PORT
    Ipv4Addr serve_addr{};           ///< 0.0.0.0: every address
    std::uint32_t busy_poll_us = 0;  ///< linux: SO_BUSY_POLL and a spinning epoll loop
    std::string http_path = "/";
};

/// The linux backend: a client over epoll on one thread, and the --serve twin of
/// ustcp-server --app perf. Return the exit status.
int run_linux_client(const Options& o);
int run_linux_server(const Options& o);

}  // namespace ustcp::perf
