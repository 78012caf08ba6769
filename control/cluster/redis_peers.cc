#include "control/cluster/redis_peers.h"

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <spdlog/spdlog.h>

#include "control/store/redis_store.h"

namespace turnpike::control::cluster {
namespace {

constexpr timeval kSecond{1, 0};
/// Announcements older than this are deleted by whoever reads them.
constexpr std::chrono::milliseconds kForgetNodeAfter{60'000};
/// Nodes remembered as heard from, at most (names come from the store).
constexpr std::size_t kMaxNodes = 10'000;

// ARGV[1]: the device's field; ARGV[2]: its socket (empty: gone);
// ARGV[3]: this node; ARGV[4]: the message for the other nodes.
constexpr const char* kPresenceScript = R"lua(
if ARGV[2] ~= '' then
  redis.call('HSET', 'tp:presence', ARGV[1], ARGV[2])
else
  local current = redis.call('HGET', 'tp:presence', ARGV[1])
  if current and cjson.decode(current).node == ARGV[3] then
    redis.call('HDEL', 'tp:presence', ARGV[1])
  end
end
redis.call('PUBLISH', 'tp:changes', ARGV[4])
return 'ok'
)lua";

// ARGV[1]: a node whose sockets are all gone (it stopped or restarted).
constexpr const char* kForgetSocketsScript = R"lua(
local all = redis.call('HGETALL', 'tp:presence')
for i = 1, #all, 2 do
  if cjson.decode(all[i + 1]).node == ARGV[1] then
    redis.call('HDEL', 'tp:presence', all[i])
  end
end
return 'ok'
)lua";

std::string text(const redisReply* r) {
  return r != nullptr && r->type == REDIS_REPLY_STRING ? std::string(r->str, r->len)
                                                       : std::string();
}

}  // namespace

RedisPeers::RedisPeers(event_base* base, RedisConnection& redis, const Clock& clock, NodeInfo self,
                       Hooks hooks)
    : base_(base), redis_(redis), clock_(clock), self_(std::move(self)), hooks_(std::move(hooks)) {}

RedisPeers::~RedisPeers() {
  if (timer_ != nullptr) {
    event_free(timer_);
  }
  if (subscriber_ != nullptr) {
    subscriber_->data = nullptr;
    redisAsyncFree(subscriber_);
  }
}

void RedisPeers::start() {
  std::string error;
  redis_.eval(kForgetSocketsScript, {self_.name}, error);
  timer_ = event_new(base_, -1, EV_PERSIST, &RedisPeers::onTimer, this);
  event_add(timer_, &kSecond);
  subscribe();
  second();
}

void RedisPeers::stop() {
  if (timer_ != nullptr) {
    event_del(timer_);
  }
  std::string error;
  redis_.command({"HDEL", "tp:nodes", self_.name}, error);
  redis_.eval(kForgetSocketsScript, {self_.name}, error);
}

void RedisPeers::onTimer(int /*fd*/, short /*what*/, void* arg) {
  auto* self = static_cast<RedisPeers*>(arg);
  try {
    self->second();
  } catch (const std::exception& e) {
    spdlog::error("cluster: {}", e.what());
  }
}

void RedisPeers::second() {
  if (subscriber_ == nullptr) {
    subscribe();
  }
  announce();
  readNodes();
  if (subscribed_ && behind_ && hooks_.catch_up()) {
    behind_ = false;
    spdlog::info("cluster: caught up with the store; {} nodes alive", nodes_.size());
  }
}

void RedisPeers::subscribe() {
  const auto& s = redis_.settings();
  subscriber_ = redisAsyncConnect(s.host.c_str(), s.port);
  if (subscriber_ == nullptr) {
    return;
  }
  if (subscriber_->err != 0) {
    redisAsyncFree(subscriber_);
    subscriber_ = nullptr;
    return;
  }
  subscriber_->data = this;
  redisLibeventAttach(subscriber_, base_);
  redisAsyncSetConnectCallback(subscriber_, &RedisPeers::onConnect);
  redisAsyncSetDisconnectCallback(subscriber_, &RedisPeers::onDisconnect);
  if (!s.password.empty()) {
    redisAsyncCommand(subscriber_, nullptr, nullptr, "AUTH %b", s.password.data(),
                      s.password.size());
  }
  redisAsyncCommand(subscriber_, &RedisPeers::onMessage, this, "SUBSCRIBE %s",
                    RedisStore::kChannel);
}

void RedisPeers::onConnect(const redisAsyncContext* context, int status) {
  if (status != REDIS_OK && context->data != nullptr) {
    // hiredis frees the context after this callback.
    auto* self = static_cast<RedisPeers*>(context->data);
    self->subscriber_ = nullptr;
    self->subscribed_ = false;
  }
}

