#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

struct event_base;

namespace turnpike::control::push {

struct HttpRequest {
  std::string method = "POST";
  std::string url;                   ///< https://host[:port]/path
  std::vector<std::string> headers;  ///< "name: value"
  std::string body;
  std::chrono::milliseconds timeout{10'000};
};

struct HttpResponse {
  int status = 0;     ///< 0: no answer (connection failed or lost, reset, deadline)
  std::string error;  ///< why, when status is 0
  std::map<std::string, std::string> headers;  ///< lowercase names
  std::string body;                            ///< at most kMaxBody bytes kept
};

/// HTTP/2 over TLS (ALPN h2) on a libevent loop, with nghttp2: one
/// connection per origin, requests multiplexed as streams up to the peer's
/// SETTINGS_MAX_CONCURRENT_STREAMS (the rest wait), PING health checks when
/// the connection has been quiet, a new connection after GOAWAY (streams
/// the peer refused move to it), after a lost connection or a PING left
/// unanswered, and per-request deadlines. Never blocks the loop. Not
/// thread-safe: the loop's thread only.
class Http2Client {
 public:
  static constexpr std::size_t kMaxBody = std::size_t{64} * 1024;

  struct Options {
    std::string ca_file;  ///< extra trust on top of the system's roots
    std::size_t max_in_flight = 2000;
    /// A PING goes out after this long without a frame from the peer; an
    /// answer must come within ping_timeout, or the connection is dropped.
    std::chrono::milliseconds ping_interval{30'000};
    std::chrono::milliseconds ping_timeout{5'000};
    /// A connection with no request for this long is closed.
    std::chrono::milliseconds max_idle{600'000};
  };

  Http2Client(event_base* base, Options options);
  ~Http2Client();
  Http2Client(const Http2Client&) = delete;
  Http2Client& operator=(const Http2Client&) = delete;

  using Done = std::function<void(HttpResponse)>;
  /// `done` runs later on the loop, exactly once, unless the client is
  /// destroyed first: also when the request is refused at once (status 0).
  void send(HttpRequest request, Done done);

  /// New requests go to new connections; the current ones finish the
  /// requests they carry, then close (APNs: one credential per connection).
  void rotate();

  [[nodiscard]] std::size_t inFlight() const;
  /// Connections opened so far (a test sees a reconnect here).
  [[nodiscard]] std::uint64_t connectionsOpened() const;
  /// PINGs that went unanswered (each dropped its connection).
  [[nodiscard]] std::uint64_t pingFailures() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace turnpike::control::push
