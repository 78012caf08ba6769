#pragma once

#include <cstdint>
#include <span>

namespace turnpike::stun {

// RFC 8489 §14.7: "the CRC-32 of the STUN message up to (but excluding) the
// FINGERPRINT attribute itself, XOR'ed with the 32-bit value 0x5354554e".
constexpr std::uint32_t kFingerprintXor = 0x5354554e;

std::uint32_t fingerprintOf(std::span<const std::uint8_t> message_prefix);

}  // namespace turnpike::stun
