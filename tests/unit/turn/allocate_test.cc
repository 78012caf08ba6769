// RFC 8656 §7 Allocate and §8 Refresh, with the fake clock and network.

#include "tests/unit/turn/turn_fixture.h"

namespace turnpike::testing {
namespace {

using stun::AttributeType;
using stun::Method;
using namespace std::chrono_literals;

class Allocate : public TurnFixture {};

std::uint32_t lifetimeOf(const std::optional<stun::MessageView>& r) {
  return stun::decodeU32(r->find(AttributeType::Lifetime)->value).value();
}

TEST_F(Allocate, SuccessCarriesRelayedMappedAndLifetime) {
  const auto r = aliceSends(Method::Allocate, udpAllocate());
  ASSERT_EQ(r->messageClass(), stun::MessageClass::SuccessResponse) << errorCode(r);
  const auto relayed =
      stun::decodeXorAddress(r->find(AttributeType::XorRelayedAddress)->value, last_tid).value();
  // The advertised (external) address, on a port from the range.
  EXPECT_EQ(relayed.toString().substr(0, 13), "198.51.100.1:");
  EXPECT_GE(relayed.port, 50000);
  EXPECT_LE(relayed.port, 50099);
  const auto mapped =
      stun::decodeXorAddress(r->find(AttributeType::XorMappedAddress)->value, last_tid).value();
  EXPECT_EQ(mapped.toString(), "192.0.2.10:40000");
  EXPECT_EQ(lifetimeOf(r), 600U);
  // The relay socket is bound on the bind address, same port.
  ASSERT_EQ(network.open.size(), 1U);
  EXPECT_EQ(network.open.begin()->second.toString(), "10.1.1.1:" + std::to_string(relayed.port));
  EXPECT_EQ(pool->inUse(), 1U);
}

TEST_F(Allocate, LifetimeIsClampedBetweenDefaultAndMaximum) {
  const auto longer = aliceSends(
      Method::Allocate, udpAllocate([](auto& b) { b.addU32(AttributeType::Lifetime, 7200); }));
  EXPECT_EQ(lifetimeOf(longer), 3600U);
  const auto shorter = aliceSends(
      Method::Allocate, udpAllocate([](auto& b) { b.addU32(AttributeType::Lifetime, 10); }),
      "192.0.2.10:40001");
  EXPECT_EQ(lifetimeOf(shorter), 600U);
}

TEST_F(Allocate, RetransmissionGetsTheSameAnswerOtherTransactionsGet437) {
  const auto tid = nextTid();
  const auto first =
      send(request(Method::Allocate, udpAllocate(), "alice", "alice-pw", nonceFor(), tid));
  const auto relayed1 =
      stun::decodeXorAddress(first->find(AttributeType::XorRelayedAddress)->value, tid).value();
  const auto again =
      send(request(Method::Allocate, udpAllocate(), "alice", "alice-pw", nonceFor(), tid));
  ASSERT_EQ(again->messageClass(), stun::MessageClass::SuccessResponse);
  EXPECT_EQ(
      stun::decodeXorAddress(again->find(AttributeType::XorRelayedAddress)->value, tid).value(),
      relayed1);
  EXPECT_EQ(network.open.size(), 1U);
  EXPECT_EQ(errorCode(aliceSends(Method::Allocate, udpAllocate())), 437);
}

TEST_F(Allocate, RequestedTransportIsRequiredAndMustBeUdp) {
  EXPECT_EQ(errorCode(aliceSends(Method::Allocate, {})), 400);
  EXPECT_EQ(errorCode(aliceSends(Method::Allocate,
                                 [](auto& b) {
                                   b.add(AttributeType::RequestedTransport,
                                         stun::encodeRequestedTransport(stun::kProtocolTcp));
                                 })),
            442);
  EXPECT_EQ(network.open.size(), 0U);
}

TEST_F(Allocate, Ipv6RelayWithoutAnIpv6RelayAddressIs440) {
  EXPECT_EQ(errorCode(aliceSends(Method::Allocate, udpAllocate([](auto& b) {
                                   b.add(AttributeType::RequestedAddressFamily,
                                         stun::encodeAddressFamily(stun::AddressFamily::IPv6));
                                 }))),
            440);
}

TEST_F(Allocate, DualAllocationReportsTheIpv6HalfInAddressErrorCode) {
  const auto r = aliceSends(Method::Allocate, udpAllocate([](auto& b) {
                              b.add(AttributeType::AdditionalAddressFamily,
                                    stun::encodeAddressFamily(stun::AddressFamily::IPv6));
                            }));
  ASSERT_EQ(r->messageClass(), stun::MessageClass::SuccessResponse);
  const auto aec = stun::decodeAddressErrorCode(r->find(AttributeType::AddressErrorCode)->value);
  EXPECT_EQ(aec->family, stun::AddressFamily::IPv6);
  EXPECT_EQ(aec->code, 440);
}

// RFC 8656 §7.2 / RFC 6156: REQUESTED-ADDRESS-FAMILY IPv6 gets an IPv6
// relay (the client is on IPv4 here: families need not match).
TEST_F(Allocate, RequestedIpv6FamilyGetsAnIpv6Relay) {
  with_ipv6_relay = true;
  rebuild();
  const auto r = aliceSends(Method::Allocate, udpAllocate([](auto& b) {
                              b.add(AttributeType::RequestedAddressFamily,
                                    stun::encodeAddressFamily(stun::AddressFamily::IPv6));
                            }));
  ASSERT_EQ(r->messageClass(), stun::MessageClass::SuccessResponse) << errorCode(r);
  const auto relayed =
      stun::decodeXorAddress(r->find(AttributeType::XorRelayedAddress)->value, last_tid).value();
  EXPECT_EQ(relayed.family, stun::AddressFamily::IPv6);
  EXPECT_EQ(pool6->inUse(), 1U);
  EXPECT_EQ(pool->inUse(), 0U);
  // §9.1: a peer of the other family is 443; one of this family is fine.
  const auto permit = [&](const char* peer) {
    return errorCode(aliceSends(Method::CreatePermission, [peer](auto& b) {
      b.addXorAddress(AttributeType::XorPeerAddress, *stun::TransportAddress::parse(peer));
    }));
  };
  EXPECT_EQ(permit("8.8.8.8:53"), 443);
  EXPECT_EQ(permit("[2a00:1450:4001::5]:5000"), 0);
}

TEST_F(Allocate, DualAllocationGetsBothFamiliesAndSendsEachFromItsSocket) {
  with_ipv6_relay = true;
  rebuild();
  const auto r = aliceSends(Method::Allocate, udpAllocate([](auto& b) {
                              b.add(AttributeType::AdditionalAddressFamily,
                                    stun::encodeAddressFamily(stun::AddressFamily::IPv6));
                            }));
  ASSERT_EQ(r->messageClass(), stun::MessageClass::SuccessResponse) << errorCode(r);
  EXPECT_FALSE(r->find(AttributeType::AddressErrorCode).has_value());
  std::vector<stun::TransportAddress> relayed;
  r->forEachAttribute([&](const stun::RawAttribute& attr) {
    if (attr.type == static_cast<std::uint16_t>(AttributeType::XorRelayedAddress)) {
      relayed.push_back(stun::decodeXorAddress(attr.value, last_tid).value());
    }
    return true;
  });
  ASSERT_EQ(relayed.size(), 2U);
  EXPECT_EQ(relayed[0].family, stun::AddressFamily::IPv4);
  EXPECT_EQ(relayed[1].family, stun::AddressFamily::IPv6);
  ASSERT_EQ(network.open.size(), 2U);
  for (const char* peer : {"8.8.8.8:53", "[2a00:1450:4001::5]:5000"}) {
    ASSERT_EQ(errorCode(aliceSends(Method::CreatePermission,
                                   [peer](auto& b) {
                                     b.addXorAddress(AttributeType::XorPeerAddress,
                                                     *stun::TransportAddress::parse(peer));
                                   })),
              0)
        << peer;
  }
  // Refresh naming either family is accepted (§8.2), and 0 deletes both halves.
  EXPECT_EQ(errorCode(aliceSends(Method::Refresh,
                                 [](auto& b) {
                                   b.add(AttributeType::RequestedAddressFamily,
                                         stun::encodeAddressFamily(stun::AddressFamily::IPv6));
                                 })),
            0);
  EXPECT_EQ(
      errorCode(aliceSends(Method::Refresh, [](auto& b) { b.addU32(AttributeType::Lifetime, 0); })),
      0);
  EXPECT_TRUE(network.open.empty());
  EXPECT_EQ(pool->inUse(), 0U);
  EXPECT_EQ(pool6->inUse(), 0U);
}

TEST_F(Allocate, EvenPortWithReservationAndTheTokenThatClaimsIt) {
  const auto r = aliceSends(Method::Allocate, udpAllocate([](auto& b) {
                              b.add(AttributeType::EvenPort, stun::encodeEvenPort(true));
                            }));
  ASSERT_EQ(r->messageClass(), stun::MessageClass::SuccessResponse) << errorCode(r);
  const auto port =
      stun::decodeXorAddress(r->find(AttributeType::XorRelayedAddress)->value, last_tid)->port;
  EXPECT_EQ(port % 2, 0);
  const auto token =
      stun::decodeReservationToken(r->find(AttributeType::ReservationToken)->value).value();
  EXPECT_EQ(pool->inUse(), 2U);

  const auto claim =
      aliceSends(Method::Allocate, udpAllocate([token](auto& b) {
                   b.add(AttributeType::ReservationToken, stun::encodeReservationToken(token));
                 }),
                 "192.0.2.10:40002");
  ASSERT_EQ(claim->messageClass(), stun::MessageClass::SuccessResponse) << errorCode(claim);
  EXPECT_EQ(
      stun::decodeXorAddress(claim->find(AttributeType::XorRelayedAddress)->value, last_tid)->port,
      port + 1);
  // A token is good once.
  EXPECT_EQ(errorCode(aliceSends(Method::Allocate, udpAllocate([token](auto& b) {
                                   b.add(AttributeType::ReservationToken,
                                         stun::encodeReservationToken(token));
                                 }),
                                 "192.0.2.10:40003")),
            508);
}

TEST_F(Allocate, ReservationTokenWithEvenPortIsABadRequest) {
  EXPECT_EQ(errorCode(aliceSends(Method::Allocate, udpAllocate([](auto& b) {
                                   b.add(AttributeType::EvenPort, stun::encodeEvenPort(false));
                                   b.add(AttributeType::ReservationToken,
                                         stun::encodeReservationToken(1));
                                 }))),
            400);
}

TEST_F(Allocate, DontFragmentReachesTheRelaySocket) {
  aliceSends(Method::Allocate,
             udpAllocate([](auto& b) { b.add(AttributeType::DontFragment, {}); }));
  EXPECT_TRUE(network.last_dont_fragment);
}

TEST_F(Allocate, PerUserQuotaGives486) {
  rebuild({}, 2);
  allocate("192.0.2.10:1");
  allocate("192.0.2.10:2");
  const auto r =
      send(request(Method::Allocate, udpAllocate(), "alice", "alice-pw", nonceFor("192.0.2.10:3")),
           "192.0.2.10:3");
  EXPECT_EQ(errorCode(r), 486);
  EXPECT_EQ(server->counters().auth_quota, 1U);
  // Another user is not affected.
  allocate("192.0.2.10:4", "bob", "bob-pw");
}

TEST_F(Allocate, TotalQuotaAndPortExhaustionGive508) {
  rebuild({}, 10, 1);
  allocate("192.0.2.10:1");
  EXPECT_EQ(errorCode(send(
                request(Method::Allocate, udpAllocate(), "bob", "bob-pw", nonceFor("192.0.2.10:2")),
                "192.0.2.10:2")),
            508);
  rebuild({}, 10, 100, 50000, 50001);
  allocate("192.0.2.11:1");
  allocate("192.0.2.11:2", "bob", "bob-pw");
  EXPECT_EQ(errorCode(send(request(Method::Allocate, udpAllocate(), "alice", "alice-pw",
                                   nonceFor("192.0.2.11:3")),
                           "192.0.2.11:3")),
            508);
}

TEST_F(Allocate, PortsHeldByOthersAreSkipped) {
  rebuild({}, 10, 100, 50000, 50003);
  network.taken_ports = {50000, 50001, 50002};
  EXPECT_EQ(allocate().port, 50003);
  EXPECT_EQ(pool->inUse(), 1U);  // the refused ports went back
}

TEST_F(Allocate, ExpiresExactlyAtItsLifetime) {
  allocate();
  clock.advance(600s - 1ms);
  server->expireAllocations();
  EXPECT_EQ(server->allocationCount(), 1U);
  clock.advance(1ms);
  server->expireAllocations();
  EXPECT_EQ(server->allocationCount(), 0U);
  EXPECT_TRUE(network.open.empty());
  EXPECT_EQ(pool->inUse(), 0U);
  EXPECT_EQ(quotas->total(), 0U);
}

TEST_F(Allocate, RefreshExtendsAndZeroDeletes) {
  allocate();
  clock.advance(500s);
  const auto r =
      aliceSends(Method::Refresh, [](auto& b) { b.addU32(AttributeType::Lifetime, 900); });
  ASSERT_EQ(r->messageClass(), stun::MessageClass::SuccessResponse) << errorCode(r);
  EXPECT_EQ(lifetimeOf(r), 900U);
  clock.advance(800s);  // past the original 600 s
  server->expireAllocations();
  EXPECT_EQ(server->allocationCount(), 1U);

  const auto gone =
      aliceSends(Method::Refresh, [](auto& b) { b.addU32(AttributeType::Lifetime, 0); });
  EXPECT_EQ(gone->messageClass(), stun::MessageClass::SuccessResponse);
  EXPECT_EQ(lifetimeOf(gone), 0U);
  EXPECT_EQ(server->allocationCount(), 0U);
  EXPECT_TRUE(network.open.empty());
}

TEST_F(Allocate, RefreshWithoutAllocationIs437AndByAnotherUser441) {
  EXPECT_EQ(errorCode(aliceSends(Method::Refresh, {})), 437);
  allocate();
  const auto r = send(request(Method::Refresh, {}, "bob", "bob-pw", nonceFor()));
  EXPECT_EQ(errorCode(r), 441);
}

TEST_F(Allocate, RefreshWithTheOtherFamilyIs443) {
  allocate();
  EXPECT_EQ(errorCode(aliceSends(Method::Refresh,
                                 [](auto& b) {
                                   b.add(AttributeType::RequestedAddressFamily,
                                         stun::encodeAddressFamily(stun::AddressFamily::IPv6));
                                 })),
            443);
}

}  // namespace
}  // namespace turnpike::testing
