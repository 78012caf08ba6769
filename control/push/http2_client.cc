// HTTP/2 client connections: libevent bufferevents over OpenSSL for the
// bytes, nghttp2 for the frames. One Connection per origin serves requests;
// one that got GOAWAY drains while a new one takes the next requests.

#include "control/push/http2_client.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <deque>
#include <list>
#include <optional>

#include "control/push/timers.h"

namespace turnpike::control::push {
namespace {

constexpr std::size_t kMaxHeaders = 64;
constexpr std::chrono::milliseconds kConnectTimeout{5'000};

struct Target {
  std::string origin;  // "host:port"
  std::string host;
  std::uint16_t port = 443;
  std::string path;
};

std::optional<Target> parseUrl(const std::string& url) {
  constexpr std::string_view kScheme = "https://";
  if (url.rfind(kScheme, 0) != 0) {
    return std::nullopt;
  }
  const auto rest = url.substr(kScheme.size());
  const auto slash = rest.find('/');
  const std::string authority = rest.substr(0, slash);
  Target t;
  t.path = slash == std::string::npos ? "/" : rest.substr(slash);
  std::string port;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string::npos) {
      return std::nullopt;
    }
    t.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':') {
      port = authority.substr(close + 2);
    }
  } else {
    const auto colon = authority.find(':');
    t.host = authority.substr(0, colon);
    if (colon != std::string::npos) {
      port = authority.substr(colon + 1);
    }
  }
  if (!port.empty()) {
    if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(port) == 0 || std::stoi(port) > 65535) {
      return std::nullopt;
    }
    t.port = static_cast<std::uint16_t>(std::stoi(port));
  }
  if (t.host.empty()) {
    return std::nullopt;
  }
  t.origin = t.host + ":" + std::to_string(t.port);
  return t;
}

bool isIpLiteral(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

std::string lowercase(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

nghttp2_nv header(const std::string& name, const std::string& value) {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
          NGHTTP2_NV_FLAG_NONE};
}

timeval toTimeval(std::chrono::milliseconds ms) {
  const auto n = std::max<std::int64_t>(0, ms.count());
  return {static_cast<time_t>(n / 1000), static_cast<suseconds_t>((n % 1000) * 1000)};
}

}  // namespace

/// One request from send() to its answer.
struct Stream {
  Http2Client::Impl* owner = nullptr;
  Target target;
  HttpRequest request;
  Http2Client::Done done;
  HttpResponse response;
  std::size_t body_sent = 0;
  std::int32_t id = -1;  // -1: not submitted yet
  bool moved = false;    // refused once by a peer and moved to a new connection
  event* deadline = nullptr;
  std::vector<std::pair<std::string, std::string>> names;  // lowercase header pairs
};

class Connection;

struct Http2Client::Impl {
  event_base* base;
  Options options;
  SSL_CTX* ctx = nullptr;
  evdns_base* dns = nullptr;
  std::map<std::string, std::unique_ptr<Connection>> current;  // origin -> serving
  std::list<std::unique_ptr<Connection>> draining;  // after GOAWAY, until their streams end
  std::vector<std::unique_ptr<Connection>> doomed;  // freed on the next loop turn
  std::vector<std::unique_ptr<Stream>> finished;    // answered after the I/O that ended them
  std::size_t live = 0;
  std::uint64_t connections = 0;
  std::uint64_t ping_failures = 0;
  Timers timers;

  Impl(event_base* b, Options o);
  ~Impl();
  void dispatch(std::unique_ptr<Stream> stream);
  void complete(std::unique_ptr<Stream> stream, std::string error = {});
  void runFinished();
  void retire(Connection* c, bool goaway);
  static void onDeadline(evutil_socket_t, short, void* arg);
};

/// One TLS + HTTP/2 connection to an origin.
class Connection {
 public:
  Connection(Http2Client::Impl& impl, const Target& target) : impl_(impl), target_(target) {}
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  bool open();
  void add(std::unique_ptr<Stream> stream);
  /// Takes a stream out (its deadline passed): reset if submitted.
  std::unique_ptr<Stream> take(Stream* stream);
  [[nodiscard]] bool empty() const { return streams_.empty() && waiting_.empty(); }
  /// Everything of this connection ends: open streams fail, waiting ones
  /// move on (or fail, if the connection never came up).
  void fail(const std::string& why);
  /// Takes no new streams and closes once those it has are answered.
  void drain();

