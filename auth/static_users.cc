#include "auth/static_users.h"

#include <algorithm>

#include "relay/stun/crypto.h"

namespace turnpike::auth {

std::optional<LookupFailure> StaticUsers::lookup(std::string_view username, std::string_view realm,
                                                 stun::PasswordAlgorithmId algorithm,
                                                 std::chrono::seconds /*unix_now*/,
                                                 std::vector<Credential>& out) const {
  const auto it = passwords_.find(username);
  if (it == passwords_.end()) {
    return LookupFailure::UnknownUser;
  }
  auto key = stun::longTermKey(algorithm, username, realm, it->second);
  if (!key) {
    return LookupFailure::UnknownUser;
  }
  out.push_back(Credential{it->first, it->first, std::move(*key), std::nullopt});
  return std::nullopt;
}

std::optional<std::string> StaticUsers::usernameForHash(std::span<const std::uint8_t> userhash,
                                                        std::string_view realm) const {
  for (const auto& [name, password] : passwords_) {
    const auto hash = stun::userHash(name, realm);
    if (hash && stun::crypto::constantTimeEqual(*hash, userhash)) {
      return name;
    }
  }
  return std::nullopt;
}

}  // namespace turnpike::auth
