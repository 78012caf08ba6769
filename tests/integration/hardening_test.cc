// What a stranger can send the real binary, item by item from issue 11:
// requests that must not end the process, output a client never reads,
// peers that are the host itself, caps on permissions and connections.

#include <gtest/gtest.h>

#include <poll.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
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

// Inside a network namespace of the test's own: public-looking addresses on
// its lo, one the relay address, one only an interface address, and an
// advertised (external) address on no interface. Run by the test below.
constexpr const char* kOwnRelay = "93.184.216.34";
constexpr const char* kOwnInterface = "93.184.216.40";
constexpr const char* kOwnExternal = "93.184.216.50";
constexpr const char* kNeighbour = "93.184.216.35";  // on no interface

std::string ownAddressRelay(const std::string& allow) {
  return std::string("  addresses:\n    - bind: ") + kOwnRelay +
         "\n      external: " + kOwnExternal + "\n" + allow;
}

TEST(Hardening, DISABLED_OwnAddressesInsideNamespace) {
  if (std::getenv("TURNPIKE_IN_TEST_NETNS") == nullptr) {
    GTEST_SKIP() << "run by Hardening.TheHostsOwnAddressesAreNotPeers";
  }
  // A service bound on 0.0.0.0, reachable through any of the host's addresses.
  const int service = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in any{};
  any.sin_family = AF_INET;
  ASSERT_EQ(::bind(service, reinterpret_cast<sockaddr*>(&any), sizeof any), 0);
  socklen_t len = sizeof any;
  ::getsockname(service, reinterpret_cast<sockaddr*>(&any), &len);
  const std::string port = std::to_string(ntohs(any.sin_port));
  const auto at = [&](const char* ip) { return *stun::TransportAddress::parse(ip + (":" + port)); };
  {
    TurnpikeServer server(kTurnTop, ownAddressRelay(""));
    ASSERT_TRUE(server.ready()) << server.process().output();
    TurnClient alice(server.udpPort(), "alice", "alice-pw");
    ASSERT_EQ(alice.allocate(), 0) << server.process().output();
    EXPECT_EQ(alice.createPermission(at(kOwnRelay)), 403);
    EXPECT_EQ(alice.createPermission(at(kOwnInterface)), 403);
    EXPECT_EQ(alice.createPermission(at(kOwnExternal)), 403);
    EXPECT_EQ(alice.createPermission(at(kNeighbour)), 0);
    EXPECT_EQ(server.stop(), 0) << server.process().output();
  }
  // relay.peers.allow opens one on purpose: then the service is reached.
  TurnpikeServer server(
      kTurnTop, ownAddressRelay(std::string("  peers:\n    allow: [\"") + kOwnRelay + "\"]\n"));
  ASSERT_TRUE(server.ready()) << server.process().output();
  TurnClient alice(server.udpPort(), "alice", "alice-pw");
  ASSERT_EQ(alice.allocate(), 0);
  EXPECT_EQ(alice.createPermission(at(kOwnInterface)), 403);
  ASSERT_EQ(alice.createPermission(at(kOwnRelay)), 0);
  alice.sendIndication(at(kOwnRelay), "through the relay");
  pollfd p{service, POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 5000), 1);
  std::array<char, 64> got{};
  const auto n = ::recv(service, got.data(), got.size(), 0);
  EXPECT_EQ(std::string(got.data(), static_cast<std::size_t>(std::max<ssize_t>(n, 0))),
            "through the relay");
  ::close(service);
  EXPECT_EQ(server.stop(), 0) << server.process().output();
}

// The namespace needs root (CI runs as root); the test says so and skips
// where it cannot make one.
TEST(Hardening, TheHostsOwnAddressesAreNotPeers) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "needs root for a network namespace";
  }
  const std::string ns = "turnpike-own-" + std::to_string(::getpid());
  const auto made = runCommand(
      {"/bin/sh", "-c",
       "ip netns add " + ns + " && ip -n " + ns + " link set lo up && ip -n " + ns + " addr add " +
           kOwnRelay + "/32 dev lo && ip -n " + ns + " addr add " + kOwnInterface + "/32 dev lo"});
  ASSERT_EQ(made.exit_code, 0) << made.output;
  const std::string self = std::filesystem::read_symlink("/proc/self/exe");
  const auto inner = runCommand({"ip", "netns", "exec", ns, "env", "TURNPIKE_IN_TEST_NETNS=1", self,
                                 "--gtest_also_run_disabled_tests",
                                 "--gtest_filter=Hardening.DISABLED_OwnAddressesInsideNamespace"},
                                std::chrono::seconds{60});
  runCommand({"ip", "netns", "delete", ns});
  EXPECT_EQ(inner.exit_code, 0) << made.output << inner.output;
  EXPECT_NE(inner.output.find("[  PASSED  ] 1 test"), std::string::npos) << inner.output;
}

}  // namespace
}  // namespace turnpike::testing
