#pragma once

#include <cstdint>

namespace turnpike::stun {

/// Why a typed decoder refused an attribute value.
enum class AttributeError : std::uint8_t {
  WrongSize,  ///< the value's length is not what the RFC allows
  BadFamily,  ///< address family other than 0x01 / 0x02
  BadValue,   ///< a field out of its range
  TooLong,    ///< a text value over the RFC's limit
};

}  // namespace turnpike::stun
