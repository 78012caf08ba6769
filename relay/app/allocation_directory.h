#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "relay/base/clock.h"
#include "relay/net/worker.h"

namespace turnpike::app {

/// The admin API's view of the allocations, which live in the workers: each
/// question is posted to every worker's loop and answered there, so no
/// worker state is read from another thread. nullopt when a worker did not
/// answer within a second or two (stopping, or stalled).
class AllocationDirectory {
 public:
  AllocationDirectory(std::vector<net::Worker*> workers, const Clock& clock)
      : workers_(std::move(workers)), clock_(clock) {}

  /// The allocations (of user id `user` when it is not empty), at most
  /// `limit` of them described (so a big node is not stalled building JSON):
  /// {"count": all that match, "allocations": [...], "truncated": bool}.
  [[nodiscard]] std::optional<nlohmann::json> list(const std::string& user,
                                                   std::size_t limit) const;
  /// One allocation; a null JSON value when there is none with this id.
  [[nodiscard]] std::optional<nlohmann::json> show(std::uint64_t id) const;
  /// Deletes allocation `id`, or every allocation of `user`; how many went.
  [[nodiscard]] std::optional<std::size_t> kick(const std::string& user,
                                                std::optional<std::uint64_t> id) const;

 private:
  std::vector<net::Worker*> workers_;
  const Clock& clock_;
};

}  // namespace turnpike::app
