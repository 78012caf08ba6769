#include "relay/app/control_server.h"

#include <spdlog/spdlog.h>

#include <charconv>
#include <exception>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "relay/app/json_text.h"
#include "relay/app/same_secret.h"

namespace turnpike::app {
namespace {

using control::http::Handler;
using control::http::Request;
using control::http::Response;
using control::http::RouteParams;

Response json(int status, const nlohmann::json& body) {
  Response r;
  r.status = status;
  r.body = jsonText(body) + "\n";
  if (status == 401) {
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
  }
  return r;
}

// How many allocations a list describes unless ?limit= says otherwise.
constexpr std::size_t kDefaultListLimit = 1000;
constexpr std::size_t kMaxListLimit = 100'000;

// What /admin/allocations[/<id>][?user=U][&limit=N] asks for; `error` set
// when it cannot be understood.
struct AllocationQuery {
  std::string user;
  std::size_t limit = kDefaultListLimit;
  std::optional<std::uint64_t> id;
  std::string error;
};

template <typename T>
bool parseNumber(std::string_view text, T& out, int base = 10) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out, base);
  return ec == std::errc() && end == text.data() + text.size();
}

AllocationQuery parseAllocationQuery(const Request& request, std::string_view id_text) {
  AllocationQuery q;
  q.user = request.queryParam("user");
  const std::string limit = request.queryParam("limit");
  if (!limit.empty() && (!parseNumber(limit, q.limit) || q.limit == 0 || q.limit > kMaxListLimit)) {
    q.error = "limit is a number from 1 to " + std::to_string(kMaxListLimit);
  }
  if (!id_text.empty()) {
    std::uint64_t value = 0;
    if (id_text.size() > 16 || !parseNumber(id_text, value, 16)) {
      q.error = "an allocation id is 16 hex digits, not \"" + std::string(id_text) + "\"";
    }
    q.id = value;
  }
  return q;
}

// The request line and headers together, and a body: more is answered
// 431/413 before any handler runs.
control::http::ServerLimits controlLimits() {
  control::http::ServerLimits limits;
  limits.max_header_bytes = std::size_t{8} * 1024;
  limits.max_body = std::size_t{64} * 1024;
  limits.max_connections = 256;
  limits.idle_timeout = std::chrono::seconds{10};
  return limits;
}

}  // namespace

ControlServer::ControlServer(std::string admin_token, Hooks hooks, ProcessTally& tally)
    : admin_token_(std::move(admin_token)), hooks_(std::move(hooks)), tally_(tally) {}

std::unique_ptr<ControlServer> ControlServer::start(const conf::ControlConfig& config, Hooks hooks,
                                                    ProcessTally& tally, std::string& error) {
  std::unique_ptr<ControlServer> s(new ControlServer(config.admin_token, std::move(hooks), tally));
  s->addRoutes();
  s->server_ = std::make_unique<control::http::HttpServer>(
      s->loop_.base(), s->router_, controlLimits(), nullptr,
      [&tally](std::string_view /*route*/, int status) { tally.countControlResponse(status); });
  const auto& listen = *config.listen;
  if (!s->server_->listen(listen.ip, listen.port, error)) {
    error = "cannot listen on " + listen.toString() + ": " + error;
    return nullptr;
  }
  s->loop_.start();
  return s;
}

ControlServer::~ControlServer() {
  // The loop's thread is joined first: the server is then only touched here.
  loop_.stop();
  if (server_) {
    server_->shutdown();
    server_.reset();
  }
}

void ControlServer::setAdminToken(std::string token) {
  std::lock_guard lock(token_mutex_);
  admin_token_ = std::move(token);
}

std::string ControlServer::adminToken() const {
  std::lock_guard lock(token_mutex_);
  return admin_token_;
}

