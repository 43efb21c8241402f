// IPv4 input and output for a host (RFC 791, RFC 1122 §3.2.1), without I/O.
//
// Input validates a received datagram once and says where it goes: TCP, ICMP, another
// protocol, or fragment reassembly (rte_ip_frag in lib/dpdk; the reassembled datagram comes
// back through receive()). Every drop has an Ipv4Drop reason and is counted.
//
//   Ipv4Input in(ifc);
//   auto pkt = in.receive(eth.payload(), {.ip_checksum = nic_says, .link_broadcast = eth_dst_is_group});
//   if (!pkt) return free(mbuf);                       // counted under in.counters().drops
//   switch (pkt->kind) {
//       case Ipv4Kind::Tcp: tcp_input(pkt->ip.src(), pkt->ip.dst(), pkt->payload()); break;
//       case Ipv4Kind::Icmp: icmp.receive(*pkt, mutable_bytes, out); break;
//       case Ipv4Kind::Fragment: reassemble(mbuf); break;
//       case Ipv4Kind::Other: free(mbuf); break;       // counted in delivered_other
//   }
//
// Output writes the 20-byte header in front of a TCP segment or ICMP message:
//
//   Ipv4Output out(ifc);
//   auto ok = out.write_header(hdr20, dst, wire::kIpProtoTcp, seg_len, TxChecksum::Offload);
//   if (!ok) return drop(ok.error());                  // ExceedsMtu / BufferTooSmall, counted
#pragma once

#include <algorithm>
#include <cstdint>
#include <string_view>

#include "ustcp/base/addr.hpp"
#include "ustcp/base/result.hpp"
#include "ustcp/ip/counters.hpp"
#include "ustcp/ip/interface.hpp"
#include "ustcp/wire/bytes.hpp"
#include "ustcp/wire/ipv4.hpp"

namespace ustcp::ip {

/// Why a received datagram was dropped. The order of the checks in Ipv4Input::receive is
/// the order of this list.
enum class Ipv4Drop : std::uint8_t {
    Truncated,           ///< fewer than 20 bytes
    BadVersion,          ///< version is not 4
    BadIhl,              ///< IHL below 5
    HeaderPastEnd,       ///< IHL*4 beyond the bytes present
    BadTotalLength,      ///< total length below IHL*4
    TotalLengthPastEnd,  ///< total length beyond the bytes present (padding past it is trimmed, not an error)
    BadChecksum,         ///< header checksum wrong (or the NIC said so)
    BadSource,           ///< martian source (RFC 1122 §3.2.1.3): 0/8, loopback, multicast, reserved,
                         ///< limited or our subnet broadcast, or our own address
    NotForUs,            ///< destination is not our address or a broadcast we accept (we do not forward)
    LinkBroadcast,       ///< link-layer broadcast/multicast frame carrying a unicast IP destination
                         ///< (RFC 1122 §3.3.6: SHOULD silently discard)
    BadOptions,          ///< the option list cannot be walked (length byte missing, < 2 or past the header)
    SourceRoute,         ///< LSRR or SSRR option (RFC 7126 §4.3, §4.4: drop by default)
    BadFragment,         ///< a fragment that can never be reassembled: MF set with a length that is not a
                         ///< multiple of 8 (RFC 791 §3.2), or offset + length beyond 65535
    BroadcastTcp,        ///< TCP to a broadcast address (RFC 1122 §4.2.3.10: TCP is unicast only)
};
inline constexpr std::size_t kIpv4DropCount = static_cast<std::size_t>(Ipv4Drop::BroadcastTcp) + 1;
/// Stable names: "truncated", "bad-version", "bad-ihl", "header-past-end", "bad-total-length",
/// "total-length-past-end", "bad-checksum", "bad-source", "not-for-us", "link-broadcast",
/// "bad-options", "source-route", "bad-fragment", "broadcast-tcp".
[[nodiscard]] std::string_view to_string(Ipv4Drop d) noexcept;

/// Where an accepted datagram goes.
enum class Ipv4Kind : std::uint8_t {
    Tcp,       ///< protocol 6, not a fragment
    Icmp,      ///< protocol 1, not a fragment
    Fragment,  ///< MF set or offset non-zero, any protocol: hand it to reassembly
    Other,     ///< another protocol (UDP, ...); we have no handler
};
[[nodiscard]] std::string_view to_string(Ipv4Kind k) noexcept;

/// What the NIC reported about the header checksum (RTE_MBUF_F_RX_IP_CKSUM_*).
enum class RxChecksum : std::uint8_t {
    Unknown,  ///< not checked: lib/ip verifies it
    Good,     ///< verified by the NIC (or the header was rewritten by reassembly): not checked again
    Bad,      ///< the NIC found it wrong: dropped as BadChecksum
};

/// Receive-side facts from below IP.
struct RxMeta {
    RxChecksum ip_checksum = RxChecksum::Unknown;
    /// The Ethernet destination was broadcast or multicast (the I/G bit).
    bool link_broadcast = false;
};

/// An accepted datagram. `ip` is trimmed to the total length, so trailing Ethernet padding
/// is not in payload().
struct Ipv4Packet {
    wire::Ipv4View ip;
    Ipv4Kind kind;
    /// Addressed to 255.255.255.255 or our subnet broadcast (only ICMP/Other/Fragment can be).
    bool to_broadcast = false;

