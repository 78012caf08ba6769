#include "relay/net/event_loop.h"

#include <event2/event.h>
#include <event2/thread.h>

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <exception>
#include <mutex>

namespace turnpike::net {
namespace {

std::once_flag g_threads_once;

}  // namespace

EventLoop::EventLoop(const Clock& clock) : clock_(clock) {
  // Bases must be notifiable from other threads for post().
  std::call_once(g_threads_once, [] {
    if (evthread_use_pthreads() != 0) {
      std::abort();
    }
  });
  base_ = event_base_new();
  if (base_ == nullptr || event_base_priority_init(base_, kPriorities) != 0) {
    std::abort();
  }
  timer_event_ = evtimer_new(base_, &EventLoop::onTimer, this);
  posted_event_ = event_new(base_, -1, 0, &EventLoop::onPosted, this);
}

EventLoop::~EventLoop() {
  event_free(timer_event_);
  event_free(posted_event_);
  event_base_free(base_);
}

TimerQueue::TimerId EventLoop::runAfter(Clock::Duration delay, TimerQueue::Callback callback) {
  const auto id = timers_.schedule(clock_.now() + delay, std::move(callback));
  armTimer();
  return id;
}

bool EventLoop::cancel(TimerQueue::TimerId id) { return timers_.cancel(id); }

void EventLoop::armTimer() {
  const auto next = timers_.nextDeadline();
  if (!next) {
    evtimer_del(timer_event_);
    return;
  }
  auto delay = std::chrono::duration_cast<std::chrono::microseconds>(*next - clock_.now());
  if (delay.count() < 0) {
    delay = std::chrono::microseconds{0};
  }
  timeval tv{static_cast<time_t>(delay.count() / 1'000'000),
             static_cast<suseconds_t>(delay.count() % 1'000'000)};
  evtimer_add(timer_event_, &tv);
}

void EventLoop::onTimer(int /*fd*/, short /*what*/, void* self) {
  auto* loop = static_cast<EventLoop*>(self);
  // A timer that throws is already out of the queue: run the rest after it.
  while (!loop->guarded([loop] { loop->timers_.runDue(loop->clock_.now()); })) {
  }
  loop->armTimer();
}

void EventLoop::run() { event_base_dispatch(base_); }

void EventLoop::exit() { event_base_loopbreak(base_); }

void EventLoop::post(std::function<void()> callback) {
  {
    const std::lock_guard lock(posted_mutex_);
    posted_.push_back(std::move(callback));
  }
  event_active(posted_event_, 0, 0);
}

bool EventLoop::guarded(const std::function<void()>& task) {
  try {
    task();
    return true;
  } catch (const std::exception& error) {
    spdlog::error("event loop: internal error in a task: {}", error.what());
  } catch (...) {
    spdlog::error("event loop: internal error in a task (unknown exception)");
  }
  ++caught_errors_;
  return false;
}

void EventLoop::onPosted(int /*fd*/, short /*what*/, void* self) {
  auto* loop = static_cast<EventLoop*>(self);
  std::vector<std::function<void()>> callbacks;
  {
    const std::lock_guard lock(loop->posted_mutex_);
    callbacks.swap(loop->posted_);
  }
  for (auto& callback : callbacks) {
    loop->guarded(callback);
  }
}

}  // namespace turnpike::net
