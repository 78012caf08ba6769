#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace turnpike::callgen {

/// RFC 4648 §4 base64, with padding.
std::string base64(std::string_view bytes);
/// RFC 4648 §5 base64url, without padding (RFC 7515 §2).
std::string base64Url(std::string_view bytes);

/// A user token as the app's backend would sign it: an HS256 JWT
/// (RFC 7519) with `sub` = user id, `iat` and `exp` (unix seconds).
std::string mintUserToken(std::string_view secret, std::string_view user_id, std::int64_t iat,
                          std::int64_t exp);

/// Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 §4.2.2).
std::string webSocketAccept(std::string_view key);

/// A fresh Sec-WebSocket-Key: base64 of 16 random bytes (RFC 6455 §4.1).
std::string webSocketKey();

}  // namespace turnpike::callgen
