#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "control/calls/call_book.h"
#include "control/cluster/peers.h"
#include "control/http/http_types.h"

namespace turnpike::control {

/// The WebSockets of `GET /v1/events`: which device each belongs to (after
/// its hello) and whether it is in the foreground. Delivers call events to
/// the devices they are addressed to.
class EventHub final : public Presence {
 public:
  /// Whether a device could be woken by push (the push seam; none yet).
  using Pushable = std::function<bool(const Device&)>;

  explicit EventHub(Pushable pushable) : pushable_(std::move(pushable)) {}

  /// A socket said hello for `device`. A device has one socket: an older
  /// one is closed (4000, "replaced").
  void bind(http::WebSocket& socket, const DeviceKey& device, bool foreground);
  /// The device its hello named; null before hello.
  [[nodiscard]] const DeviceKey* deviceOf(const http::WebSocket& socket) const;
  /// The socket closed; the device it spoke for when it was that device's
  /// socket (now offline here).
  std::optional<DeviceKey> closed(http::WebSocket& socket);

  /// Sockets on other nodes (several nodes share a store): `alive` tells
  /// whether a node still announces itself; a dead node's sockets count as
  /// gone.
  void setNodeAlive(std::function<bool(const std::string&)> alive) { alive_ = std::move(alive); }
  void remoteOnline(RemoteSocket socket);
  void remoteOffline(const DeviceKey& device, const std::string& node);
  void clearRemote() { remote_.clear(); }
  /// The devices with a socket here, and whether it is in the foreground.
  [[nodiscard]] std::vector<std::pair<DeviceKey, bool>> localDevices() const;

  /// Writes `message` to the device's socket; false when it has none (or
  /// the socket is over its output bound and being closed).
  bool deliver(const DeviceKey& device, const std::string& message);

  [[nodiscard]] bool online(const DeviceKey& device) const override;
  [[nodiscard]] bool foreground(const DeviceKey& device) const override;
  [[nodiscard]] bool pushable(const Device& device) const override { return pushable_(device); }
  [[nodiscard]] std::size_t devicesOnline() const { return by_device_.size(); }

 private:
  struct Binding {
    DeviceKey device;
    bool foreground = true;
  };
  Pushable pushable_;
  std::map<std::uint64_t, Binding> by_socket_;
  std::map<DeviceKey, http::WebSocket*> by_device_;
  std::function<bool(const std::string&)> alive_;
  std::map<DeviceKey, RemoteSocket> remote_;

  [[nodiscard]] const RemoteSocket* remote(const DeviceKey& device) const;
};

}  // namespace turnpike::control
