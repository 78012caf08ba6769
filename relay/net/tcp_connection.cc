#include "relay/net/tcp_connection.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

namespace turnpike::net {

TcpConnection::TcpConnection(event_base* base, int fd, ssl_st* ssl, turn::FiveTuple five_tuple,
                             turn::TurnServer& server, const Clock& clock, ConnectionOwner& owner,
                             std::unique_ptr<ConnectionLedger::Ticket> ticket)
    : five_tuple_(five_tuple),
      server_(server),
      clock_(clock),
      owner_(owner),
      last_activity_(clock.now()),
      opened_at_(last_activity_),
      established_(ssl == nullptr),
      ticket_(std::move(ticket)),
      base_(base) {
  if (ssl != nullptr) {
    // Frees `ssl` and closes `fd` with the bufferevent.
    bev_ = bufferevent_openssl_socket_new(base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                          BEV_OPT_CLOSE_ON_FREE);
    bufferevent_openssl_set_allow_dirty_shutdown(bev_, 1);
  } else {
    bev_ = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
  }
  bufferevent_setcb(bev_, &TcpConnection::onRead, &TcpConnection::onWrite, &TcpConnection::onEvent,
                    this);
  // onWrite runs once the output is down to kResumeOutput (and when empty).
  bufferevent_setwatermark(bev_, EV_WRITE, kResumeOutput, 0);
  bufferevent_enable(bev_, EV_READ | EV_WRITE);
}

TcpConnection::~TcpConnection() {
  pipe_.reset();
  bufferevent_free(bev_);
  if (pending_peer_fd_ >= 0) {
    ::close(pending_peer_fd_);
  }
}

void TcpConnection::becomePipe(std::uint32_t connection_id, int peer_fd,
                               std::shared_ptr<turn::PipeTraffic> traffic) {
  pipe_id_ = connection_id;
  pending_peer_fd_ = peer_fd;
  pending_traffic_ = std::move(traffic);
}

void TcpConnection::closeWhenFlushed() {
  closing_ = true;
  closing_since_ = clock_.now();
  bufferevent_disable(bev_, EV_READ);
  if (evbuffer_get_length(bufferevent_get_output(bev_)) == 0) {
    owner_.onConnectionClosed(this);  // deletes this
  }
}

void TcpConnection::onRead(bufferevent* /*bev*/, void* self) {
  auto* c = static_cast<TcpConnection*>(self);
  if (!c->processInput()) {
    c->owner_.onConnectionClosed(c);  // deletes c
  }
}

bool TcpConnection::outputFull() const {
  return evbuffer_get_length(bufferevent_get_output(bev_)) > kMaxPendingOutput;
}

bool TcpConnection::handleFrame(const stun::Frame& frame) {
  const auto outcome = server_.handleFrame(frame, five_tuple_, response_);
  if (outcome.kind == turn::Outcome::Kind::Reply) {
    bufferevent_write(bev_, response_.data(), outcome.size);
  }
  if (pending_peer_fd_ < 0) {
    return false;
  }
  // The ConnectionBind succeeded: from here on the stream is the peer's.
  // Bytes the client sent too early go to the peer as well.
  pipe_ = std::make_unique<PeerPipe>(base_, pending_peer_fd_, bev_, five_tuple_.transport, server_,
                                     clock_, std::move(pending_traffic_),
                                     [this] { owner_.onConnectionClosed(this); });
  pending_peer_fd_ = -1;
  const auto early = framer_.remaining();
  evbuffer_prepend(bufferevent_get_input(bev_), early.data(), early.size());
  partial_since_.reset();
  pipe_->fromClient();
  return true;
}

// Frames are handled while the client reads what we answer. A client that
// sends requests and never reads would otherwise grow our output without
// bound: once it passes kMaxPendingOutput we stop reading (the kernel's
// buffers then push back on the client) until onWrite sees it drained; the
// sweep closes a connection that stays stalled.
bool TcpConnection::processInput() {
  if (pipe_) {
    last_activity_ = clock_.now();
    pipe_->fromClient();
    return true;
  }
  evbuffer* input = bufferevent_get_input(bev_);
  std::array<std::uint8_t, 16384> chunk{};
  while (!closing_) {
    if (outputFull()) {
      bufferevent_disable(bev_, EV_READ);
      if (!stalled_since_) {
        stalled_since_ = clock_.now();
      }
      return true;
    }
    const auto frame = framer_.next();
    if (!frame) {
      server_.countMalformed();
      return false;
    }
    if (frame.value()) {
      // Only whole frames count as activity: a byte now and then does not
      // keep a connection open.
      last_activity_ = clock_.now();
      if (handleFrame(**frame)) {
        return true;
      }
      continue;
    }
    if (evbuffer_get_length(input) == 0) {
      break;
    }
    const int n = evbuffer_remove(input, chunk.data(), chunk.size());
    if (n <= 0 || !framer_.append(std::span(chunk).first(static_cast<std::size_t>(n)))) {
      server_.countMalformed();
      return false;
    }
  }
  if (framer_.buffered() == 0) {
    partial_since_.reset();
  } else if (!partial_since_) {
    partial_since_ = clock_.now();
  }
  return true;
}

void TcpConnection::send(std::span<const std::uint8_t> bytes) {
  if (closing_) {
    return;
  }
  // A client that does not read its stream loses relayed data, as it would
  // over UDP, instead of growing our memory without bound.
  if (evbuffer_get_length(bufferevent_get_output(bev_)) > kMaxPendingOutput) {
    server_.countSlowReader();
    return;
  }
  // RFC 8656 §12.5: ChannelData on a stream is padded to a multiple of 4.
  static constexpr std::uint8_t kPadding[3] = {0, 0, 0};
  bufferevent_write(bev_, bytes.data(), bytes.size());
  if (!bytes.empty() && (bytes[0] & 0xC0) == 0x40 && bytes.size() % 4 != 0) {
    bufferevent_write(bev_, kPadding, 4 - bytes.size() % 4);
  }
}

void TcpConnection::onWrite(bufferevent* bev, void* self) {
  auto* c = static_cast<TcpConnection*>(self);
  if (c->pipe_) {
    c->pipe_->clientDrained();
  }
  if (c->stalled_since_ && !c->closing_ &&
      evbuffer_get_length(bufferevent_get_output(bev)) <= kResumeOutput) {
    c->stalled_since_.reset();
    bufferevent_enable(bev, EV_READ);
    if (!c->processInput()) {           // frames already read wait in the framer
      c->owner_.onConnectionClosed(c);  // deletes c
      return;
    }
  }
  if (c->closing_ && evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
    c->owner_.onConnectionClosed(c);  // deletes c
  }
}

void TcpConnection::onEvent(bufferevent* /*bev*/, short what, void* self) {
  auto* c = static_cast<TcpConnection*>(self);
  if ((what & BEV_EVENT_CONNECTED) != 0) {
    c->established_ = true;  // the TLS handshake is done
  }
  if ((what & BEV_EVENT_ERROR) != 0 && c->five_tuple_.transport == turn::Transport::Tls) {
    spdlog::debug("tls connection from {} failed (handshake or record error)",
                  c->five_tuple_.client.toString());
  }
  if ((what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) != 0) {
    c->owner_.onConnectionClosed(c);  // deletes c
  }
}

}  // namespace turnpike::net
