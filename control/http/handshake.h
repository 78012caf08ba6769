#pragma once

#include <string>
#include <string_view>

#include "control/http/http_types.h"

namespace turnpike::control::http {

/// Whether a comma-separated header value (RFC 7230 §7) holds `token`,
/// compared case-insensitively ("keep-alive, Upgrade" holds "upgrade").
[[nodiscard]] bool hasToken(std::string_view list, std::string_view token);

/// RFC 6455 §4.2.1: a GET whose Upgrade holds "websocket" and whose
/// Connection holds "upgrade". Version and key are checked separately so
/// that a wrong version can be answered with 426.
[[nodiscard]] bool isWebSocketUpgrade(const Request& request);

/// RFC 6455 §4.2.1 item 5: the key is base64 of 16 bytes (24 characters).
[[nodiscard]] bool isValidWebSocketKey(std::string_view key);

/// RFC 6455 §4.2.2: base64(SHA-1(key + the protocol's GUID)).
[[nodiscard]] std::string webSocketAccept(std::string_view key);

}  // namespace turnpike::control::http
