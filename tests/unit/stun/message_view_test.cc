// Parsing rules and the malformed corpus: every broken message is refused
// with the error that names what is wrong.

#include <gtest/gtest.h>

#include "relay/stun/message_builder.h"
#include "relay/stun/message_view.h"
#include "tests/support/hex.h"
#include "tests/unit/stun/rfc5769_vectors.h"

namespace turnpike::stun {
namespace {

using testing::hex;

// A Binding request with no attributes.
const char* kEmptyBinding = "00 01 00 00 21 12 a4 42 00 01 02 03 04 05 06 07 08 09 0a 0b";

ParseError parseError(const std::vector<std::uint8_t>& msg) {
  const auto r = MessageView::parse(msg);
  EXPECT_FALSE(r.ok());
  return r.ok() ? ParseError::TooShort : r.error();
}

TEST(MessageView, ParsesMinimalBinding) {
  const auto msg = hex(kEmptyBinding);
  const auto r = MessageView::parse(msg);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->type(), (MessageType{Method::Binding, MessageClass::Request}));
  EXPECT_EQ(r->attributeCount(), 0U);
  EXPECT_FALSE(r->isRfc3489());
}

TEST(MessageType, EncodesEveryMethodAndClass) {
  for (auto m : {Method::Binding, Method::Allocate, Method::Refresh, Method::Send, Method::Data,
                 Method::CreatePermission, Method::ChannelBind, Method::Connect,
                 Method::ConnectionBind, Method::ConnectionAttempt}) {
    for (auto c : {MessageClass::Request, MessageClass::Indication, MessageClass::SuccessResponse,
                   MessageClass::ErrorResponse}) {
      EXPECT_EQ(decodeMessageType(encodeMessageType({m, c})), (MessageType{m, c}));
    }
  }
  // RFC 8489 §5: Binding success response is 0x0101, error response 0x0111.
  EXPECT_EQ(encodeMessageType({Method::Binding, MessageClass::SuccessResponse}), 0x0101);
  EXPECT_EQ(encodeMessageType({Method::Binding, MessageClass::ErrorResponse}), 0x0111);
  EXPECT_EQ(encodeMessageType({Method::Allocate, MessageClass::Request}), 0x0003);
  EXPECT_EQ(encodeMessageType({Method::Send, MessageClass::Indication}), 0x0016);
}

TEST(Malformed, TruncatedHeader) {
  auto msg = hex(kEmptyBinding);
  msg.resize(19);
  EXPECT_EQ(parseError(msg), ParseError::TooShort);
  EXPECT_EQ(parseError({}), ParseError::TooShort);
}

TEST(Malformed, TopBitsSet) {
  auto msg = hex(kEmptyBinding);
  msg[0] = 0x80;
  EXPECT_EQ(parseError(msg), ParseError::NotStun);
}

TEST(Malformed, LengthNotMultipleOf4) {
  const auto msg =
      hex("00 01 00 05 21 12 a4 42 00 01 02 03 04 05 06 07 08 09 0a 0b 00 06 00 01 61");
  EXPECT_EQ(parseError(msg), ParseError::LengthNotMultipleOf4);
}

TEST(Malformed, LengthDisagreesWithDatagram) {
  auto msg = hex(kEmptyBinding);
  msg.push_back(0);
  msg.push_back(0);
  msg.push_back(0);
  msg.push_back(0);
  EXPECT_EQ(parseError(msg), ParseError::LengthMismatch);
}

TEST(Malformed, AttributeRunsPastTheEnd) {
  // USERNAME claims 8 bytes, only 4 follow.
  const auto msg =
      hex("00 01 00 08 21 12 a4 42 00 01 02 03 04 05 06 07 08 09 0a 0b 00 06 00 08 61 62 63 64");
  EXPECT_EQ(parseError(msg), ParseError::AttributeOverrun);
}

TEST(Malformed, TruncatedAttributeHeader) {
  const auto msg =
      hex("00 01 00 04 21 12 a4 42 00 01 02 03 04 05 06 07 08 09 0a 0b 00 06 00 00"
          "00 06 00");
  // Length 4 leaves a 4-byte attribute header then 3 stray bytes: not even 4-aligned.
  EXPECT_FALSE(MessageView::parse(msg).ok());
  const auto msg2 =
      hex("00 01 00 08 21 12 a4 42 00 01 02 03 04 05 06 07 08 09 0a 0b 00 06 00 00 00 06");
  EXPECT_FALSE(MessageView::parse(msg2).ok());
}

TEST(Malformed, MissingPadding) {
  // USERNAME "abcde" (5 bytes) followed straight away by SOFTWARE "xyz"
  // without the 3 padding bytes: 4+5+4+3 = 16, a valid total length, but the
  // next attribute header read at the padded offset runs past the end.
  const auto msg =
      hex("00 01 00 10 21 12 a4 42 00 01 02 03 04 05 06 07 08 09 0a 0b"
          "00 06 00 05 61 62 63 64 65 80 22 00 03 78 79 7a");
  EXPECT_EQ(parseError(msg), ParseError::AttributeOverrun);
}

TEST(MessageView, NonZeroPaddingIsIgnored) {
  // §14: padding "MUST be ignored by the receiver".
  const auto msg =
      hex("00 01 00 0c 21 12 a4 42 00 01 02 03 04 05 06 07 08 09 0a 0b"
          "00 06 00 05 61 62 63 64 65 ff ff ff");
  const auto r = MessageView::parse(msg);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->find(AttributeType::Username)->value.size(), 5U);
}

