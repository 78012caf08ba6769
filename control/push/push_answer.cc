#include "control/push/push_answer.h"

#include <algorithm>

namespace turnpike::control::push {

std::optional<Answer> plainAnswer(const HttpResponse& response) {
  Answer a;
  if (response.status == 200) {
    a.verdict = Verdict::Delivered;
    return a;
  }
  if (response.status == 0) {
    a.verdict = Verdict::Retry;
    a.reason = response.error;
    return a;
  }
  return std::nullopt;
}

std::optional<std::chrono::milliseconds> retryAfterOf(const HttpResponse& response) {
  const auto it = response.headers.find("retry-after");
  return it == response.headers.end() ? std::nullopt : parseRetryAfter(it->second);
}

std::string stringField(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) {
    return {};
  }
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::optional<std::chrono::milliseconds> parseRetryAfter(const std::string& value) {
  if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  const auto seconds = value.size() > 4 ? 3600 : std::min<std::int64_t>(std::stoll(value), 3600);
  return std::chrono::milliseconds{seconds * 1000};
}

}  // namespace turnpike::control::push
