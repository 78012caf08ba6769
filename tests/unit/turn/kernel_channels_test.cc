// The kernel data path's share of the channels (relay/turn/kernel_channels.cc):
// which channels user space hands to a KernelRelay, until when, when it
// takes them back, and how the kernel's counts reach usage and metrics.

#include <map>

#include "relay/stun/channel_data.h"
#include "tests/unit/turn/turn_fixture.h"

namespace turnpike::testing {
namespace {

using stun::AttributeType;
using stun::Method;
using namespace std::chrono_literals;

constexpr const char* kPeer = "8.8.4.4:5000";
constexpr const char* kClient = "192.0.2.10:40000";

/// Records what the protocol layer asks of the kernel; the test sets what
/// the kernel "relayed".
struct FakeKernel : turn::KernelRelay {
  struct Flow {
    turn::KernelChannel channel;
    bool live = true;
  };
  std::map<std::uint32_t, Flow> flows;
  std::map<std::uint32_t, turn::TrafficCounters> counts;
  bool refuse = false;
  std::uint32_t next = 7;

  std::optional<std::uint32_t> install(const turn::KernelChannel& c) override {
    if (refuse) return std::nullopt;
    flows[next] = Flow{c};
    return next++;
  }
  void extend(std::uint32_t id, Clock::TimePoint expires_at) override {
    flows.at(id).channel.expires_at = expires_at;
  }
  void remove(std::uint32_t id) override { flows.at(id).live = false; }
  [[nodiscard]] turn::TrafficCounters relayed(std::uint32_t id) const override {
    const auto it = counts.find(id);
    return it == counts.end() ? turn::TrafficCounters{} : it->second;
  }
  [[nodiscard]] std::size_t live() const {
    std::size_t n = 0;
    for (const auto& [id, f] : flows) n += f.live ? 1 : 0;
    return n;
  }
};

class KernelChannels : public TurnFixture {
 protected:
  void SetUp() override { start({}); }

  void start(const turn::TurnSettings& settings) {
    rebuild(settings);
    core->kernel = &kernel;
    allocate();
  }
  std::uint16_t bindChannel(std::uint16_t channel, const char* to) {
    return errorCode(aliceSends(Method::ChannelBind, [channel, to](auto& b) {
      b.add(AttributeType::ChannelNumber, stun::encodeChannelNumber(channel));
      b.addXorAddress(AttributeType::XorPeerAddress, *stun::TransportAddress::parse(to));
    }));
  }
  Clock::TimePoint now() const { return clock.now(); }

