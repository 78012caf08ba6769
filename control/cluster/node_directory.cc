#include "control/cluster/node_directory.h"
#include "control/calls/json_integer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <tuple>

namespace turnpike::control::cluster {

std::string NodeInfo::toJson() const {
  return nlohmann::json{{"name", name},
                        {"region", region},
                        {"uris", turn_uris},
                        {"allocations", allocations},
                        {"relayedBps", relayed_bps},
                        {"draining", draining},
                        {"seenAt", seen_at.count()}}
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::optional<NodeInfo> NodeInfo::fromJson(std::string_view text) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) {
    return std::nullopt;
  }
  try {
    NodeInfo n;
    n.name = j.at("name").get<std::string>();
    n.region = j.at("region").get<std::string>();
    n.turn_uris = j.at("uris").get<std::vector<std::string>>();
    n.allocations = jsonInteger<std::uint64_t>(j.at("allocations"));
    n.relayed_bps = jsonInteger<std::uint64_t>(j.at("relayedBps"));
    n.draining = j.at("draining").get<bool>();
    n.seen_at = std::chrono::milliseconds{jsonInteger<std::int64_t>(j.at("seenAt"))};
    return n;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

std::vector<std::string> orderedUris(const std::vector<NodeInfo>& nodes, std::string_view region,
                                     std::chrono::milliseconds now) {
  std::vector<const NodeInfo*> usable;
  for (const auto& n : nodes) {
    if (!n.draining && now - n.seen_at <= kNodeTtl) {
      usable.push_back(&n);
    }
  }
  std::sort(usable.begin(), usable.end(), [region](const NodeInfo* a, const NodeInfo* b) {
    return std::make_tuple(a->region != region, a->allocations, a->relayed_bps, a->name) <
           std::make_tuple(b->region != region, b->allocations, b->relayed_bps, b->name);
  });
  std::vector<std::string> out;
  for (const NodeInfo* n : usable) {
    for (const auto& uri : n->turn_uris) {
      if (std::find(out.begin(), out.end(), uri) == out.end()) {
        out.push_back(uri);
      }
    }
  }
  return out;
}

}  // namespace turnpike::control::cluster
