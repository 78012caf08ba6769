#include "relay/turn/peer_connections.h"

#include <random>

namespace turnpike::turn {

std::optional<ConnectionId> PeerConnections::reserve(const std::string& username,
                                                     const std::string& user_id,
                                                     std::uint32_t per_user) {
  std::lock_guard lock(mutex_);
  std::uint32_t& held = per_user_[user_id];
  if (held >= per_user) {
    if (held == 0) {
      per_user_.erase(user_id);
    }
    return std::nullopt;
  }
  ++held;
  // Ids are not secrets (the ConnectionBind is authenticated), but a random
  // start keeps them from being guessed across restarts.
  if (counter_ == 0) {
    counter_ = std::random_device{}() | 1u;
  }
  ConnectionId id = 0;
  do {
    counter_ = counter_ * 1664525u + 1013904223u;
    id = counter_;
  } while (id == 0 || entries_.count(id) != 0);
  Entry e;
  e.username = username;
  e.user_id = user_id;
  entries_.emplace(id, std::move(e));
  return id;
}

void PeerConnections::setPending(ConnectionId id, int handle, Clock::TimePoint deadline) {
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(id);
  if (it != entries_.end()) {
    it->second.handle = handle;
    it->second.pending = true;
    it->second.bind_deadline = deadline;
  }
}

std::optional<int> PeerConnections::claim(ConnectionId id, const std::string& username) {
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(id);
  if (it == entries_.end() || !it->second.pending || it->second.handle < 0 ||
      it->second.username != username) {
    return std::nullopt;
  }
  it->second.pending = false;
  const int handle = it->second.handle;
  it->second.handle = -1;
  return handle;
}

bool PeerConnections::setCloser(ConnectionId id, std::function<void()> close_bound) {
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(id);
  if (it == entries_.end()) {
    return false;
  }
  it->second.close_bound = std::move(close_bound);
  return true;
}

std::shared_ptr<PipeTraffic> PeerConnections::traffic(ConnectionId id) const {
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(id);
  return it == entries_.end() ? nullptr : it->second.traffic;
}

bool PeerConnections::contains(ConnectionId id) const {
  std::lock_guard lock(mutex_);
  return entries_.count(id) != 0;
}

std::optional<PeerConnections::Entry> PeerConnections::release(ConnectionId id) {
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(id);
  if (it == entries_.end()) {
    return std::nullopt;
  }
  Entry e = std::move(it->second);
  entries_.erase(it);
  if (const auto user = per_user_.find(e.user_id); user != per_user_.end() && --user->second == 0) {
    per_user_.erase(user);
  }
  return e;
}

bool PeerConnections::overdue(ConnectionId id, Clock::TimePoint now) const {
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(id);
  return it != entries_.end() && it->second.pending && it->second.handle >= 0 &&
         now >= it->second.bind_deadline;
}

std::size_t PeerConnections::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace turnpike::turn
