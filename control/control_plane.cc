#include "control/control_plane.h"

#include <event2/event.h>
#include <openssl/rand.h>

#include <spdlog/spdlog.h>

#include <unistd.h>

#include <future>

#include "conf/text_file.h"
#include "control/api/api_error.h"
#include "control/api/call_api.h"
#include "control/call_service.h"
#include "control/cluster/redis_peers.h"
#include "control/control_loop.h"
#include "control/http/http_server.h"
#include "control/push/push_sender.h"
#include "control/store/redis_store.h"
#include "control/store/sqlite_store.h"
#include "control/tokens/user_tokens.h"
#include "relay/base/clock.h"

namespace turnpike::control {
namespace {

constexpr const char* kCallTokenKeySetting = "call_token_signing_key";
constexpr const char* kTurnSecretSetting = "turn_secret";
constexpr timeval kTickInterval{0, 100'000};
constexpr int kExpireEveryTicks = 6000;  // ten minutes of ticks

std::string randomHex(std::size_t bytes) {
  std::vector<unsigned char> b(bytes);
  RAND_bytes(b.data(), static_cast<int>(b.size()));
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : b) {
    out += kHex[c >> 4];
    out += kHex[c & 0xF];
  }
  return out;
}

std::optional<tokens::SigningKey> signingKey(const conf::Config& config, CallStore& store,
                                             std::string& error) {
  if (!config.call_tokens.signing_key.empty()) {
    const auto pem = conf::readTextFile(config.call_tokens.signing_key);
    if (!pem) {
      error = "call_tokens.signing_key: cannot read " + config.call_tokens.signing_key;
      return std::nullopt;
    }
    auto key = tokens::SigningKey::fromPem(*pem, error);
    if (!key) {
      error = "call_tokens.signing_key: " + error;
    }
    return key;
  }
  if (auto kept = store.setting(kCallTokenKeySetting)) {
    if (auto key = tokens::SigningKey::fromPem(*kept, error)) {
      return key;
    }
    error = "the call-token key kept in the store is unusable: " + error;
    return std::nullopt;
  }
  auto key = tokens::SigningKey::generateEs256();
  // Several nodes may start at once: the first key stored wins, and every
  // node uses the one the store kept.
  const auto kept = store.putSetting(kCallTokenKeySetting, key.toPem())
                        ? store.setting(kCallTokenKeySetting)
                        : std::nullopt;
  if (!kept) {
    error = "cannot keep the generated call-token key in the store";
    return std::nullopt;
  }
  if (*kept != key.toPem()) {
    return tokens::SigningKey::fromPem(*kept, error);
  }
  spdlog::info("call tokens: generated an ES256 key (kid {}) and kept it in the store", key.kid());
  return key;
}

std::string nodeName(const conf::Config& config) {
  if (!config.node.name.empty()) {
    return config.node.name;
  }
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return host;
}

}  // namespace

struct ControlPlane::Impl {
  const conf::Config config;
  SteadyClock clock;
  ControlStats stats;
  std::unique_ptr<RedisConnection> redis;  ///< store.backend: redis
  std::unique_ptr<CallStore> store;
  std::unique_ptr<cluster::RedisPeers> peers;
  std::function<cluster::NodeLoad()> load;
  std::string turn_secret;
  std::vector<Revocation> revocations;
  std::optional<tokens::SigningKey> signing_key;
  std::vector<tokens::VerifyKey> verify_keys;
  std::optional<tokens::UserTokenVerifier> users;
  ControlLoop loop;
  std::unique_ptr<CallService> service;
  push::PushCredentials push_credentials;
  std::unique_ptr<push::PushSender> push;
  std::unique_ptr<api::CallApi> api;
  http::Router router;
  std::unique_ptr<http::HttpServer> server;
  event* tick = nullptr;
  int ticks = 0;

  explicit Impl(const conf::Config& c) : config(c) {}
  ~Impl() {
    if (tick != nullptr) {
      event_free(tick);
    }
  }