 private:
  static void onRead(bufferevent* bev, void* arg);
  static void onEvent(bufferevent* bev, short what, void* arg);
  static void onPingTimer(evutil_socket_t, short, void* arg);
  static void onConnectTimer(evutil_socket_t, short, void* arg);
  static ssize_t readBody(nghttp2_session*, int32_t, uint8_t* buf, size_t length, uint32_t* flags,
                          nghttp2_data_source* source, void*);
  static int onHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t, void* arg);
  static int onData(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t* data, size_t len,
                    void* arg);
  static int onFrame(nghttp2_session*, const nghttp2_frame* frame, void* arg);
  static int onClose(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* arg);

  bool startSession();
  void pump();
  bool flush();
  void armPing();
  void afterIo();

  Http2Client::Impl& impl_;
  Target target_;
  bufferevent* bev_ = nullptr;
  nghttp2_session* session_ = nullptr;
  event* ping_timer_ = nullptr;
  event* connect_timer_ = nullptr;
  bool ready_ = false;
  bool closing_ = false;
  bool draining_ = false;  ///< after GOAWAY: no new streams
  bool ping_outstanding_ = false;
  std::chrono::steady_clock::time_point last_request_ = std::chrono::steady_clock::now();
  std::map<std::int32_t, std::unique_ptr<Stream>> streams_;
  std::deque<std::unique_ptr<Stream>> waiting_;
};

// ---------------------------------------------------------------- Connection

Connection::~Connection() {
  if (ping_timer_ != nullptr) {
    event_free(ping_timer_);
  }
  if (connect_timer_ != nullptr) {
    event_free(connect_timer_);
  }
  if (session_ != nullptr) {
    nghttp2_session_del(session_);
  }
  if (bev_ != nullptr) {
    bufferevent_free(bev_);
  }
  // Streams still here belong to a client going away: no answer.
  for (auto& [id, s] : streams_) {
    event_free(s->deadline);
  }
  for (auto& s : waiting_) {
    event_free(s->deadline);
  }
}

bool Connection::open() {
  SSL* ssl = SSL_new(impl_.ctx);
  if (ssl == nullptr) {
    return false;
  }
  if (isIpLiteral(target_.host)) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), target_.host.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl, target_.host.c_str());
    SSL_set1_host(ssl, target_.host.c_str());
  }
  bev_ = bufferevent_openssl_socket_new(impl_.base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
                                        BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
  if (bev_ == nullptr) {
    SSL_free(ssl);
    return false;
  }
  bufferevent_openssl_set_allow_dirty_shutdown(bev_, 1);
  bufferevent_setcb(bev_, &Connection::onRead, nullptr, &Connection::onEvent, this);
  bufferevent_enable(bev_, EV_READ | EV_WRITE);
  ping_timer_ = evtimer_new(impl_.base, &Connection::onPingTimer, this);
  connect_timer_ = evtimer_new(impl_.base, &Connection::onConnectTimer, this);
  const timeval tv = toTimeval(kConnectTimeout);
  evtimer_add(connect_timer_, &tv);
  ++impl_.connections;
  return bufferevent_socket_connect_hostname(bev_, impl_.dns, AF_UNSPEC, target_.host.c_str(),
                                             target_.port) == 0;
}

void Connection::add(std::unique_ptr<Stream> stream) {
  last_request_ = std::chrono::steady_clock::now();
  waiting_.push_back(std::move(stream));
  if (ready_) {
    pump();
    flush();
  }
}

std::unique_ptr<Stream> Connection::take(Stream* stream) {
  if (stream->id >= 0) {
    auto it = streams_.find(stream->id);
    if (it == streams_.end()) {
      return nullptr;
    }
    auto out = std::move(it->second);
    streams_.erase(it);
    nghttp2_session_set_stream_user_data(session_, out->id, nullptr);
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, out->id, NGHTTP2_CANCEL);
    flush();
    return out;
  }
  for (auto it = waiting_.begin(); it != waiting_.end(); ++it) {
    if (it->get() == stream) {
      auto out = std::move(*it);
      waiting_.erase(it);
      return out;
    }
  }
  return nullptr;
}

