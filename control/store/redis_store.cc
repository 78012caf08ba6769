#include "control/store/redis_store.h"

#include <hiredis/hiredis.h>

#include "control/store/change_message.h"

namespace turnpike::control {
namespace {

// ARGV[1]: what to write (JSON); ARGV[2]: the message to publish (empty:
// none); ARGV[3]: seconds ended calls are kept.
constexpr const char* kCommitScript = R"lua(
local plan = cjson.decode(ARGV[1])
for _, c in ipairs(plan.calls) do
  local v = tonumber(redis.call('HGET', 'tp:call:' .. c.id, 'v') or '0')
  if v ~= c.expect then return {'conflict', c.id} end
end
local ttl = tonumber(ARGV[3])
for _, c in ipairs(plan.calls) do
  local k = 'tp:call:' .. c.id
  redis.call('HSET', k, 'v', c.expect + 1, 'body', c.body)
  if c.ended then
    redis.call('SREM', 'tp:calls:active', c.id)
  else
    redis.call('SADD', 'tp:calls:active', c.id)
  end
end
for _, e in ipairs(plan.events) do
  redis.call('RPUSH', 'tp:call:' .. e[1] .. ':events', e[2])
end
for _, t in ipairs(plan.timeline) do
  local k = 'tp:call:' .. t[1] .. ':timeline'
  redis.call('RPUSH', k, t[2])
  redis.call('LTRIM', k, -1000, -1)
end
for _, c in ipairs(plan.calls) do
  if c.ended then
    for _, suffix in ipairs({'', ':events', ':timeline'}) do
      redis.call('EXPIRE', 'tp:call:' .. c.id .. suffix, ttl)
    end
  end
end
for _, t in ipairs(plan.timeline) do
  local k = 'tp:call:' .. t[1]
  if redis.call('TTL', k) ~= -1 then
    redis.call('EXPIRE', k .. ':timeline', ttl)
  end
end
for _, d in ipairs(plan.devices) do
  redis.call('HSET', 'tp:devices', d[1], d[2])
end
for _, f in ipairs(plan.removed) do
  redis.call('HDEL', 'tp:devices', f)
end
for _, r in ipairs(plan.revoked) do
  redis.call('ZADD', 'tp:revoked', r[2], r[1])
end
if plan.idem then
  redis.call('SET', 'tp:idem:' .. plan.idem[1], plan.idem[2], 'EX', plan.idem[3])
end
if ARGV[2] ~= '' then
  redis.call('PUBLISH', 'tp:changes', ARGV[2])
end
return 'ok'
)lua";

std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string str(const redisReply* r) {
  return r != nullptr && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS)
             ? std::string(r->str, r->len)
             : std::string();
}

std::string idempotencyKey(const std::string& user_id, const std::string& key) {
  return std::to_string(user_id.size()) + ":" + user_id + key;
}

std::string callKey(const std::string& id) { return "tp:call:" + id; }

std::optional<Call> callFromText(const std::string& text) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  return j.is_object() ? Call::fromStored(j) : std::nullopt;
}

}  // namespace

std::string deviceField(const DeviceKey& key) {
  return std::to_string(key.user_id.size()) + ":" + key.user_id + key.device_id;
}

RedisStore::RedisStore(RedisConnection& redis, std::string node)
    : redis_(redis), node_(std::move(node)) {}

CallStore::CommitResult RedisStore::commit(const Batch& batch, std::string& error) {
  if (batch.empty()) {
    return CommitResult::Stored;
  }
  nlohmann::json plan{{"calls", nlohmann::json::array()},    {"events", nlohmann::json::array()},
                      {"timeline", nlohmann::json::array()}, {"devices", nlohmann::json::array()},
                      {"removed", nlohmann::json::array()},  {"revoked", nlohmann::json::array()}};
  for (std::size_t i = 0; i < batch.calls.size(); ++i) {
    const Call& c = *batch.calls[i];
    plan["calls"].push_back({{"id", c.call_id},
                             {"expect", i < batch.versions.size() ? batch.versions[i] : 0},
                             {"body", dump(c.toStored())},
                             {"ended", c.ended()}});
  }
  for (const auto& [id, e] : batch.events) {
    plan["events"].push_back({id, dump(e->toStored())});
  }
  for (const auto& [id, t] : batch.timeline) {
    plan["timeline"].push_back({id, dump({{"at", t->at.count()},
                                          {"event", t->event},
                                          {"deviceId", t->device_id},
                                          {"detail", t->detail}})});
  }
  for (const Device* d : batch.devices) {
    plan["devices"].push_back({deviceField(d->key), dump(d->toStored())});
  }
  for (const auto& k : batch.removed_devices) {
    plan["removed"].push_back(deviceField(k));
  }
  for (const auto& r : batch.revocations) {
    plan["revoked"].push_back({r.call_id, r.until.count()});
  }
  if (const auto& a = batch.idempotency) {
    plan["idem"] = {idempotencyKey(a->user_id, a->key),
                    dump({{"at", a->created_at.count()}, {"status", a->status}, {"body", a->body}}),
                    std::chrono::duration_cast<std::chrono::seconds>(kEndedRetention).count()};
  }
  const bool tell = !batch.calls.empty() || !batch.devices.empty() ||
                    !batch.removed_devices.empty() || !batch.revocations.empty();
  const std::string message = tell ? changeMessageOf(batch, node_) : std::string();
  const std::string ttl = std::to_string(kEndedRetention.count() * 3600);
  auto reply = redis_.eval(kCommitScript, {dump(plan), message, ttl}, error);
  if (!reply) {
    return redis_.up() ? CommitResult::Failed : CommitResult::Unavailable;
  }
  if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2) {
    error = "call " + str(reply->element[1]) + " was changed by another node";
    return CommitResult::Conflict;
  }
  return CommitResult::Stored;
}

