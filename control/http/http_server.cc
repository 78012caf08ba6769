#include "control/http/http_server.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <array>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "control/http/session.h"

namespace turnpike::control::http {
namespace {

struct EventDeleter {
  void operator()(event* e) const { event_free(e); }
};
using EventPtr = std::unique_ptr<event, EventDeleter>;

struct ListenerDeleter {
  void operator()(evconnlistener* l) const { evconnlistener_free(l); }
};
using ListenerPtr = std::unique_ptr<evconnlistener, ListenerDeleter>;

std::string formatAddress(const sockaddr* address) {
  std::array<char, INET6_ADDRSTRLEN> text{};
  if (address->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address);
    inet_ntop(AF_INET6, &in6->sin6_addr, text.data(), text.size());
    return "[" + std::string(text.data()) + "]:" + std::to_string(ntohs(in6->sin6_port));
  }
  const auto* in4 = reinterpret_cast<const sockaddr_in*>(address);
  inet_ntop(AF_INET, &in4->sin_addr, text.data(), text.size());
  return std::string(text.data()) + ":" + std::to_string(ntohs(in4->sin_port));
}

class Connection;

/// What a connection needs from the server that owns it.
class ConnectionOwner {
 public:
  virtual ~ConnectionOwner() = default;
  /// Frees `connection` on the next loop turn, outside every callback.
  virtual void scheduleReap(Connection& connection) = 0;
  virtual void answered(std::string_view pattern, int status) = 0;
  virtual void upgraded() = 0;
};

/// One accepted connection: a bufferevent (plain or TLS) and a timer around
/// a Session. Freed only from the server's reap event, never from inside a
/// callback that has the session on its stack.
class Connection final : public SessionHost {
 public:
  Connection(ConnectionOwner& owner, event_base* base, const Router& router,
             const ServerLimits& limits, bool tls, bufferevent* bev, std::uint64_t id,
             std::string remote);
  ~Connection() override;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void start();
  Session& session() { return session_; }
  [[nodiscard]] bool dying() const { return dying_; }
  /// Stops all I/O and the timer: the connection only waits to be freed.
  void markDying();
  /// Best-effort write of what is queued, for shutdown (plain TCP only).
  void flushNow();

  // SessionHost
  void write(std::string_view bytes) override;
  [[nodiscard]] std::size_t unsentBytes() const override;
  void close(bool flush) override;
  void armTimer(std::chrono::seconds delay) override;
  void answered(std::string_view pattern, int status) override;
  void upgraded() override;

 private:
  static void onRead(bufferevent* bev, void* arg);
  static void onWrite(bufferevent* bev, void* arg);
  static void onEvent(bufferevent* bev, short what, void* arg);
  static void onTimer(evutil_socket_t fd, short what, void* arg);
  void drainInput();

  ConnectionOwner& owner_;
  const ServerLimits& limits_;
  const bool tls_;
  bufferevent* bev_;  ///< owned; closes the socket (and frees the SSL)
  EventPtr timer_;
  Session session_;
  bool flushing_ = false;  ///< closing once the output is written
  bool dying_ = false;     ///< queued for the reap event
};

}  // namespace

struct HttpServer::Impl final : ConnectionOwner {
  Impl(event_base* base_in, const Router& router_in, ServerLimits limits_in, ssl_ctx_st* tls_in,
       AnswerObserver observer_in)
      : base(base_in),
        router(router_in),
        limits(limits_in),
        tls(tls_in),
        observer(std::move(observer_in)),
        reap_event(event_new(base_in, -1, 0, &Impl::onReap, this)) {}

  static void onAccept(evconnlistener* listener, evutil_socket_t fd, sockaddr* address, int length,
                       void* arg);
  static void onAcceptError(evconnlistener* listener, void* arg);
  static void onReap(evutil_socket_t fd, short what, void* arg);
  void accept(evutil_socket_t fd, const sockaddr* address);
  void scheduleReap(Connection& connection) override;
  void answered(std::string_view pattern, int status) override;
  void upgraded() override { ++web_sockets; }
  void reap();
  void destroy(Connection* connection);

  event_base* base;
  const Router& router;
  const ServerLimits limits;
  ssl_ctx_st* tls;
  AnswerObserver observer;
  EventPtr reap_event;
  std::vector<ListenerPtr> listeners;
  std::vector<std::uint16_t> ports;
  std::unordered_map<Connection*, std::unique_ptr<Connection>> connections;
  std::vector<Connection*> doomed;
  std::size_t web_sockets = 0;
  std::uint64_t next_id = 1;
};

