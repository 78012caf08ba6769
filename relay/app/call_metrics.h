#pragma once

#include <prometheus/metric_family.h>

#include <vector>

#include "control/control_stats.h"

namespace turnpike::app {

/// The call control plane's metrics (control-plane.md "Observability"):
/// no per-call labels; routes are the API's patterns.
void addCallMetrics(std::vector<prometheus::MetricFamily>& out, const control::ControlStats& s);

}  // namespace turnpike::app
