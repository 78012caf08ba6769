#include <gtest/gtest.h>

#include <cstring>
#include <set>

#include "relay/turn/peer_policy.h"
#include "relay/turn/relay_port_pool.h"
#include "relay/turn/source_rate_limiter.h"
#include "tests/support/fake_clock.h"

namespace turnpike::turn {
namespace {

using namespace std::chrono_literals;

stun::TransportAddress at(const char* text) { return *stun::TransportAddress::parse(text); }

TEST(PeerPolicy, AllowLoopbackIsTheTestSwitch) {
  const PeerPolicy strict(false, {}, {});
  const PeerPolicy tests(true, {}, {});
  EXPECT_FALSE(strict.permits(at("127.0.0.1:1")));
  EXPECT_TRUE(tests.permits(at("127.0.0.1:1")));
  EXPECT_TRUE(tests.permits(at("[::1]:1")));
  EXPECT_FALSE(tests.permits(at("10.0.0.1:1")));
  EXPECT_TRUE(strict.permits(at("8.8.8.8:1")));
}

TEST(PeerPolicy, ExplicitDenyBeatsAllowBeatsBuiltin) {
  const PeerPolicy p(false, {*IpPrefix::parse("10.1.0.0/16")},
                     {*IpPrefix::parse("10.1.2.0/24"), *IpPrefix::parse("8.8.8.8")});
  EXPECT_TRUE(p.permits(at("10.1.1.1:1")));
  EXPECT_FALSE(p.permits(at("10.1.2.1:1")));
  EXPECT_FALSE(p.permits(at("10.2.0.1:1")));
  EXPECT_FALSE(p.permits(at("8.8.8.8:1")));
}

TEST(PeerPolicy, TheHostsOwnAddressesAreRefusedUnlessAllowed) {
  const std::vector<IpPrefix> own = {*IpPrefix::parse("45.33.32.156"),
                                     *IpPrefix::parse("2600:3c01::f03c:91ff:fe18:bb2f")};
  const PeerPolicy p(false, {}, {}, own);
  EXPECT_FALSE(p.permits(at("45.33.32.156:3478")));
  EXPECT_FALSE(p.permits(at("45.33.32.156:22")));
  EXPECT_FALSE(p.permits(at("[2600:3c01::f03c:91ff:fe18:bb2f]:9641")));
  EXPECT_TRUE(p.permits(at("45.33.32.157:3478")));  // a neighbour is a peer like any other
  const PeerPolicy opened(false, {*IpPrefix::parse("45.33.32.156/32")}, {}, own);
  EXPECT_TRUE(opened.permits(at("45.33.32.156:3478")));
}

TEST(PeerPolicy, Ipv4HiddenInIpv6FormsIsRefused) {
  const PeerPolicy p(false, {}, {});
  for (const char* a : {"[::ffff:8.8.8.8]:1", "[::8.8.8.8]:1", "[64:ff9b::808:808]:1",
                        "[2002:808:808::1]:1", "[2001:0:4136:e378::1]:1"}) {
    EXPECT_FALSE(p.permits(at(a))) << a;
  }
  EXPECT_TRUE(p.permits(at("[2001:4860:4860::8888]:53")));
}

TEST(IpPrefix, ParsesAndMatches) {
  EXPECT_TRUE(IpPrefix::parse("100.64.0.0/10")->contains(at("100.127.255.255:1")));
  EXPECT_FALSE(IpPrefix::parse("100.64.0.0/10")->contains(at("100.128.0.0:1")));
  EXPECT_TRUE(IpPrefix::parse("fe80::/10")->contains(at("[febf::1]:1")));
  EXPECT_FALSE(IpPrefix::parse("10.0.0.0/33").has_value());
  EXPECT_FALSE(IpPrefix::parse("nonsense/8").has_value());
}

TEST(RelayPortPool, NeverHandsOutAPortTwice) {
  testing::FakeClock clock;
  RelayPortPool pool(50000, 50009, clock);
  std::set<std::uint16_t> seen;
  for (int i = 0; i < 10; ++i) {
    const auto p = pool.acquire(false, false, nullptr);
    ASSERT_TRUE(p.has_value());
    EXPECT_TRUE(seen.insert(*p).second);
  }
  EXPECT_FALSE(pool.acquire(false, false, nullptr).has_value());
  pool.release(50004);
  EXPECT_EQ(pool.acquire(false, false, nullptr), 50004);
}

TEST(RelayPortPool, ReservationsExpireAfterThirtySeconds) {
  testing::FakeClock clock;
  RelayPortPool pool(50000, 50001, clock);
  std::uint64_t token = 0;
  EXPECT_EQ(pool.acquire(true, true, &token), 50000);
  EXPECT_EQ(pool.inUse(), 2U);
  clock.advance(30s);
  EXPECT_FALSE(pool.claim(token).has_value());
  EXPECT_EQ(pool.inUse(), 1U);
}

TEST(SourceRateLimiter, BoundedMemoryWhateverTheSources) {
  testing::FakeClock clock;
  SourceRateLimiter limiter(2);
  EXPECT_TRUE(limiter.allow(at("1.2.3.4:1"), clock.now()));
  EXPECT_TRUE(limiter.allow(at("1.2.3.4:2"), clock.now()));
  EXPECT_FALSE(limiter.allow(at("1.2.3.4:3"), clock.now()));
  clock.advance(1s);
  EXPECT_TRUE(limiter.allow(at("1.2.3.4:3"), clock.now()));
  // Fixed size, whatever the number of sources: a flood of spoofed IPs
  // costs no memory.
  for (std::uint32_t i = 0; i < 100'000; ++i) {
    stun::TransportAddress a = at("0.0.0.0:1");
    std::memcpy(a.ip.data(), &i, sizeof i);
    limiter.allow(a, clock.now());
  }
  EXPECT_LE(sizeof(limiter), 8 + 16 + SourceRateLimiter::kSlots * 16);  // rate, key, slots
}

// The slot hash is keyed with a random secret: addresses that share a slot
// in one limiter (one worker, one run) do not in another.
TEST(SourceRateLimiter, CollisionsCannotBeAimedAt) {
  const SourceRateLimiter a(10);
  const SourceRateLimiter b(10);
  const auto victim = at("198.51.100.7:1");
  std::size_t colliding_in_a = 0;
  std::size_t colliding_in_both = 0;
  for (std::uint32_t i = 0; i < 200'000; ++i) {
    stun::TransportAddress other = at("0.0.0.0:1");
    std::memcpy(other.ip.data(), &i, sizeof i);
    if (a.slotOf(other) == a.slotOf(victim)) {
      ++colliding_in_a;
      colliding_in_both += b.slotOf(other) == b.slotOf(victim) ? 1 : 0;
    }
  }
  EXPECT_GT(colliding_in_a, 10U);  // about 200,000 / 4096
  EXPECT_LT(colliding_in_both, colliding_in_a / 4);
}

}  // namespace
}  // namespace turnpike::turn
