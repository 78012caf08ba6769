#pragma once

#include <string>

#include "control/call_service.h"
#include "control/http/router.h"
#include "control/tokens/user_tokens.h"

namespace turnpike::control::api {

/// The `/v1` routes of control-plane.md and the events WebSocket, on a
/// Router: authenticate the user token, read the body, ask the service,
/// shape the answer.
class CallApi final : public http::WebSocketListener {
 public:
  CallApi(CallService& service, const tokens::UserTokenVerifier& users, const Clock& clock,
          ControlStats& stats);

  void addRoutes(http::Router& router);

  void onOpen(http::WebSocket& socket) override;
  void onText(http::WebSocket& socket, std::string_view text) override;
  void onClosed(http::WebSocket& socket) override;

  /// The user a request's bearer token names; 401 answer in `refusal`.
  std::optional<std::string> authenticate(const http::Request& request,
                                          http::Response& refusal) const;

 private:
  using UserHandler = std::function<http::Response(const http::Request&, const http::RouteParams&,
                                                   const std::string& user)>;
  http::Handler authenticated(UserHandler handler);
  void socketError(http::WebSocket& socket, std::string_view code, std::string_view message);

  http::Response registerDevice(const http::Request& r, const std::string& user);
  http::Response createCall(const http::Request& r, const std::string& user);
  http::Response callAction(const http::Request& r, const std::string& call_id,
                            const std::string& user, CallService::Action action);
  http::Response signal(const http::Request& r, const std::string& call_id, const std::string& user,
                        bool sdp);

  CallService& service_;
  const tokens::UserTokenVerifier& users_;
  const Clock& clock_;
  ControlStats& stats_;
};

/// A ServiceAnswer as an HTTP response (error shape, Retry-After).
http::Response toResponse(const ServiceAnswer& answer);

}  // namespace turnpike::control::api
