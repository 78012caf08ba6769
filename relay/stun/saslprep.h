#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace turnpike::stun {

/// SASLprep (RFC 4013) of a UTF-8 string, via libidn's stringprep profile.
/// RFC 8489 names OpaqueString (RFC 8265); for the strings STUN exchanges the
/// two agree (RFC 5769 §2.4 uses SASLprep). nullopt for prohibited input or
/// invalid UTF-8.
std::optional<std::string> saslprep(std::string_view input);

}  // namespace turnpike::stun
