// What a stranger can send the real binary, item by item from issue 11:
// requests that must not end the process, output a client never reads,
// peers that are the host itself, caps on permissions and connections.

#include <gtest/gtest.h>

#include <csignal>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/integration/interop_tools.h"
#include "tests/integration/turn_client.h"
#include "tests/integration/turnpike_server.h"

namespace turnpike::testing {
namespace {

const std::string kToken = "hardening-test-token-01";
const std::string kControl = "control:\n  listen: \"127.0.0.1:0\"\n  admin_token: " + kToken + "\n";
const std::string kBearer = "Authorization: Bearer " + kToken + "\r\n";

bool alive(const TurnpikeServer& server) {
  return httpRequest(server.controlPort(), "GET", "/healthz").status == 200;
}

// Every answer is JSON that parses, whatever bytes the request carried.
void expectJsonAnswer(const HttpReply& reply, int status) {
  EXPECT_EQ(reply.status, status) << reply.body;
  EXPECT_TRUE(nlohmann::json::accept(reply.body)) << reply.body;
}

TEST(Hardening, InvalidUtf8InRequestsIsAnsweredNotFatal) {
  TurnpikeServer server(kTurnTop, kTurnRelay, TurnpikeServer::kLoopbackListen, kControl);
  ASSERT_TRUE(server.ready() && server.controlPort() != 0) << server.process().output();
  // An allocation whose user id is not UTF-8, listed by the admin API.
  const auto credential = restCredentials("caf\xe9\xff");
  TurnClient odd(server.udpPort(), credential.username, credential.password);
  ASSERT_EQ(odd.allocate(), 0);

  expectJsonAnswer(httpRequest(server.controlPort(), "GET", "/\xff"), 404);
  expectJsonAnswer(httpRequest(server.controlPort(), "GET", "/admin/\xc3\x28", kBearer), 404);
  expectJsonAnswer(httpRequest(server.controlPort(), "GET", "/admin/allocations/\xff\xfe", kBearer),
                   400);
  const auto listed = httpRequest(server.controlPort(), "GET", "/admin/allocations", kBearer);
  expectJsonAnswer(listed, 200);
  const auto body = nlohmann::json::parse(listed.body);
  ASSERT_EQ(body["count"], 1) << listed.body;
  EXPECT_EQ(body["allocations"][0]["user"], "caf\xef\xbf\xbd\xef\xbf\xbd");  // U+FFFD each
  ASSERT_TRUE(alive(server)) << server.process().output();
  EXPECT_GE(metricValue(server.metricsPort(), R"(turnpike_control_responses_total{code="404"})"),
            2);                    // counted as they are answered
  EXPECT_EQ(odd.refresh(600), 0);  // the relay never noticed
  EXPECT_EQ(server.stop(), 0) << server.process().output();
}

TEST(Hardening, OversizedHeadersAreRefused) {
  TurnpikeServer server(kTurnTop, kTurnRelay, TurnpikeServer::kLoopbackListen, kControl);
  ASSERT_TRUE(server.ready() && server.controlPort() != 0) << server.process().output();
  const std::string big = "X-Filler: " + std::string(64 * 1024, 'a') + "\r\n";
  const auto one_big = httpRequest(server.controlPort(), "GET", "/healthz", big);
  EXPECT_GE(one_big.status, 400);  // libevent answers before any handler
  EXPECT_LT(one_big.status, 500);
  std::string many;
  for (int i = 0; i < 5000; ++i) {
    many += "X-" + std::to_string(i) + ": 1\r\n";
  }
  const auto many_small = httpRequest(server.controlPort(), "GET", "/healthz", many);
  EXPECT_GE(many_small.status, 400);
  EXPECT_LT(many_small.status, 500);
  EXPECT_TRUE(alive(server)) << server.process().output();
  EXPECT_EQ(server.stop(), 0) << server.process().output();
}

// limits.permissions_per_allocation (default 100): the 101st peer gets 508,
// and the cap shows in turnpike_turn_errors_total.
TEST(Hardening, PermissionsPerAllocationAreCappedByDefault) {
  TurnpikeServer server(kTurnTop, kTurnRelay, TurnpikeServer::kLoopbackListen, kControl);
  ASSERT_TRUE(server.ready()) << server.process().output();
  TurnClient alice(server.udpPort(), "alice", "alice-pw");
  ASSERT_EQ(alice.allocate(), 0);
  const auto peer = [](int i) {
    return *stun::TransportAddress::parse("8.8." + std::to_string(i / 250) + "." +
                                          std::to_string(i % 250 + 1) + ":3478");
  };
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(alice.createPermission(peer(i)), 0) << i;
  }
  EXPECT_EQ(alice.createPermission(peer(100)), 508);
  EXPECT_EQ(alice.createPermission(peer(7)), 0);  // a refresh
  EXPECT_TRUE(eventually(
      [&] {
        return metricValue(
                   server.metricsPort(),
                   R"(turnpike_turn_errors_total{method="create_permission",code="508"})") == 1;
      },
      std::chrono::seconds{5}));
  EXPECT_EQ(server.stop(), 0) << server.process().output();
}

}  // namespace
}  // namespace turnpike::testing
