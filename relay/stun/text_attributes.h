#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "relay/base/result.h"
#include "relay/stun/attribute_error.h"
#include "relay/stun/attribute_type.h"

namespace turnpike::stun {

/// Decodes a UTF-8 text attribute, enforcing its RFC 8489 limit:
/// USERNAME (§14.3) "MUST contain a UTF-8-encoded sequence of fewer than 509
/// bytes"; REALM (§14.9), NONCE (§14.10) and SOFTWARE (§14.14) "MUST be fewer
/// than 128 characters (which can be as long as 763 bytes)"; ALTERNATE-DOMAIN
/// (§14.16) a host name of at most 255 bytes.
Result<std::string_view, AttributeError> decodeText(AttributeType type,
                                                    std::span<const std::uint8_t> value);

/// RFC 8489 §14.4 USERHASH: exactly 32 bytes (a SHA-256 digest).
Result<std::span<const std::uint8_t>, AttributeError> decodeUserhash(
    std::span<const std::uint8_t> value);

/// Counts UTF-8 code points (bytes that do not continue a sequence).
std::size_t utf8Characters(std::string_view text);

}  // namespace turnpike::stun
