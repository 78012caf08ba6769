#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "control/calls/call.h"
#include "control/devices/device.h"

namespace turnpike::control {

/// A call whose TURN credentials are refused until `until` (Unix seconds):
/// past that, no credential naming it can be valid anyway.
struct Revocation {
  std::string call_id;
  std::chrono::seconds until{0};
};

/// The stored answer to a `POST /v1/calls` with an Idempotency-Key.
struct IdempotentAnswer {
  std::string user_id;
  std::string key;
  UnixMillis created_at{0};
  int status = 0;
  std::string body;
};

/// A call as stored, with its events and the version the store gave it
/// (Redis counts the changes to each call; SQLite has one writer: 0).
struct StoredCall {
  Call call;
  std::vector<CallEvent> events;
  std::uint64_t version = 0;
};

/// Where the control plane's state lives (SQLite embedded, Redis for
/// several nodes). Every method runs on the control thread.
class CallStore {
 public:
  enum class CommitResult {
    Stored,
    Conflict,     ///< another node changed one of the calls first: nothing stored
    Unavailable,  ///< the store cannot be reached: nothing stored
    Failed,
  };

  /// One transaction: all of it is stored, or none.
  struct Batch {
    std::vector<const Call*> calls;
    /// The version each of `calls` had when read (0: new); a shared store
    /// refuses the batch when one moved on (optimistic concurrency).
    std::vector<std::uint64_t> versions;
    std::vector<std::pair<std::string, const CallEvent*>> events;
    std::vector<std::pair<std::string, const TimelineEntry*>> timeline;
    std::vector<const Device*> devices;
    std::vector<DeviceKey> removed_devices;
    std::vector<Revocation> revocations;
    std::optional<IdempotentAnswer> idempotency;

    [[nodiscard]] bool empty() const {
      return calls.empty() && events.empty() && timeline.empty() && devices.empty() &&
             removed_devices.empty() && revocations.empty() && !idempotency;
    }
  };

  /// What start-up rebuilds memory from.
  struct Snapshot {
    std::vector<Device> devices;
    std::vector<StoredCall> active_calls;
    std::vector<Revocation> revocations;
  };

  virtual ~CallStore() = default;
  virtual CommitResult commit(const Batch& batch, std::string& error) = 0;
  virtual bool load(Snapshot& out, std::chrono::seconds unix_now, std::string& error) = 0;
  /// A call, ended or not.
  virtual std::optional<Call> loadCall(const std::string& call_id) = 0;
  /// A call with its events and version; nullopt when unknown, or (with
  /// `error` set) when the store could not answer.
  virtual std::optional<StoredCall> fetchCall(const std::string& call_id, std::string& error) = 0;
  /// Whether other nodes share this store (their changes arrive by feed).
  [[nodiscard]] virtual bool shared() const { return false; }
  virtual std::vector<TimelineEntry> timeline(const std::string& call_id) = 0;
  virtual std::optional<IdempotentAnswer> idempotent(const std::string& user_id,
                                                     const std::string& key,
                                                     UnixMillis not_before) = 0;
  /// Small named values kept across restarts (the generated call-token key).
  virtual std::optional<std::string> setting(const std::string& name) = 0;
  virtual bool putSetting(const std::string& name, const std::string& value) = 0;
  /// Drops idempotency keys older than `keys_before`, revocations past
  /// their end, ended calls older than `calls_before`.
  virtual void expire(UnixMillis keys_before, std::chrono::seconds unix_now,
                      UnixMillis calls_before) = 0;
};

}  // namespace turnpike::control
