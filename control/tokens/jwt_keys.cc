// VerifyKey and SigningKey on OpenSSL's EVP interface (RFC 7518 §3).

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include <array>
#include <climits>
#include <cstdlib>

#include "control/tokens/jwt.h"
#include "control/tokens/openssl_handles.h"

namespace turnpike::control::tokens {

using detail::BioPtr;
using detail::EcdsaSigPtr;
using detail::MdCtxPtr;
using detail::PkeyPtr;

struct VerifyKey::Impl {
  std::string secret;  // HS256
  PkeyPtr pkey;        // ES256, RS256, EdDSA
};

struct SigningKey::Impl {
  PkeyPtr pkey;  // P-256 private key
};

namespace {

// RFC 7518 §3.4: an ES256 signature is R and S, each 32 bytes big-endian.
constexpr std::size_t kEs256CoordinateSize = 32;
constexpr std::size_t kEs256SignatureSize = 2 * kEs256CoordinateSize;
// RFC 7518 §3.3: "A key of size 2048 bits or larger MUST be used".
constexpr int kMinRsaBits = 2048;
constexpr std::size_t kKidBytes = 12;  // 12 bytes -> 16 base64url characters

const unsigned char* bytesOf(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// The JWS raw R||S form as the DER ECDSA-Sig-Value that EVP_DigestVerify wants.
std::string rawToDerSignature(std::string_view raw) {
  EcdsaSigPtr sig(ECDSA_SIG_new());
  if (!sig) {
    return {};
  }
  BIGNUM* r = BN_bin2bn(bytesOf(raw), static_cast<int>(kEs256CoordinateSize), nullptr);
  BIGNUM* s = BN_bin2bn(bytesOf(raw) + kEs256CoordinateSize, static_cast<int>(kEs256CoordinateSize),
                        nullptr);
  if (r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return {};
  }
  const int length = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (length <= 0) {
    return {};
  }
  std::string der(static_cast<std::size_t>(length), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_ECDSA_SIG(sig.get(), &out) != length) {
    return {};
  }
  return der;
}

std::string derToRawSignature(const unsigned char* der, std::size_t length) {
  const unsigned char* in = der;
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &in, static_cast<long>(length)));
  if (!sig) {
    return {};
  }
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::string raw(kEs256SignatureSize, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(r, out, static_cast<int>(kEs256CoordinateSize)) < 0 ||
      BN_bn2binpad(s, out + kEs256CoordinateSize, static_cast<int>(kEs256CoordinateSize)) < 0) {
    return {};
  }
  return raw;
}

bool verifyHs256(const std::string& secret, std::string_view input, std::string_view signature) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int mac_length = 0;
  if (secret.size() > static_cast<std::size_t>(INT_MAX) ||
      HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), bytesOf(input),
           input.size(), mac.data(), &mac_length) == nullptr) {
    return false;
  }
  // A timing-safe compare: a byte-by-byte early exit would let an attacker
  // find a valid MAC one byte at a time.
  return signature.size() == mac_length &&
         CRYPTO_memcmp(mac.data(), signature.data(), mac_length) == 0;
}

bool verifyWithPkey(EVP_PKEY* pkey, JwtAlgorithm algorithm, std::string_view input,
                    std::string_view signature) {
  std::string der;
  if (algorithm == JwtAlgorithm::ES256) {
    if (signature.size() != kEs256SignatureSize) {
      return false;
    }
    der = rawToDerSignature(signature);
    if (der.empty()) {
      return false;
    }
    signature = der;
  }
  MdCtxPtr ctx(EVP_MD_CTX_new());
  // Ed25519 hashes internally: EVP wants no digest for it.
  const EVP_MD* md = algorithm == JwtAlgorithm::EdDSA ? nullptr : EVP_sha256();
  const bool ok = ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, pkey) == 1 &&
                  EVP_DigestVerify(ctx.get(), bytesOf(signature), signature.size(), bytesOf(input),
                                   input.size()) == 1;
  ERR_clear_error();
  return ok;
}

std::optional<JwtAlgorithm> algorithmForKey(EVP_PKEY* pkey, std::string& error) {
  switch (EVP_PKEY_get_base_id(pkey)) {
    case EVP_PKEY_EC:
      if (!detail::isP256(pkey)) {
        error = "EC key is not on P-256 (ES256)";
        return std::nullopt;
      }
      return JwtAlgorithm::ES256;
    case EVP_PKEY_RSA:
      if (EVP_PKEY_get_bits(pkey) < kMinRsaBits) {
        error = "RSA key is shorter than 2048 bits";
        return std::nullopt;
      }
      return JwtAlgorithm::RS256;
    case EVP_PKEY_ED25519: return JwtAlgorithm::EdDSA;
    default: error = "unsupported key type (want EC P-256, RSA or Ed25519)"; return std::nullopt;
  }
}

PkeyPtr readPublicKey(std::string_view pem) {
  BioPtr bio = detail::memoryBio(pem);
  if (!bio) {
    return nullptr;
  }
  PkeyPtr pkey(PEM_read_bio_PUBKEY(bio.get(), nullptr, detail::refusePassword, nullptr));
  if (pkey) {
    return pkey;
  }
  // Not a bare public key: a certificate carries one too.
  ERR_clear_error();
  bio = detail::memoryBio(pem);
  detail::X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, detail::refusePassword, nullptr));
  return cert ? PkeyPtr(X509_get_pubkey(cert.get())) : nullptr;
}

