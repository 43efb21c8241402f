// The iperf 2 server (`--app iperf`, port 5001): what `iperf -s` (2.1.x) does for TCP, so that
// the real `iperf -c` (with -t, -P, -l, -e, -i, -R) completes and reports its bandwidth.
//
// The wire protocol, as seen on a capture of iperf 2.1.8 against itself: each connection
// starts with the client's header (big-endian 32-bit words), which is also counted as data:
//   flags (HEADER_EXTEND 0x40000000 from 2.1 on; HEADER_LEN_BIT 0x00010000 says bits 1..8 hold
//   the header's length in bytes times 2: 0x78 -> 60), numThreads, port, bufferlen, window,
//   amount (negative: time in 10 ms units, -100 is -t 1; else bytes), then with HEADER_EXTEND
//   type, length, upperflags:16 (HEADER_REVERSE 0x0400: the server sends), lowerflags:16,
//   version words and rates.
// The server answers an extended header with a 28-byte acknowledgement (type 2, length 28,
// its version 2.1.8), except in a reverse test, where it sends data for the header's amount
// and then its FIN. Otherwise it reads until the client's FIN. Dual tests (HEADER_VERSION1:
// -d and -r): the server also connects back to the client at the header's port (word 3, the
// client's -L, 5001 by default), at once when RUN_NOW (0x1, -d) is set, else (-r) once the
// client's test has ended, and sends for the header's amount, then its FIN. iperf 2.1.8
// sends no header on that connection (a capture shows the pattern "0123..." from the first
// byte), and neither does this server. The client may open its listener only after its
// connection is up: a refused connect-back is retried every 100 ms, 30 times.
//
// The server prints iperf's lines for each connection: "connected with", one interval line
// a second, and the summary; a [SUM] line when every stream of a -P group has ended (on one
// engine: with several worker lcores each prints the sum of the streams it served).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "ustcp/base/addr.hpp"
#include "ustcp/base/result.hpp"
#include "ustcp/base/time.hpp"
#include "ustcp/dpdk/launcher.hpp"

namespace ustcp::iperf2 {

inline constexpr std::uint32_t kHeaderVersion1 = 0x80000000;  ///< dual test (-d/-r)
inline constexpr std::uint32_t kHeaderExtend = 0x40000000;
inline constexpr std::uint32_t kHeaderVersion2 = 0x04000000;
inline constexpr std::uint32_t kHeaderLenBit = 0x00010000;
inline constexpr std::uint32_t kHeaderLenMask = 0x000001fe;
inline constexpr std::uint32_t kHeaderRunNow = 0x00000001;  ///< dual: connect back at once (-d)
inline constexpr std::uint16_t kUpperReverse = 0x0400;
inline constexpr std::size_t kMaxHeader = 256;

/// What the client's header asks for.
struct Header {
    std::uint32_t flags = 0;
    std::uint32_t threads = 1;
    std::int32_t amount = 0;       ///< < 0: -time in 10 ms units; > 0: bytes
    bool extended = false;
    bool reverse = false;
    bool dual = false;
    bool run_now = false;          ///< dual: at once (-d), else after the client's test (-r)
    std::uint16_t port = 0;        ///< dual: the client's listening port
};

/// How many bytes the header starting with `first4` takes (0: no header, old clients
/// without flags), from its flags word.
[[nodiscard]] std::size_t header_length(std::uint32_t flags) noexcept;
/// Parses a complete header (header_length bytes). Nullopt-like error when too short.
[[nodiscard]] Result<Header, std::string> parse_header(std::span<const std::uint8_t> bytes);
/// The 28-byte acknowledgement `iperf -s` 2.1.8 sends for an extended header.
[[nodiscard]] std::span<const std::uint8_t> header_ack() noexcept;
/// iperf's "[  1] 0.0000-1.0000 sec  12.5 MBytes   105 Mbits/sec" line.
[[nodiscard]] std::string interval_line(const std::string& id, double from, double to, std::uint64_t bytes);

class Iperf2App final : public dpdk::WorkerApp {
public:
    explicit Iperf2App(std::vector<std::uint16_t> ports);

    Result<void, std::string> start(engine::Engine& e) override;
    void on_accept(engine::Engine& e, tcp::Connection& c) override;
    void on_readable(engine::Engine& e, tcp::Connection& c) override { handle(e, c); }
    void on_writable(engine::Engine& e, tcp::Connection& c) override { handle(e, c); }
    void on_peer_closed(engine::Engine& e, tcp::Connection& c) override { handle(e, c); }
    void on_connected(engine::Engine& e, tcp::Connection& c) override;
    void on_closed(engine::Engine& e, tcp::Connection& c) override;
    void after_poll(engine::Engine& e) override;

private:
    struct Flow {
        int id = 0;
        std::vector<std::uint8_t> head;  // the first bytes, until the header is known
        bool header_done = false;
        Header hdr;
        std::uint64_t bytes = 0;         // received, or sent in a reverse test
        std::uint64_t bytes_reported = 0;
        Instant start;
        Instant next_report;
        Instant send_until = tcp::kNever;     // reverse: when to stop sending (time mode)
        std::uint64_t send_left = 0;     // reverse: bytes left (amount mode)
        bool sending = false;
        bool done = false;               // summary printed
        bool back = false;               // our connect-back of a dual test
        bool connected = false;
        int tries = 0;                   // connect-back: attempts so far
    };
    struct Back {                        // a connect-back to open (outside the callbacks)
        Ipv4Addr remote;
        std::uint16_t port = 0;
        std::int32_t amount = 0;
        Instant not_before;              // a retry: the client's listener may not be up yet
        int tries = 0;
    };
    struct Group {                       // the streams of one -P test
        std::uint32_t expected = 0;
        std::uint32_t ended = 0;
        std::uint64_t bytes = 0;
        Instant start;
    };

    void handle(engine::Engine& e, tcp::Connection& c);
    void on_header(engine::Engine& e, tcp::Connection& c, Flow& f);
    void fill(engine::Engine& e, tcp::Connection& c, Flow& f);
    /// Starts sending for `amount` (the header's), from now.
    void start_sending(engine::Engine& e, Flow& f, std::int32_t amount);
    void connect_back(engine::Engine& e, const Back& b);
    /// Prints the summary; closes the connection when `live` (not from on_closed).
    void finish(engine::Engine& e, tcp::Connection& c, Flow& f, bool live);

    std::vector<std::uint16_t> ports_;
    std::unordered_map<tcp::Connection*, Flow> flows_;
    std::unordered_map<std::uint32_t, Group> groups_;  // by client address
    std::vector<Back> backs_;
    std::vector<std::uint8_t> pattern_;
    std::vector<std::uint8_t> scratch_;
    int next_id_ = 1;
    Instant next_due_ = tcp::kNever;
};

}  // namespace ustcp::iperf2
