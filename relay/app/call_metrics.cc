#include "relay/app/call_metrics.h"

#include "relay/app/metric_family.h"

#include <string>

namespace turnpike::app {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily family(const char* name, const char* help, MetricType type) {
  return metricFamily(name, help, type);
}

void add(MetricFamily& f, double value, std::vector<ClientMetric::Label> labels = {}) {
  addSample(f, value, std::move(labels));
}

MetricFamily histogram(const char* name, const char* help, const control::SecondsHistogram& h) {
  auto f = family(name, help, MetricType::Histogram);
  const auto s = h.snapshot();
  ClientMetric m;
  m.histogram.sample_count = s.count;
  m.histogram.sample_sum = s.sum;
  for (std::size_t i = 0; i < control::SecondsHistogram::kBounds.size(); ++i) {
    m.histogram.bucket.push_back({s.cumulative[i], control::SecondsHistogram::kBounds[i]});
  }
  m.histogram.bucket.push_back({s.count, std::numeric_limits<double>::infinity()});
  f.metric.push_back(std::move(m));
  return f;
}

}  // namespace

void addCallMetrics(std::vector<MetricFamily>& out, const control::ControlStats& s) {
  auto created = family("turnpike_calls_created_total", "Calls created.", MetricType::Counter);
  add(created, static_cast<double>(s.calls_created.load()));
  auto ended =
      family("turnpike_calls_ended_total", "Calls ended, by end reason.", MetricType::Counter);
  for (const auto& [reason, n] : s.endsByReason()) {
    add(ended, static_cast<double>(n), {{"reason", reason}});
  }
  auto outcome = family("turnpike_calls_total", "Calls by outcome: answered, missed, declined.",
                        MetricType::Counter);
  add(outcome, static_cast<double>(s.calls_answered.load()), {{"outcome", "answered"}});
  add(outcome, static_cast<double>(s.calls_missed.load()), {{"outcome", "missed"}});
  add(outcome, static_cast<double>(s.calls_declined.load()), {{"outcome", "declined"}});
  auto sockets =
      family("turnpike_websocket_connections", "Open event WebSockets.", MetricType::Gauge);
  add(sockets, static_cast<double>(s.websocket_connections.load()));
  auto events = family("turnpike_call_events_sent_total", "Call events written to WebSockets.",
                       MetricType::Counter);
  add(events, static_cast<double>(s.events_sent.load()));
  auto requests = family("turnpike_api_requests_total", "Call API requests, by route and status.",
                         MetricType::Counter);
  for (const auto& [key, n] : s.requests()) {
    add(requests, static_cast<double>(n),
        {{"route", key.first}, {"status", std::to_string(key.second)}});
  }
  auto creds = family("turnpike_turn_credentials_issued_total",
                      "TURN credentials handed out for calls.", MetricType::Counter);
  add(creds, static_cast<double>(s.turn_credentials_issued.load()));
  auto revoked = family("turnpike_call_allocations_revoked_total",
                        "TURN allocations deleted because their call ended.", MetricType::Counter);
  add(revoked, static_cast<double>(s.allocations_revoked.load()));
  auto pushes = family("turnpike_push_total",
                       "Push attempts, by provider (apns, fcm), kind (invite, cancel, "
                       "missed_call) and result (delivered, retry, dead_token, failed, dropped, "
                       "rate_limited).",
                       MetricType::Counter);
  for (const auto& [key, n] : s.pushes()) {
    const auto& [provider, kind, result] = key;
    add(pushes, static_cast<double>(n),
        {{"provider", provider}, {"kind", kind}, {"result", result}});
  }
  auto dead = family("turnpike_push_tokens_removed_total",
                     "Push tokens removed from the registry because the provider called them dead.",
                     MetricType::Counter);
  add(dead, static_cast<double>(s.push_tokens_removed.load()));
  auto push_flight = family("turnpike_push_in_flight",
                            "Pushes in progress: awaiting a provider, a retry or an access token.",
                            MetricType::Gauge);
  add(push_flight, static_cast<double>(s.push_in_flight.load()));
  auto push_conns = family("turnpike_push_connections_opened_total",
                           "HTTP/2 connections opened to APNs and FCM.", MetricType::Counter);
  add(push_conns, static_cast<double>(s.push_connections.load()));
  auto push_pings =
      family("turnpike_push_ping_failures_total",
             "Provider connections dropped because a PING went unanswered.", MetricType::Counter);
  add(push_pings, static_cast<double>(s.push_ping_failures.load()));
  auto store =
      family("turnpike_store_errors_total", "Writes the call store refused.", MetricType::Counter);
  add(store, static_cast<double>(s.store_errors.load()));
  auto conflicts = family("turnpike_store_conflicts_total",
                          "Writes refused because another node changed the call first (retried).",
                          MetricType::Counter);
  add(conflicts, static_cast<double>(s.store_conflicts.load()));
  auto remote = family("turnpike_cluster_changes_total",
                       "Changes published by other nodes, by result (applied, dropped: malformed).",
                       MetricType::Counter);
  add(remote, static_cast<double>(s.remote_changes.load()), {{"result", "applied"}});
  add(remote, static_cast<double>(s.remote_changes_dropped.load()), {{"result", "dropped"}});
  auto store_up = family("turnpike_store_up",
                         "1 when the call store is reachable and this node caught up with it.",
                         MetricType::Gauge);
  add(store_up, static_cast<double>(s.store_up.load()));
  for (auto* f :
       {&created, &ended, &outcome, &sockets, &events, &requests, &creds, &revoked, &pushes, &dead,
        &push_flight, &push_conns, &push_pings, &store, &conflicts, &remote, &store_up}) {
    out.push_back(std::move(*f));
  }
  out.push_back(histogram("turnpike_call_time_to_ring_seconds",
                          "From create to the first callee device reached.", s.time_to_ring));
  out.push_back(histogram("turnpike_call_time_to_answer_seconds", "From create to accept.",
                          s.time_to_answer));
  out.push_back(
      histogram("turnpike_call_duration_seconds", "From accept to end.", s.call_duration));
  out.push_back(histogram("turnpike_push_latency_seconds",
                          "From a push's order to its provider's final answer.", s.push_latency));
}

}  // namespace turnpike::app
