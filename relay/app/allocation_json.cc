#include "relay/app/allocation_json.h"

#include <cstdio>

#include "relay/turn/transport.h"

namespace turnpike::app {

std::string allocationIdText(std::uint64_t id) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(id));
  return text;
}

nlohmann::json allocationJson(const turn::Allocation& a, const Clock& clock) {
  const auto now = clock.now();
  const std::size_t permissions = a.livePermissions(now);
  std::size_t channels = 0;
  for (const auto& c : a.channels) {
    channels += c.expires_at > now ? 1 : 0;
  }
  nlohmann::json relayed = nlohmann::json::array({a.relayed.toString()});
  if (a.additional) {
    relayed.push_back(a.additional->relayed.toString());
  }
  nlohmann::json out = {
      {"id", allocationIdText(a.id)},
      {"user", a.user_id},
      {"username", a.username},
      {"realm", a.realm},
      {"transport", std::string(turn::transportName(a.five_tuple.transport))},
      {"client", a.five_tuple.client.toString()},
      {"server", a.five_tuple.server.toString()},
      {"relayed", relayed},
      {"relay_protocol", a.tcp ? "tcp" : "udp"},
      {"start", isoTime(wallTime(clock, a.created_at))},
      {"expires_in_seconds",
       std::chrono::duration_cast<std::chrono::seconds>(a.expires_at - now).count()},
      {"permissions", permissions},
      {"channels", channels},
      {"callId", a.call_id.empty() ? nlohmann::json(nullptr) : nlohmann::json(a.call_id)},
      {"tcp_peers", a.tcp_peers.size()},
  };
  addTraffic(out, a.traffic);
  return out;
}

}  // namespace turnpike::app
