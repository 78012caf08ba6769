#include "control/store/sqlite_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>

namespace turnpike::control {
namespace {

using std::chrono::seconds;

std::string tempPath() {
  static int n = 0;
  return ::testing::TempDir() + "store-" + std::to_string(::getpid()) + "-" + std::to_string(n++) +
         ".db";
}

Device device(const std::string& user, const std::string& id) {
  Device d;
  d.key = {user, id};
  d.platform = Platform::Ios;
  d.push_tokens.push_back({PushKind::Voip, "token-" + id, PushEnv::Sandbox, "com.example"});
  d.registered_at = UnixMillis{1000};
  d.last_seen_at = UnixMillis{2000};
  return d;
}

Call ringingCall(const std::string& id) {
  Call c;
  c.call_id = id;
  c.type = CallType::Video;
  c.state = CallState::Ringing;
  c.created_at = UnixMillis{1'700'000'000'000};
  c.deadline = UnixMillis{1'700'000'030'000};
  c.max_end = UnixMillis{1'700'014'400'000};
  c.initiator_user_id = "alice";
  c.participants = {{"p-1", "alice", Role::Host, ParticipantState::Accepted, "a-phone"},
                    {"p-2", "bob", Role::Member, ParticipantState::Ringing, ""}};
  c.rung = {{"bob", "b-phone"}};
  c.reached = {{"bob", "b-phone"}};
  c.seq = 2;
  return c;
}

class SqliteStoreTest : public ::testing::Test {
 protected:
  ~SqliteStoreTest() override {
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::remove((path_ + suffix).c_str());
    }
  }
  std::string path_ = tempPath();
};

TEST_F(SqliteStoreTest, WhatIsCommittedIsThereAfterReopening) {
  std::string error;
  const Device d = device("alice", "a-phone");
  const Call c = ringingCall("c1");
  CallEvent e;
  e.seq = 1;
  e.name = "call.incoming";
  e.at = UnixMillis{5};
  e.data = {{"fromUserId", "alice"}};
  e.recipients = {{"bob", "b-phone"}};
  TimelineEntry t{UnixMillis{7}, "create", "a-phone", {{"callee", "bob"}}};
  {
    auto store = SqliteStore::open(path_, error);
    ASSERT_TRUE(store) << error;
    CallStore::Batch batch;
    batch.devices = {&d};
    batch.calls = {&c};
    batch.events = {{"c1", &e}};
    batch.timeline = {{"c1", &t}};
    batch.revocations = {{"old", seconds{100}}, {"live", seconds{10'000}}};
    batch.idempotency = IdempotentAnswer{"alice", "k1", UnixMillis{50}, 201, "{\"x\":1}"};
    ASSERT_EQ(store->commit(batch, error), CallStore::CommitResult::Stored) << error;
    ASSERT_TRUE(store->putSetting("key", "value"));
  }
  auto store = SqliteStore::open(path_, error);
  ASSERT_TRUE(store) << error;
  CallStore::Snapshot snapshot;
  ASSERT_TRUE(store->load(snapshot, seconds{1000}, error)) << error;
  ASSERT_EQ(snapshot.devices.size(), 1U);
  EXPECT_EQ(snapshot.devices[0].toStored(), d.toStored());
  ASSERT_EQ(snapshot.active_calls.size(), 1U);
  EXPECT_EQ(snapshot.active_calls[0].call.toStored(), c.toStored());
  ASSERT_EQ(snapshot.active_calls[0].events.size(), 1U);
  EXPECT_EQ(snapshot.active_calls[0].events[0].recipients, e.recipients);
  ASSERT_EQ(snapshot.revocations.size(), 1U);  // "old" is past its end
  EXPECT_EQ(snapshot.revocations[0].call_id, "live");
  EXPECT_EQ(store->setting("key"), "value");
  ASSERT_EQ(store->timeline("c1").size(), 1U);
  EXPECT_EQ(store->timeline("c1")[0].detail["callee"], "bob");
  ASSERT_TRUE(store->idempotent("alice", "k1", UnixMillis{0}).has_value());
  EXPECT_EQ(store->idempotent("alice", "k1", UnixMillis{0})->status, 201);
  EXPECT_FALSE(store->idempotent("alice", "k1", UnixMillis{51}).has_value());  // too old
  EXPECT_FALSE(store->idempotent("bob", "k1", UnixMillis{0}).has_value());
}

TEST_F(SqliteStoreTest, AnEndedCallIsNotRestoredButStillReadable) {
  std::string error;
  auto store = SqliteStore::open(path_, error);
  ASSERT_TRUE(store) << error;
  Call c = ringingCall("c2");
  c.state = CallState::Ended;
  c.end_reason = "hangup";
  CallStore::Batch batch;
  batch.calls = {&c};
  ASSERT_EQ(store->commit(batch, error), CallStore::CommitResult::Stored) << error;
  CallStore::Snapshot snapshot;
  ASSERT_TRUE(store->load(snapshot, seconds{0}, error));
  EXPECT_TRUE(snapshot.active_calls.empty());
  ASSERT_TRUE(store->loadCall("c2").has_value());
  EXPECT_EQ(store->loadCall("c2")->end_reason, "hangup");
  store->expire(UnixMillis{0}, seconds{0}, c.created_at + UnixMillis{1});
  EXPECT_FALSE(store->loadCall("c2").has_value());
}

// A file written by the previous schema version (1: no timeline) opens,
// migrates, and keeps what it held.
TEST_F(SqliteStoreTest, AFileOfThePreviousSchemaVersionMigrates) {
  std::string error;
  const Device d = device("bob", "b-phone");
  const Call c = ringingCall("c3");
  {
    auto old = SqliteStore::open(path_, error, 1);
    ASSERT_TRUE(old) << error;
    EXPECT_EQ(old->schemaVersion(), 1);
    CallStore::Batch batch;
    batch.devices = {&d};
    batch.calls = {&c};
    ASSERT_EQ(old->commit(batch, error), CallStore::CommitResult::Stored) << error;
    TimelineEntry t{UnixMillis{1}, "create", "", {}};
    CallStore::Batch timeline;
    timeline.timeline = {{"c3", &t}};
    EXPECT_EQ(old->commit(timeline, error),
              CallStore::CommitResult::Failed);  // version 1 has no timeline table
  }
  auto store = SqliteStore::open(path_, error);
  ASSERT_TRUE(store) << error;
  EXPECT_EQ(store->schemaVersion(), SqliteStore::kSchemaVersion);
  CallStore::Snapshot snapshot;
  ASSERT_TRUE(store->load(snapshot, seconds{0}, error));
  ASSERT_EQ(snapshot.devices.size(), 1U);
  ASSERT_EQ(snapshot.active_calls.size(), 1U);
  TimelineEntry t{UnixMillis{1}, "create", "", {}};
  CallStore::Batch timeline;
  timeline.timeline = {{"c3", &t}};
  EXPECT_EQ(store->commit(timeline, error), CallStore::CommitResult::Stored) << error;
}

TEST_F(SqliteStoreTest, AFileFromANewerVersionIsRefused) {
  std::string error;
  ASSERT_TRUE(SqliteStore::open(path_, error)) << error;  // created, then closed
  // A later build's schema: SQLite keeps user_version at byte 60 of the
  // header, big-endian.
  FILE* f = std::fopen(path_.c_str(), "r+b");
  ASSERT_NE(f, nullptr);
  std::fseek(f, 60, SEEK_SET);
  const unsigned char version[4] = {0, 0, 0, 99};
  std::fwrite(version, 1, sizeof version, f);
  std::fclose(f);
  EXPECT_FALSE(SqliteStore::open(path_, error));
  EXPECT_NE(error.find("newer"), std::string::npos) << error;
}

}  // namespace
}  // namespace turnpike::control