bool RedisStore::load(Snapshot& out, std::chrono::seconds unix_now, std::string& error) {
  auto devices = redis_.command({"HGETALL", "tp:devices"}, error);
  if (!devices) {
    return false;
  }
  for (std::size_t i = 1; i < devices->elements; i += 2) {
    const auto j = nlohmann::json::parse(str(devices->element[i]), nullptr, false);
    if (auto d = j.is_object() ? Device::fromStored(j) : std::nullopt) {
      out.devices.push_back(std::move(*d));
    }
  }
  auto active = redis_.command({"SMEMBERS", "tp:calls:active"}, error);
  if (!active) {
    return false;
  }
  for (std::size_t i = 0; i < active->elements; ++i) {
    auto call = fetchCall(str(active->element[i]), error);
    if (!error.empty()) {
      return false;
    }
    if (call && !call->call.ended()) {
      out.active_calls.push_back(std::move(*call));
    }
  }
  const std::string now = std::to_string(unix_now.count());
  auto revoked =
      redis_.command({"ZRANGEBYSCORE", "tp:revoked", "(" + now, "+inf", "WITHSCORES"}, error);
  if (!revoked) {
    return false;
  }
  for (std::size_t i = 1; i < revoked->elements; i += 2) {
    out.revocations.push_back(
        {str(revoked->element[i - 1]), std::chrono::seconds{std::stoll(str(revoked->element[i]))}});
  }
  return true;
}

std::optional<StoredCall> RedisStore::fetchCall(const std::string& call_id, std::string& error) {
  error.clear();
  const std::string key = callKey(call_id);
  auto call = redis_.command({"HMGET", key, "v", "body"}, error);
  if (!call) {
    return std::nullopt;
  }
  if (call->elements != 2 || call->element[1]->type != REDIS_REPLY_STRING) {
    return std::nullopt;
  }
  auto parsed = callFromText(str(call->element[1]));
  if (!parsed) {
    return std::nullopt;
  }
  StoredCall out{std::move(*parsed), {}, std::stoull(str(call->element[0]))};
  auto events = redis_.command({"LRANGE", key + ":events", "0", "-1"}, error);
  if (!events) {
    return std::nullopt;
  }
  for (std::size_t i = 0; i < events->elements; ++i) {
    const auto j = nlohmann::json::parse(str(events->element[i]), nullptr, false);
    if (auto e = CallEvent::fromStored(j)) {
      out.events.push_back(std::move(*e));
    }
  }
  return out;
}

std::optional<Call> RedisStore::loadCall(const std::string& call_id) {
  std::string error;
  auto reply = redis_.command({"HGET", callKey(call_id), "body"}, error);
  if (!reply || reply->type != REDIS_REPLY_STRING) {
    return std::nullopt;
  }
  return callFromText(str(reply.get()));
}

std::vector<TimelineEntry> RedisStore::timeline(const std::string& call_id) {
  std::vector<TimelineEntry> out;
  std::string error;
  auto reply = redis_.command({"LRANGE", callKey(call_id) + ":timeline", "0", "-1"}, error);
  for (std::size_t i = 0; reply && i < reply->elements; ++i) {
    const auto j = nlohmann::json::parse(str(reply->element[i]), nullptr, false);
    if (!j.is_object()) {
      continue;
    }
    out.push_back({UnixMillis{j.value("at", std::int64_t{0})}, j.value("event", ""),
                   j.value("deviceId", ""), j.value("detail", nlohmann::json::object())});
  }
  return out;
}

std::optional<IdempotentAnswer> RedisStore::idempotent(const std::string& user_id,
                                                       const std::string& key,
                                                       UnixMillis not_before) {
  std::string error;
  auto reply = redis_.command({"GET", "tp:idem:" + idempotencyKey(user_id, key)}, error);
  if (!reply || reply->type != REDIS_REPLY_STRING) {
    return std::nullopt;
  }
  const auto j = nlohmann::json::parse(str(reply.get()), nullptr, false);
  if (!j.is_object() || j.value("at", std::int64_t{0}) < not_before.count()) {
    return std::nullopt;
  }
  return IdempotentAnswer{user_id, key, UnixMillis{j.value("at", std::int64_t{0})},
                          j.value("status", 0), j.value("body", "")};
}

std::optional<std::string> RedisStore::setting(const std::string& name) {
  std::string error;
  auto reply = redis_.command({"HGET", "tp:settings", name}, error);
  if (!reply || reply->type != REDIS_REPLY_STRING) {
    return std::nullopt;
  }
  return str(reply.get());
}

bool RedisStore::putSetting(const std::string& name, const std::string& value) {
  std::string error;
  return static_cast<bool>(redis_.command({"HSETNX", "tp:settings", name, value}, error));
}

void RedisStore::expire(UnixMillis /*keys_before*/, std::chrono::seconds unix_now,
                        UnixMillis /*calls_before*/) {
  // Idempotency keys and ended calls carry their own TTL.
  std::string error;
  redis_.command({"ZREMRANGEBYSCORE", "tp:revoked", "-inf", std::to_string(unix_now.count())},
                 error);
}

}  // namespace turnpike::control
