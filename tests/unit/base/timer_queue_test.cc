#include "relay/base/timer_queue.h"

#include <gtest/gtest.h>

#include <vector>

#include "tests/support/fake_clock.h"

namespace turnpike {
namespace {

using namespace std::chrono_literals;

TEST(TimerQueue, RunsDueTimersInDeadlineOrder) {
  testing::FakeClock clock;
  TimerQueue q;
  std::vector<int> ran;
  q.schedule(clock.now() + 3s, [&] { ran.push_back(3); });
  q.schedule(clock.now() + 1s, [&] { ran.push_back(1); });
  q.schedule(clock.now() + 2s, [&] { ran.push_back(2); });
  EXPECT_EQ(q.nextDeadline(), clock.now() + 1s);

  clock.advance(1500ms);
  EXPECT_EQ(q.runDue(clock.now()), 1U);
  EXPECT_EQ(ran, (std::vector<int>{1}));

  clock.advance(10s);
  EXPECT_EQ(q.runDue(clock.now()), 2U);
  EXPECT_EQ(ran, (std::vector<int>{1, 2, 3}));
  EXPECT_FALSE(q.nextDeadline().has_value());
}

TEST(TimerQueue, CancelledTimersNeverRun) {
  testing::FakeClock clock;
  TimerQueue q;
  bool ran = false;
  const auto id = q.schedule(clock.now() + 1s, [&] { ran = true; });
  EXPECT_TRUE(q.cancel(id));
  EXPECT_FALSE(q.cancel(id));
  clock.advance(2s);
  EXPECT_EQ(q.runDue(clock.now()), 0U);
  EXPECT_FALSE(ran);
}

TEST(TimerQueue, CallbacksMayScheduleMore) {
  testing::FakeClock clock;
  TimerQueue q;
  int ticks = 0;
  std::function<void()> tick = [&] {
    ++ticks;
    q.schedule(clock.now() + 1s, tick);
  };
  q.schedule(clock.now() + 1s, tick);
  for (int i = 0; i < 5; ++i) {
    clock.advance(1s);
    q.runDue(clock.now());
  }
  EXPECT_EQ(ticks, 5);
  EXPECT_EQ(q.size(), 1U);
}

TEST(FakeClock, UnixTimeMovesWithMonotonicTime) {
  testing::FakeClock clock(std::chrono::seconds{1000});
  clock.advance(90s);
  EXPECT_EQ(clock.unixTime(), std::chrono::seconds{1090});
}

}  // namespace
}  // namespace turnpike
