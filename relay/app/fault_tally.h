#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace turnpike::app {

/// Counts kept outside the workers, written by the control, metrics and
/// Redis threads and read at scrape time.
struct ProcessTally {
  /// Exceptions caught at the edge of a thread that is not a worker
  /// (workers count theirs in their EventLoop). Each is logged where it is
  /// caught; the thread carries on. turnpike_internal_errors_total.
  std::atomic<std::uint64_t> control_errors{0};
  std::atomic<std::uint64_t> metrics_errors{0};
  std::atomic<std::uint64_t> redis_errors{0};

  /// HTTP answers on control.listen by status: turnpike_control_responses_total.
  static constexpr std::array<int, 13> kStatuses = {200, 202, 400, 401, 404, 405, 409,
                                                    413, 422, 431, 500, 503, 0};
  std::array<std::atomic<std::uint64_t>, kStatuses.size()> control_responses{};

  void countControlResponse(int status) {
    std::size_t i = 0;
    while (i + 1 < kStatuses.size() && kStatuses[i] != status) {
      ++i;
    }
    ++control_responses[i];  // the last slot: any other status
  }
};

}  // namespace turnpike::app
