#pragma once

#include <http_parser.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <string>

#include "benchmarks/callgen/event_loop.h"
#include "benchmarks/callgen/target.h"

namespace turnpike::callgen {

/// What came back for one request.
struct HttpResult {
  int status = 0;  ///< 0: no response (see `transport_error`)
  std::string body;
  std::string transport_error;  ///< "connect", "closed", "parse" when status is 0
};

using HttpCallback = std::function<void(HttpResult& result)>;

/// One keep-alive HTTP/1.1 client connection: requests are queued and sent
/// one at a time (no pipelining), responses parsed with http-parser. It
/// (re)connects when a request is queued and it is closed.
class HttpConnection final : public IoHandler {
 public:
  HttpConnection(EventLoop& loop, const Target& target);
  ~HttpConnection() override;
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  /// Queues `method path` with a bearer token and a JSON body. When the
  /// connection is idle and open, the request is written before this returns.
  /// `sent_ns`, when given, is set just before the request's first byte is
  /// written (it must stay valid until then).
  void send(const char* method, const std::string& path, const std::string& token,
            const std::string& body, HttpCallback done, std::uint64_t* sent_ns = nullptr);
  /// Opens the connection ahead of the first request.
  void open();
  /// Closes the socket; queued requests fail with "closed".
  void close();
  [[nodiscard]] bool busy() const { return !queue_.empty(); }

  void onIo(std::uint32_t events) override;

 private:
  struct Pending {
    std::string wire;
    HttpCallback done;
    std::uint64_t* sent_ns = nullptr;
  };
  enum class State { Closed, Connecting, Open };

  void startNext();
  void flush();
  void readAvailable();
  void finishResponse();
  void fail(const char* kind);
  void watch(bool want_write);

  static int onStatus(http_parser* p, const char* at, std::size_t len);
  static int onBody(http_parser* p, const char* at, std::size_t len);
  static int onMessageComplete(http_parser* p);

  EventLoop& loop_;
  const Target& target_;
  int fd_ = -1;
  State state_ = State::Closed;
  std::deque<Pending> queue_;  // the front one is on the wire when `on_wire_`
  bool on_wire_ = false;
  std::string out_;
  std::size_t out_offset_ = 0;
  bool want_write_ = false;
  http_parser parser_{};
  http_parser_settings settings_{};
  HttpResult current_;
  bool complete_ = false;
  bool failing_ = false;  // inside fail(): callbacks queue, they do not reconnect
};

}  // namespace turnpike::callgen
