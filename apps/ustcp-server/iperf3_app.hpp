// The iperf3 server (`--app iperf3`, port 5201): what a Linux `iperf3 -s` does for TCP tests,
// so that the real `iperf3 -c` (3.x, with -P, -R, --bidir, -t, -l, -O, -J) completes against us.
//
// The wire protocol, as seen on a capture of iperf3 3.12 against itself:
//   control connection:  client -> 37-byte cookie (36 printable characters and a NUL)
//                        server -> PARAM_EXCHANGE (9), one signed byte
//                        client -> 4-byte big-endian length, then that many bytes of JSON
//                                  ({"tcp":true,"omit":0,"time":10,"parallel":1,"len":131072,...})
//                        server -> CREATE_STREAMS (10)
//   each stream:         client connects again, sends the same cookie, then data (or reads
//                        it when the server sends: -R, and the second half of --bidir)
//                        server -> TEST_START (1), TEST_RUNNING (2) once every stream is in
//   after -t:            client -> TEST_END (4);        server -> EXCHANGE_RESULTS (13)
//                        client -> length + results JSON; server -> length + results JSON
//                        server -> DISPLAY_RESULTS (14); client -> IPERF_DONE (16), closes
// A connection whose cookie arrives while a test runs is told ACCESS_DENIED (-1) and closed.
// Stream ids are 1, 3, 4, 5, ... in the order the streams connect (iperf3 numbers them so);
// with --bidir the first `parallel` streams carry data to us, the rest from us.
//
// The parsing is separate from the connections (ControlBuffer, parse_params, results_json)
// so that it is tested byte by byte (tests/apps/test_iperf3.cpp). Malformed control input
// (bad cookie, a length of 0 or over kMaxJson, JSON that does not parse, a state byte out
// of turn, a non-TCP test) ends the test: the control connection and the streams are
// closed and the reason is logged.
//
// One test at a time (as iperf3 -s), on any number of worker lcores: the Registry, shared by
// every engine, finds a stream's test by its cookie wherever the stream lands; streams on
// other lcores follow the control connection's state changes and report their counts into
// the test's slots for the results exchange. A control connection silent for
// Iperf3Settings::idle_timeout (app.iperf3_idle_timeout) ends its test, freeing the server.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ustcp/base/result.hpp"
#include "ustcp/base/time.hpp"
#include "ustcp/dpdk/launcher.hpp"

namespace ustcp::iperf3 {

/// The control connection's state bytes (iperf3's iperf_api.h values).
enum class StateByte : std::int8_t {
    TestStart = 1,
    TestRunning = 2,
    TestEnd = 4,
    ParamExchange = 9,
    CreateStreams = 10,
    ServerTerminate = 11,
    ClientTerminate = 12,
    ExchangeResults = 13,
    DisplayResults = 14,
    IperfStart = 15,
    IperfDone = 16,
    AccessDenied = -1,
    ServerError = -2,
};

inline constexpr std::size_t kCookieSize = 37;            ///< 36 characters and a NUL
inline constexpr std::uint32_t kMaxJson = 256 * 1024;     ///< longest JSON message accepted
inline constexpr std::uint32_t kMaxParallel = 128;
inline constexpr std::uint32_t kMaxBlock = 16u << 20;     ///< iperf3's own limit for -l

/// The test parameters the client sends (the keys we act on or check).
struct Params {
    bool tcp = false;
    std::uint32_t omit = 0;       ///< seconds at the start left out of the results
    std::uint32_t time = 10;      ///< seconds (the client keeps time; 0 with -n/-k)
    std::uint64_t num = 0;        ///< -n bytes
    std::uint64_t blockcount = 0; ///< -k blocks
    std::uint32_t len = 128 * 1024;
    std::uint32_t parallel = 1;
    bool reverse = false;
    bool bidirectional = false;

    /// Streams the client opens: parallel, twice that with --bidir.
    [[nodiscard]] std::uint32_t streams() const noexcept { return bidirectional ? 2 * parallel : parallel; }
    /// Whether the stream of index `i` (in connect order) is one we send on.
    [[nodiscard]] bool server_sends(std::uint32_t i) const noexcept {
        return bidirectional ? i >= parallel : reverse;
    }
};

/// Parses the client's parameter JSON. Errors name the problem: not JSON, not an object,
/// a known key of the wrong type or out of range, a test that is not TCP.
[[nodiscard]] Result<Params, std::string> parse_params(std::string_view json);
/// Whether `json` is one well-formed JSON object (the client's results, which we only check).
[[nodiscard]] Result<void, std::string> check_object(std::string_view json);
/// Whether `cookie` is kCookieSize bytes: printable ASCII, then a NUL.
[[nodiscard]] bool valid_cookie(std::span<const std::uint8_t> cookie) noexcept;
/// iperf3's stream ids: 1 for the first stream, then index + 2 (1, 3, 4, 5, ...).
[[nodiscard]] constexpr int stream_id(std::uint32_t index) noexcept { return index == 0 ? 1 : static_cast<int>(index) + 2; }

/// One stream's line in the results we send.
struct StreamResult {
    int id = 0;
    std::uint64_t bytes = 0;       ///< received, or sent when we send on it
    std::int64_t retransmits = -1; ///< -1: not a sender
    double start = 0;              ///< seconds since the test (less omit) started
    double end = 0;
};
/// The server's results JSON (the keys the client requires: cpu_util_*, sender_has_retransmits,
/// streams with id, bytes, retransmits, jitter, errors, packets, start_time, end_time).
[[nodiscard]] std::string results_json(std::span<const StreamResult> streams, bool sender_has_retransmits);

/// A control connection's bytes, as they arrive; messages are taken off the front.
class ControlBuffer {
public:
    enum class Take : std::uint8_t { Done, NeedMore, Bad };

