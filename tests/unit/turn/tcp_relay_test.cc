// RFC 6062 TCP relays with the fake clock and network: TCP allocations,
// Connect and its deferred answer (CONNECTION-ID, 446, 447), inbound peers and
// ConnectionAttempt, ConnectionBind from another connection, the 30 s timers.

#include "auth/rest_credentials.h"
#include "relay/stun/integrity.h"
#include "relay/stun/long_term_key.h"
#include "relay/stun/turn_attributes.h"
#include "tests/unit/turn/turn_fixture.h"

namespace turnpike::testing {
namespace {

using stun::AttributeType;
using stun::Method;
using namespace std::chrono_literals;

constexpr const char* kPeer = "8.8.8.8:80";
constexpr const char* kDataConnection = "192.0.2.10:40001";

class TcpRelay : public TurnFixture {
 protected:
  void SetUp() override {
    transport = turn::Transport::Tcp;
    core->peer_connections = &registry;
    network.registry = &registry;
  }

  static Fill tcpAllocate() {
    return [](stun::MessageBuilder& b) {
      b.add(AttributeType::RequestedTransport, stun::encodeRequestedTransport(stun::kProtocolTcp));
    };
  }
  void allocateTcp() {
    const auto r = aliceSends(Method::Allocate, tcpAllocate());
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ(r->messageClass(), stun::MessageClass::SuccessResponse) << errorCode(r);
  }
  /// Connect to `to`; the answer only comes with onPeerConnected.
  std::uint32_t connect(const char* to) {
    EXPECT_FALSE(aliceSends(Method::Connect, peer(to)).has_value());
    return network.connects.empty() ? 0 : network.connects.back().id;
  }
  /// The last message the server sent the client on its own.
  stun::MessageView lastToClient() {
    last_pushed = network.to_clients.back().bytes;
    return stun::MessageView::parse(last_pushed).value();
  }
  std::optional<stun::MessageView> connectionBind(std::uint32_t id,
                                                  const char* from = kDataConnection,
                                                  const std::string& user = "alice",
                                                  const std::string& pw = "alice-pw") {
    return send(
        request(
            Method::ConnectionBind, [id](auto& b) { b.addU32(AttributeType::ConnectionId, id); },
            user, pw, nonceFor(from)),
        from);
  }