// The first 12 bytes of SHA-256 over the DER SubjectPublicKeyInfo: stable
// for a key, short enough for a header, and no secret in it.
std::string thumbprintOf(EVP_PKEY* pkey) {
  unsigned char* der = nullptr;
  const int length = i2d_PUBKEY(pkey, &der);
  if (length <= 0) {
    return {};
  }
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
  SHA256(der, static_cast<std::size_t>(length), digest.data());
  OPENSSL_free(der);
  return base64UrlEncode(std::string_view(reinterpret_cast<const char*>(digest.data()), kKidBytes));
}

std::string publicKeyPem(EVP_PKEY* pkey) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), pkey) != 1) {
    return {};
  }
  return detail::bioContents(bio.get());
}

}  // namespace

VerifyKey VerifyKey::hmac(std::string secret) {
  VerifyKey key;
  key.algorithm_ = JwtAlgorithm::HS256;
  auto impl = std::make_shared<Impl>();
  impl->secret = std::move(secret);
  key.impl_ = std::move(impl);
  return key;
}

std::optional<VerifyKey> VerifyKey::fromPem(std::string_view pem, std::string& error) {
  PkeyPtr pkey = readPublicKey(pem);
  if (!pkey) {
    error = detail::takeOpenSslError("not a PEM public key or certificate");
    return std::nullopt;
  }
  const auto algorithm = algorithmForKey(pkey.get(), error);
  if (!algorithm) {
    return std::nullopt;
  }
  VerifyKey key;
  key.algorithm_ = *algorithm;
  auto impl = std::make_shared<Impl>();
  impl->pkey = std::move(pkey);
  key.impl_ = std::move(impl);
  return key;
}

bool VerifyKey::verify(std::string_view signing_input, std::string_view signature) const {
  if (!impl_) {
    return false;
  }
  if (algorithm_ == JwtAlgorithm::HS256) {
    return verifyHs256(impl_->secret, signing_input, signature);
  }
  return impl_->pkey && verifyWithPkey(impl_->pkey.get(), algorithm_, signing_input, signature);
}

SigningKey SigningKey::generateEs256() {
  PkeyPtr pkey(EVP_EC_gen("P-256"));
  if (!pkey) {
    std::abort();  // no entropy or a broken OpenSSL: nothing sensible to sign with
  }
  SigningKey key;
  key.kid_ = thumbprintOf(pkey.get());
  auto impl = std::make_shared<Impl>();
  impl->pkey = std::move(pkey);
  key.impl_ = std::move(impl);
  return key;
}

namespace {

// An unencrypted PEM private key of any type; null with `error` set.
PkeyPtr readPrivateKey(std::string_view pem, std::string& error) {
  BioPtr bio = detail::memoryBio(pem);
  PkeyPtr pkey(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, detail::refusePassword, nullptr)
                   : nullptr);
  if (!pkey) {
    error = detail::takeOpenSslError("not an unencrypted PEM private key");
  }
  return pkey;
}

}  // namespace

std::optional<SigningKey> SigningKey::fromPem(std::string_view pem, std::string& error) {
  PkeyPtr pkey = readPrivateKey(pem, error);
  if (!pkey) {
    return std::nullopt;
  }
  if (!detail::isP256(pkey.get())) {
    error = "signing key must be EC P-256 (ES256)";
    return std::nullopt;
  }
  SigningKey key;
  key.kid_ = thumbprintOf(pkey.get());
  auto impl = std::make_shared<Impl>();
  impl->pkey = std::move(pkey);
  key.impl_ = std::move(impl);
  return key;
}

std::optional<SigningKey> SigningKey::rsaFromPem(std::string_view pem, std::string& error) {
  PkeyPtr pkey = readPrivateKey(pem, error);
  if (!pkey) {
    return std::nullopt;
  }
  if (EVP_PKEY_get_base_id(pkey.get()) != EVP_PKEY_RSA || EVP_PKEY_get_bits(pkey.get()) < 2048) {
    error = "not an RSA key of at least 2048 bits (RS256)";
    return std::nullopt;
  }
  SigningKey key;
  key.algorithm_ = JwtAlgorithm::RS256;
  auto impl = std::make_shared<Impl>();
  impl->pkey = std::move(pkey);
  key.impl_ = std::move(impl);
  return key;
}

std::string SigningKey::toPem() const {
  if (!impl_) {
    return {};
  }
  BioPtr bio(BIO_new(BIO_s_mem()));
  // PEM_write_bio_PrivateKey writes PKCS#8 ("BEGIN PRIVATE KEY") in OpenSSL 3.
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), impl_->pkey.get(), nullptr, nullptr, 0, nullptr,
                                       nullptr) != 1) {
    ERR_clear_error();
    return {};
  }
  return detail::bioContents(bio.get());
}

VerifyKey SigningKey::verifyKey() const {
  if (!impl_) {
    return {};
  }
  // Through PEM so that VerifyKey's internals stay its own; this runs once
  // per key, not per token.
  std::string error;
  auto key = VerifyKey::fromPem(publicKeyPem(impl_->pkey.get()), error);
  if (!key) {
    return {};
  }
  key->setKid(kid_);
  return *key;
}

std::string SigningKey::sign(std::string_view signing_input) const {
  if (!impl_) {
    return {};
  }
  MdCtxPtr ctx(EVP_MD_CTX_new());
  std::size_t length = 0;
  if (!ctx ||
      EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, impl_->pkey.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &length, bytesOf(signing_input), signing_input.size()) !=
          1) {
    ERR_clear_error();
    return {};
  }
  std::string der(length, '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (EVP_DigestSign(ctx.get(), out, &length, bytesOf(signing_input), signing_input.size()) != 1) {
    ERR_clear_error();
    return {};
  }
  if (algorithm_ == JwtAlgorithm::RS256) {
    der.resize(length);
    return der;
  }
  return derToRawSignature(out, length);
}

}  // namespace turnpike::control::tokens
