#pragma once

#include <string>
#include <string_view>

#include "control/http/http_types.h"

namespace turnpike::control::http {

/// The JSON error every failure carries:
/// `{"error":{"code":"<code>","message":"<message>"}}`.
[[nodiscard]] Response errorResponse(int status, std::string_view code, std::string_view message);

/// The answer to a CORS preflight (any OPTIONS request): 204 with the
/// methods and headers browsers may use, cached for ten minutes.
[[nodiscard]] Response preflightResponse();

/// The status line, headers and body on the wire. Adds Content-Length,
/// Content-Type, Connection and `Access-Control-Allow-Origin: *` to the
/// handler's own headers.
[[nodiscard]] std::string serializeResponse(const Response& response, bool keep_alive);

/// The 101 that completes an RFC 6455 §4.2.2 handshake.
[[nodiscard]] std::string switchingProtocols(std::string_view accept);

}  // namespace turnpike::control::http
