#pragma once

#include <nlohmann/json.hpp>

#include "control/calls/call.h"

namespace turnpike::control::push {

/// The invite's fields (seed §6.1, control-plane.md "Push bodies"): event,
/// callId, fromUserId, type, timestamp (creation, unix ms), ttlSeconds (left
/// to ring at `now`), expiresAt (ring deadline, unix ms), and the display
/// fields when known. Nothing secret: no tokens, no SDP.
nlohmann::json invitePayload(const Call& call, UnixMillis now);

/// When the call stops ringing (its ring deadline).
UnixMillis ringDeadline(const Call& call);

}  // namespace turnpike::control::push
