#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace turnpike::control {

/// The enum value whose name (by position in `names`) is `name`: how the
/// contract's strings ("ringing", "voip", ...) become enums and back.
template <typename Enum, std::size_t N>
std::optional<Enum> enumFromName(const std::string_view (&names)[N], std::string_view name) {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == name) {
      return static_cast<Enum>(i);
    }
  }
  return std::nullopt;
}

}  // namespace turnpike::control
