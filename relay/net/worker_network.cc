#include "relay/net/worker_network.h"

#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "relay/net/listen_socket.h"
#include "relay/net/socket_address.h"
#include "relay/net/tcp_connection.h"
#include "relay/turn/turn_server.h"

namespace turnpike::net {
namespace {

// RFC 8656 §7.2 DONT-FRAGMENT: DF on relayed datagrams (IPv4 only; IPv6
// routers never fragment). Off is IP_PMTUDISC_WANT, a new socket's default
// unless net.ipv4.ip_no_pmtu_disc is set.
void setDontFragment(int fd, int family, bool on) {
  if (family == AF_INET) {
    const int pmtu = on ? IP_PMTUDISC_DO : IP_PMTUDISC_WANT;
    ::setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof pmtu);
  }
}

}  // namespace

WorkerNetwork::WorkerNetwork(EventLoop& loop, const conf::SocketBuffers& relay_buffers)
    : loop_(loop), buffers_(relay_buffers), to_clients_(loop) {}

WorkerNetwork::TcpRelay::~TcpRelay() {
  backoff.reset();
  if (listener != nullptr) {
    evconnlistener_free(listener);
  }
}

WorkerNetwork::~WorkerNetwork() {
  to_clients_.flush();
  tcp_relays_.clear();
  for (auto& [id, c] : connects_) {
    event_free(c->ready);
    ::close(c->fd);
  }
  for (auto& [id, s] : sockets_) {
    event_free(s->read_event);
    ::close(s->fd);
  }
}

void WorkerNetwork::attach(turn::TurnServer& server,
                           const std::vector<std::unique_ptr<UdpListener>>& udp,
                           ConnectionLookup connections, turn::PeerConnections* peer_connections) {
  peer_connections_ = peer_connections;
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
  if (dont_fragment) {
    setDontFragment(fd, family, true);
  }
  auto s = std::make_unique<RelaySocket>();
  s->owner = this;
  s->id = next_id_++;
  s->fd = fd;
  s->family = family;
  s->read_event =
      event_new(loop_.base(), fd, EV_READ | EV_PERSIST, &WorkerNetwork::onPeerReadable, s.get());
  event_add(s->read_event, nullptr);
  const auto id = s->id;
  sockets_.emplace(id, std::move(s));
  return id;
}

bool WorkerNetwork::reuseRelaySocket(turn::RelaySocketId socket,
                                     std::optional<bool> dont_fragment) {
  const auto it = sockets_.find(socket);
  if (it == sockets_.end()) {
    return false;
  }
  // Whatever a peer sent since the last read would reach the new
  // allocation: such a socket is not reused. Usually this read finds nothing.
  std::uint8_t byte = 0;
  if (::recv(it->second->fd, &byte, sizeof byte, MSG_DONTWAIT) >= 0) {
    return false;
  }
  if (dont_fragment) {
    setDontFragment(it->second->fd, it->second->family, *dont_fragment);
  }
  return true;
}

void WorkerNetwork::closeRelaySocket(turn::RelaySocketId socket) {
  if (const auto tcp = tcp_relays_.find(socket); tcp != tcp_relays_.end()) {
    tcp_relays_.erase(tcp);  // frees the listener
    return;
  }
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
      if (q.truncated(i)) {
        self->server_->countTooBig();  // over kMaxDatagram: counted, not relayed cut short
        continue;
      }
      // May close this very socket (never today, but keep `s` untouched after).
      self->server_->handlePeerDatagram(id, q.source(i), q.frame(i));
    }
    if (received < static_cast<int>(ClientSendQueue::kReceiveBatch) ||
        self->sockets_.count(id) == 0) {
      return;
    }
  }
}

namespace {

// A TCP socket bound to a relayed transport address. SO_REUSEPORT lets the
// listening socket and our outgoing connections share the address (RFC 6062
// §5.2: Connect uses the relayed address as its local end).
int tcpRelaySocket(const stun::TransportAddress& address) {
  const int family = address.family == stun::AddressFamily::IPv6 ? AF_INET6 : AF_INET;
  const int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return -1;
  }
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  sockaddr_storage ss{};
  const socklen_t len = toSockaddr(address, ss);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

/// RFC 6062 §5.2: how long our connection to a peer may take before 447.
constexpr timeval kConnectTimeout{30, 0};

}  // namespace

