#pragma once

#include <sys/time.h>
#include <cstdint>
#include <functional>
#include <memory>

#include "relay/turn/turn_server.h"

struct bufferevent;
struct event;
struct event_base;

namespace turnpike::net {

/// RFC 6062 §5.4: once ConnectionBind succeeded, a client's data connection
/// and the peer's TCP connection carry each other's bytes unchanged. Each
/// side stops reading while the other side has more than kMaxPending bytes
/// queued, and starts again when that drains. With a bandwidth budget (the
/// allocation's limits.allocation_bytes_per_second, shared by its data
/// connections) a side over budget stops reading and tries again shortly.
class PeerPipe {
 public:
  static constexpr std::size_t kMaxPending = 1 << 20;

  /// Takes `peer_fd`; `client` stays owned by the data connection. What it
  /// carries is counted in `traffic` too (the allocation's usage), if set.
  PeerPipe(event_base* base, int peer_fd, bufferevent* client, turn::Transport transport,
           turn::TurnServer& server, const Clock& clock, std::shared_ptr<turn::PipeTraffic> traffic,
           std::function<void()> on_closed);
  ~PeerPipe();
  PeerPipe(const PeerPipe&) = delete;
  PeerPipe& operator=(const PeerPipe&) = delete;

  /// Moves what the client sent to the peer.
  void fromClient();
  /// The client's output drained: read from the peer again.
  void clientDrained();

 private:
  /// How soon a side over budget reads again.
  static constexpr timeval kBudgetRetry{0, 50'000};

  /// Moves what one side sent to the other, as far as the budget allows.
  void move(bool to_peer);
  static void onBudgetRetry(int fd, short what, void* self);
  static void onPeerRead(bufferevent* bev, void* self);
  static void onPeerWrite(bufferevent* bev, void* self);
  static void onPeerEvent(bufferevent* bev, short what, void* self);

  bufferevent* peer_ = nullptr;
  bufferevent* client_;
  turn::Transport transport_;  ///< of the client's data connection
  turn::TurnServer& server_;
  const Clock& clock_;
  std::shared_ptr<turn::PipeTraffic> traffic_;
  event* budget_retry_ = nullptr;
  bool throttled_[2] = {false, false};  ///< [to_peer]: that side waits for budget
  std::function<void()> on_closed_;
};

}  // namespace turnpike::net
