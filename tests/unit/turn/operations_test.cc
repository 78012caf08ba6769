// What the operations side asks of the protocol layer: interim usage
// records on time, deleting a user's allocations (admin kick), and taking
// reloaded credentials while open allocations stay.

#include "tests/unit/turn/turn_fixture.h"

namespace turnpike::testing {
namespace {

using stun::Method;

class Operations : public TurnFixture {};

TEST_F(Operations, UsageRecordsComeEveryIntervalWithTrafficSoFar) {
  turn::TurnSettings settings;
  settings.usage_interval = std::chrono::seconds{60};
  rebuild(settings);
  allocate();
  clock.advance(std::chrono::seconds{59});
  server->reportUsage();
  EXPECT_TRUE(observer.usage.empty());
  clock.advance(std::chrono::seconds{1});
  server->reportUsage();
  ASSERT_EQ(observer.usage.size(), 1U);
  server->reportUsage();  // not again in the same interval
  EXPECT_EQ(observer.usage.size(), 1U);
  clock.advance(std::chrono::seconds{60});
  server->reportUsage();
  ASSERT_EQ(observer.usage.size(), 2U);
  EXPECT_EQ(observer.usage[0].id, observer.usage[1].id);
  EXPECT_NE(observer.usage[0].id, 0U);
}

TEST_F(Operations, NoIntervalNoInterimRecords) {
  allocate();  // usage_interval defaults to 0
  clock.advance(std::chrono::minutes{9});
  server->reportUsage();
  EXPECT_TRUE(observer.usage.empty());
}

TEST_F(Operations, KickDeletesOneUsersAllocationsAndTheirRefreshGets437) {
  allocate("192.0.2.10:40000", "alice", "alice-pw");
  allocate("192.0.2.11:40000", "bob", "bob-pw");
  allocate("192.0.2.12:40000", "alice", "alice-pw");
  const std::size_t kicked = server->deleteAllocationsWhere(
      [](const turn::Allocation& a) { return a.user_id == "alice"; });
  EXPECT_EQ(kicked, 2U);
  ASSERT_EQ(observer.deleted.size(), 2U);
  EXPECT_EQ(observer.deleted[0].second, turn::DeletionReason::Admin);
  EXPECT_EQ(pool->inUse(), 1U);  // alice's ports came back
  const auto refresh = aliceSends(Method::Refresh, [](stun::MessageBuilder& b) {
    b.addU32(stun::AttributeType::Lifetime, 600);
  });
  EXPECT_EQ(errorCode(refresh), 437);
  EXPECT_TRUE(server->hasAllocation(tupleFor("192.0.2.11:40000")));
}

TEST_F(Operations, AllocationIdsAreDistinct) {
  allocate("192.0.2.10:40000");
  allocate("192.0.2.11:40000");
  std::vector<std::uint64_t> ids;
  server->forEachAllocation([&](const turn::Allocation& a) { ids.push_back(a.id); });
  ASSERT_EQ(ids.size(), 2U);
  EXPECT_NE(ids[0], ids[1]);
}

TEST_F(Operations, ReloadedCredentialsApplyToNewRequestsOnly) {
  allocate("192.0.2.10:40000", "alice", "alice-pw");
  std::vector<std::shared_ptr<const auth::CredentialProvider>> providers;
  providers.push_back(
      std::make_shared<auth::StaticUsers>(std::map<std::string, std::string>{{"bob", "bob-pw"}}));
  std::array<std::uint8_t, 32> key{};
  key.fill(7);  // the same nonce key: nonces handed out before stay valid
  const auth::Authenticator reloaded(kRealm, auth::NonceCodec(key, std::chrono::minutes{10}),
                                     std::move(providers));
  turn::TurnSettings settings;
  settings.max_lifetime = std::chrono::seconds{1200};
  core->reload(settings, reloaded, *policy);

  EXPECT_TRUE(server->hasAllocation(tupleFor("192.0.2.10:40000")));  // kept
  const auto refused = send(
      request(Method::Allocate, udpAllocate(), "alice", "alice-pw", nonceFor("192.0.2.20:40000")),
      "192.0.2.20:40000");
  EXPECT_EQ(errorCode(refused), 401);
  allocate("192.0.2.21:40000", "bob", "bob-pw");
  EXPECT_EQ(core->settings.max_lifetime, std::chrono::seconds{1200});
}

}  // namespace
}  // namespace turnpike::testing
