#include "control/control_loop.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <stdexcept>

namespace turnpike::control {
namespace {

TEST(ControlLoop, RunsPostedTasksOnItsThreadAndSurvivesAThrowingOne) {
  ControlLoop loop;
  loop.start();
  loop.post([] { throw std::runtime_error("a task that fails"); });
  std::promise<std::thread::id> ran;
  loop.post([&] { ran.set_value(std::this_thread::get_id()); });
  auto future = ran.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds{5}), std::future_status::ready);
  EXPECT_NE(future.get(), std::this_thread::get_id());
  loop.stop();
}

// A stop right after start must not be lost before the thread enters its
// loop (it would then never be joined).
TEST(ControlLoop, StopsRightAfterStart) {
  for (int i = 0; i < 50; ++i) {
    ControlLoop loop;
    loop.start();
    loop.stop();
  }
}

TEST(ControlLoop, TasksPostedAfterStopAreDropped) {
  std::atomic<int> runs{0};
  ControlLoop loop;
  loop.start();
  loop.stop();
  loop.post([&] { ++runs; });
  EXPECT_EQ(runs.load(), 0);
}

}  // namespace
}  // namespace turnpike::control
