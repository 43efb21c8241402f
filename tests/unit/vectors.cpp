#include "vectors.hpp"

#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace ustcp::vectors {
namespace {

std::vector<std::uint8_t> parse_hex(const std::string& s, const std::string& where) {
    if (s.size() % 2 != 0) throw std::runtime_error(where + ": odd number of hex digits");
    std::vector<std::uint8_t> out;
    out.reserve(s.size() / 2);
    for (std::size_t i = 0; i < s.size(); i += 2) {
        out.push_back(static_cast<std::uint8_t>(std::stoul(s.substr(i, 2), nullptr, 16)));
    }
    return out;
}

}  // namespace

std::vector<SeedPacket> load_seed_vectors() {
    const char* dir = std::getenv("USTCP_VECTORS_DIR");
    const std::string path = std::string(dir != nullptr ? dir : "tests/vectors") + "/seed001-echo-session.txt";
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open " + path);

    std::vector<SeedPacket> pkts;
    std::string line;
    int lineno = 0;
    int pending = 0;  // lines still expected for the current packet: tcpdump, checksum, hex
    while (std::getline(in, line)) {
        ++lineno;
        const std::string where = path + ":" + std::to_string(lineno);
        if (line.empty() || line[0] == '#') continue;
        if (line.rfind("pkt ", 0) == 0) {
            if (pending != 0) throw std::runtime_error(where + ": packet started before the previous one ended");
            pkts.push_back(SeedPacket{std::stoi(line.substr(4)), {}, {}, {}});
            pending = 3;
            continue;
        }
        if (pending == 0) throw std::runtime_error(where + ": text outside a packet");
        SeedPacket& p = pkts.back();
        if (pending == 3) {
            p.tcpdump_line = line;
        } else if (pending == 2) {
            if (line.rfind("tcp_checksum ", 0) != 0) throw std::runtime_error(where + ": expected tcp_checksum");
            p.tcp_checksum = line.substr(13);
        } else {
            p.bytes = parse_hex(line, where);
        }
        --pending;
    }
    if (pending != 0) throw std::runtime_error(path + ": file ends inside a packet");
    return pkts;
}

}  // namespace ustcp::vectors
