#pragma once

#include <chrono>
#include <functional>
#include <map>

struct event_base;
struct event;

namespace turnpike::control::push {

/// One-shot timers on a libevent loop, owned: the ones still pending when
/// this goes away are cancelled and freed, never run.
class Timers {
 public:
  explicit Timers(event_base* base) : base_(base) {}
  ~Timers();
  Timers(const Timers&) = delete;
  Timers& operator=(const Timers&) = delete;

  /// Runs `fn` on the loop after `delay` (0: on the next loop turn).
  void after(std::chrono::milliseconds delay, std::function<void()> fn);
  [[nodiscard]] std::size_t pending() const { return pending_.size(); }

 private:
  struct Task;
  static void onFire(int fd, short what, void* arg);

  event_base* base_;
  std::map<Task*, event*> pending_;
};

}  // namespace turnpike::control::push
