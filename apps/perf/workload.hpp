// ustcp-perf's workloads, written once against a small transport seam (Io) and driven by
// both backends: ustcp (tcp::Connection on Launcher lcores) and linux (kernel sockets on
// epoll). Nothing here does I/O or reads a clock: a backend calls in with an Io for the
// connection and the time, and acts on the Step it gets back.
//
//   ClientEnv env(workload);                        // the settings, a send pattern, a read buffer
//   ClientConn conn;
//   conn.begin(now);                                // connect() issued
//   step = conn.on_connected(env, io, now, sink);   // header (and first requests) sent
//   step = conn.on_event(env, io, now, sink);       // readable / writable / peer closed
//   // Step::Done: close the connection (reset when conn.reset_on_done()), open the next
//   // Step::Failed: conn.error() says why; sink.c.errors was counted
//
//   ServerConn s;                                   // one per accepted connection
//   step = s.on_event(senv, io, counters);          // Step::Close / Step::Refuse: close it
//
// Meter cuts a worker's run into warm-up, measured intervals and the end, and keeps each
// interval's counters and latency histogram in memory reserved up front, so that a worker
// allocates nothing while it runs. IntervalLog publishes them to the thread that prints.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "protocol.hpp"
#include "ustcp/base/histogram.hpp"
#include "ustcp/base/time.hpp"

namespace ustcp::perf {

// ---- the transport seam ----

enum class IoStatus : std::uint8_t {
    Ok,          ///< n > 0 bytes moved
    WouldBlock,  ///< nothing now; the backend calls on_event() again when that changes
    Eof,         ///< recv: the peer's FIN, everything before it read
    Error,       ///< the connection failed (reset, timed out)
};
struct IoResult {
    std::size_t n = 0;
    IoStatus status = IoStatus::Ok;
};

/// One connection's byte stream.
class Io {
public:
    virtual IoResult send(std::span<const std::uint8_t> bytes) = 0;
    virtual IoResult recv(std::span<std::uint8_t> into) = 0;
    /// The time now, for a backend whose calls take real time (kernel sockets: one on_event
    /// may loop over several reads and sends). Default: `given`, the time of the event (an
    /// engine's poll, where nothing new arrives during a callback).
    [[nodiscard]] virtual Instant refresh(Instant given) const { return given; }

protected:
    ~Io() = default;
};

// ---- counters ----

struct Counters {
    std::uint64_t requests = 0;        ///< rr/crr/http exchanges completed
    std::uint64_t connects = 0;        ///< connections established
    std::uint64_t bytes_sent = 0;      ///< bytes the transport took
    std::uint64_t bytes_received = 0;
    std::uint64_t errors = 0;          ///< failed connects, resets, unexpected closes, bad responses
    std::uint64_t http_2xx = 0;
    std::uint64_t http_non_2xx = 0;
    void add(const Counters& o) noexcept;
};

/// Where a connection's events are counted: the current interval, or a scratch sink during
/// warm-up and after the end.
struct Sink {
    Counters c;
    Histogram* latency = nullptr;  ///< nanoseconds per exchange; may be null
    void record(std::uint64_t ns) noexcept {
        if (latency != nullptr) latency->record(ns);
    }
};

// ---- the client ----

struct Workload {
    Mode mode = Mode::Rr;
    Direction direction = Direction::Send;  ///< bulk
    std::uint32_t req_size = 64;            ///< rr/crr
    std::uint32_t resp_size = 64;           ///< rr/crr
    std::uint32_t depth = 1;                ///< rr: requests in flight per connection, 1..kMaxDepth
    std::string http_request;               ///< http: the request (protocol.hpp http_request())
    bool http_close = false;                ///< http: a new connection per request
    std::uint32_t iperf_seconds = 10;       ///< iperf: the header's -t
    static constexpr std::uint32_t kMaxDepth = 1024;
};

/// What every connection of one backend thread shares: the settings, a pattern to send,
/// a buffer to read into.
struct ClientEnv {
    explicit ClientEnv(Workload w);
    Workload w;
    std::vector<std::uint8_t> pattern;
    mutable std::vector<std::uint8_t> scratch;  ///< what a read lands in (the bytes are dropped)
    [[nodiscard]] std::span<std::uint8_t> scratch_span() const noexcept { return scratch; }
};

class ClientConn {
public:
    enum class Step : std::uint8_t {
        Continue,
        Done,    ///< this connection's work is complete (crr, http --http-close): close it, open the next
        Failed,  ///< error() says why; counted in Sink::c.errors
    };

    /// A connection is being opened (connect issued) at `now`: every per-connection state reset.
    void begin(Instant now);
    Step on_connected(const ClientEnv& env, Io& io, Instant now, Sink& s);
    Step on_event(const ClientEnv& env, Io& io, Instant now, Sink& s);
    /// The connection failed outside on_event (refused, reset): counts the error.
    void fail(Sink& s, std::string why);
    /// The run is over: no new requests start; the backend closes the connection.
    void stop() noexcept { stopped_ = true; }

