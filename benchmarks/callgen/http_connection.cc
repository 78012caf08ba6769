#include "benchmarks/callgen/http_connection.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <string_view>

namespace turnpike::callgen {

HttpConnection::HttpConnection(EventLoop& loop, const Target& target)
    : loop_(loop), target_(target) {
  settings_.on_status = &HttpConnection::onStatus;
  settings_.on_body = &HttpConnection::onBody;
  settings_.on_message_complete = &HttpConnection::onMessageComplete;
}

HttpConnection::~HttpConnection() {
  if (fd_ >= 0) {
    loop_.remove(fd_);
    ::close(fd_);
  }
}

void HttpConnection::send(const char* method, const std::string& path, const std::string& token,
                          const std::string& body, HttpCallback done, std::uint64_t* sent_ns) {
  std::string wire;
  wire.reserve(160 + path.size() + token.size() + body.size());
  wire.append(method).append(" ").append(path).append(" HTTP/1.1\r\nHost: ");
  wire.append(target_.host_header).append("\r\nAuthorization: Bearer ").append(token);
  wire.append("\r\nContent-Type: application/json\r\nContent-Length: ");
  wire.append(std::to_string(body.size())).append("\r\n\r\n").append(body);
  queue_.push_back({std::move(wire), std::move(done), sent_ns});
  if (state_ == State::Closed && !failing_) {
    open();
  } else if (state_ == State::Open) {
    startNext();
  }
}

void HttpConnection::open() {
  if (state_ != State::Closed) {
    return;
  }
  fd_ = startConnect(target_);
  if (fd_ < 0) {
    fail("connect");
    return;
  }
  http_parser_init(&parser_, HTTP_RESPONSE);
  parser_.data = this;
  current_ = {};
  complete_ = false;
  state_ = State::Connecting;
  want_write_ = true;
  loop_.add(fd_, EPOLLIN | EPOLLOUT, this);
}

void HttpConnection::close() {
  if (fd_ >= 0) {
    loop_.remove(fd_);
    ::close(fd_);
    fd_ = -1;
  }
  state_ = State::Closed;
  on_wire_ = false;
  out_.clear();
  out_offset_ = 0;
}

void HttpConnection::watch(bool want_write) {
  if (want_write != want_write_ && fd_ >= 0) {
    want_write_ = want_write;
    loop_.modify(fd_, EPOLLIN | (want_write ? EPOLLOUT : 0U));
  }
}

void HttpConnection::startNext() {
  if (on_wire_ || queue_.empty() || state_ != State::Open) {
    return;
  }
  on_wire_ = true;
  out_ = std::move(queue_.front().wire);
  out_offset_ = 0;
  if (queue_.front().sent_ns != nullptr) {
    *queue_.front().sent_ns = nowNs();
  }
  flush();
}

void HttpConnection::flush() {
  while (out_offset_ < out_.size()) {
    const ssize_t n =
        ::send(fd_, out_.data() + out_offset_, out_.size() - out_offset_, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) {
        watch(true);
        return;
      }
      fail("closed");
      return;
    }
    out_offset_ += static_cast<std::size_t>(n);
  }
  out_.clear();
  out_offset_ = 0;
  watch(false);
}

void HttpConnection::onIo(std::uint32_t events) {
  if (state_ == State::Connecting) {
    if (connectDone(fd_)) {
      state_ = State::Open;
      watch(false);
      startNext();
    } else if ((events & (EPOLLERR | EPOLLHUP)) != 0) {
      fail("connect");
    }
    return;
  }
  if (state_ != State::Open) {
    return;
  }
  if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0) {
    readAvailable();
  }
  if (state_ == State::Open && (events & EPOLLOUT) != 0 && out_offset_ < out_.size()) {
    flush();
  }
}

void HttpConnection::readAvailable() {
  std::array<char, 16384> buffer{};
  while (state_ == State::Open) {
    const ssize_t n = ::recv(fd_, buffer.data(), buffer.size(), 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) {
        return;
      }
      fail("closed");
      return;
    }
    if (n == 0) {
      if (on_wire_) {
        http_parser_execute(&parser_, &settings_, nullptr, 0);  // EOF ends a body without length
        if (complete_) {
          finishResponse();
        }
      }
      if (on_wire_ || !queue_.empty()) {
        fail("closed");
      } else {
        close();  // an idle keep-alive connection closed by the server; reopened on demand
      }
      return;
    }
    const auto size = static_cast<std::size_t>(n);
    const std::size_t parsed = http_parser_execute(&parser_, &settings_, buffer.data(), size);
    if (HTTP_PARSER_ERRNO(&parser_) != HPE_OK || parsed != size || !on_wire_) {
      fail("parse");
      return;
    }
    if (complete_) {
      finishResponse();
    }
  }
}

void HttpConnection::finishResponse() {
  complete_ = false;
  Pending done = std::move(queue_.front());
  queue_.pop_front();
  on_wire_ = false;
  HttpResult result = std::move(current_);
  current_ = {};
  if (http_should_keep_alive(&parser_) == 0) {
    close();
  }
  done.done(result);
  if (state_ == State::Open) {
    startNext();
  } else if (state_ == State::Closed && !queue_.empty()) {
    open();
  }
}

void HttpConnection::fail(const char* kind) {
  close();
  std::deque<Pending> failed;
  failed.swap(queue_);
  failing_ = true;
  for (auto& p : failed) {
    HttpResult result;
    result.transport_error = kind;
    p.done(result);
  }
  failing_ = false;
  // Requests queued by those callbacks get one new connection, not one per
  // callback: a server that refuses connections cannot make this recurse.
  if (!queue_.empty() && std::string_view(kind) != "connect") {
    open();
  }
}

int HttpConnection::onStatus(http_parser* p, const char*, std::size_t) {
  static_cast<HttpConnection*>(p->data)->current_.status = static_cast<int>(p->status_code);
  return 0;
}

int HttpConnection::onBody(http_parser* p, const char* at, std::size_t len) {
  static_cast<HttpConnection*>(p->data)->current_.body.append(at, len);
  return 0;
}

int HttpConnection::onMessageComplete(http_parser* p) {
  auto* self = static_cast<HttpConnection*>(p->data);
  self->current_.status = static_cast<int>(p->status_code);
  self->complete_ = true;
  return 0;
}

}  // namespace turnpike::callgen
