#pragma once

#include <memory>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

#include "relay/turn/allocation.h"

namespace turnpike::turn {

/// One worker's allocations: found by five-tuple (client packets) and by
/// relay socket (peer packets) in O(1), and ordered by expiry so one timer
/// can sweep them.
class AllocationTable {
 public:
  Allocation* find(const FiveTuple& five_tuple);
  Allocation* findBySocket(RelaySocketId socket);
  Allocation& insert(std::unique_ptr<Allocation> allocation);
  void setExpiry(Allocation& allocation, Clock::TimePoint expires_at);
  /// Removes and returns the allocation.
  std::unique_ptr<Allocation> remove(Allocation& allocation);
  /// Calls `on_expired(Allocation&)` for every allocation whose expiry is
  /// <= now, oldest first; the callback is expected to delete it.
  template <typename F>
  void expire(Clock::TimePoint now, F&& on_expired);

  [[nodiscard]] std::size_t size() const { return by_five_tuple_.size(); }
  template <typename F>
  void forEach(F&& f) const {
    for (const auto& [tuple, allocation] : by_five_tuple_) {
      f(static_cast<const Allocation&>(*allocation));
    }
  }
  template <typename F>
  void forEachMutable(F&& f) {
    for (auto& [tuple, allocation] : by_five_tuple_) {
      f(*allocation);
    }
  }

 private:
  std::unordered_map<FiveTuple, std::unique_ptr<Allocation>, FiveTupleHash> by_five_tuple_;
  std::unordered_map<RelaySocketId, Allocation*> by_socket_;
  std::set<std::pair<Clock::TimePoint, Allocation*>> by_expiry_;
};

template <typename F>
void AllocationTable::expire(Clock::TimePoint now, F&& on_expired) {
  // Collected first: the callback deletes the allocation, which edits the index.
  std::vector<Allocation*> due;
  for (auto it = by_expiry_.begin(); it != by_expiry_.end() && it->first <= now; ++it) {
    due.push_back(it->second);
  }
  for (Allocation* a : due) {
    on_expired(*a);
  }
}

}  // namespace turnpike::turn
