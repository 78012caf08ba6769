#include "control/api/api_error.h"

#include <nlohmann/json.hpp>

namespace turnpike::control::api {

http::Response apiError(int status, std::string_view code, std::string_view message) {
  const nlohmann::json body{{"error", {{"code", code}, {"message", message}}}};
  http::Response response;
  response.status = status;
  // Invalid UTF-8 (a message quoting a client's bytes) is replaced, not thrown.
  response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (status == 401) {
    response.headers.emplace_back("WWW-Authenticate", "Bearer");
  }
  return response;
}

}  // namespace turnpike::control::api