TEST(Malformed, WrongMagicCookie) {
  auto msg = hex(kEmptyBinding);
  msg[4] = 0x21;
  msg[7] = 0x43;
  EXPECT_EQ(parseError(msg), ParseError::BadMagicCookie);
  // RFC 3489 clients are accepted only when the caller asks for it.
  const auto r = MessageView::parse(msg, {.accept_rfc3489 = true});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->isRfc3489());
}

TEST(Malformed, FingerprintMismatch) {
  auto msg = hex(testing::vectors::kRequest);
  msg.back() ^= 0x01;
  EXPECT_EQ(parseError(msg), ParseError::FingerprintMismatch);
  // Any change covered by the CRC is caught too.
  auto changed = hex(testing::vectors::kRequest);
  changed[30] ^= 0x20;
  EXPECT_EQ(parseError(changed), ParseError::FingerprintMismatch);
}

TEST(Malformed, FingerprintNotLast) {
  std::array<std::uint8_t, 128> buf{};
  MessageBuilder b(buf, {Method::Binding, MessageClass::Request}, TransactionId{});
  b.addFingerprint();
  b.addText(AttributeType::Software, "x");
  std::vector<std::uint8_t> msg(b.bytes().begin(), b.bytes().end());
  EXPECT_EQ(parseError(msg), ParseError::FingerprintNotLast);
}

TEST(Malformed, DuplicateMessageIntegrity) {
  std::array<std::uint8_t, 128> buf{};
  const std::uint8_t key[] = {1, 2, 3};
  MessageBuilder b(buf, {Method::Binding, MessageClass::Request}, TransactionId{});
  b.addMessageIntegrity(key);
  b.addMessageIntegrity(key);
  std::vector<std::uint8_t> msg(b.bytes().begin(), b.bytes().end());
  EXPECT_EQ(parseError(msg), ParseError::DuplicateIntegrity);
}

TEST(MessageView, AttributesAfterIntegrityAreIgnored) {
  std::array<std::uint8_t, 256> buf{};
  const std::uint8_t key[] = {1, 2, 3};
  MessageBuilder b(buf, {Method::Binding, MessageClass::Request}, TransactionId{});
  b.addText(AttributeType::Username, "alice");
  b.addMessageIntegrity(key);
  b.addText(AttributeType::Realm, "after-integrity");
  b.addMessageIntegritySha256(key);
  b.addText(AttributeType::Nonce, "after-sha256");
  b.addFingerprint();
  const auto r = MessageView::parse(b.bytes());
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->has(AttributeType::Username));
  EXPECT_TRUE(r->has(AttributeType::MessageIntegrity));
  EXPECT_FALSE(r->has(AttributeType::Realm));  // §14.5
  EXPECT_TRUE(r->has(AttributeType::MessageIntegritySha256));
  EXPECT_FALSE(r->has(AttributeType::Nonce));  // §14.6
  EXPECT_TRUE(r->has(AttributeType::Fingerprint));
  EXPECT_EQ(r->attributeCount(), 6U);
}

TEST(MessageBuilder, OverflowIsReportedNotWritten) {
  std::array<std::uint8_t, 24> buf{};
  MessageBuilder b(buf, {Method::Binding, MessageClass::Request}, TransactionId{});
  EXPECT_FALSE(b.addText(AttributeType::Software, "too long for 24 bytes"));
  EXPECT_TRUE(b.overflowed());
  EXPECT_TRUE(b.bytes().empty());
}

}  // namespace
}  // namespace turnpike::stun
