#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "conf/config.h"
#include "control/control_loop.h"
#include "control/http/http_server.h"
#include "relay/app/fault_tally.h"
#include "relay/app/reload_outcome.h"

namespace turnpike::app {

/// Health and admin endpoints on `control.listen`, on the call API's HTTP
/// layer (control/http) with a thread and loop of their own, JSON in and out:
///   GET    /healthz                      200 while the process runs
///   GET    /livez                        200 while the process answers (draining too)
///   GET    /readyz                       200 when serving, 503 while draining
/// and, with bearer `control.admin_token` (404 when no token is set):
///   POST   /admin/drain                  start draining
///   POST   /admin/reload                 re-read the config file
///   GET    /admin/allocations[?user=U][&limit=N]  list (of one user id)
///   GET    /admin/allocations/ID         show one
///   DELETE /admin/allocations/ID         delete one
///   DELETE /admin/allocations?user=U     delete all of a user's (kick)
///   GET    /admin/calls/ID               a call and its timeline
class ControlServer {
 public:
  /// Called on the control thread; each must be thread-safe.
  struct Hooks {
    std::function<bool()> draining;
    std::function<void()> drain;
    std::function<ReloadOutcome()> reload;
    /// Allocations (of a user id when not empty), at most a limit of them
    /// described; nullopt: workers did not answer.
    std::function<std::optional<nlohmann::json>(const std::string&, std::size_t)> list;
    /// One allocation, null JSON when unknown; nullopt: workers did not answer.
    std::function<std::optional<nlohmann::json>(std::uint64_t)> show;
    /// Deletes by id, or all of a user id's; how many.
    std::function<std::optional<std::size_t>(const std::string&, std::optional<std::uint64_t>)>
        kick;
    /// A call and its timeline; null JSON when unknown; nullopt: no answer.
    /// Unset: the call API is off.
    std::function<std::optional<nlohmann::json>(const std::string&)> call;
  };

  /// Listens and starts serving; nullptr with `error` set when it cannot.
  /// Answers and internal errors are counted in `tally`, which must outlive
  /// the server.
  static std::unique_ptr<ControlServer> start(const conf::ControlConfig& config, Hooks hooks,
                                              ProcessTally& tally, std::string& error);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  [[nodiscard]] std::uint16_t port() const { return server_->port(); }
  /// A new admin token (reload); empty turns the admin endpoints off. Thread-safe.
  void setAdminToken(std::string token);

 private:
  ControlServer(std::string admin_token, Hooks hooks, ProcessTally& tally);
  void addRoutes();
  /// Wraps an admin handler: the bearer token first.
  control::http::Handler admin(control::http::Handler handler) const;
  control::http::Response allocations(const control::http::Request& request,
                                      const std::string& id_text) const;
  std::string adminToken() const;

  mutable std::mutex token_mutex_;
  std::string admin_token_;  // guarded by token_mutex_
  Hooks hooks_;
  ProcessTally& tally_;
  control::ControlLoop loop_{"tp-admin"};  ///< the thread and loop the endpoints run on
  control::http::Router router_;
  std::unique_ptr<control::http::HttpServer> server_;
};

}  // namespace turnpike::app
