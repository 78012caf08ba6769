#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "control/store/call_store.h"

namespace turnpike::control {

/// What a node tells the others (Redis pub/sub on `tp:changes`) once a
/// change is stored, or when a device's socket comes or goes on it.
struct ChangeMessage {
  struct CallChange {
    Call call;
    std::uint64_t version = 0;  ///< the call's version after this change
    std::vector<CallEvent> events;
  };
  struct PresenceChange {
    DeviceKey device;
    bool online = false;
    bool foreground = false;
  };

  std::string node;
  std::vector<CallChange> calls;
  std::vector<Device> devices;
  std::vector<DeviceKey> removed_devices;
  std::vector<Revocation> revocations;
  std::vector<PresenceChange> presence;
};

/// The message for a stored batch (calls at `versions[i] + 1`). Timeline
/// entries and idempotent answers stay out: the answers carry secrets.
std::string changeMessageOf(const CallStore::Batch& batch, const std::string& node);
/// The message for one device's socket on `node`.
std::string presenceMessage(const std::string& node, const ChangeMessage::PresenceChange& change);
/// Parses a message; nullopt for anything malformed (it is dropped whole).
std::optional<ChangeMessage> parseChangeMessage(std::string_view text);

}  // namespace turnpike::control
