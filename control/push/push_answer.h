#pragma once

#include <chrono>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "control/calls/call.h"
#include "control/push/http2_client.h"

namespace turnpike::control::push {

/// What a provider's answer means for the push and the token
/// (research/push-control.md §1.1, §1.2; control-plane.md "Push").
enum class Verdict {
  Delivered,    ///< accepted by the provider
  Retry,        ///< 5xx, 429, no answer: again later, while it still matters
  DeadToken,    ///< the token will never work: remove it from the registry
  ReSign,       ///< APNs ExpiredProviderToken: a fresh provider token, once
  RefreshAuth,  ///< FCM 401: a fresh OAuth access token, once
  Failed,       ///< any other refusal: logged and counted, not retried
};

struct Answer {
  Verdict verdict = Verdict::Failed;
  std::string reason;  ///< the provider's reason ("Unregistered", "UNREGISTERED", ...)
  /// APNs 410: when the token stopped being valid (unix ms).
  std::optional<UnixMillis> invalid_since;
  std::optional<std::chrono::milliseconds> retry_after;
};

/// What any provider's answer says before its body is read: 200 is
/// delivered, no answer at all is worth a retry; nullopt otherwise.
std::optional<Answer> plainAnswer(const HttpResponse& response);
/// The answer's Retry-After, when it has a usable one.
std::optional<std::chrono::milliseconds> retryAfterOf(const HttpResponse& response);

/// `object[key]` when it is a string, else empty: provider answers are
/// read without trusting their types.
std::string stringField(const nlohmann::json& object, const char* key);

/// Retry-After as delay-seconds (RFC 9110 §10.2.3); an HTTP date or junk
/// gives nullopt. Capped at an hour.
std::optional<std::chrono::milliseconds> parseRetryAfter(const std::string& value);

}  // namespace turnpike::control::push
