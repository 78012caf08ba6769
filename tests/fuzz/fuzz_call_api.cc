// The call API's request bodies and WebSocket messages, through the real
// routes, state machine and an in-memory SQLite store: any bytes get an
// answer (a 4xx with a JSON error at worst), never a crash or a leak.

#include <openssl/hmac.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "control/api/call_api.h"
#include "control/call_service.h"
#include "control/store/sqlite_store.h"
#include "control/tokens/jwt.h"

namespace {

using namespace turnpike;
using namespace turnpike::control;

constexpr const char* kSecret = "fuzz-user-secret-0123456789";

class FixedClock final : public Clock {
 public:
  [[nodiscard]] TimePoint now() const override { return TimePoint{} + elapsed_; }
  [[nodiscard]] std::chrono::seconds unixTime() const override {
    return std::chrono::seconds{1'800'000'000} +
           std::chrono::duration_cast<std::chrono::seconds>(elapsed_);
  }
  [[nodiscard]] std::chrono::milliseconds unixMillis() const override {
    return std::chrono::milliseconds{1'800'000'000'000} +
           std::chrono::duration_cast<std::chrono::milliseconds>(elapsed_);
  }
  void advance(Duration d) { elapsed_ += d; }

 private:
  Duration elapsed_{0};
};

class FakeSocket final : public http::WebSocket {
 public:
  FakeSocket(std::uint64_t id, std::string user) : id_(id), user_(std::move(user)) {}
  bool sendText(std::string_view text) override {
    sent_ += text.size();
    return true;
  }
  void close(std::uint16_t, std::string_view) override {}
  [[nodiscard]] std::uint64_t id() const override { return id_; }
  [[nodiscard]] std::size_t pendingOutput() const override { return 0; }
  [[nodiscard]] const std::string& subject() const override { return user_; }

 private:
  std::uint64_t id_;
  std::string user_;
  std::size_t sent_ = 0;
};

std::string userToken(const std::string& user) {
  const nlohmann::json header{{"alg", "HS256"}, {"typ", "JWT"}};
  const nlohmann::json claims{{"sub", user}, {"exp", 1'900'000'000}};
  const std::string input =
      tokens::base64UrlEncode(header.dump()) + "." + tokens::base64UrlEncode(claims.dump());
  unsigned char mac[32];
  unsigned int length = 0;
  HMAC(EVP_sha256(), kSecret, static_cast<int>(std::string_view(kSecret).size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &length);
  return input + "." +
         tokens::base64UrlEncode(std::string_view(reinterpret_cast<const char*>(mac), length));
}

struct World {
  FixedClock clock;
  ControlStats stats;
  std::unique_ptr<SqliteStore> store;
  std::optional<tokens::UserTokenVerifier> users;
  std::unique_ptr<CallService> service;
  std::unique_ptr<api::CallApi> api;
  http::Router router;
  FakeSocket alice_socket{1, "alice"};
  FakeSocket bob_socket{2, "bob"};
  std::string alice = "Bearer " + userToken("alice");
  std::string bob = "Bearer " + userToken("bob");
  std::string call_id;

  World() {
    std::string error;
    store = SqliteStore::open(":memory:", error);
    tokens::UserTokenSettings settings;
    settings.hs256_secrets = {kSecret};
    users = tokens::UserTokenVerifier::create(settings, error);
    CallService::Settings s;
    s.turn_secret = "turn-secret";
    service = std::make_unique<CallService>(
        s, clock, *store,
        tokens::CallTokenIssuer(tokens::SigningKey::generateEs256(), {}, std::chrono::seconds{120}),
        nullptr, stats);
    api = std::make_unique<api::CallApi>(*service, *users, clock, stats);
    api->addRoutes(router);
    for (const auto* user : {"alice", "bob"}) {
      Device d;
      d.key = {user, std::string(user) + "-phone"};
      service->registerDevice(d);
    }
    service->hello(alice_socket, {"alice", "alice-phone"}, true);
    service->hello(bob_socket, {"bob", "bob-phone"}, true);
    CreateRequest r;
    r.caller = {"alice", "alice-phone"};
    r.callees = {"bob"};
    const auto created = service->createCall(r, "");
    call_id = created.body["call"]["callId"].get<std::string>();
  }
};

constexpr const char* kRoutes[][2] = {
    {"POST", "/v1/devices/register"},
    {"POST", "/v1/devices/heartbeat"},
    {"GET", "/v1/devices"},
    {"DELETE", "/v1/devices/bob-tablet"},
    {"POST", "/v1/calls"},
    {"GET", "/v1/calls/{id}"},
    {"POST", "/v1/calls/{id}/ringing"},
    {"POST", "/v1/calls/{id}/accept"},
    {"POST", "/v1/calls/{id}/decline"},
    {"POST", "/v1/calls/{id}/connected"},
    {"POST", "/v1/calls/{id}/end"},
    {"POST", "/v1/calls/{id}/sdp"},
    {"POST", "/v1/calls/{id}/ice"},
    {"POST", "/v1/turn/credentials"},
};
constexpr std::size_t kRouteCount = sizeof kRoutes / sizeof kRoutes[0];

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static std::unique_ptr<World> world;
  static int runs = 0;
  // A fresh world now and then keeps the store and the call book small.
  if (!world || ++runs % 2000 == 0) {
    world = std::make_unique<World>();
  }
  if (size < 1) {
    return 0;
  }
  World& w = *world;
  const std::uint8_t selector = data[0];
  const std::string body(reinterpret_cast<const char*>(data + 1), size - 1);
  const bool as_bob = (selector & 0x80) != 0;
  if ((selector & 0x7F) >= kRouteCount) {
    w.api->onText(as_bob ? w.bob_socket : w.alice_socket, body);
    return 0;
  }
  const auto& route = kRoutes[(selector & 0x7F) % kRouteCount];
  http::Request request;
  request.method = route[0];
  request.path = route[1];
  if (const auto at = request.path.find("{id}"); at != std::string::npos) {
    request.path.replace(at, 4, w.call_id);
  }
  request.headers.emplace_back("authorization", as_bob ? w.bob : w.alice);
  request.body = body;
  const auto match = w.router.match(request.method, request.path, false);
  if (match.handler != nullptr) {
    (void)(*match.handler)(request, match.params);
  }
  w.clock.advance(std::chrono::milliseconds{10});
  w.service->tick();
  return 0;
}
