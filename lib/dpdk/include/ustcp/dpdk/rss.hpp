// The RSS hash and indirection table that decide which lcore a flow belongs to, shared
// by the NIC (hardware RSS) and by lib/dpdk's software steering (steering.hpp), so that
// both, and Port::owns(), give the same answer (DESIGN "The per-lcore engine", RSS).
//
//   const Toeplitz h(kSymmetricRssKey);        // Microsoft's Toeplitz hash, table-driven
//   const Reta reta = Reta::spread(128, 4);     // entry i -> queue i % 4
//   std::uint16_t q = reta.lookup(h.hash(tuple));
//
// The key is 0x6d5a repeated: a key whose bits repeat every 16 gives the same hash when
// source and destination (addresses 32 bits apart, ports 16 bits apart) are swapped, so
// both directions of a connection land on one queue (Woo and Park, "Scalable TCP Session
// Monitoring with Symmetric Receive-side Scaling", 2012).
//
// The hash input is what RSS hashes for IPv4 TCP: source address, destination address,
// source port, destination port, 12 bytes in network order. hash() runs over a table of
// 12 x 256 words (12 KiB), one lookup per input byte, instead of rte_softrss's loop over
// the 96 input bits; tests/dpdk checks the two agree.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "ustcp/base/addr.hpp"

namespace ustcp::dpdk {

/// 52 bytes of 0x6d5a (NICs take 40 or 52; a prefix of it is as symmetric).
inline constexpr std::array<std::uint8_t, 52> kSymmetricRssKey = [] {
    std::array<std::uint8_t, 52> k{};
    for (std::size_t i = 0; i < k.size(); ++i) k[i] = (i % 2 == 0) ? 0x6d : 0x5a;
    return k;
}();

/// Toeplitz hash over the 12-byte IPv4 L4 tuple with one key.
class Toeplitz {
public:
    static constexpr std::size_t kInputLen = 12;

    /// `key` at least kInputLen + 4 bytes (the 32-bit window slides over 96 input bits).
    explicit Toeplitz(std::span<const std::uint8_t> key) noexcept;

    /// The hash of 12 bytes in network order: src addr, dst addr, src port, dst port
    /// (e.g. straight from an IPv4 header's offset 12 and a TCP header's offset 0).
    [[nodiscard]] std::uint32_t hash_bytes(const std::uint8_t* addrs, const std::uint8_t* ports) const noexcept {
        std::uint32_t h = 0;
        for (std::size_t i = 0; i < 8; ++i) h ^= table_[i][addrs[i]];
        for (std::size_t i = 0; i < 4; ++i) h ^= table_[8 + i][ports[i]];
        return h;
    }
    /// The hash of the packets the peer sends on `t` (src = t.remote, dst = t.local); with
    /// a symmetric key the same as for the packets we send.
    [[nodiscard]] std::uint32_t hash(const FourTuple& t) const noexcept;

private:
    std::array<std::array<std::uint32_t, 256>, kInputLen> table_{};
};

/// The redirection table: hash -> queue (hardware) or worker (software steering).
class Reta {
public:
    /// `size` entries (a power of two, as NICs have), entry i -> i % targets.
    [[nodiscard]] static Reta spread(std::uint16_t size, std::uint16_t targets);
    /// A given table (a NIC's); `entries.size()` a power of two, each entry < targets.
    [[nodiscard]] static Reta from_entries(std::vector<std::uint16_t> entries, std::uint16_t targets);

    /// NICs index the table with the hash's low bits.
    [[nodiscard]] std::uint16_t lookup(std::uint32_t hash) const noexcept { return entries_[hash & mask_]; }
    [[nodiscard]] std::span<const std::uint16_t> entries() const noexcept { return entries_; }
    [[nodiscard]] std::uint16_t size() const noexcept { return static_cast<std::uint16_t>(entries_.size()); }
    [[nodiscard]] std::uint16_t targets() const noexcept { return targets_; }

private:
    std::vector<std::uint16_t> entries_;
    std::uint32_t mask_ = 0;
    std::uint16_t targets_ = 1;
};

}  // namespace ustcp::dpdk
