#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace turnpike::callgen {

/// `object[key]` when it is a string, else "" (absent, null or another type:
/// nlohmann's value() would throw on a null).
inline std::string stringField(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) {
    return {};
  }
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace turnpike::callgen
