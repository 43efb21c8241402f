// The fuzz targets' input reader: bytes, little-endian words, zeros past the end, so that
// every input decodes to some run.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ustcp::fuzz {

/// Reads the input front to back, little-endian; zeros once it runs out.
class Reader {
public:
    Reader(const std::uint8_t* d, std::size_t n) : d_(d), n_(n) {}
    [[nodiscard]] bool empty() const { return pos_ >= n_; }
    std::uint8_t u8() { return pos_ < n_ ? d_[pos_++] : 0; }
    std::uint16_t u16() { return static_cast<std::uint16_t>(u8() | (u8() << 8)); }
    std::uint32_t u32() { return static_cast<std::uint32_t>(u16()) | (static_cast<std::uint32_t>(u16()) << 16); }

private:
    const std::uint8_t* d_;
    std::size_t n_;
    std::size_t pos_ = 0;
};

}  // namespace ustcp::fuzz
