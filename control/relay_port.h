#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

namespace turnpike::control {

/// What the control plane asks of the relay; `relay/app` implements it by
/// posting to every worker. Never blocks the caller.
class RelayPort {
 public:
  virtual ~RelayPort() = default;
  /// From now on the call's TURN credentials are refused (until `until`,
  /// Unix seconds), and its allocations are deleted on every worker.
  /// `done(deleted)` runs later on the control loop.
  virtual void revokeCall(const std::string& call_id, std::chrono::seconds until,
                          std::function<void(std::size_t deleted)> done) = 0;
};

}  // namespace turnpike::control