    [[nodiscard]] bool established() const noexcept { return connected_; }
    [[nodiscard]] bool failed() const noexcept { return !error_.empty(); }
    [[nodiscard]] const std::string& error() const noexcept { return error_; }
    /// crr ends each connection with a reset (no TIME-WAIT on either side).
    [[nodiscard]] static bool reset_on_done(const Workload& w) noexcept { return w.mode == Mode::Crr; }

private:
    Step pump(const ClientEnv& env, Io& io, Instant now, Sink& s);
    bool send_bytes(Io& io, std::span<const std::uint8_t> b, std::size_t& off, Sink& s, Step& st);
    Step failed_with(Sink& s, std::string why);

    Instant opened_;
    bool connected_ = false;
    bool stopped_ = false;
    std::string error_;
    // header (or request) bytes still to send, from hdr_
    std::array<std::uint8_t, 64> hdr_{};
    std::size_t hdr_len_ = 0;
    std::size_t hdr_off_ = 0;
    // rr/crr/http: requests started and not answered, their start times (a ring of depth)
    std::vector<Instant> starts_;
    std::size_t first_ = 0;
    std::size_t inflight_ = 0;
    std::uint64_t req_left_ = 0;   // bytes of the request being sent
    std::uint64_t resp_got_ = 0;   // bytes of the response being received
    std::uint64_t exchanges_ = 0;  // completed on this connection
    HttpResponseReader http_;
};

// ---- the server ----

struct ServerCounters {
    std::uint64_t accepted = 0;
    std::uint64_t refused = 0;                 ///< bad headers, all reasons
    std::uint64_t bad_header[kHeaderErrorCount] = {};
    std::uint64_t requests = 0;                ///< rr/crr requests answered
    std::uint64_t bytes_in = 0;
    std::uint64_t bytes_out = 0;
    std::uint64_t by_mode[5] = {};             ///< connections by Mode (index 1..4)
    void add(const ServerCounters& o) noexcept;
};

struct ServerEnv {
    ServerEnv();
    std::vector<std::uint8_t> pattern;
    mutable std::vector<std::uint8_t> scratch;
    [[nodiscard]] std::span<std::uint8_t> scratch_span() const noexcept { return scratch; }
};

class ServerConn {
public:
    enum class Step : std::uint8_t {
        Continue,
        Close,   ///< the client is done (its FIN) or failed: close the connection
        Refuse,  ///< a bad header (refused_why()): counted; close the connection
    };
    Step on_event(const ServerEnv& env, Io& io, ServerCounters& c);
    [[nodiscard]] const std::optional<Header>& header() const noexcept { return hdr_; }
    [[nodiscard]] std::optional<HeaderError> refused_why() const noexcept { return refused_; }

private:
    std::array<std::uint8_t, kHeaderSize> head_{};
    std::size_t head_len_ = 0;
    std::optional<Header> hdr_;
    std::optional<HeaderError> refused_;
    std::uint64_t req_got_ = 0;  // bytes of the current request
    std::uint64_t owed_ = 0;     // response bytes still to send
};

// ---- intervals ----

struct RunSpec {
    Duration warmup = Duration::zero();
    Duration duration = Duration::seconds(10);
    Duration interval = Duration::seconds(1);
    [[nodiscard]] std::size_t intervals() const noexcept;
};

struct Interval {
    Duration end;               ///< from the start of the measurement
    Duration length;
    Counters c;
    std::uint64_t established = 0;  ///< connections established at its end
    Histogram latency;
};

/// One worker's intervals: written by that worker, read by the printing thread once published.
class IntervalLog {
public:
    explicit IntervalLog(std::size_t capacity);
    [[nodiscard]] std::size_t capacity() const noexcept { return slots_.size(); }
    [[nodiscard]] Interval& slot(std::size_t i) noexcept { return *slots_[i]; }
    [[nodiscard]] const Interval& at(std::size_t i) const noexcept { return *slots_[i]; }
    /// Writer: slot(i) for every i < n is complete.
    void publish(std::size_t n) noexcept { published_.store(n, std::memory_order_release); }
    [[nodiscard]] std::size_t published() const noexcept { return published_.load(std::memory_order_acquire); }

private:
    std::vector<std::unique_ptr<Interval>> slots_;
    std::atomic<std::size_t> published_{0};
};

/// One worker's clock of the run: warm-up, the measured intervals, then the end.
class Meter {
public:
    enum class Phase : std::uint8_t { Warmup, Measure, Done };
    Meter(const RunSpec& spec, IntervalLog& log);
    /// The run starts at `now` (the first connects).
    void start(Instant now) noexcept;
    [[nodiscard]] bool started() const noexcept { return started_; }
    [[nodiscard]] Phase phase(Instant now) const noexcept;
    /// Where to count now: the open interval while measuring, else a scratch sink.
    [[nodiscard]] Sink& sink() noexcept { return open_ ? cur_ : scratch_; }
    /// Closes the intervals that ended by `now` (publishing them) and opens the next.
    /// `established`: the worker's established connections now. Call often (every poll).
    void roll(Instant now, std::uint64_t established) noexcept;
    [[nodiscard]] Instant end() const noexcept { return measure_start_ + spec_.duration; }

private:
    void open(std::size_t i) noexcept;
    RunSpec spec_;
    IntervalLog& log_;
    bool started_ = false;
    bool open_ = false;
    Instant measure_start_;
    std::size_t next_ = 0;  // the interval being filled
    Sink cur_;
    Sink scratch_;
};

/// A backend thread's client connections: opens them, reopens those that finished (crr,
/// http --http-close) or failed, gives up on connects that take longer than the timeout, and
/// stops everything when the meter says the run is over. The backend does the I/O through
/// PoolBackend and reports each connection's events by slot.
class PoolBackend {
public:
    /// Issue a connect for `slot`; false when it failed at once (why in `err`).
    virtual bool open(std::size_t slot, std::string& err) = 0;
    /// Close `slot`'s connection: a FIN, or a reset when `reset`. Its events stop.
    virtual void close(std::size_t slot, bool reset) = 0;

protected:
    ~PoolBackend() = default;
};

class ClientPool {
public:
    /// Connects issued per tick at most.
    static constexpr std::size_t kOpensPerTick = 64;
    /// Connects in progress at most: opens wait while this many handshakes are unanswered, so
    /// that a hold of millions paces itself by the server's answers and never overruns its
    /// SYN backlog (1024 per listener and lcore by default) or the links' rings.
    static constexpr std::size_t kMaxConnecting = 512;

