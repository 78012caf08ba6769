// Hot reload and the admin API against the real binary: a REST secret
// rotated while an allocation is open, a broken file and a restart-only
// change refused with nothing changed, SIGHUP; allocations listed, shown and
// kicked (the client's next Refresh gets 437).

#include <gtest/gtest.h>

#include <csignal>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/integration/interop_tools.h"
#include "tests/integration/turn_client.h"
#include "tests/integration/turnpike_server.h"

namespace turnpike::testing {
namespace {

const std::string kToken = "reload-test-token-0123";
const std::string kControl = "control:\n  listen: \"127.0.0.1:0\"\n  admin_token: " + kToken + "\n";
const std::string kBearer = "Authorization: Bearer " + kToken + "\r\n";

std::string withSecrets(const std::string& secrets) {
  return "realm: example.org\n"
         "auth:\n  rest_secrets: " +
         secrets +
         "\n  static_users:\n    alice: alice-pw\n"
         "limits:\n  unauthenticated_per_second: 100000\n"
         "log:\n  level: debug\n";
}

TEST(Reload, RotatesRestSecretsWithoutDroppingAllocations) {
  TurnpikeServer server(withSecrets("[\"old-secret\"]"), kTurnRelay,
                        TurnpikeServer::kLoopbackListen, kControl);
  ASSERT_TRUE(server.ready() && server.controlPort() != 0) << server.process().output();
  LoopbackPeer peer;
  const auto old_credential = restCredentials("user-old", "old-secret");
  TurnClient open(server.udpPort(), old_credential.username, old_credential.password);
  ASSERT_EQ(open.allocate(), 0);
  ASSERT_EQ(open.createPermission(peer.address()), 0);
  open.sendIndication(peer.address(), "before");
  EXPECT_EQ(peer.receive().value_or(""), "before");

  server.rewrite(withSecrets("[\"new-secret\"]"), kTurnRelay, TurnpikeServer::kLoopbackListen,
                 kControl);
  const auto reloaded = httpRequest(server.controlPort(), "POST", "/admin/reload", kBearer);
  ASSERT_EQ(reloaded.status, 200) << reloaded.body;
  const auto body = nlohmann::json::parse(reloaded.body);
  EXPECT_TRUE(body["reloaded"].get<bool>());
  EXPECT_EQ(body["changed"], nlohmann::json::array({"auth.rest_secrets"})) << reloaded.body;
  EXPECT_EQ(metricValue(server.metricsPort(), R"(turnpike_config_reloads_total{result="success"})"),
            1);

  // The open allocation relays on.
  open.sendIndication(peer.address(), "after");
  EXPECT_EQ(peer.receive().value_or(""), "after");
  // A credential signed with the new secret gets in; one with the removed secret does not.
  const auto fresh = restCredentials("user-new", "new-secret");
  TurnClient newcomer(server.udpPort(), fresh.username, fresh.password);
  EXPECT_EQ(newcomer.allocate(), 0);
  const auto stale = restCredentials("user-late", "old-secret");
  TurnClient late(server.udpPort(), stale.username, stale.password);
  EXPECT_EQ(late.allocate(), 401);
  EXPECT_EQ(server.stop(), 0) << server.process().output();  // clean, and no leak under ASan
}

TEST(Reload, RefusesBrokenFilesAndRestartOnlyChanges) {
  TurnpikeServer server(withSecrets("[\"s3cret\"]"), kTurnRelay, TurnpikeServer::kLoopbackListen,
                        kControl);
  ASSERT_TRUE(server.ready() && server.controlPort() != 0) << server.process().output();

  // A broken file: refused, with the key and line; the old config stays.
  server.rewrite(withSecrets("[\"other\"]") + "limits:\n  total_allocations: -5\n", kTurnRelay,
                 TurnpikeServer::kLoopbackListen, kControl);
  auto answer = httpRequest(server.controlPort(), "POST", "/admin/reload", kBearer);
  EXPECT_EQ(answer.status, 422) << answer.body;
  EXPECT_NE(answer.body.find("line"), std::string::npos) << answer.body;
  const auto user = restCredentials("user-1");  // signed with s3cret
  TurnClient client(server.udpPort(), user.username, user.password);
  EXPECT_EQ(client.allocate(), 0);

  // A new listen address needs a restart: refused, named.
  server.rewrite(withSecrets("[\"other\"]"), kTurnRelay,
                 "listen:\n  udp: [\"127.0.0.1:0\"]\n  tcp: [\"127.0.0.1:0\"]\n  tls: []\n",
                 kControl);
  answer = httpRequest(server.controlPort(), "POST", "/admin/reload", kBearer);
  EXPECT_EQ(answer.status, 409) << answer.body;
  EXPECT_NE(answer.body.find("listen.tls"), std::string::npos) << answer.body;
  const auto second = restCredentials("user-2");
  TurnClient still(server.udpPort(), second.username, second.password);
  EXPECT_EQ(still.allocate(), 0);  // s3cret still in force
  EXPECT_EQ(metricValue(server.metricsPort(), R"(turnpike_config_reloads_total{result="failure"})"),
            2);

  // SIGHUP takes a good file.
  server.rewrite(withSecrets("[\"other\"]"), kTurnRelay, TurnpikeServer::kLoopbackListen, kControl);
  ::kill(server.process().pid(), SIGHUP);
  ASSERT_TRUE(server.process().waitForOutput("changed auth.rest_secrets", std::chrono::seconds{5}))
      << server.process().output();
  const auto third = restCredentials("user-3");
  TurnClient refused(server.udpPort(), third.username, third.password);
  EXPECT_EQ(refused.allocate(), 401);
  // Without a token the reload endpoint does nothing.
  EXPECT_EQ(httpRequest(server.controlPort(), "POST", "/admin/reload").status, 401);
  // The admin token rotates: the old one stops working, the new one works.
  const std::string rotated = "rotated-token-0123456789";
  server.rewrite(withSecrets("[\"other\"]"), kTurnRelay, TurnpikeServer::kLoopbackListen,
                 "control:\n  listen: \"127.0.0.1:0\"\n  admin_token: " + rotated + "\n");
  answer = httpRequest(server.controlPort(), "POST", "/admin/reload", kBearer);
  EXPECT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(httpRequest(server.controlPort(), "POST", "/admin/reload", kBearer).status, 401);
  EXPECT_EQ(httpRequest(server.controlPort(), "POST", "/admin/reload",
                        "Authorization: Bearer " + rotated + "\r\n")
                .status,
            200);
  EXPECT_EQ(server.stop(), 0) << server.process().output();
}

TEST(Admin, ListsShowsAndKicksAllocations) {
  TurnpikeServer server(withSecrets("[\"s3cret\"]"), kTurnRelay, TurnpikeServer::kLoopbackListen,
                        kControl);
  ASSERT_TRUE(server.ready() && server.controlPort() != 0) << server.process().output();
  TurnClient alice(server.udpPort(), "alice", "alice-pw");
  ASSERT_EQ(alice.allocate(), 0);
  const auto other = restCredentials("bob");
  TurnClient bob(server.udpPort(), other.username, other.password);
  ASSERT_EQ(bob.allocate(), 0);

  EXPECT_EQ(httpRequest(server.controlPort(), "GET", "/admin/allocations").status, 401);
  EXPECT_EQ(httpRequest(server.controlPort(), "GET", "/admin/allocations",
                        "Authorization: Bearer not-the-token-000000\r\n")
                .status,
            401);
  auto answer = httpRequest(server.controlPort(), "GET", "/admin/allocations", kBearer);
  ASSERT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(nlohmann::json::parse(answer.body)["count"], 2);
  answer = httpRequest(server.controlPort(), "GET", "/admin/allocations?user=alice", kBearer);
  ASSERT_EQ(answer.status, 200) << answer.body;
  const auto listed = nlohmann::json::parse(answer.body);
  ASSERT_EQ(listed["count"], 1) << answer.body;
  const std::string id = listed["allocations"][0]["id"];
  EXPECT_EQ(listed["allocations"][0]["user"], "alice");
  EXPECT_EQ(listed["allocations"][0]["transport"], "udp");
  answer = httpRequest(server.controlPort(), "GET", "/admin/allocations?limit=1", kBearer);
  const auto limited = nlohmann::json::parse(answer.body);
  EXPECT_EQ(limited["count"], 2) << answer.body;
  EXPECT_EQ(limited["allocations"].size(), 1U) << answer.body;
  EXPECT_TRUE(limited["truncated"].get<bool>());
  EXPECT_EQ(httpRequest(server.controlPort(), "GET", "/admin/allocations?limit=0", kBearer).status,
            400);

  answer = httpRequest(server.controlPort(), "GET", "/admin/allocations/" + id, kBearer);
  ASSERT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(nlohmann::json::parse(answer.body)["user"], "alice");
  EXPECT_EQ(httpRequest(server.controlPort(), "GET", "/admin/allocations/zz", kBearer).status, 400);
  EXPECT_EQ(httpRequest(server.controlPort(), "DELETE", "/admin/allocations", kBearer).status, 400);

  // Kick alice: her allocation goes, bob's stays, her next Refresh gets 437.
  answer = httpRequest(server.controlPort(), "DELETE", "/admin/allocations?user=alice", kBearer);
  ASSERT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(nlohmann::json::parse(answer.body)["deleted"], 1);
  EXPECT_EQ(alice.refresh(600), 437);
  EXPECT_EQ(bob.refresh(600), 0);
  EXPECT_EQ(httpRequest(server.controlPort(), "GET", "/admin/allocations/" + id, kBearer).status,
            404);
  EXPECT_TRUE(server.process().waitForOutput(R"("reason":"admin")", std::chrono::seconds{5}));
  // Deleting by id.
  answer = httpRequest(server.controlPort(), "GET", "/admin/allocations?user=bob", kBearer);
  const std::string bob_id = nlohmann::json::parse(answer.body)["allocations"][0]["id"];
  answer = httpRequest(server.controlPort(), "DELETE", "/admin/allocations/" + bob_id, kBearer);
  EXPECT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(bob.refresh(600), 437);
  EXPECT_EQ(server.stop(), 0) << server.process().output();
}

}  // namespace
}  // namespace turnpike::testing
