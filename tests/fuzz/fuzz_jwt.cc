// Feeds any bytes to verifyJwt with an HS256 and an ES256 key: it must
// answer with claims (a JSON object) or a non-empty error, never crash or
// throw. Seeds in corpus/jwt/ are tokens valid for these keys at kNow, so
// mutations reach the signature, claim and time checks. The input is also
// run through base64UrlDecode, whose accepted texts must re-encode exactly.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "control/tokens/jwt.h"

namespace {

using turnpike::control::tokens::SigningKey;
using turnpike::control::tokens::VerifyKey;

// A throwaway P-256 key made for this target: it protects nothing.
constexpr std::string_view kEs256Pem = R"(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgB3+EOnDT9DVvq0mD
oYm1b90nEr5qggT3Hr4dsTFZRi+hRANCAARngihn+1lL0zfdPbVW/Iuv+L/qxeMI
VHpvYV+jIXDC6ejxG913PHMibSCLmqZzQiuOxA066IPd/tEff91ta+2/
-----END PRIVATE KEY-----
)";
constexpr std::string_view kHs256Secret = "fuzz-secret";
constexpr std::chrono::seconds kNow{1700000000};

std::vector<VerifyKey> makeKeys() {
  std::string error;
  const auto signing = SigningKey::fromPem(kEs256Pem, error);
  if (!signing) {
    __builtin_trap();
  }
  return {VerifyKey::hmac(std::string(kHs256Secret)), signing->verifyKey()};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::vector<VerifyKey> keys = makeKeys();
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  turnpike::control::tokens::JwtExpectations expect;
  expect.issuer = "https://app.example";
  expect.audience = "turnpike";
  std::string error;
  const auto claims = turnpike::control::tokens::verifyJwt(text, keys, kNow, expect, error);
  if (claims ? !claims->is_object() : error.empty()) {
    __builtin_trap();  // claims are an object; a refusal says why
  }

  const auto decoded = turnpike::control::tokens::base64UrlDecode(text);
  if (decoded && turnpike::control::tokens::base64UrlEncode(*decoded) != text) {
    __builtin_trap();  // one encoding per byte string
  }
  return 0;
}
