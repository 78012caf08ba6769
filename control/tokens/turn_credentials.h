#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace turnpike::control::tokens {

/// The TURN REST answer (draft-uberti-behave-turn-rest §2.2).
struct TurnCredentials {
  std::string username;  ///< "<expiry>:<callId>:<participantId>"
  std::string password;  ///< base64(HMAC-SHA1(secret, username))
  std::chrono::seconds ttl{0};
  std::vector<std::string> uris;
};

/// Credentials bound to a call: they expire `ttl` after `unix_now`.
TurnCredentials turnCredentialsFor(std::string_view call_id, std::string_view participant_id,
                                   std::string_view secret, std::chrono::seconds ttl,
                                   std::chrono::seconds unix_now, std::vector<std::string> uris);

}  // namespace turnpike::control::tokens
