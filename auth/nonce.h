#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "relay/stun/transport_address.h"

namespace turnpike::auth {

/// Stateless nonces: nothing is stored per client. A nonce carries its issue
/// time and a MAC binding it to the client's IP address, so the server can
/// check it later with only its key.
///
/// Layout: "obMatJos2" (RFC 8489 §9.2 nonce cookie), 4 base64 characters of
/// STUN Security Feature bits, then base64(issue time (8 bytes, Unix seconds)
/// || 16-byte tag). The tag is SipHash-2-4 under the key's first 16 bytes,
/// then under its last 16, of (issue time || client IP): two independent
/// 64-bit PRFs, so a 128-bit tag like the truncated HMAC-SHA256 it replaces,
/// at a fraction of the cost (every authenticated request checks one). The
/// key is random per process, so no nonce outlives the process that issued it.
class NonceCodec {
 public:
  /// RFC 8489 §9.2: "Password algorithms" (bit 0) and "Username anonymity"
  /// (bit 1), numbered from the least significant side (erratum 6290).
  static constexpr std::uint32_t kSecurityFeatures = 0x000003;
  static constexpr std::string_view kCookie = "obMatJos2";

  NonceCodec(const std::array<std::uint8_t, 32>& key, std::chrono::seconds lifetime);

  [[nodiscard]] std::string issue(const stun::TransportAddress& client,
                                  std::chrono::seconds unix_now) const;

  enum class Check : std::uint8_t { Valid, Stale, Forged };
  [[nodiscard]] Check check(std::string_view nonce, const stun::TransportAddress& client,
                            std::chrono::seconds unix_now) const;

  /// True when the nonce announces the "Password algorithms" feature.
  static bool announcesPasswordAlgorithms(std::string_view nonce);

 private:
  [[nodiscard]] std::array<std::uint8_t, 16> tag(std::uint64_t issued,
                                                 const stun::TransportAddress& client) const;

  std::array<std::uint8_t, 16> first_key_;
  std::array<std::uint8_t, 16> second_key_;
  std::chrono::seconds lifetime_;
};

}  // namespace turnpike::auth
