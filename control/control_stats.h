#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>

namespace turnpike::control {

/// A histogram of seconds with fixed buckets, written on the control
/// thread, read by the metrics scrape.
class SecondsHistogram {
 public:
  static constexpr std::array<double, 10> kBounds = {0.005, 0.01, 0.05, 0.1, 0.5,
                                                     1,     5,    30,   300, 3600};
  void observe(double seconds);
  struct Snapshot {
    std::array<std::uint64_t, kBounds.size()> cumulative{};
    std::uint64_t count = 0;
    double sum = 0;
  };
  [[nodiscard]] Snapshot snapshot() const;

 private:
  std::array<std::atomic<std::uint64_t>, kBounds.size()> buckets_{};
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_micros_{0};
};

/// What the control plane counts; no per-call labels (control-plane.md
/// "Observability"). Exported by relay/app's metrics.
struct ControlStats {
  std::atomic<std::uint64_t> calls_created{0};
  std::atomic<std::uint64_t> calls_answered{0};
  std::atomic<std::uint64_t> calls_missed{0};  ///< ring_timeout, caller_cancelled, unreachable
  std::atomic<std::uint64_t> calls_declined{0};
  std::atomic<std::uint64_t> websocket_connections{0};
  std::atomic<std::uint64_t> events_sent{0};
  std::atomic<std::uint64_t> store_errors{0};
  /// Writes refused because another node changed the call first (retried).
  std::atomic<std::uint64_t> store_conflicts{0};
  /// Changes from other nodes applied here, and malformed ones dropped.
  std::atomic<std::uint64_t> remote_changes{0};
  std::atomic<std::uint64_t> remote_changes_dropped{0};
  std::atomic<std::uint64_t> store_up{1};  ///< 0 while the shared store is out of reach
  std::atomic<std::uint64_t> turn_credentials_issued{0};
  std::atomic<std::uint64_t> allocations_revoked{0};
  std::atomic<std::uint64_t> push_tokens_removed{0};  ///< dead tokens taken out of the registry
  std::atomic<std::uint64_t> push_in_flight{0};
  std::atomic<std::uint64_t> push_connections{0};    ///< HTTP/2 connections opened to providers
  std::atomic<std::uint64_t> push_ping_failures{0};  ///< connections dropped for an unanswered PING
  SecondsHistogram push_latency;  ///< from the order to the provider's answer (first attempt)
  SecondsHistogram time_to_ring;
  SecondsHistogram time_to_answer;
  SecondsHistogram call_duration;

  void countEnd(std::string_view reason);
  void countRequest(std::string_view route, int status);
  /// One push attempt's outcome: provider "apns"/"fcm", kind
  /// "invite"/"cancel"/"missed_call", result "delivered"/"retry"/...
  void countPush(std::string_view provider, std::string_view kind, std::string_view result);
  using PushKey = std::tuple<std::string, std::string, std::string>;
  [[nodiscard]] std::map<PushKey, std::uint64_t> pushes() const;
  [[nodiscard]] std::map<std::string, std::uint64_t> endsByReason() const;
  [[nodiscard]] std::map<std::pair<std::string, int>, std::uint64_t> requests() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::uint64_t> ends_;                      // guarded by mutex_
  std::map<std::pair<std::string, int>, std::uint64_t> requests_;  // guarded by mutex_
  std::map<PushKey, std::uint64_t> pushes_;                        // guarded by mutex_
};

}  // namespace turnpike::control
