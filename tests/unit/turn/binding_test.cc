// Binding and message classification through the TURN server: no
// authentication for Binding, 420, RFC 3489 clients, indications, garbage.

#include "relay/stun/unknown_attributes.h"
#include "tests/support/hex.h"
#include "tests/unit/turn/turn_fixture.h"

namespace turnpike::testing {
namespace {

using stun::AttributeType;
using stun::MessageClass;
using stun::Method;

class Binding : public TurnFixture {};

TEST_F(Binding, GetsXorMappedAddressWithoutAuthentication) {
  const auto r = send(request(Method::Binding, {}));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->type(), (stun::MessageType{Method::Binding, MessageClass::SuccessResponse}));
  const auto mapped =
      stun::decodeXorAddress(r->find(AttributeType::XorMappedAddress)->value, last_tid);
  EXPECT_EQ(mapped->toString(), "192.0.2.10:40000");
  EXPECT_FALSE(r->has(AttributeType::Fingerprint));
  EXPECT_FALSE(r->has(AttributeType::Software));
  EXPECT_FALSE(r->has(AttributeType::MessageIntegrity));
}

TEST_F(Binding, FingerprintAnsweredWithFingerprintAndSoftwareWhenConfigured) {
  turn::TurnSettings s;
  s.software = "turnpike/test";
  rebuild(s);
  const auto r = send(request(Method::Binding, [](auto& b) { b.addFingerprint(); }));
  EXPECT_TRUE(r->has(AttributeType::Fingerprint));
  EXPECT_EQ(
      stun::decodeText(AttributeType::Software, r->find(AttributeType::Software)->value).value(),
      "turnpike/test");
}

TEST_F(Binding, UnknownComprehensionRequiredGets420) {
  const auto r = send(request(Method::Binding, [](auto& b) {
    b.addRaw(0x0024, hex("6e 00 01 ff"));              // PRIORITY: not ours
    b.addRaw(0x8029, hex("00 00 00 00 00 00 00 01"));  // optional: ignored
    b.addRaw(0x7f01, {});
  }));
  EXPECT_EQ(errorCode(r), 420);
  const auto unknown = r->find(AttributeType::UnknownAttributes)->value;
  ASSERT_EQ(stun::decodeUnknownAttributes(unknown).value(), 2U);
  EXPECT_EQ(stun::unknownAttributeAt(unknown, 0), 0x0024);
  EXPECT_EQ(stun::unknownAttributeAt(unknown, 1), 0x7f01);
}

TEST_F(Binding, UnknownMethodGets400) {
  const auto r = send(request(static_cast<Method>(0x0ff), {}));
  EXPECT_EQ(errorCode(r), 400);
}

TEST_F(Binding, Rfc3489ClientGetsMappedAddressAndItsCookieBack) {
  const auto req =
      hex("00 01 00 08 de ad be ef 01 02 03 04 05 06 07 08 09 0a 0b 0c 00 03 00 04 00 00 00 00");
  const auto o = server->handleDatagram(req, tupleFor("192.0.2.10:40000"), out);
  ASSERT_EQ(o.kind, turn::Outcome::Kind::Reply);
  const auto r =
      stun::MessageView::parse(std::span(out).first(o.size), {.accept_rfc3489 = true}).value();
  EXPECT_EQ(r.magicCookie(), 0xdeadbeef);
  EXPECT_EQ(stun::decodeAddress(r.find(AttributeType::MappedAddress)->value)->toString(),
            "192.0.2.10:40000");
  // And a classic client cannot ask for anything but Binding.
  auto allocate = req;
  allocate[1] = 0x03;
  EXPECT_EQ(server->handleDatagram(allocate, tupleFor("192.0.2.10:40000"), out).kind,
            turn::Outcome::Kind::Drop);
}

TEST_F(Binding, ChangeRequestWeCannotHonourGets420) {
  const auto r = send(request(
      Method::Binding, [](auto& b) { b.add(AttributeType::ChangeRequest, hex("00 00 00 06")); }));
  EXPECT_EQ(errorCode(r), 420);
}

TEST_F(Binding, IndicationsAndResponsesGetNoAnswer) {
  std::array<std::uint8_t, 64> buf{};
  stun::MessageBuilder ind(buf, {Method::Binding, MessageClass::Indication}, nextTid());
  const std::vector<std::uint8_t> indication(ind.bytes().begin(), ind.bytes().end());
  EXPECT_EQ(server->handleDatagram(indication, tupleFor("192.0.2.10:1"), out).kind,
            turn::Outcome::Kind::Ignore);
  stun::MessageBuilder resp(buf, {Method::Binding, MessageClass::SuccessResponse}, nextTid());
  const std::vector<std::uint8_t> response(resp.bytes().begin(), resp.bytes().end());
  EXPECT_EQ(server->handleDatagram(response, tupleFor("192.0.2.10:1"), out).kind,
            turn::Outcome::Kind::Drop);
  EXPECT_EQ(server->counters().unexpected, 1U);
}

TEST_F(Binding, MalformedAndStrayChannelDataAreDroppedAndCounted) {
  const auto t = tupleFor("192.0.2.10:1");
  EXPECT_EQ(server->handleDatagram(hex("00 01 00 04 21 12 a4 42"), t, out).kind,
            turn::Outcome::Kind::Drop);
  EXPECT_EQ(server->handleDatagram(hex("ff ff ff ff"), t, out).kind, turn::Outcome::Kind::Drop);
  EXPECT_EQ(server->handleDatagram(hex("40 00 00 09 aa bb"), t, out).kind,
            turn::Outcome::Kind::Drop);
  EXPECT_EQ(server->handleDatagram(hex("40 00 00 02 aa bb"), t, out).kind,
            turn::Outcome::Kind::Drop);
  EXPECT_EQ(server->counters().malformed, 3U);
  EXPECT_EQ(server->counters().no_allocation, 1U);
}

TEST_F(Binding, StreamFramesAreAnsweredTheSameWay) {
  const auto req = request(Method::Binding, {});
  auto t = tupleFor("192.0.2.10:5000");
  t.transport = turn::Transport::Tcp;
  const auto o = server->handleFrame({stun::FrameKind::Stun, req}, t, out);
  EXPECT_EQ(o.kind, turn::Outcome::Kind::Reply);
}

}  // namespace
}  // namespace turnpike::testing
