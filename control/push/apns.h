#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "control/calls/call.h"
#include "control/push/http2_client.h"
#include "control/push/push_answer.h"
#include "control/tokens/jwt.h"
#include "relay/base/clock.h"

namespace turnpike::control::push {

/// The APNs provider token: one ES256 JWT (kid = key id, iss = team id,
/// iat) shared by every request and connection, signed again only when it
/// is `refresh_after` old. Apple refuses tokens older than an hour (403
/// ExpiredProviderToken) and connections whose token changes more often
/// than every 20 minutes (429 TooManyProviderTokenUpdates).
class ProviderToken {
 public:
  static constexpr std::chrono::minutes kRefreshAfter{50};

  ProviderToken(tokens::SigningKey key, std::string team_id, const Clock& clock,
                std::chrono::seconds refresh_after = kRefreshAfter);

  /// The token to send now.
  const std::string& current();
  /// APNs said `used` expired: the next current() signs a new one, unless
  /// that already happened since `used` was handed out.
  void expired(const std::string& used);
  /// New credentials (SIGHUP): used from the next request on.
  void replace(tokens::SigningKey key, std::string team_id);
  [[nodiscard]] std::uint64_t signings() const { return signings_; }

 private:
  void sign();

  tokens::SigningKey key_;
  std::string team_id_;
  const Clock& clock_;
  std::chrono::seconds refresh_after_;
  std::string token_;
  std::chrono::seconds issued_at_{0};
  std::uint64_t signings_ = 0;
};

/// An APNs request without its host and bearer: path, headers, body.
struct ApnsNotice {
  std::string path;
  std::vector<std::string> headers;
  std::string body;
};

/// The VoIP invite: push type voip, topic <bundle>.voip, priority 10,
/// expiration at the ring deadline; nullopt when the body would pass
/// APNs' 5120-byte VoIP limit (the display fields are dropped first).
std::optional<ApnsNotice> apnsInvite(const Call& call, const std::string& device_token,
                                     const std::string& bundle_id, UnixMillis now,
                                     const std::string& apns_id);
/// The "Missed call" alert to the regular apns token, collapsed by callId.
ApnsNotice apnsMissedCall(const Call& call, const std::string& device_token,
                          const std::string& bundle_id, const std::string& apns_id);

/// APNs' answer (status and {"reason", "timestamp"}) as a verdict.
Answer classifyApns(const HttpResponse& response);

}  // namespace turnpike::control::push
