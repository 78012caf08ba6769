#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "conf/config.h"
#include "control/cluster/node_directory.h"
#include "control/control_stats.h"
#include "control/relay_port.h"
#include "control/store/call_store.h"

struct ssl_ctx_st;

namespace turnpike::control {

/// The call control plane as one piece: store, call service, `/v1` API and
/// events WebSocket on `api.listen`, on a thread of its own. Built in two
/// steps so the relay can use what the store holds (the TURN secret, the
/// revoked calls) before its workers start.
class ControlPlane {
 public:
  /// Opens the store and restores state; nullptr with `error` set.
  static std::unique_ptr<ControlPlane> open(const conf::Config& config, std::string& error);
  ~ControlPlane();
  ControlPlane(const ControlPlane&) = delete;
  ControlPlane& operator=(const ControlPlane&) = delete;

  /// The secret call-bound TURN credentials are signed with: the first
  /// auth.rest_secrets entry, else one generated and kept in the store.
  [[nodiscard]] const std::string& turnSecret() const;
  /// Calls whose credentials were revoked and still would be valid.
  [[nodiscard]] const std::vector<Revocation>& revocations() const;

  /// Listens on api.listen and starts the thread. `tls` (may be null when
  /// api.tls is false) must outlive this; `turn_uris` are handed out with
  /// credentials. False with `error` set.
  bool start(RelayPort& relay, ssl_ctx_st* tls, std::vector<std::string> turn_uris,
             std::string& error);
  /// How loaded the relay is, for this node's announcement to the others
  /// (store.backend: redis); read on the control thread once a second.
  /// Before start().
  void setNodeLoad(std::function<cluster::NodeLoad()> load);
  /// The bound ports of api.listen, in order.
  [[nodiscard]] std::vector<std::uint16_t> ports() const;

  /// A TURN allocation of a call came or went. Thread-safe.
  void noteAllocation(const std::string& call_id, std::string what, nlohmann::json detail);
  /// `GET /admin/calls/{callId}` from another thread: the call and its
  /// timeline, null JSON when unknown, nullopt when the loop did not answer.
  std::optional<nlohmann::json> adminCall(const std::string& call_id);
  /// SIGHUP: new push credentials and limits from `push`. Keys are read
  /// here; on an error the running ones stay (false, with `error`).
  /// Thread-safe; requests in flight are not dropped.
  bool reloadPush(const conf::PushConfig& push, std::string& error);
  /// Runs `task` on the control thread. Thread-safe.
  void post(std::function<void()> task);

  [[nodiscard]] const ControlStats& stats() const;
  void stop();

 private:
  struct Impl;
  explicit ControlPlane(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace turnpike::control
