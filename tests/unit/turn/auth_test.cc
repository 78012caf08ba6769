// The long-term credential mechanism as TURN clients meet it: 401 challenge,
// REST and static credentials, stale nonces, SHA-256 negotiation, USERHASH,
// and rate-limited unauthenticated answers.

#include "relay/stun/integrity.h"
#include "relay/stun/long_term_key.h"
#include "tests/unit/turn/turn_fixture.h"

namespace turnpike::testing {
namespace {

using stun::AttributeType;
using stun::Method;
using namespace std::chrono_literals;

class Auth : public TurnFixture {};

TEST_F(Auth, FirstAllocateIsChallengedWithRealmNonceAndAlgorithms) {
  const auto r = send(request(Method::Allocate, udpAllocate()));
  EXPECT_EQ(errorCode(r), 401);
  EXPECT_EQ(stun::decodeText(AttributeType::Realm, r->find(AttributeType::Realm)->value).value(),
            kRealm);
  const auto nonce =
      stun::decodeText(AttributeType::Nonce, r->find(AttributeType::Nonce)->value).value();
  EXPECT_EQ(nonce.substr(0, 13), "obMatJos2AAAD");  // cookie + both feature bits
  EXPECT_TRUE(r->has(AttributeType::PasswordAlgorithms));
  EXPECT_FALSE(r->has(AttributeType::MessageIntegrity));
  EXPECT_EQ(network.open.size(), 0U);  // no state for an unauthenticated client
}

TEST_F(Auth, NonceFromTheChallengeWorks) {
  const auto challenge = send(request(Method::Allocate, udpAllocate()));
  const std::string nonce(
      stun::decodeText(AttributeType::Nonce, challenge->find(AttributeType::Nonce)->value).value());
  const auto r = send(request(Method::Allocate, udpAllocate(), "alice", "alice-pw", nonce));
  ASSERT_EQ(r->messageClass(), stun::MessageClass::SuccessResponse) << errorCode(r);
  // The response is signed with alice's key.
  const auto key = stun::longTermKey(stun::PasswordAlgorithmId::Md5, "alice", kRealm, "alice-pw");
  EXPECT_EQ(stun::verifyMessageIntegrity(*r, *key), stun::IntegrityCheck::Ok);
}

TEST_F(Auth, WrongPasswordGets401AndIsCounted) {
  const auto r = send(request(Method::Allocate, udpAllocate(), "alice", "not-her-pw", nonceFor()));
  EXPECT_EQ(errorCode(r), 401);
  EXPECT_TRUE(r->has(AttributeType::Nonce));
  EXPECT_EQ(server->counters().auth_bad_integrity, 1U);
  EXPECT_EQ(server->allocationCount(), 0U);
}

TEST_F(Auth, UnknownUserGets401) {
  const auto r = send(request(Method::Allocate, udpAllocate(), "mallory", "x", nonceFor()));
  EXPECT_EQ(errorCode(r), 401);
  EXPECT_EQ(server->counters().auth_unknown_user, 1U);
}

TEST_F(Auth, StaticUserWithAPrecomputedKey) {
  const auto key = stun::longTermKey(stun::PasswordAlgorithmId::Md5, "erin", kRealm, "erin-pw");
  std::string hex = "0x";
  for (const auto byte : *key) {
    const char* digits = "0123456789abcdef";
    hex += digits[byte >> 4];
    hex += digits[byte & 15];
  }
  EXPECT_EQ(auth::StaticUsers::precomputedKey(hex), key);
  EXPECT_FALSE(auth::StaticUsers::precomputedKey("0xnothex").has_value());
  const auth::StaticUsers users({{"erin", hex}});
  std::vector<auth::Credential> found;
  EXPECT_FALSE(users.lookup("erin", kRealm, stun::PasswordAlgorithmId::Md5, {}, found).has_value());
  ASSERT_EQ(found.size(), 1U);
  EXPECT_EQ(found[0].key, *key);
}

TEST_F(Auth, RestCredentialsUnderEitherSecret) {
  for (const char* secret : {"old-secret", kSecret}) {
    const auto user = restUsername(1h, std::string("dave:") + secret);  // user ids may hold ':'
    const auto password = auth::RestCredentials::passwordFor(secret, user);
    const char* client = secret == kSecret ? "192.0.2.10:1" : "192.0.2.10:2";
    const auto r =
        send(request(Method::Allocate, udpAllocate(), user, password, nonceFor(client)), client);
    EXPECT_EQ(r->messageClass(), stun::MessageClass::SuccessResponse) << secret;
  }
  EXPECT_EQ(server->allocationCount(), 2U);
}

TEST_F(Auth, ExpiredRestUsernameGets401) {
  const auto user = restUsername(-1s);
  const auto r = send(request(Method::Allocate, udpAllocate(), user,
                              auth::RestCredentials::passwordFor(kSecret, user), nonceFor()));
  EXPECT_EQ(errorCode(r), 401);
  EXPECT_EQ(server->counters().auth_expired_username, 1U);
}

TEST_F(Auth, RestUsernameBeyondMaxTtlGets401) {
  const auto user = restUsername(25h);
  const auto r = send(request(Method::Allocate, udpAllocate(), user,
                              auth::RestCredentials::passwordFor(kSecret, user), nonceFor()));
  EXPECT_EQ(errorCode(r), 401);
}

TEST_F(Auth, ExpiredRestUsernameMidAllocationCannotRefresh) {
  const auto user = restUsername(60s);
  const auto password = auth::RestCredentials::passwordFor(kSecret, user);
  const auto ok = send(request(Method::Allocate, udpAllocate(), user, password, nonceFor()));
  ASSERT_EQ(ok->messageClass(), stun::MessageClass::SuccessResponse);
  clock.advance(61s);
  const auto r = send(request(Method::Refresh, {}, user, password, nonceFor()));
  EXPECT_EQ(errorCode(r), 401);  // expiry is checked on every request
}

TEST_F(Auth, NonceGoesStaleAfterItsLifetime) {
  const std::string nonce = nonceFor();
  clock.advance(10min - 1s);
  const auto fresh = send(request(Method::Allocate, udpAllocate(), "alice", "alice-pw", nonce));
  EXPECT_EQ(fresh->messageClass(), stun::MessageClass::SuccessResponse);
  clock.advance(1s);
  const auto stale = send(request(Method::Refresh, {}, "alice", "alice-pw", nonce));
  EXPECT_EQ(errorCode(stale), 438);
  EXPECT_TRUE(stale->has(AttributeType::Nonce));
  EXPECT_TRUE(stale->has(AttributeType::Realm));
  EXPECT_EQ(server->counters().auth_stale_nonce, 1U);
}

TEST_F(Auth, NonceIsBoundToTheClientAddress) {
  const auto r = send(
      request(Method::Allocate, udpAllocate(), "alice", "alice-pw", nonceFor("192.0.2.99:40000")));
  EXPECT_EQ(errorCode(r), 438);
}

TEST_F(Auth, IntegrityWithoutNonceIsABadRequest) {
  std::array<std::uint8_t, 256> buf{};
  stun::MessageBuilder b(buf, {Method::Allocate, stun::MessageClass::Request}, nextTid());
  b.add(AttributeType::RequestedTransport, stun::encodeRequestedTransport(stun::kProtocolUdp));
  b.addText(AttributeType::Username, "alice");
  b.addText(AttributeType::Realm, kRealm);
  const std::uint8_t key[] = {1};
  b.addMessageIntegrity(key);
  EXPECT_EQ(errorCode(send({b.bytes().begin(), b.bytes().end()})), 400);
}

std::vector<std::uint8_t> sha256Request(stun::TransactionId tid, const std::string& nonce,
                                        bool use_userhash, bool tamper_algorithms) {
  std::array<std::uint8_t, 512> buf{};
  stun::MessageBuilder b(buf, {Method::Allocate, stun::MessageClass::Request}, tid);
  b.add(AttributeType::RequestedTransport, stun::encodeRequestedTransport(stun::kProtocolUdp));
  if (use_userhash) {
    b.add(AttributeType::Userhash, *stun::userHash("alice", kRealm));
  } else {
    b.addText(AttributeType::Username, "alice");
  }
  b.addText(AttributeType::Realm, kRealm);
  b.addText(AttributeType::Nonce, nonce);
  auto algorithms = auth::Authenticator::passwordAlgorithmsValue();
  std::vector<std::uint8_t> list(algorithms.begin(), algorithms.end());
  if (tamper_algorithms) list.resize(4);  // a downgrade: MD5 only
  b.add(AttributeType::PasswordAlgorithms, list);
  const std::uint8_t sha256[] = {0x00, 0x02, 0x00, 0x00};
  b.add(AttributeType::PasswordAlgorithm, sha256);
  const auto key =
      stun::longTermKey(stun::PasswordAlgorithmId::Sha256, "alice", kRealm, "alice-pw");
  b.addMessageIntegritySha256(*key);
  return {b.bytes().begin(), b.bytes().end()};
}

TEST_F(Auth, Sha256IntegrityAfterNegotiation) {
  const auto r = send(sha256Request(nextTid(), nonceFor(), false, false));
  ASSERT_EQ(r->messageClass(), stun::MessageClass::SuccessResponse) << errorCode(r);
  const auto key =
      stun::longTermKey(stun::PasswordAlgorithmId::Sha256, "alice", kRealm, "alice-pw");
  EXPECT_EQ(stun::verifyMessageIntegritySha256(*r, *key), stun::IntegrityCheck::Ok);
  EXPECT_FALSE(r->has(AttributeType::MessageIntegrity));
}

TEST_F(Auth, UserhashInsteadOfUsername) {
  const auto r = send(sha256Request(nextTid(), nonceFor(), true, false));
  EXPECT_EQ(r->messageClass(), stun::MessageClass::SuccessResponse) << errorCode(r);
}

TEST_F(Auth, AlteredPasswordAlgorithmsIsRefused) {
  EXPECT_EQ(errorCode(send(sha256Request(nextTid(), nonceFor(), false, true))), 400);
}

TEST_F(Auth, UnauthenticatedAnswersAreRateLimitedPerSourceIp) {
  // Default: 10 per second per IP, whatever the source port.
  int answered = 0;
  for (int port = 1; port <= 50; ++port) {
    const std::string client = "203.0.113.5:" + std::to_string(port);
    if (send(request(Method::Allocate, udpAllocate()), client.c_str())) ++answered;
  }
  EXPECT_EQ(answered, 10);
  EXPECT_EQ(server->counters().rate_limited, 40U);
  // Another IP has its own budget, and the budget refills with time.
  EXPECT_TRUE(send(request(Method::Allocate, udpAllocate()), "203.0.113.6:1").has_value());
  clock.advance(1s);
  EXPECT_TRUE(send(request(Method::Allocate, udpAllocate()), "203.0.113.5:1").has_value());
}

// Forged requests from a victim's address use up the victim's budget; a
// 438 to a request whose integrity checked out is still sent, so the victim
// gets its fresh nonce and keeps its allocation.
TEST_F(Auth, StaleNonceAnswersToGoodIntegrityAreNotRateLimited) {
  const char* victim = "203.0.113.5:40000";
  const std::string nonce = nonceFor(victim);
  for (int i = 0; i < 50; ++i) {
    send(request(Method::Allocate, udpAllocate()), "203.0.113.5:1");  // forged
  }
  clock.advance(10min);  // the victim's nonce is stale; the budget of this second is gone
  for (int i = 0; i < 50; ++i) {
    send(request(Method::Allocate, udpAllocate()), "203.0.113.5:1");
  }
  const auto stale =
      send(request(Method::Allocate, udpAllocate(), "alice", "alice-pw", nonce), victim);
  EXPECT_EQ(errorCode(stale), 438);
}

TEST_F(Auth, UnknownMethodAndUnknownAttributeAnswersAreRateLimitedToo) {
  int answered = 0;
  for (int port = 1; port <= 30; ++port) {
    const std::string client = "203.0.113.7:" + std::to_string(port);
    std::array<std::uint8_t, 64> buf{};
    stun::MessageBuilder b(buf, {static_cast<Method>(0x0FF), stun::MessageClass::Request},
                           nextTid());
    if (send({b.bytes().begin(), b.bytes().end()}, client.c_str())) ++answered;
    stun::MessageBuilder u(buf, {Method::Allocate, stun::MessageClass::Request}, nextTid());
    u.addU32(static_cast<AttributeType>(0x7F01), 1);  // comprehension-required, unknown
    if (send({u.bytes().begin(), u.bytes().end()}, client.c_str())) ++answered;
  }
  EXPECT_EQ(answered, 10);
  EXPECT_EQ(server->counters().rate_limited, 50U);
}

}  // namespace
}  // namespace turnpike::testing
