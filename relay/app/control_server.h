#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "conf/config.h"

struct event_base;
struct evhttp;
struct evhttp_request;

namespace turnpike::app {

/// Health and admin endpoints on `control.listen` (libevent's evhttp, on a
/// thread of its own), JSON in and out:
///   GET  /healthz       200 while the process runs
///   GET  /readyz        200 when serving, 503 while draining
///   POST /admin/drain   bearer `control.admin_token`; 404 when no token is set
class ControlServer {
 public:
  struct Hooks {
    std::function<bool()> draining;  ///< any thread
    std::function<void()> drain;     ///< any thread: start draining
  };

  /// Listens and starts serving; nullptr with `error` set when it cannot.
  static std::unique_ptr<ControlServer> start(const conf::ControlConfig& config, Hooks hooks,
                                              std::string& error);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  [[nodiscard]] std::uint16_t port() const { return port_; }

 private:
  ControlServer(std::string admin_token, Hooks hooks)
      : admin_token_(std::move(admin_token)), hooks_(std::move(hooks)) {}
  static void onRequest(evhttp_request* request, void* self);
  void handle(evhttp_request* request);

  std::string admin_token_;
  Hooks hooks_;
  event_base* base_ = nullptr;
  evhttp* http_ = nullptr;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

}  // namespace turnpike::app
