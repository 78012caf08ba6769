#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <chrono>
#include <memory>
#include <vector>

#include "relay/net/shared_state.h"
#include "relay/net/worker.h"

namespace turnpike::app {

/// Prometheus exposition of what the workers publish (net::WorkerSnapshot,
/// about once a second): folded at scrape time on the scraping thread, so
/// the packet path never takes a lock for metrics. Labels stay low in
/// cardinality: transport, direction, method, code, reason, result.
class MetricsCollector final : public prometheus::Collectable {
 public:
  MetricsCollector(std::vector<const net::Worker*> workers, const net::SharedState& shared);
  [[nodiscard]] std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::vector<const net::Worker*> workers_;
  const net::SharedState& shared_;
  std::chrono::system_clock::time_point started_ = std::chrono::system_clock::now();
};

}  // namespace turnpike::app
