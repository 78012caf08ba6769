#include "relay/turn/allocation_table.h"

namespace turnpike::turn {

Allocation* AllocationTable::find(const FiveTuple& five_tuple) {
  const auto it = by_five_tuple_.find(five_tuple);
  return it == by_five_tuple_.end() ? nullptr : it->second.get();
}

Allocation* AllocationTable::findBySocket(RelaySocketId socket) {
  const auto it = by_socket_.find(socket);
  return it == by_socket_.end() ? nullptr : it->second;
}

Allocation& AllocationTable::insert(std::unique_ptr<Allocation> allocation) {
  Allocation& a = *allocation;
  by_socket_[a.socket] = &a;
  if (a.additional) {
    by_socket_[a.additional->socket] = &a;
  }
  by_expiry_.emplace(a.expires_at, &a);
  by_five_tuple_[a.five_tuple] = std::move(allocation);
  return a;
}

void AllocationTable::setExpiry(Allocation& allocation, Clock::TimePoint expires_at) {
  by_expiry_.erase({allocation.expires_at, &allocation});
  allocation.expires_at = expires_at;
  by_expiry_.emplace(expires_at, &allocation);
}

std::unique_ptr<Allocation> AllocationTable::remove(Allocation& allocation) {
  by_expiry_.erase({allocation.expires_at, &allocation});
  by_socket_.erase(allocation.socket);
  if (allocation.additional) {
    by_socket_.erase(allocation.additional->socket);
  }
  const auto it = by_five_tuple_.find(allocation.five_tuple);
  auto owned = std::move(it->second);
  by_five_tuple_.erase(it);
  return owned;
}

}  // namespace turnpike::turn
