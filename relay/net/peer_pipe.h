#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "relay/turn/turn_server.h"

struct bufferevent;
struct event_base;

namespace turnpike::net {

/// RFC 6062 §5.4: once ConnectionBind succeeded, a client's data connection
/// and the peer's TCP connection carry each other's bytes unchanged. Each
/// side stops reading while the other side has more than kMaxPending bytes
/// queued, and starts again when that drains.
class PeerPipe {
 public:
  static constexpr std::size_t kMaxPending = 1 << 20;

  /// Takes `peer_fd`; `client` stays owned by the data connection. What it
  /// carries is counted in `traffic` too (the allocation's usage), if set.
  PeerPipe(event_base* base, int peer_fd, bufferevent* client, turn::Transport transport,
           turn::TurnServer& server, std::shared_ptr<turn::PipeTraffic> traffic,
           std::function<void()> on_closed);
  ~PeerPipe();
  PeerPipe(const PeerPipe&) = delete;
  PeerPipe& operator=(const PeerPipe&) = delete;

  /// Moves what the client sent to the peer.
  void fromClient();
  /// The client's output drained: read from the peer again.
  void clientDrained();

 private:
  static void onPeerRead(bufferevent* bev, void* self);
  static void onPeerWrite(bufferevent* bev, void* self);
  static void onPeerEvent(bufferevent* bev, short what, void* self);

  bufferevent* peer_ = nullptr;
  bufferevent* client_;
  turn::Transport transport_;  ///< of the client's data connection
  turn::TurnServer& server_;
  std::shared_ptr<turn::PipeTraffic> traffic_;
  std::function<void()> on_closed_;
};

}  // namespace turnpike::net
