#include "ustcp/tcp/output.hpp"

#include <cerrno>

namespace ustcp::tcp {

int to_errno(Error e) noexcept {
    switch (e) {
        case Error::ConnectionRefused: return ECONNREFUSED;
        case Error::ConnectionReset: return ECONNRESET;
        case Error::TimedOut: return ETIMEDOUT;
        case Error::BrokenPipe: return EPIPE;
        case Error::NotConnected: return ENOTCONN;
        case Error::InvalidState: return EISCONN;
        case Error::WouldBlock: return EAGAIN;
        case Error::Closing: return ESHUTDOWN;
        case Error::AddressNotAvailable: return EADDRNOTAVAIL;
    }
    return EINVAL;
}

const char* to_string(Error e) noexcept {
    switch (e) {
        case Error::ConnectionRefused: return "connection refused";
        case Error::ConnectionReset: return "connection reset";
        case Error::TimedOut: return "timed out";
        case Error::BrokenPipe: return "broken pipe";
        case Error::NotConnected: return "not connected";
        case Error::InvalidState: return "invalid state";
        case Error::WouldBlock: return "would block";
        case Error::Closing: return "connection closing";
        case Error::AddressNotAvailable: return "address not available";
    }
    return "unknown";
}

}  // namespace ustcp::tcp
