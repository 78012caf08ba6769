// RFC 8656 §9-12: permissions, channels, Send/Data indications and
// ChannelData in both directions, and the peer policy.

#include <algorithm>

#include "relay/stun/channel_data.h"
#include "tests/unit/turn/turn_fixture.h"

namespace turnpike::testing {
namespace {

using stun::AttributeType;
using stun::Method;
using namespace std::chrono_literals;

constexpr const char* kPeer = "8.8.4.4:5000";
constexpr const char* kClient = "192.0.2.10:40000";

class Relay : public TurnFixture {
 protected:
  void SetUp() override { relayed = allocate(); }

  std::vector<std::uint8_t> sendIndication(const char* to, std::vector<std::uint8_t> data) {
    std::array<std::uint8_t, 512> buf{};
    stun::MessageBuilder b(buf, {Method::Send, stun::MessageClass::Indication}, nextTid());
    b.addXorAddress(AttributeType::XorPeerAddress, *stun::TransportAddress::parse(to));
    b.add(AttributeType::Data, data);
    return {b.bytes().begin(), b.bytes().end()};
  }
  void fromPeer(const char* peer_address, const std::vector<std::uint8_t>& data) {
    std::vector<std::uint8_t> frame(turn::kPeerHeadroom + data.size(), 0xEE);
    std::copy(data.begin(), data.end(), frame.begin() + turn::kPeerHeadroom);
    server->handlePeerDatagram(network.open.begin()->first,
                               *stun::TransportAddress::parse(peer_address), frame);
  }
  std::uint16_t bindChannel(std::uint16_t channel, const char* to) {
    return errorCode(aliceSends(Method::ChannelBind, [channel, to](auto& b) {
      b.add(AttributeType::ChannelNumber, stun::encodeChannelNumber(channel));
      b.addXorAddress(AttributeType::XorPeerAddress, *stun::TransportAddress::parse(to));
    }));
  }