void Connection::fail(const std::string& why) {
  if (closing_) {
    return;
  }
  closing_ = true;
  for (auto& [id, s] : streams_) {
    impl_.complete(std::move(s), why);
  }
  streams_.clear();
  auto waiting = std::move(waiting_);
  waiting_.clear();
  // Out of the serving slot first, so what moves on gets a new connection.
  impl_.retire(this, false);
  for (auto& s : waiting) {
    // Never sent: safe to send elsewhere, unless this connection never came
    // up (then a new one would most likely fail alike).
    if (ready_) {
      impl_.dispatch(std::move(s));
    } else {
      impl_.complete(std::move(s), why);
    }
  }
}

bool Connection::startSession() {
  const unsigned char* proto = nullptr;
  unsigned int length = 0;
  SSL_get0_alpn_selected(bufferevent_openssl_get_ssl(bev_), &proto, &length);
  if (proto == nullptr || std::string_view(reinterpret_cast<const char*>(proto), length) != "h2") {
    return false;
  }
  nghttp2_session_callbacks* callbacks = nullptr;
  nghttp2_session_callbacks_new(&callbacks);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, &Connection::onHeader);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &Connection::onData);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &Connection::onFrame);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &Connection::onClose);
  const int rv = nghttp2_session_client_new(&session_, callbacks, this);
  nghttp2_session_callbacks_del(callbacks);
  if (rv != 0) {
    return false;
  }
  const nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
                                             {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20}};
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, 2);
  ready_ = true;
  return true;
}

void Connection::pump() {
  const auto limit =
      nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
  while (!draining_ && !waiting_.empty() && streams_.size() < limit) {
    auto s = std::move(waiting_.front());
    waiting_.pop_front();
    std::vector<nghttp2_nv> nva;
    static const std::string kMethod = ":method", kScheme = ":scheme", kAuthority = ":authority",
                             kPath = ":path", kHttps = "https", kLength = "content-length";
    const std::string authority =
        target_.port == 443 ? target_.host : target_.host + ":" + std::to_string(target_.port);
    s->names.clear();
    s->names.emplace_back(kMethod, s->request.method);
    s->names.emplace_back(kScheme, kHttps);
    s->names.emplace_back(kAuthority, authority);
    s->names.emplace_back(kPath, s->target.path);
    for (const auto& h : s->request.headers) {
      const auto colon = h.find(':');
      if (colon == std::string::npos) {
        continue;
      }
      auto value = h.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      s->names.emplace_back(lowercase(h.substr(0, colon)), std::move(value));
    }
    if (!s->request.body.empty()) {
      s->names.emplace_back(kLength, std::to_string(s->request.body.size()));
    }
    for (const auto& [n, v] : s->names) {
      nva.push_back(header(n, v));
    }
    nghttp2_data_provider provider{};
    provider.read_callback = &Connection::readBody;
    const std::int32_t id =
        nghttp2_submit_request(session_, nullptr, nva.data(), nva.size(),
                               s->request.body.empty() ? nullptr : &provider, s.get());
    if (id < 0) {
      impl_.complete(std::move(s), std::string("cannot submit: ") + nghttp2_strerror(id));
      continue;
    }
    s->id = id;
    streams_.emplace(id, std::move(s));
  }
}

bool Connection::flush() {
  if (session_ == nullptr || closing_) {
    return false;
  }
  for (;;) {
    const std::uint8_t* data = nullptr;
    const ssize_t n = nghttp2_session_mem_send(session_, &data);
    if (n < 0) {
      fail(std::string("HTTP/2: ") + nghttp2_strerror(static_cast<int>(n)));
      return false;
    }
    if (n == 0) {
      break;
    }
    bufferevent_write(bev_, data, static_cast<std::size_t>(n));
  }
  return true;
}

void Connection::armPing() {
  const timeval tv =
      toTimeval(ping_outstanding_ ? impl_.options.ping_timeout : impl_.options.ping_interval);
  evtimer_add(ping_timer_, &tv);
}

// After frames went either way: answer finished streams, start waiting
// ones, and retire a connection the peer is done with.
void Connection::afterIo() {
  if (closing_) {
    return;
  }
  pump();
  flush();
  if (closing_) {
    return;
  }
  if (draining_ && streams_.empty()) {
    nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR);
    flush();
    fail("drained");
    return;
  }
  if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_)) {
    fail("connection closed by the peer (GOAWAY)");
  }
}

