#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "relay/base/clock.h"
#include "relay/base/timer_queue.h"

struct event_base;
struct event;

namespace turnpike::net {

/// One worker's libevent base plus its timer queue. The queue is driven by a
/// single libevent timer armed for the earliest deadline, so timers are data
/// (TimerQueue) and tests can drive the same logic with a fake clock.
class EventLoop {
 public:
  explicit EventLoop(const Clock& clock);
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  /// Events run by priority; everything is created at the default (1), and
  /// work that should wait until the round's I/O is handled uses this one.
  static constexpr int kPriorities = 3;
  static constexpr int kAfterIoPriority = 2;

  [[nodiscard]] event_base* base() const { return base_; }
  [[nodiscard]] const Clock& clock() const { return clock_; }

  TimerQueue::TimerId runAfter(Clock::Duration delay, TimerQueue::Callback callback);
  bool cancel(TimerQueue::TimerId id);

  /// Runs until exit() is called.
  void run();
  /// Leaves run() from inside the loop's thread.
  void exit();
  /// Calls `callback` on the loop's thread, once; safe from any thread.
  void post(std::function<void()> callback);
  /// Exceptions that posted tasks and timers threw: caught, logged and
  /// counted here so none leaves the worker's thread; the loop carries on.
  [[nodiscard]] std::uint64_t caughtErrors() const { return caught_errors_.load(); }

 private:
  void armTimer();
  static void onTimer(int fd, short what, void* self);
  static void onPosted(int fd, short what, void* self);
  /// Runs `task`; an exception is logged and counted. False if it threw.
  bool guarded(const std::function<void()>& task);

  const Clock& clock_;
  event_base* base_ = nullptr;
  event* timer_event_ = nullptr;
  event* posted_event_ = nullptr;
  TimerQueue timers_;
  std::mutex posted_mutex_;
  std::vector<std::function<void()>> posted_;  // guarded by posted_mutex_
  std::atomic<std::uint64_t> caught_errors_{0};
};

}  // namespace turnpike::net
