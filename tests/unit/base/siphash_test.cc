#include "relay/base/siphash.h"

#include <gtest/gtest.h>

#include <vector>

namespace turnpike {
namespace {

std::array<std::uint8_t, 16> referenceKey() {
  std::array<std::uint8_t, 16> key{};
  for (std::size_t i = 0; i < key.size(); ++i) {
    key[i] = static_cast<std::uint8_t>(i);
  }
  return key;
}

// The SipHash paper's test values: key 00..0f, messages 00..(n-1).
TEST(SipHash24, MatchesTheReferenceVectors) {
  std::vector<std::uint8_t> message;
  EXPECT_EQ(sipHash24(referenceKey(), message), 0x726fdb47dd0e0e31ULL);
  for (std::uint8_t i = 0; i < 15; ++i) {
    message.push_back(i);
  }
  EXPECT_EQ(sipHash24(referenceKey(), message), 0xa129ca6149be45e5ULL);
}

TEST(SipHash24, DependsOnTheKey) {
  const std::vector<std::uint8_t> message = {192, 0, 2, 1};
  auto other = referenceKey();
  other[0] ^= 1;
  EXPECT_NE(sipHash24(referenceKey(), message), sipHash24(other, message));
}

}  // namespace
}  // namespace turnpike
