#include "relay/base/timer_queue.h"

#include <utility>

namespace turnpike {

TimerQueue::TimerId TimerQueue::schedule(Clock::TimePoint deadline, Callback callback) {
  const TimerId id = next_id_++;
  by_deadline_.emplace(Key{deadline, id}, std::move(callback));
  deadline_of_.emplace(id, deadline);
  return id;
}

bool TimerQueue::cancel(TimerId id) {
  auto it = deadline_of_.find(id);
  if (it == deadline_of_.end()) {
    return false;
  }
  by_deadline_.erase(Key{it->second, id});
  deadline_of_.erase(it);
  return true;
}

std::size_t TimerQueue::runDue(Clock::TimePoint now) {
  std::size_t ran = 0;
  while (!by_deadline_.empty() && by_deadline_.begin()->first.first <= now) {
    auto node = by_deadline_.extract(by_deadline_.begin());
    deadline_of_.erase(node.key().second);
    node.mapped()();
    ++ran;
  }
  return ran;
}

std::optional<Clock::TimePoint> TimerQueue::nextDeadline() const {
  if (by_deadline_.empty()) {
    return std::nullopt;
  }
  return by_deadline_.begin()->first.first;
}

}  // namespace turnpike
