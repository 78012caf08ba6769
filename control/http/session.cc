#include "control/http/session.h"

#include <spdlog/spdlog.h>
#include <wslay/wslay.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstring>
#include <exception>
#include <utility>

#include "control/http/handshake.h"
#include "control/http/percent.h"
#include "control/http/response.h"
#include "control/http/utf8.h"

namespace turnpike::control::http {

namespace {

constexpr std::string_view kUnmatched = "unmatched";
/// RFC 6455 §5.5: a control frame's payload is at most 125 bytes, two of
/// which carry the close code.
constexpr std::size_t kMaxCloseReason = 123;

Session& sessionOf(http_parser* parser) { return *static_cast<Session*>(parser->data); }

std::string_view trimmed(std::string_view text) {
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  return text;
}

}  // namespace

/// The bridge from http-parser's C callbacks to the session's members.
struct ParserCallbacks {
  static int messageBegin(http_parser* p) { return sessionOf(p).onMessageBegin(); }
  static int url(http_parser* p, const char* at, std::size_t n) {
    return sessionOf(p).onUrl({at, n});
  }
  static int headerField(http_parser* p, const char* at, std::size_t n) {
    return sessionOf(p).onHeaderField({at, n});
  }
  static int headerValue(http_parser* p, const char* at, std::size_t n) {
    return sessionOf(p).onHeaderValue({at, n});
  }
  static int headersComplete(http_parser* p) { return sessionOf(p).onHeadersComplete(); }
  static int body(http_parser* p, const char* at, std::size_t n) {
    return sessionOf(p).onBody({at, n});
  }
  static int messageComplete(http_parser* p) { return sessionOf(p).onMessageComplete(); }

