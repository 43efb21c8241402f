// The perf protocol (ustcp-perf against ustcp-server --app perf or `ustcp-perf --serve`), and
// the bytes of the foreign protocols ustcp-perf speaks as a client (iperf 2, HTTP/1.1).
//
// A perf connection opens with the client's 16-byte header (big-endian):
//
//   0  magic     "USPF" (0x55 0x53 0x50 0x46)
//   4  version   1
//   5  mode      1 bulk, 2 rr, 3 crr, 4 hold
//   6  direction 0 send (the client sends, the server discards), 1 recv (the server sends);
//                bulk only, 0 otherwise
//   7  flags     0 (reserved; anything else is refused)
//   8  req_size  rr/crr: bytes of each request, 1..kMaxMessage; 0 otherwise
//   12 resp_size rr/crr: bytes of each response, 1..kMaxMessage; 0 otherwise
//
// Then: rr: the client sends requests of req_size bytes back to back (pipelined up to its
// depth), and the server answers each complete request with resp_size bytes. crr: one such
// exchange, then the client resets the connection (no TIME-WAIT on either side). bulk send:
// the server reads and drops; bulk recv: the server sends until the client closes. hold: the
// connection stays open and idle until the client closes. A header that fails any check is
// refused with its HeaderError (counted by reason, logged, the connection closed).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "ustcp/base/result.hpp"

namespace ustcp::perf {

enum class Mode : std::uint8_t { Bulk = 1, Rr = 2, Crr = 3, Hold = 4, Http = 5, Iperf = 6 };
enum class Direction : std::uint8_t { Send = 0, Recv = 1 };

[[nodiscard]] std::string_view to_string(Mode m) noexcept;
[[nodiscard]] std::optional<Mode> parse_mode(std::string_view s) noexcept;

inline constexpr std::size_t kHeaderSize = 16;
inline constexpr std::uint8_t kVersion = 1;
inline constexpr std::uint32_t kMaxMessage = 16u << 20;  ///< 16 MiB: a request or response

struct Header {
    Mode mode = Mode::Rr;
    Direction direction = Direction::Send;
    std::uint32_t req_size = 0;
    std::uint32_t resp_size = 0;
    friend bool operator==(const Header&, const Header&) = default;
};

enum class HeaderError : std::uint8_t {
    BadMagic,      ///< not "USPF"
    BadVersion,    ///< not version 1
    BadMode,       ///< not bulk, rr, crr or hold
    BadDirection,  ///< not 0 or 1, or recv in a mode other than bulk
    BadFlags,      ///< reserved bits set
    BadSize,       ///< rr/crr size 0 or above kMaxMessage, or a size given in a mode without
};
inline constexpr std::size_t kHeaderErrorCount = 6;
[[nodiscard]] std::string_view to_string(HeaderError e) noexcept;

/// The header's bytes. Precondition: `h` is what parse_header() accepts.
[[nodiscard]] std::array<std::uint8_t, kHeaderSize> encode_header(const Header& h) noexcept;
/// Checks and decodes exactly kHeaderSize bytes.
[[nodiscard]] Result<Header, HeaderError> parse_header(std::span<const std::uint8_t, kHeaderSize> b) noexcept;

// ---- iperf 2 (2.1.8) client ----

/// The 60-byte header `iperf -c HOST -t SECONDS` (2.1.8) opens its connection with:
/// HEADER_EXTEND | HEADER_LEN_BIT with length 60, one thread, port 5001, the amount as
/// -(SECONDS * 100) (time in 10 ms units), then its version 2.1.8 (apps/ustcp-server's
/// iperf2_app.hpp parses it; tests/apps checks the two agree).
[[nodiscard]] std::array<std::uint8_t, 60> iperf2_client_header(std::uint32_t seconds, std::uint16_t port = 5001) noexcept;
/// What the server answers an extended header with, which the client reads and ignores.
inline constexpr std::size_t kIperf2AckSize = 28;

// ---- HTTP/1.1 client ----

/// "GET PATH HTTP/1.1\r\nHost: HOST\r\n[Connection: close\r\n]\r\n"
[[nodiscard]] std::string http_request(std::string_view host, std::string_view path, bool close);

/// Reads HTTP/1.1 responses from a byte stream, one after another: the status line, the
/// header fields (Content-Length, Transfer-Encoding, Connection), the body by its length.
/// Chunked bodies are refused (an error), so is a head above kMaxHead bytes.
class HttpResponseReader {
public:
    static constexpr std::size_t kMaxHead = 16384;
    struct Response {
        int status = 0;
        bool close = false;  ///< "Connection: close", or HTTP/1.0 without "Connection: keep-alive"
    };
    enum class State : std::uint8_t { Head, Body, Failed };

    /// Consumes bytes from `in` up to the end of one response (or all of `in` when it does
    /// not finish one). Returns how many were consumed; `done` is set when a response ended.
    std::size_t feed(std::span<const std::uint8_t> in, std::optional<Response>& done);
    /// The server closed: a body without a length ends here. Returns the response it ended.
    std::optional<Response> on_eof();
    [[nodiscard]] State state() const noexcept { return state_; }
    [[nodiscard]] const std::string& error() const noexcept { return error_; }

private:
    bool parse_head();
    State state_ = State::Head;
    std::string head_;
    Response cur_{};
    std::optional<std::uint64_t> body_left_;  // nullopt in Body: until EOF
    std::string error_;
};

}  // namespace ustcp::perf
