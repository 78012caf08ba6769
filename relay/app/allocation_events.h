#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "conf/config.h"
#include "relay/app/redis_usage_stream.h"
#include "relay/base/clock.h"
#include "relay/turn/allocation_observer.h"

namespace turnpike::app {

/// Allocation lifecycle as the ops see it: one JSON line per event at info
/// level ("allocation.created", "allocation.usage" every usage.interval,
/// "allocation.deleted" with the reason), each with node.name and
/// node.region; the usage and deletion events are usage records and also go
/// to the Redis stream when store.redis is set. Called on worker threads.
class AllocationEvents final : public turn::AllocationObserver {
 public:
  /// `stream` may be null (no Redis).
  AllocationEvents(const conf::NodeConfig& node, const Clock& clock, RedisUsageStream* stream);

  void onAllocationCreated(const turn::Allocation& a) override;
  void onAllocationUsage(const turn::Allocation& a) override;
  void onAllocationDeleted(const turn::Allocation& a, turn::DeletionReason reason) override;
  /// Debug level only: these come often.
  void onPermissionInstalled(const turn::Allocation& a,
                             const stun::TransportAddress& peer) override;
  void onChannelBound(const turn::Allocation& a, std::uint16_t channel,
                      const stun::TransportAddress& peer) override;

 private:
  /// The fields every event line starts with.
  [[nodiscard]] nlohmann::ordered_json eventLine(const turn::Allocation& a, const char* event,
                                                 std::chrono::system_clock::time_point now) const;
  void usageRecord(const turn::Allocation& a, const char* event, std::string_view reason);

  std::string node_;
  std::string region_;
  const Clock& clock_;
  RedisUsageStream* stream_;
};

/// The node name to use: node.name, else the host name.
std::string nodeName(const conf::NodeConfig& node);

}  // namespace turnpike::app