    /// Appends bytes received. False (nothing kept) when the buffer would exceed what one
    /// message can need: a peer sending a flood.
    bool append(std::span<const std::uint8_t> bytes);
    [[nodiscard]] std::size_t size() const noexcept { return buf_.size() - pos_; }
    /// The cookie (kCookieSize bytes, without its NUL). Bad: not a valid cookie.
    Take take_cookie(std::string& cookie, std::string& why);
    /// One state byte.
    Take take_state(std::int8_t& state);
    /// A length-prefixed JSON message. Bad: length 0 or over kMaxJson.
    Take take_json(std::string& json, std::string& why);

private:
    [[nodiscard]] const std::uint8_t* front() const noexcept { return buf_.data() + pos_; }
    void consume(std::size_t n);
    std::vector<std::uint8_t> buf_;
    std::size_t pos_ = 0;
};

/// What every engine's Iperf3App shares: the test running, by its cookie. With several worker
/// lcores a test's streams can land anywhere (software steering or RSS picks a flow's lcore
/// from its 4-tuple), so the engine that reads a stream's cookie looks the test up here.
///
/// Off the fast path: the mutex is taken when a connection's cookie arrives (claim()), when
/// the parameters are in (set_params()) and when the test ends (release()) - a few times
/// per test. While the test runs, each stream's lcore reads the test's `phase` (one atomic
/// load per loop iteration while it holds streams) to start and stop sending, and counts
/// its bytes in its own memory; a stream's counts are written to its Slot once, when it
/// closes, and published by `reported` (release), which the control's lcore waits for
/// before it answers the client's results.
class Registry {
public:
    enum class Phase : std::uint8_t { Params, Streams, Running, Ended };
    struct Slot {
        unsigned lcore = 0;             ///< the stream's lcore (set by claim())
        Instant opened;                 ///< its SYN's poll (set by claim())
        std::uint32_t order = 0;        ///< its place in the client's connect order (order_streams())
        bool sends = false;             ///< we send on it (-R, second half of --bidir; order_streams())
        std::uint64_t bytes = 0;        ///< after omit; valid once `reported`
        std::uint64_t retransmits = 0;  ///< valid once `reported`
        std::atomic<bool> reported{false};
    };
    struct Test {
        std::string cookie;
        unsigned control_lcore = 0;
        Params params;                     ///< set under the mutex before phase Streams
        std::unique_ptr<Slot[]> slots;     ///< params.streams() of them, set with params
        std::uint32_t claimed = 0;         ///< under the mutex
        Instant start;                     ///< TEST_RUNNING: written before phase Running (release)
        std::atomic<Phase> phase{Phase::Params};
        std::atomic<std::uint32_t> joined{0};    ///< streams claimed
        std::atomic<std::uint32_t> reported{0};  ///< slots whose counts are in
    };
    struct Claim {
        enum class Kind : std::uint8_t { Control, Stream, Denied } kind = Kind::Denied;
        std::shared_ptr<Test> test;
        std::uint32_t index = 0;  ///< Stream: its index in connect order
        std::string why;          ///< Denied: the reason
    };

    /// `max_tests`: tests at a time (iperf3 -s serves one).
    explicit Registry(std::size_t max_tests = 1) : max_tests_(max_tests) {}
    /// A connection's cookie on `lcore` (`opened`: Engine::opened_at): a stream of the test
    /// with that cookie when it is waiting for streams, else a new test's control connection
    /// when there is room, else denied (busy, or a stream more than the test asked for).
    [[nodiscard]] Claim claim(std::string_view cookie, unsigned lcore, Instant opened = {});
    /// The control's lcore, once every stream joined: each slot's place in the client's
    /// connect order, and so its iperf3 id and whether we send on it. Cookies reach their
    /// lcores in any order (one lcore may be slower to read its queue), but the client opens
    /// its streams one after the other - stream k+1's SYN leaves only once stream k's
    /// SYN-ACK came back - so the order of the SYNs' polls is the client's order.
    void order_streams(Test& t);
    /// The control's lcore: the parameters are in; streams may be claimed from now on.
    void set_params(Test& t, const Params& p);
    /// The control's lcore: the test is over (phase Ended) and its entry freed; streams
    /// still open elsewhere close at their lcore's next poll and report into their slots.
    void release(Test& t);
    [[nodiscard]] std::size_t tests() const;

private:
    mutable std::mutex mu_;
    std::size_t max_tests_;
    std::unordered_map<std::string, std::shared_ptr<Test>> tests_;
};

struct Iperf3Settings {
    std::vector<std::uint16_t> ports{5201};
    std::shared_ptr<Registry> registry;  ///< the same for every engine
    unsigned lcore = 0;                  ///< this engine's (logged with each stream)
    /// A control connection silent this long ends its test (while the test runs: after its
    /// -t plus -O plus this); a connection without its cookie after this long is closed.
    Duration idle_timeout = Duration::seconds(60);
};

/// The server on one engine.
class Iperf3App final : public dpdk::WorkerApp {
public:
    explicit Iperf3App(Iperf3Settings s);

