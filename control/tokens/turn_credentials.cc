#include "control/tokens/turn_credentials.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <climits>

namespace turnpike::control::tokens {
namespace {

// base64(HMAC-SHA1(secret, username)), standard alphabet with padding, as
// coturn's use-auth-secret and every REST-aware TURN server computes it.
std::string restPassword(std::string_view secret, std::string_view username) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int mac_length = 0;
  if (secret.size() > static_cast<std::size_t>(INT_MAX) ||
      HMAC(EVP_sha1(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(username.data()), username.size(), mac.data(),
           &mac_length) == nullptr) {
    return {};
  }
  std::array<unsigned char, 4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1> text{};
  const int length = EVP_EncodeBlock(text.data(), mac.data(), static_cast<int>(mac_length));
  return {reinterpret_cast<const char*>(text.data()), static_cast<std::size_t>(length)};
}

}  // namespace

TurnCredentials turnCredentialsFor(std::string_view call_id, std::string_view participant_id,
                                   std::string_view secret, std::chrono::seconds ttl,
                                   std::chrono::seconds unix_now, std::vector<std::string> uris) {
  // draft-uberti-behave-turn-rest §2.2: "the username ... is a colon-delimited
  // combination of the expiration timestamp and the username parameter".
  TurnCredentials out;
  out.username = std::to_string((unix_now + ttl).count());
  out.username += ':';
  out.username += call_id;
  out.username += ':';
  out.username += participant_id;
  out.password = restPassword(secret, out.username);
  out.ttl = ttl;
  out.uris = std::move(uris);
  return out;
}

}  // namespace turnpike::control::tokens
