#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace turnpike::control::http {

/// One parsed HTTP/1.1 request, as handlers see it.
struct Request {
  std::string method;  ///< "GET", "POST", ...
  std::string path;    ///< the path part of the target, percent-decoded
  std::string query;   ///< the raw query string (after '?'), empty if none
  /// Header names lowercased, values as sent (trimmed); in arrival order.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string remote_address;  ///< "ip:port" of the client

  /// The first value of a header (name lowercase), empty when absent.
  [[nodiscard]] std::string_view header(std::string_view lowercase_name) const;
  /// A percent-decoded query parameter, empty when absent.
  [[nodiscard]] std::string queryParam(std::string_view name) const;
};

/// What a handler answers. JSON unless `content_type` says otherwise.
struct Response {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  ///< extra headers
};

/// `{name}` segments of the matched route pattern, by name.
using RouteParams = std::map<std::string, std::string, std::less<>>;

using Handler = std::function<Response(const Request&, const RouteParams&)>;

/// One accepted WebSocket, as the application sees it. Owned by the server;
/// valid until WebSocketListener::onClosed for it returns.
class WebSocket {
 public:
  virtual ~WebSocket() = default;
  /// Queues a text message. False when the connection's unsent output is
  /// over its bound: the connection is then being closed (a client that
  /// stops reading is closed, never buffered without limit).
  virtual bool sendText(std::string_view text) = 0;
  /// Starts the closing handshake with `code` (RFC 6455 §7.4).
  virtual void close(std::uint16_t code, std::string_view reason) = 0;
  /// Unique per server, never reused.
  [[nodiscard]] virtual std::uint64_t id() const = 0;
  /// Bytes queued but not yet written to the socket.
  [[nodiscard]] virtual std::size_t pendingOutput() const = 0;
  /// UpgradeDecision::subject of the upgrade that opened it (the user id).
  [[nodiscard]] virtual const std::string& subject() const = 0;
};

/// The application's side of WebSockets accepted on one route.
class WebSocketListener {
 public:
  virtual ~WebSocketListener() = default;
  virtual void onOpen(WebSocket& socket) { (void)socket; }
  /// A complete text message (binary messages are refused with close 1003).
  virtual void onText(WebSocket& socket, std::string_view text) = 0;
  /// The connection is gone; `socket` is invalid after this returns.
  virtual void onClosed(WebSocket& socket) = 0;
};

/// Decides on an upgrade request: `listener` set accepts it (the server
/// answers 101), otherwise `refusal` is sent (401 for a bad token, say).
struct UpgradeDecision {
  WebSocketListener* listener = nullptr;
  /// Opaque to the server, kept with the connection and handed back by
  /// WebSocket::subject(); e.g. the authenticated user id.
  std::string subject;
  Response refusal;
};

using UpgradeHandler = std::function<UpgradeDecision(const Request&)>;

}  // namespace turnpike::control::http
