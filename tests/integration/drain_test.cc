// Health and drain against the real binary: /healthz and /readyz, the admin
// token, and a drain during which an open allocation keeps refreshing and
// relaying while a new Allocate gets 300 with the configured alternate; the
// process exits 0 by itself once the last allocation is gone. SIGTERM
// drains the same way (systemd, Kubernetes and podman stop with it), /livez
// stays 200 while /readyz turns 503, and a second SIGTERM stops at once.

#include <gtest/gtest.h>

#include <csignal>
#include <string>

#include "tests/integration/interop_tools.h"
#include "tests/integration/turn_client.h"
#include "tests/integration/turnpike_server.h"
#include "tests/support/subprocess.h"

namespace turnpike::testing {
namespace {

using stun::AttributeType;
using stun::Method;

const std::string kToken = "drain-test-token-0123";

/// Static user alice of kTurnTop.
class AliceClient : public TurnClient {
 public:
  explicit AliceClient(std::uint16_t port) : TurnClient(port, "alice", "alice-pw") {}
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
  LoopbackPeer peer;
  const auto& peer_address = peer.address();
  const auto permitted = open.request(Method::CreatePermission, [&](auto& b) {
    b.addXorAddress(AttributeType::XorPeerAddress, peer_address);
  });
  ASSERT_TRUE(permitted);
  EXPECT_EQ(AliceClient::errorOf(*permitted), 0);
  open.sendIndication(peer_address, "still relaying");
  EXPECT_EQ(peer.receive().value_or(""), "still relaying");

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

// `turnpike --probe URL`, the container HEALTHCHECK: 0 on 2xx only.
TEST(Operations, ProbeExitsZeroOnlyOnASuccessfulAnswer) {
  TurnpikeServer server(kTurnTop, kTurnRelay);
  ASSERT_TRUE(server.ready() && server.controlPort() != 0) << server.process().output();
  const std::string base = "http://127.0.0.1:" + std::to_string(server.controlPort());
  EXPECT_EQ(runCommand({TURNPIKE_BINARY, "--probe", base + "/livez"}).exit_code, 0);
  const auto missing = runCommand({TURNPIKE_BINARY, "--probe", base + "/nowhere"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.output.find("HTTP 404"), std::string::npos) << missing.output;
  const auto https = runCommand({TURNPIKE_BINARY, "--probe", "https://127.0.0.1/livez"});
  EXPECT_EQ(https.exit_code, 1);
  EXPECT_EQ(server.stop(), 0);
  // Nothing listens there any more.
  const auto refused = runCommand({TURNPIKE_BINARY, "--probe", base + "/livez"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.output.find("no answer"), std::string::npos) << refused.output;
}

TEST(Operations, SigtermDrainsAndASecondSigtermStops) {
  TurnpikeServer server(kTurnTop, kTurnRelay);
  ASSERT_TRUE(server.ready() && server.controlPort() != 0) << server.process().output();
  EXPECT_EQ(httpRequest(server.controlPort(), "GET", "/livez").status, 200);
  AliceClient open(server.udpPort());
  const auto allocated = open.request(Method::Allocate, udpRelay());
  ASSERT_TRUE(allocated && AliceClient::errorOf(*allocated) == 0);

  ::kill(server.process().pid(), SIGTERM);
  ASSERT_TRUE(server.process().waitForOutput("draining:", std::chrono::seconds{5}))
      << server.process().output();
  EXPECT_EQ(httpRequest(server.controlPort(), "GET", "/readyz").status, 503);
  EXPECT_EQ(httpRequest(server.controlPort(), "GET", "/livez").status, 200);
  // Still serving the open allocation.
  const auto refreshed =
      open.request(Method::Refresh, [](auto& b) { b.addU32(AttributeType::Lifetime, 600); });
  ASSERT_TRUE(refreshed);
  EXPECT_EQ(AliceClient::errorOf(*refreshed), 0);

  // Impatient: the second SIGTERM leaves with the allocation still open.
  EXPECT_EQ(server.process().stop(SIGTERM, std::chrono::seconds{15}), 0)
      << server.process().output();
  EXPECT_NE(server.process().output().find("signal 15 received, stopping"), std::string::npos)
      << server.process().output();
}

}  // namespace
}  // namespace turnpike::testing
