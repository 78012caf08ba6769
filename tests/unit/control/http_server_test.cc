// The HTTP/1.1 and WebSocket server on real loopback sockets. The server's
// event loop runs on its own thread; every touch of server objects from the
// test goes through LoopThread::call so it happens on that thread. Clients
// are blocking sockets with receive timeouts: waits are bounded, never timed.

#include <event2/event.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "control/http/http_server.h"
#include "control/http/router.h"
#include "tests/unit/control/http_test_client.h"

namespace turnpike::control::http {
namespace {

using nlohmann::json;
using testing::TestClient;

/// An event_base running on its own thread, with a way to run code there.
class LoopThread {
 public:
  LoopThread() : base_(event_base_new()) {
    if (::pipe(wake_) != 0) {
      std::abort();
    }
    wake_event_ = event_new(base_, wake_[0], EV_READ | EV_PERSIST, &LoopThread::onWake, this);
    event_add(wake_event_, nullptr);
    thread_ = std::thread([this] { event_base_loop(base_, EVLOOP_NO_EXIT_ON_EMPTY); });
  }
  ~LoopThread() {
    call([this] { event_base_loopbreak(base_); });
    thread_.join();
    event_free(wake_event_);
    event_base_free(base_);
    ::close(wake_[0]);
    ::close(wake_[1]);
  }

  [[nodiscard]] event_base* base() const { return base_; }

  /// Runs `task` on the loop thread and returns its result.
  template <typename F>
  auto call(F task) -> decltype(task()) {
    using Result = decltype(task());
    auto packaged = std::make_shared<std::packaged_task<Result()>>(std::move(task));
    std::future<Result> result = packaged->get_future();
    {
      std::lock_guard lock(mutex_);
      tasks_.emplace_back([packaged] { (*packaged)(); });
    }
    const char byte = 1;
    EXPECT_EQ(::write(wake_[1], &byte, 1), 1);
    return result.get();
  }

  /// Polls `predicate` on the loop thread until it holds (at most ~10 s).
  bool waitFor(const std::function<bool()>& predicate) {
    for (int i = 0; i < 1000; ++i) {
      if (call(predicate)) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

 private:
  static void onWake(evutil_socket_t fd, short /*what*/, void* arg) {
    auto& self = *static_cast<LoopThread*>(arg);
    char drain[64];
    (void)::read(fd, drain, sizeof(drain));
    std::deque<std::function<void()>> tasks;
    {
      std::lock_guard lock(self.mutex_);
      tasks.swap(self.tasks_);
    }
    for (auto& task : tasks) {
      task();
    }
  }

  event_base* base_;
  int wake_[2] = {-1, -1};
  event* wake_event_ = nullptr;
  std::thread thread_;
  std::mutex mutex_;
  std::deque<std::function<void()>> tasks_;
};

/// Echoes text; "flood" starts sending server->client until sendText fails.
/// Only touched on the loop thread.
class EchoListener final : public WebSocketListener {
 public:
  explicit EchoListener(event_base* base) : base_(base) {}

  void onOpen(WebSocket& socket) override { open_[socket.id()] = &socket; }
  void onText(WebSocket& socket, std::string_view text) override {
    if (text == "flood") {
      flood_id_ = socket.id();
      scheduleFlood();
      return;
    }
    if (text == "bye") {
      socket.close(1000, "bye");
      // Sending after close() is refused, never a crash.
      after_close_send_ok_ = socket.sendText("late");
      return;
    }
    socket.sendText(std::string(text) + "|" + socket.subject());
  }
  void onClosed(WebSocket& socket) override {
    open_.erase(socket.id());
    ++closed_;
    // The socket stays usable during onClosed; sending is refused.
    late_send_ok_ = socket.sendText("gone");
  }

  std::map<std::uint64_t, WebSocket*> open_;
  int closed_ = 0;
  bool late_send_ok_ = true;
  bool after_close_send_ok_ = true;
  bool flood_refused_ = false;
  std::size_t max_pending_ = 0;
  std::size_t flood_sent_ = 0;

 private:
  void scheduleFlood() {
    const timeval tv{0, 1000};
    event_base_once(base_, -1, EV_TIMEOUT, &EchoListener::onFloodTick, this, &tv);
  }
  static void onFloodTick(evutil_socket_t /*fd*/, short /*what*/, void* arg) {
    auto& self = *static_cast<EchoListener*>(arg);
    const auto it = self.open_.find(self.flood_id_);
    if (it == self.open_.end()) {
      return;
    }
    const std::string message(4096, 'x');
    for (int i = 0; i < 32; ++i) {
      if (!it->second->sendText(message)) {
        self.flood_refused_ = true;
        return;
      }
      ++self.flood_sent_;
      self.max_pending_ = std::max(self.max_pending_, it->second->pendingOutput());
    }
    self.scheduleFlood();
  }

  event_base* base_;
  std::uint64_t flood_id_ = 0;
};

struct SslCtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;

/// A server context with a fresh self-signed certificate for "localhost".
SslCtxPtr makeServerTls() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509_sign(cert, key, EVP_sha256());
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  SSL_CTX_use_certificate(ctx.get(), cert);
  SSL_CTX_use_PrivateKey(ctx.get(), key);
  X509_free(cert);
  EVP_PKEY_free(key);
  return ctx;
}

ServerLimits testLimits() {
  ServerLimits limits;
  limits.max_body = 1024;
  limits.max_header_bytes = 1024;
  limits.max_message = std::size_t{4096} * 2;
  limits.max_output = std::size_t{64} * 1024;
  limits.idle_timeout = std::chrono::seconds(2);
  limits.ping_interval = std::chrono::seconds(1);
  limits.pong_timeout = std::chrono::seconds(1);
  return limits;
}

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override { start(nullptr, testLimits()); }
  void TearDown() override {
    loop_.call([this] {
      server_.reset();
      return 0;
    });
  }

