// Compact JWS (RFC 7515 §7.1) signing and JWT (RFC 7519) validation.

#include "control/tokens/jwt.h"

#include <algorithm>

namespace turnpike::control::tokens {
namespace {

// Bearer tokens arrive in headers and query strings; nothing legitimate is
// near this, and it bounds the work done on an unauthenticated request.
constexpr std::size_t kMaxTokenSize = std::size_t{8} * 1024;

std::optional<JwtAlgorithm> algorithmNamed(std::string_view name) {
  if (name == "HS256") {
    return JwtAlgorithm::HS256;
  }
  if (name == "ES256") {
    return JwtAlgorithm::ES256;
  }
  if (name == "RS256") {
    return JwtAlgorithm::RS256;
  }
  if (name == "EdDSA") {
    return JwtAlgorithm::EdDSA;
  }
  return std::nullopt;  // includes "none" (RFC 7518 §3.6): never accepted
}

// Serialized without throwing: invalid UTF-8 in a claim becomes U+FFFD
// instead of an exception out of signJwt.
std::string dumpJson(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::optional<nlohmann::json> decodeJsonObject(std::string_view part) {
  auto bytes = base64UrlDecode(part);
  if (!bytes) {
    return std::nullopt;
  }
  auto value = nlohmann::json::parse(*bytes, nullptr, /*allow_exceptions=*/false);
  if (!value.is_object()) {
    return std::nullopt;  // also a parse error: parse() gives a discarded value
  }
  return value;
}

// The keys this token may have been signed with: the header's algorithm,
// and its kid where both the header and the key name one.
std::vector<const VerifyKey*> candidateKeys(const std::vector<VerifyKey>& keys,
                                            JwtAlgorithm algorithm, const std::string* kid,
                                            std::string& error) {
  std::vector<const VerifyKey*> out;
  bool algorithm_known = false;
  for (const auto& key : keys) {
    if (key.algorithm() != algorithm) {
      continue;
    }
    algorithm_known = true;
    if (kid == nullptr || key.kid().empty() || key.kid() == *kid) {
      out.push_back(&key);
    }
  }
  if (out.empty()) {
    error = algorithm_known ? "unknown kid" : "wrong algorithm";
  }
  return out;
}

bool audienceMatches(const nlohmann::json& aud, const std::string& expected) {
  if (aud.is_string()) {
    return aud.get_ref<const std::string&>() == expected;
  }
  if (aud.is_array()) {
    return std::any_of(aud.begin(), aud.end(), [&](const nlohmann::json& a) {
      return a.is_string() && a.get_ref<const std::string&>() == expected;
    });
  }
  return false;
}

// RFC 7519 §4.1.4/§4.1.5 times and §4.1.1/§4.1.3 issuer and audience.
bool claimsHold(const nlohmann::json& claims, std::chrono::seconds unix_now,
                const JwtExpectations& expect, std::string& error) {
  // Doubles: NumericDate may be fractional, and a huge integer must not wrap.
  const double now = static_cast<double>(unix_now.count());
  const double leeway = static_cast<double>(expect.leeway.count());
  const auto exp = claims.find("exp");
  if (exp == claims.end()) {
    if (expect.require_exp) {
      error = "no exp";
      return false;
    }
  } else if (!exp->is_number()) {
    error = "malformed exp";
    return false;
  } else if (now >= exp->get<double>() + leeway) {
    // "the current date/time MUST be before the expiration date/time"
    error = "expired";
    return false;
  }
  const auto nbf = claims.find("nbf");
  if (nbf != claims.end()) {
    if (!nbf->is_number()) {
      error = "malformed nbf";
      return false;
    }
    if (now + leeway < nbf->get<double>()) {
      error = "not yet valid";
      return false;
    }
  }
  if (!expect.issuer.empty()) {
    const auto iss = claims.find("iss");
    if (iss == claims.end() || !iss->is_string() ||
        iss->get_ref<const std::string&>() != expect.issuer) {
      error = "wrong issuer";
      return false;
    }
  }
  if (!expect.audience.empty()) {
    const auto aud = claims.find("aud");
    if (aud == claims.end() || !audienceMatches(*aud, expect.audience)) {
      error = "wrong audience";
      return false;
    }
  }
  return true;
}

std::optional<nlohmann::json> verifyUnguarded(std::string_view token,
                                              const std::vector<VerifyKey>& keys,
                                              std::chrono::seconds unix_now,
                                              const JwtExpectations& expect, std::string& error) {
  if (token.size() > kMaxTokenSize) {
    error = "too large";
    return std::nullopt;
  }
  const auto first_dot = token.find('.');
  const auto second_dot =
      first_dot == std::string_view::npos ? first_dot : token.find('.', first_dot + 1);
  if (second_dot == std::string_view::npos ||
      token.find('.', second_dot + 1) != std::string_view::npos) {
    error = "malformed";
    return std::nullopt;
  }
  const auto header = decodeJsonObject(token.substr(0, first_dot));
  if (!header) {
    error = "malformed";
    return std::nullopt;
  }
  const auto alg = header->find("alg");
  const auto kid = header->find("kid");
  if (alg == header->end() || !alg->is_string() || (kid != header->end() && !kid->is_string())) {
    error = "malformed";
    return std::nullopt;
  }
  const auto algorithm = algorithmNamed(alg->get_ref<const std::string&>());
  if (!algorithm) {
    error = "unsupported algorithm";
    return std::nullopt;
  }
  const auto candidates =
      candidateKeys(keys, *algorithm,
                    kid == header->end() ? nullptr : &kid->get_ref<const std::string&>(), error);
  if (candidates.empty()) {
    return std::nullopt;
  }
  const auto signature = base64UrlDecode(token.substr(second_dot + 1));
  if (!signature) {
    error = "malformed";
    return std::nullopt;
  }
  const std::string_view signing_input = token.substr(0, second_dot);
  if (std::none_of(candidates.begin(), candidates.end(),
                   [&](const VerifyKey* key) { return key->verify(signing_input, *signature); })) {
    error = "bad signature";
    return std::nullopt;
  }
  // The payload is parsed only once its signer is known.
  auto claims = decodeJsonObject(token.substr(first_dot + 1, second_dot - first_dot - 1));
  if (!claims) {
    error = "malformed";
    return std::nullopt;
  }
  if (!claimsHold(*claims, unix_now, expect, error)) {
    return std::nullopt;
  }
  return claims;
}

}  // namespace

std::string signJwt(const nlohmann::json& claims, const SigningKey& key) {
  const char* alg = key.algorithm() == JwtAlgorithm::RS256 ? "RS256" : "ES256";
  nlohmann::json header = {{"alg", alg}, {"typ", "JWT"}};
  if (!key.kid().empty()) {
    header["kid"] = key.kid();
  }
  std::string token = base64UrlEncode(dumpJson(header));
  token += '.';
  token += base64UrlEncode(dumpJson(claims));
  const std::string signature = key.sign(token);
  token += '.';
  token += base64UrlEncode(signature);
  return token;
}

std::optional<nlohmann::json> verifyJwt(std::string_view token, const std::vector<VerifyKey>& keys,
                                        std::chrono::seconds unix_now,
                                        const JwtExpectations& expect, std::string& error) {
  // Tokens come from anyone on the network: no exception (bad_alloc, a JSON
  // type error missed above) may reach the HTTP handler.
  try {
    return verifyUnguarded(token, keys, unix_now, expect, error);
  } catch (const std::exception&) {
    error = "malformed";
    return std::nullopt;
  }
}

}  // namespace turnpike::control::tokens
