#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "relay/stun/long_term_key.h"

namespace turnpike::auth {

/// The long-term keys (RFC 8489 §9.2.2) of recently seen TURN REST usernames.
/// Deriving one costs an HMAC-SHA1 and base64 (the REST password), two
/// SASLprep runs and an MD5 or SHA-256, and every request of a client asks
/// for the same one: four times per allocation cycle, once per secret.
///
/// Entries are keyed by all the key depends on (secret, username, realm,
/// algorithm), so a rotated secret or a reload that changes the realm just
/// misses and the old entries age out. Bounded: kCapacity slots, one place
/// per entry chosen by a keyed SipHash (a stranger picks usernames, so which
/// of them collide must not be predictable); a newcomer replaces whatever
/// held its slot. Not thread-safe: one per worker thread (forThisThread()).
class RestKeyCache {
 public:
  static constexpr std::size_t kCapacity = 512;

  RestKeyCache();

  /// The long-term key for `username` whose REST password `secret` signed:
  /// remembered, or derived and then remembered. nullopt when a string fails
  /// SASLprep (never remembered).
  std::optional<std::vector<std::uint8_t>> longTermKey(std::string_view secret,
                                                       std::string_view username,
                                                       std::string_view realm,
                                                       stun::PasswordAlgorithmId algorithm);

  /// How many slots hold a key.
  [[nodiscard]] std::size_t size() const;

  /// The calling thread's cache.
  static RestKeyCache& forThisThread();

 private:
  struct Entry {
    std::string secret;
    std::string username;
    std::string realm;
    stun::PasswordAlgorithmId algorithm = stun::PasswordAlgorithmId::Md5;
    std::vector<std::uint8_t> key;  ///< empty: a free slot
  };

  std::size_t slotFor(std::string_view secret, std::string_view username, std::string_view realm,
                      stun::PasswordAlgorithmId algorithm);

  std::array<std::uint8_t, 16> hash_key_{};
  std::string scratch_;  ///< reused for the hash input
  std::vector<Entry> slots_;
};

}  // namespace turnpike::auth
