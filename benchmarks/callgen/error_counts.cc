#include "benchmarks/callgen/error_counts.h"

#include "benchmarks/callgen/json_util.h"

namespace turnpike::callgen {

std::string httpErrorKind(const std::string& step, int status, const std::string& body,
                          const std::string& transport_error) {
  if (status == 0) {
    return step + "_" + transport_error;
  }
  std::string kind = step + "_" + std::to_string(status);
  // control-plane.md: errors are {"error": {"code": "...", "message": "..."}}.
  const auto json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_object() && json.contains("error")) {
    const std::string code = stringField(json["error"], "code");
    if (!code.empty()) {
      kind += "_" + code;
    }
  }
  return kind;
}

}  // namespace turnpike::callgen
