#pragma once

#include <nlohmann/json.hpp>

#include "benchmarks/callgen/device_fleet.h"
#include "benchmarks/callgen/error_counts.h"
#include "benchmarks/callgen/event_loop.h"

namespace turnpike::callgen {

struct IdleOptions {
  double hold = 5;  ///< seconds the sockets stay open and idle
  double setup_timeout = 120;
  int server_pid = 0;  ///< for VmRSS and CPU; 0: not measured
};

/// Registers the fleet's devices, closes the HTTP connections, reads the
/// server's VmRSS, opens every WebSocket and says hello, holds them idle
/// and reads VmRSS again: the difference over the open sockets is the
/// server's memory per idle connection.
nlohmann::json runIdle(EventLoop& loop, DeviceFleet& fleet, const IdleOptions& options,
                       ErrorCounts& errors);

}  // namespace turnpike::callgen
