#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "auth/credential_provider.h"

namespace turnpike::auth {

/// TURN REST credentials (draft-uberti-behave-turn-rest): the username is
/// "<expiry-unix>:<user-id>" (the user-id may contain ':'), the password is
/// base64(HMAC-SHA1(secret, username)). Any of the configured secrets may
/// have signed it, so secrets rotate without dropping users.
class RestCredentials final : public CredentialProvider {
 public:
  /// `calls_elsewhere`: usernames that name a call are left to
  /// CallCredentials (which knows revocations), never accepted here.
  RestCredentials(std::vector<std::string> secrets, std::chrono::seconds max_ttl,
                  bool calls_elsewhere = false);

  std::optional<LookupFailure> lookup(std::string_view username, std::string_view realm,
                                      stun::PasswordAlgorithmId algorithm,
                                      std::chrono::seconds unix_now,
                                      std::vector<Credential>& out) const override;

  /// The password a client derives for `username` under `secret`.
  static std::string passwordFor(std::string_view secret, std::string_view username);

 private:
  std::vector<std::string> secrets_;
  std::chrono::seconds max_ttl_;
  bool calls_elsewhere_;
};

}  // namespace turnpike::auth