std::optional<turn::RelaySocketId> WorkerNetwork::openTcpRelay(
    const stun::TransportAddress& address) {
  const int fd = tcpRelaySocket(address);
  if (fd < 0) {
    return std::nullopt;
  }
  auto r = std::make_unique<TcpRelay>();
  r->owner = this;
  r->id = next_id_++;
  r->listener = evconnlistener_new(loop_.base(), &WorkerNetwork::onPeerAccepted, r.get(),
                                   LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 64, fd);
  if (r->listener == nullptr) {
    ::close(fd);
    return std::nullopt;
  }
  evconnlistener_set_error_cb(r->listener, &WorkerNetwork::onPeerAcceptError);
  r->backoff.emplace(loop_, r->listener, "tcp relay");
  const auto id = r->id;
  tcp_relays_.emplace(id, std::move(r));
  return id;
}

void WorkerNetwork::onPeerAccepted(evconnlistener* /*listener*/, int fd, sockaddr* address,
                                   int length, void* arg) {
  auto* r = static_cast<TcpRelay*>(arg);
  if (!r->backoff->admit(fd)) {
    r->owner->server_->countRefusedTcpPeer();
    return;
  }
  sockaddr_storage ss{};
  std::memcpy(&ss, address, std::min(static_cast<std::size_t>(length), sizeof ss));
  evutil_make_socket_nonblocking(fd);
  if (!r->owner->server_->onPeerConnectionAccepted(r->id, fromSockaddr(ss), fd)) {
    ::close(fd);  // §5.3: no permission for this peer
  }
}

void WorkerNetwork::onPeerAcceptError(evconnlistener* /*listener*/, void* arg) {
  static_cast<TcpRelay*>(arg)->backoff->failed();
}

void WorkerNetwork::connectPeer(const stun::TransportAddress& local,
                                const stun::TransportAddress& peer, std::uint32_t id) {
  const int fd = tcpRelaySocket(local);
  sockaddr_storage ss{};
  const socklen_t len = toSockaddr(peer, ss);
  if (fd < 0 ||
      (::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 && errno != EINPROGRESS)) {
    if (fd >= 0) {
      ::close(fd);
    }
    // Answered from the loop, never from inside the Connect handler.
    loop_.post([this, id] { server_->onPeerConnected(id, -1); });
    return;
  }
  auto c = std::make_unique<PendingConnect>();
  c->owner = this;
  c->id = id;
  c->fd = fd;
  c->ready = event_new(loop_.base(), fd, EV_WRITE, &WorkerNetwork::onPeerConnectDone, c.get());
  event_add(c->ready, &kConnectTimeout);
  connects_.emplace(id, std::move(c));
}

void WorkerNetwork::onPeerConnectDone(int fd, short what, void* arg) {
  auto* c = static_cast<PendingConnect*>(arg);
  WorkerNetwork* self = c->owner;
  const std::uint32_t id = c->id;
  int error = 0;
  socklen_t len = sizeof error;
  const bool connected = (what & EV_WRITE) != 0 &&
                         ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) == 0 && error == 0;
  event_free(c->ready);
  self->connects_.erase(id);  // frees c
  if (!connected) {
    ::close(fd);
  }
  if (!self->server_->onPeerConnected(id, connected ? fd : -1) && connected) {
    ::close(fd);
  }
}

void WorkerNetwork::closePeerConnection(std::uint32_t id) {
  if (const auto it = connects_.find(id); it != connects_.end()) {
    event_free(it->second->ready);
    ::close(it->second->fd);
    connects_.erase(it);
  }
  if (peer_connections_ == nullptr) {
    return;
  }
  auto entry = peer_connections_->release(id);
  if (!entry) {
    return;
  }
  if (entry->handle >= 0) {
    ::close(entry->handle);  // connected, never bound
  }
  if (entry->close_bound) {
    entry->close_bound();  // bound: its data connection closes, on whichever worker has it
  }
}

void WorkerNetwork::bindDataConnection(const turn::FiveTuple& data_connection, std::uint32_t id,
                                       int handle) {
  TcpConnection* c = connections_ ? connections_(data_connection) : nullptr;
  if (c == nullptr) {
    ::close(handle);
    return;
  }
  c->becomePipe(id, handle, peer_connections_->traffic(id));
  pipes_[id] = c;
  const auto close_here = [this, id] {
    loop_.post([this, id] {
      if (const auto it = pipes_.find(id); it != pipes_.end()) {
        it->second->closeWhenFlushed();
      }
    });
  };
  if (!peer_connections_->setCloser(id, close_here)) {
    close_here();  // the allocation went away while we were binding
  }
}

void WorkerNetwork::pipeClosed(std::uint32_t id) {
  pipes_.erase(id);
  if (peer_connections_ != nullptr) {
    peer_connections_->release(id);
  }
}

}  // namespace turnpike::net
