#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "relay/stun/crypto.h"

namespace turnpike::app {

/// Compares a secret a stranger sent with ours in time that does not depend
/// on where they differ: a wrong guess says nothing about how close it was.
inline bool sameSecret(std::string_view given, std::string_view expected) {
  const auto bytes = [](std::string_view s) {
    return std::span(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
  };
  return stun::crypto::constantTimeEqual(bytes(given), bytes(expected));
}

}  // namespace turnpike::app
