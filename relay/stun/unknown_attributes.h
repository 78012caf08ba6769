#pragma once

#include <cstdint>
#include <span>

#include "relay/base/result.h"
#include "relay/stun/attribute_error.h"

namespace turnpike::stun {

/// RFC 8489 §14.9: UNKNOWN-ATTRIBUTES is a list of 16-bit attribute types.
/// The decoder returns how many there are; read them with unknownAttributeAt().
Result<std::size_t, AttributeError> decodeUnknownAttributes(std::span<const std::uint8_t> value);
std::uint16_t unknownAttributeAt(std::span<const std::uint8_t> value, std::size_t index);

/// Most unknown comprehension-required attributes a 420 response lists.
constexpr std::size_t kMaxUnknownAttributes = 16;

}  // namespace turnpike::stun
