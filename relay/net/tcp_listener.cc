#include "relay/net/tcp_listener.h"

#include <event2/listener.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "relay/net/socket_address.h"

namespace turnpike::net {

TcpListener::TcpListener(EventLoop& loop, int fd, stun::TransportAddress local,
                         AcceptHandler on_accept, std::function<void()> on_refused)
    : local_(local), on_accept_(std::move(on_accept)), on_refused_(std::move(on_refused)) {
  listener_ = evconnlistener_new(loop.base(), &TcpListener::onAccept, this,
                                 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
  evconnlistener_set_error_cb(listener_, &TcpListener::onError);
  backoff_.emplace(loop, listener_, "listen.tcp/tls");
}

TcpListener::~TcpListener() {
  backoff_.reset();
  evconnlistener_free(listener_);
}

void TcpListener::onAccept(evconnlistener* /*listener*/, int fd, sockaddr* address, int length,
                           void* self) {
  auto* listener = static_cast<TcpListener*>(self);
  if (!listener->backoff_->admit(fd)) {
    listener->on_refused_();
    return;
  }
  sockaddr_storage ss{};
  std::memcpy(&ss, address, std::min(static_cast<std::size_t>(length), sizeof ss));
  listener->on_accept_(fd, fromSockaddr(ss), listener->local_);
}

void TcpListener::onError(evconnlistener* /*listener*/, void* self) {
  // EMFILE and friends: the kernel queue holds the client while we pause.
  static_cast<TcpListener*>(self)->backoff_->failed();
}

}  // namespace turnpike::net
