#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "control/calls/call.h"

namespace turnpike::control {

/// A device's socket on another node.
struct RemoteSocket {
  DeviceKey device;
  std::string node;
  bool foreground = true;
};

/// The other nodes of a deployment, as the call service sees them (Redis:
/// cluster::RedisPeers). Runs on the control thread.
class Peers {
 public:
  virtual ~Peers() = default;
  /// The shared store is reachable and this node has caught up with it.
  [[nodiscard]] virtual bool ready() const = 0;
  /// A write found the store unreachable: catch up again once it is back.
  virtual void lost() = 0;
  /// A device's socket came or went here: tell the other nodes.
  virtual void presence(const DeviceKey& device, bool online, bool foreground) = 0;
  /// Every device socket on other nodes that are alive (for a full reload).
  virtual bool remoteSockets(std::vector<RemoteSocket>& out) = 0;
  [[nodiscard]] virtual bool nodeAlive(const std::string& node) const = 0;
  [[nodiscard]] virtual const std::string& nodeName() const = 0;
  /// TURN URIs of live, non-draining nodes, `region` first ("" = this
  /// node's region).
  [[nodiscard]] virtual std::vector<std::string> turnUris(std::string_view region) const = 0;
};

}  // namespace turnpike::control
