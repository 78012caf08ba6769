// Health and drain against the real binary: /healthz and /readyz, the admin
// token, and a drain during which an open allocation keeps refreshing and
// relaying while a new Allocate gets 300 with the configured alternate; the
// process exits 0 by itself once the last allocation is gone.

#include <gtest/gtest.h>

#include <string>

#include "relay/stun/address_attribute.h"
#include "relay/stun/error_code_attribute.h"
#include "relay/stun/long_term_key.h"
#include "relay/stun/message_builder.h"
#include "relay/stun/message_view.h"
#include "relay/stun/text_attributes.h"
#include "relay/stun/turn_attributes.h"
#include "tests/integration/interop_tools.h"
#include "tests/integration/loopback_client.h"
#include "tests/integration/turnpike_server.h"

namespace turnpike::testing {
namespace {

using stun::AttributeType;
using stun::Method;

const std::string kToken = "drain-test-token-0123";

/// A minimal TURN client over UDP as static user alice (long-term credentials).
class AliceClient {
 public:
  explicit AliceClient(std::uint16_t port) : socket_(SOCK_DGRAM, port) {}

  /// Sends `method` with `fill`, authenticated once a nonce is known; returns
  /// the response (after one 401 round when needed).
  std::optional<std::vector<std::uint8_t>> request(
      Method method, const std::function<void(stun::MessageBuilder&)>& fill) {
    for (int round = 0; round < 2; ++round) {
      std::array<std::uint8_t, 512> buf{};
      stun::TransactionId tid{};
      tid[0] = static_cast<std::uint8_t>(++counter_);
      stun::MessageBuilder b(buf, {method, stun::MessageClass::Request}, tid);
      if (fill) fill(b);
      if (!nonce_.empty()) {
        b.addText(AttributeType::Username, "alice");
        b.addText(AttributeType::Realm, "example.org");
        b.addText(AttributeType::Nonce, nonce_);
        b.addMessageIntegrity(
            *stun::longTermKey(stun::PasswordAlgorithmId::Md5, "alice", "example.org", "alice-pw"));
      }
      if (!socket_.send(b.bytes())) return std::nullopt;
      auto reply = socket_.receive();
      if (!reply) return std::nullopt;
      const auto view = stun::MessageView::parse(*reply);
      if (!view) return std::nullopt;
      if (errorOf(*reply) != 401) return reply;
      const auto nonce = view.value().find(AttributeType::Nonce);
      nonce_.assign(nonce->value.begin(), nonce->value.end());
    }
    return std::nullopt;
  }

  /// A Send indication to `peer` (no answer comes).
  void sendIndication(const stun::TransportAddress& peer, const std::string& data) {
    std::array<std::uint8_t, 512> buf{};
    stun::MessageBuilder b(buf, {Method::Send, stun::MessageClass::Indication},
                           stun::TransactionId{9});
    b.addXorAddress(AttributeType::XorPeerAddress, peer);
    b.add(AttributeType::Data, {reinterpret_cast<const std::uint8_t*>(data.data()), data.size()});
    socket_.send(b.bytes());
  }

  static std::uint16_t errorOf(const std::vector<std::uint8_t>& bytes) {
    const auto view = stun::MessageView::parse(bytes);
    const auto attr = view ? view.value().find(AttributeType::ErrorCode) : std::nullopt;
    return attr ? stun::decodeErrorCode(attr->value).value().code : 0;
  }

