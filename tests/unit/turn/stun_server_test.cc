// The protocol layer without sockets: Binding, 420, RFC 3489 clients,
// indications, ChannelData and garbage.

#include "relay/turn/stun_server.h"

#include <gtest/gtest.h>

#include "relay/stun/address_attribute.h"
#include "relay/stun/error_code_attribute.h"
#include "relay/stun/message_builder.h"
#include "relay/stun/text_attributes.h"
#include "relay/stun/unknown_attributes.h"
#include "tests/support/hex.h"

namespace turnpike::turn {
namespace {

using stun::AttributeType;
using stun::MessageClass;
using stun::Method;

const stun::TransactionId kTid = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2};
const auto kClient = *stun::TransportAddress::parse("198.51.100.7:40000");

class StunServerTest : public ::testing::Test {
 protected:
  Outcome send(std::span<const std::uint8_t> packet) {
    return server_.handleDatagram(packet, kClient, out_);
  }
  stun::MessageView response(const Outcome& o) {
    EXPECT_EQ(o.kind, Outcome::Kind::Reply);
    auto r = stun::MessageView::parse(std::span(out_).first(o.size), {.accept_rfc3489 = true});
    EXPECT_TRUE(r.ok());
    return r.value();
  }
  std::vector<std::uint8_t> request(const std::function<void(stun::MessageBuilder&)>& fill = {},
                                    MessageClass cls = MessageClass::Request,
                                    Method method = Method::Binding) {
    std::array<std::uint8_t, 512> buf{};
    stun::MessageBuilder b(buf, {method, cls}, kTid);
    if (fill) fill(b);
    return {b.bytes().begin(), b.bytes().end()};
  }

  StunServer server_{ServerOptions{}};
  std::array<std::uint8_t, 2048> out_{};
};

TEST_F(StunServerTest, BindingGetsXorMappedAddress) {
  const auto r = response(send(request()));
  EXPECT_EQ(r.type(), (stun::MessageType{Method::Binding, MessageClass::SuccessResponse}));
  EXPECT_EQ(r.transactionId(), kTid);
  const auto mapped = stun::decodeXorAddress(r.find(AttributeType::XorMappedAddress)->value, kTid);
  EXPECT_EQ(mapped.value(), kClient);
  EXPECT_FALSE(r.has(AttributeType::Fingerprint));
  EXPECT_FALSE(r.has(AttributeType::Software));  // off by default
  EXPECT_EQ(server_.counters().success_responses, 1U);
}

TEST_F(StunServerTest, FingerprintAnsweredWithFingerprint) {
  const auto r = response(send(request([](auto& b) { b.addFingerprint(); })));
  EXPECT_TRUE(r.has(AttributeType::Fingerprint));  // parse() already checked its CRC
}

TEST_F(StunServerTest, SoftwareWhenConfigured) {
  StunServer with_software(ServerOptions{"turnpike/test"});
  const auto o = with_software.handleDatagram(request(), kClient, out_);
  const auto r = response(o);
  EXPECT_EQ(
      stun::decodeText(AttributeType::Software, r.find(AttributeType::Software)->value).value(),
      "turnpike/test");
}

TEST_F(StunServerTest, UnknownComprehensionRequiredGets420) {
  const auto r = response(send(request([](auto& b) {
    b.addRaw(0x0024, testing::hex("6e 00 01 ff"));              // PRIORITY: not ours
    b.addRaw(0x8029, testing::hex("00 00 00 00 00 00 00 01"));  // optional: ignored
    b.addRaw(0x7f01, {});
  })));
  EXPECT_EQ(r.messageClass(), MessageClass::ErrorResponse);
  EXPECT_EQ(stun::decodeErrorCode(r.find(AttributeType::ErrorCode)->value)->code, 420);
  const auto unknown = r.find(AttributeType::UnknownAttributes)->value;
  ASSERT_EQ(stun::decodeUnknownAttributes(unknown).value(), 2U);
  EXPECT_EQ(stun::unknownAttributeAt(unknown, 0), 0x0024);
  EXPECT_EQ(stun::unknownAttributeAt(unknown, 1), 0x7f01);
  EXPECT_EQ(server_.counters().error_responses, 1U);
}

TEST_F(StunServerTest, UnimplementedMethodGets400) {
  const auto r = response(send(request({}, MessageClass::Request, Method::Allocate)));
  EXPECT_EQ(r.method(), Method::Allocate);
  EXPECT_EQ(stun::decodeErrorCode(r.find(AttributeType::ErrorCode)->value)->code, 400);
}

TEST_F(StunServerTest, Rfc3489ClientGetsMappedAddressAndItsCookieBack) {
  // Classic STUN: the "cookie" is part of a 128-bit transaction ID.
  const auto req = testing::hex(
      "00 01 00 08 de ad be ef 01 02 03 04 05 06 07 08 09 0a 0b 0c 00 03 00 04 00 00 00 00");
  const auto r = response(send(req));
  EXPECT_EQ(r.magicCookie(), 0xdeadbeef);
  EXPECT_FALSE(r.has(AttributeType::XorMappedAddress));
  EXPECT_EQ(stun::decodeAddress(r.find(AttributeType::MappedAddress)->value).value(), kClient);
}

TEST_F(StunServerTest, ChangeRequestWeCannotHonourGets420) {
  const auto r = response(send(
      request([](auto& b) { b.add(AttributeType::ChangeRequest, testing::hex("00 00 00 06")); })));
  EXPECT_EQ(stun::decodeErrorCode(r.find(AttributeType::ErrorCode)->value)->code, 420);
}

TEST_F(StunServerTest, IndicationsAndResponsesGetNoAnswer) {
  EXPECT_EQ(send(request({}, MessageClass::Indication)).kind, Outcome::Kind::Ignore);
  EXPECT_EQ(send(request({}, MessageClass::SuccessResponse)).kind, Outcome::Kind::Drop);
  EXPECT_EQ(server_.counters().indications, 1U);
  EXPECT_EQ(server_.counters().unexpected, 1U);
}

TEST_F(StunServerTest, MalformedAndChannelDataAreDroppedAndCounted) {
  EXPECT_EQ(send(testing::hex("00 01 00 04 21 12 a4 42")).kind, Outcome::Kind::Drop);
  EXPECT_EQ(send(testing::hex("ff ff ff ff")).kind, Outcome::Kind::Drop);
  EXPECT_EQ(send(testing::hex("40 00 00 02 aa bb")).kind, Outcome::Kind::Drop);
  EXPECT_EQ(send(testing::hex("40 00 00 09 aa bb")).kind, Outcome::Kind::Drop);
  EXPECT_EQ(server_.counters().malformed, 3U);
  EXPECT_EQ(server_.counters().no_allocation, 1U);
  EXPECT_EQ(server_.counters().success_responses, 0U);
}

TEST_F(StunServerTest, TcpFramesAreAnsweredTheSameWay) {
  const auto req = request();
  const auto o = server_.handleFrame({stun::FrameKind::Stun, req}, kClient, Transport::Tcp, out_);
  EXPECT_EQ(response(o).messageClass(), MessageClass::SuccessResponse);
}

}  // namespace
}  // namespace turnpike::turn