void Connection::drain() {
  if (closing_ || draining_) {
    return;
  }
  draining_ = true;
  impl_.retire(this, true);
  auto waiting = std::move(waiting_);
  waiting_.clear();
  for (auto& s : waiting) {
    impl_.dispatch(std::move(s));
  }
  if (ready_) {
    afterIo();
  } else {
    fail("drained");
  }
}

void Connection::onRead(bufferevent* bev, void* arg) {
  auto* self = static_cast<Connection*>(arg);
  evbuffer* in = bufferevent_get_input(bev);
  const std::size_t length = evbuffer_get_length(in);
  const unsigned char* data = evbuffer_pullup(in, static_cast<ssize_t>(length));
  const ssize_t used = nghttp2_session_mem_recv(self->session_, data, length);
  evbuffer_drain(in, length);
  Http2Client::Impl& impl = self->impl_;
  if (used < 0) {
    self->fail(std::string("HTTP/2: ") + nghttp2_strerror(static_cast<int>(used)));
  } else {
    // Any frame shows the peer is alive.
    self->ping_outstanding_ = false;
    self->armPing();
    self->afterIo();
  }
  impl.runFinished();
}

void Connection::onEvent(bufferevent* /*bev*/, short what, void* arg) {
  auto* self = static_cast<Connection*>(arg);
  Http2Client::Impl& impl = self->impl_;
  if ((what & BEV_EVENT_CONNECTED) != 0) {
    evtimer_del(self->connect_timer_);
    if (!self->startSession()) {
      self->fail("the server did not agree to HTTP/2 (ALPN h2)");
    } else {
      self->armPing();
      self->afterIo();
    }
  } else if ((what & (BEV_EVENT_ERROR | BEV_EVENT_EOF)) != 0) {
    std::string why = (what & BEV_EVENT_EOF) != 0 ? "connection closed" : "connection failed";
    const unsigned long ssl_error = bufferevent_get_openssl_error(self->bev_);
    if (ssl_error != 0) {
      char text[256];
      ERR_error_string_n(ssl_error, text, sizeof text);
      why += std::string(": ") + text;
    } else if (const int dns = bufferevent_socket_get_dns_error(self->bev_); dns != 0) {
      why += std::string(": ") + evutil_gai_strerror(dns);
    }
    self->fail(why);
  }
  impl.runFinished();
}

void Connection::onPingTimer(evutil_socket_t /*fd*/, short /*what*/, void* arg) {
  auto* self = static_cast<Connection*>(arg);
  Http2Client::Impl& impl = self->impl_;
  if (self->closing_) {
    return;
  }
  if (self->ping_outstanding_) {
    ++impl.ping_failures;
    self->fail("no answer to PING within " + std::to_string(impl.options.ping_timeout.count()) +
               " ms");
  } else if (self->empty() &&
             std::chrono::steady_clock::now() - self->last_request_ >= impl.options.max_idle) {
    nghttp2_session_terminate_session(self->session_, NGHTTP2_NO_ERROR);
    self->flush();
    self->fail("idle");
  } else {
    nghttp2_submit_ping(self->session_, NGHTTP2_FLAG_NONE, nullptr);
    self->ping_outstanding_ = true;
    self->armPing();
    self->flush();
  }
  impl.runFinished();
}

void Connection::onConnectTimer(evutil_socket_t /*fd*/, short /*what*/, void* arg) {
  auto* self = static_cast<Connection*>(arg);
  Http2Client::Impl& impl = self->impl_;
  self->fail("connect timed out");
  impl.runFinished();
}

ssize_t Connection::readBody(nghttp2_session* session, int32_t id, uint8_t* buf, size_t length,
                             uint32_t* flags, nghttp2_data_source* /*source*/, void* /*arg*/) {
  // The stream's user data is its Stream, cleared when it was taken away.
  auto* s = static_cast<Stream*>(nghttp2_session_get_stream_user_data(session, id));
  if (s == nullptr) {
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  }
  const auto& body = s->request.body;
  const std::size_t n = std::min(length, body.size() - s->body_sent);
  std::copy_n(body.data() + s->body_sent, n, reinterpret_cast<char*>(buf));
  s->body_sent += n;
  if (s->body_sent == body.size()) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
  }
  return static_cast<ssize_t>(n);
}

