// TCP tunables for one engine. lib/config fills this from the config file and
// flags; tests construct it directly. Defaults follow Linux where the RFCs leave
// a choice.
#pragma once

#include <cstdint>

#include "ustcp/base/time.hpp"
#include "ustcp/tcp/cc/congestion.hpp"

namespace ustcp::tcp {

enum class SynCookieMode : std::uint8_t {
    Off,         ///< a full SYN-RECEIVED set drops new SYNs
    OnOverflow,  ///< cookies only while the SYN-RECEIVED set is full (Linux's tcp_syncookies=1)
    Always,      ///< every SYN-ACK carries a cookie; no SYN-RECEIVED state is kept
};

enum class AcceptOverflow : std::uint8_t {
    Drop,   ///< drop the handshake's final ACK so the client retransmits it (Linux default)
    Reset,  ///< answer it with RST (Linux's tcp_abort_on_overflow=1)
};

struct Config {
    /// Our MSS option: interface MTU minus 40 (IPv4 + TCP headers).
    std::uint16_t mss = 1460;
    /// Assumed peer MSS when its SYN has no MSS option (RFC 9293 §3.7.1).
    std::uint16_t default_peer_mss = 536;
    bool window_scaling = true;  ///< RFC 7323 §2
    bool timestamps = true;      ///< RFC 7323 §3
    bool sack = true;            ///< RFC 2018: offer/accept SACK-permitted; SACK blocks, RFC 6675 recovery
    /// RACK-TLP (RFC 8985) loss detection and tail-loss probes on SACK connections. Off:
    /// RFC 6675's DupThresh and IsLost decide alone, and no probes are sent.
    bool rack = true;
    std::uint32_t send_buffer = 256 * 1024;  ///< bytes of send buffer per connection
    std::uint32_t recv_buffer = 256 * 1024;  ///< bytes of receive buffer per connection (sets our window scale)

    Duration msl = Duration::seconds(30);            ///< TIME-WAIT lasts 2 * msl
    Duration rto_initial = Duration::seconds(1);     ///< RFC 6298 §2.1
    Duration rto_min = Duration::millis(200);
    Duration rto_max = Duration::seconds(60);
    /// SYN retransmissions before ETIMEDOUT: 7 covers 255 s with the 1 s initial RTO, past the
    /// 3 minutes RFC 9293 §3.8.3 requires (Linux's 6 gives up at 127 s).
    std::uint8_t syn_retries = 7;
    std::uint8_t synack_retries = 5;                 ///< SYN-ACK retransmissions before silent removal
    std::uint8_t data_retries = 15;                  ///< data/FIN retransmissions before ETIMEDOUT
    /// RFC 5482-style user timeout: unacknowledged data older than this aborts the connection
    /// with ETIMEDOUT, whatever data_retries says. Zero: off (only data_retries applies).
    Duration user_timeout = Duration::zero();

    /// Delayed ACK (RFC 9293 §3.8.6.3, RFC 5681 §4.2): an ACK waits at most this long, and at
    /// least every second full-sized segment is acknowledged at once. Zero: ACK every segment.
    Duration delayed_ack = Duration::millis(40);
    /// The first this-many data segments of a connection are acknowledged at once, as Linux's
    /// quick-ACK start does, so that the peer's slow start is not held back by delayed ACKs.
    /// Zero: delay from the first segment.
    std::uint8_t quickack = 16;
    /// Nagle's algorithm (RFC 896, RFC 9293 §3.7.4) unless a connection turns it off
    /// (Connection::set_nodelay, TCP_NODELAY); this is the default for new connections.
    bool nodelay = false;
    /// Zero-window probes (RFC 9293 §3.8.6.1) back off from the RTO up to this interval.
    Duration persist_max = Duration::seconds(60);

    /// Keepalive (RFC 9293 §3.8.4, RFC 1122 §4.2.3.6): off by default; when on, after `idle`
    /// without anything received a probe goes out every `interval`, and `count` unanswered
    /// probes abort the connection with ETIMEDOUT.
    bool keepalive = false;
    Duration keepalive_idle = Duration::seconds(7200);
    Duration keepalive_interval = Duration::seconds(75);
    std::uint8_t keepalive_count = 9;

    /// Congestion control for new connections (cc/congestion.hpp): CUBIC unless configured.
    cc::CcConfig cc{};

    /// RFC 5961 RST/SYN/ACK hardening; false restores RFC 793 (any in-window RST resets).
    bool rfc5961 = true;
    std::uint16_t challenge_acks_per_conn_per_sec = 10;
    std::uint32_t challenge_acks_per_engine_per_sec = 1000;

    SynCookieMode syn_cookies = SynCookieMode::OnOverflow;
    AcceptOverflow accept_overflow = AcceptOverflow::Drop;

    /// For replaying captures and tests only; RFC 6528 off. Non-zero: the ISS of every new
    /// connection, active or passive (IsnGenerator::iss_for), so that a replayed client's ACKs
    /// match. Zero (the default): RFC 6528 ISNs. SYN cookies still carry their own ISN and a
    /// SYN that ends TIME-WAIT early gets one above the old connection's (RFC 6191), so a
    /// deterministic replay also wants syn_cookies = Off. Timestamp offsets stay keyed.
    std::uint32_t fixed_iss = 0;
};

}  // namespace ustcp::tcp