  void start(SSL_CTX* tls, ServerLimits limits) {
    router_.add("GET", "/v1/calls/{callId}", [](const Request& request, const RouteParams& p) {
      Response response;
      response.body = json{{"id", p.at("callId")},
                           {"x", request.queryParam("x")},
                           {"agent", request.header("user-agent")}}
                          .dump();
      return response;
    });
    router_.add("GET", "/v1/calls/active", [](const Request&, const RouteParams&) {
      return Response{200, R"({"active":true})", "application/json", {}};
    });
    router_.add("POST", "/v1/calls", [](const Request& request, const RouteParams&) {
      return Response{201, request.body, "application/json", {{"X-Seen", "1"}}};
    });
    router_.add("GET", "/boom", [](const Request&, const RouteParams&) -> Response {
      throw std::runtime_error("boom");
    });
    router_.addWebSocket("/v1/ws", [this](const Request& request) {
      UpgradeDecision decision;
      if (request.queryParam("token") == "good") {
        decision.listener = listener_.get();
        decision.subject = "alice";
      } else {
        decision.refusal =
            Response{401, R"({"error":{"code":"unauthorized"}})", "application/json", {}};
      }
      return decision;
    });
    loop_.call([this, tls, limits] {
      listener_ = std::make_unique<EchoListener>(loop_.base());
      server_ = std::make_unique<HttpServer>(loop_.base(), router_, limits, tls,
                                             [this](std::string_view pattern, int status) {
                                               answers_.emplace_back(std::string(pattern), status);
                                             });
      std::string error;
      EXPECT_TRUE(server_->listen("127.0.0.1", 0, error)) << error;
      port_ = server_->port();
      return 0;
    });
  }

  std::size_t connections() {
    return loop_.call([this] { return server_->connections(); });
  }

  LoopThread loop_;
  Router router_;
  std::unique_ptr<EchoListener> listener_;
  std::unique_ptr<HttpServer> server_;
  std::vector<std::pair<std::string, int>> answers_;  ///< loop thread only
  std::uint16_t port_ = 0;
};

class WebSocketTest : public HttpServerTest {};

TEST_F(HttpServerTest, RoutesGetWithParamsAndQuery) {
  TestClient client(port_);
  ASSERT_TRUE(client.connected());
  auto response = client.roundTrip(
      "GET /v1/calls/abc?x=1%202&y=2 HTTP/1.1\r\nHost: x\r\nUser-Agent:  test  \r\n\r\n");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->headers["content-type"], "application/json");
  EXPECT_EQ(response->headers["access-control-allow-origin"], "*");
  EXPECT_EQ(response->headers["content-length"], std::to_string(response->body.size()));
  const json body = json::parse(response->body);
  EXPECT_EQ(body["id"], "abc");
  EXPECT_EQ(body["x"], "1 2");
  EXPECT_EQ(body["agent"], "test");

