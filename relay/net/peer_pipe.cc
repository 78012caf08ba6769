#include "relay/net/peer_pipe.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

namespace turnpike::net {

PeerPipe::PeerPipe(event_base* base, int peer_fd, bufferevent* client, turn::Transport transport,
                   turn::TurnServer& server, const Clock& clock,
                   std::shared_ptr<turn::PipeTraffic> traffic, std::function<void()> on_closed)
    : client_(client),
      transport_(transport),
      server_(server),
      clock_(clock),
      traffic_(std::move(traffic)),
      on_closed_(std::move(on_closed)) {
  peer_ = bufferevent_socket_new(base, peer_fd, BEV_OPT_CLOSE_ON_FREE);
  bufferevent_setcb(peer_, &PeerPipe::onPeerRead, &PeerPipe::onPeerWrite, &PeerPipe::onPeerEvent,
                    this);
  bufferevent_enable(peer_, EV_READ | EV_WRITE);
  budget_retry_ = evtimer_new(base, &PeerPipe::onBudgetRetry, this);
}

PeerPipe::~PeerPipe() {
  event_free(budget_retry_);
  bufferevent_free(peer_);
}

void PeerPipe::move(bool to_peer) {
  bufferevent* from = to_peer ? client_ : peer_;
  bufferevent* to = to_peer ? peer_ : client_;
  evbuffer* in = bufferevent_get_input(from);
  std::size_t n = evbuffer_get_length(in);
  if (traffic_ && traffic_->budget && n > 0) {
    n = static_cast<std::size_t>(traffic_->budget->takeUpTo(n, clock_.now()));
  }
  evbuffer_remove_buffer(in, bufferevent_get_output(to), n);
  server_.countTcpRelayed(transport_, to_peer, n);
  if (traffic_ && n > 0) {
    traffic_->add(to_peer, n);
  }
  if (evbuffer_get_length(in) > 0) {
    // Over budget: the rest waits, and nothing more is read meanwhile.
    bufferevent_disable(from, EV_READ);
    throttled_[to_peer ? 1 : 0] = true;
    evtimer_add(budget_retry_, &kBudgetRetry);
  } else if (evbuffer_get_length(bufferevent_get_output(to)) > kMaxPending) {
    bufferevent_disable(from, EV_READ);  // until the other side catches up
  }
}

void PeerPipe::onBudgetRetry(int /*fd*/, short /*what*/, void* self) {
  auto* p = static_cast<PeerPipe*>(self);
  for (const bool to_peer : {true, false}) {
    if (p->throttled_[to_peer ? 1 : 0]) {
      p->throttled_[to_peer ? 1 : 0] = false;
      bufferevent_enable(to_peer ? p->client_ : p->peer_, EV_READ);
      p->move(to_peer);
    }
  }
}

void PeerPipe::fromClient() { move(true); }

void PeerPipe::clientDrained() {
  if (!throttled_[0]) {
    bufferevent_enable(peer_, EV_READ);
  }
}

void PeerPipe::onPeerRead(bufferevent* /*bev*/, void* self) {
  static_cast<PeerPipe*>(self)->move(false);
}

void PeerPipe::onPeerWrite(bufferevent* /*bev*/, void* self) {
  auto* p = static_cast<PeerPipe*>(self);
  if (!p->throttled_[1]) {
    bufferevent_enable(p->client_, EV_READ);
  }
}

void PeerPipe::onPeerEvent(bufferevent* /*bev*/, short what, void* self) {
  if ((what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) != 0) {
    static_cast<PeerPipe*>(self)->on_closed_();  // deletes the pipe with its connection
  }
}

}  // namespace turnpike::net