  static const http_parser_settings& settings() {
    static const http_parser_settings table = [] {
      http_parser_settings s{};
      s.on_message_begin = &ParserCallbacks::messageBegin;
      s.on_url = &ParserCallbacks::url;
      s.on_header_field = &ParserCallbacks::headerField;
      s.on_header_value = &ParserCallbacks::headerValue;
      s.on_headers_complete = &ParserCallbacks::headersComplete;
      s.on_body = &ParserCallbacks::body;
      s.on_message_complete = &ParserCallbacks::messageComplete;
      return s;
    }();
    return table;
  }
};

Session::Session(const Router& router, const ServerLimits& limits, SessionHost& host,
                 std::uint64_t id, std::string remote_address)
    : router_(router),
      limits_(limits),
      host_(host),
      id_(id),
      remote_address_(std::move(remote_address)) {
  http_parser_init(&parser_, HTTP_REQUEST);
  parser_.data = this;
}

Session::~Session() {
  if (ws_ != nullptr) {
    wslay_event_context_free(ws_);
  }
}

void Session::start() { host_.armTimer(limits_.idle_timeout); }

void Session::feed(std::string_view bytes) {
  // Handlers, listeners and observers are application code: whatever they
  // throw ends this connection rather than unwinding into the event loop.
  try {
    if (state_ == State::Http) {
      feedHttp(bytes);
    } else if (state_ == State::WebSocket) {
      feedFrames(bytes);
    }
  } catch (const std::exception& e) {
    spdlog::warn("http: connection {} dropped: {}", remote_address_, e.what());
    end(false);
  } catch (...) {
    end(false);
  }
}

void Session::feedHttp(std::string_view bytes) {
  const std::size_t parsed =
      http_parser_execute(&parser_, &ParserCallbacks::settings(), bytes.data(), bytes.size());
  if (state_ == State::Ended) {
    return;
  }
  if (state_ == State::WebSocket) {
    // The bytes after the handshake are already frames (a client may send
    // its first message without waiting for the 101).
    feedFrames(bytes.substr(std::min(parsed, bytes.size())));
    return;
  }
  const auto error = HTTP_PARSER_ERRNO(&parser_);
  if (error == HPE_OK) {
    return;
  }
  if (has_parse_error_) {
    answer(kUnmatched, parse_error_, false);
  } else if (error == HPE_HEADER_OVERFLOW) {
    answer(kUnmatched, errorResponse(431, "headers_too_large", "request headers are too large"),
           false);
  } else {
    answer(kUnmatched, errorResponse(400, "bad_request", http_errno_description(error)), false);
  }
}

int Session::fail(int status, std::string_view code, std::string_view message) {
  parse_error_ = errorResponse(status, code, message);
  has_parse_error_ = true;
  return -1;
}

bool Session::countHeaderBytes(std::size_t n) {
  header_bytes_ += n;
  return header_bytes_ <= limits_.max_header_bytes;
}

int Session::onMessageBegin() {
  request_ = Request{};
  request_.remote_address = remote_address_;
  url_.clear();
  header_field_.clear();
  header_value_.clear();
  in_header_value_ = false;
  headers_done_ = false;
  header_bytes_ = 0;
  return 0;
}

int Session::onUrl(std::string_view data) {
  if (!countHeaderBytes(data.size())) {
    return fail(431, "headers_too_large", "request line is too long");
  }
  url_.append(data);
  return 0;
}

int Session::onHeaderField(std::string_view data) {
  if (in_header_value_) {
    pushHeader();
  }
  // The ": " and CRLF around each header count towards the bound as well.
  if (!countHeaderBytes(data.size() + (header_field_.empty() ? 4 : 0))) {
    return fail(431, "headers_too_large", "request headers are too large");
  }
  header_field_.append(data);
  return 0;
}

int Session::onHeaderValue(std::string_view data) {
  if (!countHeaderBytes(data.size())) {
    return fail(431, "headers_too_large", "request headers are too large");
  }
  in_header_value_ = true;
  header_value_.append(data);
  return 0;
}

void Session::pushHeader() {
  std::string name = std::move(header_field_);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  request_.headers.emplace_back(std::move(name), std::string(trimmed(header_value_)));
  header_field_.clear();
  header_value_.clear();
  in_header_value_ = false;
}

int Session::onHeadersComplete() {
  if (in_header_value_ || !header_field_.empty()) {
    pushHeader();
  }
  headers_done_ = true;
  request_.method = http_method_str(static_cast<enum http_method>(parser_.method));

  http_parser_url url{};
  http_parser_url_init(&url);
  if (http_parser_parse_url(url_.data(), url_.size(), 0, &url) != 0 ||
      (url.field_set & (1U << UF_PATH)) == 0) {
    return fail(400, "bad_request", "invalid request target");
  }
  const auto field = [&](http_parser_url_fields f) {
    return std::string_view(url_).substr(url.field_data[f].off, url.field_data[f].len);
  };
  request_.path = percentDecode(field(UF_PATH), /*plus_as_space=*/false);
  if ((url.field_set & (1U << UF_QUERY)) != 0) {
    request_.query = std::string(field(UF_QUERY));
  }

  // Refused before the body is read: no point receiving what is discarded.
  if (parser_.content_length != ULLONG_MAX && parser_.content_length > limits_.max_body) {
    return fail(413, "body_too_large",
                "request body is over " + std::to_string(limits_.max_body) + " bytes");
  }
  // RFC 7231 §5.1.1: a client that waits for 100 Continue gets it once the
  // headers are acceptable.
  if (hasToken(request_.header("expect"), "100-continue") && parser_.http_minor >= 1) {
    host_.write("HTTP/1.1 100 Continue\r\n\r\n");
  }
  return 0;
}

int Session::onBody(std::string_view data) {
  // Chunked bodies announce no length: count them as they come.
  if (request_.body.size() + data.size() > limits_.max_body) {
    return fail(413, "body_too_large",
                "request body is over " + std::to_string(limits_.max_body) + " bytes");
  }
  request_.body.append(data);
  return 0;
}

int Session::onMessageComplete() {
  const bool keep_alive = http_should_keep_alive(&parser_) != 0;
  if (parser_.upgrade != 0 && isWebSocketUpgrade(request_)) {
    Router::Match match = router_.match(request_.method, request_.path, true);
    if (match.upgrade != nullptr) {
      upgrade(match);
      return 0;
    }
  }
  // Any other upgrade is ignored (RFC 7230 §6.7), but what follows it is in
  // a protocol this server does not speak: answer, then close.
  answerRequest(keep_alive && parser_.upgrade == 0);
  // A non-zero return stops the parser; feedHttp() sees the ended state.
  return state_ == State::Ended ? -1 : 0;
}

void Session::answerRequest(bool keep_alive) {
  // CORS preflight (Fetch standard §3.2): any path, no authentication.
  if (request_.method == "OPTIONS") {
    answer(kUnmatched, preflightResponse(), keep_alive);
    return;
  }
  const Router::Match match = router_.match(request_.method, request_.path, false);
  if (match.handler == nullptr) {
    const std::string_view pattern = match.pattern.empty() ? kUnmatched : match.pattern;
    if (match.status == 405) {
      answer(pattern, errorResponse(405, "method_not_allowed", "method not allowed"), keep_alive);
    } else if (match.status == 426) {
      Response response = errorResponse(426, "upgrade_required", "use a WebSocket upgrade");
      response.headers.emplace_back("Upgrade", "websocket");
      answer(pattern, response, keep_alive);
    } else {
      answer(pattern, errorResponse(404, "not_found", "no such resource"), keep_alive);
    }
    return;
  }
  Response response;
  try {
    response = (*match.handler)(request_, match.params);
  } catch (const std::exception& e) {
    spdlog::error("http: {} {} failed: {}", request_.method, match.pattern, e.what());
    response = errorResponse(500, "internal_error", "internal error");
  } catch (...) {
    response = errorResponse(500, "internal_error", "internal error");
  }
  answer(match.pattern, response, keep_alive);
}

void Session::upgrade(const Router::Match& match) {
  // RFC 6455 §4.4: an unsupported version is answered with the one we have.
  if (request_.header("sec-websocket-version") != "13") {
    Response response = errorResponse(426, "upgrade_required", "WebSocket version 13 only");
    response.headers.emplace_back("Sec-WebSocket-Version", "13");
    answer(match.pattern, response, false);
    return;
  }
  const std::string_view key = request_.header("sec-websocket-key");
  if (!isValidWebSocketKey(key)) {
    answer(match.pattern, errorResponse(400, "bad_request", "invalid Sec-WebSocket-Key"), false);
    return;
  }
  UpgradeDecision decision;
  try {
    decision = (*match.upgrade)(request_);
  } catch (const std::exception& e) {
    spdlog::error("http: upgrade {} failed: {}", match.pattern, e.what());
    answer(match.pattern, errorResponse(500, "internal_error", "internal error"), false);
    return;
  }
  if (decision.listener == nullptr) {
    answer(match.pattern, decision.refusal, false);
    return;
  }

  wslay_event_callbacks callbacks{};
  callbacks.recv_callback = &Session::wsRecv;
  callbacks.send_callback = &Session::wsSend;
  callbacks.on_msg_recv_callback = &Session::wsMessage;
  if (wslay_event_context_server_init(&ws_, &callbacks, this) != 0) {
    ws_ = nullptr;
    end(false);
    return;
  }
  wslay_event_config_set_max_recv_msg_length(ws_, limits_.max_message);

  host_.write(switchingProtocols(webSocketAccept(key)));
  state_ = State::WebSocket;
  listener_ = decision.listener;
  subject_ = std::move(decision.subject);
  host_.upgraded();
  host_.answered(match.pattern, 101);
  host_.armTimer(limits_.ping_interval);
  try {
    listener_->onOpen(*this);
  } catch (const std::exception& e) {
    spdlog::error("http: WebSocket onOpen failed: {}", e.what());
    close(1011, "internal error");
  }
}

void Session::answer(std::string_view pattern, const Response& response, bool keep_alive) {
  // A client that pipelines requests and reads no answers would otherwise
  // grow the output without bound.
  if (host_.unsentBytes() > limits_.max_output) {
    end(false);
    return;
  }
  host_.write(serializeResponse(response, keep_alive));
  host_.answered(pattern, response.status);
  if (keep_alive) {
    host_.armTimer(limits_.idle_timeout);
  } else {
    end(true);
  }
}

// ---------------------------------------------------------------- WebSocket

ssize_t Session::wsRecv(wslay_event_context* ctx, std::uint8_t* buf, std::size_t len, int /*flags*/,
                        void* user_data) {
  auto& self = *static_cast<Session*>(user_data);
  if (self.ws_input_.empty() || self.state_ != State::WebSocket) {
    wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    return -1;
  }
  const std::size_t n = std::min(len, self.ws_input_.size());
  std::memcpy(buf, self.ws_input_.data(), n);
  self.ws_input_.remove_prefix(n);
  return static_cast<ssize_t>(n);
}

ssize_t Session::wsSend(wslay_event_context* /*ctx*/, const std::uint8_t* data, std::size_t len,
                        int /*flags*/, void* user_data) {
  auto& self = *static_cast<Session*>(user_data);
  // Everything wslay hands over is taken: the host's buffer is where output
  // waits, so that one bound (max_output) covers all of it.
  if (self.state_ != State::Ended) {
    self.host_.write({reinterpret_cast<const char*>(data), len});
  }
  return static_cast<ssize_t>(len);
}

void Session::wsMessage(wslay_event_context* /*ctx*/, const wslay_event_on_msg_recv_arg* arg,
                        void* user_data) {
  auto& self = *static_cast<Session*>(user_data);
  if (self.state_ != State::WebSocket) {
    return;
  }
  if (arg->opcode == WSLAY_BINARY_FRAME) {
    self.failWebSocket(1003, "binary messages are not accepted");
    return;
  }
  if (arg->opcode != WSLAY_TEXT_FRAME) {
    return;  // wslay answers pings and closes itself
  }
  const std::string_view text(reinterpret_cast<const char*>(arg->msg), arg->msg_length);
  // RFC 6455 §8.1: invalid UTF-8 in a text message fails the connection.
  if (!isValidUtf8(text)) {
    self.failWebSocket(1007, "invalid UTF-8");
    return;
  }
  try {
    self.listener_->onText(self, text);
  } catch (const std::exception& e) {
    spdlog::error("http: WebSocket onText failed: {}", e.what());
    self.failWebSocket(1011, "internal error");
  }
}

void Session::feedFrames(std::string_view bytes) {
  if (bytes.empty()) {
    return;
  }
  // Any frame proves the peer alive; once we sent a close, though, the
  // timer bounds the closing handshake instead.
  awaiting_pong_ = false;
  if (!closing_handshake_) {
    host_.armTimer(limits_.ping_interval);
  }
  ws_input_ = bytes;
  in_recv_ = true;
  const int rv = wslay_event_recv(ws_);
  in_recv_ = false;
  ws_input_ = {};
  if (state_ != State::WebSocket) {
    return;
  }
  if (rv != 0) {
    end(false);
    return;
  }
  pump();
}

void Session::failWebSocket(std::uint16_t code, std::string_view reason) {
  wslay_event_queue_close(ws_, code, reinterpret_cast<const std::uint8_t*>(reason.data()),
                          std::min(reason.size(), kMaxCloseReason));
  wslay_event_shutdown_read(ws_);
  closing_handshake_ = true;
  pump();
}

void Session::pump() {
  if (state_ != State::WebSocket || in_recv_) {
    return;  // feedFrames() pumps once wslay_event_recv() has returned
  }
  if (wslay_event_send(ws_) != 0) {
    end(false);
    return;
  }
  // Neither side has anything more to say: the closing handshake is done
  // (or the connection failed) and the TCP connection can go.
  if (wslay_event_want_read(ws_) == 0 && wslay_event_want_write(ws_) == 0) {
    end(true);
  }
}

bool Session::sendText(std::string_view text) {
  if (state_ != State::WebSocket || wslay_event_get_write_enabled(ws_) == 0) {
    return false;
  }
  if (pendingOutput() + text.size() > limits_.max_output) {
    // The peer stopped reading (or reads too slowly): drop it rather than
    // buffer without bound. A close frame would not get through either.
    spdlog::info("http: WebSocket {} dropped: {} bytes unsent", remote_address_, pendingOutput());
    end(false);
    return false;
  }
  wslay_event_msg message{WSLAY_TEXT_FRAME, reinterpret_cast<const std::uint8_t*>(text.data()),
                          text.size()};
  if (wslay_event_queue_msg(ws_, &message) != 0) {
    return false;  // a close is already queued
  }
  pump();
  return state_ != State::Ended;
}

void Session::close(std::uint16_t code, std::string_view reason) {
  if (state_ != State::WebSocket || closing_handshake_) {
    return;
  }
  closing_handshake_ = true;
  wslay_event_queue_close(ws_, code, reinterpret_cast<const std::uint8_t*>(reason.data()),
                          std::min(reason.size(), kMaxCloseReason));
  // RFC 6455 §7.1.1: wait for the peer's close, but not for ever.
  host_.armTimer(limits_.pong_timeout);
  pump();
}

std::size_t Session::pendingOutput() const {
  const std::size_t queued = ws_ == nullptr ? 0 : wslay_event_get_queued_msg_length(ws_);
  return host_.unsentBytes() + queued;
}

void Session::onTimer() {
  try {
    if (state_ == State::Http) {
      end(false);  // idle keep-alive, or a request that never completed
      return;
    }
    if (state_ != State::WebSocket) {
      return;
    }
    if (awaiting_pong_ || closing_handshake_) {
      spdlog::debug("http: WebSocket {} timed out", remote_address_);
      end(false);
      return;
    }
    wslay_event_msg ping{WSLAY_PING, nullptr, 0};
    wslay_event_queue_msg(ws_, &ping);
    awaiting_pong_ = true;
    host_.armTimer(limits_.pong_timeout);
    pump();
  } catch (...) {
    end(false);
  }
}

void Session::goingAway() {
  if (state_ != State::WebSocket) {
    return;
  }
  static constexpr std::string_view kReason = "server shutting down";
  wslay_event_queue_close(ws_, 1001, reinterpret_cast<const std::uint8_t*>(kReason.data()),
                          kReason.size());
  if (!in_recv_) {
    wslay_event_send(ws_);
  }
}

void Session::finish() {
  state_ = State::Ended;
  if (listener_ == nullptr || closed_notified_) {
    return;
  }
  closed_notified_ = true;
  try {
    listener_->onClosed(*this);
  } catch (const std::exception& e) {
    spdlog::error("http: WebSocket onClosed failed: {}", e.what());
  } catch (...) {
    spdlog::error("http: WebSocket onClosed failed");
  }
}

void Session::end(bool flush) {
  if (state_ == State::Ended) {
    return;
  }
  state_ = State::Ended;
  host_.close(flush);
}

}  // namespace turnpike::control::http
