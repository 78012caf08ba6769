#include "relay/stun/text_attributes.h"

namespace turnpike::stun {

std::size_t utf8Characters(std::string_view text) {
  std::size_t n = 0;
  for (const char c : text) {
    n += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
  }
  return n;
}

Result<std::string_view, AttributeError> decodeText(AttributeType type,
                                                    std::span<const std::uint8_t> value) {
  const std::string_view text(reinterpret_cast<const char*>(value.data()), value.size());
  switch (type) {
    case AttributeType::Username:
      if (text.size() >= 509) {
        return AttributeError::TooLong;
      }
      break;
    case AttributeType::AlternateDomain:
      if (text.size() > 255) {
        return AttributeError::TooLong;
      }
      break;
    default:
      if (text.size() > 763 || utf8Characters(text) >= 128) {
        return AttributeError::TooLong;
      }
      break;
  }
  return text;
}

Result<std::span<const std::uint8_t>, AttributeError> decodeUserhash(
    std::span<const std::uint8_t> value) {
  if (value.size() != 32) {
    return AttributeError::WrongSize;
  }
  return value;
}

}  // namespace turnpike::stun
