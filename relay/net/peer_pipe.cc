#include "relay/net/peer_pipe.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

namespace turnpike::net {

PeerPipe::PeerPipe(event_base* base, int peer_fd, bufferevent* client, turn::Transport transport,
                   turn::TurnServer& server, std::shared_ptr<turn::PipeTraffic> traffic,
                   std::function<void()> on_closed)
    : client_(client),
      transport_(transport),
      server_(server),
      traffic_(std::move(traffic)),
      on_closed_(std::move(on_closed)) {
  peer_ = bufferevent_socket_new(base, peer_fd, BEV_OPT_CLOSE_ON_FREE);
  bufferevent_setcb(peer_, &PeerPipe::onPeerRead, &PeerPipe::onPeerWrite, &PeerPipe::onPeerEvent,
                    this);
  bufferevent_enable(peer_, EV_READ | EV_WRITE);
}

PeerPipe::~PeerPipe() { bufferevent_free(peer_); }

void PeerPipe::fromClient() {
  evbuffer* in = bufferevent_get_input(client_);
  const std::size_t n = evbuffer_get_length(in);
  evbuffer_add_buffer(bufferevent_get_output(peer_), in);
  server_.countTcpRelayed(transport_, true, n);
  if (traffic_ && n > 0) {
    traffic_->add(true, n);
  }
  if (evbuffer_get_length(bufferevent_get_output(peer_)) > kMaxPending) {
    bufferevent_disable(client_, EV_READ);  // until the peer catches up
  }
}

void PeerPipe::clientDrained() { bufferevent_enable(peer_, EV_READ); }

void PeerPipe::onPeerRead(bufferevent* bev, void* self) {
  auto* p = static_cast<PeerPipe*>(self);
  evbuffer* in = bufferevent_get_input(bev);
  const std::size_t n = evbuffer_get_length(in);
  evbuffer_add_buffer(bufferevent_get_output(p->client_), in);
  p->server_.countTcpRelayed(p->transport_, false, n);
  if (p->traffic_ && n > 0) {
    p->traffic_->add(false, n);
  }
  if (evbuffer_get_length(bufferevent_get_output(p->client_)) > kMaxPending) {
    bufferevent_disable(bev, EV_READ);  // until the client catches up
  }
}

void PeerPipe::onPeerWrite(bufferevent* /*bev*/, void* self) {
  auto* p = static_cast<PeerPipe*>(self);
  bufferevent_enable(p->client_, EV_READ);
}

void PeerPipe::onPeerEvent(bufferevent* /*bev*/, short what, void* self) {
  if ((what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) != 0) {
    static_cast<PeerPipe*>(self)->on_closed_();  // deletes the pipe with its connection
  }
}

}  // namespace turnpike::net
