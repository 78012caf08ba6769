// Usage records against a real redis-server started here: interim records
// every second and a final one reach the stream; Redis is stopped and
// started again mid-run and no record is lost (every record the log shows
// is in the stream, in order), and the final record holds the exact bytes.

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <csignal>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>

#include "relay/app/redis_usage_stream.h"
#include "tests/integration/interop_tools.h"
#include "tests/integration/turn_client.h"
#include "tests/integration/turnpike_server.h"

namespace turnpike::testing {
namespace {

/// redis-server on 127.0.0.1:port with an append-only file in `dir`, so what
/// it stored survives its own restart.
std::unique_ptr<Subprocess> startRedis(std::uint16_t port, const std::string& dir) {
  auto redis = std::make_unique<Subprocess>(std::vector<std::string>{
      "/usr/bin/redis-server", "--port", std::to_string(port), "--bind", "127.0.0.1", "--save", "",
      "--appendonly", "yes", "--appendfsync", "always", "--dir", dir, "--daemonize", "no"});
  EXPECT_TRUE(redis->waitForOutput("Ready to accept connections", std::chrono::seconds{10}))
      << redis->output();
  return redis;
}

using Entry = std::map<std::string, std::string>;

/// XRANGE stream - + (empty when Redis cannot be reached).
std::vector<Entry> readStream(std::uint16_t port, const std::string& stream) {
  std::vector<Entry> entries;
  const timeval timeout{2, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, timeout);
  if (c == nullptr || c->err != 0) {
    if (c != nullptr) redisFree(c);
    return entries;
  }
  auto* reply = static_cast<redisReply*>(redisCommand(c, "XRANGE %s - +", stream.c_str()));
  if (reply != nullptr && reply->type == REDIS_REPLY_ARRAY) {
    for (std::size_t i = 0; i < reply->elements; ++i) {
      const redisReply* fields = reply->element[i]->element[1];
      Entry e;
      for (std::size_t f = 0; f + 1 < fields->elements; f += 2) {
        e[fields->element[f]->str] = fields->element[f + 1]->str;
      }
      entries.push_back(std::move(e));
    }
  }
  if (reply != nullptr) freeReplyObject(reply);
  redisFree(c);
  return entries;
}

// The usage records the log shows, in order (JSON lines with an event).
std::vector<nlohmann::json> loggedRecords(const std::string& log) {
  std::vector<nlohmann::json> records;
  std::istringstream lines(log);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("{", 0) != 0) continue;
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && (j.value("event", "") == "allocation.usage" ||
                              j.value("event", "") == "allocation.deleted")) {
      records.push_back(j);
    }
  }
  return records;
}

TEST(UsageRecords, ReachRedisAndSurviveARedisRestart) {
  const std::string dir = ::testing::TempDir() + "redis-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::uint16_t redis_port = freeLoopbackPort(SOCK_STREAM);
  auto redis = startRedis(redis_port, dir);
  TurnpikeServer server(
      kTurnTop + "node:\n  name: edge-7\n  region: test-1\n" + "usage:\n  interval: 1s\n" +
          "store:\n  redis:\n    address: \"127.0.0.1:" + std::to_string(redis_port) +
          "\"\n    stream: usage\n",
      kTurnRelay);
  ASSERT_TRUE(server.ready()) << server.process().output();
  TurnClient alice(server.udpPort(), "alice", "alice-pw");
  LoopbackPeer peer;
  ASSERT_EQ(alice.allocate(), 0);
  ASSERT_EQ(alice.createPermission(peer.address()), 0);
  const std::string ten = "0123456789";
  for (int i = 0; i < 5; ++i) {
    alice.sendIndication(peer.address(), ten);
    ASSERT_EQ(peer.receive().value_or(""), ten);
  }
  ASSERT_TRUE(eventually([&] { return !readStream(redis_port, "usage").empty(); },
                         std::chrono::seconds{10}))
      << server.process().output();

  // Redis goes away for a while: records wait.
  ASSERT_EQ(redis->stop(SIGTERM), 0) << redis->output();
  for (int i = 0; i < 3; ++i) {
    alice.sendIndication(peer.address(), ten);
    ASSERT_EQ(peer.receive().value_or(""), ten);
  }
  ASSERT_TRUE(eventually(
      [&] { return metricValue(server.metricsPort(), "turnpike_usage_records_queued") >= 2; },
      std::chrono::seconds{10}))
      << server.process().output();
  EXPECT_EQ(metricValue(server.metricsPort(), "turnpike_redis_up"), 0);

  redis = startRedis(redis_port, dir);
  ASSERT_EQ(alice.refresh(0), 0);  // the allocation ends: its final record
  std::vector<Entry> stored;
  ASSERT_TRUE(eventually(
      [&] {
        stored = readStream(redis_port, "usage");
        return !stored.empty() && stored.back()["event"] == "allocation.deleted";
      },
      std::chrono::seconds{15}))
      << server.process().output();

  // Every record the log shows is in the stream, in the same order.
  const auto logged = loggedRecords(server.process().output());
  ASSERT_EQ(stored.size(), logged.size()) << server.process().output();
  ASSERT_GE(stored.size(), 4U);  // interim ones before, during and after the outage, and the last
  for (std::size_t i = 0; i < stored.size(); ++i) {
    EXPECT_EQ(stored[i]["event"], logged[i]["event"]);
    EXPECT_EQ(stored[i]["end"], logged[i]["end"]);
    EXPECT_EQ(stored[i]["bytes_client_to_peer"],
              std::to_string(logged[i]["bytes_client_to_peer"].get<std::uint64_t>()));
  }
  const Entry& last = stored.back();
  EXPECT_EQ(last.at("user"), "alice");
  EXPECT_EQ(last.at("realm"), "example.org");
  EXPECT_EQ(last.at("node"), "edge-7");
  EXPECT_EQ(last.at("region"), "test-1");
  EXPECT_EQ(last.at("transport"), "udp");
  EXPECT_EQ(last.at("reason"), "refresh");
  EXPECT_EQ(last.at("bytes_client_to_peer"), "80");
  EXPECT_EQ(last.at("packets_client_to_peer"), "8");
  EXPECT_EQ(last.at("bytes_peer_to_client"), "0");
  EXPECT_EQ(last.at("allocation"), stored.front().at("allocation"));
  EXPECT_EQ(metricValue(server.metricsPort(), R"(turnpike_usage_records_total{result="dropped"})"),
            0);
  EXPECT_EQ(server.stop(), 0);
  redis->stop(SIGTERM);
  std::filesystem::remove_all(dir);
}

