#include "relay/app/allocation_events.h"

#include <unistd.h>

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "relay/app/allocation_json.h"
#include "relay/app/json_text.h"
#include "relay/app/logging.h"
#include "relay/turn/transport.h"

namespace turnpike::app {

std::string nodeName(const conf::NodeConfig& node) {
  if (!node.name.empty()) {
    return node.name;
  }
  char host[256] = {};
  return ::gethostname(host, sizeof host - 1) == 0 ? std::string(host) : std::string("turnpike");
}

AllocationEvents::AllocationEvents(const conf::NodeConfig& node, const Clock& clock,
                                   RedisUsageStream* stream)
    : node_(nodeName(node)), region_(node.region), clock_(clock), stream_(stream) {}

nlohmann::ordered_json AllocationEvents::eventLine(
    const turn::Allocation& a, const char* event, std::chrono::system_clock::time_point now) const {
  nlohmann::ordered_json line{
      {"time", isoTime(now)},
      {"level", "info"},
      {"event", event},
      {"node", node_},
      {"region", region_},
      {"allocation", allocationIdText(a.id)},
      {"user", a.user_id},
      {"realm", a.realm},
      {"transport", std::string(turn::transportName(a.five_tuple.transport))},
      {"client", a.five_tuple.client.toString()},
      {"relayed", a.relayed.toString()},
  };
  if (!a.call_id.empty()) {
    line["callId"] = a.call_id;
  }
  return line;
}

// Lines are built only for a reader: at log.level warn and without a usage
// stream an allocation costs no JSON (a third of a full allocation cycle).
void AllocationEvents::onAllocationCreated(const turn::Allocation& a) {
  if (!eventsLogged()) {
    return;
  }
  const auto line = eventLine(a, "allocation.created", std::chrono::system_clock::now());
  logEvent(jsonText(line));
}

void AllocationEvents::onAllocationUsage(const turn::Allocation& a) {
  usageRecord(a, "allocation.usage", "");
}

void AllocationEvents::onAllocationDeleted(const turn::Allocation& a, turn::DeletionReason reason) {
  usageRecord(a, "allocation.deleted", turn::deletionReasonName(reason));
}

void AllocationEvents::onPermissionInstalled(const turn::Allocation& a,
                                             const stun::TransportAddress& peer) {
  // The arguments cost address formatting on every request: only when shown.
  if (!spdlog::should_log(spdlog::level::debug)) {
    return;
  }
  spdlog::debug("permission installed: allocation={} peer={}", allocationIdText(a.id),
                peer.toString());
}

void AllocationEvents::onChannelBound(const turn::Allocation& a, std::uint16_t channel,
                                      const stun::TransportAddress& peer) {
  if (!spdlog::should_log(spdlog::level::debug)) {
    return;
  }
  spdlog::debug("channel bound: allocation={} channel=0x{:04x} peer={}", allocationIdText(a.id),
                channel, peer.toString());
}

// A usage record: totals since the allocation started, so the last record
// of an allocation holds its whole usage and a lost interim one costs
// nothing.
void AllocationEvents::usageRecord(const turn::Allocation& a, const char* event,
                                   std::string_view reason) {
  if (stream_ == nullptr && !eventsLogged()) {
    return;
  }
  const auto now = std::chrono::system_clock::now();
  auto line = eventLine(a, event, now);
  line["start"] = isoTime(wallTime(clock_, a.created_at));
  line["end"] = isoTime(now);
  if (!reason.empty()) {
    line["reason"] = std::string(reason);
  }
  addTraffic(line, a.traffic);
  if (eventsLogged()) {
    logEvent(jsonText(line));
  }
  if (stream_ == nullptr) {
    return;
  }
  RedisUsageStream::Record record;
  for (const auto& [key, value] : line.items()) {
    if (key == "time" || key == "level") {
      continue;
    }
    record.emplace_back(key, value.is_string() ? value.get<std::string>() : jsonText(value));
  }
  stream_->push(std::move(record));
}

}  // namespace turnpike::app
