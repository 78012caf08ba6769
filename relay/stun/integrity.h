#pragma once

#include <cstdint>
#include <span>

#include "relay/stun/message_view.h"

namespace turnpike::stun {

enum class IntegrityCheck : std::uint8_t {
  Ok,
  Missing,    ///< the attribute is absent
  Malformed,  ///< wrong value size
  Mismatch,   ///< the HMAC does not match: wrong key or altered message
};

/// RFC 8489 §14.5: HMAC-SHA1 over the message up to MESSAGE-INTEGRITY, with the
/// header length set as if MESSAGE-INTEGRITY were the last attribute.
IntegrityCheck verifyMessageIntegrity(const MessageView& message,
                                      std::span<const std::uint8_t> key);

/// RFC 8489 §14.6: the same with HMAC-SHA256; the value may be truncated to
/// 16..32 bytes in steps of 4.
IntegrityCheck verifyMessageIntegritySha256(const MessageView& message,
                                            std::span<const std::uint8_t> key);

}  // namespace turnpike::stun
