#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "relay/stun/long_term_key.h"

namespace turnpike::auth {

/// A key a request's MESSAGE-INTEGRITY may be checked against, and whom it
/// belongs to.
struct Credential {
  std::string username;  ///< as sent in USERNAME (or resolved from USERHASH)
  std::string user_id;   ///< who is counted for quotas and usage records
  std::vector<std::uint8_t> key;
  /// When a TURN REST credential stops being valid (Unix time); none for static users.
  std::optional<std::chrono::seconds> expires_at;
  /// The call a call-bound credential serves; empty for others. Such a
  /// credential past `expires_at` may still refresh, never allocate.
  std::string call_id;
};

enum class LookupFailure : std::uint8_t {
  UnknownUser,
  ExpiredUsername,  ///< REST expiry in the past
  TtlTooLong,       ///< REST expiry further ahead than auth.max_ttl
  CallEnded,        ///< the call its username names has ended (revoked)
};

/// Where credentials come from. Several candidates may match one username
/// (a REST username under each of the secrets being rotated); the caller
/// checks integrity against each.
class CredentialProvider {
 public:
  virtual ~CredentialProvider() = default;

  /// Appends candidates for `username` to `out`; returns why there are none.
  virtual std::optional<LookupFailure> lookup(std::string_view username, std::string_view realm,
                                              stun::PasswordAlgorithmId algorithm,
                                              std::chrono::seconds unix_now,
                                              std::vector<Credential>& out) const = 0;

  /// RFC 8489 §14.4: the username behind a USERHASH, when this provider can tell.
  [[nodiscard]] virtual std::optional<std::string> usernameForHash(
      std::span<const std::uint8_t> userhash, std::string_view realm) const {
    (void)userhash;
    (void)realm;
    return std::nullopt;
  }
};

}  // namespace turnpike::auth
