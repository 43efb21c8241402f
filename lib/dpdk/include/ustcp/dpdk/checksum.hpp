// DPDK's checksum routines behind lib/wire's types, so that tests and benchmarks
// can compare the two without including rte_*.h themselves. Values follow
// lib/wire's convention: host-order integers meaning the big-endian word.
#pragma once

#include <rte_byteorder.h>
#include <rte_ip.h>

#include "ustcp/base/addr.hpp"
#include "ustcp/wire/bytes.hpp"

namespace ustcp::dpdk {

/// rte_raw_cksum: folded, uncomplemented sum of `data`.
inline std::uint16_t raw_cksum(wire::Bytes data) noexcept {
    return rte_be_to_cpu_16(rte_raw_cksum(data.data(), data.size()));
}

/// rte_ipv4_udptcp_cksum over an IPv4 datagram without options: the value to store
/// in the TCP/UDP checksum field (DPDK returns 0xffff where the sum complements to 0).
inline std::uint16_t ipv4_udptcp_cksum(wire::Bytes ipv4_datagram) noexcept {
    const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(ipv4_datagram.data());
    return rte_be_to_cpu_16(rte_ipv4_udptcp_cksum(ip, ipv4_datagram.data() + rte_ipv4_hdr_len(ip)));
}

/// rte_ipv4_phdr_cksum: the folded pseudo-header sum (what a NIC expects before TSO/offload).
inline std::uint16_t ipv4_phdr_cksum(wire::Bytes ipv4_header) noexcept {
    const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(ipv4_header.data());
    return rte_be_to_cpu_16(rte_ipv4_phdr_cksum(ip, 0));
}

}  // namespace ustcp::dpdk
