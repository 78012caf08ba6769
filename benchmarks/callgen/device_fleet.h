#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "benchmarks/callgen/error_counts.h"
#include "benchmarks/callgen/event_loop.h"
#include "benchmarks/callgen/http_connection.h"
#include "benchmarks/callgen/target.h"
#include "benchmarks/callgen/ws_connection.h"

namespace turnpike::callgen {

struct FleetOptions {
  std::string secret;       ///< api.user_tokens.hs256_secrets entry
  std::string user_prefix;  ///< user ids are <prefix>u<n>
  std::size_t devices = 0;
  std::size_t devices_per_user = 1;  ///< consecutive devices share a user
  std::size_t http_connections = 0;  ///< 0: one keep-alive connection per device
  std::size_t parallel = 256;        ///< registrations / upgrades in flight at once
};

/// One user's registered device with its event socket.
struct FleetDevice {
  std::string user_id;
  std::string device_id;
  std::string token;
  HttpConnection* http = nullptr;  // owned by the fleet
  std::unique_ptr<WsConnection> ws;
  bool registered = false;
  bool ready = false;    ///< hello.ok received
  bool lost = false;     ///< the socket closed after it was ready
  bool settled = false;  ///< its upgrade and hello ended, one way or the other
};

/// Registers devices (POST /v1/devices/register), opens one WebSocket per
/// device (GET /v1/events?access_token=) and says hello; then hands every
/// event to `on_event`. Device i (its registration, socket and requests)
/// talks to targets[i % targets.size()]: one API listener for all, or two
/// nodes taking turns, so that device pairs (2i, 2i+1) straddle them.
class DeviceFleet {
 public:
  DeviceFleet(EventLoop& loop, std::vector<Target> targets, const FleetOptions& options,
              ErrorCounts& errors);

  /// True when every device registered before `deadline`.
  bool registerAll(Clock::time_point deadline);
  /// Opens every socket and waits for every hello.ok; true when all came.
  bool connectAll(Clock::time_point deadline);
  /// Closes the HTTP connections (they reopen on the next request).
  void closeHttp();

  [[nodiscard]] std::vector<FleetDevice>& devices() { return devices_; }
  [[nodiscard]] std::size_t readyCount() const { return ready_; }

  /// An event on a ready device's socket (already parsed).
  std::function<void(std::size_t device, const nlohmann::json& event)> on_event;
  /// A ready device's socket closed.
  std::function<void(std::size_t device, const std::string& why)> on_lost;

 private:
  void registerOne(std::size_t index);
  void connectOne(std::size_t index);
  void onText(std::size_t index, std::string_view text);
  void onClosed(std::size_t index, const std::string& why);
  void settle(FleetDevice& d);
  /// Starts devices from `next_` while fewer than options_.parallel are in flight.
  void startMore(void (DeviceFleet::*start)(std::size_t));
  void waitUntil(Clock::time_point deadline, const std::function<bool()>& done);

  EventLoop& loop_;
  const std::vector<Target> targets_;  // connections hold references: never resized
  FleetOptions options_;
  ErrorCounts& errors_;
  std::vector<std::unique_ptr<HttpConnection>> http_;
  std::vector<FleetDevice> devices_;
  std::size_t next_ = 0;  // next device to start (registration or upgrade)
  std::size_t in_flight_ = 0;
  std::size_t finished_ = 0;  // registered or failed / ready or failed
  std::size_t ready_ = 0;
};

}  // namespace turnpike::callgen
