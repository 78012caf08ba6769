#pragma once

#include <cstdint>
#include <span>

#include "relay/base/result.h"
#include "relay/stun/attribute_error.h"

namespace turnpike::stun {

// RFC 8489 §14.11 PASSWORD-ALGORITHMS (a list) and §14.12 PASSWORD-ALGORITHM
// (one entry):
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |          Algorithm           |  Algorithm Parameters Length   |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                    Algorithm Parameters (variable)
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
struct PasswordAlgorithm {
  std::uint16_t algorithm = 0;
  std::span<const std::uint8_t> parameters;
  bool operator==(const PasswordAlgorithm& o) const {
    return algorithm == o.algorithm && parameters.size() == o.parameters.size();
  }
};

/// Decodes a single PASSWORD-ALGORITHM value (it must fill the value exactly,
/// up to padding).
Result<PasswordAlgorithm, AttributeError> decodePasswordAlgorithm(
    std::span<const std::uint8_t> value);

/// Iterates a PASSWORD-ALGORITHMS value. Returns false if the list is malformed.
template <typename F>
bool forEachPasswordAlgorithm(std::span<const std::uint8_t> value, F&& f);

/// Number of entries in a PASSWORD-ALGORITHMS value, or an error.
Result<std::size_t, AttributeError> countPasswordAlgorithms(std::span<const std::uint8_t> value);

/// Reads the entry at `offset` and the offset of the next one.
Result<PasswordAlgorithm, AttributeError> passwordAlgorithmAt(std::span<const std::uint8_t> value,
                                                              std::size_t offset,
                                                              std::size_t& next);

template <typename F>
bool forEachPasswordAlgorithm(std::span<const std::uint8_t> value, F&& f) {
  std::size_t offset = 0;
  while (offset < value.size()) {
    std::size_t next = 0;
    auto entry = passwordAlgorithmAt(value, offset, next);
    if (!entry) {
      return false;
    }
    f(entry.value());
    offset = next;
  }
  return true;
}

}  // namespace turnpike::stun