    Result<void, std::string> start(engine::Engine& e) override;
    void on_accept(engine::Engine& e, tcp::Connection& c) override { handle(e, c); }
    void on_readable(engine::Engine& e, tcp::Connection& c) override { handle(e, c); }
    void on_writable(engine::Engine& e, tcp::Connection& c) override { handle(e, c); }
    void on_peer_closed(engine::Engine& e, tcp::Connection& c) override { handle(e, c); }
    void on_closed(engine::Engine& e, tcp::Connection& c) override;
    void after_poll(engine::Engine& e) override;
    void report(std::string& out) const override;

private:
    enum class Role : std::uint8_t { New, Control, Stream, Gone };
    enum class Phase : std::uint8_t { Params, Streams, Running, Results, Done };
    struct Peer {
        Role role = Role::New;
        ControlBuffer in;             // New and Control: bytes not yet understood
        Instant since;                // New: accepted at
    };
    /// A stream on this engine, of a test whose control may be on any engine.
    struct Stream {
        std::shared_ptr<Registry::Test> test;
        std::uint32_t index = 0;
        bool sends = false;
        Registry::Phase seen = Registry::Phase::Streams;  // the test's phase as last acted on
        std::uint64_t bytes = 0;
        std::uint64_t omitted = 0;        // bytes counted before the omit period ended
        bool omit_over = false;
    };
    /// The test whose control connection is on this engine.
    struct Test {
        tcp::Connection* control = nullptr;
        std::shared_ptr<Registry::Test> shared;
        Phase phase = Phase::Params;
        Instant start;                    // TEST_RUNNING sent
        Instant end;                      // TEST_END received
        Instant heard;                    // the last control message or stream joining
        std::uint32_t joined = 0;         // streams seen joined
        bool results_wait = false;        // the client's results are in; ours wait for the counts
    };

    void handle(engine::Engine& e, tcp::Connection& c);
    void handle_new(engine::Engine& e, tcp::Connection& c, Peer& p);
    void handle_control(engine::Engine& e, tcp::Connection& c, Peer& p);
    void handle_stream(engine::Engine& e, tcp::Connection& c);
    void drain(engine::Engine& e, tcp::Connection& c, Stream* s);
    void fill(engine::Engine& e, tcp::Connection& c, Stream& s);
    bool send_state(engine::Engine& e, tcp::Connection& c, StateByte b);
    bool send_json(engine::Engine& e, tcp::Connection& c, const std::string& json);
    /// Every stream joined: TEST_START, TEST_RUNNING.
    void begin_test(engine::Engine& e);
    /// The client's results are in and every stream's counts: ours, then DISPLAY_RESULTS.
    void send_results(engine::Engine& e);
    /// Acts on the phase of each stream's test: starts sending when it runs, closes the
    /// stream and reports its counts when it has ended, counts the omit period.
    void poll_streams(engine::Engine& e);
    /// Reads what is left, writes the counts into the stream's slot, closes (FIN after the
    /// queued data) and forgets the stream.
    void finish_stream(engine::Engine& e, tcp::Connection& c);
    /// Writes the stream's counts into its slot and publishes them (Slot::reported).
    static void report_stream(const tcp::Connection& c, const Stream& s);
    void check_idle(engine::Engine& e);
    void end_test(engine::Engine& e, std::string_view why, bool failed);

    Iperf3Settings set_;
    std::unordered_map<tcp::Connection*, Peer> peers_;
    std::unordered_map<tcp::Connection*, Stream> streams_;
    std::optional<Test> test_;
    std::vector<std::uint8_t> pattern_;   // what we send
    std::vector<std::uint8_t> scratch_;   // what we read and drop
    Instant next_idle_check_;
    std::uint64_t tests_done_ = 0;
    std::uint64_t tests_failed_ = 0;
    std::uint64_t denied_ = 0;
    std::uint64_t idle_closed_ = 0;
    std::uint64_t streams_served_ = 0;
};

}  // namespace ustcp::iperf3