  turn::PeerConnections registry;
  std::vector<std::uint8_t> last_pushed;
};

TEST_F(TcpRelay, TcpAllocationsOnlyOverStreams) {
  transport = turn::Transport::Udp;
  EXPECT_EQ(errorCode(aliceSends(Method::Allocate, tcpAllocate())), 400);
  transport = turn::Transport::Tcp;
  EXPECT_EQ(errorCode(aliceSends(Method::Allocate,
                                 [](auto& b) {
                                   tcpAllocate()(b);
                                   b.add(AttributeType::EvenPort, stun::encodeEvenPort(false));
                                 })),
            400);
  allocateTcp();
  EXPECT_EQ(network.tcp_relays.size(), 1U);
  // No channels and no Send indications on a TCP allocation.
  EXPECT_EQ(errorCode(aliceSends(Method::ChannelBind,
                                 [](auto& b) {
                                   b.add(AttributeType::ChannelNumber,
                                         stun::encodeChannelNumber(0x4001));
                                   peer(kPeer)(b);
                                 })),
            400);
}

TEST_F(TcpRelay, ConnectAnswersWithAConnectionIdOnceThePeerIsReached) {
  allocateTcp();
  const std::uint32_t id = connect(kPeer);
  ASSERT_NE(id, 0U);
  // Our end of the connection is the relayed transport address.
  EXPECT_EQ(network.connects.back().local, network.open.begin()->second);
  EXPECT_TRUE(network.to_clients.empty());
  EXPECT_TRUE(server->onPeerConnected(id, 77));
  const auto answer = lastToClient();
  EXPECT_EQ(answer.method(), Method::Connect);
  EXPECT_EQ(answer.messageClass(), stun::MessageClass::SuccessResponse);
  EXPECT_EQ(stun::decodeU32(answer.find(AttributeType::ConnectionId)->value).value(), id);
  EXPECT_TRUE(answer.has(AttributeType::MessageIntegrity));
  // §5.2: a second connection to the same peer is 446.
  EXPECT_EQ(errorCode(aliceSends(Method::Connect, peer(kPeer))), 446);
  // Peers the policy refuses are 403, as for CreatePermission.
  EXPECT_EQ(errorCode(aliceSends(Method::Connect, peer("10.0.0.7:80"))), 403);
}

TEST_F(TcpRelay, ConnectFailureIs447AndForgetsThePeer) {
  allocateTcp();
  const std::uint32_t id = connect(kPeer);
  EXPECT_FALSE(server->onPeerConnected(id, -1));
  EXPECT_EQ(errorCode(lastToClient()), 447);
  EXPECT_FALSE(registry.contains(id));
  EXPECT_NE(connect(kPeer), id);  // may try again: no 446
}

TEST_F(TcpRelay, ConnectionBindOnAnotherConnectionClaimsThePeerOnce) {
  allocateTcp();
  const std::uint32_t id = connect(kPeer);
  ASSERT_TRUE(server->onPeerConnected(id, 77));
  // Another user cannot claim alice's connection.
  EXPECT_EQ(errorCode(connectionBind(id, kDataConnection, "bob", "bob-pw")), 400);
  const auto bound = connectionBind(id);
  ASSERT_EQ(bound->messageClass(), stun::MessageClass::SuccessResponse) << errorCode(bound);
  ASSERT_EQ(network.bound.size(), 1U);
  EXPECT_EQ(network.bound[0].id, id);
  EXPECT_EQ(network.bound[0].handle, 77);
  EXPECT_EQ(network.bound[0].data_connection.client.toString(), kDataConnection);
  EXPECT_EQ(errorCode(connectionBind(id, "192.0.2.10:40002")), 400);     // already bound
  EXPECT_EQ(errorCode(connectionBind(12345, "192.0.2.10:40003")), 400);  // unknown id
  // The control connection itself carries an allocation: not a data connection.
  EXPECT_EQ(errorCode(connectionBind(id, "192.0.2.10:40000")), 400);
}

TEST_F(TcpRelay, UnclaimedConnectionsCloseAfter30Seconds) {
  allocateTcp();
  const std::uint32_t id = connect(kPeer);
  ASSERT_TRUE(server->onPeerConnected(id, 77));
  clock.advance(29s);
  server->expireAllocations();
  EXPECT_TRUE(network.closed_peers.empty());
  clock.advance(2s);
  server->expireAllocations();
  EXPECT_EQ(network.closed_peers, std::vector<std::uint32_t>{id});
  EXPECT_EQ(errorCode(connectionBind(id)), 400);
}

TEST_F(TcpRelay, InboundPeersNeedAPermissionAndAreAnnounced) {
  allocateTcp();
  const turn::RelaySocketId relay = *network.tcp_relays.begin();
  const auto peer_address = *stun::TransportAddress::parse("8.8.4.4:5555");
  EXPECT_FALSE(server->onPeerConnectionAccepted(relay, peer_address, 55));  // §5.3
  ASSERT_EQ(errorCode(aliceSends(Method::CreatePermission, peer("8.8.4.4:1"))), 0);
  ASSERT_TRUE(server->onPeerConnectionAccepted(relay, peer_address, 55));
  const auto attempt = lastToClient();
  EXPECT_EQ(attempt.method(), Method::ConnectionAttempt);
  EXPECT_EQ(attempt.messageClass(), stun::MessageClass::Indication);
  EXPECT_EQ(stun::decodeXorAddress(attempt.find(AttributeType::XorPeerAddress)->value,
                                   attempt.transactionId())
                .value(),
            peer_address);
  const std::uint32_t id =
      stun::decodeU32(attempt.find(AttributeType::ConnectionId)->value).value();
  const auto bound = connectionBind(id);
  EXPECT_EQ(bound->messageClass(), stun::MessageClass::SuccessResponse) << errorCode(bound);
  EXPECT_EQ(network.bound.back().handle, 55);
}

TEST_F(TcpRelay, DeletingTheAllocationClosesItsPeerConnections) {
  allocateTcp();
  const std::uint32_t pending = connect(kPeer);
  const std::uint32_t connected = connect("8.8.4.4:80");
  ASSERT_TRUE(server->onPeerConnected(connected, 78));
  ASSERT_EQ(
      errorCode(aliceSends(Method::Refresh, [](auto& b) { b.addU32(AttributeType::Lifetime, 0); })),
      0);
  EXPECT_EQ(network.closed_peers.size(), 2U);
  EXPECT_EQ(registry.size(), 0U);
  EXPECT_TRUE(core->connecting.empty());  // the Connect in flight is not kept
  // The connect still in flight finds nobody waiting: its socket is closed.
  EXPECT_FALSE(server->onPeerConnected(pending, 79));
  EXPECT_TRUE(network.open.empty());
}

// Peer connections cost file descriptors: limits.tcp_peers_per_allocation
// and limits.tcp_peers_per_user cap them (508 for Connect; an incoming peer
// is refused and counted).
TEST_F(TcpRelay, PeerConnectionsAreCappedPerAllocation) {
  core->settings.tcp_peers_per_allocation = 2;
  allocateTcp();
  EXPECT_NE(connect("8.8.8.8:80"), 0U);
  EXPECT_NE(connect("8.8.8.9:80"), 0U);
  EXPECT_EQ(errorCode(aliceSends(Method::Connect, peer("8.8.8.10:80"))), 508);
  ASSERT_EQ(errorCode(aliceSends(Method::CreatePermission, peer("8.8.4.4:1"))), 0);
  const turn::RelaySocketId relay = *network.tcp_relays.begin();
  EXPECT_FALSE(
      server->onPeerConnectionAccepted(relay, *stun::TransportAddress::parse("8.8.4.4:5555"), 55));
  EXPECT_EQ(server->counters().tcp_peers_refused, 1U);
}

TEST_F(TcpRelay, PeerConnectionsAreCappedPerUser) {
  core->settings.tcp_peers_per_user = 2;
  allocateTcp();
  const std::uint32_t first = connect("8.8.8.8:80");
  EXPECT_NE(connect("8.8.8.9:80"), 0U);
  EXPECT_EQ(errorCode(aliceSends(Method::Connect, peer("8.8.8.10:80"))), 508);
  EXPECT_FALSE(server->onPeerConnected(first, -1));  // failed: its slot comes back
  EXPECT_NE(connect("8.8.8.10:80"), 0U);
  EXPECT_EQ(registry.size(), 2U);
}

// The deferred Connect answer is signed with the key the Connect request
// was checked with: after a REST secret rotation that is not the key the
// allocation was made with.
TEST_F(TcpRelay, ConnectAnswerIsSignedWithTheRequestsKey) {
  const std::string user = restUsername(std::chrono::hours{1});
  const std::string old_password = auth::RestCredentials::passwordFor("old-secret", user);
  const std::string new_password = auth::RestCredentials::passwordFor(kSecret, user);
  const auto allocated =
      send(request(Method::Allocate, tcpAllocate(), user, old_password, nonceFor()));
  ASSERT_EQ(allocated->messageClass(), stun::MessageClass::SuccessResponse) << errorCode(allocated);
  EXPECT_FALSE(send(request(Method::Connect, peer(kPeer), user, new_password, nonceFor()))
                   .has_value());  // answered once the peer is reached
  ASSERT_TRUE(server->onPeerConnected(network.connects.back().id, 77));
  const auto answer = lastToClient();
  const auto key = stun::longTermKey(stun::PasswordAlgorithmId::Md5, user, kRealm, new_password);
  EXPECT_EQ(stun::verifyMessageIntegrity(answer, *key), stun::IntegrityCheck::Ok);
}

}  // namespace
}  // namespace turnpike::testing
