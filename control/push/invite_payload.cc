#include "control/push/invite_payload.h"

#include <algorithm>

namespace turnpike::control::push {

UnixMillis ringDeadline(const Call& call) {
  // While it rings, the call's deadline is the ring deadline.
  return call.deadline.value_or(call.created_at);
}

nlohmann::json invitePayload(const Call& call, UnixMillis now) {
  const UnixMillis deadline = ringDeadline(call);
  const auto left = std::max<std::int64_t>(0, (deadline - now).count());
  nlohmann::json out{{"event", "incoming_call"},
                     {"callId", call.call_id},
                     {"fromUserId", call.host().user_id},
                     {"type", callTypeName(call.type)},
                     {"timestamp", call.created_at.count()},
                     {"ttlSeconds", (left + 999) / 1000},
                     {"expiresAt", deadline.count()},
                     {"modeHint", call.mode}};
  if (!call.caller_display_name.empty()) {
    out["callerDisplayName"] = call.caller_display_name;
  }
  if (!call.caller_avatar_url.empty()) {
    out["callerAvatarUrl"] = call.caller_avatar_url;
  }
  return out;
}

}  // namespace turnpike::control::push
