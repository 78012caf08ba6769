#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "conf/duration.h"
#include "conf/network_text.h"

namespace turnpike::conf {

/// api.user_tokens: keys the app backend signs user tokens (JWT) with.
/// Several may be valid at once (rotation).
struct UserTokensConfig {
  std::vector<std::string> hs256_secrets;
  std::vector<std::string> public_keys;  ///< PEM files: ES256, RS256 or EdDSA
  std::string issuer;                    ///< empty: not checked
  std::string audience;                  ///< empty: not checked

  bool operator==(const UserTokensConfig&) const = default;
};

/// The call API: HTTP/1.1 + WebSocket on `listen`, TLS unless `tls` is false.
struct ApiConfig {
  /// Empty: no call API (and no control plane).
  std::vector<Endpoint> listen{Endpoint{"0.0.0.0", 8443, false}};
  bool tls = true;
  std::uint32_t max_body = 64 * 1024;
  std::uint32_t max_connections = 10'000;
  /// RFC 7065 URIs handed out with TURN credentials; empty: built from the
  /// listen addresses and relay.addresses[].external.
  std::vector<std::string> turn_uris;
  UserTokensConfig user_tokens;

  bool operator==(const ApiConfig&) const = default;
};

enum class BusyPolicy { Busy, Ring };

struct CallRateLimits {
  std::uint32_t create_per_minute = 10;   ///< per user, sliding minute
  std::uint32_t signals_per_second = 50;  ///< per call

  bool operator==(const CallRateLimits&) const = default;
};

struct CallsConfig {
  Duration ring_timeout{std::chrono::seconds{30}};
  Duration connect_timeout{std::chrono::seconds{20}};
  Duration max_duration{std::chrono::hours{4}};
  BusyPolicy busy_policy = BusyPolicy::Busy;
  std::uint32_t max_ringing_devices = 3;
  CallRateLimits rate_limits;

  bool operator==(const CallsConfig&) const = default;
};

/// Call tokens (ES256 JWTs Turnpike signs) and the TURN credentials derived
/// from them. No signing key: one is generated and kept in the store.
struct CallTokensConfig {
  std::string signing_key;               ///< PEM file
  std::vector<std::string> verify_keys;  ///< PEM files still accepted
  Duration ttl{std::chrono::seconds{120}};
  Duration turn_ttl{std::chrono::minutes{5}};

  bool operator==(const CallTokensConfig&) const = default;
};

enum class StoreBackend { Sqlite, Redis };

struct StoreConfig {
  StoreBackend backend = StoreBackend::Sqlite;
  std::string sqlite_path = "turnpike.db";  ///< store.sqlite.path

  bool operator==(const StoreConfig&) const = default;
};

/// push.apns: token-based APNs (a .p8 key of the team). Empty private_key:
/// no APNs, and iOS devices ring only over their WebSocket.
struct ApnsConfig {
  std::string team_id;
  std::string key_id;
  std::string private_key;   ///< PEM file (.p8)
  int private_key_line = 0;  ///< where the file was named, for errors found on reading it
  std::string bundle_id;
  std::string production_url = "https://api.push.apple.com";
  std::string sandbox_url = "https://api.sandbox.push.apple.com";

  [[nodiscard]] bool enabled() const { return !private_key.empty(); }
  bool operator==(const ApnsConfig&) const = default;
};

/// push.fcm: FCM HTTP v1 with a Google service account. Empty
/// service_account: no FCM.
struct FcmConfig {
  std::string service_account;  ///< JSON file
  int service_account_line = 0;
  std::string url = "https://fcm.googleapis.com";

  [[nodiscard]] bool enabled() const { return !service_account.empty(); }
  bool operator==(const FcmConfig&) const = default;
};

struct PushRateLimits {
  std::uint32_t per_device_per_minute = 10;
  std::uint32_t per_user_per_minute = 30;

  bool operator==(const PushRateLimits&) const = default;
};

struct PushConfig {
  ApnsConfig apns;
  FcmConfig fcm;
  std::string ca_file;  ///< extra trust for the providers' TLS (local test servers)
  PushRateLimits rate_limits;
  /// One request's deadline (an invite's is also cut at the ring deadline).
  Duration request_timeout{std::chrono::seconds{10}};
  /// A provider connection quiet this long gets an HTTP/2 PING; one not
  /// answered within min(5s, this) is dropped and its requests retried.
  Duration ping_interval{std::chrono::seconds{30}};

  bool operator==(const PushConfig&) const = default;
};

}  // namespace turnpike::conf
