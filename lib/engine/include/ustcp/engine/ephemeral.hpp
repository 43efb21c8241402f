// Ephemeral ports of one local address: which ones some flow uses, so that connect() finds an
// unused port by scanning a bitmap instead of looking candidate tuples up in the flow table.
//
// With a million connections held from a few addresses, most ports of each are taken, and a
// sequential search that asks the flow table about every candidate (one cache miss each) cost
// the CRR client tens of lookups per connect (bench crr_1m_idle). Here each port has a count of
// the flows mapped from it (to any peer) and a bit that says "no flow", kept in step with the
// flow table by Engine. pick() walks the bits from a cursor (RFC 6056 §3.3.1's sequential
// choice); when every port has a flow, Engine falls back to the tuple-exact search, since a
// local port may serve several peers (RFC 6056 §2.2: the 4-tuple must be unique, not the port).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace ustcp::engine {

class EphemeralPorts {
public:
    EphemeralPorts(std::uint16_t first, std::uint16_t last)
        : first_(first), n_(static_cast<std::uint32_t>(last - first) + 1), users_(n_, 0),
          free_((n_ + 63) / 64, ~std::uint64_t{0}), cursor_(0) {
        if (n_ % 64 != 0) free_.back() = (std::uint64_t{1} << (n_ % 64)) - 1;  // no bits past `last`
    }

    [[nodiscard]] bool in_range(std::uint16_t port) const noexcept {
        return port >= first_ && static_cast<std::uint32_t>(port - first_) < n_;
    }
    /// A flow from this address with local port `port` was mapped / unmapped (ports outside
    /// the range are ignored).
    void add(std::uint16_t port) noexcept {
        if (!in_range(port)) return;
        const std::uint32_t i = port - first_;
        if (users_[i]++ == 0) free_[i / 64] &= ~(std::uint64_t{1} << (i % 64));
    }
    void remove(std::uint16_t port) noexcept {
        if (!in_range(port)) return;
        const std::uint32_t i = port - first_;
        if (users_[i] == 0) return;  // not counted: nothing to undo
        if (--users_[i] == 0) free_[i / 64] |= std::uint64_t{1} << (i % 64);
    }
    [[nodiscard]] std::uint32_t users(std::uint16_t port) const noexcept {
        return in_range(port) ? users_[port - first_] : 0;
    }

    /// The next port at or after the cursor (wrapping) that no flow uses and that `usable`
    /// accepts (RSS: replies must reach this lcore); the cursor moves past it. nullopt when
    /// there is none.
    template <typename Usable>
    [[nodiscard]] std::optional<std::uint16_t> pick(Usable&& usable) {
        const std::size_t words = free_.size();
        const std::uint32_t start = cursor_;
        // Word by word from the cursor's, the first word masked below the cursor; then once
        // more for the cursor's word's bits below it (the wrap).
        for (std::size_t k = 0; k <= words; ++k) {
            const std::size_t w = (start / 64 + k) % words;
            std::uint64_t bits = free_[w];
            if (k == 0) bits &= ~std::uint64_t{0} << (start % 64);
            if (k == words) bits &= (std::uint64_t{1} << (start % 64)) - 1;
            while (bits != 0) {
                const std::uint32_t i = static_cast<std::uint32_t>(w * 64) + static_cast<std::uint32_t>(std::countr_zero(bits));
                bits &= bits - 1;
                const auto port = static_cast<std::uint16_t>(first_ + i);
                if (!usable(port)) continue;
                cursor_ = i + 1 == n_ ? 0 : i + 1;
                return port;
            }
        }
        return std::nullopt;
    }
    /// The cursor as a port: where the tuple-exact fallback search starts.
    [[nodiscard]] std::uint16_t cursor_port() const noexcept { return static_cast<std::uint16_t>(first_ + cursor_); }
    void set_cursor_port(std::uint16_t port) noexcept {
        cursor_ = in_range(port) ? static_cast<std::uint32_t>(port - first_) : 0;
    }

private:
    std::uint16_t first_;
    std::uint32_t n_;
    std::vector<std::uint32_t> users_;  // flows mapped from each port
    std::vector<std::uint64_t> free_;   // bit set: no flow from this port
    std::uint32_t cursor_;
};

}  // namespace ustcp::engine