    [[nodiscard]] wire::Bytes payload() const noexcept { return ip.payload(); }
};

struct Ipv4Counters {
    std::uint64_t received = 0;         ///< every datagram given to receive()
    std::uint64_t delivered_tcp = 0;
    std::uint64_t delivered_icmp = 0;
    std::uint64_t delivered_other = 0;  ///< accepted but no handler for the protocol
    std::uint64_t fragments = 0;        ///< handed to reassembly
    std::uint64_t with_options = 0;     ///< accepted datagrams that had IP options (ignored)
    DropCounts<Ipv4Drop, kIpv4DropCount> drops;
};

/// Receive-side IPv4 for one interface: holds a copy of it and the counters.
class Ipv4Input {
public:
    /// Precondition: ifc.validate() succeeded.
    explicit Ipv4Input(const Interface& ifc) noexcept : ifc_(ifc) {}

    /// Validates `l3` (the Ethernet payload, padding allowed) and classifies it. Reads only;
    /// the bytes are not modified. Errors: every Ipv4Drop, each counted.
    ///
    /// TTL is not checked: a host "MUST NOT discard a datagram just because it was received
    /// with TTL less than 2" (RFC 1122 §3.2.1.7), and we do not forward.
    /// IP options other than source routes are walked for validity and otherwise ignored:
    /// Record Route / Timestamp in an echo request are not copied to the reply (RFC 1122
    /// §3.2.2.6 says SHOULD; we reply without options).
    [[nodiscard]] Result<Ipv4Packet, Ipv4Drop> receive(wire::Bytes l3, RxMeta meta = {}) noexcept;

    [[nodiscard]] const Interface& interface() const noexcept { return ifc_; }
    [[nodiscard]] const Ipv4Counters& counters() const noexcept { return counters_; }

private:
    Result<Ipv4Packet, Ipv4Drop> drop(Ipv4Drop d) noexcept {
        counters_.drops.bump(d);
        return Err(d);
    }

    Interface ifc_;
    Ipv4Counters counters_;
};

/// The option list check receive() applies (RFC 791 §3.1 option format). Errors: BadOptions,
/// SourceRoute. Exposed for tests and the fuzzer.
[[nodiscard]] Result<void, Ipv4Drop> check_ipv4_options(wire::Bytes options) noexcept;

// ---------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------

/// Who fills the header checksum.
enum class TxChecksum : std::uint8_t {
    Software,  ///< computed here
    Offload,   ///< left zero for the NIC (RTE_MBUF_F_TX_IP_CKSUM wants the field zeroed)
};

enum class Ipv4TxError : std::uint8_t {
    BufferTooSmall,  ///< fewer than 20 bytes to write the header into
    ExceedsMtu,      ///< 20 + payload_len above the largest datagram this output may write
};
inline constexpr std::size_t kIpv4TxErrorCount = static_cast<std::size_t>(Ipv4TxError::ExceedsMtu) + 1;
/// Stable names: "buffer-too-small", "exceeds-mtu".
[[nodiscard]] std::string_view to_string(Ipv4TxError e) noexcept;

/// The default TTL (IANA "IP Parameters", RFC 1700: 64).
inline constexpr std::uint8_t kDefaultTtl = 64;

struct Ipv4TxCounters {
    std::uint64_t sent = 0;  ///< headers written
    DropCounts<Ipv4TxError, kIpv4TxErrorCount> drops;
};

/// Send-side IPv4 for one interface: writes option-less headers from our address, with
/// TTL 64 and a per-instance incrementing identification. A datagram that fits the link MTU
/// gets DF (RFC 1191 path MTU discovery); one above it, which only an output given a larger
/// `max_datagram` writes (its port fragments what it sends, e.g. an echo reply to a
/// reassembled request), goes without DF so that the port may. RFC 6864 §4.2: the ID of an
/// atomic datagram (DF set, not a fragment) may be any value; a counter is cheap and keeps
/// captures readable; a datagram that may be fragmented needs a fresh one, which it gets.
class Ipv4Output {
public:
    /// Precondition: ifc.validate() succeeded. `first_ident` seeds the identification counter
    /// (the engine may start each lcore elsewhere). `max_datagram`: the largest datagram this
    /// output writes, from ifc.mtu (the default, 0) up to 65535 for a port that fragments.
    explicit Ipv4Output(const Interface& ifc, std::uint16_t first_ident = 0, std::uint16_t max_datagram = 0) noexcept
        : ifc_(ifc), next_ident_(first_ident), max_datagram_(std::max(max_datagram, ifc.mtu)) {}

    /// Writes a 20-byte header into out[0..20) for `payload_len` bytes that follow it.
    /// `tos` carries DSCP/ECN (ECT for TCP when ECN is negotiated). With TxChecksum::Offload the
    /// checksum field is zero. Errors (each counted): BufferTooSmall, ExceedsMtu.
    [[nodiscard]] Result<void, Ipv4TxError> write_header(wire::MutBytes out, Ipv4Addr dst, std::uint8_t protocol,
                                                         std::uint16_t payload_len,
                                                         TxChecksum csum = TxChecksum::Software,
                                                         std::uint8_t tos = 0) noexcept;

    /// The identification write_header() will use next (and then advance).
    [[nodiscard]] std::uint16_t next_ident() const noexcept { return next_ident_; }
    [[nodiscard]] const Interface& interface() const noexcept { return ifc_; }
    /// The largest datagram write_header() accepts (header included).
    [[nodiscard]] std::uint16_t max_datagram() const noexcept { return max_datagram_; }
    [[nodiscard]] const Ipv4TxCounters& counters() const noexcept { return counters_; }

private:
    Interface ifc_;
    std::uint16_t next_ident_;
    std::uint16_t max_datagram_;
    Ipv4TxCounters counters_;
};

}  // namespace ustcp::ip
