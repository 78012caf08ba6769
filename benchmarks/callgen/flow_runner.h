#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "benchmarks/callgen/device_fleet.h"
#include "benchmarks/callgen/error_counts.h"
#include "benchmarks/callgen/event_loop.h"
#include "benchmarks/callgen/process_probe.h"
#include "benchmarks/loadgen/latency_histogram.h"

namespace turnpike::callgen {

struct FlowOptions {
  double rate = 0;              ///< flows/s, open loop; 0: closed loop
  double duration = 10;         ///< seconds during which flows start
  std::size_t concurrency = 8;  ///< closed loop: flows kept in flight
  std::size_t max_in_flight =
      0;  ///< open loop: a tick finding this many in flight is skipped; 0: all pairs
  double flow_timeout = 10;  ///< seconds before an unfinished flow counts as failed
  double drain = 5;          ///< seconds to wait for flows in flight after `duration`
  std::string call_type = "audio";
  int server_pid = 0;  ///< for server CPU per flow; 0: not measured
};

/// One call flow in progress (FlowRunner's bookkeeping).
struct CallFlow {
  std::uint64_t scheduled_ns = 0;  ///< open loop: the tick it belongs to
  std::uint64_t create_ns = 0;     ///< just before POST /v1/calls was written
  std::string call_id;
  Clock::time_point deadline;
  bool created = false;
  bool incoming = false;
  bool connected = false;
  bool end_sent = false;
  bool failed = false;
  int outstanding = 0;  ///< requests whose answers are still due
};

/// A caller/callee device pair, with at most one flow at a time.
struct DevicePair {
  std::size_t caller = 0;
  std::size_t callee = 0;
  std::optional<CallFlow> flow;
  std::deque<std::string> finished_calls;  ///< late events for these are stale
  bool usable = true;                      ///< both sockets up
};

/// Complete call flows between caller/callee device pairs (devices 2i and
/// 2i+1 of the fleet), at most one in flight per pair:
/// POST /v1/calls -> call.incoming on the callee's socket -> accept ->
/// connected -> end (by the caller). Latency runs from just before the
/// create request is written to when call.incoming has been parsed.
class FlowRunner {
 public:
  FlowRunner(EventLoop& loop, DeviceFleet& fleet, const FlowOptions& options, ErrorCounts& errors);
  /// Runs for options.duration (+ drain) and returns the summary.
  nlohmann::json run();

 private:
  class Pacer;

  void tick(std::uint64_t scheduled_ns);
  bool start(std::uint64_t scheduled_ns);
  void fillClosedLoop();
  void onCreated(std::size_t pair, const HttpResult& r);
  void onEvent(std::size_t device, const nlohmann::json& event);
  void onAccepted(std::size_t pair, const HttpResult& r);
  void onConnected(std::size_t pair, const HttpResult& r);
  void sendEnd(std::size_t pair, bool cleanup);
  void onEnded(std::size_t pair, bool cleanup, const HttpResult& r);
  void fail(std::size_t pair, const std::string& kind);
  void release(std::size_t pair);
  void sweepTimeouts();
  static std::string pendingStage(const CallFlow& f);
  static std::string callPath(const CallFlow& f, const char* action);
  std::string deviceBody(std::size_t device) const;
  nlohmann::json summary(double window_s, const CpuWindow& cpu) const;

  EventLoop& loop_;
  DeviceFleet& fleet_;
  FlowOptions options_;
  ErrorCounts& errors_;
  std::vector<DevicePair> pairs_;
  std::deque<std::size_t> free_;  // pairs with no flow, least recently used first
  bool running_ = false;
  std::uint64_t window_end_ns_ = 0;
  std::size_t in_flight_ = 0;
  std::uint64_t offered_ = 0;  // open-loop ticks
  std::uint64_t skipped_ = 0;  // ticks that found no free pair
  std::uint64_t started_ = 0;
  std::uint64_t completed_ = 0;
  std::uint64_t completed_in_window_ = 0;
  std::uint64_t failed_ = 0;
  std::uint64_t stale_events_ = 0;
  std::map<std::string, std::uint64_t> events_;
  loadgen::LatencyHistogram incoming_;   // create written -> call.incoming parsed
  loadgen::LatencyHistogram create_;     // create written -> 201 parsed
  loadgen::LatencyHistogram flow_;       // create written -> end 200 parsed
  loadgen::LatencyHistogram start_lag_;  // open loop: tick -> create written
};

}  // namespace turnpike::callgen
