// NonceCodec on its own: what it accepts, what it calls stale or forged.
#include "auth/nonce.h"

#include <gtest/gtest.h>

#include "relay/stun/crypto.h"

namespace turnpike::auth {
namespace {

using namespace std::chrono_literals;
using Check = NonceCodec::Check;

std::array<std::uint8_t, 32> key(std::uint8_t seed) {
  std::array<std::uint8_t, 32> k{};
  for (std::size_t i = 0; i < k.size(); ++i) {
    k[i] = static_cast<std::uint8_t>(seed + i);
  }
  return k;
}

stun::TransportAddress address(std::string_view text) {
  return stun::TransportAddress::parse(text).value();
}

constexpr std::chrono::seconds kNow{1'800'000'000};

TEST(Nonce, KeepsItsLayout) {
  const NonceCodec codec(key(1), 600s);
  const auto nonce = codec.issue(address("192.0.2.1:5000"), kNow);
  // Cookie, 4 characters of feature bits, base64 of 8 + 16 bytes.
  EXPECT_EQ(nonce.size(), 9U + 4U + 32U);
  EXPECT_EQ(nonce.substr(0, 13), "obMatJos2AAAD");
  EXPECT_TRUE(NonceCodec::announcesPasswordAlgorithms(nonce));
  const auto body = stun::crypto::base64Decode(std::string_view(nonce).substr(13));
  ASSERT_TRUE(body.has_value());
  ASSERT_EQ(body->size(), 24U);
  EXPECT_EQ((std::uint64_t{(*body)[4]} << 24 | std::uint64_t{(*body)[5]} << 16 |
             std::uint64_t{(*body)[6]} << 8 | (*body)[7]),
            static_cast<std::uint64_t>(kNow.count()));
}

TEST(Nonce, ValidUntilItsLifetimeThenStale) {
  const NonceCodec codec(key(1), 600s);
  const auto client = address("192.0.2.1:5000");
  const auto nonce = codec.issue(client, kNow);
  EXPECT_EQ(codec.check(nonce, client, kNow), Check::Valid);
  EXPECT_EQ(codec.check(nonce, client, kNow + 599s), Check::Valid);
  EXPECT_EQ(codec.check(nonce, client, kNow + 600s), Check::Stale);
  EXPECT_EQ(codec.check(nonce, client, kNow - 1s), Check::Stale);  // issued in the future
}

TEST(Nonce, BoundToTheClientIpNotItsPort) {
  const NonceCodec codec(key(1), 600s);
  const auto nonce = codec.issue(address("192.0.2.1:5000"), kNow);
  EXPECT_EQ(codec.check(nonce, address("192.0.2.1:6000"), kNow), Check::Valid);
  EXPECT_EQ(codec.check(nonce, address("192.0.2.2:5000"), kNow), Check::Forged);
  EXPECT_EQ(codec.check(nonce, address("[2001:db8::1]:5000"), kNow), Check::Forged);
  const auto v6 = codec.issue(address("[2001:db8::1]:5000"), kNow);
  EXPECT_EQ(codec.check(v6, address("[2001:db8::1]:7000"), kNow), Check::Valid);
  EXPECT_EQ(codec.check(v6, address("[2001:db8::2]:5000"), kNow), Check::Forged);
}

TEST(Nonce, OnlyItsKeyVerifiesIt) {
  const auto client = address("192.0.2.1:5000");
  const auto nonce = NonceCodec(key(1), 600s).issue(client, kNow);
  EXPECT_EQ(NonceCodec(key(2), 600s).check(nonce, client, kNow), Check::Forged);
  // Either half of the key changed is enough.
  auto first_half = key(1);
  first_half[0] ^= 1;
  EXPECT_EQ(NonceCodec(first_half, 600s).check(nonce, client, kNow), Check::Forged);
  auto second_half = key(1);
  second_half[31] ^= 1;
  EXPECT_EQ(NonceCodec(second_half, 600s).check(nonce, client, kNow), Check::Forged);
  // The same key, as after a reload, still verifies it.
  EXPECT_EQ(NonceCodec(key(1), 60s).check(nonce, client, kNow), Check::Valid);
}

TEST(Nonce, AlteredNoncesAreForged) {
  const NonceCodec codec(key(1), 600s);
  const auto client = address("192.0.2.1:5000");
  const auto nonce = codec.issue(client, kNow);
  // Moving the issue time forward (to make it last longer) breaks the tag.
  auto body = stun::crypto::base64Decode(std::string_view(nonce).substr(13)).value();
  body[7] = static_cast<std::uint8_t>(body[7] + 100);
  const std::string moved = nonce.substr(0, 13) + stun::crypto::base64Encode(body);
  EXPECT_EQ(codec.check(moved, client, kNow + 100s), Check::Forged);
  for (std::size_t i = 13; i < nonce.size(); ++i) {
    std::string altered = nonce;
    altered[i] = altered[i] == 'A' ? 'B' : 'A';
    EXPECT_NE(codec.check(altered, client, kNow), Check::Valid) << i;
  }
  EXPECT_EQ(codec.check("", client, kNow), Check::Forged);
  EXPECT_EQ(codec.check("obMatJos2AAAD", client, kNow), Check::Forged);
  EXPECT_EQ(codec.check(nonce.substr(0, nonce.size() - 4), client, kNow), Check::Forged);
  EXPECT_EQ(codec.check("xbMatJos2AAAD" + nonce.substr(13), client, kNow), Check::Forged);
}

}  // namespace
}  // namespace turnpike::auth
