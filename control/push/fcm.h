#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "control/calls/call.h"
#include "control/push/http2_client.h"
#include "control/push/push_answer.h"
#include "control/tokens/jwt.h"

namespace turnpike::control::push {

/// The fields of a Google service-account file that FCM HTTP v1 needs.
struct ServiceAccount {
  std::string project_id;
  std::string client_email;
  std::string token_uri;
  tokens::SigningKey key;  ///< RS256, kid = private_key_id

  /// nullopt with `error` naming what is missing or unusable.
  static std::optional<ServiceAccount> parse(const std::string& json_text, std::string& error);
};

/// The OAuth 2.0 access token for FCM: obtained with an RS256 assertion
/// (RFC 7523) to the account's token_uri, kept until a minute before it
/// expires (or half its lifetime, for short ones), dropped on FCM's 401.
class AccessToken {
 public:
  static constexpr std::chrono::seconds kEarly{60};
  static constexpr const char* kScope = "https://www.googleapis.com/auth/firebase.messaging";

  /// The token, when one is valid at `now` (unix seconds).
  [[nodiscard]] const std::string* valid(std::chrono::seconds now) const;
  /// The form body of the token request.
  static std::string request(const ServiceAccount& account, std::chrono::seconds now);
  /// Takes the token endpoint's answer; false (with `error`) when unusable.
  bool accept(const HttpResponse& response, std::chrono::seconds now, std::string& error);
  /// FCM refused `used`: the next send asks for a new token.
  void invalidate(const std::string& used);
  [[nodiscard]] std::uint64_t obtained() const { return obtained_; }

 private:
  std::string token_;
  std::chrono::seconds expires_at_{0};
  std::chrono::seconds early_{kEarly};  ///< at most half the token's lifetime
  std::uint64_t obtained_ = 0;
};

/// `messages:send` bodies: data-only, string values, priority HIGH,
/// collapse_key = callId. The invite's ttl is the time left to ring.
std::string fcmInvite(const Call& call, const std::string& device_token, UnixMillis now);
std::string fcmCancel(const std::string& call_id, const std::string& device_token,
                      const std::string& reason);

/// FCM's answer (status and google.rpc.Status with FcmError details).
Answer classifyFcm(const HttpResponse& response);

}  // namespace turnpike::control::push
