#include "auth/static_users.h"

#include <algorithm>
#include <charconv>

#include "relay/stun/crypto.h"

namespace turnpike::auth {

std::optional<std::vector<std::uint8_t>> StaticUsers::precomputedKey(std::string_view value) {
  if (value.size() != 34 || value.substr(0, 2) != "0x") {
    return std::nullopt;
  }
  std::vector<std::uint8_t> key;
  for (std::size_t i = 2; i < value.size(); i += 2) {
    unsigned byte = 0;
    const auto [end, ec] = std::from_chars(value.data() + i, value.data() + i + 2, byte, 16);
    if (ec != std::errc{} || end != value.data() + i + 2) {
      return std::nullopt;
    }
    key.push_back(static_cast<std::uint8_t>(byte));
  }
  return key;
}

std::optional<LookupFailure> StaticUsers::lookup(std::string_view username, std::string_view realm,
                                                 stun::PasswordAlgorithmId algorithm,
                                                 std::chrono::seconds /*unix_now*/,
                                                 std::vector<Credential>& out) const {
  const auto it = passwords_.find(username);
  if (it == passwords_.end()) {
    return LookupFailure::UnknownUser;
  }
  // coturn's convention for a precomputed key: "0x" and the 32 hex digits of
  // MD5(user:realm:password), so the password itself need not be stored.
  std::optional<std::vector<std::uint8_t>> key;
  if (const auto precomputed = precomputedKey(it->second)) {
    if (algorithm != stun::PasswordAlgorithmId::Md5) {
      return LookupFailure::UnknownUser;  // an MD5 key cannot serve SHA-256
    }
    key = precomputed;
  } else {
    key = stun::longTermKey(algorithm, username, realm, it->second);
  }
  if (!key) {
    return LookupFailure::UnknownUser;
  }
  out.push_back(Credential{it->first, it->first, std::move(*key), std::nullopt, {}});
  return std::nullopt;
}

StaticUsers::StaticUsers(std::map<std::string, std::string> passwords, std::string realm)
    : passwords_(passwords.begin(), passwords.end()), realm_(std::move(realm)) {
  if (realm_.empty()) {
    return;
  }
  for (const auto& [name, password] : passwords_) {
    if (const auto hash = stun::userHash(name, realm_)) {
      by_hash_.emplace(*hash, name);
    }
  }
}

std::optional<std::string> StaticUsers::usernameForHash(std::span<const std::uint8_t> userhash,
                                                        std::string_view realm) const {
  if (!realm_.empty() && realm == realm_) {
    stun::crypto::Sha256Digest key{};
    if (userhash.size() != key.size()) {
      return std::nullopt;
    }
    std::copy(userhash.begin(), userhash.end(), key.begin());
    const auto it = by_hash_.find(key);
    return it == by_hash_.end() ? std::nullopt : std::optional<std::string>(it->second);
  }
  for (const auto& [name, password] : passwords_) {
    const auto hash = stun::userHash(name, realm);
    if (hash && stun::crypto::constantTimeEqual(*hash, userhash)) {
      return name;
    }
  }
  return std::nullopt;
}

}  // namespace turnpike::auth
