#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

namespace turnpike::testing {

/// Binds `fd` to 127.0.0.1 on a port the kernel picks; returns the port.
inline std::uint16_t bindLoopback(int fd) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin);
  socklen_t len = sizeof sin;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sin), &len);
  return ntohs(sin.sin_port);
}

/// A plain socket to 127.0.0.1:port, for tests that speak raw bytes.
class LoopbackSocket {
 public:
  LoopbackSocket(int type, std::uint16_t port) {
    fd_ = ::socket(AF_INET, type, 0);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&sin), sizeof sin) == 0;
  }
  ~LoopbackSocket() { ::close(fd_); }
  LoopbackSocket(const LoopbackSocket&) = delete;
  LoopbackSocket& operator=(const LoopbackSocket&) = delete;

  [[nodiscard]] bool connected() const { return connected_; }
  [[nodiscard]] int fd() const { return fd_; }
  bool send(std::span<const std::uint8_t> bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
  }
  /// One read, waiting at most `timeout_ms`; nullopt on timeout or error.
  std::optional<std::vector<std::uint8_t>> receive(int timeout_ms = 2000) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) != 1) return std::nullopt;
    std::vector<std::uint8_t> buf(65536);
    const ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
    if (n < 0) return std::nullopt;
    buf.resize(static_cast<std::size_t>(n));
    return buf;
  }
  /// Reads a stream until exactly `size` bytes arrived (bounded by timeout per read).
  std::optional<std::vector<std::uint8_t>> receiveExactly(std::size_t size, int timeout_ms = 2000) {
    std::vector<std::uint8_t> all;
    while (all.size() < size) {
      auto chunk = receive(timeout_ms);
      if (!chunk || chunk->empty()) return std::nullopt;
      all.insert(all.end(), chunk->begin(), chunk->end());
    }
    return all;
  }
  [[nodiscard]] std::uint16_t localPort() const {
    sockaddr_in sin{};
    socklen_t len = sizeof sin;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&sin), &len);
    return ntohs(sin.sin_port);
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

/// One HTTP/1.0 request to 127.0.0.1:`port`: the status code and the body
/// (status 0 when nothing came back).
struct HttpReply {
  int status = 0;
  std::string body;
};
inline HttpReply httpRequest(std::uint16_t port, const std::string& method, const std::string& path,
                             const std::string& headers = "") {
  LoopbackSocket http(SOCK_STREAM, port);
  const std::string request =
      method + " " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n" + headers + "\r\n";
  HttpReply reply;
  if (!http.connected() ||
      !http.send({reinterpret_cast<const std::uint8_t*>(request.data()), request.size()})) {
    return reply;
  }
  std::string text;
  while (auto chunk = http.receive(5000)) {
    if (chunk->empty()) break;
    text.append(chunk->begin(), chunk->end());
  }
  if (text.rfind("HTTP/1.", 0) == 0 && text.size() > 12) {
    reply.status = std::stoi(text.substr(9, 3));
  }
  const auto body = text.find("\r\n\r\n");
  reply.body = body == std::string::npos ? "" : text.substr(body + 4);
  return reply;
}

/// Polls `condition` every 100 ms until it holds or `limit` passes: for
/// what the server publishes on its own schedule (metrics once a second).
template <typename F>
bool eventually(F&& condition, std::chrono::seconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
  }
  return condition();
}

/// The value of one series of a Prometheus scrape of 127.0.0.1:`port`
/// ("name{labels} value"); -1 when the series is not there.
inline double metricValue(std::uint16_t port, const std::string& series) {
  const auto scrape = httpRequest(port, "GET", "/metrics");
  const auto at = scrape.body.find("\n" + series + " ");
  return at == std::string::npos ? -1 : std::stod(scrape.body.substr(at + series.size() + 2));
}

}  // namespace turnpike::testing
