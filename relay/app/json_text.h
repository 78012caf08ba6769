#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace turnpike::app {

/// JSON text for the wire or a log line. Strings that came from a stranger
/// (a path, a username) may hold invalid UTF-8: it is replaced with U+FFFD
/// instead of throwing, so no answer or event can fail to be written.
template <typename Json>
std::string jsonText(const Json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace turnpike::app