  stun::TransportAddress relayed;
};

TEST_F(Relay, SendWithoutPermissionIsDropped) {
  EXPECT_FALSE(send(sendIndication(kPeer, {1, 2, 3})).has_value());
  EXPECT_TRUE(network.to_peers.empty());
  EXPECT_EQ(server->counters().no_permission, 1U);
}

TEST_F(Relay, SendAndDataIndicationsWithAPermission) {
  ASSERT_EQ(errorCode(aliceSends(Method::CreatePermission, peer("8.8.4.4:1"))), 0);
  send(sendIndication(kPeer, {1, 2, 3}));  // any port of a permitted IP
  ASSERT_EQ(network.to_peers.size(), 1U);
  EXPECT_EQ(network.to_peers[0].to.toString(), kPeer);
  EXPECT_EQ(network.to_peers[0].bytes, (std::vector<std::uint8_t>{1, 2, 3}));

  fromPeer(kPeer, {9, 8});
  ASSERT_EQ(network.to_clients.size(), 1U);
  EXPECT_EQ(network.to_clients[0].to.toString(), kClient);
  const auto data = stun::MessageView::parse(network.to_clients[0].bytes).value();
  EXPECT_EQ(data.type(), (stun::MessageType{Method::Data, stun::MessageClass::Indication}));
  EXPECT_EQ(
      stun::decodeXorAddress(data.find(AttributeType::XorPeerAddress)->value, data.transactionId())
          ->toString(),
      kPeer);
  const auto payload = data.find(AttributeType::Data)->value;
  EXPECT_EQ(std::vector<std::uint8_t>(payload.begin(), payload.end()),
            (std::vector<std::uint8_t>{9, 8}));
  EXPECT_EQ(server->counters().relayedTotal().bytes_to_peer, 3U);
  EXPECT_EQ(server->counters().relayed[0].packets_to_peer, 1U);  // over UDP
  EXPECT_EQ(server->counters().relayedTotal().bytes_from_peer, 2U);
}

TEST_F(Relay, PeerWithoutPermissionNeverReachesTheClient) {
  aliceSends(Method::CreatePermission, peer(kPeer));
  fromPeer("8.8.8.8:5000", {1});
  EXPECT_TRUE(network.to_clients.empty());
  EXPECT_EQ(server->counters().no_permission, 1U);
}

TEST_F(Relay, PermissionsExpireAtThreeHundredSeconds) {
  aliceSends(Method::CreatePermission, peer(kPeer));
  clock.advance(300s - 1ms);
  fromPeer(kPeer, {1});
  EXPECT_EQ(network.to_clients.size(), 1U);
  clock.advance(1ms);
  fromPeer(kPeer, {2});
  EXPECT_EQ(network.to_clients.size(), 1U);
}

TEST_F(Relay, SeveralPeersInOneRequestAllOrNothing) {
  const auto ok = aliceSends(Method::CreatePermission, [](auto& b) {
    peer("8.8.4.4:1")(b);
    peer("1.1.1.1:1")(b);
  });
  EXPECT_EQ(ok->messageClass(), stun::MessageClass::SuccessResponse);
  fromPeer("1.1.1.1:9", {1});
  EXPECT_EQ(network.to_clients.size(), 1U);

  const auto refused = aliceSends(Method::CreatePermission, [](auto& b) {
    peer("9.9.9.9:1")(b);
    peer("10.0.0.1:1")(b);  // private: refuses the whole request
  });
  EXPECT_EQ(errorCode(refused), 403);
  fromPeer("9.9.9.9:1", {1});
  EXPECT_EQ(network.to_clients.size(), 1U);  // 9.9.9.9 was not installed
}

TEST_F(Relay, DefaultPolicyRefusesInternalPeers) {
  for (const char* p :
       {"10.0.0.1:80", "127.0.0.1:80", "169.254.169.254:80", "[::ffff:127.0.0.1]:80",
        "192.168.1.1:80", "100.64.0.1:80", "224.0.0.1:80", "0.0.0.0:80", "255.255.255.255:80",
        "[::1]:80", "[fe80::1]:80", "[fc00::1]:80"}) {
    EXPECT_EQ(errorCode(aliceSends(Method::CreatePermission, peer(p))), 403) << p;
    EXPECT_EQ(bindChannel(0x4000, p), 403) << p;
  }
  EXPECT_EQ(server->counters().denied_peer, 24U);
}

TEST_F(Relay, PeerOfTheOtherFamilyIs443) {
  EXPECT_EQ(errorCode(aliceSends(Method::CreatePermission, peer("[2001:4860::8888]:53"))), 443);
}

TEST_F(Relay, CreatePermissionWithoutPeerIs400) {
  EXPECT_EQ(errorCode(aliceSends(Method::CreatePermission, {})), 400);
}

TEST_F(Relay, ChannelDataBothWays) {
  ASSERT_EQ(bindChannel(0x4001, kPeer), 0);
  std::vector<std::uint8_t> cd = {0x40, 0x01, 0x00, 0x03, 7, 7, 7};
  server->handleDatagram(cd, tupleFor(kClient), out);
  ASSERT_EQ(network.to_peers.size(), 1U);
  EXPECT_EQ(network.to_peers[0].bytes, (std::vector<std::uint8_t>{7, 7, 7}));
  EXPECT_EQ(network.to_peers[0].to.toString(), kPeer);

  fromPeer(kPeer, {5, 6});
  ASSERT_EQ(network.to_clients.size(), 1U);
  EXPECT_EQ(network.to_clients[0].bytes, (std::vector<std::uint8_t>{0x40, 0x01, 0x00, 0x02, 5, 6}));
  // Another port of the same IP has the permission but not the channel.
  fromPeer("8.8.4.4:5001", {1});
  EXPECT_EQ(stun::MessageView::parse(network.to_clients[1].bytes)->method(), Method::Data);
}

// limits.permissions_per_allocation: a request that would go past the cap
// is refused whole with 508; refreshing what is held is always allowed, and
// expired permissions make room again.
TEST_F(Relay, PermissionsPerAllocationAreCapped) {
  turn::TurnSettings s;
  s.permissions_per_allocation = 3;
  rebuild(s);
  allocate();
  const auto permit = [&](std::vector<std::string> peers) {
    return errorCode(aliceSends(Method::CreatePermission, [&](auto& b) {
      for (const auto& p : peers) {
        b.addXorAddress(AttributeType::XorPeerAddress, *stun::TransportAddress::parse(p));
      }
    }));
  };
  EXPECT_EQ(permit({"8.8.8.1:1", "8.8.8.2:1"}), 0);
  EXPECT_EQ(permit({"8.8.8.3:1", "8.8.8.4:1"}), 508);  // would make 4: none installed
  EXPECT_EQ(permit({"8.8.8.3:1", "8.8.8.3:2"}), 0);    // one IP, two ports: one permission
  EXPECT_EQ(permit({"8.8.8.1:9", "8.8.8.2:9"}), 0);    // refreshes need no room
  EXPECT_EQ(permit({"8.8.8.4:1"}), 508);
  EXPECT_EQ(bindChannel(0x4001, "8.8.8.5:1"), 508);  // a channel needs a permission too
  EXPECT_EQ(bindChannel(0x4001, "8.8.8.1:1"), 0);
  clock.advance(301s);
  EXPECT_EQ(permit({"8.8.8.4:1"}), 0);
}

TEST_F(Relay, ChannelRulesAndRefresh) {
  EXPECT_EQ(bindChannel(0x4001, kPeer), 0);
  EXPECT_EQ(bindChannel(0x4001, kPeer), 0);          // rebinding refreshes
  EXPECT_EQ(bindChannel(0x4001, "8.8.8.8:1"), 400);  // channel taken by another peer
  EXPECT_EQ(bindChannel(0x4002, kPeer), 400);        // peer taken by another channel
  EXPECT_EQ(bindChannel(0x3fff, "8.8.8.8:1"), 400);  // below the range
  EXPECT_EQ(bindChannel(0x8000, "8.8.8.8:1"), 400);  // above RFC 5766's range too
  EXPECT_EQ(bindChannel(0x4fff, "8.8.8.8:1"), 0);
}

// coturn's turnutils_uclient and other RFC 5766-era clients pick channels up
// to 0x7FFF: accepted by default, as coturn and pion do.
TEST_F(Relay, Rfc5766ChannelRangeByDefault) {
  EXPECT_EQ(bindChannel(0x649d, kPeer), 0);
  EXPECT_EQ(bindChannel(0x7fff, "8.8.8.8:1"), 0);
  std::vector<std::uint8_t> cd = {0x64, 0x9d, 0x00, 0x01, 9};
  server->handleDatagram(cd, tupleFor(kClient), out);
  EXPECT_EQ(network.to_peers.size(), 1U);
}

TEST_F(Relay, StrictRfc8656ChannelRangeWhenConfigured) {
  turn::TurnSettings s;
  s.rfc5766_channel_numbers = false;
  rebuild(s);
  allocate();
  EXPECT_EQ(bindChannel(0x5000, kPeer), 400);  // RFC 8656 reserves 0x5000+
  EXPECT_EQ(bindChannel(0x4fff, kPeer), 0);
}

TEST_F(Relay, ChannelsExpireAfterTenMinutesThenStayReservedFiveMore) {
  ASSERT_EQ(bindChannel(0x4001, kPeer), 0);
  aliceSends(Method::Refresh, [](auto& b) { b.addU32(AttributeType::Lifetime, 3600); });
  clock.advance(600s);
  std::vector<std::uint8_t> cd = {0x40, 0x01, 0x00, 0x01, 1};
  server->handleDatagram(cd, tupleFor(kClient), out);
  EXPECT_TRUE(network.to_peers.empty());             // expired
  EXPECT_EQ(bindChannel(0x4001, "8.8.8.8:1"), 400);  // still held for 5 minutes
  clock.advance(300s);
  EXPECT_EQ(bindChannel(0x4001, "8.8.8.8:1"), 0);
}

TEST_F(Relay, BandwidthCapDropsTheExcess) {
  turn::TurnSettings s;
  s.allocation_bandwidth = 1000;  // bytes per second
  rebuild(s);
  allocate();
  aliceSends(Method::CreatePermission, peer(kPeer));
  for (int i = 0; i < 5; ++i) send(sendIndication(kPeer, std::vector<std::uint8_t>(300, 1)));
  EXPECT_EQ(network.to_peers.size(), 3U);  // 900 of 1000 bytes; the 4th would overflow
  EXPECT_EQ(server->counters().bandwidth_limit, 2U);
  clock.advance(1s);
  send(sendIndication(kPeer, std::vector<std::uint8_t>(300, 1)));
  EXPECT_EQ(network.to_peers.size(), 4U);
}

TEST_F(Relay, StrangersCannotUseTheAllocation) {
  // Same relay, another client five-tuple: no allocation there.
  aliceSends(Method::CreatePermission, peer(kPeer));
  send(sendIndication(kPeer, {1}), "192.0.2.10:40001");
  EXPECT_TRUE(network.to_peers.empty());
  EXPECT_EQ(server->counters().no_allocation, 1U);
}

}  // namespace
}  // namespace turnpike::testing
