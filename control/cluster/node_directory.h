#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "relay/base/clock.h"

namespace turnpike::control::cluster {

/// What a node tells the others about itself, every second, in `tp:nodes`.
struct NodeInfo {
  std::string name;
  std::string region;
  std::vector<std::string> turn_uris;
  std::uint64_t allocations = 0;
  std::uint64_t relayed_bps = 0;  ///< relayed payload, both ways, bits per second
  bool draining = false;
  std::chrono::milliseconds seen_at{0};  ///< Unix ms of the announcement

  [[nodiscard]] std::string toJson() const;
  static std::optional<NodeInfo> fromJson(std::string_view text);
};

/// This node's load, read once a second for its announcement.
struct NodeLoad {
  std::uint64_t allocations = 0;
  std::uint64_t relayed_bytes = 0;  ///< since start, both directions
  bool draining = false;
};

/// A node whose last announcement is older than this is gone.
constexpr std::chrono::milliseconds kNodeTtl{5000};

/// The TURN URIs to hand out: live, non-draining nodes of `region` first
/// (least loaded first), then the others (least loaded first). A node is
/// live when it announced itself within kNodeTtl of `now`.
std::vector<std::string> orderedUris(const std::vector<NodeInfo>& nodes, std::string_view region,
                                     std::chrono::milliseconds now);

}  // namespace turnpike::control::cluster
