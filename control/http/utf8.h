#pragma once

#include <string_view>

namespace turnpike::control::http {

/// Strict UTF-8 (RFC 3629 §4): no overlong forms, no surrogates, nothing
/// above U+10FFFF. RFC 6455 §8.1 makes invalid text fail the connection.
[[nodiscard]] bool isValidUtf8(std::string_view text);

}  // namespace turnpike::control::http
