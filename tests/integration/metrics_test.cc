// Prometheus metrics from the real binary while aioice relays through it:
// the byte counters move while the allocation is open, and end at exactly
// what the client sent and got back.

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <thread>

#include "tests/integration/interop_tools.h"
#include "tests/integration/loopback_client.h"
#include "tests/integration/turnpike_server.h"
#include "tests/support/subprocess.h"

namespace turnpike::testing {
namespace {

// The text exposition, or "" on failure.
std::string scrape(std::uint16_t port) { return "\n" + httpRequest(port, "GET", "/metrics").body; }

// The value of one sample, e.g.
// `turnpike_relay_bytes_total{direction="client_to_peer",transport="udp"}`.
double sample(const std::string& text, const std::string& series) {
  const auto at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

const std::string kToPeer =
    R"(turnpike_relay_bytes_total{direction="client_to_peer",transport="udp"})";
const std::string kFromPeer =
    R"(turnpike_relay_bytes_total{direction="peer_to_client",transport="udp"})";

TEST(Metrics, RelayBytesMoveLiveAndEndExact) {
  TurnpikeServer server(kTurnTop, kTurnRelay);
  ASSERT_TRUE(server.ready()) << server.process().output();
  ASSERT_NE(server.metricsPort(), 0) << server.process().output();
  const std::string before = scrape(server.metricsPort());
  EXPECT_EQ(sample(before, kToPeer), 0) << before;
  EXPECT_NE(before.find(R"(turnpike_build_info{version=")"), std::string::npos);

  // 40 echoes, 100 ms apart: "aioice message 0".."aioice message 39" is
  // 40 * 15 + 10 * 1 + 30 * 2 = 670 payload bytes each way.
  const RestCredentials user = restCredentials("user-42");
  Subprocess client({"/usr/bin/python3",
                     std::string(TURNPIKE_SOURCE_DIR) + "/tests/interop/aioice_client.py",
                     "127.0.0.1", std::to_string(server.udpPort()), user.username, user.password,
                     "40", "udp", "", "0.1"});
  ASSERT_TRUE(client.waitForOutput("relayed", std::chrono::seconds{15})) << client.output();
  // While the allocation is open, the counter grows (workers publish each second).
  double live = 0;
  double active = 0;
  for (int i = 0; i < 40 && client.running() && (live <= 0 || active != 1); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
    const std::string text = scrape(server.metricsPort());
    live = sample(text, kToPeer);
    active = sample(text, R"(turnpike_allocations_active{transport="udp"})");
  }
  EXPECT_TRUE(client.running()) << "the client finished before the counters moved";
  EXPECT_GT(live, 0);
  EXPECT_LT(live, 670);
  EXPECT_EQ(active, 1);
  EXPECT_EQ(client.stop(0, std::chrono::seconds{20}), 0) << client.output();
  double to_peer = 0;
  double from_peer = 0;
  for (int i = 0; i < 50 && (to_peer != 670 || from_peer != 670); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
    const std::string text = scrape(server.metricsPort());
    to_peer = sample(text, kToPeer);
    from_peer = sample(text, kFromPeer);
  }
  EXPECT_EQ(to_peer, 670);
  EXPECT_EQ(from_peer, 670);
  const std::string after = scrape(server.metricsPort());
  EXPECT_EQ(sample(after, R"(turnpike_allocations_total{result="success"})"), 1) << after;
  EXPECT_GE(sample(after, R"(turnpike_stun_requests_total{method="allocate",transport="udp"})"),
            2);  // the 401 round and the real one
  EXPECT_EQ(sample(after, R"(turnpike_turn_errors_total{method="allocate",code="401"})"), 1);
}

// The Grafana dashboard in packaging/ only queries series the server exports.
TEST(Metrics, DashboardQueriesOnlyExportedSeries) {
  // With store.redis set the usage-record series exist too (no record is
  // made here, so nothing ever connects to the address); with the call API
  // on, the call and push series.
  const std::string db =
      ::testing::TempDir() + "metrics-dashboard-" + std::to_string(::getpid()) + ".db";
  TurnpikeServer server("store:\n  redis:\n    address: \"127.0.0.1:1\"\n  sqlite:\n    path: \"" +
                        db + "\"\napi:\n  listen: [\"127.0.0.1:0\"]\n  tls: false\n");
  ASSERT_TRUE(server.ready() && server.metricsPort() != 0) << server.process().output();
  const std::string exported = scrape(server.metricsPort());
  std::ifstream file(std::string(TURNPIKE_SOURCE_DIR) +
                     "/packaging/grafana/turnpike-dashboard.json");
  const auto dashboard = nlohmann::json::parse(file);
  std::size_t queries = 0;
  for (const auto& panel : dashboard.at("panels")) {
    for (const auto& target : panel.at("targets")) {
      const std::string expr = target.at("expr");
      ++queries;
      const std::regex name("(turnpike|process)_[a-z_]+");
      for (auto it = std::sregex_iterator(expr.begin(), expr.end(), name);
           it != std::sregex_iterator(); ++it) {
        // A family is exported when declared, even before its first sample.
        const std::string series = it->str();
        const std::string family = std::regex_replace(series, std::regex("_bucket$"), "");
        EXPECT_NE(exported.find("# TYPE " + family + " "), std::string::npos)
            << series << " in " << panel.at("title");
      }
    }
  }
  EXPECT_GE(queries, 10U);
  EXPECT_EQ(server.stop(), 0);
  std::remove(db.c_str());
}

TEST(Metrics, BasicAuthGuardsTheEndpoint) {
  TurnpikeServer server("", "", TurnpikeServer::kLoopbackListen, TurnpikeServer::kLoopbackControl,
                        TurnpikeServer::kLoopbackMetrics +
                            "  basic_auth:\n    username: prom\n    password: scrape-pw\n");
  ASSERT_TRUE(server.ready() && server.metricsPort() != 0) << server.process().output();
  EXPECT_EQ(httpRequest(server.metricsPort(), "GET", "/metrics").status, 401);
  // base64("prom:wrong") and base64("prom:scrape-pw")
  EXPECT_EQ(httpRequest(server.metricsPort(), "GET", "/metrics",
                        "Authorization: Basic cHJvbTp3cm9uZw==\r\n")
                .status,
            401);
  const auto scrape = httpRequest(server.metricsPort(), "GET", "/metrics",
                                  "Authorization: Basic cHJvbTpzY3JhcGUtcHc=\r\n");
  EXPECT_EQ(scrape.status, 200);
  EXPECT_NE(scrape.body.find("turnpike_draining 0"), std::string::npos) << scrape.body;
}

}  // namespace
}  // namespace turnpike::testing