    ClientPool(const ClientEnv& env, Meter& meter, std::size_t conns, PoolBackend& backend, Duration connect_timeout);
    /// Every poll: starts the run at the first call, rolls the meter, opens what is due,
    /// times out slow connects, and closes everything once the run is over. The work is that
    /// of the connections opened or timed out, not of the pool's size (queues, not a scan).
    void tick(Instant now);
    void on_connected(std::size_t slot, Io& io, Instant now);
    void on_event(std::size_t slot, Io& io, Instant now);
    /// The backend saw the connection fail or close: counted (unless it was ours to close).
    void on_failed(std::size_t slot, Instant now, const std::string& why);
    [[nodiscard]] bool finished() const noexcept { return stopped_; }
    [[nodiscard]] std::uint64_t established() const noexcept { return established_; }
    [[nodiscard]] std::size_t size() const noexcept { return slots_.size(); }
    /// Connects in progress now.
    [[nodiscard]] std::size_t connecting() const noexcept { return connecting_; }
    /// The first few errors seen, for the log.
    [[nodiscard]] const std::vector<std::string>& first_errors() const noexcept { return first_errors_; }
    /// Connects still in progress when the run ended (not errors: the server may just be slow).
    [[nodiscard]] std::size_t pending_at_end() const noexcept { return pending_at_end_; }

private:
    enum class State : std::uint8_t { Idle, Connecting, Open };
    struct Slot {
        State state = State::Idle;
        Instant not_before;
        Instant since;
        ClientConn conn;
    };
    void handle(std::size_t i, ClientConn::Step st, Instant now);
    void drop(std::size_t i, Instant now, bool reset, Duration delay);
    void leave_connecting(Slot& s) noexcept;
    void note(const std::string& why);

    const ClientEnv& env_;
    Meter& meter_;
    PoolBackend& backend_;
    Duration connect_timeout_;
    std::vector<Slot> slots_;
    // Idle slots in the order they became idle: ready_ may open now, retry_ after its 10 ms
    // back-off (each queue's not_before only grows, so only its head needs a look).
    std::deque<std::size_t> ready_;
    std::deque<std::size_t> retry_;
    // Connects in the order they were issued, with their start (an entry whose slot moved on is
    // skipped when it reaches the head).
    std::deque<std::pair<std::size_t, Instant>> pending_;
    std::size_t connecting_ = 0;
    std::uint64_t established_ = 0;
    bool stopped_ = false;
    std::size_t pending_at_end_ = 0;
    std::vector<std::string> first_errors_;
};

/// The merged view of every worker's intervals, and what the printing thread shows.
struct Totals {
    Counters c;
    std::uint64_t established_max = 0;
    Duration measured = Duration::zero();
    std::unique_ptr<Histogram> latency = std::make_unique<Histogram>();
};

}  // namespace ustcp::perf
