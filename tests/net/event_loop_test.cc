// EventLoop: what a posted task or a timer throws is caught, counted and
// logged on the loop's thread, and the loop carries on with the rest.

#include "relay/net/event_loop.h"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <thread>

#include "relay/base/clock.h"

namespace turnpike::net {
namespace {

TEST(EventLoop, ExceptionsInTasksAndTimersStayOnTheLoop) {
  SteadyClock clock;
  EventLoop loop(clock);
  int ran = 0;
  loop.post([] { throw std::runtime_error("a task that throws"); });
  loop.post([&] { ++ran; });
  loop.runAfter(std::chrono::milliseconds{1}, [] { throw std::logic_error("a timer"); });
  loop.runAfter(std::chrono::milliseconds{1}, [&] { ++ran; });
  loop.runAfter(std::chrono::milliseconds{20}, [&] { loop.exit(); });
  std::thread runner([&] { loop.run(); });
  runner.join();
  EXPECT_EQ(ran, 2);
  EXPECT_EQ(loop.caughtErrors(), 2U);
}

}  // namespace
}  // namespace turnpike::net
