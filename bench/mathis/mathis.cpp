// bench/mathis: goodput of one bulk transfer over the simulated link (lib/sim) against the
// Mathis et al. model, MSS/RTT * 1.22/sqrt(p), at several loss rates, for three loss-recovery
// configurations: NewReno without SACK (RFC 6582 recovery only), NewReno with SACK (RFC 6675,
// RACK off), and CUBIC with SACK and RACK-TLP (the engine's defaults).
//
//   build/bench/mathis/ustcp-mathis [OUT.csv] [MIB] [SEEDS]     (bench/mathis.sh runs it and plots)
//
// The link is there not to limit: 1 Gbit/s each way, a 2000-frame queue, 10 ms one-way delay
// (RTT 20 ms), 4 MiB socket buffers (a window limit of 1.6 Gbit/s). Random loss p applies to the
// data direction only (the model's assumption); ACKs are not lost. Each point is the mean
// of SEEDS transfers of MIB MiB with different loss seeds. Everything runs on the virtual
// clock: the numbers do not depend on the machine. Columns: configuration, p, goodput, the
// model's bound, their ratio, and the sender's fast retransmits and RTOs (means).
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "ustcp/sim/transfer.hpp"

using namespace ustcp;

int main(int argc, char** argv) {
    const char* out_path = argc > 1 ? argv[1] : "bench/results/mathis.csv";
    const std::uint64_t mib = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 64;
    const int seeds = argc > 3 ? std::atoi(argv[3]) : 2;
    if (mib == 0 || seeds <= 0) {
        std::fprintf(stderr, "usage: %s [OUT.csv] [MIB > 0] [SEEDS > 0]\n", argv[0]);
        return 2;
    }
    std::FILE* out = std::fopen(out_path, "w");
    if (out == nullptr) {
        std::perror(out_path);
        return 1;
    }
    constexpr double kRtt = 0.020;
    constexpr double kMss = 1448;  // 1460 less the timestamp option
    std::fprintf(out, "config,loss,goodput_mbps,mathis_mbps,ratio,fast_retransmits,rtos\n");
    const double losses[] = {0.001, 0.002, 0.005, 0.01, 0.02, 0.05};
    int failed = 0;
    struct Config {
        const char* name;
        tcp::cc::Algorithm algo;
        bool sack;
        bool rack;
    };
    const Config configs[] = {
        {"newreno", tcp::cc::Algorithm::NewReno, false, false},
        {"newreno_sack", tcp::cc::Algorithm::NewReno, true, false},
        {"cubic_sack_rack", tcp::cc::Algorithm::Cubic, true, true},
    };
    for (const Config& cfg : configs) {
        const char* name = cfg.name;
        const tcp::cc::Algorithm algo = cfg.algo;
        for (const double p : losses) {
            double goodput = 0, fast = 0, rtos = 0;
            for (int k = 0; k < seeds; ++k) {
                sim::TransferSetup s;
                char spec[160];
                std::snprintf(spec, sizeof spec, "rate=1Gbit,queue=2000,delay=10ms,loss=%.4f%%,seed=%d", p * 100, 11 + k);
                auto ab = sim::parse_fault_spec(spec);
                auto ba = sim::parse_fault_spec("rate=1Gbit,queue=2000,delay=10ms");
                if (!ab || !ba) {
                    std::fprintf(stderr, "%s\n", ab ? ba.error().c_str() : ab.error().c_str());
                    return 1;
                }
                s.ab = *ab;
                s.ba = *ba;
                s.bytes = mib << 20;
                s.data_seed = static_cast<std::uint64_t>(k) + 1;
                s.tcp.cc.algorithm = algo;
                s.tcp.sack = cfg.sack;
                s.tcp.rack = cfg.rack;
                s.tcp.send_buffer = s.tcp.recv_buffer = 4u << 20;
                s.limit = Duration::seconds(3600);
                const sim::TransferResult r = sim::run_transfer(s);
                if (!r.completed) {
                    std::fprintf(stderr, "%s p=%g seed %d: transfer did not complete (%llu bytes)\n", name, p, k,
                                 static_cast<unsigned long long>(r.received));
                    ++failed;
                    continue;
                }
                goodput += r.goodput_bps() / seeds;
                fast += static_cast<double>(r.tcp_a.fast_retransmits) / seeds;
                rtos += static_cast<double>(r.tcp_a.retransmits) / seeds;
            }
            const double mathis = kMss * 8 / kRtt * 1.22 / std::sqrt(p);
            std::fprintf(out, "%s,%g,%.3f,%.3f,%.3f,%.1f,%.1f\n", name, p, goodput / 1e6, mathis / 1e6, goodput / mathis,
                         fast, rtos);
            std::printf("%-15s p=%-6g goodput %8.3f Mbit/s  Mathis %8.3f Mbit/s  ratio %.2f  fast rtx %.0f  rto %.0f\n",
                        name, p, goodput / 1e6, mathis / 1e6, goodput / mathis, fast, rtos);
        }
    }
    std::fclose(out);
    return failed == 0 ? 0 : 1;
}
