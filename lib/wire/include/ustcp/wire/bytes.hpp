// Byte spans used across lib/wire. A view borrows its bytes; it never owns or copies them.
#pragma once

#include <cstdint>
#include <span>

namespace ustcp::wire {

using Bytes = std::span<const std::uint8_t>;
using MutBytes = std::span<std::uint8_t>;

}  // namespace ustcp::wire
