#pragma once

#include <cstddef>
#include <cstdint>

namespace turnpike::stun {

// Network byte order helpers. Callers check bounds before calling: these take
// raw pointers so the hot path pays for one bounds check per field group.

inline std::uint16_t readU16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

inline std::uint32_t readU32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

inline void writeU16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}

inline void writeU32(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 24);
  p[1] = static_cast<std::uint8_t>(v >> 16);
  p[2] = static_cast<std::uint8_t>(v >> 8);
  p[3] = static_cast<std::uint8_t>(v);
}

/// RFC 8489 §14: attribute values are padded to a multiple of 4 bytes.
constexpr std::size_t padTo4(std::size_t n) { return (n + 3) & ~std::size_t{3}; }

}  // namespace turnpike::stun
