#pragma once

#include <map>
#include <set>
#include <vector>

#include "relay/turn/peer_connections.h"
#include "relay/turn/relay_network.h"

namespace turnpike::testing {

/// Records what the protocol layer sends; refuses binds on ports it is told
/// are taken. No kernel involved.
class FakeNetwork final : public turn::RelayNetwork {
 public:
  struct Sent {
    turn::RelaySocketId socket = 0;
    stun::TransportAddress to;
    std::vector<std::uint8_t> bytes;
  };

  std::optional<turn::RelaySocketId> openRelaySocket(const stun::TransportAddress& address,
                                                     bool dont_fragment) override {
    if (taken_ports.count(address.port) != 0) return std::nullopt;
    const turn::RelaySocketId id = next_id_++;
    open[id] = address;
    last_dont_fragment = dont_fragment;
    return id;
  }
  void closeRelaySocket(turn::RelaySocketId socket) override { open.erase(socket); }
  [[nodiscard]] bool keepsRelaySockets() const override { return keeps_sockets; }
  bool reuseRelaySocket(turn::RelaySocketId socket, std::optional<bool> dont_fragment) override {
    if (open.count(socket) == 0 || waiting.count(socket) != 0) return false;
    if (dont_fragment) last_dont_fragment = *dont_fragment;
    ++reused;
    return true;
  }
  void sendToPeer(turn::RelaySocketId socket, const stun::TransportAddress& peer,
                  std::span<const std::uint8_t> bytes) override {
    to_peers.push_back({socket, peer, {bytes.begin(), bytes.end()}});
  }
  void sendToClient(const turn::FiveTuple& five_tuple,
                    std::span<const std::uint8_t> bytes) override {
    to_clients.push_back({0, five_tuple.client, {bytes.begin(), bytes.end()}});
  }

  std::optional<turn::RelaySocketId> openTcpRelay(const stun::TransportAddress& address) override {
    if (taken_ports.count(address.port) != 0) return std::nullopt;
    const turn::RelaySocketId id = next_id_++;
    open[id] = address;
    tcp_relays.insert(id);
    return id;
  }
  void connectPeer(const stun::TransportAddress& local, const stun::TransportAddress& peer,
                   std::uint32_t id) override {
    connects.push_back({local, peer, id});
  }
  void closePeerConnection(std::uint32_t id) override {
    closed_peers.push_back(id);
    if (registry != nullptr) registry->release(id);
  }
  void bindDataConnection(const turn::FiveTuple& data_connection, std::uint32_t id,
                          int handle) override {
    bound.push_back({data_connection, id, handle});
  }

  struct Connect {
    stun::TransportAddress local;
    stun::TransportAddress peer;
    std::uint32_t id = 0;
  };
  struct Bound {
    turn::FiveTuple data_connection;
    std::uint32_t id = 0;
    int handle = -1;
  };
  std::set<turn::RelaySocketId> tcp_relays;
  std::vector<Connect> connects;
  std::vector<std::uint32_t> closed_peers;
  std::vector<Bound> bound;
  turn::PeerConnections* registry = nullptr;  ///< released on close, as the I/O layer does

  std::map<turn::RelaySocketId, stun::TransportAddress> open;
  std::set<std::uint16_t> taken_ports;
  std::vector<Sent> to_peers;
  std::vector<Sent> to_clients;
  bool last_dont_fragment = false;
  bool keeps_sockets = false;             ///< relay sockets may outlive allocations
  std::set<turn::RelaySocketId> waiting;  ///< kept sockets with a datagram unread
  int reused = 0;

 private:
  turn::RelaySocketId next_id_ = 1;
};

}  // namespace turnpike::testing