Handler ControlServer::admin(Handler handler) const {
  return [this, handler = std::move(handler)](const Request& r, const RouteParams& params) {
    const std::string token = adminToken();
    if (token.empty()) {
      return json(404, {{"error", "admin endpoints are off: set control.admin_token"}});
    }
    constexpr std::string_view kBearer = "Bearer ";
    const std::string_view given = r.header("authorization");
    if (given.rfind(kBearer, 0) != 0 || !sameSecret(given.substr(kBearer.size()), token)) {
      return json(401, {{"error", "missing or wrong bearer token"}});
    }
    // Nothing thrown while answering may leave the control thread: count it
    // and answer 500.
    try {
      return handler(r, params);
    } catch (const std::exception& error) {
      spdlog::error("control: internal error while answering a request: {}", error.what());
    }
    ++tally_.control_errors;
    return json(500, {{"error", "internal error"}});
  };
}

void ControlServer::addRoutes() {
  router_.add("GET", "/healthz", [](const Request&, const RouteParams&) {
    return json(200, {{"status", "alive"}});
  });
  // Liveness: the control thread answers. Never 503 while draining, so a
  // liveness probe does not kill a node that is finishing its calls.
  router_.add("GET", "/livez", [](const Request&, const RouteParams&) {
    return json(200, {{"live", true}});
  });
  router_.add("GET", "/readyz", [this](const Request&, const RouteParams&) {
    const bool draining = hooks_.draining();
    return json(draining ? 503 : 200,
                {{"ready", !draining}, {"draining", draining}, {"listeners", "bound"}});
  });
  router_.add("POST", "/admin/drain", admin([this](const Request&, const RouteParams&) {
                hooks_.drain();
                return json(202, {{"draining", true}});
              }));
  router_.add("POST", "/admin/reload", admin([this](const Request&, const RouteParams&) {
                const ReloadOutcome outcome = hooks_.reload();
                const int status = outcome.ok ? 200 : outcome.invalid_file ? 422 : 409;
                nlohmann::json body = {{"reloaded", outcome.ok}, {"message", outcome.message}};
                if (outcome.ok) {
                  body["changed"] = outcome.changed;
                } else {
                  body["error"] = outcome.message;
                  body["errors"] = outcome.errors;
                }
                return json(status, body);
              }));
  for (const char* method : {"GET", "DELETE"}) {
    router_.add(method, "/admin/allocations",
                admin([this](const Request& r, const RouteParams&) { return allocations(r, ""); }));
    router_.add(method, "/admin/allocations/{id}",
                admin([this](const Request& r, const RouteParams& params) {
                  return allocations(r, params.find("id")->second);
                }));
  }
  router_.add("GET", "/admin/calls/{callId}",
              admin([this](const Request&, const RouteParams& params) {
                if (!hooks_.call) {
                  return json(404, {{"error", "the call API is off (api.listen is empty)"}});
                }
                const auto call = hooks_.call(params.find("callId")->second);
                if (!call) {
                  return json(503, {{"error", "the control plane did not answer"}});
                }
                return call->is_null() ? json(404, {{"error", "no such call"}}) : json(200, *call);
              }));
}

Response ControlServer::allocations(const Request& request, const std::string& id_text) const {
  const AllocationQuery query = parseAllocationQuery(request, id_text);
  if (!query.error.empty()) {
    return json(400, {{"error", query.error}});
  }
  const std::string& user = query.user;
  const std::optional<std::uint64_t>& id = query.id;
  const auto unavailable = [] {
    return json(503, {{"error", "the workers did not answer; try again"}});
  };
  if (request.method == "GET") {
    if (!id) {
      const auto listed = hooks_.list(user, query.limit);
      return listed ? json(200, *listed) : unavailable();
    }
    const auto one = hooks_.show(*id);
    if (!one) {
      return unavailable();
    }
    return one->is_null() ? json(404, {{"error", "no such allocation"}, {"id", id_text}})
                          : json(200, *one);
  }
  if (!id && user.empty()) {
    return json(400, {{"error",
                       "say which: /admin/allocations/<id> or /admin/allocations?user=<user id>"}});
  }
  const auto deleted = hooks_.kick(user, id);
  if (!deleted) {
    return unavailable();
  }
  if (id && *deleted == 0) {
    return json(404, {{"error", "no such allocation"}, {"id", id_text}});
  }
  return json(200, {{"deleted", *deleted}});
}

}  // namespace turnpike::app
