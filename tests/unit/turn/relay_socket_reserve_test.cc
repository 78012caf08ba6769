// Relay sockets kept from ended allocations (RelaySocketReserve), alone and
// through Allocate and Refresh with the fake clock and network.

#include "relay/turn/relay_socket_reserve.h"

#include "tests/unit/turn/turn_fixture.h"

namespace turnpike::testing {
namespace {

using stun::AttributeType;
using stun::Method;
using turn::RelaySocketReserve;
using namespace std::chrono_literals;

RelaySocketReserve::Parked parked(turn::RelaySocketId id, std::uint16_t port) {
  auto bound = *stun::TransportAddress::parse("10.1.1.1:0");
  bound.port = port;
  return {id, bound, false};
}

TEST(RelaySocketReserveAlone, HandsOutTheOldestOnlyOnceQuiet) {
  RelaySocketReserve reserve(1600);  // 100 sockets
  const Clock::TimePoint t0{};
  std::vector<RelaySocketReserve::Parked> to_close;
  EXPECT_FALSE(reserve.park(parked(1, 50001), t0));
  EXPECT_FALSE(reserve.park(parked(2, 50002), t0 + 10ms));
  // Not quiet long enough: nothing, unless any age will do.
  EXPECT_FALSE(reserve.take(t0 + 99ms, false, to_close));
  const auto first = reserve.take(t0 + 100ms, false, to_close);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->socket, 1U);
  EXPECT_EQ(first->bound.port, 50001);
  EXPECT_FALSE(reserve.take(t0 + 100ms, false, to_close));
  const auto second = reserve.take(t0 + 100ms, true, to_close);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->socket, 2U);
  EXPECT_EQ(reserve.size(), 0U);
  EXPECT_TRUE(to_close.empty());
}

TEST(RelaySocketReserveAlone, ATouchedSocketIsNeverHandedOut) {
  RelaySocketReserve reserve(1600);
  const Clock::TimePoint t0{};
  std::vector<RelaySocketReserve::Parked> to_close;
  reserve.park(parked(1, 50001), t0);
  reserve.park(parked(2, 50002), t0);
  EXPECT_TRUE(reserve.touched(1));
  EXPECT_FALSE(reserve.touched(1));  // counted once
  EXPECT_FALSE(reserve.touched(9));  // not parked
  const auto taken = reserve.take(t0 + 1s, false, to_close);
  ASSERT_TRUE(taken);
  EXPECT_EQ(taken->socket, 2U);
  ASSERT_EQ(to_close.size(), 1U);
  EXPECT_EQ(to_close[0].socket, 1U);
  // Even with any age, and even when it is all there is.
  reserve.park(parked(3, 50003), t0 + 2s);
  reserve.touched(3);
  to_close.clear();
  EXPECT_FALSE(reserve.take(t0 + 2s, true, to_close));
  ASSERT_EQ(to_close.size(), 1U);
  EXPECT_EQ(to_close[0].socket, 3U);
}

TEST(RelaySocketReserveAlone, FullGivesBackTheOldestAndCapacityFollowsThePorts) {
  EXPECT_EQ(RelaySocketReserve(20000).capacity(), RelaySocketReserve::kMaxCapacity);
  EXPECT_EQ(RelaySocketReserve(100).capacity(), 6U);
  RelaySocketReserve none(15);
  EXPECT_EQ(none.capacity(), 0U);
  const auto back = none.park(parked(1, 50001), {});
  ASSERT_TRUE(back);
  EXPECT_EQ(back->socket, 1U);

  RelaySocketReserve two(32);
  EXPECT_FALSE(two.park(parked(1, 50001), {}));
  EXPECT_FALSE(two.park(parked(2, 50002), {}));
  const auto evicted = two.park(parked(3, 50003), {});
  ASSERT_TRUE(evicted);
  EXPECT_EQ(evicted->socket, 1U);
  EXPECT_EQ(two.size(), 2U);
}

class KeptRelaySockets : public TurnFixture {
 protected:
  KeptRelaySockets() { network.keeps_sockets = true; }

  void deleteAlice() {
    const auto gone =
        aliceSends(Method::Refresh, [](auto& b) { b.addU32(AttributeType::Lifetime, 0); });
    ASSERT_EQ(gone->messageClass(), stun::MessageClass::SuccessResponse);
  }
};

