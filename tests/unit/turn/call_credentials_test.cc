// TURN credentials bound to a call (control-plane.md "Bound to the call"):
// the expiry gates new Allocates only, a live call's allocation keeps
// refreshing, and a revoked call's credentials are refused outright.

#include "tests/unit/turn/turn_fixture.h"

namespace turnpike::testing {
namespace {

using stun::Method;
using namespace std::chrono_literals;

constexpr const char* kCallId = "0b7f5e2c-1d2a-4c3b-9e8f-0123456789ab";

class CallCredentialsTest : public TurnFixture {
 protected:
  std::string callUsername(std::chrono::seconds valid_for, const char* call_id = kCallId) {
    return std::to_string((clock.unixTime() + valid_for).count()) + ":" + call_id + ":p-1";
  }
  std::optional<stun::MessageView> allocate(const std::string& user,
                                            const char* client = "192.0.2.10:40000") {
    return send(request(Method::Allocate, udpAllocate(), user,
                        auth::RestCredentials::passwordFor(kCallSecret, user), nonceFor(client)),
                client);
  }
  std::optional<stun::MessageView> refresh(const std::string& user) {
    return send(request(Method::Refresh, {}, user,
                        auth::RestCredentials::passwordFor(kCallSecret, user), nonceFor()));
  }
  std::string callOfTheAllocation() {
    std::string id;
    server->forEachAllocation([&](const turn::Allocation& a) { id = a.call_id; });
    return id;
  }
};

TEST(CallIdOfUsername, OnlyAUuidBetweenTheExpiryAndTheParticipantNamesACall) {
  EXPECT_EQ(auth::callIdOfUsername(std::string("1700000000:") + kCallId + ":p-1"), kCallId);
  EXPECT_FALSE(auth::callIdOfUsername("1700000000:alice"));
  EXPECT_FALSE(auth::callIdOfUsername(std::string("1700000000:") + kCallId));  // no participant
  EXPECT_FALSE(auth::callIdOfUsername(std::string("1700000000:") + kCallId + ":"));
  EXPECT_FALSE(auth::callIdOfUsername("1700000000:0B7F5E2C-1D2A-4C3B-9E8F-0123456789AB:p"));
  EXPECT_FALSE(auth::callIdOfUsername("1700000000:not-a-uuid-at-all-but-36-characters:p"));
}

TEST_F(CallCredentialsTest, AnAllocationNamesItsCall) {
  const auto r = allocate(callUsername(300s));
  ASSERT_EQ(r->messageClass(), stun::MessageClass::SuccessResponse);
  EXPECT_EQ(callOfTheAllocation(), kCallId);
}

TEST_F(CallCredentialsTest, PastTheExpiryItRefreshesButCannotAllocate) {
  const auto user = callUsername(300s);
  ASSERT_EQ(allocate(user)->messageClass(), stun::MessageClass::SuccessResponse);
  clock.advance(301s);
  EXPECT_EQ(refresh(user)->messageClass(), stun::MessageClass::SuccessResponse);
  EXPECT_EQ(errorCode(allocate(user, "192.0.2.11:40000")), 401);
}

TEST_F(CallCredentialsTest, PastTheCallsMaxDurationItCannotRefresh) {
  const auto user = callUsername(300s);
  ASSERT_EQ(allocate(user)->messageClass(), stun::MessageClass::SuccessResponse);
  clock.advance(300s + 4h);
  EXPECT_EQ(errorCode(refresh(user)), 401);
}

TEST_F(CallCredentialsTest, ARevokedCallIsRefusedAndItsAllocationsGo) {
  const auto user = callUsername(300s);
  ASSERT_EQ(allocate(user)->messageClass(), stun::MessageClass::SuccessResponse);
  revocations->add(kCallId, clock.unixTime() + 5h);
  EXPECT_EQ(errorCode(refresh(user)), 401);
  EXPECT_EQ(server->counters().auth_call_ended, 1U);
  const auto deleted =
      server->deleteAllocationsWhere([](const turn::Allocation& a) { return a.call_id == kCallId; },
                                     turn::DeletionReason::CallEnded);
  EXPECT_EQ(deleted, 1U);
  ASSERT_EQ(observer.deleted.size(), 1U);
  EXPECT_EQ(observer.deleted[0].second, turn::DeletionReason::CallEnded);
  EXPECT_EQ(turn::deletionReasonName(turn::DeletionReason::CallEnded), "call_ended");
  // The allocation is gone: a Refresh learns that (437); a new Allocate
  // with the call's credentials is refused (401).
  EXPECT_EQ(errorCode(refresh(user)), 437);
  EXPECT_EQ(errorCode(allocate(user)), 401);
}

TEST_F(CallCredentialsTest, ARevocationEndsWhenItsTimeIsUp) {
  revocations->add(kCallId, clock.unixTime() + 10s);
  EXPECT_TRUE(revocations->revoked(kCallId, clock.unixTime()));
  EXPECT_FALSE(revocations->revoked(kCallId, clock.unixTime() + 10s));
  EXPECT_FALSE(revocations->revoked("another", clock.unixTime()));
}

// The REST provider shares the secret but leaves call usernames alone: it
// knows nothing of revocations.
TEST_F(CallCredentialsTest, RestCredentialsDoNotTakeCallUsernames) {
  auth::RestCredentials rest({kCallSecret}, 24h, /*calls_elsewhere=*/true);
  std::vector<auth::Credential> found;
  EXPECT_EQ(rest.lookup(callUsername(300s), kRealm, stun::PasswordAlgorithmId::Md5,
                        clock.unixTime(), found),
            auth::LookupFailure::UnknownUser);
  auth::RestCredentials plain({kCallSecret}, 24h);
  EXPECT_FALSE(plain.lookup(callUsername(300s), kRealm, stun::PasswordAlgorithmId::Md5,
                            clock.unixTime(), found));
}

}  // namespace
}  // namespace turnpike::testing
