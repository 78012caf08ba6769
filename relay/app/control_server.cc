#include "relay/app/control_server.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <sys/socket.h>

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

// A request line and its headers together; more is answered 431/400 by
// libevent before any handler runs. Header count is bounded by the size.
constexpr ssize_t kMaxHeadersSize = ssize_t{8} * 1024;

void send(evhttp_request* request, int status, const nlohmann::json& body) {
  evkeyvalq* headers = evhttp_request_get_output_headers(request);
  evhttp_add_header(headers, "Content-Type", "application/json");
  if (status == 401) {
    evhttp_add_header(headers, "WWW-Authenticate", "Bearer");
  }
  evbuffer* out = evbuffer_new();
  const std::string text = jsonText(body) + "\n";
  evbuffer_add(out, text.data(), text.size());
  evhttp_send_reply(request, status, nullptr, out);
  evbuffer_free(out);
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

AllocationQuery parseAllocationQuery(evhttp_request* request, std::string_view id_text) {
  AllocationQuery q;
  if (const char* query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(request))) {
    evkeyvalq params{};
    if (evhttp_parse_query_str(query, &params) == 0) {
      if (const char* user = evhttp_find_header(&params, "user")) {
        q.user = user;
      }
      const char* limit = evhttp_find_header(&params, "limit");
      if (limit != nullptr &&
          (!parseNumber(limit, q.limit) || q.limit == 0 || q.limit > kMaxListLimit)) {
        q.error = "limit is a number from 1 to " + std::to_string(kMaxListLimit);
      }
    } else {
      q.error = "the query string cannot be parsed";
    }
    evhttp_clear_headers(&params);
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

}  // namespace

void ControlServer::reply(evhttp_request* request, int status, const nlohmann::json& body) {
  tally_.countControlResponse(status);
  send(request, status, body);
}

std::unique_ptr<ControlServer> ControlServer::start(const conf::ControlConfig& config, Hooks hooks,
                                                    ProcessTally& tally, std::string& error) {
  std::unique_ptr<ControlServer> s(new ControlServer(config.admin_token, std::move(hooks), tally));
  s->base_ = event_base_new();
  s->http_ = evhttp_new(s->base_);
  evhttp_set_allowed_methods(s->http_, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_DELETE);
  evhttp_set_max_body_size(s->http_, ssize_t{64} * 1024);
  evhttp_set_max_headers_size(s->http_, kMaxHeadersSize);
  evhttp_set_timeout(s->http_, 10);
  evhttp_set_gencb(s->http_, &ControlServer::onRequest, s.get());
  const auto& listen = *config.listen;
  evhttp_bound_socket* bound =
      evhttp_bind_socket_with_handle(s->http_, listen.ip.c_str(), listen.port);
  if (bound == nullptr) {
    error = "cannot listen on " + listen.toString();
    evhttp_free(s->http_);
    event_base_free(s->base_);
    s->http_ = nullptr;
    s->base_ = nullptr;
    return nullptr;
  }
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  ::getsockname(evhttp_bound_socket_get_fd(bound), reinterpret_cast<sockaddr*>(&ss), &len);
  s->port_ = ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                                            : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  s->thread_ = std::thread([base = s->base_] { event_base_dispatch(base); });
  return s;
}

ControlServer::~ControlServer() {
  if (base_ != nullptr) {
    event_base_loopbreak(base_);
  }
  if (thread_.joinable()) {
    thread_.join();
  }
  if (http_ != nullptr) {
    evhttp_free(http_);
  }
  if (base_ != nullptr) {
    event_base_free(base_);
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

void ControlServer::onRequest(evhttp_request* request, void* self) {
  auto* server = static_cast<ControlServer*>(self);
  // Nothing thrown while answering may leave the control thread: that would
  // end the process and every call on the node.
  try {
    server->handle(request);
    return;
  } catch (const std::exception& error) {
    spdlog::error("control: internal error while answering a request: {}", error.what());
  } catch (...) {
    spdlog::error("control: internal error (unknown exception)");
  }
  ++server->tally_.control_errors;
  try {
    server->reply(request, 500, {{"error", "internal error"}});
  } catch (...) {
    evhttp_send_error(request, 500, nullptr);
  }
}

void ControlServer::handle(evhttp_request* request) {
  const auto* uri = evhttp_request_get_evhttp_uri(request);
  if (uri == nullptr || evhttp_uri_get_path(uri) == nullptr) {
    reply(request, 400, {{"error", "bad request line"}});
    return;
  }
  const std::string_view path = evhttp_uri_get_path(uri);
  const bool get = evhttp_request_get_command(request) == EVHTTP_REQ_GET;
  if (path == "/healthz" || path == "/readyz") {
    if (!get) {
      reply(request, 405, {{"error", "use GET"}});
      return;
    }
    const bool draining = hooks_.draining();
    if (path == "/healthz") {
      reply(request, 200, {{"status", "alive"}});
    } else {
      reply(request, draining ? 503 : 200,
            {{"ready", !draining}, {"draining", draining}, {"listeners", "bound"}});
    }
    return;
  }
  if (path.rfind("/admin/", 0) == 0) {
    const std::string token = adminToken();
    if (token.empty()) {
      reply(request, 404, {{"error", "admin endpoints are off: set control.admin_token"}});
      return;
    }
    const char* authorization =
        evhttp_find_header(evhttp_request_get_input_headers(request), "Authorization");
    constexpr std::string_view kBearer = "Bearer ";
    const std::string_view given = authorization != nullptr ? authorization : "";
    if (given.rfind(kBearer, 0) != 0 || !sameSecret(given.substr(kBearer.size()), token)) {
      reply(request, 401, {{"error", "missing or wrong bearer token"}});
      return;
    }
    handleAdmin(request, path);
    return;
  }
  reply(request, 404, {{"error", "no such endpoint"}, {"path", std::string(path)}});
}

void ControlServer::handleAdmin(evhttp_request* request, std::string_view path) {
  const auto command = evhttp_request_get_command(request);
  if (path == "/admin/drain" || path == "/admin/reload") {
    if (command != EVHTTP_REQ_POST) {
      reply(request, 405, {{"error", "use POST"}});
      return;
    }
    if (path == "/admin/drain") {
      hooks_.drain();
      reply(request, 202, {{"draining", true}});
      return;
    }
    const ReloadOutcome outcome = hooks_.reload();
    const int status = outcome.ok ? 200 : outcome.invalid_file ? 422 : 409;
    nlohmann::json body = {{"reloaded", outcome.ok}, {"message", outcome.message}};
    if (outcome.ok) {
      body["changed"] = outcome.changed;
    } else {
      body["error"] = outcome.message;
      body["errors"] = outcome.errors;
    }
    reply(request, status, body);
    return;
  }
  constexpr std::string_view kAllocations = "/admin/allocations";
  if (path == kAllocations) {
    handleAllocations(request, "");
    return;
  }
  if (path.rfind(std::string(kAllocations) + "/", 0) == 0) {
    handleAllocations(request, path.substr(kAllocations.size() + 1));
    return;
  }
  reply(request, 404, {{"error", "no such endpoint"}, {"path", std::string(path)}});
}

void ControlServer::handleAllocations(evhttp_request* request, std::string_view id_text) {
  const auto command = evhttp_request_get_command(request);
  const AllocationQuery query = parseAllocationQuery(request, id_text);
  if (!query.error.empty()) {
    reply(request, 400, {{"error", query.error}});
    return;
  }
  const std::string& user = query.user;
  const std::optional<std::uint64_t>& id = query.id;
  const auto unavailable = [&] {
    reply(request, 503, {{"error", "the workers did not answer; try again"}});
  };
  if (command == EVHTTP_REQ_GET) {
    if (!id) {
      const auto listed = hooks_.list(user, query.limit);
      if (!listed) {
        unavailable();
        return;
      }
      reply(request, 200, *listed);
      return;
    }
    const auto one = hooks_.show(*id);
    if (!one) {
      unavailable();
    } else if (one->is_null()) {
      reply(request, 404, {{"error", "no such allocation"}, {"id", std::string(id_text)}});
    } else {
      reply(request, 200, *one);
    }
    return;
  }
  if (command != EVHTTP_REQ_DELETE) {
    reply(request, 405, {{"error", "use GET or DELETE"}});
    return;
  }
  if (!id && user.empty()) {
    reply(request, 400,
          {{"error", "say which: /admin/allocations/<id> or /admin/allocations?user=<user id>"}});
    return;
  }
  const auto deleted = hooks_.kick(user, id);
  if (!deleted) {
    unavailable();
  } else if (id && *deleted == 0) {
    reply(request, 404, {{"error", "no such allocation"}, {"id", std::string(id_text)}});
  } else {
    reply(request, 200, {{"deleted", *deleted}});
  }
}

}  // namespace turnpike::app
