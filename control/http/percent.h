#pragma once

#include <string>
#include <string_view>

namespace turnpike::control::http {

/// Decodes `%XX` escapes (RFC 3986 §2.1). A malformed escape is kept as it
/// stands rather than refused: the router then simply finds no route for it.
/// `plus_as_space` applies the form-encoding rule for query strings.
[[nodiscard]] std::string percentDecode(std::string_view text, bool plus_as_space);

}  // namespace turnpike::control::http
