#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "control/tokens/jwt.h"

namespace turnpike::control::tokens {

/// api.user_tokens: the keys the app backend signs user tokens with.
struct UserTokenSettings {
  std::vector<std::string> hs256_secrets;
  std::vector<std::string> public_key_pems;  ///< PEM text (ES256, RS256, EdDSA)
  std::string issuer;                        ///< empty: not checked
  std::string audience;                      ///< empty: not checked
  std::chrono::seconds leeway{30};
};

/// Checks `Authorization: Bearer` user tokens: JWTs whose `sub` is the user id.
class UserTokenVerifier {
 public:
  /// nullopt with `error` naming the bad key when a PEM cannot be used.
  static std::optional<UserTokenVerifier> create(const UserTokenSettings& settings,
                                                 std::string& error);
  /// False when no key is configured: every token is then refused.
  [[nodiscard]] bool configured() const { return !keys_.empty(); }
  /// The user id (`sub`, non-empty string) of a valid token; nullopt with a
  /// short `error` otherwise.
  [[nodiscard]] std::optional<std::string> verify(std::string_view token,
                                                  std::chrono::seconds unix_now,
                                                  std::string& error) const;

 private:
  std::vector<VerifyKey> keys_;
  JwtExpectations expect_;
};

}  // namespace turnpike::control::tokens
