#pragma once

#include <array>
#include <cstdint>
#include <span>

namespace turnpike {

/// SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed hash for tables whose
/// keys a stranger picks, so colliding keys cannot be aimed at without the
/// secret key.
std::uint64_t sipHash24(const std::array<std::uint8_t, 16>& key,
                        std::span<const std::uint8_t> data);

}  // namespace turnpike
