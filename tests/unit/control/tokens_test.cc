// JWT, user tokens, call tokens and TURN credentials. Tokens under test are
// built here with OpenSSL directly (HMAC, EVP_DigestSign), not with the code
// under test, so a shared mistake in both cannot pass unnoticed.

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

#include "control/tokens/call_tokens.h"
#include "control/tokens/jwt.h"
#include "control/tokens/turn_credentials.h"
#include "control/tokens/user_tokens.h"
#include "tests/support/pem_text.h"

namespace turnpike::control::tokens {
namespace {

using nlohmann::json;
using std::chrono::seconds;

constexpr seconds kNow{1700000000};

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using Pkey = std::shared_ptr<EVP_PKEY>;

Pkey makeKey(const char* type, const char* param) {
  EVP_PKEY* key = param == nullptr ? EVP_PKEY_Q_keygen(nullptr, nullptr, type)
                                   : EVP_PKEY_Q_keygen(nullptr, nullptr, type, param);
  return {key, PkeyFree{}};
}

Pkey makeRsaKey(std::size_t bits) {
  return {EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", bits), PkeyFree{}};
}

using turnpike::testing::bioText;
using turnpike::testing::publicPem;
// PKCS#8, beside the SEC1 form below.
const auto& privatePkcs8Pem = turnpike::testing::privatePem;

std::string privateSec1Pem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey_traditional(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  return bioText(bio);
}

// A self-signed certificate around `key`, as an app backend might hand out.
std::string certificatePem(EVP_PKEY* key) {
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("backend"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509_sign(cert, key, EVP_sha256());
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  X509_free(cert);
  return bioText(bio);
}

// base64url from OpenSSL's standard base64, independent of base64UrlEncode.
std::string b64url(std::string_view bytes) {
  std::string text(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int length = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(text.data()),
                                     reinterpret_cast<const unsigned char*>(bytes.data()),
                                     static_cast<int>(bytes.size()));
  text.resize(static_cast<std::size_t>(length));
  while (!text.empty() && text.back() == '=') {
    text.pop_back();
  }
  for (char& c : text) {
    if (c == '+') {
      c = '-';
    } else if (c == '/') {
      c = '_';
    }
  }
  return text;
}

std::string signingInput(const std::string& header, const std::string& payload) {
  return b64url(header) + "." + b64url(payload);
}

std::string hs256Token(const std::string& header, const std::string& payload,
                       const std::string& secret) {
  const std::string input = signingInput(header, payload);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &mac_length);
  return input + "." + b64url(std::string_view(reinterpret_cast<char*>(mac), mac_length));
}

std::string digestSign(EVP_PKEY* key, const EVP_MD* md, const std::string& input) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::size_t length = 0;
  EVP_DigestSignInit(ctx, nullptr, md, nullptr, key);
  EVP_DigestSign(ctx, nullptr, &length, reinterpret_cast<const unsigned char*>(input.data()),
                 input.size());
  std::string signature(length, '\0');
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(signature.data()), &length,
                 reinterpret_cast<const unsigned char*>(input.data()), input.size());
  EVP_MD_CTX_free(ctx);
  signature.resize(length);
  return signature;
}

// RS256 and EdDSA: the EVP signature is the JWS signature.
std::string evpToken(EVP_PKEY* key, const EVP_MD* md, const std::string& header,
                     const std::string& payload) {
  const std::string input = signingInput(header, payload);
  return input + "." + b64url(digestSign(key, md, input));
}

// ES256: EVP gives DER; JWS wants R||S (RFC 7518 §3.4).
std::string es256Token(EVP_PKEY* key, const std::string& header, const std::string& payload) {
  const std::string input = signingInput(header, payload);
  const std::string der = digestSign(key, EVP_sha256(), input);
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  std::string raw(64, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), reinterpret_cast<unsigned char*>(raw.data()), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
  ECDSA_SIG_free(sig);
  return input + "." + b64url(raw);
}

std::string payloadWith(const json& extra = json::object()) {
  json claims = {{"sub", "alice"}, {"exp", kNow.count() + 60}};
  if (extra.is_object()) {  // `{}` arrives as null
    claims.update(extra);
  }
  return claims.dump();
}

const std::string kHs256Header = R"({"alg":"HS256","typ":"JWT"})";

std::optional<json> verify(std::string_view token, const std::vector<VerifyKey>& keys,
                           std::string& error, const JwtExpectations& expect = {}) {
  return verifyJwt(token, keys, kNow, expect, error);
}

VerifyKey publicKeyOf(EVP_PKEY* key) {
  std::string error;
  auto out = VerifyKey::fromPem(publicPem(key), error);
  EXPECT_TRUE(out.has_value()) << error;
  return out.value_or(VerifyKey{});
}

// --- base64url ------------------------------------------------------------

TEST(JwtBase64Url, RoundTripsEveryLength) {
  const std::string bytes = std::string("\x00\xff\xfe\x10 any bytes?>", 16);
  for (std::size_t n = 0; n <= bytes.size(); ++n) {
    const auto encoded = base64UrlEncode(bytes.substr(0, n));
    EXPECT_EQ(encoded, b64url(bytes.substr(0, n)));
    EXPECT_EQ(base64UrlDecode(encoded), bytes.substr(0, n));
  }
}

TEST(JwtBase64Url, RejectsOutsideTheAlphabet) {
  EXPECT_EQ(base64UrlDecode("-_-_"), std::string("\xfb\xff\xbf", 3));
  EXPECT_FALSE(base64UrlDecode("ab+/"));  // standard alphabet
  EXPECT_FALSE(base64UrlDecode("YQ=="));  // padding
  EXPECT_FALSE(base64UrlDecode("YQ.a"));
  EXPECT_FALSE(base64UrlDecode("abcde"));  // 5 characters cannot be whole bytes
  EXPECT_FALSE(base64UrlDecode("YR"));     // non-zero leftover bits: a second encoding of "a"
  EXPECT_EQ(base64UrlDecode("YQ"), "a");
  EXPECT_EQ(base64UrlDecode(""), "");
}

// --- HS256 and the checks every algorithm shares ---------------------------

TEST(JwtHs256, IndependentlyMadeTokenVerifies) {
  const auto token = hs256Token(kHs256Header, payloadWith({{"x", 1}}), "s3cret");
  std::string error;
  const auto claims = verify(token, {VerifyKey::hmac("s3cret")}, error);
  ASSERT_TRUE(claims) << error;
  EXPECT_EQ((*claims)["sub"], "alice");
  EXPECT_EQ((*claims)["x"], 1);
}

TEST(JwtHs256, WrongSecretFails) {
  const auto token = hs256Token(kHs256Header, payloadWith({}), "s3cret");
  std::string error;
  EXPECT_FALSE(verify(token, {VerifyKey::hmac("other")}, error));
  EXPECT_EQ(error, "bad signature");
}

TEST(JwtHs256, TamperedPayloadFails) {
  const auto token = hs256Token(kHs256Header, payloadWith({}), "s3cret");
  const auto dot = token.find('.');
  const auto forged = token.substr(0, dot) + "." + b64url(payloadWith({{"sub", "mallory"}})) +
                      token.substr(token.rfind('.'));
  std::string error;
  EXPECT_FALSE(verify(forged, {VerifyKey::hmac("s3cret")}, error));
  EXPECT_EQ(error, "bad signature");
}

TEST(JwtHs256, AlgNoneIsRefused) {
  const std::string payload = payloadWith({});
  std::string error;
  // Unsigned, and "signed" with a valid MAC: neither may pass.
  const auto unsigned_token = signingInput(R"({"alg":"none"})", payload) + ".";
  EXPECT_FALSE(verify(unsigned_token, {VerifyKey::hmac("s3cret")}, error));
  EXPECT_EQ(error, "unsupported algorithm");
  const auto mac_token = hs256Token(R"({"alg":"none"})", payload, "s3cret");
  EXPECT_FALSE(verify(mac_token, {VerifyKey::hmac("s3cret")}, error));
  const auto upper = hs256Token(R"({"alg":"NONE"})", payload, "s3cret");
  EXPECT_FALSE(verify(upper, {VerifyKey::hmac("s3cret")}, error));
}

TEST(JwtHs256, AlgConfusionWithAPublicKeyIsRefused) {
  // The classic attack: HMAC with the (public) PEM text as the secret.
  const auto ec = makeKey("EC", "P-256");
  const std::string pem = publicPem(ec.get());
  const auto token = hs256Token(kHs256Header, payloadWith({}), pem);
  std::string error;
  EXPECT_FALSE(verify(token, {publicKeyOf(ec.get())}, error));
  EXPECT_EQ(error, "wrong algorithm");
  // And an ES256 header on an HMAC key.
  const auto es = es256Token(ec.get(), R"({"alg":"ES256"})", payloadWith({}));
  EXPECT_FALSE(verify(es, {VerifyKey::hmac(pem)}, error));
  EXPECT_EQ(error, "wrong algorithm");
}

TEST(JwtHs256, ExpiryHonoursLeeway) {
  const std::vector<VerifyKey> keys = {VerifyKey::hmac("k")};
  JwtExpectations expect;
  expect.leeway = seconds{30};
  std::string error;
  const auto just_expired =
      hs256Token(kHs256Header, payloadWith({{"exp", kNow.count() - 10}}), "k");
  EXPECT_TRUE(verify(just_expired, keys, error, expect)) << error;
  const auto long_expired =
      hs256Token(kHs256Header, payloadWith({{"exp", kNow.count() - 31}}), "k");
  EXPECT_FALSE(verify(long_expired, keys, error, expect));
  EXPECT_EQ(error, "expired");
  const auto edge = hs256Token(kHs256Header, payloadWith({{"exp", kNow.count() - 30}}), "k");
  EXPECT_FALSE(verify(edge, keys, error, expect));
  expect.leeway = seconds{0};
  EXPECT_FALSE(verify(just_expired, keys, error, expect));
  EXPECT_EQ(error, "expired");
}

TEST(JwtHs256, ExpIsRequiredAndMustBeANumber) {
  const std::vector<VerifyKey> keys = {VerifyKey::hmac("k")};
  std::string error;
  const auto no_exp = hs256Token(kHs256Header, R"({"sub":"alice"})", "k");
  EXPECT_FALSE(verify(no_exp, keys, error));
  EXPECT_EQ(error, "no exp");
  JwtExpectations lax;
  lax.require_exp = false;
  EXPECT_TRUE(verify(no_exp, keys, error, lax)) << error;
  const auto text_exp = hs256Token(kHs256Header, payloadWith({{"exp", "tomorrow"}}), "k");
  EXPECT_FALSE(verify(text_exp, keys, error));
  const auto fractional = hs256Token(
      kHs256Header, payloadWith({{"exp", static_cast<double>(kNow.count()) + 0.5}}), "k");
  EXPECT_TRUE(verify(fractional, keys, error)) << error;
}

TEST(JwtHs256, NotBeforeHonoursLeeway) {
  const std::vector<VerifyKey> keys = {VerifyKey::hmac("k")};
  std::string error;
  const auto soon = hs256Token(kHs256Header, payloadWith({{"nbf", kNow.count() + 20}}), "k");
  EXPECT_TRUE(verify(soon, keys, error)) << error;
  const auto later = hs256Token(kHs256Header, payloadWith({{"nbf", kNow.count() + 31}}), "k");
  EXPECT_FALSE(verify(later, keys, error));
  EXPECT_EQ(error, "not yet valid");
}

TEST(JwtHs256, IssuerAndAudience) {
  const std::vector<VerifyKey> keys = {VerifyKey::hmac("k")};
  JwtExpectations expect;
  expect.issuer = "https://app.example";
  expect.audience = "turnpike";
  std::string error;
  const auto good = hs256Token(
      kHs256Header, payloadWith({{"iss", "https://app.example"}, {"aud", "turnpike"}}), "k");
  EXPECT_TRUE(verify(good, keys, error, expect)) << error;
  const auto listed = hs256Token(
      kHs256Header,
      payloadWith({{"iss", "https://app.example"}, {"aud", json::array({"other", "turnpike"})}}),
      "k");
  EXPECT_TRUE(verify(listed, keys, error, expect)) << error;
  const auto wrong_iss = hs256Token(
      kHs256Header, payloadWith({{"iss", "https://evil.example"}, {"aud", "turnpike"}}), "k");
  EXPECT_FALSE(verify(wrong_iss, keys, error, expect));
  EXPECT_EQ(error, "wrong issuer");
  const auto no_iss = hs256Token(kHs256Header, payloadWith({{"aud", "turnpike"}}), "k");
  EXPECT_FALSE(verify(no_iss, keys, error, expect));
  EXPECT_EQ(error, "wrong issuer");
  const auto wrong_aud = hs256Token(
      kHs256Header, payloadWith({{"iss", "https://app.example"}, {"aud", json::array({"other"})}}),
      "k");
  EXPECT_FALSE(verify(wrong_aud, keys, error, expect));
  EXPECT_EQ(error, "wrong audience");
  const auto no_aud = hs256Token(kHs256Header, payloadWith({{"iss", "https://app.example"}}), "k");
  EXPECT_FALSE(verify(no_aud, keys, error, expect));
  EXPECT_EQ(error, "wrong audience");
  // Unchecked when not configured.
  EXPECT_TRUE(verify(no_aud, keys, error)) << error;
}

TEST(JwtMalformed, RefusedWithoutThrowing) {
  const std::vector<VerifyKey> keys = {VerifyKey::hmac("k")};
  const std::string good = hs256Token(kHs256Header, payloadWith({}), "k");
  const std::string payload = b64url(payloadWith({}));
  const std::vector<std::string> inputs = {
      "",
      ".",
      "..",
      "abc",
      "a.b",
      good + ".x",
      "!!!." + payload + ".sig",
      b64url(kHs256Header) + "." + payload + ".not base64",
      b64url("[1,2]") + "." + payload + ".c2ln",
      b64url("\"HS256\"") + "." + payload + ".c2ln",
      b64url("{\"alg\":") + "." + payload + ".c2ln",
      b64url(R"({"alg":256})") + "." + payload + ".c2ln",
      b64url(R"({"alg":"HS256","kid":7})") + "." + payload + ".c2ln",
      hs256Token(kHs256Header, "[1]", "k"),
      hs256Token(kHs256Header, "not json", "k"),
      hs256Token(kHs256Header, "", "k"),
      std::string(9000, 'a'),
      hs256Token(kHs256Header, payloadWith({{"pad", std::string(9000, 'x')}}), "k"),
  };
  for (const auto& input : inputs) {
    std::string error;
    EXPECT_NO_THROW({ EXPECT_FALSE(verify(input, keys, error)) << input.substr(0, 80); });
    EXPECT_FALSE(error.empty());
  }
  std::string error;
  EXPECT_FALSE(verify(std::string(9000, 'a'), keys, error));
  EXPECT_EQ(error, "too large");
  EXPECT_FALSE(verify("a.b", keys, error));
  EXPECT_EQ(error, "malformed");
  EXPECT_FALSE(verify(good, {}, error));
}

// --- ES256, RS256, EdDSA ---------------------------------------------------

TEST(JwtEs256, SignAndVerifyRoundTrip) {
  const auto key = SigningKey::generateEs256();
  EXPECT_EQ(key.kid().size(), 16u);
  EXPECT_EQ(key.sign("input").size(), 64u);
  const auto token = signJwt(json{{"sub", "bob"}, {"exp", kNow.count() + 60}}, key);
  std::string error;
  const auto claims = verify(token, {key.verifyKey()}, error);
  ASSERT_TRUE(claims) << error;
  EXPECT_EQ((*claims)["sub"], "bob");

  const auto header = json::parse(*base64UrlDecode(token.substr(0, token.find('.'))));
  EXPECT_EQ(header, json({{"alg", "ES256"}, {"typ", "JWT"}, {"kid", key.kid()}}));

  // Another key does not verify it.
  EXPECT_FALSE(verify(token, {SigningKey::generateEs256().verifyKey()}, error));
}

TEST(JwtEs256, PemRoundTripKeepsTheKid) {
  const auto key = SigningKey::generateEs256();
  const std::string pem = key.toPem();
  EXPECT_NE(pem.find("-----BEGIN PRIVATE KEY-----"), std::string::npos);
  std::string error;
  const auto again = SigningKey::fromPem(pem, error);
  ASSERT_TRUE(again) << error;
  EXPECT_EQ(again->kid(), key.kid());
  const auto token = signJwt(json{{"exp", kNow.count() + 60}}, *again);
  EXPECT_TRUE(verify(token, {key.verifyKey()}, error)) << error;
}

TEST(JwtEs256, KeysMadeByOpenSslDirectly) {
  const auto ec = makeKey("EC", "P-256");
  std::string error;
  // PKCS#8 and SEC1 private keys both load; the kid is the same either way.
  const auto pkcs8 = SigningKey::fromPem(privatePkcs8Pem(ec.get()), error);
  ASSERT_TRUE(pkcs8) << error;
  const auto sec1 = SigningKey::fromPem(privateSec1Pem(ec.get()), error);
  ASSERT_TRUE(sec1) << error;
  EXPECT_EQ(pkcs8->kid(), sec1->kid());

  // A token signed by OpenSSL verifies against the public PEM...
  const auto token = es256Token(ec.get(), R"({"alg":"ES256"})", payloadWith({}));
  EXPECT_TRUE(verify(token, {publicKeyOf(ec.get())}, error)) << error;
  // ...and against the loaded signing key's public half.
  EXPECT_TRUE(verify(token, {pkcs8->verifyKey()}, error)) << error;
  // Our signature verifies with OpenSSL's verify of the public key too.
  const auto ours = signJwt(json{{"exp", kNow.count() + 60}}, *pkcs8);
  EXPECT_TRUE(verify(ours, {publicKeyOf(ec.get())}, error)) << error;
}

TEST(JwtEs256, CertificatePemIsAccepted) {
  const auto ec = makeKey("EC", "P-256");
  std::string error;
  const auto key = VerifyKey::fromPem(certificatePem(ec.get()), error);
  ASSERT_TRUE(key) << error;
  EXPECT_EQ(key->algorithm(), JwtAlgorithm::ES256);
  const auto token = es256Token(ec.get(), R"({"alg":"ES256"})", payloadWith({}));
  EXPECT_TRUE(verify(token, {*key}, error)) << error;
}

TEST(JwtEs256, WrongSignatureLengthFails) {
  const auto ec = makeKey("EC", "P-256");
  const auto token = es256Token(ec.get(), R"({"alg":"ES256"})", payloadWith({}));
  const auto dot = token.rfind('.');
  const auto signature = *base64UrlDecode(token.substr(dot + 1));
  ASSERT_EQ(signature.size(), 64u);
  const auto truncated = token.substr(0, dot + 1) + b64url(signature.substr(0, 63));
  std::string error;
  EXPECT_FALSE(verify(truncated, {publicKeyOf(ec.get())}, error));
  EXPECT_EQ(error, "bad signature");
}

TEST(JwtKeys, UnusableKeysAreRefused) {
  std::string error;
  EXPECT_FALSE(VerifyKey::fromPem("not a pem", error));
  EXPECT_FALSE(error.empty());
  const auto p384 = makeKey("EC", "P-384");
  EXPECT_FALSE(VerifyKey::fromPem(publicPem(p384.get()), error));
  EXPECT_FALSE(SigningKey::fromPem(privatePkcs8Pem(p384.get()), error));
  const auto small_rsa = makeRsaKey(1024);
  EXPECT_FALSE(VerifyKey::fromPem(publicPem(small_rsa.get()), error));
  EXPECT_NE(error.find("2048"), std::string::npos);
  const auto ed = makeKey("ED25519", nullptr);
  EXPECT_FALSE(SigningKey::fromPem(privatePkcs8Pem(ed.get()), error));
  // A public key is not a signing key.
  EXPECT_FALSE(SigningKey::fromPem(publicPem(makeKey("EC", "P-256").get()), error));
}

TEST(JwtRs256, TokenSignedByOpenSslVerifies) {
  const auto rsa = makeRsaKey(2048);
  const auto key = publicKeyOf(rsa.get());
  EXPECT_EQ(key.algorithm(), JwtAlgorithm::RS256);
  const auto token = evpToken(rsa.get(), EVP_sha256(), R"({"alg":"RS256"})", payloadWith({}));
  std::string error;
  const auto claims = verify(token, {key}, error);
  ASSERT_TRUE(claims) << error;
  EXPECT_EQ((*claims)["sub"], "alice");
  const auto other = makeRsaKey(2048);
  EXPECT_FALSE(verify(token, {publicKeyOf(other.get())}, error));
  EXPECT_EQ(error, "bad signature");
}

TEST(JwtEdDsa, TokenSignedByOpenSslVerifies) {
  const auto ed = makeKey("ED25519", nullptr);
  const auto key = publicKeyOf(ed.get());
  EXPECT_EQ(key.algorithm(), JwtAlgorithm::EdDSA);
  const auto token = evpToken(ed.get(), nullptr, R"({"alg":"EdDSA"})", payloadWith({}));
  std::string error;
  EXPECT_TRUE(verify(token, {key}, error)) << error;
  const auto other = makeKey("ED25519", nullptr);
  EXPECT_FALSE(verify(token, {publicKeyOf(other.get())}, error));
  EXPECT_EQ(error, "bad signature");
}

// --- kid and rotation --------------------------------------------------------

TEST(JwtKid, SelectsTheNamedKey) {
  const auto a = makeKey("EC", "P-256");
  const auto b = makeKey("EC", "P-256");
  auto key_a = publicKeyOf(a.get());
  key_a.setKid("a");
  auto key_b = publicKeyOf(b.get());
  key_b.setKid("b");
  std::string error;
  const auto by_b = es256Token(b.get(), R"({"alg":"ES256","kid":"b"})", payloadWith({}));
  EXPECT_TRUE(verify(by_b, {key_a, key_b}, error)) << error;
  // kid "a" on b's signature: only key a is tried.
  const auto mislabelled = es256Token(b.get(), R"({"alg":"ES256","kid":"a"})", payloadWith({}));
  EXPECT_FALSE(verify(mislabelled, {key_a, key_b}, error));
  EXPECT_EQ(error, "bad signature");
  const auto unknown = es256Token(b.get(), R"({"alg":"ES256","kid":"c"})", payloadWith({}));
  EXPECT_FALSE(verify(unknown, {key_a, key_b}, error));
  EXPECT_EQ(error, "unknown kid");
  // A key without a kid is tried for any kid; a header without one tries all.
  EXPECT_TRUE(verify(unknown, {key_a, publicKeyOf(b.get())}, error)) << error;
  const auto no_kid = es256Token(b.get(), R"({"alg":"ES256"})", payloadWith({}));
  EXPECT_TRUE(verify(no_kid, {key_a, key_b}, error)) << error;
}

TEST(JwtRotation, EitherOfTwoKeysVerifies) {
  const std::vector<VerifyKey> keys = {VerifyKey::hmac("old"), VerifyKey::hmac("new")};
  std::string error;
  EXPECT_TRUE(verify(hs256Token(kHs256Header, payloadWith({}), "old"), keys, error)) << error;
  EXPECT_TRUE(verify(hs256Token(kHs256Header, payloadWith({}), "new"), keys, error)) << error;
  EXPECT_FALSE(verify(hs256Token(kHs256Header, payloadWith({}), "gone"), keys, error));
}

// --- user tokens -------------------------------------------------------------

TEST(UserTokenVerifier, ReturnsTheSubject) {
  const auto rsa = makeKey("ED25519", nullptr);
  UserTokenSettings settings;
  settings.hs256_secrets = {"first", "second"};
  settings.public_key_pems = {publicPem(rsa.get())};
  settings.audience = "turnpike";
  std::string error;
  const auto verifier = UserTokenVerifier::create(settings, error);
  ASSERT_TRUE(verifier) << error;
  EXPECT_TRUE(verifier->configured());
  const auto hs = hs256Token(kHs256Header, payloadWith({{"aud", "turnpike"}}), "second");
  EXPECT_EQ(verifier->verify(hs, kNow, error), "alice") << error;
  const auto ed = evpToken(rsa.get(), nullptr, R"({"alg":"EdDSA"})",
                           payloadWith({{"aud", "turnpike"}, {"sub", "bob"}}));
  EXPECT_EQ(verifier->verify(ed, kNow, error), "bob") << error;
  const auto wrong_aud = hs256Token(kHs256Header, payloadWith({{"aud", "x"}}), "first");
  EXPECT_FALSE(verifier->verify(wrong_aud, kNow, error));
  EXPECT_EQ(error, "wrong audience");
}

TEST(UserTokenVerifier, SubMustBeAShortNonEmptyString) {
  UserTokenSettings settings;
  settings.hs256_secrets = {"k"};
  std::string error;
  const auto verifier = UserTokenVerifier::create(settings, error);
  ASSERT_TRUE(verifier) << error;
  for (const json& sub : {json(""), json(7), json(std::string(257, 'u')), json(nullptr)}) {
    const auto token = hs256Token(kHs256Header, payloadWith({{"sub", sub}}), "k");
    EXPECT_FALSE(verifier->verify(token, kNow, error)) << sub;
  }
  const auto no_sub = hs256Token(kHs256Header, json{{"exp", kNow.count() + 5}}.dump(), "k");
  EXPECT_FALSE(verifier->verify(no_sub, kNow, error));
  const auto longest = hs256Token(kHs256Header, payloadWith({{"sub", std::string(256, 'u')}}), "k");
  EXPECT_TRUE(verifier->verify(longest, kNow, error)) << error;
}

TEST(UserTokenVerifier, ConfigurationErrorsNameTheKey) {
  std::string error;
  UserTokenSettings empty_secret;
  empty_secret.hs256_secrets = {"ok", ""};
  EXPECT_FALSE(UserTokenVerifier::create(empty_secret, error));
  EXPECT_NE(error.find("hs256_secrets[1]"), std::string::npos) << error;
  UserTokenSettings bad_pem;
  bad_pem.public_key_pems = {publicPem(makeKey("EC", "P-256").get()), "garbage"};
  EXPECT_FALSE(UserTokenVerifier::create(bad_pem, error));
  EXPECT_NE(error.find("public_keys[1]"), std::string::npos) << error;
}

TEST(UserTokenVerifier, NoKeyRefusesEverything) {
  std::string error;
  const auto verifier = UserTokenVerifier::create({}, error);
  ASSERT_TRUE(verifier) << error;
  EXPECT_FALSE(verifier->configured());
  EXPECT_FALSE(verifier->verify(hs256Token(kHs256Header, payloadWith({}), ""), kNow, error));
  EXPECT_EQ(error, "no key configured");
}

// --- call tokens -------------------------------------------------------------

TEST(CallTokenIssuer, IssueVerifyRoundTrip) {
  const CallTokenIssuer issuer(SigningKey::generateEs256(), {}, seconds{120});
  const auto token = issuer.issue("alice", "call-1", "p-1", true, "p2p", kNow);
  std::string error;
  const auto claims = issuer.verify(token, kNow + seconds{60}, error);
  ASSERT_TRUE(claims) << error;
  EXPECT_EQ(claims->user_id, "alice");
  EXPECT_EQ(claims->call_id, "call-1");
  EXPECT_EQ(claims->participant_id, "p-1");
  EXPECT_EQ(claims->permissions,
            (std::vector<std::string>{"publishAudio", "publishVideo", "subscribe"}));
  EXPECT_EQ(claims->mode, "p2p");
  EXPECT_EQ(claims->issued_at, kNow);
  EXPECT_EQ(claims->expires_at, kNow + seconds{120});
  EXPECT_EQ(claims->token_id.size(), 22u);  // 16 bytes, base64url
  const auto again =
      issuer.verify(issuer.issue("alice", "call-1", "p-1", true, "p2p", kNow), kNow, error);
  ASSERT_TRUE(again) << error;
  EXPECT_NE(again->token_id, claims->token_id);
}

TEST(CallTokenIssuer, AudioCallsCannotPublishVideo) {
  const CallTokenIssuer issuer(SigningKey::generateEs256(), {}, seconds{120});
  std::string error;
  const auto claims = issuer.verify(issuer.issue("a", "c", "p", false, "p2p", kNow), kNow, error);
  ASSERT_TRUE(claims) << error;
  EXPECT_EQ(claims->permissions, (std::vector<std::string>{"publishAudio", "subscribe"}));
}

TEST(CallTokenIssuer, ExpiresWithSmallLeeway) {
  const CallTokenIssuer issuer(SigningKey::generateEs256(), {}, seconds{120});
  const auto token = issuer.issue("a", "c", "p", false, "p2p", kNow);
  std::string error;
  EXPECT_TRUE(issuer.verify(token, kNow + seconds{124}, error)) << error;
  EXPECT_FALSE(issuer.verify(token, kNow + seconds{125}, error));
  EXPECT_EQ(error, "expired");
}

TEST(CallTokenIssuer, AcceptsRotatedKeysOnly) {
  const auto old_key = SigningKey::generateEs256();
  const CallTokenIssuer old_issuer(old_key, {}, seconds{120});
  const CallTokenIssuer new_issuer(SigningKey::generateEs256(), {old_key.verifyKey()},
                                   seconds{120});
  const CallTokenIssuer stranger(SigningKey::generateEs256(), {}, seconds{120});
  const auto token = old_issuer.issue("a", "c", "p", true, "p2p", kNow);
  std::string error;
  EXPECT_TRUE(new_issuer.verify(token, kNow, error)) << error;
  EXPECT_FALSE(stranger.verify(token, kNow, error));
  EXPECT_FALSE(old_issuer.verify(new_issuer.issue("a", "c", "p", true, "p2p", kNow), kNow, error));
}

TEST(CallTokenIssuer, RequiresEveryClaim) {
  const auto key = SigningKey::generateEs256();
  const CallTokenIssuer issuer(key, {}, seconds{120});
  const json full = {{"sub", "a"},
                     {"cid", "c"},
                     {"pid", "p"},
                     {"perm", json::array({"subscribe"})},
                     {"mode", "p2p"},
                     {"iat", kNow.count()},
                     {"exp", kNow.count() + 60},
                     {"jti", "j"}};
  std::string error;
  EXPECT_TRUE(issuer.verify(signJwt(full, key), kNow, error)) << error;
  for (const auto& name : {"sub", "cid", "pid", "perm", "mode", "iat", "jti"}) {
    json missing = full;
    missing.erase(name);
    EXPECT_FALSE(issuer.verify(signJwt(missing, key), kNow, error)) << name;
    json wrong_type = full;
    wrong_type[name] = json::object();
    EXPECT_FALSE(issuer.verify(signJwt(wrong_type, key), kNow, error)) << name;
  }
  json bad_perm = full;
  bad_perm["perm"] = json::array({"subscribe", 1});
  EXPECT_FALSE(issuer.verify(signJwt(bad_perm, key), kNow, error));
}

// --- TURN credentials ------------------------------------------------------------

TEST(TurnCredentials, RestSchemeUsernameAndPassword) {
  const auto creds = turnCredentialsFor("call-1", "p-1", "north-secret", seconds{300},
                                        seconds{1700000000}, {"turn:relay.example:3478"});
  EXPECT_EQ(creds.username, "1700000300:call-1:p-1");
  // Fixed vector (Python: base64(hmac.new(secret, username, sha1).digest())).
  EXPECT_EQ(creds.password, "QbmYTRpIab3pwoIWGjJ4kUSlxCo=");
  EXPECT_EQ(creds.ttl, seconds{300});
  EXPECT_EQ(creds.uris, std::vector<std::string>{"turn:relay.example:3478"});

  // And as OpenSSL computes it.
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_length = 0;
  const std::string secret = "another";
  const auto other = turnCredentialsFor("c", "p", secret, seconds{60}, kNow, {});
  HMAC(EVP_sha1(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(other.username.data()), other.username.size(), mac,
       &mac_length);
  unsigned char text[64] = {};
  const int length = EVP_EncodeBlock(text, mac, static_cast<int>(mac_length));
  EXPECT_EQ(other.password,
            std::string(reinterpret_cast<char*>(text), static_cast<std::size_t>(length)));
  EXPECT_EQ(other.password.size(), 28u);
}

}  // namespace
}  // namespace turnpike::control::tokens
