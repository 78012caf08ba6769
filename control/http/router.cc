#include "control/http/router.h"

#include <utility>

namespace turnpike::control::http {
namespace {

/// Splits "/v1/calls/x" into {"v1", "calls", "x"}. A trailing slash yields a
/// trailing empty segment, so "/v1/calls/" never matches "/v1/calls/{id}".
std::vector<std::string_view> splitPath(std::string_view path) {
  std::vector<std::string_view> segments;
  if (!path.empty() && path.front() == '/') {
    path.remove_prefix(1);
  }
  while (true) {
    const std::size_t slash = path.find('/');
    segments.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) {
      return segments;
    }
    path.remove_prefix(slash + 1);
  }
}

bool isParameter(std::string_view segment) {
  return segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
}

/// Whether `segments` (a pattern) matches `path`, filling `params` if so.
bool matches(const std::vector<std::string>& segments, const std::vector<std::string_view>& path,
             RouteParams& params) {
  if (segments.size() != path.size()) {
    return false;
  }
  RouteParams found;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const std::string& pattern = segments[i];
    if (isParameter(pattern)) {
      if (path[i].empty()) {
        return false;
      }
      found.emplace(pattern.substr(1, pattern.size() - 2), std::string(path[i]));
    } else if (pattern != path[i]) {
      return false;
    }
  }
  params = std::move(found);
  return true;
}

/// True when `a` is more specific than `b`: at the first segment where one is
/// exact and the other a parameter, the exact one wins.
bool moreSpecific(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
    const bool a_param = isParameter(a[i]);
    if (a_param != isParameter(b[i])) {
      return !a_param;
    }
  }
  return false;
}

}  // namespace

void Router::add(std::string method, std::string pattern, Handler handler) {
  Route route;
  route.method = std::move(method);
  for (std::string_view segment : splitPath(pattern)) {
    route.segments.emplace_back(segment);
  }
  route.pattern = std::move(pattern);
  route.handler = std::move(handler);
  routes_.push_back(std::move(route));
}

void Router::addWebSocket(std::string pattern, UpgradeHandler handler) {
  Route route;
  for (std::string_view segment : splitPath(pattern)) {
    route.segments.emplace_back(segment);
  }
  route.pattern = std::move(pattern);
  route.upgrade = std::move(handler);
  routes_.push_back(std::move(route));
}

// Routes are few (tens), so a linear scan is both simplest and fast enough.
Router::Match Router::match(std::string_view method, std::string_view path,
                            bool websocket_upgrade) const {
  const std::vector<std::string_view> segments = splitPath(path);
  const Route* best = nullptr;
  const Route* best_websocket = nullptr;
  const Route* other_method = nullptr;
  RouteParams best_params;
  RouteParams websocket_params;
  RouteParams params;
  for (const Route& route : routes_) {
    if (!matches(route.segments, segments, params)) {
      continue;
    }
    const bool is_websocket = route.method.empty();
    if (is_websocket && method == "GET") {
      if (best_websocket == nullptr || moreSpecific(route.segments, best_websocket->segments)) {
        best_websocket = &route;
        websocket_params = params;
      }
    } else if (!is_websocket && route.method == method) {
      if (best == nullptr || moreSpecific(route.segments, best->segments)) {
        best = &route;
        best_params = params;
      }
    } else if (other_method == nullptr) {
      other_method = &route;
    }
  }

  Match result;
  // An upgrade goes to a WebSocket route; with none, the server may ignore
  // the Upgrade header (RFC 7230 §6.7) and answer the plain GET route.
  if (websocket_upgrade && best_websocket != nullptr) {
    result.upgrade = &best_websocket->upgrade;
    result.params = std::move(websocket_params);
    result.pattern = best_websocket->pattern;
    result.status = 101;
  } else if (best != nullptr) {
    result.handler = &best->handler;
    result.params = std::move(best_params);
    result.pattern = best->pattern;
    result.status = 200;
  } else if (best_websocket != nullptr) {
    // A plain GET on a WebSocket endpoint (RFC 6455 §4.2.2 allows 426).
    result.pattern = best_websocket->pattern;
    result.status = 426;
  } else if (other_method != nullptr) {
    result.pattern = other_method->pattern;
    result.status = 405;
  }
  return result;
}

}  // namespace turnpike::control::http
