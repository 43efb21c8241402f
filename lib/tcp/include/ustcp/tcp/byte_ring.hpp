// A byte FIFO over caller-provided storage, for the part-1 send and receive
// buffers. It never allocates. (Part 2 replaces payload copies with buffer chains
// that keep mbufs as they arrived; the TCB keeps only sequence arithmetic.)
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>

#include "ustcp/wire/bytes.hpp"

namespace ustcp::tcp {

class ByteRing {
public:
    ByteRing() noexcept = default;
    explicit ByteRing(wire::MutBytes storage) noexcept : buf_(storage) {}

    [[nodiscard]] std::size_t size() const noexcept { return len_; }
    [[nodiscard]] std::size_t capacity() const noexcept { return buf_.size(); }
    [[nodiscard]] std::size_t free() const noexcept { return buf_.size() - len_; }
    [[nodiscard]] bool empty() const noexcept { return len_ == 0; }

    /// Appends up to free() bytes of `data`; returns how many were taken.
    std::size_t push(wire::Bytes data) noexcept {
        const std::size_t n = std::min(data.size(), free());
        std::size_t tail = (head_ + len_) % cap_or_1();
        const std::size_t first = std::min(n, buf_.size() - tail);
        if (first > 0) std::memcpy(buf_.data() + tail, data.data(), first);
        if (n > first) std::memcpy(buf_.data(), data.data() + first, n - first);
        len_ += n;
        return n;
    }

    /// Copies up to out.size() bytes from the front and removes them.
    std::size_t pop(wire::MutBytes out) noexcept {
        const std::size_t n = std::min(out.size(), len_);
        auto [a, b] = peek(0, n);
        if (!a.empty()) std::memcpy(out.data(), a.data(), a.size());
        if (!b.empty()) std::memcpy(out.data() + a.size(), b.data(), b.size());
        consume(n);
        return n;
    }

    /// Drops `n` bytes from the front. Precondition: n <= size().
    void consume(std::size_t n) noexcept {
        head_ = (head_ + n) % cap_or_1();
        len_ -= n;
        if (len_ == 0) head_ = 0;
    }

    /// The bytes [off, off + n) from the front, as one or two pieces.
    /// Precondition: off + n <= size().
    [[nodiscard]] std::pair<wire::Bytes, wire::Bytes> peek(std::size_t off, std::size_t n) const noexcept {
        if (n == 0) return {};
        const std::size_t start = (head_ + off) % cap_or_1();
        const std::size_t first = std::min(n, buf_.size() - start);
        wire::Bytes a(buf_.data() + start, first);
        wire::Bytes b(buf_.data(), n - first);
        return {a, b};
    }

    void clear() noexcept {
        head_ = 0;
        len_ = 0;
    }

private:
    [[nodiscard]] std::size_t cap_or_1() const noexcept { return buf_.empty() ? 1 : buf_.size(); }

    wire::MutBytes buf_;
    std::size_t head_ = 0;
    std::size_t len_ = 0;
};

}  // namespace ustcp::tcp
