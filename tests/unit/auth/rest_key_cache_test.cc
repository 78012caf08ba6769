// The per-thread cache of TURN REST long-term keys: the keys it gives are
// the ones derived from scratch, whatever changed, and it never grows past
// its capacity.
#include "auth/rest_key_cache.h"

#include <gtest/gtest.h>

#include "auth/rest_credentials.h"

namespace turnpike::auth {
namespace {

using stun::PasswordAlgorithmId;

std::vector<std::uint8_t> derived(std::string_view secret, std::string_view username,
                                  std::string_view realm, PasswordAlgorithmId algorithm) {
  return stun::longTermKey(algorithm, username, realm,
                           RestCredentials::passwordFor(secret, username))
      .value();
}

TEST(RestKeyCache, GivesTheDerivedKeyFirstAndAgain) {
  RestKeyCache cache;
  const auto expected =
      derived("s3cret", "1900000000:alice", "example.org", PasswordAlgorithmId::Md5);
  EXPECT_EQ(
      cache.longTermKey("s3cret", "1900000000:alice", "example.org", PasswordAlgorithmId::Md5),
      expected);
  EXPECT_EQ(cache.size(), 1U);
  EXPECT_EQ(
      cache.longTermKey("s3cret", "1900000000:alice", "example.org", PasswordAlgorithmId::Md5),
      expected);
  EXPECT_EQ(cache.size(), 1U);
}

TEST(RestKeyCache, ANewSecretRealmOrAlgorithmGetsItsOwnKey) {
  RestKeyCache cache;
  const std::string user = "1900000000:alice";
  const auto old_key =
      cache.longTermKey("old-secret", user, "example.org", PasswordAlgorithmId::Md5);
  // After a rotation or a reload the same username is checked under the new secret.
  const auto new_key =
      cache.longTermKey("new-secret", user, "example.org", PasswordAlgorithmId::Md5);
  EXPECT_EQ(new_key, derived("new-secret", user, "example.org", PasswordAlgorithmId::Md5));
  EXPECT_NE(new_key, old_key);
  EXPECT_EQ(cache.longTermKey("new-secret", user, "example.net", PasswordAlgorithmId::Md5),
            derived("new-secret", user, "example.net", PasswordAlgorithmId::Md5));
  const auto sha256 =
      cache.longTermKey("new-secret", user, "example.org", PasswordAlgorithmId::Sha256);
  EXPECT_EQ(sha256, derived("new-secret", user, "example.org", PasswordAlgorithmId::Sha256));
  EXPECT_EQ(sha256->size(), 32U);
  // And the first ones are still right.
  EXPECT_EQ(cache.longTermKey("old-secret", user, "example.org", PasswordAlgorithmId::Md5),
            old_key);
  // A secret that only extends another is another secret.
  EXPECT_EQ(cache.longTermKey("new-secret2", user, "example.org", PasswordAlgorithmId::Md5),
            derived("new-secret2", user, "example.org", PasswordAlgorithmId::Md5));
}

TEST(RestKeyCache, StaysWithinItsCapacity) {
  RestKeyCache cache;
  for (std::size_t i = 0; i < 4 * RestKeyCache::kCapacity; ++i) {
    const std::string user = "1900000000:user" + std::to_string(i);
    ASSERT_EQ(cache.longTermKey("s", user, "example.org", PasswordAlgorithmId::Md5),
              derived("s", user, "example.org", PasswordAlgorithmId::Md5));
    ASSERT_LE(cache.size(), RestKeyCache::kCapacity);
  }
  // Most slots are used, and evicted names are derived again correctly.
  EXPECT_GT(cache.size(), RestKeyCache::kCapacity / 2);
  for (std::size_t i = 0; i < 4 * RestKeyCache::kCapacity; i += 97) {
    const std::string user = "1900000000:user" + std::to_string(i);
    EXPECT_EQ(cache.longTermKey("s", user, "example.org", PasswordAlgorithmId::Md5),
              derived("s", user, "example.org", PasswordAlgorithmId::Md5));
  }
}

TEST(RestKeyCache, APasswordThatFailsPreparationIsNotRemembered) {
  RestKeyCache cache;
  // A realm with a prohibited character fails SASLprep: no key, no entry.
  EXPECT_FALSE(cache.longTermKey("s", "1900000000:alice", "bad\x07realm", PasswordAlgorithmId::Md5)
                   .has_value());
  EXPECT_EQ(cache.size(), 0U);
}

TEST(RestCredentials, KeysAreRightAfterTheSecretsChange) {
  const std::string user = "1900000000:alice";
  const std::chrono::seconds now{1'800'000'000};
  std::vector<Credential> out;
  RestCredentials before({"old-secret"}, std::chrono::hours(24 * 365 * 10));
  ASSERT_FALSE(before.lookup(user, "example.org", PasswordAlgorithmId::Md5, now, out));
  // A reload builds a new provider; this thread's cache still holds the old key.
  RestCredentials after({"new-secret", "newer-secret"}, std::chrono::hours(24 * 365 * 10));
  ASSERT_FALSE(after.lookup(user, "example.org", PasswordAlgorithmId::Md5, now, out));
  ASSERT_EQ(out.size(), 3U);
  EXPECT_EQ(out[0].key, derived("old-secret", user, "example.org", PasswordAlgorithmId::Md5));
  EXPECT_EQ(out[1].key, derived("new-secret", user, "example.org", PasswordAlgorithmId::Md5));
  EXPECT_EQ(out[2].key, derived("newer-secret", user, "example.org", PasswordAlgorithmId::Md5));
  EXPECT_NE(out[0].key, out[1].key);
}

}  // namespace
}  // namespace turnpike::auth
