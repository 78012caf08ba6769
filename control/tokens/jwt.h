#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace turnpike::control::tokens {

/// RFC 7518 §3.1 "alg" values this server signs or verifies.
enum class JwtAlgorithm { HS256, ES256, RS256, EdDSA };

/// A key that may have signed a JWT: an HS256 secret or a public key
/// (ES256 P-256, RS256, Ed25519) from PEM. Copyable (shared key handle).
class VerifyKey {
 public:
  static VerifyKey hmac(std::string secret);
  /// A PEM public key (SubjectPublicKeyInfo) or certificate; the algorithm
  /// follows the key type. nullopt with `error` set when unusable.
  static std::optional<VerifyKey> fromPem(std::string_view pem, std::string& error);

  [[nodiscard]] JwtAlgorithm algorithm() const { return algorithm_; }
  /// The "kid" this key answers to; empty matches any kid.
  [[nodiscard]] const std::string& kid() const { return kid_; }
  void setKid(std::string kid) { kid_ = std::move(kid); }

  /// True when `signature` is this key's signature of `signing_input`
  /// (ES256 signatures in the JWS raw R||S form).
  [[nodiscard]] bool verify(std::string_view signing_input, std::string_view signature) const;

  struct Impl;  // OpenSSL key handle or HMAC secret

 private:
  JwtAlgorithm algorithm_ = JwtAlgorithm::HS256;
  std::string kid_;
  std::shared_ptr<const Impl> impl_;
};

/// A private key that signs JWTs: ES256 (P-256) for call tokens and APNs
/// provider tokens, RS256 for Google service-account assertions. Copyable
/// (shared handle).
class SigningKey {
 public:
  static SigningKey generateEs256();
  /// A PEM private key (PKCS#8 or SEC1 EC); must be P-256.
  static std::optional<SigningKey> fromPem(std::string_view pem, std::string& error);
  /// A PEM RSA private key (PKCS#8 or PKCS#1) of at least 2048 bits, for RS256.
  static std::optional<SigningKey> rsaFromPem(std::string_view pem, std::string& error);
  /// The same key under another "kid" (APNs names its keys itself).
  [[nodiscard]] SigningKey withKid(std::string kid) const {
    SigningKey copy = *this;
    copy.kid_ = std::move(kid);
    return copy;
  }
  [[nodiscard]] JwtAlgorithm algorithm() const { return algorithm_; }
  /// PKCS#8 PEM, to keep a generated key.
  [[nodiscard]] std::string toPem() const;
  /// The public half, with the same kid.
  [[nodiscard]] VerifyKey verifyKey() const;
  /// RFC 7638-style thumbprint of the public key, base64url, 16 characters.
  [[nodiscard]] const std::string& kid() const { return kid_; }
  /// The JWS signature of `signing_input`: raw R||S (64 bytes) for ES256,
  /// the PKCS#1 v1.5 signature for RS256.
  [[nodiscard]] std::string sign(std::string_view signing_input) const;

  struct Impl;

 private:
  JwtAlgorithm algorithm_ = JwtAlgorithm::ES256;
  std::string kid_;
  std::shared_ptr<const Impl> impl_;
};

std::string base64UrlEncode(std::string_view bytes);
std::optional<std::string> base64UrlDecode(std::string_view text);

/// A compact JWS (header.payload.signature) with the key's alg and `kid`,
/// header and payload serialized with nlohmann::json.
std::string signJwt(const nlohmann::json& claims, const SigningKey& key);

struct JwtExpectations {
  std::string issuer;    ///< empty: not checked
  std::string audience;  ///< empty: not checked ("aud" may be a string or a list)
  std::chrono::seconds leeway{30};
  bool require_exp = true;
};

/// The claims of `token` when one of `keys` verifies it (alg from the
/// header must match the key's; "none" never does) and its times and
/// issuer/audience hold at `unix_now`; nullopt with a short `error`
/// ("expired", "bad signature", "wrong audience", ...) otherwise.
std::optional<nlohmann::json> verifyJwt(std::string_view token, const std::vector<VerifyKey>& keys,
                                        std::chrono::seconds unix_now,
                                        const JwtExpectations& expect, std::string& error);

}  // namespace turnpike::control::tokens