  static void onTick(evutil_socket_t /*fd*/, short /*what*/, void* arg) {
    auto* self = static_cast<Impl*>(arg);
    try {
      self->service->tick();
      if (self->peers) {
        self->stats.store_up = self->peers->ready() ? 1 : 0;
        self->stats.remote_changes_dropped = self->peers->messagesDropped();
      }
      if (++self->ticks % kExpireEveryTicks == 0) {
        self->service->expireStored();
      }
    } catch (const std::exception& e) {
      spdlog::error("control: timers failed: {}", e.what());
    }
  }
};

ControlPlane::ControlPlane(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ControlPlane::~ControlPlane() { stop(); }

std::unique_ptr<ControlPlane> ControlPlane::open(const conf::Config& config, std::string& error) {
  auto impl = std::make_unique<Impl>(config);
  if (config.store.backend == conf::StoreBackend::Redis) {
    RedisConnection::Settings redis;
    redis.host = config.redis.address->ip;
    redis.port = config.redis.address->port;
    redis.password = config.redis.password;
    redis.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(config.redis.timeout);
    impl->redis = std::make_unique<RedisConnection>(redis, impl->clock);
    if (!impl->redis->ping(error)) {
      error = "store.redis.address " + config.redis.address->toString() + ": " + error;
      return nullptr;
    }
    impl->store = std::make_unique<RedisStore>(*impl->redis, nodeName(config));
  } else {
    impl->store = SqliteStore::open(config.store.sqlite_path, error);
    if (!impl->store) {
      error = "store.sqlite.path: " + error;
      return nullptr;
    }
  }
  impl->signing_key = signingKey(config, *impl->store, error);
  if (!impl->signing_key) {
    return nullptr;
  }
  for (std::size_t i = 0; i < config.call_tokens.verify_keys.size(); ++i) {
    const auto& path = config.call_tokens.verify_keys[i];
    const auto pem = conf::readTextFile(path);
    auto key = pem ? tokens::VerifyKey::fromPem(*pem, error) : std::nullopt;
    if (!key) {
      const std::string why = pem ? error : "cannot read " + path;
      error = "call_tokens.verify_keys[" + std::to_string(i) + "]: ";
      error += why;
      return nullptr;
    }
    impl->verify_keys.push_back(std::move(*key));
  }
  if (!config.auth.rest_secrets.empty()) {
    impl->turn_secret = config.auth.rest_secrets.front();
  } else if (auto kept = impl->store->setting(kTurnSecretSetting)) {
    impl->turn_secret = *kept;
  } else {
    impl->store->putSetting(kTurnSecretSetting, randomHex(32));
    auto stored = impl->store->setting(kTurnSecretSetting);  // the first node's, with several
    if (!stored) {
      error = "store: cannot keep the generated TURN secret";
      return nullptr;
    }
    impl->turn_secret = *stored;
  }
  tokens::UserTokenSettings users;
  users.hs256_secrets = config.api.user_tokens.hs256_secrets;
  users.issuer = config.api.user_tokens.issuer;
  users.audience = config.api.user_tokens.audience;
  for (std::size_t i = 0; i < config.api.user_tokens.public_keys.size(); ++i) {
    const auto& path = config.api.user_tokens.public_keys[i];
    const auto pem = conf::readTextFile(path);
    if (!pem) {
      error = "api.user_tokens.public_keys[" + std::to_string(i) + "]: cannot read " + path;
      return nullptr;
    }
    users.public_key_pems.push_back(*pem);
  }
  impl->users = tokens::UserTokenVerifier::create(users, error);
  if (!impl->users) {
    error = "api.user_tokens: " + error;
    return nullptr;
  }
  if (!impl->users->configured()) {
    spdlog::warn(
        "api: no user-token key configured (api.user_tokens.hs256_secrets or public_keys): every "
        "/v1 request is refused with 401 until one is");
  }
  std::vector<conf::ConfigError> push_errors;
  impl->push_credentials = push::PushCredentials::load(config.push, push_errors);
  if (!push_errors.empty()) {
    error = push_errors.front().toString();
    return nullptr;
  }
  CallService::Settings settings;
  settings.calls = config.calls;
  settings.turn_ttl = std::chrono::duration_cast<std::chrono::seconds>(config.call_tokens.turn_ttl);
  settings.turn_secret = impl->turn_secret;
  std::vector<tokens::VerifyKey> accepted = impl->verify_keys;
  impl->service = std::make_unique<CallService>(
      settings, impl->clock, *impl->store,
      tokens::CallTokenIssuer(
          *impl->signing_key, std::move(accepted),
          std::chrono::duration_cast<std::chrono::seconds>(config.call_tokens.ttl)),
      nullptr, impl->stats);
  if (!impl->service->restore(error, impl->revocations)) {
    error = "store: " + error;
    return nullptr;
  }
  return std::unique_ptr<ControlPlane>(new ControlPlane(std::move(impl)));
}

const std::string& ControlPlane::turnSecret() const { return impl_->turn_secret; }
const std::vector<Revocation>& ControlPlane::revocations() const { return impl_->revocations; }
const ControlStats& ControlPlane::stats() const { return impl_->stats; }

bool ControlPlane::start(RelayPort& relay, ssl_ctx_st* tls, std::vector<std::string> turn_uris,
                         std::string& error) {
  Impl& m = *impl_;
  if (m.redis) {
    cluster::NodeInfo self;
    self.name = nodeName(m.config);
    self.region = m.config.node.region;
    self.turn_uris = turn_uris;
    cluster::RedisPeers::Hooks hooks;
    CallService* service = m.service.get();
    hooks.change = [service, &m](const ChangeMessage& change) {
      ++m.stats.remote_changes;
      service->applyRemote(change);
    };
    hooks.catch_up = [service] { return service->catchUp(); };
    hooks.load = [&m] { return m.load ? m.load() : cluster::NodeLoad{}; };
    m.peers = std::make_unique<cluster::RedisPeers>(m.loop.base(), *m.redis, m.clock,
                                                    std::move(self), std::move(hooks));
    m.service->attachPeers(m.peers.get());
  }
  m.service->attach(&relay, std::move(turn_uris));
  if (m.config.push.apns.enabled() || m.config.push.fcm.enabled()) {
    push::PushSender::Hooks hooks;
    CallService* service = m.service.get();
    hooks.still_ringing = [service](const std::string& call_id, const DeviceKey& device) {
      return service->stillRinging(call_id, device);
    };
    hooks.report = [service, &m](const push::PushReport& report) {
      m.stats.push_in_flight = m.push->jobsInProgress();
      m.stats.push_connections = m.push->connectionsOpened();
      m.stats.push_ping_failures = m.push->pingFailures();
      service->pushReport(report);
    };
    hooks.new_id = [] { return randomUuid(); };
    m.push = std::make_unique<push::PushSender>(m.loop.base(), m.clock, m.config.push,
                                                std::move(m.push_credentials), std::move(hooks));
    m.service->attachPush(m.push.get());
    spdlog::info("push: {}{}", m.config.push.apns.enabled() ? "APNs (token auth) " : "",
                 m.config.push.fcm.enabled() ? "FCM HTTP v1" : "");
  }
  m.api = std::make_unique<api::CallApi>(*m.service, *m.users, m.clock, m.stats);
  m.api->addRoutes(m.router);
  http::ServerLimits limits;
  limits.max_body = m.config.api.max_body;
  limits.max_connections = m.config.api.max_connections;
  m.server = std::make_unique<http::HttpServer>(
      m.loop.base(), m.router, limits, m.config.api.tls ? tls : nullptr,
      [&stats = m.stats](std::string_view route, int status) {
        stats.countRequest(route, status);
      });
  for (const auto& endpoint : m.config.api.listen) {
    if (!m.server->listen(endpoint.ip, endpoint.port, error)) {
      error.insert(0, "api.listen " + endpoint.toString() + ": ");
      return false;
    }
  }
  if (m.peers) {
    m.peers->start();
    spdlog::info("store: redis {}:{}, node {} in region \"{}\"", m.config.redis.address->ip,
                 m.config.redis.address->port, m.peers->nodeName(), m.config.node.region);
  }
  m.tick = event_new(m.loop.base(), -1, EV_PERSIST, &Impl::onTick, &m);
  event_add(m.tick, &kTickInterval);
  m.loop.start();
  return true;
}

void ControlPlane::setNodeLoad(std::function<cluster::NodeLoad()> load) {
  impl_->load = std::move(load);
}

std::vector<std::uint16_t> ControlPlane::ports() const {
  std::vector<std::uint16_t> out;
  if (impl_->server) {
    for (std::size_t i = 0; i < impl_->config.api.listen.size(); ++i) {
      out.push_back(impl_->server->port(i));
    }
  }
  return out;
}

void ControlPlane::noteAllocation(const std::string& call_id, std::string what,
                                  nlohmann::json detail) {
  post([this, call_id, what = std::move(what), detail = std::move(detail)]() mutable {
    impl_->service->noteAllocation(call_id, what, std::move(detail));
  });
}

std::optional<nlohmann::json> ControlPlane::adminCall(const std::string& call_id) {
  auto answer = std::make_shared<std::promise<nlohmann::json>>();
  auto future = answer->get_future();
  post([this, call_id, answer] {
    const auto a = impl_->service->adminCall(call_id);
    answer->set_value(a.error_code.empty() ? a.body : nlohmann::json());
  });
  if (future.wait_for(std::chrono::seconds{2}) != std::future_status::ready) {
    return std::nullopt;
  }
  return future.get();
}

bool ControlPlane::reloadPush(const conf::PushConfig& push, std::string& error) {
  std::vector<conf::ConfigError> errors;
  auto credentials = push::PushCredentials::load(push, errors);
  if (!errors.empty()) {
    error = errors.front().toString();
    return false;
  }
  auto shared = std::make_shared<push::PushCredentials>(std::move(credentials));
  post([this, push, shared] {
    if (impl_->push) {
      impl_->push->reload(push, std::move(*shared));
    } else if (push.apns.enabled() || push.fcm.enabled()) {
      spdlog::warn("push: configured by a reload; takes effect after a restart");
    }
  });
  return true;
}

void ControlPlane::post(std::function<void()> task) { impl_->loop.post(std::move(task)); }

void ControlPlane::stop() {
  if (!impl_) {
    return;
  }
  // The loop's thread is joined first: the server is then only touched here.
  impl_->loop.stop();
  if (impl_->service) {
    impl_->service->attachPush(nullptr);
    impl_->service->attachPeers(nullptr);
  }
  if (impl_->peers) {
    impl_->peers->stop();
    impl_->peers.reset();
  }
  impl_->push.reset();
  if (impl_->server) {
    impl_->server->shutdown();
    impl_->server.reset();
  }
}

}  // namespace turnpike::control
