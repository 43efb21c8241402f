// Fuzzes the TCP option iterator and decoder. Beyond "no read outside the buffer"
// (ASan), it checks a round trip: options that parse, re-emitted in our layout,
// parse back to the same values.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "ustcp/wire/tcp.hpp"

using namespace ustcp::wire;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > kTcpMaxOptionsLen) size = kTcpMaxOptionsLen;
    // Copy into an exact-size heap buffer so ASan sees any over-read.
    std::vector<std::uint8_t> area(data, data + size);

    TcpOptionReader reader(area);
    for (std::size_t steps = 0;; ++steps) {
        auto o = reader.next();
        if (!o || !*o) break;
        if (steps > area.size()) std::abort();  // every step consumes at least one byte
        volatile std::size_t sink = (*o)->data.size() ? (*o)->data.back() : 0;
        (void)sink;
    }

    auto parsed = TcpOptions::parse(area);
    if (!parsed) return 0;
    TcpOptions opts = *parsed;
    if (opts.encoded_len() > kTcpMaxOptionsLen) return 0;  // e.g. 4 SACK blocks plus timestamps
    std::vector<std::uint8_t> out(opts.encoded_len());
    if (opts.emit(out) != out.size()) std::abort();
    auto again = TcpOptions::parse(out);
    if (!again || !(*again == opts)) std::abort();
    return 0;
}
