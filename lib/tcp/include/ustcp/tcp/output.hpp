// What a call into lib/tcp produces: segments to send and events for the
// application, collected in an Outbox the engine drains after each burst. The
// Outbox has fixed capacity, so the protocol core never allocates. A connection
// stops producing data segments when the outbox is full (output() resumes on the
// next call or timer); a bare ACK or RST that finds it full is counted and lost,
// which the peer's retransmission repairs.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <span>

#include "ustcp/base/addr.hpp"
#include "ustcp/tcp/send_queue.hpp"
#include "ustcp/wire/bytes.hpp"
#include "ustcp/wire/tcp.hpp"

namespace ustcp::tcp {

class Connection;

/// Errors returned by user calls and carried by events, with their errno.
enum class Error : std::uint8_t {
    ConnectionRefused,  ///< ECONNREFUSED: RST in answer to our SYN
    ConnectionReset,    ///< ECONNRESET: RST in a synchronized state
    TimedOut,           ///< ETIMEDOUT: retransmissions exhausted
    BrokenPipe,         ///< EPIPE: send after our side was shut down
    NotConnected,       ///< ENOTCONN: call needs a connection that is not there yet / any more
    InvalidState,       ///< EISCONN/EALREADY-like: e.g. connect() twice
    WouldBlock,         ///< EAGAIN: send buffer full, or nothing to read yet
    Closing,            ///< ESHUTDOWN-like: the connection is closing (RFC 9293 "connection closing")
    AddressNotAvailable,  ///< EADDRNOTAVAIL: connect() from a local address that is not ours
};

int to_errno(Error e) noexcept;
const char* to_string(Error e) noexcept;

enum class EventKind : std::uint8_t {
    Connected,    ///< handshake finished (active open), or a passive connection was queued for accept
    AcceptReady,  ///< a listener has a connection to accept (conn is the new connection)
    Readable,     ///< new in-order data
    Writable,     ///< send buffer space returned
    PeerClosed,   ///< the peer's FIN arrived: no more data will come
    Error,        ///< the connection failed: see `error` (refused, reset, timed out)
    Closed,       ///< fully closed; the engine may free the connection now
};

struct Event {
    EventKind kind;
    Error error;  ///< meaningful for EventKind::Error
    Connection* conn;
};

/// One segment to transmit. The payload borrows the connection's send buffers, without a
/// copy: `len` bytes from `pos`, possibly across several buffers (for_each_piece() lists
/// them, as an mbuf chain of clones would). It stays valid until the engine's
/// BufferStore::collect(), which runs after the burst's segments are transmitted.
struct OutSegment {
    FourTuple tuple;  ///< from the sender's (our) point of view
    wire::TcpRepr hdr;
    SendQueue::Pos pos{};
    std::uint32_t len = 0;
    /// The connection that sent it (nullptr for a reset on behalf of no TCB): the engine
    /// re-arms that connection's timer, since sending moves its deadlines.
    const Connection* conn = nullptr;
    [[nodiscard]] std::size_t payload_len() const noexcept { return len; }
    /// f(const std::uint8_t* data, std::uint32_t n) for each buffer piece of the payload.
    template <class F>
    void for_each_piece(F&& f) const {
        ustcp::tcp::for_each_piece(pos, len, f);
    }
    /// Copies the payload to `out` (payload_len() bytes), as a NIC's DMA would gather it.
    void copy_payload(std::uint8_t* out) const noexcept {
        for_each_piece([&](const std::uint8_t* d, std::uint32_t n) {
            std::memcpy(out, d, n);
            out += n;
        });
    }
};

class Outbox {
public:
    static constexpr std::size_t kMaxSegments = 64;
    static constexpr std::size_t kMaxEvents = 64;

    void push(const OutSegment& s) noexcept {
        if (nseg_ == kMaxSegments) {
            ++seg_overflow_;
            return;
        }
        segs_[nseg_++] = s;
    }
    void event(EventKind k, Connection* c, Error e = Error::NotConnected) noexcept {
        if (nev_ == kMaxEvents) {
            ++ev_overflow_;
            return;
        }
        evs_[nev_++] = Event{k, e, c};
    }

    [[nodiscard]] std::span<const OutSegment> segments() const noexcept { return {segs_.data(), nseg_}; }
    [[nodiscard]] std::span<const Event> events() const noexcept { return {evs_.data(), nev_}; }
    [[nodiscard]] std::uint64_t segment_overflows() const noexcept { return seg_overflow_; }
    [[nodiscard]] std::uint64_t event_overflows() const noexcept { return ev_overflow_; }
    void clear() noexcept {
        nseg_ = 0;
        nev_ = 0;
    }

private:
    std::array<OutSegment, kMaxSegments> segs_{};
    std::array<Event, kMaxEvents> evs_{};
    std::size_t nseg_ = 0;
    std::size_t nev_ = 0;
    std::uint64_t seg_overflow_ = 0;
    std::uint64_t ev_overflow_ = 0;
};

}  // namespace ustcp::tcp
