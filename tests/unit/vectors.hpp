// Loads the seed test vectors (tests/vectors/seed001-echo-session.txt, a copy of
// shared/vectors/) so tests read the packets instead of retyping them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ustcp::vectors {

struct SeedPacket {
    int number = 0;
    std::string tcpdump_line;            ///< exactly as `tcpdump -S -nt` printed it
    std::string tcp_checksum;            ///< "valid" or "pseudo-header-only"
    std::vector<std::uint8_t> bytes;     ///< the raw IPv4 datagram
};

/// Reads $USTCP_VECTORS_DIR/seed001-echo-session.txt (meson's test env sets it).
/// Throws std::runtime_error naming the file and line on anything malformed.
std::vector<SeedPacket> load_seed_vectors();

}  // namespace ustcp::vectors