namespace {

// ------------------------------------------------------------- Connection

Connection::Connection(ConnectionOwner& owner, event_base* base, const Router& router,
                       const ServerLimits& limits, bool tls, bufferevent* bev, std::uint64_t id,
                       std::string remote)
    : owner_(owner),
      limits_(limits),
      tls_(tls),
      bev_(bev),
      timer_(evtimer_new(base, &Connection::onTimer, this)),
      session_(router, limits, *this, id, std::move(remote)) {}

Connection::~Connection() { bufferevent_free(bev_); }

void Connection::start() {
  bufferevent_setcb(bev_, &Connection::onRead, &Connection::onWrite, &Connection::onEvent, this);
  bufferevent_enable(bev_, EV_READ | EV_WRITE);
  // For TLS this also bounds the handshake: no request completes before it.
  session_.start();
}

void Connection::onRead(bufferevent* /*bev*/, void* arg) {
  static_cast<Connection*>(arg)->drainInput();
}

void Connection::drainInput() {
  evbuffer* input = bufferevent_get_input(bev_);
  std::array<char, 16384> chunk{};
  while (!dying_ && !flushing_ && !session_.ended()) {
    const int n = evbuffer_remove(input, chunk.data(), chunk.size());
    if (n <= 0) {
      break;
    }
    session_.feed({chunk.data(), static_cast<std::size_t>(n)});
  }
}

void Connection::onWrite(bufferevent* bev, void* arg) {
  auto& self = *static_cast<Connection*>(arg);
  if (self.flushing_ && evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
    self.owner_.scheduleReap(self);
  }
}

void Connection::onEvent(bufferevent* bev, short what, void* arg) {
  auto& self = *static_cast<Connection*>(arg);
  if ((what & BEV_EVENT_EOF) != 0 && evbuffer_get_length(bufferevent_get_output(bev)) > 0) {
    // A client that half-closes after its request still gets the answer.
    self.close(true);
    return;
  }
  if ((what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) != 0) {
    self.owner_.scheduleReap(self);
  }
}

void Connection::onTimer(evutil_socket_t /*fd*/, short /*what*/, void* arg) {
  auto& self = *static_cast<Connection*>(arg);
  if (self.flushing_) {
    self.owner_.scheduleReap(self);  // the peer never took the last bytes
    return;
  }
  self.session_.onTimer();
}

void Connection::write(std::string_view bytes) {
  if (!dying_) {
    bufferevent_write(bev_, bytes.data(), bytes.size());
  }
}

std::size_t Connection::unsentBytes() const {
  return evbuffer_get_length(bufferevent_get_output(bev_));
}

void Connection::close(bool flush) {
  if (dying_) {
    return;
  }
  if (!flush || unsentBytes() == 0) {
    owner_.scheduleReap(*this);
    return;
  }
  flushing_ = true;
  bufferevent_disable(bev_, EV_READ);
  // The same bound as an idle request: a peer that never reads goes.
  armTimer(limits_.idle_timeout);
}

void Connection::armTimer(std::chrono::seconds delay) {
  const timeval tv{static_cast<time_t>(delay.count()), 0};
  evtimer_add(timer_.get(), &tv);
}

void Connection::answered(std::string_view pattern, int status) {
  owner_.answered(pattern, status);
}

void Connection::upgraded() { owner_.upgraded(); }

void Connection::markDying() {
  dying_ = true;
  bufferevent_disable(bev_, EV_READ | EV_WRITE);
  evtimer_del(timer_.get());
}

void Connection::flushNow() {
  if (tls_) {
    return;
  }
  // The bufferevent owns the front of its output buffer (it is frozen to
  // others), so send a copy; the buffer itself is freed right after.
  evbuffer* output = bufferevent_get_output(bev_);
  const auto length = static_cast<ev_ssize_t>(evbuffer_get_length(output));
  const unsigned char* bytes = evbuffer_pullup(output, length);
  if (bytes != nullptr && length > 0) {
    (void)::send(bufferevent_getfd(bev_), bytes, static_cast<std::size_t>(length),
                 MSG_NOSIGNAL | MSG_DONTWAIT);
  }
}

}  // namespace

// ---------------------------------------------------------------- server

void HttpServer::Impl::answered(std::string_view pattern, int status) {
  if (!observer) {
    return;
  }
  try {
    observer(pattern, status);
  } catch (const std::exception& e) {
    spdlog::error("http: answer observer failed: {}", e.what());
  }
}

void HttpServer::Impl::onAccept(evconnlistener* /*listener*/, evutil_socket_t fd, sockaddr* address,
                                int /*length*/, void* arg) {
  static_cast<Impl*>(arg)->accept(fd, address);
}

