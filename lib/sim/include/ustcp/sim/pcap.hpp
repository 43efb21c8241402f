// A pcap file of simulated frames with their virtual timestamps, written with libpcap
// (pcap_open_dead + pcap_dump), for tcpdump, tshark or Wireshark to read.
//
//   auto w = sim::PcapWriter::open("/tmp/link.pcap");    // Errors: libpcap's message
//   if (!w) { ...w.error()... }
//   link.set_capture(&*w);                                 // every frame as it is delivered
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "ustcp/base/result.hpp"
#include "ustcp/base/time.hpp"

typedef struct pcap pcap_t;
typedef struct pcap_dumper pcap_dumper_t;

namespace ustcp::sim {

class PcapWriter {
public:
    /// Creates (truncates) `path` as an Ethernet pcap with nanosecond timestamps.
    static Result<PcapWriter, std::string> open(const std::string& path);
    PcapWriter(PcapWriter&& o) noexcept : pcap_(o.pcap_), dump_(o.dump_) { o.pcap_ = nullptr; o.dump_ = nullptr; }
    PcapWriter& operator=(PcapWriter&&) = delete;
    PcapWriter(const PcapWriter&) = delete;
    ~PcapWriter();
    /// One frame seen at `at` (the virtual clock, nanoseconds since its epoch).
    void write(Instant at, std::span<const std::uint8_t> frame) noexcept;
    void flush() noexcept;

private:
    PcapWriter(pcap_t* p, pcap_dumper_t* d) noexcept : pcap_(p), dump_(d) {}
    pcap_t* pcap_;
    pcap_dumper_t* dump_;
};

}  // namespace ustcp::sim
