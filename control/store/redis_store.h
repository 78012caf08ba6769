#pragma once

#include <memory>
#include <string>

#include "control/store/call_store.h"
#include "control/store/redis_connection.h"

namespace turnpike::control {

/// The shared store of several nodes: one Redis (single or behind Sentinel
/// at a fixed address). Every commit is one Lua script: it checks the
/// version of each call it touches (a node that read an older state gets
/// Conflict and nothing is written), writes everything, and publishes the
/// change on `tp:changes` in the same step, so other nodes see changes in
/// the order Redis stored them. Keys are listed in the README ("Redis
/// schema").
class RedisStore final : public CallStore {
 public:
  static constexpr const char* kChannel = "tp:changes";
  /// Ended calls, their events and timelines stay this long.
  static constexpr std::chrono::hours kEndedRetention{24};

  RedisStore(RedisConnection& redis, std::string node);

  CommitResult commit(const Batch& batch, std::string& error) override;
  bool load(Snapshot& out, std::chrono::seconds unix_now, std::string& error) override;
  std::optional<Call> loadCall(const std::string& call_id) override;
  std::optional<StoredCall> fetchCall(const std::string& call_id, std::string& error) override;
  std::vector<TimelineEntry> timeline(const std::string& call_id) override;
  std::optional<IdempotentAnswer> idempotent(const std::string& user_id, const std::string& key,
                                             UnixMillis not_before) override;
  std::optional<std::string> setting(const std::string& name) override;
  /// Keeps the first value any node put (HSETNX): read it back.
  bool putSetting(const std::string& name, const std::string& value) override;
  void expire(UnixMillis keys_before, std::chrono::seconds unix_now,
              UnixMillis calls_before) override;
  [[nodiscard]] bool shared() const override { return true; }

 private:
  RedisConnection& redis_;
  std::string node_;
};

/// The hash field of a device (user and device id cannot collide).
std::string deviceField(const DeviceKey& key);

}  // namespace turnpike::control