void HttpServer::Impl::onAcceptError(evconnlistener* /*listener*/, void* /*arg*/) {
  // EMFILE and friends: the listener stays; the next accept may succeed.
  spdlog::warn("http: accept failed: {}", evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

void HttpServer::Impl::accept(evutil_socket_t fd, const sockaddr* address) {
  if (connections.size() >= limits.max_connections) {
    evutil_closesocket(fd);
    return;
  }
  // Deferred callbacks: no bufferevent callback ever runs inside a
  // bufferevent_write() made from session code.
  const int options = BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS;
  bufferevent* bev = nullptr;
  if (tls != nullptr) {
    SSL* ssl = SSL_new(tls);
    if (ssl == nullptr) {
      evutil_closesocket(fd);
      return;
    }
    bev = bufferevent_openssl_socket_new(base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING, options);
    if (bev != nullptr) {
      // Browsers often drop TLS without close_notify: that is EOF, not error.
      bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    }
  } else {
    bev = bufferevent_socket_new(base, fd, options);
  }
  if (bev == nullptr) {
    evutil_closesocket(fd);
    return;
  }
  auto connection = std::make_unique<Connection>(*this, base, router, limits, tls != nullptr, bev,
                                                 next_id++, formatAddress(address));
  Connection* raw = connection.get();
  connections.emplace(raw, std::move(connection));
  raw->start();
}

void HttpServer::Impl::scheduleReap(Connection& connection) {
  if (connection.dying()) {
    return;
  }
  connection.markDying();
  doomed.push_back(&connection);
  event_active(reap_event.get(), EV_TIMEOUT, 0);
}

void HttpServer::Impl::onReap(evutil_socket_t /*fd*/, short /*what*/, void* arg) {
  static_cast<Impl*>(arg)->reap();
}

void HttpServer::Impl::reap() {
  // onClosed may close other WebSockets, which queues more: loop until none.
  while (!doomed.empty()) {
    std::vector<Connection*> batch;
    batch.swap(doomed);
    for (Connection* connection : batch) {
      destroy(connection);
    }
  }
}

void HttpServer::Impl::destroy(Connection* connection) {
  auto it = connections.find(connection);
  if (it == connections.end()) {
    return;
  }
  std::unique_ptr<Connection> owned = std::move(it->second);
  connections.erase(it);
  if (owned->session().upgradedToWebSocket()) {
    --web_sockets;
  }
  owned->session().finish();
}

// -------------------------------------------------------------- HttpServer

HttpServer::HttpServer(event_base* base, const Router& router, ServerLimits limits, ssl_ctx_st* tls,
                       AnswerObserver observer)
    : impl_(std::make_unique<Impl>(base, router, limits, tls, std::move(observer))) {}

HttpServer::~HttpServer() { shutdown(); }

bool HttpServer::listen(const std::string& host, std::uint16_t port, std::string& error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  const int rc =
      getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &found);
  if (rc != 0 || found == nullptr) {
    error = "cannot resolve " + host + ": " + gai_strerror(rc);
    return false;
  }
  // A reconnect storm (every device after a network blip) must not wait
  // out SYN retries behind libevent's default backlog of 128; the kernel
  // caps it at net.core.somaxconn.
  constexpr int kBacklog = 4096;
  evconnlistener* listener =
      evconnlistener_new_bind(impl_->base, &Impl::onAccept, impl_.get(),
                              LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
                              kBacklog, found->ai_addr, static_cast<int>(found->ai_addrlen));
  freeaddrinfo(found);
  if (listener == nullptr) {
    error = "cannot listen on " + host + ":" + service + ": " +
            evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR());
    return false;
  }
  evconnlistener_set_error_cb(listener, &Impl::onAcceptError);
  sockaddr_storage bound{};
  socklen_t bound_length = sizeof(bound);
  std::uint16_t bound_port = port;
  if (getsockname(evconnlistener_get_fd(listener), reinterpret_cast<sockaddr*>(&bound),
                  &bound_length) == 0) {
    bound_port = bound.ss_family == AF_INET6
                     ? ntohs(reinterpret_cast<const sockaddr_in6*>(&bound)->sin6_port)
                     : ntohs(reinterpret_cast<const sockaddr_in*>(&bound)->sin_port);
  }
  impl_->listeners.emplace_back(listener);
  impl_->ports.push_back(bound_port);
  return true;
}

std::uint16_t HttpServer::port(std::size_t index) const {
  return index < impl_->ports.size() ? impl_->ports[index] : 0;
}

std::size_t HttpServer::connections() const { return impl_->connections.size(); }

std::size_t HttpServer::webSockets() const { return impl_->web_sockets; }

void HttpServer::shutdown() {
  impl_->listeners.clear();
  // RFC 6455 §7.4.1: 1001, the endpoint is going away. Written best-effort;
  // nobody waits for the peer's answer.
  for (auto& [raw, connection] : impl_->connections) {
    connection->session().goingAway();
    connection->flushNow();
  }
  while (!impl_->connections.empty()) {
    impl_->destroy(impl_->connections.begin()->first);
  }
  impl_->doomed.clear();
}

}  // namespace turnpike::control::http
