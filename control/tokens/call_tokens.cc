#include "control/tokens/call_tokens.h"

#include <openssl/rand.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <limits>

namespace turnpike::control::tokens {
namespace {

// Our own tokens, checked by our own clock (or a peer node's): only drift
// between nodes needs forgiving.
constexpr std::chrono::seconds kCallTokenLeeway{5};
constexpr std::size_t kTokenIdBytes = 16;

std::string randomTokenId() {
  std::array<unsigned char, kTokenIdBytes> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    std::abort();  // a CSPRNG failure: token ids must not be guessable
  }
  return base64UrlEncode(
      std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

bool readString(const nlohmann::json& claims, const char* name, std::string& out) {
  const auto it = claims.find(name);
  if (it == claims.end() || !it->is_string()) {
    return false;
  }
  out = it->get<std::string>();
  return true;
}

bool readSeconds(const nlohmann::json& claims, const char* name, std::chrono::seconds& out) {
  const auto it = claims.find(name);
  if (it == claims.end() || !it->is_number_integer()) {
    return false;
  }
  if (it->is_number_unsigned() &&
      it->get<std::uint64_t>() >
          static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return false;
  }
  out = std::chrono::seconds{it->get<std::int64_t>()};
  return true;
}

bool readStrings(const nlohmann::json& claims, const char* name, std::vector<std::string>& out) {
  const auto it = claims.find(name);
  if (it == claims.end() || !it->is_array()) {
    return false;
  }
  out.clear();
  for (const auto& item : *it) {
    if (!item.is_string()) {
      return false;
    }
    out.push_back(item.get<std::string>());
  }
  return true;
}

}  // namespace

CallTokenIssuer::CallTokenIssuer(SigningKey signing_key, std::vector<VerifyKey> also_accepted,
                                 std::chrono::seconds ttl)
    : signing_key_(std::move(signing_key)), ttl_(ttl) {
  keys_.reserve(also_accepted.size() + 1);
  keys_.push_back(signing_key_.verifyKey());
  for (auto& key : also_accepted) {
    keys_.push_back(std::move(key));
  }
}

std::string CallTokenIssuer::issue(const std::string& user_id, const std::string& call_id,
                                   const std::string& participant_id, bool video,
                                   const std::string& mode, std::chrono::seconds unix_now) const {
  nlohmann::json perm = nlohmann::json::array({"publishAudio"});
  if (video) {
    perm.push_back("publishVideo");
  }
  perm.push_back("subscribe");
  const nlohmann::json claims = {
      {"sub", user_id},
      {"cid", call_id},
      {"pid", participant_id},
      {"perm", std::move(perm)},
      {"mode", mode},
      {"iat", unix_now.count()},
      {"exp", (unix_now + ttl_).count()},
      {"jti", randomTokenId()},
  };
  return signJwt(claims, signing_key_);
}

std::optional<CallTokenClaims> CallTokenIssuer::verify(std::string_view token,
                                                       std::chrono::seconds unix_now,
                                                       std::string& error) const {
  JwtExpectations expect;
  expect.leeway = kCallTokenLeeway;
  expect.require_exp = true;
  const auto claims = verifyJwt(token, keys_, unix_now, expect, error);
  if (!claims) {
    return std::nullopt;
  }
  CallTokenClaims out;
  const bool complete =
      readString(*claims, "sub", out.user_id) && readString(*claims, "cid", out.call_id) &&
      readString(*claims, "pid", out.participant_id) &&
      readStrings(*claims, "perm", out.permissions) && readString(*claims, "mode", out.mode) &&
      readSeconds(*claims, "iat", out.issued_at) && readSeconds(*claims, "exp", out.expires_at) &&
      readString(*claims, "jti", out.token_id);
  if (!complete) {
    error = "bad claims";
    return std::nullopt;
  }
  return out;
}

}  // namespace turnpike::control::tokens
