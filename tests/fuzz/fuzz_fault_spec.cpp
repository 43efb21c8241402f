// Fuzzes `--fault`'s parser (sim::parse_port_faults, and with it parse_fault_spec): any text
// either fails with a message or gives a spec whose to_string() parses back to a spec with
// the same to_string(); a parsed spec then decides a few frames (FaultPath) without tripping
// UBSan (the Gilbert–Elliott and rate arithmetic on extreme values).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ustcp/sim/fault.hpp"

using namespace ustcp;

namespace {

void check(const sim::FaultSpec& s) {
    const std::string text = sim::to_string(s);
    auto again = sim::parse_fault_spec(text);
    if (!again || sim::to_string(*again) != text) std::abort();
    sim::FaultPath p(s);
    Instant t = Instant::from_nanos(1);
    std::uint8_t frame[64] = {};
    frame[12] = 0x08;
    frame[14] = 0x45;
    frame[17] = 50;
    frame[23] = 6;
    const sim::L4Range l4 = sim::l4_range(frame, sizeof frame);
    for (int i = 0; i < 16; ++i, t += Duration::micros(300)) {
        sim::Copy c[2];
        const unsigned n = p.admit(sizeof frame, l4, t, c);
        for (unsigned k = 0; k < n; ++k) {
            if (c[k].flip_bit != sim::Copy::kNoFlip && c[k].flip_bit / 8 >= sizeof frame) std::abort();
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    auto f = sim::parse_port_faults(text);
    if (!f) {
        if (f.error().empty()) std::abort();  // every error says what was wrong
        return 0;
    }
    if (f->rx) check(*f->rx);
    if (f->tx) check(*f->tx);
    return 0;
}
