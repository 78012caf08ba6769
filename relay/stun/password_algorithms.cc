#include "relay/stun/password_algorithms.h"

#include "relay/stun/byte_io.h"

namespace turnpike::stun {

Result<PasswordAlgorithm, AttributeError> passwordAlgorithmAt(std::span<const std::uint8_t> value,
                                                              std::size_t offset,
                                                              std::size_t& next) {
  if (offset + 4 > value.size()) {
    return AttributeError::WrongSize;
  }
  const std::size_t length = readU16(&value[offset + 2]);
  if (offset + 4 + length > value.size()) {
    return AttributeError::WrongSize;
  }
  // Parameters are padded to 4 bytes inside the list; the last entry's
  // padding is the attribute's own.
  next = offset + 4 + padTo4(length);
  if (next > value.size()) {
    next = value.size();
  }
  return PasswordAlgorithm{readU16(&value[offset]), value.subspan(offset + 4, length)};
}

Result<PasswordAlgorithm, AttributeError> decodePasswordAlgorithm(
    std::span<const std::uint8_t> value) {
  std::size_t next = 0;
  auto entry = passwordAlgorithmAt(value, 0, next);
  if (entry && next != value.size()) {
    return AttributeError::WrongSize;
  }
  return entry;
}

Result<std::size_t, AttributeError> countPasswordAlgorithms(std::span<const std::uint8_t> value) {
  std::size_t count = 0;
  if (!forEachPasswordAlgorithm(value, [&](const PasswordAlgorithm&) { ++count; })) {
    return AttributeError::WrongSize;
  }
  return count;
}

}  // namespace turnpike::stun
