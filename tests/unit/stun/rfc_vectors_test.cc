// RFC 5769 §2.1-2.4 and RFC 8489 B.1 (corrected): each vector is parsed and
// verified, then re-encoded from its parameters and compared byte for byte.

#include <gtest/gtest.h>

#include "relay/stun/address_attribute.h"
#include "relay/stun/integrity.h"
#include "relay/stun/long_term_key.h"
#include "relay/stun/message_builder.h"
#include "relay/stun/message_view.h"
#include "relay/stun/password_algorithms.h"
#include "relay/stun/text_attributes.h"
#include "tests/support/hex.h"
#include "tests/unit/stun/rfc5769_vectors.h"

namespace turnpike::stun {
namespace {

using testing::bytes;
using testing::hex;
namespace v = testing::vectors;

std::span<const std::uint8_t> asSpan(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

const TransactionId kTid = {0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};
const TransactionId kLongTermTid = {0x78, 0xad, 0x34, 0x33, 0xc6, 0xad,
                                    0x72, 0xc0, 0x29, 0xda, 0x41, 0x2e};

TEST(Rfc5769, SampleRequestVerifies) {
  const auto msg = hex(v::kRequest);
  const auto view = MessageView::parse(msg);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->method(), Method::Binding);
  EXPECT_EQ(view->messageClass(), MessageClass::Request);
  EXPECT_EQ(view->transactionId(), kTid);
  EXPECT_EQ(*decodeText(AttributeType::Username, view->find(AttributeType::Username)->value),
            "evtj:h6vY");
  EXPECT_EQ(*decodeText(AttributeType::Software, view->find(AttributeType::Software)->value),
            "STUN test client");
  EXPECT_EQ(verifyMessageIntegrity(*view, asSpan(v::kShortTermPassword)), IntegrityCheck::Ok);
  EXPECT_EQ(verifyMessageIntegrity(*view, asSpan("wrong password")), IntegrityCheck::Mismatch);
}

TEST(Rfc5769, SampleRequestReencodesByteForByte) {
  std::array<std::uint8_t, 256> buf{};
  MessageBuilder b(buf, {Method::Binding, MessageClass::Request}, kTid, kMagicCookie, ' ');
  b.addText(AttributeType::Software, "STUN test client");
  b.addRaw(0x0024, hex("6e 00 01 ff"));              // PRIORITY (RFC 8445)
  b.addRaw(0x8029, hex("93 2f f9 b1 51 26 3b 36"));  // ICE-CONTROLLED
  b.addText(AttributeType::Username, "evtj:h6vY");
  b.addMessageIntegrity(asSpan(v::kShortTermPassword));
  b.addFingerprint();
  ASSERT_FALSE(b.overflowed());
  const auto expected = hex(v::kRequest);
  EXPECT_EQ(std::vector<std::uint8_t>(b.bytes().begin(), b.bytes().end()), expected);
}

void checkResponse(const char* vector, const char* mapped) {
  const auto msg = hex(vector);
  const auto view = MessageView::parse(msg);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->messageClass(), MessageClass::SuccessResponse);
  const auto address =
      decodeXorAddress(view->find(AttributeType::XorMappedAddress)->value, view->transactionId());
  ASSERT_TRUE(address.ok());
  EXPECT_EQ(address->toString(), mapped);
  EXPECT_EQ(verifyMessageIntegrity(*view, asSpan(v::kShortTermPassword)), IntegrityCheck::Ok);

