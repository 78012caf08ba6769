// Feeds any bytes to the socket-free protocol half of the control API's
// HTTP server (control/http/session.h: http-parser, then wslay), in one of
// two ways the first byte picks:
//   even: the input is raw HTTP, cut into chunks at points the input picks;
//   odd:  a valid WebSocket upgrade first, then the input as frame bytes.
// Timer ticks are mixed in so ping, pong-timeout and idle paths run too.
// The session must not crash or leak, must stop at once after it ended, and
// every HTTP answer that carries JSON must parse.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "control/http/http_server.h"
#include "control/http/router.h"
#include "control/http/session.h"

namespace {

using turnpike::control::http::Request;
using turnpike::control::http::Response;
using turnpike::control::http::RouteParams;
using turnpike::control::http::Router;
using turnpike::control::http::ServerLimits;
using turnpike::control::http::Session;
using turnpike::control::http::SessionHost;
using turnpike::control::http::UpgradeDecision;
using turnpike::control::http::WebSocket;
using turnpike::control::http::WebSocketListener;

/// Echoes text; "close" closes from inside onText, as the API may.
class EchoListener final : public WebSocketListener {
 public:
  void onText(WebSocket& socket, std::string_view text) override {
    if (text == "close") {
      socket.close(1000, "bye");
    }
    socket.sendText(text);
  }
  void onClosed(WebSocket& socket) override {
    if (socket.sendText("after close")) {
      __builtin_trap();  // sending after the connection is gone must fail
    }
  }
};

EchoListener g_listener;

const Router& fuzzRouter() {
  static const Router router = [] {
    Router r;
    r.add("POST", "/v1/calls/{callId}/accept", [](const Request& request, const RouteParams& p) {
      Response response;
      response.body = nlohmann::json{{"callId", p.at("callId")},
                                     {"q", request.queryParam("q")},
                                     {"bodySize", request.body.size()}}
                          .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      return response;
    });
    r.addWebSocket("/v1/events", [](const Request& request) {
      UpgradeDecision decision;
      if (request.queryParam("token") != "no") {
        decision.listener = &g_listener;
        decision.subject = "fuzz";
      } else {
        decision.refusal.status = 401;
      }
      return decision;
    });
    return r;
  }();
  return router;
}

/// A host whose peer reads everything at once, unless the input says to
/// stop reading so that the output bound is reached.
class FuzzHost final : public SessionHost {
 public:
  void write(std::string_view bytes) override {
    if (closed_ && !flush_) {
      __builtin_trap();  // nothing is written after an immediate close
    }
    unsent_ += bytes.size();
    if (reading_) {
      output_.append(bytes);
      unsent_ = 0;
    }
  }
  [[nodiscard]] std::size_t unsentBytes() const override { return unsent_; }
  void close(bool flush) override {
    closed_ = true;
    flush_ = flush;
  }
  void armTimer(std::chrono::seconds /*delay*/) override {}
  void answered(std::string_view /*pattern*/, int /*status*/) override {}
  void upgraded() override {}

  bool reading_ = true;
  bool closed_ = false;
  bool flush_ = false;
  std::size_t unsent_ = 0;
  std::string output_;
};

/// Each JSON body in the HTTP output must parse.
void checkJsonBodies(std::string_view output) {
  std::size_t at = 0;
  while ((at = output.find("Content-Type: application/json", at)) != std::string_view::npos) {
    const std::size_t length_at = output.find("Content-Length: ", at);
    const std::size_t head_end = output.find("\r\n\r\n", at);
    if (length_at == std::string_view::npos || head_end == std::string_view::npos) {
      return;
    }
    const std::size_t length = std::stoul(std::string(output.substr(length_at + 16, 20)));
    const std::string_view body = output.substr(head_end + 4, length);
    if (!nlohmann::json::accept(body)) {
      __builtin_trap();
    }
    at = head_end + 4 + length;
  }
}

}  // namespace

// libFuzzer fixes the entry point's name.
// NOLINTNEXTLINE(readability-identifier-naming)
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) {
    return 0;
  }
  const std::uint8_t mode = data[0];
  const std::size_t chunk = 1 + data[1] % 64;
  std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);

  ServerLimits limits;
  limits.max_body = 512;
  limits.max_header_bytes = 1024;
  limits.max_message = 1024;
  limits.max_output = 4096;
  FuzzHost host;
  host.reading_ = (mode & 0x02U) == 0;
  {
    Session session(fuzzRouter(), limits, host, 1, "127.0.0.1:1");
    session.start();
    if ((mode & 0x01U) != 0) {
      session.feed(
          "GET /v1/events?token=yes HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
          "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
    }
    std::size_t fed = 0;
    while (!input.empty() && !session.ended()) {
      const std::size_t n = std::min(chunk, input.size());
      session.feed(input.substr(0, n));
      input.remove_prefix(n);
      // Now and then the timer fires: a ping, or a timeout.
      if ((mode & 0x04U) != 0 && ++fed % 7 == 0) {
        session.onTimer();
      }
    }
    if ((mode & 0x08U) != 0) {
      session.goingAway();
    }
    session.finish();
  }
  if ((mode & 0x01U) == 0) {
    checkJsonBodies(host.output_);
  }
  return 0;
}
