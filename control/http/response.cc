#include "control/http/response.h"

#include <http_parser.h>

#include <nlohmann/json.hpp>

namespace turnpike::control::http {
namespace {

std::string_view reasonPhrase(int status) {
  const std::string_view phrase = http_status_str(static_cast<enum http_status>(status));
  return phrase == "<unknown>" ? std::string_view{"Unknown"} : phrase;
}

void appendHeader(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
}

}  // namespace

Response errorResponse(int status, std::string_view code, std::string_view message) {
  Response response;
  response.status = status;
  // Messages may quote request bytes; `replace` keeps invalid UTF-8 from
  // throwing on the way out.
  response.body = nlohmann::json{{"error", {{"code", code}, {"message", message}}}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
  return response;
}

Response preflightResponse() {
  Response response;
  response.status = 204;
  response.content_type.clear();
  response.headers = {
      {"Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS"},
      {"Access-Control-Allow-Headers", "Authorization, Content-Type, Idempotency-Key"},
      {"Access-Control-Max-Age", "600"},
  };
  return response;
}

std::string serializeResponse(const Response& response, bool keep_alive) {
  std::string out;
  out.reserve(256 + response.body.size());
  out.append("HTTP/1.1 ");
  out.append(std::to_string(response.status));
  out.push_back(' ');
  out.append(reasonPhrase(response.status));
  out.append("\r\n");
  if (!response.content_type.empty()) {
    appendHeader(out, "Content-Type", response.content_type);
  }
  appendHeader(out, "Content-Length", std::to_string(response.body.size()));
  appendHeader(out, "Connection", keep_alive ? "keep-alive" : "close");
  appendHeader(out, "Access-Control-Allow-Origin", "*");
  for (const auto& [name, value] : response.headers) {
    appendHeader(out, name, value);
  }
  out.append("\r\n");
  out.append(response.body);
  return out;
}

std::string switchingProtocols(std::string_view accept) {
  std::string out = "HTTP/1.1 101 Switching Protocols\r\n";
  appendHeader(out, "Upgrade", "websocket");
  appendHeader(out, "Connection", "Upgrade");
  appendHeader(out, "Sec-WebSocket-Accept", accept);
  appendHeader(out, "Access-Control-Allow-Origin", "*");
  out.append("\r\n");
  return out;
}

}  // namespace turnpike::control::http
