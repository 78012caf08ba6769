#include "benchmarks/callgen/ws_connection.h"

#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>

#include "benchmarks/callgen/user_token.h"

namespace turnpike::callgen {
namespace {

/// Masking keys need not be secret from the generator's own server (RFC 6455
/// §10.3 guards against proxies confused by attacker-chosen bytes); a fast
/// xorshift keeps them varying without a system call per frame.
std::uint64_t nextMask() {
  static thread_local std::uint64_t state = nowNs() | 1U;
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return state;
}

}  // namespace

WsConnection::WsConnection(EventLoop& loop, const Target& target, Callbacks callbacks)
    : loop_(loop), target_(target), callbacks_(std::move(callbacks)) {
  settings_.on_header_field = &WsConnection::onHeaderField;
  settings_.on_header_value = &WsConnection::onHeaderValue;
  settings_.on_headers_complete = &WsConnection::onHeadersComplete;
  settings_.on_message_complete = [](http_parser* p) {
    static_cast<WsConnection*>(p->data)->response_done_ = true;
    return 0;
  };
}

WsConnection::~WsConnection() { close(); }

void WsConnection::open(const std::string& path) {
  close();
  fd_ = startConnect(target_);
  if (fd_ < 0) {
    fail("connect");
    return;
  }
  key_ = webSocketKey();
  request_ = "GET " + path + " HTTP/1.1\r\nHost: " + target_.host_header +
             "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key_ +
             "\r\nSec-WebSocket-Version: 13\r\n\r\n";
  request_offset_ = 0;
  http_parser_init(&parser_, HTTP_RESPONSE);
  parser_.data = this;
  header_field_.clear();
  header_value_.clear();
  accept_.clear();
  last_was_value_ = false;
  response_done_ = false;
  eof_ = false;
  close_code_ = 0;
  state_ = State::Connecting;
  interest_ = EPOLLIN | EPOLLOUT;
  loop_.add(fd_, interest_, this);
}

void WsConnection::close() {
  if (ws_ != nullptr) {
    wslay_event_context_free(ws_);
    ws_ = nullptr;
  }
  if (fd_ >= 0) {
    loop_.remove(fd_);
    ::close(fd_);
    fd_ = -1;
  }
  state_ = State::Closed;
  early_.clear();
  early_offset_ = 0;
}

void WsConnection::fail(const std::string& why) {
  close();
  if (callbacks_.closed) {
    callbacks_.closed(why);
  }
}

bool WsConnection::sendText(std::string_view text) {
  if (state_ != State::Open) {
    return false;
  }
  wslay_event_msg msg{WSLAY_TEXT_FRAME, reinterpret_cast<const std::uint8_t*>(text.data()),
                      text.size()};
  if (wslay_event_queue_msg(ws_, &msg) != 0) {
    return false;
  }
  if (!in_pump_) {
    pumpFrames(false);
  }
  return true;
}

void WsConnection::onIo(std::uint32_t events) {
  switch (state_) {
    case State::Closed: return;
    case State::Connecting:
      if (connectDone(fd_)) {
        state_ = State::Upgrading;
        flushUpgrade();
      } else if ((events & (EPOLLERR | EPOLLHUP)) != 0) {
        fail("connect");
      }
      return;
    case State::Upgrading:
      if ((events & EPOLLOUT) != 0 && request_offset_ < request_.size()) {
        flushUpgrade();
      }
      if (state_ == State::Upgrading && (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0) {
        readUpgrade();
      }
      return;
    case State::Open: pumpFrames((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0); return;
  }
}

void WsConnection::setInterest(std::uint32_t interest) {
  if (interest != interest_ && fd_ >= 0) {
    interest_ = interest;
    loop_.modify(fd_, interest_);
  }
}

void WsConnection::flushUpgrade() {
  while (request_offset_ < request_.size()) {
    const ssize_t n = ::send(fd_, request_.data() + request_offset_,
                             request_.size() - request_offset_, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) {
        setInterest(EPOLLIN | EPOLLOUT);
        return;
      }
      fail("closed_before_upgrade");
      return;
    }
    request_offset_ += static_cast<std::size_t>(n);
  }
  setInterest(EPOLLIN);
}

void WsConnection::readUpgrade() {
  std::array<char, 4096> buffer{};
  const ssize_t n = ::recv(fd_, buffer.data(), buffer.size(), 0);
  if (n < 0) {
    if (errno != EAGAIN && errno != EINTR) {
      fail("closed_before_upgrade");
    }
    return;
  }
  if (n == 0) {
    fail("closed_before_upgrade");
    return;
  }
  const auto size = static_cast<std::size_t>(n);
  const std::size_t parsed = http_parser_execute(&parser_, &settings_, buffer.data(), size);
  if (HTTP_PARSER_ERRNO(&parser_) != HPE_OK) {
    fail("upgrade_parse");
    return;
  }
  if (!response_done_) {
    return;  // the rest of the response is still on its way
  }
  // http-parser stops after the headers of a 101 with Upgrade: the bytes after
  // them are already WebSocket frames.
  if (parser_.upgrade == 0 || parser_.status_code != 101) {
    fail("upgrade_" + std::to_string(parser_.status_code));
    return;
  }
  if (accept_ != webSocketAccept(key_)) {
    fail("upgrade_bad_accept");
    return;
  }
  early_.assign(buffer.data() + parsed, size - parsed);
  early_offset_ = 0;
  wslay_event_callbacks callbacks{&WsConnection::recvCallback,
                                  &WsConnection::sendCallback,
                                  &WsConnection::genmaskCallback,
                                  nullptr,
                                  nullptr,
                                  nullptr,
                                  &WsConnection::onMessage};
  if (wslay_event_context_client_init(&ws_, &callbacks, this) != 0) {
    fail("wslay_init");
    return;
  }
  state_ = State::Open;
  if (callbacks_.opened) {
    callbacks_.opened();
  }
  if (state_ == State::Open) {
    pumpFrames(!early_.empty());
  }
}

void WsConnection::pumpFrames(bool readable) {
  in_pump_ = true;
  int rv = 0;
  if (readable && wslay_event_want_read(ws_) != 0) {
    rv = wslay_event_recv(ws_);
  }
  if (rv == 0 && wslay_event_want_write(ws_) != 0) {
    rv = wslay_event_send(ws_);
  }
  in_pump_ = false;
  if (rv != 0) {
    fail(eof_ ? "closed_by_server" : "ws_error");
    return;
  }
  if (wslay_event_want_read(ws_) == 0 && wslay_event_want_write(ws_) == 0) {
    fail(close_code_ != 0 ? "server_close_" + std::to_string(close_code_) : "closed_by_server");
    return;
  }
  setInterest(EPOLLIN | (wslay_event_want_write(ws_) != 0 ? EPOLLOUT : 0U));
}

void WsConnection::finishHeader() {
  if (strcasecmp(header_field_.c_str(), "sec-websocket-accept") == 0) {
    accept_ = header_value_;
  }
  header_field_.clear();
  header_value_.clear();
}

int WsConnection::onHeaderField(http_parser* p, const char* at, std::size_t len) {
  auto* self = static_cast<WsConnection*>(p->data);
  if (self->last_was_value_) {
    self->finishHeader();
  }
  self->last_was_value_ = false;
  self->header_field_.append(at, len);
  return 0;
}

int WsConnection::onHeaderValue(http_parser* p, const char* at, std::size_t len) {
  auto* self = static_cast<WsConnection*>(p->data);
  self->last_was_value_ = true;
  self->header_value_.append(at, len);
  return 0;
}

int WsConnection::onHeadersComplete(http_parser* p) {
  auto* self = static_cast<WsConnection*>(p->data);
  if (self->last_was_value_) {
    self->finishHeader();
  }
  self->last_was_value_ = false;
  return 0;
}

ssize_t WsConnection::recvCallback(wslay_event_context_ptr ctx, std::uint8_t* buf, std::size_t len,
                                   int /*flags*/, void* user) {
  auto* self = static_cast<WsConnection*>(user);
  if (self->early_offset_ < self->early_.size()) {
    const std::size_t n = std::min(len, self->early_.size() - self->early_offset_);
    std::copy_n(self->early_.data() + self->early_offset_, n, buf);
    self->early_offset_ += n;
    return static_cast<ssize_t>(n);
  }
  const ssize_t n = ::recv(self->fd_, buf, len, 0);
  if (n > 0) {
    return n;
  }
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
    wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
  } else {
    self->eof_ = n == 0;
    wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
  }
  return -1;
}

ssize_t WsConnection::sendCallback(wslay_event_context_ptr ctx, const std::uint8_t* data,
                                   std::size_t len, int /*flags*/, void* user) {
  auto* self = static_cast<WsConnection*>(user);
  const ssize_t n = ::send(self->fd_, data, len, MSG_NOSIGNAL);
  if (n >= 0) {
    return n;
  }
  wslay_event_set_error(
      ctx, errno == EAGAIN || errno == EINTR ? WSLAY_ERR_WOULDBLOCK : WSLAY_ERR_CALLBACK_FAILURE);
  return -1;
}

int WsConnection::genmaskCallback(wslay_event_context_ptr /*ctx*/, std::uint8_t* buf,
                                  std::size_t len, void* /*user*/) {
  std::uint64_t r = 0;
  for (std::size_t i = 0; i < len; ++i) {
    if (i % 8 == 0) {
      r = nextMask();
    }
    buf[i] = static_cast<std::uint8_t>(r >> (8 * (i % 8)));
  }
  return 0;
}

void WsConnection::onMessage(wslay_event_context_ptr /*ctx*/,
                             const wslay_event_on_msg_recv_arg* arg, void* user) {
  auto* self = static_cast<WsConnection*>(user);
  if (arg->opcode == WSLAY_TEXT_FRAME) {
    if (self->callbacks_.text) {
      self->callbacks_.text(
          std::string_view(reinterpret_cast<const char*>(arg->msg), arg->msg_length));
    }
  } else if (arg->opcode == WSLAY_CONNECTION_CLOSE) {
    self->close_code_ = arg->status_code;
  }
}

}  // namespace turnpike::callgen
