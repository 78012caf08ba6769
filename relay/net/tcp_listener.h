#pragma once

#include <functional>
#include <optional>

#include "relay/net/accept_backoff.h"
#include "relay/net/event_loop.h"
#include "relay/stun/transport_address.h"

struct evconnlistener;
struct sockaddr;

namespace turnpike::net {

/// One worker's accepting socket on one TCP listen address.
class TcpListener {
 public:
  using AcceptHandler = std::function<void(int fd, const stun::TransportAddress& peer,
                                           const stun::TransportAddress& local)>;

  /// on_refused: a connection was closed at once, accepted into the
  /// descriptor reserve (see AcceptBackoff).
  TcpListener(EventLoop& loop, int fd, stun::TransportAddress local, AcceptHandler on_accept,
              std::function<void()> on_refused);
  ~TcpListener();
  TcpListener(const TcpListener&) = delete;
  TcpListener& operator=(const TcpListener&) = delete;

 private:
  static void onAccept(evconnlistener* listener, int fd, sockaddr* address, int length, void* self);
  static void onError(evconnlistener* listener, void* self);

  evconnlistener* listener_ = nullptr;
  stun::TransportAddress local_;
  AcceptHandler on_accept_;
  std::function<void()> on_refused_;
  std::optional<AcceptBackoff> backoff_;
};

}  // namespace turnpike::net
