#include "control/push/apns.h"

#include "control/push/invite_payload.h"

namespace turnpike::control::push {
namespace {

constexpr std::size_t kVoipLimit = 5120;
constexpr std::size_t kAlertLimit = 4096;

std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

ProviderToken::ProviderToken(tokens::SigningKey key, std::string team_id, const Clock& clock,
                             std::chrono::seconds refresh_after)
    : key_(std::move(key)),
      team_id_(std::move(team_id)),
      clock_(clock),
      refresh_after_(refresh_after) {}

const std::string& ProviderToken::current() {
  if (token_.empty() || clock_.unixTime() - issued_at_ >= refresh_after_) {
    sign();
  }
  return token_;
}

void ProviderToken::expired(const std::string& used) {
  if (used == token_) {
    token_.clear();
  }
}

void ProviderToken::replace(tokens::SigningKey key, std::string team_id) {
  key_ = std::move(key);
  team_id_ = std::move(team_id);
  token_.clear();
}

void ProviderToken::sign() {
  issued_at_ = clock_.unixTime();
  token_ = tokens::signJwt({{"iss", team_id_}, {"iat", issued_at_.count()}}, key_);
  ++signings_;
}

std::optional<ApnsNotice> apnsInvite(const Call& call, const std::string& device_token,
                                     const std::string& bundle_id, UnixMillis now,
                                     const std::string& apns_id) {
  nlohmann::json body = invitePayload(call, now);
  std::string text = dump(body);
  // What CallKit shows goes last: the avatar first.
  for (const char* optional : {"callerAvatarUrl", "callerDisplayName"}) {
    if (text.size() > kVoipLimit) {
      body.erase(optional);
      text = dump(body);
    }
  }
  if (text.size() > kVoipLimit) {
    return std::nullopt;
  }
  const auto expiration = std::chrono::duration_cast<std::chrono::seconds>(ringDeadline(call));
  return ApnsNotice{"/3/device/" + device_token,
                    {"apns-push-type: voip", "apns-topic: " + bundle_id + ".voip",
                     "apns-priority: 10", "apns-expiration: " + std::to_string(expiration.count()),
                     "apns-id: " + apns_id, "content-type: application/json"},
                    std::move(text)};
}

ApnsNotice apnsMissedCall(const Call& call, const std::string& device_token,
                          const std::string& bundle_id, const std::string& apns_id) {
  std::string who =
      call.caller_display_name.empty() ? call.host().user_id : call.caller_display_name;
  if (who.size() > 256) {
    who.resize(256);  // bytes; an invalid UTF-8 tail is replaced on dump
  }
  const nlohmann::json body{
      {"aps", {{"alert", {{"title", "Missed call"}, {"body", who}}}, {"sound", "default"}}},
      {"event", "missed_call"},
      {"callId", call.call_id}};
  std::string text = dump(body);
  if (text.size() > kAlertLimit) {
    text.resize(0);  // cannot happen with the bounds above; refuse rather than truncate JSON
  }
  return ApnsNotice{"/3/device/" + device_token,
                    {"apns-push-type: alert", "apns-topic: " + bundle_id, "apns-priority: 10",
                     "apns-expiration: 0", "apns-collapse-id: " + call.call_id,
                     "apns-id: " + apns_id, "content-type: application/json"},
                    std::move(text)};
}

Answer classifyApns(const HttpResponse& response) {
  if (auto plain = plainAnswer(response)) {
    return *plain;
  }
  Answer a;
  a.retry_after = retryAfterOf(response);
  const auto body = nlohmann::json::parse(response.body, nullptr, false);
  if (body.is_object()) {
    a.reason = stringField(body, "reason");
    if (const auto ts = body.find("timestamp"); ts != body.end() && ts->is_number_integer()) {
      a.invalid_since = UnixMillis{ts->get<std::int64_t>()};
    }
  }
  const std::string& r = a.reason;
  if (response.status == 410 || r == "BadDeviceToken" || r == "DeviceTokenNotForTopic" ||
      r == "TopicDisallowed") {
    a.verdict = Verdict::DeadToken;
  } else if (response.status == 403 && r == "ExpiredProviderToken") {
    a.verdict = Verdict::ReSign;
  } else if (response.status >= 500 ||
             (response.status == 429 && r != "TooManyProviderTokenUpdates")) {
    a.verdict = Verdict::Retry;
  } else {
    a.verdict = Verdict::Failed;
  }
  return a;
}

}  // namespace turnpike::control::push
