#include "benchmarks/callgen/user_token.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <array>
#include <nlohmann/json.hpp>

namespace turnpike::callgen {

std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string base64Url(std::string_view bytes) {
  std::string out = base64(bytes);
  while (!out.empty() && out.back() == '=') {
    out.pop_back();
  }
  for (char& c : out) {
    if (c == '+') {
      c = '-';
    } else if (c == '/') {
      c = '_';
    }
  }
  return out;
}

std::string mintUserToken(std::string_view secret, std::string_view user_id, std::int64_t iat,
                          std::int64_t exp) {
  const nlohmann::json header = {{"alg", "HS256"}, {"typ", "JWT"}};
  const nlohmann::json claims = {{"sub", user_id}, {"iat", iat}, {"exp", exp}};
  // RFC 7515 §5.1: the signing input is the two encoded parts joined by '.'.
  const std::string input = base64Url(header.dump()) + "." + base64Url(claims.dump());
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac.data(), &mac_len);
  return input + "." +
         base64Url({reinterpret_cast<const char*>(mac.data()), static_cast<std::size_t>(mac_len)});
}

std::string webSocketAccept(std::string_view key) {
  // RFC 6455 §1.3: SHA-1 of the key and this GUID, base64-encoded.
  const std::string input = std::string(key) + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int len = 0;
  EVP_Digest(input.data(), input.size(), digest.data(), &len, EVP_sha1(), nullptr);
  return base64({reinterpret_cast<const char*>(digest.data()), static_cast<std::size_t>(len)});
}

std::string webSocketKey() {
  std::array<unsigned char, 16> nonce{};
  RAND_bytes(nonce.data(), static_cast<int>(nonce.size()));
  return base64({reinterpret_cast<const char*>(nonce.data()), nonce.size()});
}

}  // namespace turnpike::callgen
