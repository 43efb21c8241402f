// A passive open: RFC 9293's LISTEN state plus the backlog. Listeners are
// replicated per lcore (like SO_REUSEPORT), so a SYN is accepted where it lands.
//
// The listener owns no connections; the engine allocates them. For a segment that
// matched no connection but this listener's address and port:
//
//   auto v = listener.on_segment(ctx, now, tuple, repr, payload.size());
//   if (v.action == Listener::Action::NewConnection) {
//       Connection* c = pool.make(tuple, ...);
//       c->accept_syn(ctx, now, repr, &listener);
//   } else if (v.action == Listener::Action::CookieConnection) {
//       Connection* c = pool.make(tuple, ...);
//       c->accept_cookie(ctx, now, repr, payload, v.cookie, &listener);
//   }
//   ...
//   while (Connection* c = listener.accept()) app_on_accept(c);
//
// Backlog: at most `syn_backlog` connections in SYN-RECEIVED and `accept_backlog`
// established ones waiting in accept(). A full SYN-RECEIVED set switches to SYN
// cookies (Config::syn_cookies); a full accept queue drops the handshake's last
// ACK or resets (Config::accept_overflow), as Linux does.
#pragma once

#include <cstdint>

#include "ustcp/base/addr.hpp"
#include "ustcp/base/time.hpp"
#include "ustcp/tcp/context.hpp"
#include "ustcp/tcp/syncookie.hpp"
#include "ustcp/wire/tcp.hpp"

namespace ustcp::tcp {

class Connection;

class Listener {
public:
    Listener(Ipv4Addr addr, std::uint16_t port, std::uint32_t accept_backlog, std::uint32_t syn_backlog) noexcept
        : addr_(addr), port_(port), accept_backlog_(accept_backlog), syn_backlog_(syn_backlog) {}
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;

    enum class Action : std::uint8_t {
        Drop,              ///< nothing to do (counted)
        Replied,           ///< a reply (RST, cookie SYN-ACK) is in ctx.out
        NewConnection,     ///< allocate a Connection and call accept_syn()
        CookieConnection,  ///< allocate a Connection and call accept_cookie() with `cookie`
    };
    struct Verdict {
        Action action = Action::Drop;
        SynCookieOptions cookie{};
    };

    /// RFC 9293 §3.10.7.2 (LISTEN) for a segment of `tuple` (our side first) that matched no
    /// connection: RST ignored; ACK answered with <SEQ=SEG.ACK><CTL=RST> unless it carries a valid
    /// SYN cookie; SYN starts a connection, or gets a cookie when the SYN-RECEIVED set is full.
    Verdict on_segment(Context& ctx, Instant now, const FourTuple& tuple, const wire::TcpRepr& seg,
                       std::size_t payload_len) noexcept;

    /// The oldest established connection waiting to be accepted, or nullptr.
    Connection* accept() noexcept;

    [[nodiscard]] Ipv4Addr addr() const noexcept { return addr_; }
    [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
    [[nodiscard]] std::uint32_t syn_received() const noexcept { return syn_rcvd_; }
    [[nodiscard]] std::uint32_t accept_queued() const noexcept { return queued_; }

private:
    friend class Connection;
    /// A child is ready (handshake done). False when the accept queue is full: the child
    /// stays in SYN-RECEIVED and the ACK is dropped (or, with AcceptOverflow::Reset, the
    /// caller resets). `counted` says whether it was in the SYN-RECEIVED set.
    bool admit(Context& ctx, Connection* c, bool counted) noexcept;
    /// A child closed: leave the SYN-RECEIVED set or the accept queue.
    void forget(Connection* c, bool counted) noexcept;
    void send_cookie_synack(Context& ctx, Instant now, const FourTuple& tuple, const wire::TcpRepr& syn) noexcept;

    Ipv4Addr addr_;
    std::uint16_t port_;
    std::uint32_t accept_backlog_;
    std::uint32_t syn_backlog_;
    std::uint32_t syn_rcvd_ = 0;
    std::uint32_t queued_ = 0;
    Connection* head_ = nullptr;  // accept queue, oldest first
    Connection* tail_ = nullptr;
};

}  // namespace ustcp::tcp
