#include "auth/call_credentials.h"

#include <charconv>
#include <mutex>

#include "auth/rest_key_cache.h"

namespace turnpike::auth {
namespace {

bool isUuid(std::string_view s) {
  if (s.size() != 36) {
    return false;
  }
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::optional<std::string_view> callIdOfUsername(std::string_view username) {
  const auto first = username.find(':');
  if (first == std::string_view::npos) {
    return std::nullopt;
  }
  const auto rest = username.substr(first + 1);
  const auto second = rest.find(':');
  if (second == std::string_view::npos || second + 1 >= rest.size()) {
    return std::nullopt;
  }
  const auto call_id = rest.substr(0, second);
  return isUuid(call_id) ? std::optional(call_id) : std::nullopt;
}

void CallRevocations::add(std::string call_id, std::chrono::seconds until) {
  std::unique_lock lock(mutex_);
  if (until_.size() >= kMaxEntries) {
    sweepLocked(std::chrono::duration_cast<std::chrono::seconds>(
        std::chrono::system_clock::now().time_since_epoch()));
  }
  // Past the bound the oldest revocations still hold through the
  // credentials' own expiry; refusing to record a new one would not.
  auto& entry = until_[std::move(call_id)];
  entry = std::max(entry, until);
}

bool CallRevocations::revoked(std::string_view call_id, std::chrono::seconds unix_now) const {
  std::shared_lock lock(mutex_);
  auto it = until_.find(std::string(call_id));
  return it != until_.end() && it->second > unix_now;
}

std::size_t CallRevocations::size() const {
  std::shared_lock lock(mutex_);
  return until_.size();
}

void CallRevocations::sweepLocked(std::chrono::seconds unix_now) {
  std::erase_if(until_, [&](const auto& entry) { return entry.second <= unix_now; });
}

CallCredentials::CallCredentials(std::string secret, std::chrono::seconds max_ttl,
                                 std::chrono::seconds grace,
                                 std::shared_ptr<const CallRevocations> revocations)
    : secret_(std::move(secret)),
      max_ttl_(max_ttl),
      grace_(grace),
      revocations_(std::move(revocations)) {}

std::optional<LookupFailure> CallCredentials::lookup(std::string_view username,
                                                     std::string_view realm,
                                                     stun::PasswordAlgorithmId algorithm,
                                                     std::chrono::seconds unix_now,
                                                     std::vector<Credential>& out) const {
  const auto call_id = callIdOfUsername(username);
  if (!call_id) {
    return LookupFailure::UnknownUser;
  }
  const std::string_view expiry_text = username.substr(0, username.find(':'));
  std::int64_t expiry = 0;
  const auto [end, ec] =
      std::from_chars(expiry_text.data(), expiry_text.data() + expiry_text.size(), expiry);
  if (ec != std::errc{} || end != expiry_text.data() + expiry_text.size()) {
    return LookupFailure::UnknownUser;
  }
  if (revocations_->revoked(*call_id, unix_now)) {
    return LookupFailure::CallEnded;
  }
  const std::chrono::seconds expires_at{expiry};
  if (expires_at + grace_ <= unix_now) {
    return LookupFailure::ExpiredUsername;
  }
  if (expires_at - unix_now > max_ttl_) {
    return LookupFailure::TtlTooLong;
  }
  auto key = RestKeyCache::forThisThread().longTermKey(secret_, username, realm, algorithm);
  if (!key) {
    return LookupFailure::UnknownUser;
  }
  out.push_back(Credential{std::string(username),
                           std::string(username.substr(username.find(':') + 1)), std::move(*key),
                           expires_at, std::string(*call_id)});
  return std::nullopt;
}

}  // namespace turnpike::auth
