#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <chrono>
#include <memory>
#include <vector>

#include "control/control_stats.h"
#include "relay/app/config_reload.h"
#include "relay/app/fault_tally.h"
#include "relay/app/redis_usage_stream.h"
#include "relay/net/shared_state.h"
#include "relay/net/worker.h"

namespace turnpike::app {

/// Prometheus exposition of what the workers publish (net::WorkerSnapshot,
/// about once a second): folded at scrape time on the scraping thread, so
/// the packet path never takes a lock for metrics. Labels stay low in
/// cardinality: transport, direction, method, code, reason, result.
class MetricsCollector final : public prometheus::Collectable {
 public:
  /// Process-wide sources beside the workers; null ones are not exported.
  struct Operations {
    const ConfigReloader* reloader = nullptr;
    const RedisUsageStream* usage = nullptr;
    /// Internal errors and control answers; it also counts what Collect throws.
    ProcessTally* tally = nullptr;
    /// The call control plane's counters; null when the call API is off.
    const control::ControlStats* calls = nullptr;
    /// The call API's TLS context (its certificate's expiry); null without api.tls.
    const net::TlsContext* api_tls = nullptr;
  };
  MetricsCollector(std::vector<const net::Worker*> workers, const net::SharedState& shared,
                   Operations operations);
  [[nodiscard]] std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  [[nodiscard]] std::vector<prometheus::MetricFamily> collectAll() const;
  void addOperations(std::vector<prometheus::MetricFamily>& out) const;
  void addFastPath(std::vector<prometheus::MetricFamily>& out,
                   const turn::ServerCounters& counters) const;
  void addTally(std::vector<prometheus::MetricFamily>& out, std::uint64_t worker_errors) const;

  std::vector<const net::Worker*> workers_;
  const net::SharedState& shared_;
  Operations operations_;
  std::chrono::system_clock::time_point started_ = std::chrono::system_clock::now();
};

}  // namespace turnpike::app