int Connection::onHeader(nghttp2_session* session, const nghttp2_frame* frame, const uint8_t* name,
                         size_t namelen, const uint8_t* value, size_t valuelen, uint8_t /*flags*/,
                         void* /*arg*/) {
  if (frame->hd.type != NGHTTP2_HEADERS) {
    return 0;
  }
  auto* s =
      static_cast<Stream*>(nghttp2_session_get_stream_user_data(session, frame->hd.stream_id));
  if (s == nullptr) {
    return 0;
  }
  const std::string_view n(reinterpret_cast<const char*>(name), namelen);
  const std::string_view v(reinterpret_cast<const char*>(value), valuelen);
  if (n == ":status") {
    int status = 0;
    for (char c : v) {
      status = std::isdigit(static_cast<unsigned char>(c)) != 0 ? status * 10 + (c - '0') : 0;
    }
    s->response.status = status;
  } else if (s->response.headers.size() < kMaxHeaders) {
    s->response.headers[std::string(n)] = std::string(v);
  }
  return 0;
}

int Connection::onData(nghttp2_session* session, uint8_t /*flags*/, int32_t stream_id,
                       const uint8_t* data, size_t len, void* /*arg*/) {
  auto* s = static_cast<Stream*>(nghttp2_session_get_stream_user_data(session, stream_id));
  if (s != nullptr) {
    auto& body = s->response.body;
    const std::size_t room = Http2Client::kMaxBody - std::min(body.size(), Http2Client::kMaxBody);
    body.append(reinterpret_cast<const char*>(data), std::min(len, room));
  }
  return 0;
}

int Connection::onFrame(nghttp2_session* /*session*/, const nghttp2_frame* frame, void* arg) {
  auto* self = static_cast<Connection*>(arg);
  if (frame->hd.type == NGHTTP2_GOAWAY && !self->closing_ && !self->draining_) {
    // New requests go to a new connection, and so do those not sent yet;
    // streams above last_stream_id are closed REFUSED_STREAM by nghttp2 and
    // move there too (onClose).
    self->draining_ = true;
    self->impl_.retire(self, true);
    auto waiting = std::move(self->waiting_);
    self->waiting_.clear();
    for (auto& s : waiting) {
      self->impl_.dispatch(std::move(s));
    }
  }
  return 0;
}

int Connection::onClose(nghttp2_session* /*session*/, int32_t stream_id, uint32_t error_code,
                        void* arg) {
  auto* self = static_cast<Connection*>(arg);
  auto it = self->streams_.find(stream_id);
  if (it == self->streams_.end()) {
    return 0;
  }
  auto s = std::move(it->second);
  self->streams_.erase(it);
  if (error_code == NGHTTP2_REFUSED_STREAM && s->response.status == 0 && !s->moved) {
    // The peer did not process it: send it again, elsewhere.
    s->moved = true;
    s->id = -1;
    s->body_sent = 0;
    s->response = HttpResponse{};
    self->impl_.dispatch(std::move(s));
  } else if (error_code != NGHTTP2_NO_ERROR && s->response.status == 0) {
    self->impl_.complete(std::move(s),
                         std::string("stream reset: ") + nghttp2_http2_strerror(error_code));
  } else {
    self->impl_.complete(std::move(s));
  }
  return 0;
}

// ---------------------------------------------------------------- Impl

