#include "ustcp/sim/pcap.hpp"

#include <pcap/pcap.h>

namespace ustcp::sim {

Result<PcapWriter, std::string> PcapWriter::open(const std::string& path) {
    pcap_t* p = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 65535, PCAP_TSTAMP_PRECISION_NANO);
    if (p == nullptr) return Err(std::string("pcap_open_dead failed"));
    pcap_dumper_t* d = pcap_dump_open(p, path.c_str());
    if (d == nullptr) {
        std::string e = path + ": " + pcap_geterr(p);
        pcap_close(p);
        return Err(e);
    }
    return PcapWriter(p, d);
}

PcapWriter::~PcapWriter() {
    if (dump_ != nullptr) pcap_dump_close(dump_);
    if (pcap_ != nullptr) pcap_close(pcap_);
}

void PcapWriter::write(Instant at, std::span<const std::uint8_t> frame) noexcept {
    pcap_pkthdr h{};
    h.ts.tv_sec = at.nanos() / 1'000'000'000;
    h.ts.tv_usec = at.nanos() % 1'000'000'000;  // nanoseconds: the file says so
    h.caplen = static_cast<bpf_u_int32>(frame.size());
    h.len = h.caplen;
    pcap_dump(reinterpret_cast<u_char*>(dump_), &h, frame.data());
}

void PcapWriter::flush() noexcept { (void)pcap_dump_flush(dump_); }

}  // namespace ustcp::sim
