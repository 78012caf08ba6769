#include "control/control_stats.h"

namespace turnpike::control {

void SecondsHistogram::observe(double seconds) {
  for (std::size_t i = 0; i < kBounds.size(); ++i) {
    if (seconds <= kBounds[i]) {
      buckets_[i].fetch_add(1, std::memory_order_relaxed);
      break;
    }
  }
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(static_cast<std::uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

SecondsHistogram::Snapshot SecondsHistogram::snapshot() const {
  Snapshot s;
  std::uint64_t running = 0;
  for (std::size_t i = 0; i < kBounds.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative[i] = running;
  }
  s.count = count_.load(std::memory_order_relaxed);
  s.sum = static_cast<double>(sum_micros_.load(std::memory_order_relaxed)) / 1e6;
  return s;
}

void ControlStats::countEnd(std::string_view reason) {
  std::lock_guard lock(mutex_);
  ++ends_[std::string(reason)];
}

void ControlStats::countRequest(std::string_view route, int status) {
  std::lock_guard lock(mutex_);
  ++requests_[{std::string(route), status}];
}

void ControlStats::countPush(std::string_view provider, std::string_view kind,
                             std::string_view result) {
  std::lock_guard lock(mutex_);
  ++pushes_[{std::string(provider), std::string(kind), std::string(result)}];
}

std::map<ControlStats::PushKey, std::uint64_t> ControlStats::pushes() const {
  std::lock_guard lock(mutex_);
  return pushes_;
}

std::map<std::string, std::uint64_t> ControlStats::endsByReason() const {
  std::lock_guard lock(mutex_);
  return ends_;
}

std::map<std::pair<std::string, int>, std::uint64_t> ControlStats::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

}  // namespace turnpike::control
