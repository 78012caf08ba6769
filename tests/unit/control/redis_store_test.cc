// RedisStore against a real redis-server started here: a commit is refused
// whole when another node changed the call first, what is stored comes
// back with its version, the change reaches subscribers in the same step,
// and a Redis that is gone makes commits Unavailable (nothing half-written).

#include "control/store/redis_store.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <set>

#include "control/calls/call_book.h"
#include "control/store/change_message.h"
#include "tests/support/fake_clock.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"

namespace turnpike::control {
namespace {

std::uint16_t freePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    a.sin_port = 0;
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

class Online final : public Presence {
 public:
  [[nodiscard]] bool online(const DeviceKey&) const override { return true; }
  [[nodiscard]] bool foreground(const DeviceKey&) const override { return true; }
  [[nodiscard]] bool pushable(const Device&) const override { return false; }
};

class RedisStoreTest : public ::testing::Test {
 protected:
  RedisStoreTest()
      : port_(freePort()),
        redis_(std::make_unique<testing::Subprocess>(std::vector<std::string>{
            "/usr/bin/redis-server", "--port", std::to_string(port_), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--dir", dir_.path().string()})),
        connection_(
            {"127.0.0.1", port_, "", std::chrono::milliseconds{1000}, std::chrono::milliseconds{0}},
            clock_),
        store_(connection_, "node-a"),
        book_(config_, clock_, devices_, online_,
              [n = 0]() mutable { return "call-" + std::to_string(n++); }) {
    EXPECT_TRUE(redis_->waitForOutput("Ready to accept connections", std::chrono::seconds{10}))
        << redis_->output();
    for (const DeviceKey& key : {DeviceKey{"alice", "a-1"}, DeviceKey{"bob", "b-1"}}) {
      Device d;
      d.key = key;
      devices_.registerDevice(d, clock_.unixMillis());
    }
  }

  /// A call created in the book, as a batch at `version`.
  std::string create(CallChanges& changes) {
    CreateRequest r;
    r.caller = {"alice", "a-1"};
    r.callees = {"bob"};
    const auto out = book_.create(r, changes);
    EXPECT_EQ(out.status, 201);
    return out.call->call_id;
  }
  CallStore::Batch batchOf(const std::string& id, const CallChanges& changes,
                           std::uint64_t version) {
    CallStore::Batch batch;
    batch.calls.push_back(book_.find(id));
    batch.versions.push_back(version);
    for (const auto& [call_id, event] : changes.events) {
      batch.events.emplace_back(call_id, &event);
    }
    return batch;
  }

  testing::TempDir dir_{"redis-store"};
  std::uint16_t port_;
  std::unique_ptr<testing::Subprocess> redis_;
  testing::FakeClock clock_;
  RedisConnection connection_;
  RedisStore store_;
  conf::CallsConfig config_;
  DeviceRegistry devices_;
  Online online_;
  CallBook book_;
};

TEST_F(RedisStoreTest, TheFirstWriterOfAVersionWinsAndTheOtherChangesNothing) {
  CallChanges created;
  const std::string id = create(created);
  std::string error;
  ASSERT_EQ(store_.commit(batchOf(id, created, 0), error), CallStore::CommitResult::Stored)
      << error;
  // Another node read version 0 too and accepts: refused, nothing written.
  CallChanges accepted;
  ASSERT_EQ(book_.accept(id, {"bob", "b-1"}, accepted).status, 200);
  EXPECT_EQ(store_.commit(batchOf(id, accepted, 0), error), CallStore::CommitResult::Conflict);
  auto stored = store_.fetchCall(id, error);
  ASSERT_TRUE(stored) << error;
  EXPECT_EQ(stored->version, 1U);
  EXPECT_EQ(stored->call.state, CallState::Ringing);
  EXPECT_EQ(stored->events.size(), created.events.size());
  // On the version it read, the same change is stored.
  ASSERT_EQ(store_.commit(batchOf(id, accepted, 1), error), CallStore::CommitResult::Stored)
      << error;
  stored = store_.fetchCall(id, error);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->version, 2U);
  EXPECT_EQ(stored->call.state, CallState::Connecting);
  EXPECT_EQ(stored->events.size(), created.events.size() + accepted.events.size());
  CallStore::Snapshot snapshot;
  ASSERT_TRUE(store_.load(snapshot, clock_.unixTime(), error)) << error;
  ASSERT_EQ(snapshot.active_calls.size(), 1U);
  EXPECT_EQ(snapshot.active_calls[0].version, 2U);
  EXPECT_EQ(snapshot.devices.size(), 0U) << "no device was stored";
}

TEST_F(RedisStoreTest, AStoredChangeIsPublishedInTheSameStep) {
  const timeval timeout{5, 0};
  redisContext* sub = redisConnectWithTimeout("127.0.0.1", port_, timeout);
  ASSERT_TRUE(sub != nullptr && sub->err == 0);
  redisSetTimeout(sub, timeout);
  freeReplyObject(redisCommand(sub, "SUBSCRIBE %s", RedisStore::kChannel));
  CallChanges created;
  const std::string id = create(created);
  std::string error;
  ASSERT_EQ(store_.commit(batchOf(id, created, 0), error), CallStore::CommitResult::Stored);
  void* raw = nullptr;
  ASSERT_EQ(redisGetReply(sub, &raw), REDIS_OK);
  auto* reply = static_cast<redisReply*>(raw);
  ASSERT_EQ(reply->elements, 3U);
  const auto m = parseChangeMessage(std::string(reply->element[2]->str, reply->element[2]->len));
  freeReplyObject(reply);
  redisFree(sub);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->node, "node-a");
  ASSERT_EQ(m->calls.size(), 1U);
  EXPECT_EQ(m->calls[0].call.call_id, id);
  EXPECT_EQ(m->calls[0].version, 1U);
}

TEST_F(RedisStoreTest, IdempotentAnswersAndTheFirstSettingAreShared) {
  std::string error;
  CallStore::Batch batch;
  batch.idempotency = IdempotentAnswer{"alice", "key-1", clock_.unixMillis(), 201, "{\"a\":1}"};
  ASSERT_EQ(store_.commit(batch, error), CallStore::CommitResult::Stored) << error;
  const auto answer = store_.idempotent("alice", "key-1", clock_.unixMillis());
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 201);
  EXPECT_EQ(answer->body, "{\"a\":1}");
  EXPECT_FALSE(store_.idempotent("bob", "key-1", clock_.unixMillis()));
  ASSERT_TRUE(store_.putSetting("key", "first"));
  ASSERT_TRUE(store_.putSetting("key", "second"));
  EXPECT_EQ(store_.setting("key"), "first");
}

TEST_F(RedisStoreTest, ARedisThatIsGoneMakesCommitsUnavailable) {
  CallChanges created;
  const std::string id = create(created);
  ASSERT_EQ(redis_->stop(SIGTERM), 0);
  std::string error;
  EXPECT_EQ(store_.commit(batchOf(id, created, 0), error), CallStore::CommitResult::Unavailable);
  EXPECT_FALSE(connection_.up());
  EXPECT_FALSE(store_.fetchCall(id, error));
  EXPECT_FALSE(error.empty());
}

}  // namespace
}  // namespace turnpike::control
