#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "control/calls/call.h"

namespace turnpike::control {

enum class Platform { Ios, Android, Web };
enum class PushKind { Voip, Apns, Fcm };
enum class PushEnv { Production, Sandbox };

std::string_view platformName(Platform p);
std::string_view pushKindName(PushKind k);
std::string_view pushEnvName(PushEnv e);
std::optional<Platform> platformFromName(std::string_view name);
std::optional<PushKind> pushKindFromName(std::string_view name);
std::optional<PushEnv> pushEnvFromName(std::string_view name);

struct PushToken {
  PushKind kind = PushKind::Voip;
  std::string token;
  PushEnv env = PushEnv::Production;  ///< APNs kinds only
  std::string app_id;
  bool operator==(const PushToken&) const = default;
};

struct Capabilities {
  bool video = false;
  bool callkit = false;
  bool telecom = false;
  bool full_screen_intent = false;
  bool calls = true;  ///< false: never rung
  bool operator==(const Capabilities&) const = default;
};

/// A user's app install (seed §2.1 Device).
struct Device {
  DeviceKey key;
  Platform platform = Platform::Web;
  std::vector<PushToken> push_tokens;
  Capabilities capabilities;
  UnixMillis registered_at{0};
  UnixMillis last_seen_at{0};
  /// The last registration, which set push_tokens: an APNs 410 older than
  /// this does not remove a token.
  UnixMillis tokens_at{0};

  /// The contract's shape; tokens shown as "…" + their last 8 characters.
  [[nodiscard]] nlohmann::json toJson() const;
  /// Everything, tokens in full, for the store.
  [[nodiscard]] nlohmann::json toStored() const;
  static std::optional<Device> fromStored(const nlohmann::json& j);
};

}  // namespace turnpike::control
