#pragma once

#include <map>
#include <string>

#include "auth/credential_provider.h"

namespace turnpike::auth {

/// Long-term users from the config file: name -> password. Keys are derived
/// per request (they depend on the realm and the algorithm the client chose).
class StaticUsers final : public CredentialProvider {
 public:
  explicit StaticUsers(std::map<std::string, std::string> passwords)
      : passwords_(passwords.begin(), passwords.end()) {}

  std::optional<LookupFailure> lookup(std::string_view username, std::string_view realm,
                                      stun::PasswordAlgorithmId algorithm,
                                      std::chrono::seconds unix_now,
                                      std::vector<Credential>& out) const override;
  [[nodiscard]] std::optional<std::string> usernameForHash(std::span<const std::uint8_t> userhash,
                                                           std::string_view realm) const override;

 private:
  std::map<std::string, std::string, std::less<>> passwords_;
};

}  // namespace turnpike::auth