  // An exact segment wins over a parameter.
  response = client.roundTrip("GET /v1/calls/active HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->body, R"({"active":true})");
  const auto answers = loop_.call([this] { return answers_; });
  ASSERT_EQ(answers.size(), 2U);
  EXPECT_EQ(answers[0], (std::pair<std::string, int>{"/v1/calls/{callId}", 200}));
  EXPECT_EQ(answers[1], (std::pair<std::string, int>{"/v1/calls/active", 200}));
}

TEST_F(HttpServerTest, PostsBodyAndKeepsConnectionAlive) {
  TestClient client(port_);
  const std::string body = R"({"callee":"bob"})";
  auto first = client.roundTrip("POST /v1/calls HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                                std::to_string(body.size()) + "\r\n\r\n" + body);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 201);
  EXPECT_EQ(first->body, body);
  EXPECT_EQ(first->headers["x-seen"], "1");
  EXPECT_EQ(first->headers["connection"], "keep-alive");
  // The second request on the same connection; chunked this time.
  auto second = client.roundTrip(
      "POST /v1/calls HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 201);
  EXPECT_EQ(second->body, "abcde");
  EXPECT_EQ(connections(), 1U);
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  TestClient client(port_);
  ASSERT_TRUE(client.send(
      "GET /v1/calls/a HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/calls/b HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto first = client.readResponse();
  auto second = client.readResponse();
  ASSERT_TRUE(first && second);
  EXPECT_EQ(json::parse(first->body)["id"], "a");
  EXPECT_EQ(json::parse(second->body)["id"], "b");
}

TEST_F(HttpServerTest, UnknownPathIs404AndWrongMethodIs405) {
  TestClient client(port_);
  auto missing = client.roundTrip("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(json::parse(missing->body)["error"]["code"], "not_found");
  auto wrong = client.roundTrip("DELETE /v1/calls/abc HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 405);
  EXPECT_EQ(json::parse(wrong->body)["error"]["code"], "method_not_allowed");
  const auto answers = loop_.call([this] { return answers_; });
  ASSERT_EQ(answers.size(), 2U);
  EXPECT_EQ(answers[0], (std::pair<std::string, int>{"unmatched", 404}));
  EXPECT_EQ(answers[1].second, 405);
}

TEST_F(HttpServerTest, HandlerExceptionIs500) {
  TestClient client(port_);
  auto response = client.roundTrip("GET /boom HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 500);
  EXPECT_EQ(json::parse(response->body)["error"]["code"], "internal_error");
  // The connection survives a failed handler.
  EXPECT_TRUE(client.roundTrip("GET /v1/calls/a HTTP/1.1\r\nHost: x\r\n\r\n"));
}

TEST_F(HttpServerTest, BodyOverLimitIs413AndCloses) {
  TestClient client(port_);
  auto response =
      client.roundTrip("POST /v1/calls HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 413);
  EXPECT_EQ(json::parse(response->body)["error"]["code"], "body_too_large");
  EXPECT_EQ(response->headers["connection"], "close");
  EXPECT_TRUE(client.waitClosed());

  // A chunked body is counted as it arrives.
  TestClient chunked(port_);
  std::string request = "POST /v1/calls HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 3; ++i) {
    request += "200\r\n" + std::string(512, 'a') + "\r\n";
  }
  auto refused = chunked.roundTrip(request);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 413);
}

TEST_F(HttpServerTest, HeadersOverLimitAre431) {
  TestClient client(port_);
  auto response = client.roundTrip(
      "GET /v1/calls/a HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(2000, 'b') + "\r\n\r\n");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 431);
  EXPECT_TRUE(client.waitClosed());
}

TEST_F(HttpServerTest, MalformedRequestIs400AndCloses) {
  TestClient client(port_);
  auto response = client.roundTrip("GET /v1/calls/a HTTP/1.1\r\nBad Header\r\n\r\n");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 400);
  EXPECT_EQ(json::parse(response->body)["error"]["code"], "bad_request");
  EXPECT_TRUE(client.waitClosed());
}

TEST_F(HttpServerTest, AnswersCorsPreflight) {
  TestClient client(port_);
  auto response = client.roundTrip(
      "OPTIONS /v1/anything HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example\r\n"
      "Access-Control-Request-Method: POST\r\n\r\n");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 204);
  EXPECT_EQ(response->headers["access-control-allow-origin"], "*");
  EXPECT_EQ(response->headers["access-control-allow-methods"], "GET, POST, DELETE, OPTIONS");
  EXPECT_EQ(response->headers["access-control-allow-headers"],
            "Authorization, Content-Type, Idempotency-Key");
  EXPECT_EQ(response->headers["access-control-max-age"], "600");
}

TEST_F(HttpServerTest, UnfinishedRequestIsClosedWhenIdle) {
  TestClient client(port_);
  ASSERT_TRUE(client.send("GET /v1/calls/a HTTP/1.1\r\nHost: x\r\n"));
  EXPECT_TRUE(client.waitClosed());
  EXPECT_TRUE(loop_.waitFor([this] { return server_->connections() == 0; }));
}

TEST_F(HttpServerTest, ShutdownClosesEverything) {
  TestClient client(port_);
  ASSERT_TRUE(client.roundTrip("GET /v1/calls/a HTTP/1.1\r\nHost: x\r\n\r\n"));
  TestClient ws(port_);
  ASSERT_TRUE(ws.upgrade("/v1/ws?token=good"));
  loop_.call([this] {
    server_->shutdown();
    return 0;
  });
  auto frame = ws.readFrame();
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame->opcode, 0x8);
  EXPECT_EQ(frame->closeCode(), 1001);
  EXPECT_TRUE(client.waitClosed());
  EXPECT_EQ(loop_.call([this] { return listener_->closed_; }), 1);
}

class HttpServerMaxConnectionsTest : public HttpServerTest {
 protected:
  void SetUp() override {
    ServerLimits limits = testLimits();
    limits.max_connections = 1;
    start(nullptr, limits);
  }
};

TEST_F(HttpServerMaxConnectionsTest, ConnectionsBeyondTheLimitAreClosed) {
  TestClient first(port_);
  ASSERT_TRUE(first.roundTrip("GET /v1/calls/a HTTP/1.1\r\nHost: x\r\n\r\n"));
  TestClient second(port_);
  EXPECT_TRUE(second.waitClosed());
  // The first is unaffected.
  EXPECT_TRUE(first.roundTrip("GET /v1/calls/b HTTP/1.1\r\nHost: x\r\n\r\n"));
}

class HttpServerTlsTest : public HttpServerTest {
 protected:
  void SetUp() override {
    server_tls_ = makeServerTls();
    client_tls_.reset(SSL_CTX_new(TLS_client_method()));
    start(server_tls_.get(), testLimits());
  }
  void TearDown() override { HttpServerTest::TearDown(); }
  SslCtxPtr server_tls_;
  SslCtxPtr client_tls_;
};

TEST_F(HttpServerTlsTest, ServesHttpAndWebSocketOverTls) {
  TestClient client(port_);
  ASSERT_TRUE(client.startTls(client_tls_.get()));
  auto response = client.roundTrip("GET /v1/calls/tls HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(response);
  EXPECT_EQ(json::parse(response->body)["id"], "tls");

  TestClient ws(port_);
  ASSERT_TRUE(ws.startTls(client_tls_.get()));
  auto upgraded = ws.upgrade("/v1/ws?token=good");
  ASSERT_TRUE(upgraded);
  EXPECT_EQ(upgraded->status, 101);
  ASSERT_TRUE(ws.sendText("hi"));
  auto frame = ws.readFrame();
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame->payload, "hi|alice");
}

TEST_F(HttpServerTlsTest, PlainBytesOnTlsPortAreDropped) {
  TestClient client(port_);
  ASSERT_TRUE(client.send("GET / HTTP/1.1\r\n\r\n"));
  EXPECT_TRUE(client.waitClosed());
}

TEST_F(WebSocketTest, HandshakeAndEcho) {
  TestClient client(port_);
  auto response = client.upgrade("/v1/ws?token=good");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 101);
  // RFC 6455 §1.3's worked example.
  EXPECT_EQ(response->headers["sec-websocket-accept"], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  EXPECT_EQ(loop_.call([this] { return server_->webSockets(); }), 1U);

  ASSERT_TRUE(client.sendText("hello"));
  auto frame = client.readFrame();
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame->opcode, 0x1);
  EXPECT_EQ(frame->payload, "hello|alice");

  // A fragmented message is delivered whole.
  ASSERT_TRUE(client.sendFrame(0x1, "frag", false));
  ASSERT_TRUE(client.sendFrame(0x0, "ment", true));
  frame = client.readFrame();
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame->payload, "fragment|alice");

  // The closing handshake: our close is answered, then the server hangs up.
  ASSERT_TRUE(client.sendFrame(0x8, std::string("\x03\xe8", 2)));
  frame = client.readFrame();
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame->opcode, 0x8);
  EXPECT_TRUE(client.waitClosed());
  EXPECT_TRUE(loop_.waitFor([this] { return listener_->closed_ == 1; }));
  EXPECT_FALSE(loop_.call([this] { return listener_->late_send_ok_; }));
  EXPECT_EQ(loop_.call([this] { return server_->webSockets(); }), 0U);
}

TEST_F(WebSocketTest, CloseFromInsideOnText) {
  TestClient client(port_);
  ASSERT_TRUE(client.upgrade("/v1/ws?token=good"));
  ASSERT_TRUE(client.sendText("bye"));
  auto frame = client.readFrame();
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame->opcode, 0x8);
  EXPECT_EQ(frame->closeCode(), 1000);
  ASSERT_TRUE(client.sendFrame(0x8, std::string("\x03\xe8", 2)));
  EXPECT_TRUE(client.waitClosed());
  EXPECT_TRUE(loop_.waitFor([this] { return listener_->closed_ == 1; }));
  EXPECT_FALSE(loop_.call([this] { return listener_->after_close_send_ok_; }));
}

TEST_F(WebSocketTest, RefusedUpgradeGetsTheRefusal) {
  TestClient client(port_);
  auto response = client.upgrade("/v1/ws?token=bad");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 401);
  EXPECT_EQ(json::parse(response->body)["error"]["code"], "unauthorized");
  EXPECT_TRUE(client.waitClosed());

