#include "control/http/utf8.h"

#include <cstdint>

namespace turnpike::control::http {

// RFC 3629 §4, the UTF8-octets grammar, one lead byte at a time.
bool isValidUtf8(std::string_view text) {
  std::size_t i = 0;
  const std::size_t n = text.size();
  auto byte = [&](std::size_t at) { return static_cast<std::uint8_t>(text[at]); };
  auto tail = [&](std::size_t at) { return at < n && (byte(at) & 0xC0U) == 0x80U; };
  while (i < n) {
    const std::uint8_t lead = byte(i);
    if (lead < 0x80U) {
      ++i;
      continue;
    }
    if (lead >= 0xC2U && lead <= 0xDFU) {
      if (!tail(i + 1)) {
        return false;
      }
      i += 2;
      continue;
    }
    if (lead >= 0xE0U && lead <= 0xEFU) {
      if (!tail(i + 1) || !tail(i + 2)) {
        return false;
      }
      const std::uint8_t second = byte(i + 1);
      // E0 A0..BF (no overlong), ED 80..9F (no surrogates).
      if ((lead == 0xE0U && second < 0xA0U) || (lead == 0xEDU && second > 0x9FU)) {
        return false;
      }
      i += 3;
      continue;
    }
    if (lead >= 0xF0U && lead <= 0xF4U) {
      if (!tail(i + 1) || !tail(i + 2) || !tail(i + 3)) {
        return false;
      }
      const std::uint8_t second = byte(i + 1);
      // F0 90..BF (no overlong), F4 80..8F (at most U+10FFFF).
      if ((lead == 0xF0U && second < 0x90U) || (lead == 0xF4U && second > 0x8FU)) {
        return false;
      }
      i += 4;
      continue;
    }
    return false;
  }
  return true;
}

}  // namespace turnpike::control::http
