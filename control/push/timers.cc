#include "control/push/timers.h"

#include <event2/event.h>

namespace turnpike::control::push {

struct Timers::Task {
  Timers* owner;
  std::function<void()> fn;
};

Timers::~Timers() {
  for (auto& [task, ev] : pending_) {
    event_free(ev);
    delete task;
  }
}

void Timers::after(std::chrono::milliseconds delay, std::function<void()> fn) {
  auto* task = new Task{this, std::move(fn)};
  event* ev = evtimer_new(base_, &Timers::onFire, task);
  pending_.emplace(task, ev);
  const auto ms = delay.count() < 0 ? 0 : delay.count();
  const timeval tv{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
  evtimer_add(ev, &tv);
}

void Timers::onFire(int /*fd*/, short /*what*/, void* arg) {
  auto* task = static_cast<Task*>(arg);
  Timers* self = task->owner;
  const auto it = self->pending_.find(task);
  event_free(it->second);
  self->pending_.erase(it);
  auto fn = std::move(task->fn);
  delete task;
  fn();  // may add timers, or destroy `self`: nothing of it is touched after
}

}  // namespace turnpike::control::push
