// Round trip for every attribute the codec knows: encode into a message,
// parse the message, decode the attribute, compare; plus the size checks of
// each typed decoder.

#include <gtest/gtest.h>

#include "relay/stun/address_attribute.h"
#include "relay/stun/error_code_attribute.h"
#include "relay/stun/message_builder.h"
#include "relay/stun/message_view.h"
#include "relay/stun/password_algorithms.h"
#include "relay/stun/text_attributes.h"
#include "relay/stun/turn_attributes.h"
#include "relay/stun/unknown_attributes.h"
#include "tests/support/hex.h"

namespace turnpike::stun {
namespace {

const TransactionId kTid = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

class RoundTrip : public ::testing::Test {
 protected:
  MessageBuilder builder() {
    return MessageBuilder(buf_, {Method::Allocate, MessageClass::Request}, kTid);
  }
  RawAttribute parseOne(const MessageBuilder& b, AttributeType type) {
    EXPECT_FALSE(b.overflowed());
    msg_.assign(b.bytes().begin(), b.bytes().end());
    auto view = MessageView::parse(msg_);
    EXPECT_TRUE(view.ok());
    auto attr = view->find(type);
    EXPECT_TRUE(attr.has_value());
    return attr.value_or(RawAttribute{});
  }
  std::array<std::uint8_t, 2048> buf_{};
  std::vector<std::uint8_t> msg_;
};

TEST_F(RoundTrip, AddressAttributesBothFamilies) {
  const auto v4 = *TransportAddress::parse("203.0.113.7:49152");
  const auto v6 = *TransportAddress::parse("[2001:db8::42]:3478");
  for (const auto& address : {v4, v6}) {
    for (auto type : {AttributeType::XorMappedAddress, AttributeType::XorPeerAddress,
                      AttributeType::XorRelayedAddress}) {
      auto b = builder();
      b.addXorAddress(type, address);
      const auto attr = parseOne(b, type);
      EXPECT_EQ(decodeXorAddress(attr.value, kTid).value(), address);
      // The wire form is really XOR'd: it is not the plain encoding.
      EXPECT_FALSE(decodeAddress(attr.value).value() == address);
    }
    for (auto type : {AttributeType::MappedAddress, AttributeType::AlternateServer}) {
      auto b = builder();
      b.addAddress(type, address);
      EXPECT_EQ(decodeAddress(parseOne(b, type).value).value(), address);
    }
  }
}

TEST(AddressAttribute, RejectsBadFamilyAndSizes) {
  using testing::hex;
  EXPECT_EQ(decodeAddress(hex("00 03 00 01 01 02 03 04")).error(), AttributeError::BadFamily);
  EXPECT_EQ(decodeAddress(hex("00 01 00 01 01 02 03")).error(), AttributeError::WrongSize);
  EXPECT_EQ(decodeAddress(hex("00 02 00 01 01 02 03 04")).error(), AttributeError::WrongSize);
  EXPECT_EQ(decodeAddress(hex("00 01")).error(), AttributeError::WrongSize);
}

TEST_F(RoundTrip, TextAttributes) {
  for (auto type : {AttributeType::Username, AttributeType::Realm, AttributeType::Nonce,
                    AttributeType::Software, AttributeType::AlternateDomain}) {
    auto b = builder();
    b.addText(type, "h\xc3\xa9llo");
    EXPECT_EQ(decodeText(type, parseOne(b, type).value).value(), "h\xc3\xa9llo");
  }
}

TEST(TextAttributes, EnforceRfcLimits) {
  const std::string long_user(509, 'u');
  const auto span = [](const std::string& s) {
    return std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
  };
  EXPECT_EQ(decodeText(AttributeType::Username, span(long_user)).error(), AttributeError::TooLong);
  EXPECT_TRUE(decodeText(AttributeType::Username, span(std::string(508, 'u'))).ok());
  EXPECT_EQ(decodeText(AttributeType::Realm, span(std::string(128, 'r'))).error(),
            AttributeError::TooLong);
  // 127 three-byte characters: 381 bytes, still fewer than 128 characters.
  std::string wide;
  for (int i = 0; i < 127; ++i) wide += "\xe2\x85\xa8";
  EXPECT_TRUE(decodeText(AttributeType::Nonce, span(wide)).ok());
  EXPECT_EQ(decodeText(AttributeType::AlternateDomain, span(std::string(256, 'd'))).error(),
            AttributeError::TooLong);
}

TEST_F(RoundTrip, Userhash) {
  std::array<std::uint8_t, 32> hash{};
  hash.fill(0xab);
  auto b = builder();
  b.add(AttributeType::Userhash, hash);
  const auto value = decodeUserhash(parseOne(b, AttributeType::Userhash).value).value();
  EXPECT_TRUE(std::equal(value.begin(), value.end(), hash.begin()));
  EXPECT_EQ(decodeUserhash(std::span(hash).first(31)).error(), AttributeError::WrongSize);
}

TEST_F(RoundTrip, ErrorCode) {
  for (const std::uint16_t code : std::array<std::uint16_t, 7>{300, 401, 420, 438, 486, 508, 699}) {
    auto b = builder();
    b.addErrorCode(code, defaultReason(code));
    const auto decoded = decodeErrorCode(parseOne(b, AttributeType::ErrorCode).value).value();
    EXPECT_EQ(decoded.code, code);
    EXPECT_EQ(decoded.reason, defaultReason(code));
  }
  EXPECT_EQ(decodeErrorCode(testing::hex("00 00 02 00")).error(), AttributeError::BadValue);
  EXPECT_EQ(decodeErrorCode(testing::hex("00 00 04 64")).error(), AttributeError::BadValue);
  EXPECT_EQ(decodeErrorCode(testing::hex("00 00 04")).error(), AttributeError::WrongSize);
}

TEST_F(RoundTrip, UnknownAttributes) {
  const std::uint16_t types[] = {0x0003, 0x7f00, 0x0042};
  auto b = builder();
  b.addUnknownAttributes(types);
  const auto attr = parseOne(b, AttributeType::UnknownAttributes);
  ASSERT_EQ(decodeUnknownAttributes(attr.value).value(), 3U);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(unknownAttributeAt(attr.value, i), types[i]);
  }
  EXPECT_EQ(decodeUnknownAttributes(testing::hex("00 03 00")).error(), AttributeError::WrongSize);
}

TEST_F(RoundTrip, PasswordAlgorithms) {
  // MD5 with no parameters, SHA-256 with no parameters, and an unknown one
  // with 3 parameter bytes (padded inside the list).
  const auto list = testing::hex("00 01 00 00 00 02 00 00 00 7f 00 03 aa bb cc 00");
  auto b = builder();
  b.add(AttributeType::PasswordAlgorithms, list);
  const auto attr = parseOne(b, AttributeType::PasswordAlgorithms);
  std::vector<std::uint16_t> seen;
  std::vector<std::size_t> param_sizes;
  EXPECT_TRUE(forEachPasswordAlgorithm(attr.value, [&](const PasswordAlgorithm& a) {
    seen.push_back(a.algorithm);
    param_sizes.push_back(a.parameters.size());
  }));
  EXPECT_EQ(seen, (std::vector<std::uint16_t>{1, 2, 0x7f}));
  EXPECT_EQ(param_sizes, (std::vector<std::size_t>{0, 0, 3}));
  EXPECT_EQ(countPasswordAlgorithms(testing::hex("00 01 00 08 00 00")).error(),
            AttributeError::WrongSize);

  auto b2 = builder();
  b2.add(AttributeType::PasswordAlgorithm, testing::hex("00 02 00 00"));
  EXPECT_EQ(decodePasswordAlgorithm(parseOne(b2, AttributeType::PasswordAlgorithm).value)
                .value()
                .algorithm,
            2);
}

TEST_F(RoundTrip, TurnNumericAttributes) {
  auto b = builder();
  b.add(AttributeType::ChannelNumber, encodeChannelNumber(0x4001));
  b.addU32(AttributeType::Lifetime, 600);
  b.add(AttributeType::RequestedTransport, encodeRequestedTransport(kProtocolUdp));
  b.add(AttributeType::EvenPort, encodeEvenPort(true));
  b.add(AttributeType::RequestedAddressFamily, encodeAddressFamily(AddressFamily::IPv6));
  b.add(AttributeType::AdditionalAddressFamily, encodeAddressFamily(AddressFamily::IPv6));
  b.add(AttributeType::DontFragment, {});
  b.add(AttributeType::ReservationToken, encodeReservationToken(0x0102030405060708ULL));
  b.add(AttributeType::ConnectionId, encodeU32(0xdeadbeef));
  b.add(AttributeType::Icmp, encodeIcmp({3, 1, 0x11223344}));
  const auto prefix = encodeAddressErrorCodePrefix(AddressFamily::IPv6, 440);
  std::vector<std::uint8_t> aec(prefix.begin(), prefix.end());
  for (char c : std::string_view("Address Family not Supported"))
    aec.push_back(static_cast<std::uint8_t>(c));
  b.add(AttributeType::AddressErrorCode, aec);
  const std::vector<std::uint8_t> payload = {9, 8, 7, 6, 5};
  b.add(AttributeType::Data, payload);
  ASSERT_FALSE(b.overflowed());

  const auto view = MessageView::parse(b.bytes()).value();
  EXPECT_EQ(decodeChannelNumber(view.find(AttributeType::ChannelNumber)->value).value(), 0x4001);
  EXPECT_EQ(decodeU32(view.find(AttributeType::Lifetime)->value).value(), 600U);
  EXPECT_EQ(decodeRequestedTransport(view.find(AttributeType::RequestedTransport)->value).value(),
            kProtocolUdp);
  EXPECT_TRUE(decodeEvenPort(view.find(AttributeType::EvenPort)->value).value());
  EXPECT_EQ(decodeAddressFamily(view.find(AttributeType::RequestedAddressFamily)->value).value(),
            AddressFamily::IPv6);
  EXPECT_EQ(decodeAddressFamily(view.find(AttributeType::AdditionalAddressFamily)->value).value(),
            AddressFamily::IPv6);
  EXPECT_TRUE(decodeDontFragment(view.find(AttributeType::DontFragment)->value).value());
  EXPECT_EQ(decodeReservationToken(view.find(AttributeType::ReservationToken)->value).value(),
            0x0102030405060708ULL);
  EXPECT_EQ(decodeU32(view.find(AttributeType::ConnectionId)->value).value(), 0xdeadbeefU);
  EXPECT_EQ(decodeIcmp(view.find(AttributeType::Icmp)->value).value(), (Icmp{3, 1, 0x11223344}));
  const auto decoded_aec =
      decodeAddressErrorCode(view.find(AttributeType::AddressErrorCode)->value).value();
  EXPECT_EQ(decoded_aec.family, AddressFamily::IPv6);
  EXPECT_EQ(decoded_aec.code, 440);
  const auto data = view.find(AttributeType::Data)->value;
  EXPECT_EQ(std::vector<std::uint8_t>(data.begin(), data.end()), payload);
}

TEST(TurnAttributes, ExactSizesAreEnforced) {
  using testing::hex;
  EXPECT_EQ(decodeChannelNumber(hex("40 00")).error(), AttributeError::WrongSize);
  EXPECT_EQ(decodeU32(hex("00 00 02")).error(), AttributeError::WrongSize);
  EXPECT_EQ(decodeRequestedTransport(hex("11")).error(), AttributeError::WrongSize);
  EXPECT_EQ(decodeEvenPort(hex("80 00")).error(), AttributeError::WrongSize);
  EXPECT_EQ(decodeAddressFamily(hex("03 00 00 00")).error(), AttributeError::BadFamily);
  EXPECT_EQ(decodeDontFragment(hex("00")).error(), AttributeError::WrongSize);
  EXPECT_EQ(decodeReservationToken(hex("00 00 00 00")).error(), AttributeError::WrongSize);
  EXPECT_EQ(decodeIcmp(hex("00 00 03 01")).error(), AttributeError::WrongSize);
  EXPECT_EQ(decodeAddressErrorCode(hex("05 00 04 40")).error(), AttributeError::BadFamily);
  EXPECT_FALSE(decodeEvenPort(hex("00")).value());
}

TEST(AttributeType, ComprehensionRanges) {
  EXPECT_TRUE(isComprehensionRequired(0x0001));
  EXPECT_TRUE(isComprehensionRequired(0x7fff));
  EXPECT_FALSE(isComprehensionRequired(0x8000));
  EXPECT_TRUE(isKnownAttribute(0x002A));
  EXPECT_FALSE(isKnownAttribute(0x0024));  // PRIORITY is ICE's, not ours
  EXPECT_EQ(attributeName(0x8028), "FINGERPRINT");
}

}  // namespace
}  // namespace turnpike::stun
