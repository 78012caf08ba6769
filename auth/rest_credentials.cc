#include "auth/rest_credentials.h"

#include <charconv>

#include "auth/call_credentials.h"
#include "auth/rest_key_cache.h"
#include "relay/stun/crypto.h"

namespace turnpike::auth {
namespace {

stun::crypto::Bytes asBytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace

RestCredentials::RestCredentials(std::vector<std::string> secrets, std::chrono::seconds max_ttl,
                                 bool calls_elsewhere)
    : secrets_(std::move(secrets)), max_ttl_(max_ttl), calls_elsewhere_(calls_elsewhere) {}

std::string RestCredentials::passwordFor(std::string_view secret, std::string_view username) {
  const auto mac = stun::crypto::hmacSha1(asBytes(secret), {asBytes(username)});
  return stun::crypto::base64Encode(mac);
}

std::optional<LookupFailure> RestCredentials::lookup(std::string_view username,
                                                     std::string_view realm,
                                                     stun::PasswordAlgorithmId algorithm,
                                                     std::chrono::seconds unix_now,
                                                     std::vector<Credential>& out) const {
  if (calls_elsewhere_ && callIdOfUsername(username)) {
    return LookupFailure::UnknownUser;
  }
  // The expiry is the part before the first ':'.
  const auto colon = username.find(':');
  const std::string_view expiry_text = username.substr(0, colon);
  std::int64_t expiry = 0;
  const auto [end, ec] =
      std::from_chars(expiry_text.data(), expiry_text.data() + expiry_text.size(), expiry);
  if (secrets_.empty() || ec != std::errc{} || end != expiry_text.data() + expiry_text.size()) {
    return LookupFailure::UnknownUser;
  }
  const std::chrono::seconds expires_at{expiry};
  if (expires_at <= unix_now) {
    return LookupFailure::ExpiredUsername;
  }
  if (expires_at - unix_now > max_ttl_) {
    return LookupFailure::TtlTooLong;
  }
  const std::string user_id(colon == std::string_view::npos ? std::string_view{}
                                                            : username.substr(colon + 1));
  for (const auto& secret : secrets_) {
    auto key = RestKeyCache::forThisThread().longTermKey(secret, username, realm, algorithm);
    if (key) {
      out.push_back(Credential{std::string(username), user_id, std::move(*key), expires_at, {}});
    }
  }
  return std::nullopt;
}

}  // namespace turnpike::auth