  TestClient old_version(port_);
  auto refused = old_version.roundTrip(
      "GET /v1/ws?token=good HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 426);
  EXPECT_EQ(refused->headers["sec-websocket-version"], "13");
}

TEST_F(WebSocketTest, InvalidUtf8BinaryAndOversizeAreClosed) {
  struct Case {
    std::uint8_t opcode;
    std::string payload;
    std::uint16_t code;
  };
  const std::vector<Case> cases = {
      {0x1, "bad \xc3\x28 utf8", 1007},
      {0x1, "surrogate \xed\xa0\x80", 1007},
      {0x2, "binary", 1003},
      {0x1, std::string(std::size_t{4096} * 2 + 1, 'a'), 1009},
  };
  for (const Case& c : cases) {
    TestClient client(port_);
    ASSERT_TRUE(client.upgrade("/v1/ws?token=good"));
    ASSERT_TRUE(client.sendFrame(c.opcode, c.payload));
    auto frame = client.readFrame();
    ASSERT_TRUE(frame) << c.code;
    EXPECT_EQ(frame->opcode, 0x8);
    EXPECT_EQ(frame->closeCode(), c.code);
    EXPECT_TRUE(client.waitClosed());
  }
  EXPECT_TRUE(loop_.waitFor([this] { return listener_->closed_ == 4; }));
}

TEST_F(WebSocketTest, ClientThatNeverReadsIsClosedWithBoundedOutput) {
  TestClient client(port_, /*receive_buffer=*/4096);
  ASSERT_TRUE(client.upgrade("/v1/ws?token=good"));
  ASSERT_TRUE(client.sendText("flood"));
  // The client reads nothing now; the server must give up on it.
  ASSERT_TRUE(loop_.waitFor([this] { return listener_->flood_refused_; }));
  EXPECT_TRUE(loop_.waitFor([this] { return listener_->closed_ == 1; }));
  const std::size_t max_pending = loop_.call([this] { return listener_->max_pending_; });
  EXPECT_LE(max_pending, testLimits().max_output);
  EXPECT_GT(loop_.call([this] { return listener_->flood_sent_; }), 0U);
  EXPECT_TRUE(loop_.waitFor([this] { return server_->connections() == 0; }));
  EXPECT_TRUE(client.waitClosed());
}

TEST_F(WebSocketTest, UnansweredPingCloses) {
  TestClient client(port_);
  ASSERT_TRUE(client.upgrade("/v1/ws?token=good"));
  // Idle: the server pings; this client never answers.
  auto frame = client.readFrame();
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame->opcode, 0x9);
  EXPECT_TRUE(client.waitClosed());
  EXPECT_TRUE(loop_.waitFor([this] { return listener_->closed_ == 1; }));
}

TEST_F(WebSocketTest, AnsweredPingKeepsConnectionOpen) {
  TestClient client(port_);
  ASSERT_TRUE(client.upgrade("/v1/ws?token=good"));
  for (int i = 0; i < 2; ++i) {
    auto frame = client.readFrame();
    ASSERT_TRUE(frame);
    ASSERT_EQ(frame->opcode, 0x9);
    ASSERT_TRUE(client.sendFrame(0xA, frame->payload));
  }
  ASSERT_TRUE(client.sendText("still here"));
  auto frame = client.readFrame();
  while (frame && frame->opcode == 0x9) {
    frame = client.readFrame();
  }
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame->payload, "still here|alice");
}

}  // namespace
}  // namespace turnpike::control::http
