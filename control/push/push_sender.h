#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "conf/config_loader.h"
#include "conf/control_config.h"
#include "control/calls/call_book.h"
#include "control/calls/sliding_window.h"
#include "control/devices/device.h"
#include "control/push/apns.h"
#include "control/push/fcm.h"
#include "control/push/http2_client.h"
#include "control/push/timers.h"

struct event_base;

namespace turnpike::control::push {

/// The keys push.* names, read and checked (the config only checked that
/// the files exist): the APNs .p8 key, the FCM service account.
struct PushCredentials {
  std::optional<tokens::SigningKey> apns_key;  ///< kid = push.apns.key_id
  std::optional<ServiceAccount> fcm;

  /// Errors name the key and its line, as config errors do.
  static PushCredentials load(const conf::PushConfig& config,
                              std::vector<conf::ConfigError>& errors);
};

/// What became of one attempt, for the timeline, metrics and the registry.
struct PushReport {
  std::string call_id;
  DeviceKey device;
  std::string provider;  ///< "apns", "fcm"
  std::string kind;      ///< "invite", "cancel", "missed_call"
  int attempt = 1;
  int status = 0;      ///< HTTP status; 0 when none
  std::string reason;  ///< the provider's, or ours ("ring_stopped", "rate_limited")
  std::string result;  ///< "delivered", "retry", "dead_token", "failed", "dropped", "rate_limited"
  bool final = true;   ///< no more attempts follow
  std::optional<std::chrono::milliseconds> retry_in;
  /// dead_token: which token, and since when APNs says it is invalid.
  std::optional<PushKind> dead_kind;
  std::string dead_token;
  std::optional<UnixMillis> invalid_since;
  std::chrono::milliseconds elapsed{0};  ///< since the order
};

/// Sends the pushes the call state machine orders, on the control loop:
/// APNs VoIP invites and missed-call alerts, FCM invites and cancels, over
/// one HTTP/2 client; retries with backoff while it still matters; reports
/// every attempt. control-plane.md "Push".
class PushSender {
 public:
  struct Hooks {
    /// Whether the call still rings `device` (an invite is still wanted).
    std::function<bool(const std::string& call_id, const DeviceKey& device)> still_ringing;
    std::function<void(const PushReport&)> report;
    std::function<std::string()> new_id;  ///< apns-id of each push (a UUID)
  };
  static constexpr int kMaxAttempts = 4;
  static constexpr std::size_t kMaxQueued = 10'000;  ///< FCM sends waiting for a token
  /// Pushes in progress (in flight, waiting for a retry or a token): past
  /// it a new push fails at once instead of growing memory.
  static constexpr std::size_t kMaxJobs = 50'000;

  PushSender(event_base* base, const Clock& clock, const conf::PushConfig& config,
             PushCredentials credentials, Hooks hooks);
  ~PushSender();
  PushSender(const PushSender&) = delete;
  PushSender& operator=(const PushSender&) = delete;

  /// A provider is configured for one of the device's tokens that can ring it.
  [[nodiscard]] bool pushable(const Device& device) const;
  /// Sends what `order` asks for to `device`, if anything fits it.
  void send(const PushOrder& order, const Call& call, const Device& device);
  /// New credentials and limits (SIGHUP); requests in flight finish on the
  /// connections they use.
  void reload(const conf::PushConfig& config, PushCredentials credentials);

  [[nodiscard]] std::size_t inFlight() const { return client_.inFlight(); }
  [[nodiscard]] std::uint64_t connectionsOpened() const { return client_.connectionsOpened(); }
  [[nodiscard]] std::uint64_t pingFailures() const { return client_.pingFailures(); }
  [[nodiscard]] std::size_t jobsInProgress() const { return jobs_; }
  [[nodiscard]] std::uint64_t providerTokensSigned() const;
  [[nodiscard]] std::uint64_t accessTokensObtained() const { return access_.obtained(); }

 private:
  struct Job;
  void attempt(const std::shared_ptr<Job>& job);
  void sendApns(const std::shared_ptr<Job>& job);
  void sendFcm(const std::shared_ptr<Job>& job);
  void fetchAccessToken();
  void answered(const std::shared_ptr<Job>& job, const HttpResponse& response,
                const Answer& answer);
  void retryLater(const std::shared_ptr<Job>& job, const Answer& answer, int status);
  bool worthSending(const Job& job) const;
  void finish(const Job& job, int status, std::string reason, std::string result);
  /// Every report goes out here; a final one ends its job.
  void emit(const PushReport& report);
  PushReport reportOf(const Job& job, int status, std::string reason, std::string result) const;
  [[nodiscard]] bool admit(const DeviceKey& device);

  const Clock& clock_;
  conf::PushConfig config_;
  PushCredentials credentials_;
  Hooks hooks_;
  Http2Client client_;
  std::unique_ptr<ProviderToken> provider_token_;
  AccessToken access_;
  bool fetching_token_ = false;
  std::deque<std::shared_ptr<Job>> waiting_for_token_;
  SlidingWindow per_device_;
  SlidingWindow per_user_;
  std::uint64_t sends_ = 0;
  std::size_t jobs_ = 0;
  Timers timers_;  ///< retries; after client_, so none fires into a dead client
};

}  // namespace turnpike::control::push
