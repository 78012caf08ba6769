#include "relay/net/tcp_connection.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <spdlog/spdlog.h>

namespace turnpike::net {

TcpConnection::TcpConnection(event_base* base, int fd, stun::TransportAddress peer,
                             turn::StunServer& server, const Clock& clock, ConnectionOwner& owner)
    : peer_(peer), server_(server), clock_(clock), owner_(owner), last_activity_(clock.now()) {
  bev_ = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
  bufferevent_setcb(bev_, &TcpConnection::onRead, &TcpConnection::onWrite, &TcpConnection::onEvent,
                    this);
  bufferevent_enable(bev_, EV_READ | EV_WRITE);
}

TcpConnection::~TcpConnection() { bufferevent_free(bev_); }

void TcpConnection::closeWhenFlushed() {
  closing_ = true;
  bufferevent_disable(bev_, EV_READ);
  if (evbuffer_get_length(bufferevent_get_output(bev_)) == 0) {
    owner_.onConnectionClosed(this);  // deletes this
  }
}

void TcpConnection::onRead(bufferevent* /*bev*/, void* self) {
  auto* c = static_cast<TcpConnection*>(self);
  c->last_activity_ = c->clock_.now();
  if (!c->processInput()) {
    c->owner_.onConnectionClosed(c);  // deletes c
  }
}

bool TcpConnection::processInput() {
  evbuffer* input = bufferevent_get_input(bev_);
  std::array<std::uint8_t, 16384> chunk{};
  while (!closing_ && evbuffer_get_length(input) > 0) {
    const int n = evbuffer_remove(input, chunk.data(), chunk.size());
    if (n <= 0 || !framer_.append(std::span(chunk).first(static_cast<std::size_t>(n)))) {
      server_.countMalformed();
      return false;
    }
    while (true) {
      const auto frame = framer_.next();
      if (!frame) {
        server_.countMalformed();
        return false;
      }
      if (!frame.value()) {
        break;
      }
      const auto outcome = server_.handleFrame(**frame, peer_, turn::Transport::Tcp, response_);
      if (outcome.kind == turn::Outcome::Kind::Reply) {
        bufferevent_write(bev_, response_.data(), outcome.size);
      }
    }
  }
  return true;
}

void TcpConnection::onWrite(bufferevent* bev, void* self) {
  auto* c = static_cast<TcpConnection*>(self);
  if (c->closing_ && evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
    c->owner_.onConnectionClosed(c);  // deletes c
  }
}

void TcpConnection::onEvent(bufferevent* /*bev*/, short what, void* self) {
  auto* c = static_cast<TcpConnection*>(self);
  if ((what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) != 0) {
    c->owner_.onConnectionClosed(c);  // deletes c
  }
}

}  // namespace turnpike::net
