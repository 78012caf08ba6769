// The pure pieces several nodes share: the change message other nodes
// read, the order TURN URIs are handed out in, a call replaced by another
// node's version, and sockets on other nodes as presence.

#include <gtest/gtest.h>

#include <set>

#include "control/calls/call_book.h"
#include "control/cluster/node_directory.h"
#include "control/events/event_hub.h"
#include "control/store/change_message.h"
#include "tests/support/fake_clock.h"

namespace turnpike::control {
namespace {

using std::chrono::milliseconds;

class Online final : public Presence {
 public:
  [[nodiscard]] bool online(const DeviceKey& d) const override { return keys.count(d) != 0; }
  [[nodiscard]] bool foreground(const DeviceKey& d) const override { return online(d); }
  [[nodiscard]] bool pushable(const Device&) const override { return false; }
  std::set<DeviceKey> keys;
};

const DeviceKey kAlice{"alice", "a-1"};
const DeviceKey kBob{"bob", "b-1"};

class SharedCallTest : public ::testing::Test {
 protected:
  SharedCallTest() {
    for (const auto& key : {kAlice, kBob}) {
      Device d;
      d.key = key;
      devices_.registerDevice(d, clock_.unixMillis());
      presence_.keys.insert(key);
    }
  }
  std::string create(CallBook& book, CallChanges& changes) {
    CreateRequest r;
    r.caller = kAlice;
    r.callees = {"bob"};
    const auto out = book.create(r, changes);
    EXPECT_EQ(out.status, 201) << out.message;
    return out.call->call_id;
  }
  CallBook book(const std::string& prefix) {
    return {config_, clock_, devices_, presence_,
            [prefix, n = 0]() mutable { return prefix + std::to_string(n++); }};
  }

