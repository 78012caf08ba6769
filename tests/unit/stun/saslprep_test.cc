#include <gtest/gtest.h>

#include "relay/stun/long_term_key.h"
#include "relay/stun/saslprep.h"

namespace turnpike::stun {
namespace {

TEST(Saslprep, MapsAsRfc4013Says) {
  // RFC 4013 §3 examples.
  EXPECT_EQ(saslprep("I\xc2\xadX"), "IX");  // SOFT HYPHEN mapped to nothing
  EXPECT_EQ(saslprep("user"), "user");
  EXPECT_EQ(saslprep("\xc2\xaa"), "a");       // NFKC
  EXPECT_EQ(saslprep("\xe2\x85\xa8"), "IX");  // ROMAN NUMERAL NINE
  EXPECT_EQ(saslprep("a\xc2\xa0"
                     "b"),
            "a b");                            // non-ASCII space -> space
  EXPECT_FALSE(saslprep("\x07").has_value());  // prohibited control character
  EXPECT_FALSE(saslprep("\xd8\xa7"
                        "1")
                   .has_value());                  // RandALCat followed by LCat-free digit
  EXPECT_FALSE(saslprep("\xff\xfe").has_value());  // not UTF-8
  // The printable-ASCII fast path leaves every such byte alone, as libidn would.
  for (int c = 0x20; c <= 0x7E; ++c) {
    const std::string s = "a" + std::string(1, static_cast<char>(c)) + "b";
    EXPECT_EQ(saslprep(s), s) << c;
  }
  EXPECT_FALSE(saslprep("a\x7f").has_value());  // DEL is a control character
  EXPECT_FALSE(saslprep("a\x1f").has_value());
}

TEST(LongTermKey, Md5OfUserRealmPassword) {
  // RFC 8489 §9.2.2 with plain ASCII: MD5("user:realm:pass").
  const auto key = longTermKey(PasswordAlgorithmId::Md5, "user", "realm", "pass");
  ASSERT_TRUE(key.has_value());
  const std::string input = "user:realm:pass";
  const auto expected =
      crypto::md5({reinterpret_cast<const std::uint8_t*>(input.data()), input.size()});
  EXPECT_TRUE(std::equal(expected.begin(), expected.end(), key->begin(), key->end()));
  EXPECT_EQ(longTermKey(PasswordAlgorithmId::Sha256, "user", "realm", "pass")->size(), 32U);
  EXPECT_FALSE(longTermKey(PasswordAlgorithmId::Md5, "user", "realm", "\x07").has_value());
}

}  // namespace
}  // namespace turnpike::stun
