// HMAC through the per-thread keyed contexts: RFC 2202 and RFC 4231 test
// cases, with more keys in turn than the contexts remember.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "relay/stun/crypto.h"

namespace turnpike::stun {
namespace {

crypto::Bytes asBytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

template <std::size_t N>
std::string hex(const std::array<std::uint8_t, N>& bytes) {
  static const char* const kDigits = "0123456789abcdef";
  std::string out;
  for (const auto b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0x0F]);
  }
  return out;
}

struct Vector {
  std::string key;
  std::string data;
  std::string sha1;
  std::string sha256;
};

const std::vector<Vector>& vectors() {
  static const std::vector<Vector> kVectors = {
      // RFC 2202 / RFC 4231 test case 1.
      {std::string(20, '\x0b'), "Hi There", "b617318655057264e28bc0b6fb378c8ef146be00",
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      // Test case 2.
      {"Jefe", "what do ya want for nothing?", "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      // Test case 3.
      {std::string(20, '\xaa'), std::string(50, '\xdd'), "125d7342b9ac11cd91a39af48aa17b4f63f175d3",
       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
      // A key longer than a block (hashed first, never remembered).
      {std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First",
       "90d0dace1c1bdc957339307803160335bde6df2b",
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
      // The empty key and message.
      {"", "", "fbdb1d1b18aa6c08324b7d64b71fb76370690e1d",
       "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad"},
  };
  return kVectors;
}

void expectVectors() {
  for (const auto& v : vectors()) {
    EXPECT_EQ(hex(crypto::hmacSha1(asBytes(v.key), {asBytes(v.data)})), v.sha1);
    EXPECT_EQ(hex(crypto::hmacSha256(asBytes(v.key), {asBytes(v.data)})), v.sha256);
  }
}

TEST(Hmac, MatchesTheRfcTestCases) {
  expectVectors();
  expectVectors();  // again, now from the remembered keyed contexts
}

TEST(Hmac, PartsAreHashedAsOneMessage) {
  const std::string key = "Jefe";
  const std::string a = "what do ya ";
  const std::string b = "want for nothing?";
  EXPECT_EQ(hex(crypto::hmacSha1(asBytes(key), {asBytes(a), {}, asBytes(b)})),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
}

TEST(Hmac, MoreKeysThanRememberedStayCorrectAndBounded) {
  // Each round keys more contexts than a thread keeps, so every key is
  // forgotten and keyed again between two uses of it.
  std::vector<std::string> keys;
  for (std::size_t i = 0; i < 3 * crypto::kHmacKeysPerThread; ++i) {
    keys.push_back("key-" + std::to_string(i));
  }
  const std::string message = "a STUN message";
  std::vector<crypto::Sha1Digest> first;
  for (const auto& key : keys) {
    first.push_back(crypto::hmacSha1(asBytes(key), {asBytes(message)}));
    expectVectors();
  }
  for (std::size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(crypto::hmacSha1(asBytes(keys[i]), {asBytes(message)}), first[i]) << keys[i];
  }
  EXPECT_NE(first[0], first[1]);
  EXPECT_LE(crypto::hmacKeysRemembered(), 2 * crypto::kHmacKeysPerThread);
  EXPECT_GT(crypto::hmacKeysRemembered(), 0U);
}

TEST(Hmac, EachThreadHasItsOwnContexts) {
  const std::string key = "Jefe";
  const std::string data = "what do ya want for nothing?";
  crypto::Sha1Digest elsewhere{};
  std::thread([&] { elsewhere = crypto::hmacSha1(asBytes(key), {asBytes(data)}); }).join();
  EXPECT_EQ(elsewhere, crypto::hmacSha1(asBytes(key), {asBytes(data)}));
}

}  // namespace
}  // namespace turnpike::stun
