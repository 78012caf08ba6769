#pragma once

#include <http_parser.h>
#include <wslay/wslay.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "benchmarks/callgen/event_loop.h"
#include "benchmarks/callgen/target.h"

namespace turnpike::callgen {

/// One client WebSocket (RFC 6455): the upgrade response is parsed with
/// http-parser, frames with wslay in client mode (every frame masked; pings
/// answered by wslay).
class WsConnection final : public IoHandler {
 public:
  struct Callbacks {
    std::function<void()> opened;                    ///< 101 checked, frames may flow
    std::function<void(std::string_view)> text;      ///< one complete text message
    std::function<void(const std::string&)> closed;  ///< why: "connect", "upgrade_401", ...
  };

  WsConnection(EventLoop& loop, const Target& target, Callbacks callbacks);
  ~WsConnection() override;
  WsConnection(const WsConnection&) = delete;
  WsConnection& operator=(const WsConnection&) = delete;

  /// Connects and sends the upgrade request for `path` (with its query).
  void open(const std::string& path);
  /// Queues a text message; false when the connection is not open.
  bool sendText(std::string_view text);
  /// Drops the connection (no closing handshake); no callback.
  void close();
  [[nodiscard]] bool isOpen() const { return state_ == State::Open; }

  void onIo(std::uint32_t events) override;

 private:
  enum class State { Closed, Connecting, Upgrading, Open };

  void flushUpgrade();
  void readUpgrade();
  void finishHeader();
  /// Reads frames (when `readable`) and writes what wslay has queued.
  void pumpFrames(bool readable);
  void setInterest(std::uint32_t interest);
  void fail(const std::string& why);

  static int onHeaderField(http_parser* p, const char* at, std::size_t len);
  static int onHeaderValue(http_parser* p, const char* at, std::size_t len);
  static int onHeadersComplete(http_parser* p);
  static ssize_t recvCallback(wslay_event_context_ptr ctx, std::uint8_t* buf, std::size_t len,
                              int flags, void* user);
  static ssize_t sendCallback(wslay_event_context_ptr ctx, const std::uint8_t* data,
                              std::size_t len, int flags, void* user);
  static int genmaskCallback(wslay_event_context_ptr ctx, std::uint8_t* buf, std::size_t len,
                             void* user);
  static void onMessage(wslay_event_context_ptr ctx, const wslay_event_on_msg_recv_arg* arg,
                        void* user);

  EventLoop& loop_;
  const Target& target_;
  Callbacks callbacks_;
  int fd_ = -1;
  State state_ = State::Closed;
  std::uint32_t interest_ = 0;
  std::string request_;  // the upgrade request while it is being written
  std::size_t request_offset_ = 0;
  std::string key_;
  http_parser parser_{};
  http_parser_settings settings_{};
  std::string header_field_;
  std::string header_value_;
  std::string accept_;  // Sec-WebSocket-Accept as received
  bool last_was_value_ = false;
  bool response_done_ = false;
  std::string early_;  // bytes after the 101 that belong to wslay
  std::size_t early_offset_ = 0;
  wslay_event_context_ptr ws_ = nullptr;  // owned
  bool in_pump_ = false;                  // inside wslay: sendText only queues
  bool eof_ = false;
  std::uint16_t close_code_ = 0;
};

}  // namespace turnpike::callgen
