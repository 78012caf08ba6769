#include "control/push/push_sender.h"

#include <spdlog/spdlog.h>

#include "conf/text_file.h"
#include "control/push/invite_payload.h"

namespace turnpike::control::push {
namespace {

constexpr std::chrono::milliseconds kFirstBackoff{250};
constexpr std::chrono::milliseconds kMaxBackoff{4000};
/// A cancel is worth sending for this long after the call ended.
constexpr std::chrono::seconds kCancelWindow{60};

Http2Client::Options clientOptions(const conf::PushConfig& config) {
  Http2Client::Options o;
  o.ca_file = config.ca_file;
  o.ping_interval = std::chrono::duration_cast<std::chrono::milliseconds>(config.ping_interval);
  o.ping_timeout = std::min(o.ping_interval, std::chrono::milliseconds{5000});
  return o;
}

const PushToken* tokenOf(const Device& device, PushKind kind) {
  for (const auto& t : device.push_tokens) {
    if (t.kind == kind) {
      return &t;
    }
  }
  return nullptr;
}

}  // namespace

struct PushSender::Job {
  PushOrder order;
  std::string provider;  // "apns", "fcm"
  std::string kind;      // "invite", "cancel", "missed_call"
  PushToken token;
  Call call;  // a copy: the payload is built from it on each attempt
  std::string apns_id;
  int attempt = 0;
  bool re_signed = false;
  bool re_authed = false;
  UnixMillis give_up_at{0};
  UnixMillis ordered_at{0};
};

PushCredentials PushCredentials::load(const conf::PushConfig& config,
                                      std::vector<conf::ConfigError>& errors) {
  PushCredentials out;
  std::string error;
  if (config.apns.enabled()) {
    const auto pem = conf::readTextFile(config.apns.private_key);
    auto key = pem ? tokens::SigningKey::fromPem(*pem, error) : std::nullopt;
    if (!pem) {
      error = "cannot read " + config.apns.private_key;
    }
    if (!key) {
      errors.push_back({"push.apns.private_key", config.apns.private_key_line,
                        error + " (an APNs auth key is EC P-256)"});
    } else {
      out.apns_key = key->withKid(config.apns.key_id);
    }
  }
  if (config.fcm.enabled()) {
    const auto text = conf::readTextFile(config.fcm.service_account);
    auto account = text ? ServiceAccount::parse(*text, error) : std::nullopt;
    if (!text) {
      error = "cannot read " + config.fcm.service_account;
    }
    if (!account) {
      errors.push_back({"push.fcm.service_account", config.fcm.service_account_line,
                        config.fcm.service_account + ": " + error});
    } else {
      out.fcm = std::move(account);
    }
  }
  return out;
}

PushSender::PushSender(event_base* base, const Clock& clock, const conf::PushConfig& config,
                       PushCredentials credentials, Hooks hooks)
    : clock_(clock),
      config_(config),
      credentials_(std::move(credentials)),
      hooks_(std::move(hooks)),
      client_(base, clientOptions(config)),
      per_device_(config.rate_limits.per_device_per_minute, std::chrono::minutes{1}),
      per_user_(config.rate_limits.per_user_per_minute, std::chrono::minutes{1}),
      timers_(base) {
  if (credentials_.apns_key) {
    provider_token_ =
        std::make_unique<ProviderToken>(*credentials_.apns_key, config_.apns.team_id, clock_);
  }
}

PushSender::~PushSender() = default;

std::uint64_t PushSender::providerTokensSigned() const {
  return provider_token_ ? provider_token_->signings() : 0;
}

bool PushSender::pushable(const Device& device) const {
  switch (device.platform) {
    // Only a VoIP token rings an iPhone (an alert cannot start CallKit).
    case Platform::Ios: return provider_token_ && tokenOf(device, PushKind::Voip) != nullptr;
    case Platform::Android:
    case Platform::Web: return credentials_.fcm && tokenOf(device, PushKind::Fcm) != nullptr;
  }
  return false;
}

void PushSender::send(const PushOrder& order, const Call& call, const Device& device) {
  auto job = std::make_shared<Job>();
  job->order = order;
  job->call = call;
  job->ordered_at = clock_.unixMillis();
  job->give_up_at = order.kind == PushOrder::Kind::Invite
                        ? ringDeadline(call)
                        : clock_.unixMillis() + std::chrono::milliseconds{kCancelWindow};
  const bool invite = order.kind == PushOrder::Kind::Invite;
  const PushToken* token = nullptr;
  if (device.platform == Platform::Ios) {
    // Never a second VoIP push: a cancel reaches iOS as a missed-call alert,
    // and only for a call nobody answered.
    const bool missed =
        order.reason == end_reason::kRingTimeout || order.reason == end_reason::kCallerCancelled;
    if (!provider_token_ || (!invite && !missed)) {
      return;
    }
    token = tokenOf(device, invite ? PushKind::Voip : PushKind::Apns);
    job->provider = "apns";
    job->kind = invite ? "invite" : "missed_call";
  } else {
    if (!credentials_.fcm) {
      return;
    }
    token = tokenOf(device, PushKind::Fcm);
    job->provider = "fcm";
    job->kind = invite ? "invite" : "cancel";
  }
  if (token == nullptr) {
    return;
  }
  job->token = *token;
  job->apns_id = hooks_.new_id ? hooks_.new_id() : std::string();
  ++jobs_;
  if (jobs_ > kMaxJobs) {
    finish(*job, 0, "too many pushes in progress", "failed");
    return;
  }
  if (!admit(order.device)) {
    finish(*job, 0, "rate_limited", "rate_limited");
    return;
  }
  attempt(job);
}

bool PushSender::admit(const DeviceKey& device) {
  const auto now = clock_.unixMillis();
  if (++sends_ % 1024 == 0) {
    per_device_.sweep(now);
    per_user_.sweep(now);
  }
  return !per_user_.admit(device.user_id, now) &&
         !per_device_.admit(device.user_id + "\n" + device.device_id, now);
}

bool PushSender::worthSending(const Job& job) const {
  if (clock_.unixMillis() >= job.give_up_at) {
    return false;
  }
  return job.order.kind != PushOrder::Kind::Invite ||
         (hooks_.still_ringing && hooks_.still_ringing(job.order.call_id, job.order.device));
}

void PushSender::attempt(const std::shared_ptr<Job>& job) {
  if (!worthSending(*job)) {
    finish(*job, 0, "ring_stopped", "dropped");
    return;
  }
  ++job->attempt;
  if (job->provider == "apns") {
    sendApns(job);
  } else {
    sendFcm(job);
  }
}

void PushSender::sendApns(const std::shared_ptr<Job>& job) {
  if (!provider_token_) {
    finish(*job, 0, "apns is no longer configured", "failed");
    return;
  }
  const auto now = clock_.unixMillis();
  std::optional<ApnsNotice> notice;
  if (job->kind == "invite") {
    notice = apnsInvite(job->call, job->token.token, config_.apns.bundle_id, now, job->apns_id);
  } else {
    notice = apnsMissedCall(job->call, job->token.token, config_.apns.bundle_id, job->apns_id);
  }
  if (!notice || notice->body.empty()) {
    finish(*job, 0, "PayloadTooLarge", "failed");
    return;
  }
  HttpRequest request;
  const auto& base =
      job->token.env == PushEnv::Sandbox ? config_.apns.sandbox_url : config_.apns.production_url;
  request.url = base + notice->path;
  request.headers = std::move(notice->headers);
  const std::string bearer = provider_token_->current();
  request.headers.push_back("authorization: bearer " + bearer);
  request.body = std::move(notice->body);
  request.timeout =
      std::min(std::chrono::duration_cast<std::chrono::milliseconds>(config_.request_timeout),
               job->give_up_at - now);
  client_.send(std::move(request), [this, job, bearer](const HttpResponse& response) {
    Answer answer = classifyApns(response);
    if (answer.verdict == Verdict::ReSign && !job->re_signed && provider_token_) {
      job->re_signed = true;
      provider_token_->expired(bearer);
    } else if (answer.verdict == Verdict::ReSign) {
      answer.verdict = Verdict::Failed;
    }
    answered(job, response, answer);
  });
}

void PushSender::sendFcm(const std::shared_ptr<Job>& job) {
  if (!credentials_.fcm) {
    finish(*job, 0, "fcm is no longer configured", "failed");
    return;
  }
  const auto now = clock_.unixTime();
  const std::string* bearer = access_.valid(now);
  if (bearer == nullptr) {
    if (waiting_for_token_.size() >= kMaxQueued) {
      finish(*job, 0, "too many pushes waiting for an access token", "failed");
      return;
    }
    --job->attempt;  // not sent yet
    waiting_for_token_.push_back(job);
    fetchAccessToken();
    return;
  }
  HttpRequest request;
  request.url = config_.fcm.url + "/v1/projects/" + credentials_.fcm->project_id + "/messages:send";
  request.headers = {"authorization: Bearer " + *bearer, "content-type: application/json"};
  request.body = job->kind == "invite"
                     ? fcmInvite(job->call, job->token.token, clock_.unixMillis())
                     : fcmCancel(job->order.call_id, job->token.token, job->order.reason);
  request.timeout =
      std::min(std::chrono::duration_cast<std::chrono::milliseconds>(config_.request_timeout),
               job->give_up_at - clock_.unixMillis());
  client_.send(std::move(request), [this, job, used = *bearer](const HttpResponse& response) {
    Answer answer = classifyFcm(response);
    if (answer.verdict == Verdict::RefreshAuth && !job->re_authed) {
      job->re_authed = true;
      access_.invalidate(used);
    } else if (answer.verdict == Verdict::RefreshAuth) {
      answer.verdict = Verdict::Failed;
    }
    answered(job, response, answer);
  });
}

void PushSender::fetchAccessToken() {
  if (fetching_token_ || !credentials_.fcm) {
    return;
  }
  fetching_token_ = true;
  HttpRequest request;
  request.url = credentials_.fcm->token_uri;
  request.headers = {"content-type: application/x-www-form-urlencoded"};
  request.body = AccessToken::request(*credentials_.fcm, clock_.unixTime());
  request.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(config_.request_timeout);
  client_.send(std::move(request), [this](const HttpResponse& response) {
    fetching_token_ = false;
    std::string error;
    const bool ok = access_.accept(response, clock_.unixTime(), error);
    if (!ok) {
      spdlog::warn("push: fcm: no OAuth access token: {}", error);
    }
    auto waiting = std::move(waiting_for_token_);
    waiting_for_token_.clear();
    for (auto& job : waiting) {
      if (ok) {
        attempt(job);
      } else {
        ++job->attempt;
        Answer answer;
        answer.verdict = Verdict::Retry;
        answer.reason = "oauth: " + error;
        answered(job, response, answer);
      }
    }
  });
}

void PushSender::answered(const std::shared_ptr<Job>& job, const HttpResponse& response,
                          const Answer& answer) {
  const int status = response.status;
  switch (answer.verdict) {
    case Verdict::Delivered: finish(*job, status, answer.reason, "delivered"); return;
    case Verdict::DeadToken: {
      PushReport r = reportOf(*job, status, answer.reason, "dead_token");
      r.dead_kind = job->token.kind;
      r.dead_token = job->token.token;
      r.invalid_since = answer.invalid_since;
      emit(r);
      return;
    }
    case Verdict::ReSign:
    case Verdict::RefreshAuth: {
      // Once, at once, with fresh credentials.
      PushReport r = reportOf(*job, status, answer.reason, "retry");
      r.final = false;
      r.retry_in = std::chrono::milliseconds{0};
      emit(r);
      attempt(job);
      return;
    }
    case Verdict::Retry: retryLater(job, answer, status); return;
    case Verdict::Failed: finish(*job, status, answer.reason, "failed"); return;
  }
}

void PushSender::retryLater(const std::shared_ptr<Job>& job, const Answer& answer, int status) {
  auto delay = kFirstBackoff * (1 << std::min(job->attempt - 1, 4));
  delay = std::min(delay, kMaxBackoff);
  if (answer.retry_after) {
    delay = *answer.retry_after;
  }
  const bool in_time = clock_.unixMillis() + delay < job->give_up_at;
  if (job->attempt >= kMaxAttempts || !in_time) {
    finish(*job, status, answer.reason.empty() ? "retries exhausted" : answer.reason, "failed");
    return;
  }
  PushReport r = reportOf(*job, status, answer.reason, "retry");
  r.final = false;
  r.retry_in = delay;
  emit(r);
  timers_.after(delay, [this, job] { attempt(job); });
}

PushReport PushSender::reportOf(const Job& job, int status, std::string reason,
                                std::string result) const {
  PushReport r;
  r.call_id = job.order.call_id;
  r.device = job.order.device;
  r.provider = job.provider;
  r.kind = job.kind;
  r.attempt = std::max(job.attempt, 1);
  r.status = status;
  r.reason = std::move(reason);
  r.result = std::move(result);
  r.elapsed = clock_.unixMillis() - job.ordered_at;
  return r;
}

void PushSender::emit(const PushReport& report) {
  if (report.final && jobs_ > 0) {
    --jobs_;
  }
  if (hooks_.report) {
    hooks_.report(report);
  }
}

void PushSender::finish(const Job& job, int status, std::string reason, std::string result) {
  emit(reportOf(job, status, std::move(reason), std::move(result)));
}

void PushSender::reload(const conf::PushConfig& config, PushCredentials credentials) {
  const bool apns_same = config.apns == config_.apns && credentials.apns_key &&
                         credentials_.apns_key &&
                         credentials.apns_key->toPem() == credentials_.apns_key->toPem();
  if (!(config.rate_limits == config_.rate_limits)) {
    per_device_ = SlidingWindow(config.rate_limits.per_device_per_minute, std::chrono::minutes{1});
    per_user_ = SlidingWindow(config.rate_limits.per_user_per_minute, std::chrono::minutes{1});
  }
  // Another service account needs another access token; the same keeps it.
  const auto account = [](const PushCredentials& c) {
    return c.fcm ? c.fcm->client_email + "\n" + c.fcm->token_uri + "\n" + c.fcm->key.toPem()
                 : std::string();
  };
  const bool fcm_same = account(credentials) == account(credentials_);
  config_ = config;
  credentials_ = std::move(credentials);
  if (!credentials_.apns_key) {
    provider_token_.reset();
  } else if (!provider_token_) {
    provider_token_ =
        std::make_unique<ProviderToken>(*credentials_.apns_key, config_.apns.team_id, clock_);
  } else if (!apns_same) {
    // APNs binds a connection to the provider token's team: new
    // connections for the new key; the old ones finish what they carry.
    provider_token_->replace(*credentials_.apns_key, config_.apns.team_id);
    client_.rotate();
  }
  if (!fcm_same) {
    access_ = AccessToken{};
  }
}

}  // namespace turnpike::control::push
