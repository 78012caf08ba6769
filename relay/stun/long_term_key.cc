#include "relay/stun/long_term_key.h"

#include <string>

#include "relay/stun/saslprep.h"

namespace turnpike::stun {
namespace {

crypto::Bytes asBytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace

std::optional<std::vector<std::uint8_t>> longTermKey(PasswordAlgorithmId algorithm,
                                                     std::string_view username,
                                                     std::string_view realm,
                                                     std::string_view password) {
  const auto prepared_realm = saslprep(realm);
  const auto prepared_password = saslprep(password);
  if (!prepared_realm || !prepared_password) {
    return std::nullopt;
  }
  std::string input;
  input.reserve(username.size() + prepared_realm->size() + prepared_password->size() + 2);
  input.append(username).append(":").append(*prepared_realm).append(":").append(*prepared_password);
  if (algorithm == PasswordAlgorithmId::Sha256) {
    const auto d = crypto::sha256(asBytes(input));
    return std::vector<std::uint8_t>(d.begin(), d.end());
  }
  const auto d = crypto::md5(asBytes(input));
  return std::vector<std::uint8_t>(d.begin(), d.end());
}

std::optional<crypto::Sha256Digest> userHash(std::string_view username, std::string_view realm) {
  const auto prepared_user = saslprep(username);
  const auto prepared_realm = saslprep(realm);
  if (!prepared_user || !prepared_realm) {
    return std::nullopt;
  }
  const std::string input = *prepared_user + ":" + *prepared_realm;
  return crypto::sha256(asBytes(input));
}

}  // namespace turnpike::stun
