#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "control/http/http_types.h"

namespace turnpike::control::http {

/// A route table: (method, pattern) -> handler, patterns such as
/// "/v1/calls/{callId}/accept" where `{name}` matches one non-empty path
/// segment. Exact segments win over parameters when both match.
class Router {
 public:
  void add(std::string method, std::string pattern, Handler handler);
  /// A WebSocket endpoint (GET with `Upgrade: websocket`).
  void addWebSocket(std::string pattern, UpgradeHandler handler);

  struct Match {
    const Handler* handler = nullptr;
    const UpgradeHandler* upgrade = nullptr;
    RouteParams params;
    std::string pattern;  ///< the matched pattern, a metrics label
    /// No handler: 404 when no pattern matched the path, 405 when one did
    /// for another method.
    int status = 404;
  };
  [[nodiscard]] Match match(std::string_view method, std::string_view path,
                            bool websocket_upgrade) const;

 private:
  struct Route {
    std::string method;  ///< empty for WebSocket routes
    std::string pattern;
    std::vector<std::string> segments;
    Handler handler;
    UpgradeHandler upgrade;
  };
  std::vector<Route> routes_;
};

}  // namespace turnpike::control::http
