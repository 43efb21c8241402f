// The eleven connection states of RFC 9293 §3.3.2.
#pragma once

#include <cstdint>
#include <string_view>

namespace ustcp::tcp {

enum class State : std::uint8_t {
    Closed,
    Listen,
    SynSent,
    SynReceived,
    Established,
    FinWait1,
    FinWait2,
    CloseWait,
    Closing,
    LastAck,
    TimeWait,
};

inline constexpr std::size_t kStateCount = static_cast<std::size_t>(State::TimeWait) + 1;

/// RFC 9293's spelling: "SYN-RECEIVED", "TIME-WAIT", ...
constexpr std::string_view to_string(State s) noexcept {
    switch (s) {
        case State::Closed: return "CLOSED";
        case State::Listen: return "LISTEN";
        case State::SynSent: return "SYN-SENT";
        case State::SynReceived: return "SYN-RECEIVED";
        case State::Established: return "ESTABLISHED";
        case State::FinWait1: return "FIN-WAIT-1";
        case State::FinWait2: return "FIN-WAIT-2";
        case State::CloseWait: return "CLOSE-WAIT";
        case State::Closing: return "CLOSING";
        case State::LastAck: return "LAST-ACK";
        case State::TimeWait: return "TIME-WAIT";
    }
    return "?";
}

/// Past the handshake: RFC 9293 "synchronized states".
constexpr bool is_synchronized(State s) noexcept {
    return s != State::Closed && s != State::Listen && s != State::SynSent && s != State::SynReceived;
}

}  // namespace ustcp::tcp
