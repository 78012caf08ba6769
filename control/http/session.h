#pragma once

#include <http_parser.h>
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "control/http/http_server.h"
#include "control/http/http_types.h"
#include "control/http/router.h"

struct wslay_event_context;
struct wslay_event_on_msg_recv_arg;

namespace turnpike::control::http {

/// What a Session needs from the connection beneath it: a byte sink, a
/// timer and a way to end. The libevent shell implements it over a
/// bufferevent; the fuzz target implements it over a string.
class SessionHost {
 public:
  virtual ~SessionHost() = default;
  /// Appends bytes to the connection's output.
  virtual void write(std::string_view bytes) = 0;
  /// Bytes written but not yet taken by the peer.
  [[nodiscard]] virtual std::size_t unsentBytes() const = 0;
  /// Ends the connection, once the output is written (`flush`) or at once.
  /// Must not destroy the Session from inside the call: it is on the stack.
  virtual void close(bool flush) = 0;
  /// (Re)arms the connection's one timer; when it fires the host calls
  /// Session::onTimer().
  virtual void armTimer(std::chrono::seconds delay) = 0;
  /// An HTTP request was answered (route pattern or "unmatched").
  virtual void answered(std::string_view pattern, int status) = 0;
  /// The connection became a WebSocket.
  virtual void upgraded() = 0;
};

/// The protocol half of one connection, free of sockets: HTTP/1.1 requests
/// (http-parser) answered through a Router, then, after an upgrade,
/// WebSocket frames (wslay). Bytes come in through feed() and leave through
/// SessionHost::write(). Never throws out of feed(), onTimer() or finish().
class Session final : public WebSocket {
 public:
  /// `router`, `limits` and `host` must outlive the session.
  Session(const Router& router, const ServerLimits& limits, SessionHost& host, std::uint64_t id,
          std::string remote_address);
  ~Session() override;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  /// Arms the first idle timer. Call once the host is ready for it.
  void start();
  /// Bytes from the peer, in order. Ignored once the session has ended.
  void feed(std::string_view bytes);
  /// The host's timer fired: idle HTTP ends; an idle WebSocket is pinged,
  /// and ends when the ping (or a closing handshake) goes unanswered.
  void onTimer();
  /// Server shutdown: a WebSocket gets close 1001 (written, not awaited).
  void goingAway();
  /// The connection is gone: tells the WebSocket listener (once). Call
  /// before destroying the session.
  void finish();

  [[nodiscard]] bool ended() const { return state_ == State::Ended; }
  /// Whether an upgrade to WebSocket ever completed.
  [[nodiscard]] bool upgradedToWebSocket() const { return listener_ != nullptr; }

  // WebSocket
  bool sendText(std::string_view text) override;
  void close(std::uint16_t code, std::string_view reason) override;
  [[nodiscard]] std::uint64_t id() const override { return id_; }
  [[nodiscard]] std::size_t pendingOutput() const override;
  [[nodiscard]] const std::string& subject() const override { return subject_; }

 private:
  enum class State { Http, WebSocket, Ended };

  // http-parser callbacks, dispatched from the static table in session.cc.
  friend struct ParserCallbacks;
  int onMessageBegin();
  int onUrl(std::string_view data);
  int onHeaderField(std::string_view data);
  int onHeaderValue(std::string_view data);
  int onHeadersComplete();
  int onBody(std::string_view data);
  int onMessageComplete();

  // wslay callbacks.
  static ssize_t wsRecv(wslay_event_context* ctx, std::uint8_t* buf, std::size_t len, int flags,
                        void* user_data);
  static ssize_t wsSend(wslay_event_context* ctx, const std::uint8_t* data, std::size_t len,
                        int flags, void* user_data);
  static void wsMessage(wslay_event_context* ctx, const wslay_event_on_msg_recv_arg* arg,
                        void* user_data);

  void feedHttp(std::string_view bytes);
  void feedFrames(std::string_view bytes);
  /// Counts request-line and header bytes; false once over the bound.
  bool countHeaderBytes(std::size_t n);
  void pushHeader();
  /// Stops the parser with an error answer sent once it returns.
  int fail(int status, std::string_view code, std::string_view message);
  void answerRequest(bool keep_alive);
  void upgrade(const Router::Match& match);
  void answer(std::string_view pattern, const Response& response, bool keep_alive);
  /// Fails the WebSocket (RFC 6455 §7.1.7): close frame, no more reading.
  void failWebSocket(std::uint16_t code, std::string_view reason);
  /// Writes what wslay has queued; ends the connection once the closing
  /// handshake is over.
  void pump();
  void end(bool flush);

  const Router& router_;
  const ServerLimits& limits_;
  SessionHost& host_;
  const std::uint64_t id_;
  const std::string remote_address_;
  State state_ = State::Http;

  http_parser parser_{};
  Request request_;
  std::string url_;
  std::string header_field_;
  std::string header_value_;
  bool in_header_value_ = false;
  bool headers_done_ = false;
  std::size_t header_bytes_ = 0;
  /// Set by a callback that stops the parser on purpose (413, 431, 400).
  Response parse_error_;
  bool has_parse_error_ = false;

  wslay_event_context* ws_ = nullptr;  ///< owned
  WebSocketListener* listener_ = nullptr;
  std::string subject_;
  std::string_view ws_input_;  ///< the unread part of the bytes being fed
  bool in_recv_ = false;       ///< inside wslay_event_recv: defer sending
  bool awaiting_pong_ = false;
  bool closing_handshake_ = false;
  bool closed_notified_ = false;
};

}  // namespace turnpike::control::http
