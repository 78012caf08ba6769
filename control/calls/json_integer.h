#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>

namespace turnpike::control {

/// `j` as an integer of type T. Anything else (a float, a string, a number
/// T cannot hold) throws nlohmann::json::type_error: json's own get<T>()
/// would convert a float out of range, which is undefined behaviour.
template <typename T>
T jsonInteger(const nlohmann::json& j) {
  if (j.is_number_unsigned()) {
    const auto v = j.get<std::uint64_t>();
    if (v <= static_cast<std::uint64_t>(std::numeric_limits<T>::max())) {
      return static_cast<T>(v);
    }
  } else if (j.is_number_integer()) {
    const auto v = j.get<std::int64_t>();
    if (v >= 0 || std::numeric_limits<T>::is_signed) {
      return static_cast<T>(v);
    }
  }
  throw nlohmann::json::type_error::create(302, "expected an integer in range", &j);
}

/// `j` as one of the values of enum E, from 0 to `last`.
template <typename E>
E jsonEnum(const nlohmann::json& j, E last) {
  const auto v = jsonInteger<int>(j);
  if (v < 0 || v > static_cast<int>(last)) {
    throw nlohmann::json::type_error::create(302, "enum value out of range", &j);
  }
  return static_cast<E>(v);
}

}  // namespace turnpike::control