  std::array<std::uint8_t, 256> buf{};
  MessageBuilder b(buf, {Method::Binding, MessageClass::SuccessResponse}, kTid, kMagicCookie, ' ');
  b.addText(AttributeType::Software, "test vector");
  b.addXorAddress(AttributeType::XorMappedAddress, *TransportAddress::parse(mapped));
  b.addMessageIntegrity(asSpan(v::kShortTermPassword));
  b.addFingerprint();
  EXPECT_EQ(std::vector<std::uint8_t>(b.bytes().begin(), b.bytes().end()), msg);
}

TEST(Rfc5769, SampleIpv4Response) { checkResponse(v::kIpv4Response, "192.0.2.1:32853"); }

TEST(Rfc5769, SampleIpv6Response) {
  checkResponse(v::kIpv6Response, "[2001:db8:1234:5678:11:2233:4455:6677]:32853");
}

TEST(Rfc5769, LongTermRequestVerifiesWithSaslprepKey) {
  const auto msg = hex(v::kLongTermRequest);
  const auto view = MessageView::parse(msg);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(*decodeText(AttributeType::Username, view->find(AttributeType::Username)->value),
            v::kLongTermUsername);
  EXPECT_EQ(*decodeText(AttributeType::Nonce, view->find(AttributeType::Nonce)->value),
            v::kLongTermNonce);
  const auto key = longTermKey(PasswordAlgorithmId::Md5, v::kLongTermUsername, v::kLongTermRealm,
                               v::kLongTermPassword);
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(verifyMessageIntegrity(*view, *key), IntegrityCheck::Ok);
  // Without SASLprep the password is different bytes and the check fails.
  const auto raw_input = std::string(v::kLongTermUsername) + ":example.org:" + v::kLongTermPassword;
  const auto unprepared = crypto::md5(asSpan(raw_input));
  EXPECT_EQ(verifyMessageIntegrity(*view, unprepared), IntegrityCheck::Mismatch);

  std::array<std::uint8_t, 256> buf{};
  MessageBuilder b(buf, {Method::Binding, MessageClass::Request}, kLongTermTid);
  b.addText(AttributeType::Username, v::kLongTermUsername);
  b.addText(AttributeType::Nonce, v::kLongTermNonce);
  b.addText(AttributeType::Realm, v::kLongTermRealm);
  b.addMessageIntegrity(*key);
  EXPECT_EQ(std::vector<std::uint8_t>(b.bytes().begin(), b.bytes().end()), msg);
}

TEST(Rfc8489, AppendixB1Sha256WithUserhash) {
  const auto msg = hex(v::kSha256Request);
  ASSERT_EQ(msg.size(), 20U + 0x90U);
  const auto view = MessageView::parse(msg);
  ASSERT_TRUE(view.ok());
  const auto hash = userHash(v::kLongTermUsername, v::kLongTermRealm);
  ASSERT_TRUE(hash.has_value());
  const auto userhash = decodeUserhash(view->find(AttributeType::Userhash)->value);
  ASSERT_TRUE(userhash.ok());
  EXPECT_TRUE(std::equal(hash->begin(), hash->end(), userhash->begin()));
  const auto algorithm =
      decodePasswordAlgorithm(view->find(AttributeType::PasswordAlgorithm)->value);
  ASSERT_TRUE(algorithm.ok());
  EXPECT_EQ(algorithm->algorithm, static_cast<std::uint16_t>(PasswordAlgorithmId::Sha256));

  const auto key = longTermKey(PasswordAlgorithmId::Sha256, v::kLongTermUsername, v::kLongTermRealm,
                               v::kLongTermPassword);
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(verifyMessageIntegritySha256(*view, *key), IntegrityCheck::Ok);

  std::array<std::uint8_t, 256> buf{};
  MessageBuilder b(buf, {Method::Binding, MessageClass::Request}, kLongTermTid);
  b.add(AttributeType::Userhash, *hash);
  b.addText(AttributeType::Nonce, v::kSha256Nonce);
  b.addText(AttributeType::Realm, v::kLongTermRealm);
  b.add(AttributeType::PasswordAlgorithm, hex("00 02 00 00"));
  b.addMessageIntegritySha256(*key);
  EXPECT_EQ(std::vector<std::uint8_t>(b.bytes().begin(), b.bytes().end()), msg);
}

TEST(Rfc8489, AppendixB1AsPrintedHasAWrongLength) {
  // The RFC prints 0x9c, the whole message's size: a parser must refuse it.
  auto msg = hex(v::kSha256Request);
  msg[3] = 0x9c;
  const auto view = MessageView::parse(msg);
  ASSERT_FALSE(view.ok());
  EXPECT_EQ(view.error(), ParseError::LengthMismatch);
}

}  // namespace
}  // namespace turnpike::stun
