// ARP for one Ethernet interface (RFC 826, RFC 5227), without I/O: answers requests for our
// address, feeds what it learns into the NeighborCache, defends our address, and builds the
// frames the engine transmits (requests from the cache, replies, announcements).
//
//   ArpHandler arp(ifc);
//   // at start (RFC 5227 §2.3: kAnnounceNum announcements, kAnnounceInterval apart):
//   auto n = build_arp_announcement(ifc, frame);
//   // an ARP frame arrived:
//   auto r = arp.receive(eth.payload(), now, cache, tx_frame);
//   if (!r) return free(mbuf);                          // counted by ArpDrop
//   if (r->frame_len) transmit(tx_frame.first(r->frame_len));   // our reply or defence
//   for (PacketHandle h : r->released) transmit(h, r->release_mac);
//   // the cache asked for a request:
//   auto m = build_arp_request(ifc, request, frame);
//
// All frames are Ethernet II, untagged, padded to the 60-byte minimum (kArpFrameLen).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "ustcp/base/addr.hpp"
#include "ustcp/base/result.hpp"
#include "ustcp/base/time.hpp"
#include "ustcp/ip/counters.hpp"
#include "ustcp/ip/interface.hpp"
#include "ustcp/ip/neighbor.hpp"
#include "ustcp/wire/arp.hpp"
#include "ustcp/wire/bytes.hpp"

namespace ustcp::ip {

/// 14-byte Ethernet header + 28-byte ARP message + 18 bytes of zero padding: the minimum
/// Ethernet frame without FCS, so no driver has to pad.
inline constexpr std::size_t kArpFrameLen = 60;
/// RFC 5227 §1.1 constants.
inline constexpr int kAnnounceNum = 2;
inline constexpr Duration kAnnounceInterval = Duration::seconds(2);
inline constexpr Duration kDefendInterval = Duration::seconds(10);

enum class ArpBuildError : std::uint8_t {
    BufferTooSmall,  ///< fewer than kArpFrameLen bytes
};

/// A request for `req.target` from our addresses, to `req.dst_mac` (broadcast, or the cached MAC
/// for a unicast re-check). Target hardware address zero (RFC 5227 §2.1.1 "SHOULD be set to all
/// zeroes" for probes; RFC 826 leaves it unused in requests). Returns kArpFrameLen.
/// Errors: BufferTooSmall.
[[nodiscard]] Result<std::size_t, ArpBuildError> build_arp_request(const Interface& ifc, const ArpRequest& req,
                                                                   wire::MutBytes out) noexcept;

/// A reply telling (`to_mac`, `to_ip`) that our address (`from`, a secondary one, else the
/// primary) is at our MAC, unicast to `to_mac` (RFC 826: "Send the packet to the (new) target
/// hardware address"). Returns kArpFrameLen.
/// Errors: BufferTooSmall.
[[nodiscard]] Result<std::size_t, ArpBuildError> build_arp_reply(const Interface& ifc, MacAddr to_mac, Ipv4Addr to_ip,
                                                                 wire::MutBytes out,
                                                                 std::optional<Ipv4Addr> from = std::nullopt) noexcept;

/// A gratuitous ARP announcement of our address (RFC 5227 §2.3): a broadcast request whose
/// sender and target IP are both ours, target hardware address zero. Returns kArpFrameLen.
/// Errors: BufferTooSmall.
[[nodiscard]] Result<std::size_t, ArpBuildError> build_arp_announcement(const Interface& ifc,
                                                                        wire::MutBytes out) noexcept;

enum class ArpDrop : std::uint8_t {
    Truncated,       ///< wire::ParseError::ArpTruncated
    Unsupported,     ///< not Ethernet/IPv4 ARP (wire::ParseError::ArpUnsupported)
    BadOpcode,       ///< neither request (1) nor reply (2)
    FromSelf,        ///< our own MAC and address as the sender: our frame looped back
    BadSenderMac,    ///< zero, broadcast or multicast sender hardware address
    BufferTooSmall,  ///< the caller's output buffer is below kArpFrameLen (nothing was processed)
};
inline constexpr std::size_t kArpDropCount = static_cast<std::size_t>(ArpDrop::BufferTooSmall) + 1;
/// Stable names: "truncated", "unsupported", "bad-opcode", "from-self", "bad-sender-mac", "buffer-too-small".
[[nodiscard]] std::string_view to_string(ArpDrop d) noexcept;

/// What the engine transmits after an ARP packet.
enum class ArpSent : std::uint8_t {
    Nothing,
    Reply,    ///< an answer to a request for our address
    Defence,  ///< an announcement defending our address against a conflicting sender (RFC 5227 §2.4)
};

struct [[nodiscard]] ArpOutcome {
    ArpSent sent = ArpSent::Nothing;
    /// Bytes of `out` to transmit (kArpFrameLen when sent != Nothing, else 0).
    std::size_t frame_len = 0;
    /// Packets that waited for the sender's address: transmit them to release_mac. Valid until
    /// the next non-const call on the cache.
    std::span<const PacketHandle> released;
    MacAddr release_mac;
    /// The sender claimed our address from another MAC (RFC 5227 §2.4 conflict).
    bool conflict = false;
};

struct ArpCounters {
    std::uint64_t received = 0;
    std::uint64_t requests = 0;       ///< op 1 (valid packets)
    std::uint64_t replies = 0;        ///< op 2 (valid packets)
    std::uint64_t for_us = 0;         ///< target IP is ours
    std::uint64_t not_for_us = 0;     ///< target IP is not ours (used only to update known entries)
    std::uint64_t replies_sent = 0;
    std::uint64_t probes_seen = 0;    ///< sender IP 0.0.0.0: an RFC 5227 probe (answered if for us, never learned)
    std::uint64_t off_link_sender = 0;///< sender IP not an on-link host of ours: not learned
    std::uint64_t learned = 0;        ///< the cache made a new entry
    std::uint64_t updated = 0;        ///< the sender already had an entry, merged with (RFC 826)
    std::uint64_t conflicts = 0;      ///< sender IP ours, sender MAC not
    std::uint64_t defences = 0;       ///< defending announcements built
    DropCounts<ArpDrop, kArpDropCount> drops;
};

/// RFC 826's packet reception algorithm for one interface, plus RFC 5227 defence.
class ArpHandler {
public:
    /// Precondition: ifc.validate() succeeded.
    explicit ArpHandler(const Interface& ifc) noexcept : ifc_(ifc) {}

