#pragma once

#include <functional>
#include <unordered_map>
#include <vector>

#include "conf/config.h"
#include "relay/net/accept_backoff.h"
#include "relay/net/client_send_queue.h"
#include "relay/net/event_loop.h"
#include "relay/net/udp_listener.h"
#include "relay/turn/relay_network.h"

struct evconnlistener;
struct sockaddr;

namespace turnpike::turn {
class TurnServer;
class PeerConnections;
}  // namespace turnpike::turn

namespace turnpike::net {

class TcpConnection;

/// The worker's side of turn::RelayNetwork: relay sockets (one UDP socket per
/// allocation, read with recvmmsg) and the way back to clients (the worker's
/// own UDP listener sockets through the ClientSendQueue, or the TCP
/// connection an allocation came over).
class WorkerNetwork final : public turn::RelayNetwork {
 public:
  using ConnectionLookup = std::function<TcpConnection*(const turn::FiveTuple&)>;

  WorkerNetwork(EventLoop& loop, const conf::SocketBuffers& relay_buffers);
  ~WorkerNetwork() override;
  WorkerNetwork(const WorkerNetwork&) = delete;
  WorkerNetwork& operator=(const WorkerNetwork&) = delete;

  /// Wiring done once by the worker before it starts.
  void attach(turn::TurnServer& server, const std::vector<std::unique_ptr<UdpListener>>& udp,
              ConnectionLookup connections, turn::PeerConnections* peer_connections);

  std::optional<turn::RelaySocketId> openRelaySocket(const stun::TransportAddress& address,
                                                     bool dont_fragment) override;
  void closeRelaySocket(turn::RelaySocketId socket) override;
  [[nodiscard]] bool keepsRelaySockets() const override { return true; }
  bool reuseRelaySocket(turn::RelaySocketId socket, std::optional<bool> dont_fragment) override;
  void sendToPeer(turn::RelaySocketId socket, const stun::TransportAddress& peer,
                  std::span<const std::uint8_t> bytes) override;
  void sendToClient(const turn::FiveTuple& five_tuple,
                    std::span<const std::uint8_t> bytes) override;
  std::optional<turn::RelaySocketId> openTcpRelay(const stun::TransportAddress& address) override;
  void connectPeer(const stun::TransportAddress& local, const stun::TransportAddress& peer,
                   std::uint32_t id) override;
  void closePeerConnection(std::uint32_t id) override;
  void bindDataConnection(const turn::FiveTuple& data_connection, std::uint32_t id,
                          int handle) override;
  /// A data connection of this worker closed: forget its peer connection.
  void pipeClosed(std::uint32_t id);

  [[nodiscard]] std::size_t openSockets() const { return sockets_.size(); }

 private:
  struct RelaySocket {
    WorkerNetwork* owner = nullptr;
    turn::RelaySocketId id = 0;
    int fd = -1;
    int family = 0;
    event* read_event = nullptr;
  };
  static void onPeerReadable(int fd, short what, void* arg);
  struct TcpRelay {
    WorkerNetwork* owner = nullptr;
    turn::RelaySocketId id = 0;
    evconnlistener* listener = nullptr;
    std::optional<AcceptBackoff> backoff;
    ~TcpRelay();
  };
  struct PendingConnect {
    WorkerNetwork* owner = nullptr;
    std::uint32_t id = 0;
    int fd = -1;
    event* ready = nullptr;
  };
  static void onPeerAccepted(evconnlistener* listener, int fd, sockaddr* address, int length,
                             void* arg);
  static void onPeerAcceptError(evconnlistener* listener, void* arg);
  static void onPeerConnectDone(int fd, short what, void* arg);

  EventLoop& loop_;
  conf::SocketBuffers buffers_;
  ClientSendQueue to_clients_;
  turn::TurnServer* server_ = nullptr;
  const std::vector<std::unique_ptr<UdpListener>>* udp_ = nullptr;
  ConnectionLookup connections_;
  std::unordered_map<turn::RelaySocketId, std::unique_ptr<RelaySocket>> sockets_;
  std::unordered_map<turn::RelaySocketId, std::unique_ptr<TcpRelay>> tcp_relays_;
  std::unordered_map<std::uint32_t, std::unique_ptr<PendingConnect>> connects_;
  std::unordered_map<std::uint32_t, TcpConnection*> pipes_;  ///< bound data connections here
  turn::PeerConnections* peer_connections_ = nullptr;
  turn::RelaySocketId next_id_ = 1;
};

}  // namespace turnpike::net
