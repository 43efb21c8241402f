// ustcp-pcap [-S] FILE      (FILE "-" reads standard input)
//
// Prints every packet of a pcap or pcapng capture the way `tcpdump -nt -r FILE` does
// (`tcpdump -S -nt -r FILE` with -S), using lib/wire's TcpdumpPrinter, so our own
// formatter can be diffed against tcpdump on real traffic.
//
// Exit status: 0 after the whole file was printed; 1 when the file cannot be opened,
// has a link type we do not print, or is truncated/corrupt (every packet read before
// the damage is printed first, then the error goes to stderr); 2 on bad usage.
#include <pcap/pcap.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "ustcp/wire/tcpdump.hpp"

namespace {

using ustcp::wire::LinkType;

constexpr int kExitOk = 0;
constexpr int kExitError = 1;
constexpr int kExitUsage = 2;

void usage() { std::fputs("usage: ustcp-pcap [-S] FILE\n", stderr); }

/// pcap's link-layer header types that we print (as libpcap reports them: DLT_ values).
std::optional<LinkType> link_type(int dlt) {
    switch (dlt) {
        case DLT_EN10MB: return LinkType::Ethernet;
        case DLT_RAW: return LinkType::RawIp;  // LINKTYPE_RAW (101) in the file
#ifdef DLT_IPV4
        case DLT_IPV4: return LinkType::RawIpv4;
#endif
#ifdef DLT_IPV6
        case DLT_IPV6: return LinkType::RawIpv6;
#endif
        default: return std::nullopt;
    }
}

}  // namespace

int main(int argc, char** argv) {
    bool absolute_seq = false;
    const char* path = nullptr;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "-S") {
            absolute_seq = true;
        } else if (a == "--") {
            if (i + 2 != argc) {
                usage();
                return kExitUsage;
            }
            path = argv[i + 1];
            break;
        } else if (a.size() > 1 && a[0] == '-') {
            std::fprintf(stderr, "ustcp-pcap: unknown option '%s'\n", argv[i]);
            usage();
            return kExitUsage;
        } else if (path == nullptr) {
            path = argv[i];
        } else {
            std::fputs("ustcp-pcap: more than one FILE given\n", stderr);
            usage();
            return kExitUsage;
        }
    }
    if (path == nullptr) {
        usage();
        return kExitUsage;
    }

    char errbuf[PCAP_ERRBUF_SIZE] = {};
    pcap_t* pcap = pcap_open_offline(path, errbuf);
    if (pcap == nullptr) {
        std::fprintf(stderr, "ustcp-pcap: %s: cannot read capture: %s\n", path, errbuf);
        return kExitError;
    }
    const int dlt = pcap_datalink(pcap);
    const auto link = link_type(dlt);
    if (!link) {
        const char* name = pcap_datalink_val_to_name(dlt);
        std::fprintf(stderr,
                     "ustcp-pcap: %s: unsupported link type %d (%s); supported: EN10MB (Ethernet), "
                     "RAW, IPV4, IPV6\n",
                     path, dlt, name != nullptr ? name : "unknown");
        pcap_close(pcap);
        return kExitError;
    }

    ustcp::wire::TcpdumpPrinter printer(absolute_seq);
    std::string out;
    int rc = kExitOk;
    for (unsigned long packet = 1;; ++packet) {
        pcap_pkthdr* hdr = nullptr;
        const u_char* data = nullptr;
        const int r = pcap_next_ex(pcap, &hdr, &data);
        if (r == 1) {
            out = printer.format(*link, ustcp::wire::Bytes(data, hdr->caplen), hdr->len);
            out.push_back('\n');
            std::fwrite(out.data(), 1, out.size(), stdout);
            continue;
        }
        if (r == PCAP_ERROR_BREAK) break;  // clean end of file
        // libpcap says "truncated dump file; tried to read N captured bytes, only got M"
        // for a file cut inside a record, and names the bad field for a corrupt header.
        std::fflush(stdout);
        std::fprintf(stderr, "ustcp-pcap: %s: packet %lu: capture file is truncated or corrupt: %s\n", path,
                     packet, pcap_geterr(pcap));
        rc = kExitError;
        break;
    }
    pcap_close(pcap);
    if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
        std::fprintf(stderr, "ustcp-pcap: error writing output: %s\n", std::strerror(errno));
        return kExitError;
    }
    return rc;
}