TEST_F(KeptRelaySockets, AQuietSocketServesTheNextAllocation) {
  const auto first = allocate();
  const auto socket = network.open.begin()->first;
  deleteAlice();
  // Kept open, its port still taken.
  EXPECT_EQ(network.open.size(), 1U);
  EXPECT_EQ(pool->inUse(), 1U);
  clock.advance(100ms);
  const auto second = allocate("192.0.2.11:40000", "bob", "bob-pw");
  EXPECT_EQ(second.port, first.port);
  ASSERT_EQ(network.open.size(), 1U);
  EXPECT_EQ(network.open.begin()->first, socket);
  EXPECT_EQ(network.reused, 1);
  EXPECT_EQ(core->counters.relay_sockets_reused, 1U);
  EXPECT_EQ(pool->inUse(), 1U);
}

TEST_F(KeptRelaySockets, TooSoonTheNextAllocationGetsANewSocket) {
  const auto first = allocate();
  deleteAlice();
  clock.advance(50ms);
  const auto second = allocate("192.0.2.11:40000", "bob", "bob-pw");
  EXPECT_NE(second.port, first.port);
  EXPECT_EQ(network.open.size(), 2U);
  EXPECT_EQ(network.reused, 0);
}

TEST_F(KeptRelaySockets, ASocketAPeerStillSendsToIsClosedNotReused) {
  const auto first = allocate();
  const auto socket = network.open.begin()->first;
  deleteAlice();
  std::vector<std::uint8_t> frame(4 + 20, 0xab);  // headroom + a stale RTP packet
  server->handlePeerDatagram(socket, *stun::TransportAddress::parse("203.0.113.5:7000"), frame);
  EXPECT_EQ(core->counters.no_allocation, 1U);
  clock.advance(1s);
  const auto second = allocate("192.0.2.11:40000", "bob", "bob-pw");
  EXPECT_NE(second.port, first.port);
  EXPECT_EQ(network.open.count(socket), 0U);  // closed, its port back
  EXPECT_EQ(network.open.size(), 1U);
  EXPECT_EQ(pool->inUse(), 1U);
  EXPECT_EQ(core->counters.relay_sockets_spoilt, 1U);
  EXPECT_EQ(core->counters.relay_sockets_reused, 0U);
}

TEST_F(KeptRelaySockets, ADatagramWaitingAtReuseSpoilsTheSocket) {
  allocate();
  const auto socket = network.open.begin()->first;
  deleteAlice();
  network.waiting.insert(socket);  // arrived, not read yet
  clock.advance(1s);
  allocate("192.0.2.11:40000", "bob", "bob-pw");
  EXPECT_EQ(network.open.count(socket), 0U);
  EXPECT_EQ(network.open.size(), 1U);
  EXPECT_EQ(core->counters.relay_sockets_spoilt, 1U);
}

TEST_F(KeptRelaySockets, DontFragmentFollowsTheNewRequest) {
  allocate();
  deleteAlice();
  clock.advance(1s);
  const auto r = send(request(Method::Allocate,
                              udpAllocate([](auto& b) { b.add(AttributeType::DontFragment, {}); }),
                              "bob", "bob-pw", nonceFor("192.0.2.11:40000")),
                      "192.0.2.11:40000");
  ASSERT_EQ(r->messageClass(), stun::MessageClass::SuccessResponse) << errorCode(r);
  EXPECT_EQ(network.reused, 1);
  EXPECT_TRUE(network.last_dont_fragment);
}

TEST_F(KeptRelaySockets, WhenNoPortIsLeftAYoungKeptSocketServes) {
  rebuild({}, 100, 1000, 50000, 50015);  // 16 ports: one kept socket
  ASSERT_EQ(core->reserves[0].capacity(), 1U);
  std::vector<std::string> clients;
  for (int i = 0; i < 16; ++i) {
    clients.push_back("192.0.2.20:" + std::to_string(41000 + i));
    allocate(clients.back().c_str());
  }
  EXPECT_EQ(pool->inUse(), 16U);
  const auto r = aliceSends(
      Method::Refresh, [](auto& b) { b.addU32(AttributeType::Lifetime, 0); }, clients[0].c_str());
  ASSERT_EQ(r->messageClass(), stun::MessageClass::SuccessResponse) << errorCode(r);
  EXPECT_EQ(network.open.size(), 16U);  // kept
  // No port free, the kept one not quiet yet: it serves anyway.
  const auto again = allocate("192.0.2.30:42000");
  EXPECT_NE(again.port, 0);
  EXPECT_EQ(network.reused, 1);
}

TEST_F(KeptRelaySockets, ANetworkThatCannotKeepClosesAsBefore) {
  network.keeps_sockets = false;
  allocate();
  deleteAlice();
  EXPECT_TRUE(network.open.empty());
  EXPECT_EQ(pool->inUse(), 0U);
}

}  // namespace
}  // namespace turnpike::testing