  conf::CallsConfig config_;
  testing::FakeClock clock_;
  DeviceRegistry devices_;
  Online presence_;
};

TEST_F(SharedCallTest, AChangeMessageCarriesCallsEventsDevicesAndRevocations) {
  CallBook a = book("call-");
  CallChanges changes;
  const std::string id = create(a, changes);
  CallStore::Batch batch;
  batch.calls.push_back(a.find(id));
  batch.versions.push_back(4);
  for (const auto& [call_id, event] : changes.events) {
    batch.events.emplace_back(call_id, &event);
  }
  batch.devices.push_back(devices_.find(kBob));
  batch.removed_devices.push_back({"carol", "c-1"});
  batch.revocations.push_back({"old-call", std::chrono::seconds{1'700'000'500}});

  const auto m = parseChangeMessage(changeMessageOf(batch, "node-a"));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->node, "node-a");
  ASSERT_EQ(m->calls.size(), 1U);
  EXPECT_EQ(m->calls[0].version, 5U);  // the version after this change
  EXPECT_EQ(m->calls[0].call.toStored(), a.find(id)->toStored());
  ASSERT_EQ(m->calls[0].events.size(), changes.events.size());
  EXPECT_EQ(m->calls[0].events[0].name, "call.incoming");
  EXPECT_EQ(m->calls[0].events[0].recipients, std::vector<DeviceKey>{kBob});
  ASSERT_EQ(m->devices.size(), 1U);
  EXPECT_EQ(m->devices[0].key, kBob);
  EXPECT_EQ(m->removed_devices, (std::vector<DeviceKey>{{"carol", "c-1"}}));
  ASSERT_EQ(m->revocations.size(), 1U);
  EXPECT_EQ(m->revocations[0].until.count(), 1'700'000'500);
}

TEST_F(SharedCallTest, APresenceMessageNamesTheDeviceAndItsState) {
  const auto m = parseChangeMessage(presenceMessage("node-b", {kBob, true, false}));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->node, "node-b");
  ASSERT_EQ(m->presence.size(), 1U);
  EXPECT_EQ(m->presence[0].device, kBob);
  EXPECT_TRUE(m->presence[0].online);
  EXPECT_FALSE(m->presence[0].foreground);
}

TEST(ChangeMessage, AnythingMalformedIsDroppedWhole) {
  for (const char* text :
       {"", "[]", "{}", "{\"node\": 1}", "{\"node\": \"a\", \"calls\": [{}]}",
        "{\"node\": \"a\", \"calls\": [{\"call\": {}, \"version\": 1, \"events\": []}]}",
        "{\"node\": \"a\", \"removed\": [[\"only-user\"]]}",
        "{\"node\": \"a\", \"revoked\": [[\"id\", \"soon\"]]}",
        "{\"node\": \"a\", \"presence\": [{\"device\": [\"u\", \"d\"]}]}"}) {
    EXPECT_FALSE(parseChangeMessage(text)) << text;
  }
  EXPECT_TRUE(parseChangeMessage("{\"node\": \"a\"}"));
}

TEST_F(SharedCallTest, AReplacedCallKeepsOneDeadlineAndItsIndexes) {
  config_.connect_timeout = config_.ring_timeout * 2;
  CallBook a = book("call-");
  CallBook b = book("call-");
  CallChanges created;
  const std::string id = create(a, created);
  b.restore(*a.find(id), *a.eventsOf(id));
  // Node A accepts: the ring deadline becomes the connect deadline.
  CallChanges accepted;
  ASSERT_EQ(a.accept(id, kBob, accepted).status, 200);
  b.replace(*a.find(id), *a.eventsOf(id));
  ASSERT_EQ(b.nextDeadline(), a.nextDeadline());
  clock_.advance(config_.ring_timeout);
  CallChanges ring;
  b.tick(ring);
  EXPECT_TRUE(ring.events.empty()) << "the old ring deadline fired";
  EXPECT_EQ(b.find(id)->state, CallState::Connecting);
  // Dropped: no deadline, and the users are no longer busy with it.
  b.drop(id);
  EXPECT_EQ(b.find(id), nullptr);
  EXPECT_FALSE(b.nextDeadline());
  EXPECT_EQ(b.activeCalls(), 0U);
}

TEST(NodeDirectory, TheAskedRegionComesFirstAndDrainingOrSilentNodesNotAtAll) {
  const milliseconds now{1'700'000'000'000};
  const auto node = [&](const std::string& name, std::string region, std::uint64_t allocations,
                        bool draining = false, milliseconds age = milliseconds{500}) {
    cluster::NodeInfo n;
    n.name = name;
    n.region = std::move(region);
    n.turn_uris = {"turn:" + name + "?transport=udp"};
    n.allocations = allocations;
    n.draining = draining;
    n.seen_at = now - age;
    return n;
  };
  const std::vector<cluster::NodeInfo> nodes{
      node("eu-busy", "eu", 90), node("us-1", "us", 5), node("eu-idle", "eu", 3),
      node("eu-draining", "eu", 0, true),
      node("eu-gone", "eu", 0, false, cluster::kNodeTtl + milliseconds{1})};
  EXPECT_EQ(cluster::orderedUris(nodes, "eu", now),
            (std::vector<std::string>{"turn:eu-idle?transport=udp", "turn:eu-busy?transport=udp",
                                      "turn:us-1?transport=udp"}));
  EXPECT_EQ(cluster::orderedUris(nodes, "us", now).front(), "turn:us-1?transport=udp");
  const auto round = cluster::NodeInfo::fromJson(nodes[0].toJson());
  ASSERT_TRUE(round);
  EXPECT_EQ(round->name, "eu-busy");
  EXPECT_EQ(round->allocations, 90U);
  EXPECT_EQ(round->seen_at, nodes[0].seen_at);
  EXPECT_FALSE(cluster::NodeInfo::fromJson("{\"name\": \"x\"}"));
}

TEST(EventHubRemote, ASocketOnAnotherNodeCountsWhileThatNodeLives) {
  EventHub hub([](const Device&) { return false; });
  std::set<std::string> alive{"b"};
  hub.setNodeAlive([&alive](const std::string& n) { return alive.count(n) != 0; });
  hub.remoteOnline({kBob, "b", false});
  EXPECT_TRUE(hub.online(kBob));
  EXPECT_FALSE(hub.foreground(kBob));
  hub.remoteOffline(kBob, "c");  // another node's goodbye does not count
  EXPECT_TRUE(hub.online(kBob));
  alive.clear();
  EXPECT_FALSE(hub.online(kBob)) << "a dead node's sockets are gone";
  alive.insert("b");
  hub.remoteOffline(kBob, "b");
  EXPECT_FALSE(hub.online(kBob));
}

}  // namespace
}  // namespace turnpike::control
