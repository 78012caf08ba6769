#include "control/api/call_api.h"

#include "control/api/api_error.h"
#include "control/api/json_fields.h"

namespace turnpike::control::api {
namespace {

constexpr std::size_t kMaxSdp = std::size_t{32} * 1024;
constexpr std::size_t kMaxCandidate = 1024;

std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

/// The body as a JSON object, or the 400 to answer.
std::optional<nlohmann::json> parseBody(const http::Request& r, http::Response& error) {
  auto body = nlohmann::json::parse(r.body, nullptr, false);
  if (body.is_discarded()) {
    error = apiError(400, "invalid_json", "the body is not JSON");
    return std::nullopt;
  }
  if (!body.is_object()) {
    error = apiError(400, "invalid_json", "the body must be a JSON object");
    return std::nullopt;
  }
  return body;
}

http::Response invalid(const JsonFields& f) { return apiError(400, "invalid_field", f.error()); }

std::optional<Device> deviceFrom(const nlohmann::json& body, const std::string& user,
                                 JsonFields& f) {
  Device d;
  d.key = {user, f.string("deviceId")};
  const std::string platform = f.string("platform", 16);
  if (f.ok()) {
    if (auto p = platformFromName(platform)) {
      d.platform = *p;
    } else {
      f.fail("platform", "must be one of ios, android, web");
    }
  }
  if (body.contains("pushTokens") && !body["pushTokens"].is_null()) {
    if (const auto* tokens = f.array("pushTokens", DeviceRegistry::kMaxTokensPerDevice)) {
      for (std::size_t i = 0; i < tokens->size() && f.ok(); ++i) {
        const auto& item = (*tokens)[i];
        const std::string at = "pushTokens[" + std::to_string(i) + "]";
        if (!item.is_object()) {
          f.fail(at, "must be an object");
          break;
        }
        JsonFields t(item);
        PushToken token;
        const std::string kind = t.string("kind", 16);
        token.token = t.string("token", 4096);
        const std::string env = t.optionalString("env", 16);
        token.app_id = t.optionalString("appId", 256);
        if (!t.ok()) {
          f.fail(at, t.error());
          break;
        }
        if (auto k = pushKindFromName(kind)) {
          token.kind = *k;
        } else {
          f.fail(at + ".kind", "must be one of voip, apns, fcm");
          break;
        }
        if (!env.empty()) {
          if (auto e = pushEnvFromName(env)) {
            token.env = *e;
          } else {
            f.fail(at + ".env", "must be production or sandbox");
            break;
          }
        }
        d.push_tokens.push_back(std::move(token));
      }
    }
  }
  if (const auto* caps = f.optionalObject("capabilities")) {
    JsonFields c(*caps);
    d.capabilities.video = c.optionalBool("video").value_or(false);
    d.capabilities.callkit = c.optionalBool("callkit").value_or(false);
    d.capabilities.telecom = c.optionalBool("telecom").value_or(false);
    d.capabilities.full_screen_intent = c.optionalBool("fullScreenIntent").value_or(false);
    d.capabilities.calls = c.optionalBool("calls").value_or(true);
    if (!c.ok()) {
      f.fail("capabilities", c.error());
    }
  }
  if (!f.ok()) {
    return std::nullopt;
  }
  return d;
}

}  // namespace

http::Response toResponse(const ServiceAnswer& answer) {
  if (!answer.error_code.empty()) {
    http::Response r = apiError(answer.status, answer.error_code, answer.message);
    if (answer.retry_after) {
      r.headers.emplace_back("Retry-After", std::to_string(answer.retry_after->count()));
    }
    return r;
  }
  http::Response r;
  r.status = answer.status;
  if (answer.status != 204) {
    r.body = dump(answer.body);
  }
  return r;
}

CallApi::CallApi(CallService& service, const tokens::UserTokenVerifier& users, const Clock& clock,
                 ControlStats& stats)
    : service_(service), users_(users), clock_(clock), stats_(stats) {}

std::optional<std::string> CallApi::authenticate(const http::Request& request,
                                                 http::Response& refusal) const {
  std::string token;
  const std::string_view header = request.header("authorization");
  if (header.size() > 7 && (header.substr(0, 7) == "Bearer " || header.substr(0, 7) == "bearer ")) {
    token = std::string(header.substr(7));
  } else if (header.empty()) {
    token = request.queryParam("access_token");
  }
  if (token.empty()) {
    refusal = apiError(401, "unauthorized", "a bearer user token is required");
    return std::nullopt;
  }
  if (!users_.configured()) {
    refusal = apiError(401, "unauthorized",
                       "no user-token key is configured (api.user_tokens): every token is refused");
    return std::nullopt;
  }
  std::string error;
  auto user = users_.verify(token, clock_.unixTime(), error);
  if (!user) {
    refusal = apiError(401, "unauthorized", "user token: " + error);
    return std::nullopt;
  }
  return user;
}

http::Handler CallApi::authenticated(UserHandler handler) {
  return [this, handler = std::move(handler)](const http::Request& r,
                                              const http::RouteParams& params) {
    http::Response refusal;
    const auto user = authenticate(r, refusal);
    if (!user) {
      return refusal;
    }
    return handler(r, params, *user);
  };
}

void CallApi::addRoutes(http::Router& router) {
  using Action = CallService::Action;
  router.add("POST", "/v1/devices/register",
             authenticated([this](const auto& r, const auto&, const auto& user) {
               return registerDevice(r, user);
             }));
  router.add("POST", "/v1/devices/heartbeat",
             authenticated([this](const auto& r, const auto&, const auto& user) {
               http::Response error;
               auto body = parseBody(r, error);
               if (!body) {
                 return error;
               }
               JsonFields f(*body);
               const std::string device = f.string("deviceId");
               return f.ok() ? toResponse(service_.heartbeat({user, device})) : invalid(f);
             }));
  router.add("GET", "/v1/devices",
             authenticated([this](const auto&, const auto&, const auto& user) {
               return toResponse(service_.listDevices(user));
             }));
  router.add("DELETE", "/v1/devices/{deviceId}",
             authenticated([this](const auto&, const auto& params, const auto& user) {
               return toResponse(service_.removeDevice({user, params.find("deviceId")->second}));
             }));
  router.add("POST", "/v1/calls",
             authenticated([this](const auto& r, const auto&, const auto& user) {
               return createCall(r, user);
             }));
  router.add("GET", "/v1/calls/{callId}",
             authenticated([this](const auto&, const auto& params, const auto& user) {
               return toResponse(service_.getCall(params.find("callId")->second, user));
             }));
  const std::pair<const char*, Action> actions[] = {
      {"ringing", Action::Ringing},     {"accept", Action::Accept}, {"decline", Action::Decline},
      {"connected", Action::Connected}, {"end", Action::End},
  };
  for (const auto& [name, action] : actions) {
    router.add(
        "POST", std::string("/v1/calls/{callId}/") + name,
        authenticated([this, action = action](const auto& r, const auto& params, const auto& user) {
          return callAction(r, params.find("callId")->second, user, action);
        }));
  }
  router.add("POST", "/v1/calls/{callId}/sdp",
             authenticated([this](const auto& r, const auto& params, const auto& user) {
               return signal(r, params.find("callId")->second, user, true);
             }));
  router.add("POST", "/v1/calls/{callId}/ice",
             authenticated([this](const auto& r, const auto& params, const auto& user) {
               return signal(r, params.find("callId")->second, user, false);
             }));
  router.add("POST", "/v1/turn/credentials", [this](const http::Request& r, const auto&) {
    const std::string_view header = r.header("authorization");
    if (header.size() <= 7 || header.substr(0, 7) != "Bearer ") {
      return apiError(401, "unauthorized", "a bearer call token is required");
    }
    // An optional body picks the region whose relays come first.
    std::string region;
    if (!r.body.empty()) {
      http::Response error;
      auto body = parseBody(r, error);
      if (!body) {
        return error;
      }
      JsonFields f(*body);
      region = f.optionalString("region", 64);
      if (!f.ok()) {
        return invalid(f);
      }
    }
    return toResponse(service_.turnCredentials(header.substr(7), region));
  });
  router.addWebSocket("/v1/events", [this](const http::Request& r) {
    http::UpgradeDecision decision;
    if (auto user = authenticate(r, decision.refusal)) {
      decision.listener = this;
      decision.subject = *user;
    }
    return decision;
  });
}

http::Response CallApi::registerDevice(const http::Request& r, const std::string& user) {
  http::Response error;
  auto body = parseBody(r, error);
  if (!body) {
    return error;
  }
  JsonFields f(*body);
  auto device = deviceFrom(*body, user, f);
  if (!device) {
    return invalid(f);
  }
  return toResponse(service_.registerDevice(std::move(*device)));
}

http::Response CallApi::createCall(const http::Request& r, const std::string& user) {
  http::Response error;
  auto body = parseBody(r, error);
  if (!body) {
    return error;
  }
  JsonFields f(*body);
  CreateRequest request;
  request.caller = {user, f.string("deviceId")};
  if (const auto* callees = f.array("callees", 16)) {
    for (const auto& c : *callees) {
      if (!c.is_string() || c.get_ref<const std::string&>().empty() ||
          c.get_ref<const std::string&>().size() > 256) {
        f.fail("callees", "must be an array of user ids");
        break;
      }
      request.callees.push_back(c.get<std::string>());
    }
  }
  const std::string type = f.string("type", 16);
  if (f.ok()) {
    if (auto t = callTypeFromName(type)) {
      request.type = *t;
    } else {
      f.fail("type", "must be audio or video");
    }
  }
  request.mode = f.optionalString("mode", 16);
  if (request.mode.empty()) {
    request.mode = "p2p";
  }
  request.caller_display_name = f.optionalString("callerDisplayName", 256);
  request.caller_avatar_url = f.optionalString("callerAvatarUrl", 2048);
  if (!f.ok()) {
    return invalid(f);
  }
  if (request.callees.empty()) {
    return apiError(400, "invalid_field", "callees: at least one user id is required");
  }
  const std::string key(r.header("idempotency-key"));
  if (key.size() > 256) {
    return apiError(400, "invalid_field", "Idempotency-Key: longer than 256 bytes");
  }
  return toResponse(service_.createCall(request, key));
}

http::Response CallApi::callAction(const http::Request& r, const std::string& call_id,
                                   const std::string& user, CallService::Action action) {
  http::Response error;
  auto body = parseBody(r, error);
  if (!body) {
    return error;
  }
  JsonFields f(*body);
  const std::string device = f.string("deviceId");
  const std::string reason = f.optionalString("reason", 32);
  if (!f.ok()) {
    return invalid(f);
  }
  if (action == CallService::Action::Decline) {
    if (reason == "busy") {
      action = CallService::Action::DeclineBusy;
    } else if (!reason.empty() && reason != "declined") {
      return apiError(400, "invalid_field", "reason: must be declined or busy");
    }
  }
  return toResponse(service_.act(action, call_id, {user, device}, reason));
}

http::Response CallApi::signal(const http::Request& r, const std::string& call_id,
                               const std::string& user, bool sdp) {
  http::Response error;
  auto body = parseBody(r, error);
  if (!body) {
    return error;
  }
  JsonFields f(*body);
  const std::string device = f.string("deviceId");
  nlohmann::json data;
  SignalKind kind = SignalKind::Ice;
  if (sdp) {
    const std::string type = f.string("sdpType", 16);
    data["sdp"] = f.string("sdp", kMaxSdp);
    if (f.ok() && type != "offer" && type != "answer") {
      f.fail("sdpType", "must be offer or answer");
    }
    kind = type == "offer" ? SignalKind::Offer : SignalKind::Answer;
  } else {
    data["candidate"] = f.optionalString("candidate", kMaxCandidate);
    data["sdpMid"] = f.optionalString("sdpMid", 64);
    const auto index = f.optionalInteger("sdpMLineIndex");
    data["sdpMLineIndex"] = index ? nlohmann::json(*index) : nlohmann::json(nullptr);
  }
  if (!f.ok()) {
    return invalid(f);
  }
  return toResponse(service_.signal(call_id, {user, device}, kind, std::move(data)));
}

void CallApi::onOpen(http::WebSocket& /*socket*/) { ++stats_.websocket_connections; }

void CallApi::onClosed(http::WebSocket& socket) {
  --stats_.websocket_connections;
  service_.socketClosed(socket);
}

void CallApi::socketError(http::WebSocket& socket, std::string_view code,
                          std::string_view message) {
  socket.sendText(dump({{"event", "error"}, {"code", code}, {"message", message}}));
}

void CallApi::onText(http::WebSocket& socket, std::string_view text) {
  const auto message = nlohmann::json::parse(text, nullptr, false);
  if (!message.is_object() || !message.contains("event") || !message["event"].is_string()) {
    socketError(socket, "invalid_json", "a message is a JSON object with an \"event\"");
    return;
  }
  const std::string& user = socket.subject();
  const auto& name = message["event"].get_ref<const std::string&>();
  JsonFields f(message);
  if (name == "hello") {
    const std::string device = f.string("deviceId");
    const bool foreground = f.optionalBool("foreground").value_or(true);
    if (!f.ok()) {
      socketError(socket, "invalid_field", f.error());
      return;
    }
    const DeviceKey key{user, device};
    if (service_.heartbeat(key).status != 200) {
      socketError(socket, "not_found", "deviceId: no such device; register it first");
      return;
    }
    service_.hello(socket, key, foreground);
    return;
  }
  const DeviceKey* device = service_.deviceOf(socket);
  if (device == nullptr) {
    socketError(socket, "hello_required", "send hello first");
    return;
  }
  static const std::pair<std::string_view, SignalKind> kSignals[] = {
      {"signal.offer", SignalKind::Offer},
      {"signal.answer", SignalKind::Answer},
      {"signal.ice", SignalKind::Ice}};
  for (const auto& [signal_name, kind] : kSignals) {
    if (name != signal_name) {
      continue;
    }
    const std::string call_id = f.string("callId", 64);
    const auto* data = f.optionalObject("data");
    if (!f.ok() || data == nullptr) {
      socketError(socket, "invalid_field", f.ok() ? "data: is required" : f.error());
      return;
    }
    JsonFields d(*data);
    nlohmann::json copy;
    if (kind == SignalKind::Ice) {
      copy["candidate"] = d.optionalString("candidate", kMaxCandidate);
      copy["sdpMid"] = d.optionalString("sdpMid", 64);
      const auto index = d.optionalInteger("sdpMLineIndex");
      copy["sdpMLineIndex"] = index ? nlohmann::json(*index) : nlohmann::json(nullptr);
    } else {
      copy["sdp"] = d.string("sdp", kMaxSdp);
    }
    if (!d.ok()) {
      socketError(socket, "invalid_field", "data." + d.error());
      return;
    }
    const DeviceKey actor = *device;
    const auto answer = service_.signal(call_id, actor, kind, std::move(copy));
    if (!answer.error_code.empty()) {
      socketError(socket, answer.error_code, answer.message);
    }
    return;
  }
  socketError(socket, "unknown_event", "unknown event: " + name.substr(0, 64));
}

}  // namespace turnpike::control::api
