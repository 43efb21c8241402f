// ICMP for a host (RFC 792, RFC 1122 §3.2.2), without I/O: echo requests are answered,
// error messages about our TCP segments are decoded for lib/tcp, everything else is
// counted by type and ignored.
//
//   IcmpHandler icmp(ifc);
//   // pkt: an Ipv4Packet of kind Icmp; bytes: the same datagram, writable (in place), or any buffer
//   auto r = icmp.receive(*pkt, bytes, tx, TxChecksum::Offload);
//   if (!r) return free(mbuf);                                  // counted by IcmpDrop
//   switch (r->action) {
//       case IcmpAction::Reply: send_to(pkt_src, r->reply); break;   // reply = IPv4 header + ICMP
//       case IcmpAction::Error: tcp_icmp_error(r->error); break;      // destination unreachable etc.
//       case IcmpAction::Ignored: free(mbuf); break;
//   }
//
// The echo reply keeps the request's identifier, sequence number and data (RFC 792
// "Echo or Echo Reply Message": "The data received in the echo message must be returned in
// the echo reply message"); its ICMP checksum is updated incrementally for the type change
// (RFC 1624 eqn. 3), so a 64 KiB ping costs no pass over its data.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "ustcp/base/addr.hpp"
#include "ustcp/base/result.hpp"
#include "ustcp/base/seqnum.hpp"
#include "ustcp/ip/counters.hpp"
#include "ustcp/ip/interface.hpp"
#include "ustcp/ip/ipv4.hpp"
#include "ustcp/wire/bytes.hpp"
#include "ustcp/wire/icmp.hpp"

namespace ustcp::ip {

inline constexpr std::uint8_t kIcmpSourceQuench = 4;
inline constexpr std::uint8_t kIcmpRedirect = 5;
inline constexpr std::uint8_t kIcmpTimeExceeded = 11;
inline constexpr std::uint8_t kIcmpParameterProblem = 12;
/// Destination unreachable code 4, "fragmentation needed and DF set" (RFC 1191 §4 adds the MTU).
inline constexpr std::uint8_t kIcmpCodeFragNeeded = 4;

enum class IcmpDrop : std::uint8_t {
    Truncated,        ///< fewer than 8 bytes
    BadChecksum,      ///< the ICMP checksum does not verify
    EchoToBroadcast,  ///< echo request to a broadcast address (RFC 1122 §3.2.2.6: MAY be silently discarded)
    ReplyTooBig,      ///< the reply would exceed the MTU: the request was reassembled and we never fragment
    BufferTooSmall,   ///< the caller's buffer cannot hold the reply
    BadEmbedded,      ///< an error message whose embedded datagram is malformed or shorter than its
                      ///< header + 8 bytes (RFC 792: "Internet Header + 64 bits of Original Data Datagram")
    NotOurs,          ///< an error message about something other than a TCP segment from our address
};
inline constexpr std::size_t kIcmpDropCount = static_cast<std::size_t>(IcmpDrop::NotOurs) + 1;
/// Stable names: "truncated", "bad-checksum", "echo-to-broadcast", "reply-too-big", "buffer-too-small",
/// "bad-embedded", "not-ours".
[[nodiscard]] std::string_view to_string(IcmpDrop d) noexcept;

/// An ICMP error (destination unreachable, time exceeded, parameter problem) about a TCP
/// segment we sent, for lib/tcp to act on (RFC 1122 §4.2.3.9, RFC 5927).
struct IcmpErrorInfo {
    std::uint8_t type = 0;
    std::uint8_t code = 0;
    /// From our point of view: local = the embedded source (us), remote = the embedded destination.
    FourTuple tuple;
    /// The embedded segment's sequence number, for RFC 5927 §4.1's "is it in flight" check.
    SeqNum seq;
    /// Next-hop MTU for type 3 code 4 (RFC 1191 §4); 0 when absent (an old router) or another type.
    std::uint16_t next_hop_mtu = 0;
};

/// Decodes the datagram an error message carries. `icmp` is the whole ICMP message.
/// Errors: BadEmbedded (not an error type, or the embedded IPv4 header is malformed, or fewer
/// than 8 bytes of its payload are present), NotOurs (not TCP, or not from `our_addr`).
[[nodiscard]] Result<IcmpErrorInfo, IcmpDrop> parse_icmp_error(const wire::IcmpView& icmp, Ipv4Addr our_addr) noexcept;

enum class IcmpAction : std::uint8_t {
    Reply,    ///< `reply` holds an echo reply datagram to transmit
    Error,    ///< `error` describes an ICMP error about one of our TCP segments
    Ignored,  ///< a message we do not act on (echo reply, redirect, source quench, ...), counted by type
};

struct IcmpOutcome {
    IcmpAction action = IcmpAction::Ignored;
    /// For Reply: IPv4 header + ICMP message, a subspan of the `out` given to receive().
    wire::MutBytes reply;
    /// For Error.
    IcmpErrorInfo error;
};

struct IcmpCounters {
    std::uint64_t received = 0;
    std::array<std::uint64_t, 256> by_type{};  ///< messages that passed the length and checksum checks
    std::uint64_t echo_replies_sent = 0;
    std::uint64_t errors_delivered = 0;        ///< IcmpAction::Error outcomes
    std::uint64_t ignored = 0;                 ///< IcmpAction::Ignored outcomes
    DropCounts<IcmpDrop, kIcmpDropCount> drops;
};

class IcmpHandler {
public:
    /// Precondition: ifc.validate() succeeded.
    explicit IcmpHandler(const Interface& ifc) noexcept : ifc_(ifc) {}

    /// Handles one ICMP datagram. `pkt` came from Ipv4Input::receive with kind Icmp.
    ///
    /// For an echo request the reply is built in `out`, which is either
    ///  - the datagram's own bytes (out.data() == pkt.ip.bytes().data(), out.size() >= its
    ///    total length): built in place. The 20-byte reply header is written just before the
    ///    ICMP message, so with IP options in the request the reply starts (IHL*4 - 20) bytes
    ///    into `out` (trim that much from the front of the mbuf); or
    ///  - a buffer disjoint from the datagram, of at least 20 + ICMP length bytes: the reply
    ///    starts at out[0].
    /// The reply header comes from `tx` (our address, TTL 64, DF, next identification; checksum
    /// per `csum`), addressed to the request's source. Nothing is written unless the result
    /// is Reply.
    ///
    /// Errors (each counted): Truncated, BadChecksum, EchoToBroadcast, ReplyTooBig, BufferTooSmall,
    /// and for error messages BadEmbedded, NotOurs.
    [[nodiscard]] Result<IcmpOutcome, IcmpDrop> receive(const Ipv4Packet& pkt, wire::MutBytes out, Ipv4Output& tx,
                                                        TxChecksum csum = TxChecksum::Software) noexcept;

    [[nodiscard]] const IcmpCounters& counters() const noexcept { return counters_; }

private:
    Result<IcmpOutcome, IcmpDrop> drop(IcmpDrop d) noexcept {
        counters_.drops.bump(d);
        return Err(d);
    }
    Result<IcmpOutcome, IcmpDrop> echo_reply(const Ipv4Packet& pkt, const wire::IcmpView& icmp, wire::MutBytes out,
                                             Ipv4Output& tx, TxChecksum csum) noexcept;

    Interface ifc_;
    IcmpCounters counters_;
};

}  // namespace ustcp::ip
