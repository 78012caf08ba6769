#pragma once

#include <map>
#include <string>
#include <vector>

#include "auth/credential_provider.h"
#include "relay/stun/crypto.h"

namespace turnpike::auth {

/// Long-term users from the config file: name -> password, or name -> "0x"
/// followed by the hex MD5 key (coturn's turnadmin -k format). Keys are
/// derived per request (they depend on the realm and the algorithm chosen).
/// USERHASH values for the server's realm are computed once, here, so a
/// request naming a user by hash costs one lookup, not one SASLprep and
/// SHA-256 per user.
class StaticUsers final : public CredentialProvider {
 public:
  explicit StaticUsers(std::map<std::string, std::string> passwords, std::string realm = "");

  std::optional<LookupFailure> lookup(std::string_view username, std::string_view realm,
                                      stun::PasswordAlgorithmId algorithm,
                                      std::chrono::seconds unix_now,
                                      std::vector<Credential>& out) const override;
  /// The key in "0x<32 hex digits>", or nullopt when the value is a password.
  static std::optional<std::vector<std::uint8_t>> precomputedKey(std::string_view value);

  [[nodiscard]] std::optional<std::string> usernameForHash(std::span<const std::uint8_t> userhash,
                                                           std::string_view realm) const override;

 private:
  std::map<std::string, std::string, std::less<>> passwords_;
  std::string realm_;
  std::map<stun::crypto::Sha256Digest, std::string> by_hash_;  ///< USERHASH in realm_ -> name
};

}  // namespace turnpike::auth
