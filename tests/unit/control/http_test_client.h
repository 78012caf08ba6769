#pragma once

// Test-side clients for the HTTP server tests: blocking loopback sockets with
// receive timeouts (so a broken server fails a test instead of hanging it),
// an optional TLS layer, and a minimal RFC 6455 client that masks its frames.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace turnpike::control::http::testing {

/// A parsed HTTP response as the client saw it.
struct ClientResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  ///< names lowercased
  std::string body;
};

/// One decoded server frame.
struct Frame {
  std::uint8_t opcode = 0;
  std::string payload;
  [[nodiscard]] std::uint16_t closeCode() const {
    return payload.size() < 2
               ? 0
               : static_cast<std::uint16_t>((static_cast<std::uint8_t>(payload[0]) << 8) |
                                            static_cast<std::uint8_t>(payload[1]));
  }
};

class TestClient {
 public:
  /// Connects to 127.0.0.1:`port`; `receive_buffer` > 0 shrinks SO_RCVBUF
  /// (a client that stops reading then fills up quickly).
  explicit TestClient(std::uint16_t port, int receive_buffer = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (receive_buffer > 0) {
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof(receive_buffer));
    }
    timeval tv{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  }
  ~TestClient() {
    if (ssl_ != nullptr) {
      SSL_free(ssl_);
    }
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  TestClient(const TestClient&) = delete;
  TestClient& operator=(const TestClient&) = delete;

  [[nodiscard]] bool connected() const { return connected_; }

  /// Runs a TLS handshake over the connection (no certificate check).
  bool startTls(SSL_CTX* ctx) {
    ssl_ = SSL_new(ctx);
    SSL_set_fd(ssl_, fd_);
    return SSL_connect(ssl_) == 1;
  }

  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      const long n = ssl_ != nullptr ? SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size()))
                                     : ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) {
        return false;
      }
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  /// Reads one HTTP response (Content-Length framing); nullopt on EOF.
  std::optional<ClientResponse> readResponse() {
    std::size_t end = 0;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) {
        return std::nullopt;
      }
    }
    ClientResponse response;
    const std::string head = buffer_.substr(0, end);
    buffer_.erase(0, end + 4);
    std::size_t line_end = head.find("\r\n");
    const std::string status_line = head.substr(0, line_end);
    response.status = std::stoi(status_line.substr(9, 3));
    while (line_end != std::string::npos) {
      const std::size_t start = line_end + 2;
      line_end = head.find("\r\n", start);
      const std::string line = head.substr(start, line_end - start);
      const std::size_t colon = line.find(':');
      std::string name = line.substr(0, colon);
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      response.headers[name] = value;
    }
    const auto length = response.headers.find("content-length");
    const std::size_t body_size =
        length == response.headers.end() ? 0 : static_cast<std::size_t>(std::stoul(length->second));
    while (buffer_.size() < body_size) {
      if (!fill()) {
        return std::nullopt;
      }
    }
    response.body = buffer_.substr(0, body_size);
    buffer_.erase(0, body_size);
    return response;
  }

  /// Sends a request and reads its response.
  std::optional<ClientResponse> roundTrip(std::string_view request) {
    if (!send(request)) {
      return std::nullopt;
    }
    return readResponse();
  }

  /// Reads (and discards) until the server closes; false on timeout or when
  /// more than `limit` bytes arrive first.
  bool waitClosed(std::size_t limit = std::size_t{256} * 1024 * 1024) {
    buffer_.clear();
    std::size_t total = 0;
    while (total <= limit) {
      char chunk[65536];
      const long n = readSome(chunk, sizeof(chunk));
      if (n == 0) {
        return true;
      }
      if (n < 0) {
        return errno == ECONNRESET || errno == EPIPE;
      }
      total += static_cast<std::size_t>(n);
    }
    return false;
  }

  /// Opens a WebSocket on `path`; the 101 (or refusal) response.
  std::optional<ClientResponse> upgrade(std::string_view path, std::string_view extra = "") {
    std::string request = "GET " + std::string(path) +
                          " HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
                          "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
                          std::string(extra) + "\r\n";
    return roundTrip(request);
  }

  /// A client frame, masked as RFC 6455 §5.3 requires.
  bool sendFrame(std::uint8_t opcode, std::string_view payload, bool fin = true) {
    std::string frame;
    frame.push_back(static_cast<char>((fin ? 0x80 : 0x00) | opcode));
    if (payload.size() < 126) {
      frame.push_back(static_cast<char>(0x80 | payload.size()));
    } else if (payload.size() < 65536) {
      frame.push_back(static_cast<char>(0x80 | 126));
      frame.push_back(static_cast<char>(payload.size() >> 8));
      frame.push_back(static_cast<char>(payload.size() & 0xFF));
    } else {
      frame.push_back(static_cast<char>(0x80 | 127));
      for (int shift = 56; shift >= 0; shift -= 8) {
        frame.push_back(static_cast<char>((payload.size() >> shift) & 0xFF));
      }
    }
    const char mask[4] = {0x12, 0x34, 0x56, 0x78};
    frame.append(mask, 4);
    for (std::size_t i = 0; i < payload.size(); ++i) {
      frame.push_back(static_cast<char>(payload[i] ^ mask[i % 4]));
    }
    return send(frame);
  }

  bool sendText(std::string_view text) { return sendFrame(0x1, text); }

  /// Reads one server frame (unmasked); nullopt on EOF or timeout.
  std::optional<Frame> readFrame() {
    while (true) {
      if (buffer_.size() >= 2) {
        const auto* b = reinterpret_cast<const std::uint8_t*>(buffer_.data());
        std::size_t header = 2;
        std::uint64_t length = b[1] & 0x7FU;
        if (length == 126 && buffer_.size() >= 4) {
          length = (std::uint64_t{b[2]} << 8) | b[3];
          header = 4;
        } else if (length == 127 && buffer_.size() >= 10) {
          length = 0;
          for (int i = 0; i < 8; ++i) {
            length = (length << 8) | b[2 + i];
          }
          header = 10;
        }
        if ((length < 126 || header > 2) && buffer_.size() >= header + length) {
          Frame frame;
          frame.opcode = b[0] & 0x0FU;
          frame.payload = buffer_.substr(header, length);
          buffer_.erase(0, header + length);
          return frame;
        }
      }
      if (!fill()) {
        return std::nullopt;
      }
    }
  }

 private:
  long readSome(char* data, std::size_t size) {
    if (ssl_ != nullptr) {
      const int n = SSL_read(ssl_, data, static_cast<int>(size));
      return n > 0 ? n : (SSL_get_error(ssl_, n) == SSL_ERROR_ZERO_RETURN ? 0 : -1);
    }
    return ::recv(fd_, data, size, 0);
  }

  bool fill() {
    char chunk[16384];
    const long n = readSome(chunk, sizeof(chunk));
    if (n <= 0) {
      return false;
    }
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  SSL* ssl_ = nullptr;
  std::string buffer_;
};

}  // namespace turnpike::control::http::testing
