#include "control/tokens/user_tokens.h"

namespace turnpike::control::tokens {
namespace {

// A user id ends up in call records, events and TURN usernames; the app's
// backend has no reason to send more.
constexpr std::size_t kMaxUserIdSize = 256;

}  // namespace

std::optional<UserTokenVerifier> UserTokenVerifier::create(const UserTokenSettings& settings,
                                                           std::string& error) {
  UserTokenVerifier verifier;
  for (std::size_t i = 0; i < settings.hs256_secrets.size(); ++i) {
    // An empty HMAC key would let anyone sign valid user tokens.
    if (settings.hs256_secrets[i].empty()) {
      error = "hs256_secrets[" + std::to_string(i) + "]: empty secret";
      return std::nullopt;
    }
    verifier.keys_.push_back(VerifyKey::hmac(settings.hs256_secrets[i]));
  }
  for (std::size_t i = 0; i < settings.public_key_pems.size(); ++i) {
    std::string key_error;
    auto key = VerifyKey::fromPem(settings.public_key_pems[i], key_error);
    if (!key) {
      error = "public_keys[" + std::to_string(i) + "]: " + key_error;
      return std::nullopt;
    }
    verifier.keys_.push_back(std::move(*key));
  }
  verifier.expect_.issuer = settings.issuer;
  verifier.expect_.audience = settings.audience;
  verifier.expect_.leeway = settings.leeway;
  verifier.expect_.require_exp = true;  // control-plane.md: "exp required"
  return verifier;
}

std::optional<std::string> UserTokenVerifier::verify(std::string_view token,
                                                     std::chrono::seconds unix_now,
                                                     std::string& error) const {
  if (keys_.empty()) {
    error = "no key configured";
    return std::nullopt;
  }
  const auto claims = verifyJwt(token, keys_, unix_now, expect_, error);
  if (!claims) {
    return std::nullopt;
  }
  const auto sub = claims->find("sub");
  if (sub == claims->end() || !sub->is_string()) {
    error = "no sub";
    return std::nullopt;
  }
  const auto& user_id = sub->get_ref<const std::string&>();
  if (user_id.empty() || user_id.size() > kMaxUserIdSize) {
    error = "bad sub";
    return std::nullopt;
  }
  return user_id;
}

}  // namespace turnpike::control::tokens
