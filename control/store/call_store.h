#pragma once

#include <chrono>
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

/// Where the control plane's state lives (SQLite embedded; Redis for
/// several nodes later). Every method runs on the control thread.
class CallStore {
 public:
  /// One transaction: all of it is stored, or none.
  struct Batch {
    std::vector<const Call*> calls;
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
    std::vector<std::pair<Call, std::vector<CallEvent>>> active_calls;
    std::vector<Revocation> revocations;
  };

  virtual ~CallStore() = default;
  virtual bool commit(const Batch& batch, std::string& error) = 0;
  virtual bool load(Snapshot& out, std::chrono::seconds unix_now, std::string& error) = 0;
  /// A call, ended or not.
  virtual std::optional<Call> loadCall(const std::string& call_id) = 0;
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