void RedisPeers::onDisconnect(const redisAsyncContext* context, int /*status*/) {
  if (context->data == nullptr) {
    return;
  }
  auto* self = static_cast<RedisPeers*>(context->data);
  if (self->subscribed_) {
    spdlog::warn("cluster: lost the subscription to {}; API answers 503 until it is back",
                 RedisStore::kChannel);
  }
  self->subscriber_ = nullptr;
  self->subscribed_ = false;
  self->behind_ = true;
}

void RedisPeers::onMessage(redisAsyncContext* /*context*/, void* reply, void* arg) {
  auto* self = static_cast<RedisPeers*>(arg);
  const auto* r = static_cast<redisReply*>(reply);
  if (self == nullptr || r == nullptr || r->type != REDIS_REPLY_ARRAY || r->elements != 3) {
    return;
  }
  const std::string kind = text(r->element[0]);
  if (kind == "subscribe") {
    self->subscribed_ = true;
    self->behind_ = true;
    if (self->hooks_.catch_up()) {
      self->behind_ = false;
    }
    return;
  }
  if (kind != "message") {
    return;
  }
  try {
    auto message = parseChangeMessage(text(r->element[2]));
    if (!message) {
      ++self->dropped_;
      return;
    }
    if (message->node != self->self_.name) {
      if (self->heard_.size() < kMaxNodes || self->heard_.count(message->node) != 0) {
        self->heard_[message->node] = self->clock_.unixMillis();
      }
      self->hooks_.change(*message);
    }
  } catch (const std::exception& e) {
    ++self->dropped_;
    spdlog::error("cluster: a change from another node failed: {}", e.what());
  }
}

void RedisPeers::announce() {
  const NodeLoad load = hooks_.load ? hooks_.load() : NodeLoad{};
  const auto bytes = load.relayed_bytes;
  self_.relayed_bps = bytes >= last_bytes_ ? (bytes - last_bytes_) * 8 : 0;
  last_bytes_ = bytes;
  self_.allocations = load.allocations;
  self_.draining = load.draining;
  self_.seen_at = clock_.unixMillis();
  std::string error;
  redis_.command({"HSET", "tp:nodes", self_.name, self_.toJson()}, error);
}

void RedisPeers::readNodes() {
  std::string error;
  auto all = redis_.command({"HGETALL", "tp:nodes"}, error);
  if (!all) {
    return;
  }
  const auto now = clock_.unixMillis();
  std::vector<NodeInfo> nodes;
  for (std::size_t i = 1; i < all->elements; i += 2) {
    auto node = NodeInfo::fromJson(text(all->element[i]));
    if (!node) {
      continue;
    }
    if (now - node->seen_at > kForgetNodeAfter) {
      redis_.command({"HDEL", "tp:nodes", node->name}, error);
      continue;
    }
    nodes.push_back(std::move(*node));
  }
  nodes_ = std::move(nodes);
  std::erase_if(heard_, [now](const auto& h) { return now - h.second > kNodeTtl; });
}

void RedisPeers::presence(const DeviceKey& device, bool online, bool foreground) {
  const ChangeMessage::PresenceChange change{device, online, foreground};
  const std::string value =
      online ? nlohmann::json{{"node", self_.name},
                              {"user", device.user_id},
                              {"device", device.device_id},
                              {"foreground", foreground}}
                   .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
             : std::string();
  std::string error;
  redis_.eval(kPresenceScript,
              {deviceField(device), value, self_.name, presenceMessage(self_.name, change)}, error);
}

bool RedisPeers::remoteSockets(std::vector<RemoteSocket>& out) {
  std::string error;
  auto all = redis_.command({"HGETALL", "tp:presence"}, error);
  if (!all) {
    return false;
  }
  for (std::size_t i = 1; i < all->elements; i += 2) {
    const auto j = nlohmann::json::parse(text(all->element[i]), nullptr, false);
    if (!j.is_object() || !j.contains("node") || !j["node"].is_string()) {
      continue;
    }
    RemoteSocket s{{j.value("user", ""), j.value("device", "")},
                   j["node"].get<std::string>(),
                   j.value("foreground", true)};
    if (s.node != self_.name && nodeAlive(s.node)) {
      out.push_back(std::move(s));
    }
  }
  return true;
}

bool RedisPeers::nodeAlive(const std::string& node) const {
  const auto now = clock_.unixMillis();
  const auto heard = heard_.find(node);
  if (heard != heard_.end() && now - heard->second <= kNodeTtl) {
    return true;
  }
  for (const auto& n : nodes_) {
    if (n.name == node) {
      return now - n.seen_at <= kNodeTtl;
    }
  }
  return false;
}

std::vector<std::string> RedisPeers::turnUris(std::string_view region) const {
  auto uris = orderedUris(nodes_, region.empty() ? self_.region : region, clock_.unixMillis());
  if (uris.empty()) {
    // Alone, or the directory is unreadable: this node's own.
    return self_.turn_uris;
  }
  return uris;
}

}  // namespace turnpike::control::cluster