    /// Handles one ARP message (the Ethernet payload, padding allowed). `out` receives the frame
    /// to send, if any (at least kArpFrameLen bytes). In order:
    ///  1. the sender claims our IP from another MAC: a conflict; we do not learn from it, and
    ///     defend with one announcement at most every kDefendInterval (RFC 5227 §2.4 (c): a host
    ///     that will not give up a configured address may defend it indefinitely, rate-limited);
    ///  2. RFC 826 merge: if the sender is an on-link host, NeighborCache::update() (AddressedToUs
    ///     when the target IP is ours, else Overheard); sender IP 0.0.0.0 (a probe) is never learned;
    ///  3. "?Am I the target protocol address? ... ?Is the opcode ares_op$REQUEST?": build the reply.
    /// Errors (each counted): Truncated, Unsupported, BadOpcode, FromSelf, BadSenderMac, BufferTooSmall.
    [[nodiscard]] Result<ArpOutcome, ArpDrop> receive(wire::Bytes arp, Instant now, NeighborCache& cache,
                                                      wire::MutBytes out) noexcept;

    [[nodiscard]] const Interface& interface() const noexcept { return ifc_; }
    [[nodiscard]] const ArpCounters& counters() const noexcept { return counters_; }

private:
    Result<ArpOutcome, ArpDrop> drop(ArpDrop d) noexcept {
        counters_.drops.bump(d);
        return Err(d);
    }

    Interface ifc_;
    std::optional<Instant> last_defence_;
    ArpCounters counters_;
};

}  // namespace ustcp::ip
