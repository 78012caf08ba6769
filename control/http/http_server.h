#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "control/http/router.h"

struct event_base;
struct ssl_ctx_st;

namespace turnpike::control::http {

struct ServerLimits {
  std::size_t max_body = std::size_t{64} * 1024;         ///< larger: 413
  std::size_t max_header_bytes = std::size_t{8} * 1024;  ///< request line + headers; larger: 431
  std::size_t max_connections = 10'000;                  ///< beyond: accepted and closed at once
  std::size_t max_message = std::size_t{64} * 1024;      ///< WebSocket message; larger: close 1009
  std::size_t max_output =
      std::size_t{1024} * 1024;            ///< unsent bytes per connection; beyond: closed
  std::chrono::seconds idle_timeout{60};   ///< HTTP keep-alive / unfinished request
  std::chrono::seconds ping_interval{25};  ///< WebSocket ping when idle this long
  std::chrono::seconds pong_timeout{20};   ///< no frame after a ping: closed
};

/// HTTP/1.1 (keep-alive) and WebSocket (RFC 6455) on libevent bufferevents,
/// optionally over TLS. Single-threaded: every call and callback happens on
/// the thread running `base`.
class HttpServer {
 public:
  /// Called once per answered HTTP request (route pattern or "unmatched").
  using AnswerObserver = std::function<void(std::string_view pattern, int status)>;

  /// `tls` (not owned, may be null for plain HTTP) must outlive the server.
  HttpServer(event_base* base, const Router& router, ServerLimits limits, ssl_ctx_st* tls,
             AnswerObserver observer = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Binds and listens ("127.0.0.1", 0 for an ephemeral port); false with
  /// `error` set when it cannot. May be called for several addresses.
  bool listen(const std::string& host, std::uint16_t port, std::string& error);
  /// The bound port of the i-th listen() call.
  [[nodiscard]] std::uint16_t port(std::size_t index = 0) const;
  [[nodiscard]] std::size_t connections() const;
  [[nodiscard]] std::size_t webSockets() const;
  /// Closes every connection and listener (WebSockets get close 1001).
  void shutdown();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace turnpike::control::http
