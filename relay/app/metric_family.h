#pragma once

#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>

#include <vector>

namespace turnpike::app {

/// A metric family to fill at scrape time.
inline prometheus::MetricFamily metricFamily(const char* name, const char* help,
                                             prometheus::MetricType type) {
  prometheus::MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  return f;
}

/// One sample of a counter or gauge family.
inline void addSample(prometheus::MetricFamily& f, double value,
                      std::vector<prometheus::ClientMetric::Label> labels = {}) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  if (f.type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  f.metric.push_back(std::move(m));
}

}  // namespace turnpike::app
