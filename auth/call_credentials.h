#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "auth/credential_provider.h"

namespace turnpike::auth {

/// The call id a TURN REST username names: "<expiry>:<callId>:<participantId>"
/// with a lowercase UUID as callId; nullopt for any other username.
std::optional<std::string_view> callIdOfUsername(std::string_view username);

/// Calls whose credentials are refused: written by the control plane when a
/// call ends, read by every worker's authenticator. Thread-safe.
class CallRevocations {
 public:
  static constexpr std::size_t kMaxEntries = 1'000'000;

  /// Refuses the call's credentials until `until` (Unix seconds).
  void add(std::string call_id, std::chrono::seconds until);
  [[nodiscard]] bool revoked(std::string_view call_id, std::chrono::seconds unix_now) const;
  [[nodiscard]] std::size_t size() const;

 private:
  void sweepLocked(std::chrono::seconds unix_now);

  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, std::chrono::seconds> until_;  // guarded by mutex_
};

/// TURN credentials bound to a call (control-plane.md "Bound to the call"):
/// REST credentials whose username names a call. The expiry gates new
/// Allocates only: an allocation of a live call keeps refreshing for up to
/// `grace` (calls.max_duration) past it. A revoked call's credentials are
/// refused outright.
class CallCredentials final : public CredentialProvider {
 public:
  CallCredentials(std::string secret, std::chrono::seconds max_ttl, std::chrono::seconds grace,
                  std::shared_ptr<const CallRevocations> revocations);

  std::optional<LookupFailure> lookup(std::string_view username, std::string_view realm,
                                      stun::PasswordAlgorithmId algorithm,
                                      std::chrono::seconds unix_now,
                                      std::vector<Credential>& out) const override;

 private:
  std::string secret_;
  std::chrono::seconds max_ttl_;
  std::chrono::seconds grace_;
  std::shared_ptr<const CallRevocations> revocations_;
};

}  // namespace turnpike::auth
