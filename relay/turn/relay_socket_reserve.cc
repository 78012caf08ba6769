#include "relay/turn/relay_socket_reserve.h"

#include <algorithm>

namespace turnpike::turn {

RelaySocketReserve::RelaySocketReserve(std::size_t port_count)
    : capacity_(std::min(kMaxCapacity, port_count / 16)) {}

std::optional<RelaySocketReserve::Parked> RelaySocketReserve::park(const Parked& socket,
                                                                   Clock::TimePoint now) {
  if (capacity_ == 0) {
    return socket;
  }
  std::optional<Parked> evicted;
  if (fifo_.size() >= capacity_) {
    evicted = fifo_.front().parked;
    members_.erase(evicted->socket);  // nothing when it was touched
    fifo_.pop_front();
  }
  fifo_.push_back(Entry{socket, now});
  members_.insert(socket.socket);
  return evicted;
}

bool RelaySocketReserve::touched(RelaySocketId socket) {
  // Out of members_ at the first datagram: a peer that keeps sending costs
  // one search, not one per datagram.
  if (members_.erase(socket) == 0) {
    return false;
  }
  const auto it = std::find_if(fifo_.begin(), fifo_.end(),
                               [&](const Entry& e) { return e.parked.socket == socket; });
  it->touched = true;
  return true;
}

std::optional<RelaySocketReserve::Parked> RelaySocketReserve::take(Clock::TimePoint now,
                                                                   bool any_age,
                                                                   std::vector<Parked>& to_close) {
  while (!fifo_.empty()) {
    Entry& oldest = fifo_.front();
    if (!oldest.touched && !any_age && now - oldest.since < kQuiet) {
      return std::nullopt;  // the rest are younger still
    }
    const Entry taken = oldest;
    fifo_.pop_front();
    if (taken.touched) {
      to_close.push_back(taken.parked);
      continue;
    }
    members_.erase(taken.parked.socket);
    return taken.parked;
  }
  return std::nullopt;
}

}  // namespace turnpike::turn
