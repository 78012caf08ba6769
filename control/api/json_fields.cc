#include "control/api/json_fields.h"

namespace turnpike::control::api {

const nlohmann::json* JsonFields::find(std::string_view name) const {
  auto it = object_.find(name);
  return it == object_.end() || it->is_null() ? nullptr : &*it;
}

void JsonFields::fail(std::string_view name, std::string_view what) {
  if (error_.empty()) {
    error_ = std::string(name) + ": " + std::string(what);
  }
}

std::string JsonFields::string(std::string_view name, std::size_t max) {
  const auto* v = find(name);
  if (v == nullptr) {
    fail(name, "is required");
    return {};
  }
  if (!v->is_string() || v->get_ref<const std::string&>().empty()) {
    fail(name, "must be a non-empty string");
    return {};
  }
  if (v->get_ref<const std::string&>().size() > max) {
    fail(name, "is longer than " + std::to_string(max) + " bytes");
    return {};
  }
  return v->get<std::string>();
}

std::string JsonFields::optionalString(std::string_view name, std::size_t max) {
  const auto* v = find(name);
  if (v == nullptr) {
    return {};
  }
  if (!v->is_string()) {
    fail(name, "must be a string");
    return {};
  }
  if (v->get_ref<const std::string&>().size() > max) {
    fail(name, "is longer than " + std::to_string(max) + " bytes");
    return {};
  }
  return v->get<std::string>();
}

std::optional<bool> JsonFields::optionalBool(std::string_view name) {
  const auto* v = find(name);
  if (v == nullptr) {
    return std::nullopt;
  }
  if (!v->is_boolean()) {
    fail(name, "must be true or false");
    return std::nullopt;
  }
  return v->get<bool>();
}

std::optional<std::int64_t> JsonFields::optionalInteger(std::string_view name) {
  const auto* v = find(name);
  if (v == nullptr) {
    return std::nullopt;
  }
  if (!v->is_number_integer()) {
    fail(name, "must be an integer");
    return std::nullopt;
  }
  return v->get<std::int64_t>();
}

const nlohmann::json* JsonFields::array(std::string_view name, std::size_t max_items) {
  const auto* v = find(name);
  if (v == nullptr || !v->is_array()) {
    fail(name, "must be an array");
    return nullptr;
  }
  if (v->size() > max_items) {
    fail(name, "has more than " + std::to_string(max_items) + " items");
    return nullptr;
  }
  return v;
}

const nlohmann::json* JsonFields::optionalObject(std::string_view name) {
  const auto* v = find(name);
  if (v != nullptr && !v->is_object()) {
    fail(name, "must be an object");
    return nullptr;
  }
  return v;
}

}  // namespace turnpike::control::api
