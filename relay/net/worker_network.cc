#include "relay/net/worker_network.h"

#include <event2/event.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "relay/net/listen_socket.h"
#include "relay/net/socket_address.h"
#include "relay/net/tcp_connection.h"
#include "relay/turn/turn_server.h"

namespace turnpike::net {

WorkerNetwork::WorkerNetwork(EventLoop& loop, const conf::SocketBuffers& relay_buffers)
    : loop_(loop), buffers_(relay_buffers), to_clients_(loop) {}

WorkerNetwork::~WorkerNetwork() {
  to_clients_.flush();
  for (auto& [id, s] : sockets_) {
    event_free(s->read_event);
    ::close(s->fd);
  }
}

void WorkerNetwork::attach(turn::TurnServer& server,
                           const std::vector<std::unique_ptr<UdpListener>>& udp,
                           ConnectionLookup connections) {
  server_ = &server;
  udp_ = &udp;
  connections_ = std::move(connections);
}

std::optional<turn::RelaySocketId> WorkerNetwork::openRelaySocket(
    const stun::TransportAddress& address, bool dont_fragment) {
  const int family = address.family == stun::AddressFamily::IPv6 ? AF_INET6 : AF_INET;
  const int fd = ::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    spdlog::warn("relay socket: {}", std::strerror(errno));
    return std::nullopt;
  }
  sockaddr_storage ss{};
  const socklen_t len = toSockaddr(address, ss);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    ::close(fd);
    return std::nullopt;  // the port is held by someone else; the caller tries another
  }
  applySocketBuffers(fd, buffers_.relay_receive, buffers_.relay_send);
  if (dont_fragment && family == AF_INET) {
    const int pmtu = IP_PMTUDISC_DO;  // RFC 8656 §7.2 DONT-FRAGMENT: set DF on relayed datagrams
    ::setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof pmtu);
  }
  auto s = std::make_unique<RelaySocket>();
  s->owner = this;
  s->id = next_id_++;
  s->fd = fd;
  s->read_event =
      event_new(loop_.base(), fd, EV_READ | EV_PERSIST, &WorkerNetwork::onPeerReadable, s.get());
  event_add(s->read_event, nullptr);
  const auto id = s->id;
  sockets_.emplace(id, std::move(s));
  return id;
}

void WorkerNetwork::closeRelaySocket(turn::RelaySocketId socket) {
  const auto it = sockets_.find(socket);
  if (it == sockets_.end()) {
    return;
  }
  event_free(it->second->read_event);
  ::close(it->second->fd);
  sockets_.erase(it);
}

void WorkerNetwork::sendToPeer(turn::RelaySocketId socket, const stun::TransportAddress& peer,
                               std::span<const std::uint8_t> bytes) {
  const auto it = sockets_.find(socket);
  if (it == sockets_.end()) {
    return;
  }
  sockaddr_storage ss{};
  const socklen_t len = toSockaddr(peer, ss);
  // A full buffer drops the datagram, as the network would.
  (void)::sendto(it->second->fd, bytes.data(), bytes.size(), MSG_DONTWAIT,
                 reinterpret_cast<sockaddr*>(&ss), len);
}

void WorkerNetwork::sendToClient(const turn::FiveTuple& five_tuple,
                                 std::span<const std::uint8_t> bytes) {
  if (five_tuple.transport != turn::Transport::Udp) {
    if (TcpConnection* c = connections_ ? connections_(five_tuple) : nullptr) {
      c->send(bytes);
    }
    return;
  }
  for (const auto& listener : *udp_) {
    if (listener->local() == five_tuple.server) {
      to_clients_.push(listener->fd(), five_tuple.client, bytes);
      return;
    }
  }
}

void WorkerNetwork::onPeerReadable(int fd, short /*what*/, void* arg) {
  auto* s = static_cast<RelaySocket*>(arg);
  WorkerNetwork* self = s->owner;
  const turn::RelaySocketId id = s->id;
  for (int turn = 0; turn < 8; ++turn) {
    ClientSendQueue& q = self->to_clients_;
    const int received = q.receive(fd);
    for (int k = 0; k < received; ++k) {
      const auto i = static_cast<std::size_t>(k);
      if (!q.truncated(i)) {
        // May close this very socket (never today, but keep `s` untouched after).
        self->server_->handlePeerDatagram(id, q.source(i), q.frame(i));
      }
    }
    if (received < static_cast<int>(ClientSendQueue::kReceiveBatch) ||
        self->sockets_.count(id) == 0) {
      return;
    }
  }
}

}  // namespace turnpike::net
