#include "relay/stun/unknown_attributes.h"

#include "relay/stun/byte_io.h"

namespace turnpike::stun {

Result<std::size_t, AttributeError> decodeUnknownAttributes(std::span<const std::uint8_t> value) {
  if (value.size() % 2 != 0) {
    return AttributeError::WrongSize;
  }
  return value.size() / 2;
}

std::uint16_t unknownAttributeAt(std::span<const std::uint8_t> value, std::size_t index) {
  return readU16(&value[index * 2]);
}

}  // namespace turnpike::stun