// A usage stream's settings towards 127.0.0.1:`port`, with a short timeout.
conf::RedisConfig loopbackRedis(std::uint16_t port, const std::string& stream) {
  conf::RedisConfig config;
  config.address = conf::Endpoint{"127.0.0.1", port, false};
  config.stream = stream;
  config.timeout = std::chrono::milliseconds{200};
  return config;
}

TEST(UsageRecords, TheBufferIsBoundedAndDropsAreCounted) {
  const std::string dir = ::testing::TempDir() + "redis-bound-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::uint16_t port = freeLoopbackPort(SOCK_STREAM);
  const conf::RedisConfig config = loopbackRedis(port, "bounded");
  {
    app::ProcessTally tally;
    app::RedisUsageStream stream(config, 3, tally);
    for (int i = 1; i <= 5; ++i) {  // nothing listens yet: they wait, the oldest go
      stream.push({{"n", std::to_string(i)}});
    }
    EXPECT_EQ(stream.dropped(), 2U);
    EXPECT_EQ(stream.queued(), 3U);
    EXPECT_FALSE(stream.connected());
    auto redis = startRedis(port, dir);
    ASSERT_TRUE(eventually([&] { return stream.written() == 3; }, std::chrono::seconds{10}));
    const auto stored = readStream(port, "bounded");
    ASSERT_EQ(stored.size(), 3U);
    EXPECT_EQ(stored[0].at("n"), "3");
    EXPECT_EQ(stored[2].at("n"), "5");
    EXPECT_EQ(stream.queued(), 0U);
    redis->stop(SIGTERM);
  }
  std::filesystem::remove_all(dir);
}

// A "Redis" that accepts connections (the kernel completes them from the
// listen backlog) and never answers: stopping must not wait on it forever.
TEST(UsageRecords, StoppingDoesNotWaitForARedisThatNeverAnswers) {
  const int silent = ::socket(AF_INET, SOCK_STREAM, 0);
  const std::uint16_t port = bindLoopback(silent);
  ASSERT_EQ(::listen(silent, 16), 0);
  const conf::RedisConfig config = loopbackRedis(port, "never");
  app::ProcessTally tally;
  {
    app::RedisUsageStream stream(config, 10, tally);
    for (int i = 1; i <= 3; ++i) {
      stream.push({{"n", std::to_string(i)}});
    }
    // Let it connect and send at least one XADD that gets no answer.
    ASSERT_TRUE(eventually([&] { return stream.connected(); }, std::chrono::seconds{10}));
    EXPECT_EQ(stream.written(), 0U);
  }  // the destructor returns: before the fix it retried forever
  EXPECT_EQ(tally.redis_errors.load(), 0U);
  ::close(silent);
}

}  // namespace
}  // namespace turnpike::testing
