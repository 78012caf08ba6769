#include "control/control_loop.h"

#include <event2/event.h>
#include <event2/thread.h>
#include <pthread.h>

#include <spdlog/spdlog.h>

#include <exception>

namespace turnpike::control {

ControlLoop::ControlLoop(std::string name) : name_(std::move(name)) {
  evthread_use_pthreads();
  base_ = event_base_new();
  wake_ = event_new(base_, -1, 0, &ControlLoop::onWake, this);
}

ControlLoop::~ControlLoop() {
  stop();
  event_free(wake_);
  event_base_free(base_);
}

void ControlLoop::start() {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), name_.substr(0, 15).c_str());
    // Keeps the loop alive with nothing else registered.
    event* keepalive = event_new(
        base_, -1, EV_PERSIST, [](int, short, void*) {}, nullptr);
    const timeval hour{3600, 0};
    event_add(keepalive, &hour);
    event_base_dispatch(base_);
    event_free(keepalive);
  });
}

void ControlLoop::post(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    if (stopped_) {
      return;
    }
    posted_.push_back(std::move(task));
  }
  event_active(wake_, 0, 0);
}

void ControlLoop::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopped_) {
      return;
    }
    stopped_ = true;
  }
  // Broken from inside the loop: a loopbreak from here before the thread
  // entered event_base_dispatch would be forgotten when it does.
  event_active(wake_, 0, 0);
  if (thread_.joinable()) {
    thread_.join();
  }
}

void ControlLoop::onWake(int /*fd*/, short /*what*/, void* self) {
  static_cast<ControlLoop*>(self)->runPosted();
}

void ControlLoop::runPosted() {
  std::deque<std::function<void()>> tasks;
  {
    std::lock_guard lock(mutex_);
    if (stopped_) {
      posted_.clear();
      event_base_loopbreak(base_);
      return;
    }
    tasks.swap(posted_);
  }
  for (auto& task : tasks) {
    try {
      task();
    } catch (const std::exception& e) {
      spdlog::error("control: a task failed: {}", e.what());
    }
  }
}

}  // namespace turnpike::control
