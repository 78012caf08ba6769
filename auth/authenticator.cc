#include "auth/authenticator.h"

#include <algorithm>

#include "relay/stun/integrity.h"
#include "relay/stun/password_algorithms.h"
#include "relay/stun/text_attributes.h"

namespace turnpike::auth {
namespace {

using stun::AttributeType;

constexpr std::array<std::uint8_t, 8> kPasswordAlgorithms = {0x00, 0x01, 0x00, 0x00,
                                                             0x00, 0x02, 0x00, 0x00};

AuthResult result(AuthResult::Action action, AuthFailure failure) {
  AuthResult r;
  r.action = action;
  r.failure = failure;
  return r;
}

std::optional<std::string_view> text(const stun::MessageView& m, AttributeType type) {
  const auto attr = m.find(type);
  if (!attr) {
    return std::nullopt;
  }
  const auto decoded = stun::decodeText(type, attr->value);
  if (!decoded) {
    return std::nullopt;
  }
  return decoded.value();
}

}  // namespace

std::string_view authFailureName(AuthFailure failure) {
  switch (failure) {
    case AuthFailure::None: return "none";
    case AuthFailure::MissingCredentials: return "missing_credentials";
    case AuthFailure::BadRequest: return "bad_request";
    case AuthFailure::UnknownUser: return "unknown_user";
    case AuthFailure::ExpiredUsername: return "expired_username";
    case AuthFailure::CallEnded: return "call_ended";
    case AuthFailure::BadIntegrity: return "bad_integrity";
    case AuthFailure::StaleNonce: return "stale_nonce";
  }
  return "unknown";
}

Authenticator::Authenticator(std::string realm, NonceCodec nonces,
                             std::vector<std::shared_ptr<const CredentialProvider>> providers)
    : realm_(std::move(realm)), nonces_(nonces), providers_(std::move(providers)) {}

std::span<const std::uint8_t> Authenticator::passwordAlgorithmsValue() {
  return kPasswordAlgorithms;
}

std::optional<std::string> Authenticator::resolveUsername(const stun::MessageView& request) const {
  if (const auto username = text(request, AttributeType::Username)) {
    return std::string(*username);
  }
  const auto hash_attr = request.find(AttributeType::Userhash);
  if (!hash_attr || !stun::decodeUserhash(hash_attr->value)) {
    return std::nullopt;
  }
  for (const auto& provider : providers_) {
    if (auto name = provider->usernameForHash(hash_attr->value, realm_)) {
      return name;
    }
  }
  return std::string{};  // a hash nobody knows: an unknown user, not a bad request
}

// RFC 8489 §9.2.4, when the nonce announces "Password algorithms": with
// neither attribute, MD5; otherwise both must be present, PASSWORD-ALGORITHMS
// must be what we sent, and PASSWORD-ALGORITHM one of its entries.
bool Authenticator::negotiateAlgorithm(const stun::MessageView& request, std::string_view nonce,
                                       stun::PasswordAlgorithmId& algorithm) const {
  algorithm = stun::PasswordAlgorithmId::Md5;
  const auto algorithms = request.find(AttributeType::PasswordAlgorithms);
  const auto chosen = request.find(AttributeType::PasswordAlgorithm);
  if (!algorithms && !chosen) {
    return true;
  }
  if (!NonceCodec::announcesPasswordAlgorithms(nonce) || !algorithms || !chosen) {
    return false;
  }
  if (!std::equal(algorithms->value.begin(), algorithms->value.end(), kPasswordAlgorithms.begin(),
                  kPasswordAlgorithms.end())) {
    return false;
  }
  const auto decoded = stun::decodePasswordAlgorithm(chosen->value);
  if (!decoded || !decoded->parameters.empty()) {
    return false;
  }
  if (decoded->algorithm == static_cast<std::uint16_t>(stun::PasswordAlgorithmId::Md5) ||
      decoded->algorithm == static_cast<std::uint16_t>(stun::PasswordAlgorithmId::Sha256)) {
    algorithm = static_cast<stun::PasswordAlgorithmId>(decoded->algorithm);
    return true;
  }
  return false;
}

AuthResult Authenticator::authenticate(const stun::MessageView& request,
                                       const stun::TransportAddress& source,
                                       std::chrono::seconds unix_now) const {
  using Action = AuthResult::Action;
  const bool has_sha1 = request.has(AttributeType::MessageIntegrity);
  const bool has_sha256 = request.has(AttributeType::MessageIntegritySha256);
  if (!has_sha1 && !has_sha256) {
    return result(Action::Challenge, AuthFailure::MissingCredentials);
  }
  const auto realm = text(request, AttributeType::Realm);
  const auto nonce = text(request, AttributeType::Nonce);
  const auto username = resolveUsername(request);
  if (!realm || !nonce || !username) {
    return result(Action::Reject, AuthFailure::BadRequest);
  }
  AuthResult r;
  if (!negotiateAlgorithm(request, *nonce, r.algorithm)) {
    return result(Action::Reject, AuthFailure::BadRequest);
  }
  std::vector<Credential> candidates;
  bool expired = false;  // a provider knew the user but its credential is out of date
  bool call_ended = false;
  for (const auto& provider : providers_) {
    const auto f = provider->lookup(*username, *realm, r.algorithm, unix_now, candidates);
    expired = expired || (f.has_value() && f.value() != LookupFailure::UnknownUser);
    call_ended = call_ended || f == LookupFailure::CallEnded;
  }
  if (candidates.empty()) {
    return result(Action::Challenge, call_ended ? AuthFailure::CallEnded
                                     : expired  ? AuthFailure::ExpiredUsername
                                                : AuthFailure::UnknownUser);
  }
  const auto matches = [&](const Credential& c) {
    return has_sha256
               ? stun::verifyMessageIntegritySha256(request, c.key) == stun::IntegrityCheck::Ok
               : stun::verifyMessageIntegrity(request, c.key) == stun::IntegrityCheck::Ok;
  };
  const auto match = std::find_if(candidates.begin(), candidates.end(), matches);
  if (match == candidates.end()) {
    return result(Action::Challenge, AuthFailure::BadIntegrity);
  }
  // §9.2.4: the nonce is checked after integrity, so a client with good
  // credentials and an old nonce learns it only needs a fresh one.
  if (nonces_.check(*nonce, source, unix_now) != NonceCodec::Check::Valid) {
    return result(Action::Stale, AuthFailure::StaleNonce);
  }
  r.action = Action::Accept;
  r.failure = AuthFailure::None;
  r.credential = std::move(*match);
  r.sha256_integrity = has_sha256;
  return r;
}

}  // namespace turnpike::auth
