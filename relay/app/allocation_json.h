#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "relay/app/wall_time.h"
#include "relay/base/clock.h"
#include "relay/turn/allocation.h"

namespace turnpike::app {

/// "0001000000000005": how an allocation id is written everywhere.
std::string allocationIdText(std::uint64_t id);

/// The allocation as the admin API shows it: id, user, addresses,
/// transport, start, expiry, permissions, channels, traffic each way.
nlohmann::json allocationJson(const turn::Allocation& a, const Clock& clock);

/// Bytes and packets each way, named as the metrics name the directions.
template <typename Json>
void addTraffic(Json& out, const turn::TrafficCounters& t) {
  out["bytes_client_to_peer"] = t.bytes_to_peer;
  out["packets_client_to_peer"] = t.packets_to_peer;
  out["bytes_peer_to_client"] = t.bytes_from_peer;
  out["packets_peer_to_client"] = t.packets_from_peer;
}

}  // namespace turnpike::app