Http2Client::Impl::Impl(event_base* b, Options o) : base(b), options(std::move(o)), timers(b) {
  ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_default_verify_paths(ctx);
  if (!options.ca_file.empty()) {
    SSL_CTX_load_verify_locations(ctx, options.ca_file.c_str(), nullptr);
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  static constexpr unsigned char kAlpn[] = {2, 'h', '2'};
  SSL_CTX_set_alpn_protos(ctx, kAlpn, sizeof kAlpn);
  dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
  ERR_clear_error();
}

Http2Client::Impl::~Impl() {
  current.clear();
  draining.clear();
  doomed.clear();
  for (auto& s : finished) {
    event_free(s->deadline);
  }
  finished.clear();
  if (dns != nullptr) {
    evdns_base_free(dns, 0);
  }
  SSL_CTX_free(ctx);
}

void Http2Client::Impl::dispatch(std::unique_ptr<Stream> stream) {
  auto& slot = current[stream->target.origin];
  if (!slot) {
    auto c = std::make_unique<Connection>(*this, stream->target);
    Connection* raw = c.get();
    slot = std::move(c);
    if (!raw->open()) {
      const std::string origin = stream->target.origin;
      raw->add(std::move(stream));
      raw->fail("cannot connect to " + origin);
      return;
    }
  }
  slot->add(std::move(stream));
}

void Http2Client::Impl::complete(std::unique_ptr<Stream> stream, std::string error) {
  if (!error.empty()) {
    stream->response.status = 0;
    stream->response.error = std::move(error);
  }
  finished.push_back(std::move(stream));
}

void Http2Client::Impl::runFinished() {
  doomed.clear();
  auto done = std::move(finished);
  finished.clear();
  for (auto& s : done) {
    event_free(s->deadline);
    s->deadline = nullptr;
    --live;
    if (s->done) {
      auto callback = std::move(s->done);
      callback(std::move(s->response));
    }
  }
}

void Http2Client::Impl::retire(Connection* c, bool goaway) {
  for (auto it = current.begin(); it != current.end(); ++it) {
    if (it->second.get() == c) {
      if (goaway) {
        draining.push_back(std::move(it->second));
      } else {
        doomed.push_back(std::move(it->second));
      }
      current.erase(it);
      return;
    }
  }
  if (!goaway) {
    for (auto it = draining.begin(); it != draining.end(); ++it) {
      if (it->get() == c) {
        doomed.push_back(std::move(*it));
        draining.erase(it);
        return;
      }
    }
  }
}

void Http2Client::Impl::onDeadline(evutil_socket_t /*fd*/, short /*what*/, void* arg) {
  auto* s = static_cast<Stream*>(arg);
  Impl& impl = *s->owner;
  std::unique_ptr<Stream> owned;
  auto look = [&](Connection* c) {
    if (!owned && c != nullptr) {
      owned = c->take(s);
    }
  };
  for (auto& [origin, c] : impl.current) {
    look(c.get());
  }
  for (auto& c : impl.draining) {
    look(c.get());
  }
  if (owned) {
    std::string why =
        "deadline of " + std::to_string(owned->request.timeout.count()) + " ms passed";
    impl.complete(std::move(owned), std::move(why));
  }
  impl.runFinished();
}

// ---------------------------------------------------------------- client

Http2Client::Http2Client(event_base* base, Options options)
    : impl_(std::make_unique<Impl>(base, std::move(options))) {}

Http2Client::~Http2Client() = default;

void Http2Client::send(HttpRequest request, Done done) {
  Impl& impl = *impl_;
  auto refuse = [&](std::string why) {
    impl.timers.after(std::chrono::milliseconds{0}, [done = std::move(done), why = std::move(why)] {
      HttpResponse response;
      response.error = why;
      if (done) {
        done(std::move(response));
      }
    });
  };
  auto target = parseUrl(request.url);
  if (!target) {
    refuse("not an https URL: " + request.url);
    return;
  }
  if (impl.live >= impl.options.max_in_flight) {
    refuse("too many requests in flight");
    return;
  }
  auto s = std::make_unique<Stream>();
  s->owner = &impl;
  s->target = std::move(*target);
  s->request = std::move(request);
  s->done = std::move(done);
  s->deadline = evtimer_new(impl.base, &Impl::onDeadline, s.get());
  const timeval tv = toTimeval(s->request.timeout);
  evtimer_add(s->deadline, &tv);
  ++impl.live;
  impl.dispatch(std::move(s));
  // A connection that failed at once answered through `finished`.
  if (!impl.finished.empty()) {
    impl.timers.after(std::chrono::milliseconds{0}, [&impl] { impl.runFinished(); });
  }
}

void Http2Client::rotate() {
  std::vector<Connection*> serving;
  for (auto& [origin, c] : impl_->current) {
    serving.push_back(c.get());
  }
  for (Connection* c : serving) {
    c->drain();
  }
  impl_->runFinished();
}

std::size_t Http2Client::inFlight() const { return impl_->live; }

std::uint64_t Http2Client::connectionsOpened() const { return impl_->connections; }

std::uint64_t Http2Client::pingFailures() const { return impl_->ping_failures; }

}  // namespace turnpike::control::push
