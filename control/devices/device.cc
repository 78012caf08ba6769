#include "control/devices/device.h"
#include "control/calls/json_integer.h"

#include "control/calls/enum_names.h"

namespace turnpike::control {
namespace {

constexpr std::string_view kPlatforms[] = {"ios", "android", "web"};
constexpr std::string_view kKinds[] = {"voip", "apns", "fcm"};
constexpr std::string_view kEnvs[] = {"production", "sandbox"};

// Enough to tell tokens apart in a list; too little to push with.
std::string masked(const std::string& token) {
  constexpr std::size_t kShown = 8;
  return "\u2026" + (token.size() > kShown ? token.substr(token.size() - kShown) : token);
}

nlohmann::json capabilitiesJson(const Capabilities& c) {
  return {{"video", c.video},
          {"callkit", c.callkit},
          {"telecom", c.telecom},
          {"fullScreenIntent", c.full_screen_intent},
          {"calls", c.calls}};
}

}  // namespace

std::string_view platformName(Platform p) { return kPlatforms[static_cast<int>(p)]; }
std::string_view pushKindName(PushKind k) { return kKinds[static_cast<int>(k)]; }
std::string_view pushEnvName(PushEnv e) { return kEnvs[static_cast<int>(e)]; }
std::optional<Platform> platformFromName(std::string_view n) {
  return enumFromName<Platform>(kPlatforms, n);
}
std::optional<PushKind> pushKindFromName(std::string_view n) {
  return enumFromName<PushKind>(kKinds, n);
}
std::optional<PushEnv> pushEnvFromName(std::string_view n) {
  return enumFromName<PushEnv>(kEnvs, n);
}

nlohmann::json Device::toJson() const {
  nlohmann::json tokens = nlohmann::json::array();
  for (const auto& t : push_tokens) {
    nlohmann::json item{{"kind", pushKindName(t.kind)}, {"token", masked(t.token)}};
    if (t.kind != PushKind::Fcm) {
      item["env"] = pushEnvName(t.env);
    }
    if (!t.app_id.empty()) {
      item["appId"] = t.app_id;
    }
    tokens.push_back(std::move(item));
  }
  return {{"deviceId", key.device_id},
          {"platform", platformName(platform)},
          {"pushTokens", std::move(tokens)},
          {"capabilities", capabilitiesJson(capabilities)},
          {"registeredAt", rfc3339(registered_at)},
          {"lastSeenAt", rfc3339(last_seen_at)}};
}

nlohmann::json Device::toStored() const {
  nlohmann::json tokens = nlohmann::json::array();
  for (const auto& t : push_tokens) {
    tokens.push_back({static_cast<int>(t.kind), t.token, static_cast<int>(t.env), t.app_id});
  }
  return {{"user", key.user_id},
          {"device", key.device_id},
          {"platform", static_cast<int>(platform)},
          {"tokens", std::move(tokens)},
          {"caps", capabilitiesJson(capabilities)},
          {"registeredAt", registered_at.count()},
          {"lastSeenAt", last_seen_at.count()},
          {"tokensAt", tokens_at.count()}};
}

std::optional<Device> Device::fromStored(const nlohmann::json& j) {
  try {
    Device d;
    d.key = {j.at("user").get<std::string>(), j.at("device").get<std::string>()};
    d.platform = jsonEnum(j.at("platform"), Platform::Web);
    for (const auto& t : j.at("tokens")) {
      d.push_tokens.push_back({jsonEnum(t.at(0), PushKind::Fcm), t.at(1).get<std::string>(),
                               jsonEnum(t.at(2), PushEnv::Sandbox), t.at(3).get<std::string>()});
    }
    const auto& caps = j.at("caps");
    d.capabilities = {caps.at("video").get<bool>(), caps.at("callkit").get<bool>(),
                      caps.at("telecom").get<bool>(), caps.at("fullScreenIntent").get<bool>(),
                      caps.at("calls").get<bool>()};
    d.registered_at = UnixMillis{jsonInteger<std::int64_t>(j.at("registeredAt"))};
    d.last_seen_at = UnixMillis{jsonInteger<std::int64_t>(j.at("lastSeenAt"))};
    d.tokens_at = UnixMillis{j.value("tokensAt", d.registered_at.count())};
    return d;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

}  // namespace turnpike::control
