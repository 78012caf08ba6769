#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace turnpike::control::api {

/// Reads typed fields out of a request body, remembering the first field
/// that is missing or of the wrong type (the 400 names it). Unknown fields
/// are ignored (control-plane.md "The API listener").
class JsonFields {
 public:
  explicit JsonFields(const nlohmann::json& object) : object_(object) {}

  /// A required non-empty string of at most `max` bytes.
  std::string string(std::string_view name, std::size_t max = 256);
  /// An optional string ("" when absent or null).
  std::string optionalString(std::string_view name, std::size_t max = 2048);
  std::optional<bool> optionalBool(std::string_view name);
  std::optional<std::int64_t> optionalInteger(std::string_view name);
  /// A required array, or null json with the error recorded.
  const nlohmann::json* array(std::string_view name, std::size_t max_items);
  const nlohmann::json* optionalObject(std::string_view name);

  [[nodiscard]] bool ok() const { return error_.empty(); }
  [[nodiscard]] const std::string& error() const { return error_; }
  void fail(std::string_view name, std::string_view what);

 private:
  const nlohmann::json* find(std::string_view name) const;
  const nlohmann::json& object_;
  std::string error_;
};

}  // namespace turnpike::control::api
