#pragma once

#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

struct event_base;
struct event;

namespace turnpike::control {

/// The control plane's thread and its libevent loop. Everything of the
/// control plane runs here; other threads reach it only through post().
class ControlLoop {
 public:
  /// `name` names its thread (at most 15 characters: top -H, /proc).
  explicit ControlLoop(std::string name = "tp-control");
  ~ControlLoop();
  ControlLoop(const ControlLoop&) = delete;
  ControlLoop& operator=(const ControlLoop&) = delete;

  [[nodiscard]] event_base* base() const { return base_; }
  void start();
  /// Runs `task` on the loop's thread. Thread-safe; tasks queued after
  /// stop() are dropped. An exception from a task is logged, not thrown.
  void post(std::function<void()> task);
  /// Stops the loop and joins its thread (from another thread).
  void stop();

 private:
  static void onWake(int fd, short what, void* self);
  void runPosted();

  event_base* base_ = nullptr;
  event* wake_ = nullptr;
  std::mutex mutex_;
  std::deque<std::function<void()>> posted_;  // guarded by mutex_
  bool stopped_ = false;                      // guarded by mutex_
  std::string name_;
  std::thread thread_;
};

}  // namespace turnpike::control
