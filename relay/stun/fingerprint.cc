#include "relay/stun/fingerprint.h"

#include "relay/stun/crypto.h"

namespace turnpike::stun {

std::uint32_t fingerprintOf(std::span<const std::uint8_t> message_prefix) {
  return crypto::crc32(message_prefix) ^ kFingerprintXor;
}

}  // namespace turnpike::stun
