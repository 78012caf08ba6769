#include "auth/rest_key_cache.h"

#include "auth/rest_credentials.h"
#include "relay/base/siphash.h"
#include "relay/stun/crypto.h"

namespace turnpike::auth {

RestKeyCache::RestKeyCache() : slots_(kCapacity) { stun::crypto::randomBytes(hash_key_); }

std::size_t RestKeyCache::slotFor(std::string_view secret, std::string_view username,
                                  std::string_view realm, stun::PasswordAlgorithmId algorithm) {
  // Only picks the slot: entries are compared in full, so how the parts are
  // joined does not need to be unambiguous.
  scratch_.assign(secret);
  scratch_.push_back('\0');
  scratch_.append(username);
  scratch_.push_back('\0');
  scratch_.append(realm);
  scratch_.push_back(static_cast<char>(algorithm));
  const auto h = sipHash24(
      hash_key_, {reinterpret_cast<const std::uint8_t*>(scratch_.data()), scratch_.size()});
  return static_cast<std::size_t>(h % kCapacity);
}

std::optional<std::vector<std::uint8_t>> RestKeyCache::longTermKey(
    std::string_view secret, std::string_view username, std::string_view realm,
    stun::PasswordAlgorithmId algorithm) {
  Entry& entry = slots_[slotFor(secret, username, realm, algorithm)];
  if (!entry.key.empty() && entry.algorithm == algorithm && entry.username == username &&
      entry.realm == realm && entry.secret == secret) {
    return entry.key;
  }
  auto key =
      stun::longTermKey(algorithm, username, realm, RestCredentials::passwordFor(secret, username));
  if (key) {
    entry.secret.assign(secret);
    entry.username.assign(username);
    entry.realm.assign(realm);
    entry.algorithm = algorithm;
    entry.key = *key;
  }
  return key;
}

std::size_t RestKeyCache::size() const {
  std::size_t n = 0;
  for (const Entry& entry : slots_) {
    n += entry.key.empty() ? 0 : 1;
  }
  return n;
}

RestKeyCache& RestKeyCache::forThisThread() {
  thread_local RestKeyCache cache;
  return cache;
}

}  // namespace turnpike::auth
