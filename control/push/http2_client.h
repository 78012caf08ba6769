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
  std::string url;
  std::vector<std::string> headers;  ///< "name: value"
  std::string body;
  std::chrono::milliseconds timeout{10'000};
};

struct HttpResponse {
  int status = 0;     ///< 0: no answer (connection failed, reset, deadline)
  std::string error;  ///< why, when status is 0
  std::map<std::string, std::string> headers;  ///< lowercase names
  std::string body;                            ///< at most kMaxBody bytes kept
  bool http2 = false;
};

/// HTTP/2 requests on a libevent loop through libcurl's multi interface
/// (curl_multi_socket_action): one connection per origin, requests
/// multiplexed as streams (PIPEWAIT), a fresh connection after GOAWAY, a
/// reset or an idle connection's max age. Never blocks the loop. Not
/// thread-safe: the loop's thread only.
class Http2Client {
 public:
  static constexpr std::size_t kMaxBody = 64 * 1024;

  struct Options {
    std::string ca_file;  ///< extra trust on top of the system's
    std::size_t max_in_flight = 2000;
    std::chrono::seconds max_idle{60};  ///< an idle connection older is not reused
  };

  Http2Client(event_base* base, Options options);
  ~Http2Client();
  Http2Client(const Http2Client&) = delete;
  Http2Client& operator=(const Http2Client&) = delete;

  using Done = std::function<void(HttpResponse)>;
  /// `done` runs later on the loop, exactly once: also when the request is
  /// refused at once (too many in flight: status 0).
  void send(HttpRequest request, Done done);

  [[nodiscard]] std::size_t inFlight() const;
  /// Connections opened so far (a test sees a reconnect here).
  [[nodiscard]] std::uint64_t connectionsOpened() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace turnpike::control::push