 private:
  LoopbackSocket socket_;
  std::string nonce_;
  int counter_ = 0;
};

std::function<void(stun::MessageBuilder&)> udpRelay() {
  return [](stun::MessageBuilder& b) {
    b.add(AttributeType::RequestedTransport, stun::encodeRequestedTransport(stun::kProtocolUdp));
  };
}

TEST(Operations, HealthAndTheAdminToken) {
  TurnpikeServer server(kTurnTop, kTurnRelay, TurnpikeServer::kLoopbackListen,
                        "control:\n  listen: \"127.0.0.1:0\"\n  admin_token: " + kToken + "\n");
  ASSERT_TRUE(server.ready() && server.controlPort() != 0) << server.process().output();
  const auto health = httpRequest(server.controlPort(), "GET", "/healthz");
  EXPECT_EQ(health.status, 200) << health.body;
  EXPECT_NE(health.body.find(R"("status":"alive")"), std::string::npos) << health.body;
  EXPECT_EQ(httpRequest(server.controlPort(), "GET", "/readyz").status, 200);
  const auto no_token = httpRequest(server.controlPort(), "POST", "/admin/drain");
  EXPECT_EQ(no_token.status, 401);
  EXPECT_NE(no_token.body.find(R"("error")"), std::string::npos) << no_token.body;
  EXPECT_EQ(httpRequest(server.controlPort(), "POST", "/admin/drain",
                        "Authorization: Bearer wrong-token-0123456\r\n")
                .status,
            401);
  EXPECT_EQ(httpRequest(server.controlPort(), "GET", "/nowhere").status, 404);
  EXPECT_EQ(httpRequest(server.controlPort(), "GET", "/readyz").status, 200);  // nothing changed
}

TEST(Operations, AdminEndpointsAreOffWithoutAToken) {
  TurnpikeServer server;
  ASSERT_TRUE(server.ready() && server.controlPort() != 0) << server.process().output();
  EXPECT_EQ(httpRequest(server.controlPort(), "POST", "/admin/drain",
                        "Authorization: Bearer anything-at-all-123\r\n")
                .status,
            404);
}

TEST(Operations, DrainKeepsOpenAllocationsTurnsNewOnesAwayAndExits) {
  TurnpikeServer server(kTurnTop + "drain:\n  alternate_servers: [\"192.0.2.9:3478\"]\n",
                        kTurnRelay, TurnpikeServer::kLoopbackListen,
                        "control:\n  listen: \"127.0.0.1:0\"\n  admin_token: " + kToken + "\n");
  ASSERT_TRUE(server.ready() && server.controlPort() != 0) << server.process().output();
  AliceClient open(server.udpPort());
  const auto allocated = open.request(Method::Allocate, udpRelay());
  ASSERT_TRUE(allocated && AliceClient::errorOf(*allocated) == 0);

  const auto drain = httpRequest(server.controlPort(), "POST", "/admin/drain",
                                 "Authorization: Bearer " + kToken + "\r\n");
  EXPECT_EQ(drain.status, 202) << drain.body;
  const auto ready = httpRequest(server.controlPort(), "GET", "/readyz");
  EXPECT_EQ(ready.status, 503);
  EXPECT_NE(ready.body.find(R"("draining":true)"), std::string::npos) << ready.body;

  // The open allocation refreshes and relays.
  const auto refreshed =
      open.request(Method::Refresh, [](auto& b) { b.addU32(AttributeType::Lifetime, 600); });
  ASSERT_TRUE(refreshed);
  EXPECT_EQ(AliceClient::errorOf(*refreshed), 0);
  const int peer = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(peer, reinterpret_cast<sockaddr*>(&sin), sizeof sin), 0);
  socklen_t len = sizeof sin;
  ::getsockname(peer, reinterpret_cast<sockaddr*>(&sin), &len);
  const auto peer_address =
      *stun::TransportAddress::parse("127.0.0.1:" + std::to_string(ntohs(sin.sin_port)));
  const auto permitted = open.request(Method::CreatePermission, [&](auto& b) {
    b.addXorAddress(AttributeType::XorPeerAddress, peer_address);
  });
  ASSERT_TRUE(permitted);
  EXPECT_EQ(AliceClient::errorOf(*permitted), 0);
  open.sendIndication(peer_address, "still relaying");
  pollfd p{peer, POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 5000), 1);
  std::array<char, 64> got{};
  const ssize_t n = ::recv(peer, got.data(), got.size(), 0);
  EXPECT_EQ(std::string(got.data(), n > 0 ? static_cast<std::size_t>(n) : 0), "still relaying");
  ::close(peer);

  // A new allocation is sent to the alternate.
  AliceClient late(server.udpPort());
  const auto turned_away = late.request(Method::Allocate, udpRelay());
  ASSERT_TRUE(turned_away);
  EXPECT_EQ(AliceClient::errorOf(*turned_away), 300);
  const auto view = stun::MessageView::parse(*turned_away);
  const auto alternate = view.value().find(AttributeType::AlternateServer);
  ASSERT_TRUE(alternate.has_value());
  EXPECT_EQ(stun::decodeAddress(alternate->value).value().toString(), "192.0.2.9:3478");

  // The last allocation goes: the process leaves on its own, cleanly.
  const auto deleted =
      open.request(Method::Refresh, [](auto& b) { b.addU32(AttributeType::Lifetime, 0); });
  ASSERT_TRUE(deleted);
  EXPECT_EQ(AliceClient::errorOf(*deleted), 0);
  EXPECT_EQ(server.process().stop(0, std::chrono::seconds{15}), 0) << server.process().output();
  EXPECT_NE(server.process().output().find("drained: no allocation left"), std::string::npos);
}

}  // namespace
}  // namespace turnpike::testing