  FakeKernel kernel;
};

TEST_F(KernelChannels, ABoundChannelGoesToTheKernelWithItsAddresses) {
  EXPECT_EQ(aliceSends(Method::CreatePermission, peer(kPeer)).has_value(), true);
  EXPECT_TRUE(kernel.flows.empty());  // a permission alone: no channel yet
  ASSERT_EQ(bindChannel(0x4001, kPeer), 0);
  ASSERT_EQ(kernel.live(), 1U);
  const auto& c = kernel.flows.begin()->second.channel;
  EXPECT_EQ(c.client.toString(), kClient);
  EXPECT_EQ(c.server.toString(), "10.0.0.1:3478");
  EXPECT_EQ(c.peer.toString(), kPeer);
  EXPECT_EQ(c.relayed.ip, relay_ip.ip);  // the bound address, not the advertised one
  EXPECT_NE(c.relayed.port, 0);
  EXPECT_EQ(c.channel, 0x4001);
  // The permission (300 s) ends before the channel (600 s).
  EXPECT_EQ(c.expires_at, now() + 300s);
  EXPECT_EQ(server->counters().kernel_flows_installed, 1U);
}

TEST_F(KernelChannels, RefreshingThePermissionExtendsTheFlowUpToTheChannel) {
  ASSERT_EQ(bindChannel(0x4001, kPeer), 0);
  aliceSends(Method::Refresh, [](auto& b) { b.addU32(AttributeType::Lifetime, 3600); });
  clock.advance(200s);
  aliceSends(Method::CreatePermission, peer(kPeer));
  const auto& c = kernel.flows.begin()->second.channel;
  EXPECT_EQ(c.expires_at, now() + 300s);
  clock.advance(200s);  // 400 s in: the channel ends at 600 s, before this permission
  aliceSends(Method::CreatePermission, peer(kPeer));
  EXPECT_EQ(c.expires_at, now() + 200s);
  EXPECT_EQ(kernel.live(), 1U);
}

TEST_F(KernelChannels, AnExpiredPermissionTakesTheFlowOutWithinASweep) {
  ASSERT_EQ(bindChannel(0x4001, kPeer), 0);
  aliceSends(Method::Refresh, [](auto& b) { b.addU32(AttributeType::Lifetime, 3600); });
  clock.advance(299s);
  server->expireAllocations();
  EXPECT_EQ(kernel.live(), 1U);
  clock.advance(1s);
  server->expireAllocations();  // the worker's once-a-second sweep
  EXPECT_EQ(kernel.live(), 0U);
  // What user space does with it now: data from the peer is dropped and counted.
  std::vector<std::uint8_t> frame(turn::kPeerHeadroom + 3, 1);
  server->handlePeerDatagram(network.open.begin()->first, *stun::TransportAddress::parse(kPeer),
                             frame);
  EXPECT_TRUE(network.to_clients.empty());
  EXPECT_EQ(server->counters().no_permission, 1U);
}

TEST_F(KernelChannels, AnExpiredChannelTakesTheFlowOut) {
  ASSERT_EQ(bindChannel(0x4001, kPeer), 0);
  aliceSends(Method::Refresh, [](auto& b) { b.addU32(AttributeType::Lifetime, 3600); });
  for (int i = 0; i < 3; ++i) {  // the permission kept fresh; the channel not
    clock.advance(200s);
    aliceSends(Method::CreatePermission, peer(kPeer));
  }
  server->expireAllocations();
  EXPECT_EQ(kernel.live(), 0U);
}

TEST_F(KernelChannels, EveryWayAnAllocationEndsTakesItsFlowsOut) {
  const auto reasons = {turn::DeletionReason::Refresh, turn::DeletionReason::Admin,
                        turn::DeletionReason::CallEnded, turn::DeletionReason::Shutdown,
                        turn::DeletionReason::Expired};
  for (const auto reason : reasons) {
    SCOPED_TRACE(std::string(turn::deletionReasonName(reason)));
    kernel = FakeKernel{};
    start({});
    ASSERT_EQ(bindChannel(0x4001, kPeer), 0);
    ASSERT_EQ(bindChannel(0x4002, "8.8.4.4:5001"), 0);
    ASSERT_EQ(kernel.live(), 2U);
    switch (reason) {
      case turn::DeletionReason::Refresh:
        aliceSends(Method::Refresh, [](auto& b) { b.addU32(AttributeType::Lifetime, 0); });
        break;
      case turn::DeletionReason::Expired:
        clock.advance(600s);
        server->expireAllocations();
        break;
      case turn::DeletionReason::Shutdown: server->deleteAllAllocations(); break;
      default:  // a kick, a revoked call
        server->deleteAllocationsWhere([](const turn::Allocation&) { return true; }, reason);
    }
    EXPECT_EQ(kernel.live(), 0U);
    EXPECT_EQ(core->kernel_flows, 0U);
    ASSERT_EQ(observer.deleted.size(), 1U);
    EXPECT_EQ(observer.deleted[0].second, reason);
    observer.deleted.clear();
  }
}

TEST_F(KernelChannels, TheKernelsCountsReachUsageAndMetricsAsIfRelayedHere) {
  turn::TurnSettings s;
  s.usage_interval = 10s;
  start(s);
  ASSERT_EQ(bindChannel(0x4001, kPeer), 0);
  const std::uint32_t id = kernel.flows.begin()->first;
  kernel.counts[id] = {
      .bytes_to_peer = 1000, .packets_to_peer = 10, .bytes_from_peer = 500, .packets_from_peer = 5};
  server->expireAllocations();  // folds
  EXPECT_EQ(server->counters().relayed[0].packets_to_peer, 10U);
  EXPECT_EQ(server->counters().relayed[0].bytes_from_peer, 500U);
  EXPECT_EQ(server->counters().kernel_relayed.bytes_to_peer, 1000U);
  // A packet user space relays itself adds to the same counters.
  std::vector<std::uint8_t> cd = {0x40, 0x01, 0x00, 0x02, 1, 2};
  server->handleDatagram(cd, tupleFor(kClient), out);
  EXPECT_EQ(server->counters().relayed[0].packets_to_peer, 11U);
  EXPECT_EQ(server->counters().relayed[0].bytes_to_peer, 1002U);
  clock.advance(10s);
  kernel.counts[id].packets_to_peer = 12;  // two more in the kernel
  kernel.counts[id].bytes_to_peer = 1200;
  server->expireAllocations();
  server->reportUsage();
  ASSERT_EQ(observer.usage.size(), 1U);
  EXPECT_EQ(observer.usage[0].traffic.packets_to_peer, 13U);  // 12 kernel + 1 here
  EXPECT_EQ(observer.usage[0].traffic.bytes_to_peer, 1202U);
  EXPECT_EQ(observer.usage[0].traffic.packets_from_peer, 5U);
  // The last counts arrive with the deletion, folded once.
  kernel.counts[id].packets_from_peer = 9;
  kernel.counts[id].bytes_from_peer = 900;
  aliceSends(Method::Refresh, [](auto& b) { b.addU32(AttributeType::Lifetime, 0); });
  EXPECT_EQ(server->counters().relayed[0].packets_from_peer, 9U);
  EXPECT_EQ(server->counters().relayed[0].bytes_from_peer, 900U);
  EXPECT_EQ(server->counters().relayed[0].packets_to_peer, 13U);
}

TEST_F(KernelChannels, ACappedAllocationStaysInUserSpace) {
  turn::TurnSettings s;
  s.allocation_bandwidth = 100000;
  start(s);
  ASSERT_EQ(bindChannel(0x4001, kPeer), 0);
  EXPECT_TRUE(kernel.flows.empty());
}

TEST_F(KernelChannels, ARefusedChannelStaysInUserSpaceAndStillRelays) {
  kernel.refuse = true;
  ASSERT_EQ(bindChannel(0x4001, kPeer), 0);
  EXPECT_EQ(server->counters().kernel_flows_refused, 1U);
  std::vector<std::uint8_t> cd = {0x40, 0x01, 0x00, 0x01, 1};
  server->handleDatagram(cd, tupleFor(kClient), out);
  EXPECT_EQ(network.to_peers.size(), 1U);
  // Refreshing the binding asks again, but the channel counts once.
  ASSERT_EQ(bindChannel(0x4001, kPeer), 0);
  EXPECT_EQ(server->counters().kernel_flows_refused, 1U);
  EXPECT_TRUE(kernel.flows.empty());
  // Once the reason passes, the next sync installs it.
  kernel.refuse = false;
  ASSERT_EQ(bindChannel(0x4001, kPeer), 0);
  EXPECT_EQ(kernel.flows.size(), 1U);
  EXPECT_EQ(server->counters().kernel_flows_installed, 1U);
}

TEST_F(KernelChannels, NoKernelNoChange) {
  core->kernel = nullptr;
  ASSERT_EQ(bindChannel(0x4001, kPeer), 0);
  EXPECT_TRUE(kernel.flows.empty());
  server->expireAllocations();
}

}  // namespace
}  // namespace turnpike::testing
