#include "control/call_service.h"

#include <openssl/rand.h>

#include <spdlog/spdlog.h>

#include <set>

namespace turnpike::control {
namespace {

constexpr UnixMillis kIdempotencyWindow = std::chrono::hours{24};
constexpr UnixMillis kEndedCallRetention = std::chrono::hours{24};

std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

ServiceAnswer errorAnswer(int status, std::string code, std::string message) {
  ServiceAnswer a;
  a.status = status;
  a.error_code = std::move(code);
  a.message = std::move(message);
  return a;
}

bool missed(std::string_view reason) {
  return reason == end_reason::kRingTimeout || reason == end_reason::kCallerCancelled ||
         reason == end_reason::kUnreachable;
}

}  // namespace

std::string randomUuid() {
  unsigned char b[16];
  RAND_bytes(b, sizeof b);
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);  // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) {
      out += '-';
    }
    out += kHex[b[i] >> 4];
    out += kHex[b[i] & 0xF];
  }
  return out;
}

CallService::CallService(Settings settings, const Clock& clock, CallStore& store,
                         tokens::CallTokenIssuer issuer, RelayPort* relay, ControlStats& stats)
    : settings_(std::move(settings)),
      clock_(clock),
      store_(store),
      issuer_(std::move(issuer)),
      relay_(relay),
      stats_(stats),
      hub_([this](const Device& d) { return push_ != nullptr && push_->pushable(d); }),
      book_(settings_.calls, clock_, devices_, hub_, [] { return randomUuid(); }) {}

bool CallService::restore(std::string& error, std::vector<Revocation>& revocations) {
  CallStore::Snapshot snapshot;
  if (!store_.load(snapshot, clock_.unixTime(), error)) {
    return false;
  }
  for (auto& d : snapshot.devices) {
    devices_.restore(std::move(d));
  }
  for (auto& [call, events] : snapshot.active_calls) {
    book_.restore(std::move(call), std::move(events));
  }
  revocations = std::move(snapshot.revocations);
  spdlog::info("control: restored {} devices, {} calls in progress, {} revoked calls",
               devices_.size(), book_.activeCalls(), revocations.size());
  return true;
}

ServiceAnswer CallService::registerDevice(Device device) {
  const auto now = clock_.unixMillis();
  auto registered = devices_.registerDevice(std::move(device), now);
  if (registered.error == DeviceRegistry::RegisterError::TooManyDevices) {
    return errorAnswer(409, "too_many_devices",
                       "a user may register at most " +
                           std::to_string(DeviceRegistry::kMaxDevicesPerUser) + " devices");
  }
  if (registered.error != DeviceRegistry::RegisterError::None) {
    return errorAnswer(503, "overloaded", "the device registry is full");
  }
  CallStore::Batch batch;
  batch.devices.push_back(registered.device);
  for (const Device* other : registered.others_changed) {
    batch.devices.push_back(other);
  }
  CallChanges none;
  if (!commit(none, std::move(batch))) {
    return errorAnswer(500, "internal_error", "the store failed");
  }
  return {200, {{"device", registered.device->toJson()}}, {}, {}, {}};
}

ServiceAnswer CallService::heartbeat(const DeviceKey& key) {
  const Device* d = devices_.heartbeat(key, clock_.unixMillis());
  if (d == nullptr) {
    return errorAnswer(404, "not_found", "deviceId: no such device");
  }
  CallStore::Batch batch;
  batch.devices.push_back(d);
  CallChanges none;
  if (!commit(none, std::move(batch))) {
    return errorAnswer(500, "internal_error", "the store failed");
  }
  return {200, {{"deviceId", key.device_id}, {"lastSeenAt", rfc3339(d->last_seen_at)}}, {}, {}, {}};
}

ServiceAnswer CallService::listDevices(const std::string& user_id) const {
  nlohmann::json list = nlohmann::json::array();
  for (const Device* d : devices_.devicesOf(user_id)) {
    list.push_back(d->toJson());
  }
  return {200, {{"devices", std::move(list)}}, {}, {}, {}};
}

ServiceAnswer CallService::removeDevice(const DeviceKey& key) {
  if (!devices_.remove(key)) {
    return errorAnswer(404, "not_found", "no such device");
  }
  CallStore::Batch batch;
  batch.removed_devices.push_back(key);
  CallChanges none;
  if (!commit(none, std::move(batch))) {
    return errorAnswer(500, "internal_error", "the store failed");
  }
  return {204, nullptr, {}, {}, {}};
}

ServiceAnswer CallService::createCall(const CreateRequest& request,
                                      const std::string& idempotency_key) {
  const auto now = clock_.unixMillis();
  if (!idempotency_key.empty()) {
    if (auto earlier =
            store_.idempotent(request.caller.user_id, idempotency_key, now - kIdempotencyWindow)) {
      auto body = nlohmann::json::parse(earlier->body, nullptr, false);
      return {earlier->status, std::move(body), {}, {}, {}};
    }
  }
  CallChanges changes;
  const CallOutcome outcome = book_.create(request, changes);
  if (!outcome.error_code.empty()) {
    return failure(outcome);
  }
  ++stats_.calls_created;
  ServiceAnswer answer = callAnswer(outcome, true);
  CallStore::Batch batch;
  if (!idempotency_key.empty()) {
    batch.idempotency = IdempotentAnswer{request.caller.user_id, idempotency_key, now,
                                         answer.status, dump(answer.body)};
  }
  if (!commit(changes, std::move(batch))) {
    return errorAnswer(500, "internal_error", "the store failed");
  }
  return answer;
}

ServiceAnswer CallService::getCall(const std::string& call_id, const std::string& user_id) {
  const CallOutcome outcome = book_.get(call_id, user_id);
  if (outcome.error_code.empty()) {
    return {200, {{"call", outcome.call->toJson()}}, {}, {}, {}};
  }
  if (auto stored = storedCallOf(call_id, user_id)) {
    return {200, {{"call", stored->toJson()}}, {}, {}, {}};
  }
  return failure(outcome);
}

ServiceAnswer CallService::act(Action action, const std::string& call_id, const DeviceKey& actor,
                               std::string_view reason) {
  CallChanges changes;
  CallOutcome outcome;
  switch (action) {
    case Action::Ringing: outcome = book_.ringing(call_id, actor, changes); break;
    case Action::Accept: outcome = book_.accept(call_id, actor, changes); break;
    case Action::Decline: outcome = book_.decline(call_id, actor, false, changes); break;
    case Action::DeclineBusy: outcome = book_.decline(call_id, actor, true, changes); break;
    case Action::Connected: outcome = book_.connected(call_id, actor, changes); break;
    case Action::End: outcome = book_.end(call_id, actor, reason, changes); break;
  }
  if (outcome.status == 404 && devices_.find(actor) != nullptr) {
    // Ended calls leave memory; the store still knows them.
    if (auto stored = storedCallOf(call_id, actor.user_id)) {
      const bool idempotent =
          action == Action::End || action == Action::Decline || action == Action::DeclineBusy;
      if (idempotent) {
        return {200, {{"call", stored->toJson()}}, {}, {}, {}};
      }
      const auto* p = stored->participantOf(actor.user_id);
      if (action == Action::Accept && p->state == ParticipantState::Accepted &&
          p->device_id != actor.device_id) {
        return errorAnswer(409, "already_answered", "another device answered the call");
      }
      return errorAnswer(409, "call_ended", "the call has ended");
    }
  }
  if (!outcome.error_code.empty()) {
    return failure(outcome);
  }
  ServiceAnswer answer = callAnswer(outcome, action == Action::Accept);
  if (!commit(changes)) {
    return errorAnswer(500, "internal_error", "the store failed");
  }
  return answer;
}

ServiceAnswer CallService::signal(const std::string& call_id, const DeviceKey& actor,
                                  SignalKind kind, nlohmann::json data) {
  CallChanges changes;
  const CallOutcome outcome = book_.signal(call_id, actor, kind, std::move(data), changes);
  if (outcome.status == 404 && devices_.find(actor) != nullptr &&
      storedCallOf(call_id, actor.user_id)) {
    return errorAnswer(409, "call_ended", "the call has ended");
  }
  if (!outcome.error_code.empty()) {
    return failure(outcome);
  }
  if (!commit(changes)) {
    return errorAnswer(500, "internal_error", "the store failed");
  }
  return {202, nlohmann::json::object(), {}, {}, {}};
}

ServiceAnswer CallService::turnCredentials(std::string_view call_token) {
  std::string error;
  const auto claims = issuer_.verify(call_token, clock_.unixTime(), error);
  if (!claims) {
    return errorAnswer(401, "unauthorized", "call token: " + error);
  }
  const Call* call = book_.find(claims->call_id);
  std::optional<Call> stored;
  if (call == nullptr) {
    stored = store_.loadCall(claims->call_id);
    call = stored ? &*stored : nullptr;
  }
  if (call == nullptr) {
    return errorAnswer(404, "not_found", "no such call");
  }
  if (call->ended()) {
    return errorAnswer(409, "call_ended", "the call has ended");
  }
  ++stats_.turn_credentials_issued;
  const auto creds =
      tokens::turnCredentialsFor(claims->call_id, claims->participant_id, settings_.turn_secret,
                                 settings_.turn_ttl, clock_.unixTime(), settings_.turn_uris);
  return {200,
          {{"username", creds.username},
           {"password", creds.password},
           {"ttl", creds.ttl.count()},
           {"uris", creds.uris}},
          {},
          {},
          {}};
}

ServiceAnswer CallService::adminCall(const std::string& call_id) {
  const Call* call = book_.find(call_id);
  std::optional<Call> stored;
  if (call == nullptr) {
    stored = store_.loadCall(call_id);
    call = stored ? &*stored : nullptr;
  }
  if (call == nullptr) {
    return errorAnswer(404, "not_found", "no such call");
  }
  nlohmann::json timeline = nlohmann::json::array();
  for (const auto& t : store_.timeline(call_id)) {
    nlohmann::json item{{"at", rfc3339(t.at)}, {"event", t.event}};
    if (!t.device_id.empty()) {
      item["deviceId"] = t.device_id;
    }
    if (t.detail.is_object()) {
      for (const auto& [k, v] : t.detail.items()) {
        item[k] = v;
      }
    }
    timeline.push_back(std::move(item));
  }
  return {200, {{"call", call->toJson()}, {"timeline", std::move(timeline)}}, {}, {}, {}};
}

void CallService::hello(http::WebSocket& socket, const DeviceKey& device, bool foreground) {
  const bool first = hub_.deviceOf(socket) == nullptr;
  hub_.bind(socket, device, foreground);
  if (!first) {
    // A foreground change: acknowledged, nothing replayed twice.
    socket.sendText(dump({{"event", "hello.ok"}, {"deviceId", device.device_id}, {"replayed", 0}}));
    return;
  }
  CallChanges changes;
  // Serialized now: committing below may grow the event lists.
  std::vector<std::string> replay;
  for (const auto& [call_id, event] : book_.deviceOnline(device, changes)) {
    replay.push_back(dump(event->message(call_id)));
  }
  socket.sendText(
      dump({{"event", "hello.ok"}, {"deviceId", device.device_id}, {"replayed", replay.size()}}));
  for (const auto& text : replay) {
    socket.sendText(text);
  }
  commit(changes);
}

void CallService::socketClosed(http::WebSocket& socket) { hub_.closed(socket); }

std::optional<UnixMillis> CallService::tick() {
  CallChanges changes;
  book_.tick(changes);
  if (!changes.empty()) {
    commit(changes);
  }
  return book_.nextDeadline();
}

void CallService::expireStored() {
  const auto now = clock_.unixMillis();
  store_.expire(now - kIdempotencyWindow, clock_.unixTime(), now - kEndedCallRetention);
}

void CallService::noteAllocation(const std::string& call_id, std::string_view what,
                                 nlohmann::json detail) {
  CallChanges changes;
  book_.note(call_id, TimelineEntry{clock_.unixMillis(), std::string(what), "", std::move(detail)},
             changes);
  commit(changes);
}

ServiceAnswer CallService::failure(const CallOutcome& outcome) const {
  ServiceAnswer a = errorAnswer(outcome.status, outcome.error_code, outcome.message);
  if (outcome.retry_after) {
    // Whole seconds, rounded up (RFC 9110 §10.2.3).
    a.retry_after = std::chrono::ceil<std::chrono::seconds>(*outcome.retry_after);
  }
  return a;
}

ServiceAnswer CallService::callAnswer(const CallOutcome& outcome, bool with_tokens) {
  ServiceAnswer a;
  a.status = outcome.status;
  a.body = {{"call", outcome.call->toJson()}};
  if (with_tokens && outcome.participant != nullptr) {
    a.body.update(tokensFor(*outcome.call, *outcome.participant));
  }
  return a;
}

nlohmann::json CallService::tokensFor(const Call& call, const Participant& participant) {
  const auto now = clock_.unixTime();
  const std::string token =
      issuer_.issue(participant.user_id, call.call_id, participant.participant_id,
                    call.type == CallType::Video, call.mode, now);
  const auto creds =
      tokens::turnCredentialsFor(call.call_id, participant.participant_id, settings_.turn_secret,
                                 settings_.turn_ttl, now, settings_.turn_uris);
  return {{"callToken", token},
          {"turn",
           {{"username", creds.username},
            {"password", creds.password},
            {"ttl", creds.ttl.count()},
            {"uris", creds.uris}}}};
}

bool CallService::commit(CallChanges& changes, CallStore::Batch batch) {
  std::set<std::string> seen;
  for (const auto& id : changes.calls) {
    if (seen.insert(id).second) {
      if (const Call* c = book_.find(id)) {
        batch.calls.push_back(c);
      }
    }
  }
  for (const auto& [id, event] : changes.events) {
    batch.events.emplace_back(id, &event);
  }
  for (const auto& [id, entry] : changes.timeline) {
    batch.timeline.emplace_back(id, &entry);
  }
  const auto until = clock_.unixTime() + settings_.turn_ttl +
                     std::chrono::duration_cast<std::chrono::seconds>(settings_.calls.max_duration);
  for (const auto& id : changes.ended) {
    batch.revocations.push_back({id, until});
  }
  std::string error;
  if (!store_.commit(batch, error)) {
    ++stats_.store_errors;
    spdlog::error("control: the store refused a change: {}", error);
    return false;
  }
  announce(changes);
  sendPushes(changes);
  for (const auto& id : changes.ended) {
    if (relay_ != nullptr) {
      relay_->revokeCall(id, until, [this, id](std::size_t deleted) {
        stats_.allocations_revoked += deleted;
        if (deleted > 0) {
          noteAllocation(id, "turn.revoked", {{"allocations", deleted}});
        }
      });
    }
  }
  book_.forgetEnded();
  return true;
}

void CallService::announce(const CallChanges& changes) {
  for (const auto& [id, event] : changes.events) {
    const std::string text = dump(event.message(id));
    for (const auto& device : event.recipients) {
      if (hub_.deliver(device, text)) {
        ++stats_.events_sent;
      }
    }
  }
  std::set<std::string> logged;
  for (const auto& [id, entry] : changes.timeline) {
    const Call* call = book_.find(id);
    if (call == nullptr) {
      continue;
    }
    logEvent(*call, entry.event, entry.device_id);
    if (entry.event == "ended") {
      countEnd(*call);
    } else if (entry.event == "accept") {
      ++stats_.calls_answered;
      stats_.time_to_answer.observe(
          std::chrono::duration<double>(entry.at - call->created_at).count());
    }
  }
  for (const auto& [id, event] : changes.events) {
    if (event.name == "call.ringing") {
      if (const Call* call = book_.find(id)) {
        stats_.time_to_ring.observe(
            std::chrono::duration<double>(event.at - call->created_at).count());
      }
    }
  }
}

void CallService::sendPushes(const CallChanges& changes) {
  if (push_ == nullptr) {
    return;
  }
  for (const auto& order : changes.pushes) {
    const Call* call = book_.find(order.call_id);
    const Device* device = devices_.find(order.device);
    if (call != nullptr && device != nullptr) {
      push_->send(order, *call, *device);
    }
  }
}

void CallService::pushReport(const push::PushReport& report) {
  stats_.countPush(report.provider, report.kind, report.result);
  if (report.final) {
    stats_.push_latency.observe(std::chrono::duration<double>(report.elapsed).count());
  }
  nlohmann::json detail{{"provider", report.provider}, {"kind", report.kind},
                        {"attempt", report.attempt},   {"status", report.status},
                        {"result", report.result},     {"reason", report.reason}};
  if (report.retry_in) {
    detail["retryInMs"] = report.retry_in->count();
  }
  const Device* device = devices_.find(report.device);
  spdlog::log(report.result == "delivered" || report.result == "retry" ? spdlog::level::info
                                                                       : spdlog::level::warn,
              "push {}",
              dump({{"callId", report.call_id},
                    {"userId", report.device.user_id},
                    {"deviceId", report.device.device_id},
                    {"platform", device ? platformName(device->platform) : ""},
                    {"provider", report.provider},
                    {"kind", report.kind},
                    {"attempt", report.attempt},
                    {"status", report.status},
                    {"result", report.result},
                    {"reason", report.reason}}));
  if (report.result == "dead_token") {
    removeDeadToken(report);
  }
  CallChanges changes;
  book_.note(report.call_id,
             TimelineEntry{clock_.unixMillis(), "push", report.device.device_id, std::move(detail)},
             changes);
  if (report.kind == "invite" && report.final && report.result != "dropped") {
    book_.pushAnswered(report.call_id, report.device, report.result == "delivered", changes);
  }
  commit(changes);
}

void CallService::removeDeadToken(const push::PushReport& report) {
  if (!report.dead_kind) {
    return;
  }
  // APNs 410 carries when the token went bad: a registration after that
  // brought a token the app still wants.
  const Device* changed = devices_.removeToken(report.device, *report.dead_kind, report.dead_token,
                                               report.invalid_since);
  if (changed == nullptr) {
    spdlog::info("push: kept {}'s token: re-registered after the provider's {}",
                 report.device.device_id, report.reason);
    return;
  }
  ++stats_.push_tokens_removed;
  CallStore::Batch batch;
  batch.devices.push_back(changed);
  CallChanges none;
  commit(none, std::move(batch));
}

void CallService::logEvent(const Call& call, std::string_view what, const std::string& device_id) {
  const Participant* p = nullptr;
  for (const auto& candidate : call.participants) {
    if (!device_id.empty() && candidate.device_id == device_id) {
      p = &candidate;
    }
  }
  std::string user = p != nullptr ? p->user_id : call.initiator_user_id;
  // A callee device that rang but did not answer is in the rung list.
  for (const auto& rung : call.rung) {
    if (p == nullptr && !device_id.empty() && rung.device_id == device_id) {
      user = rung.user_id;
    }
  }
  const Device* device = devices_.find({user, device_id});
  nlohmann::json line{{"callId", call.call_id},
                      {"event", what},
                      {"state", callStateName(call.state)},
                      {"userId", user},
                      {"deviceId", device_id},
                      {"platform", device ? platformName(device->platform) : ""}};
  if (call.ended()) {
    line["endReason"] = call.end_reason;
  }
  spdlog::info("call_event {}", dump(line));
}

void CallService::countEnd(const Call& call) {
  stats_.countEnd(call.end_reason);
  if (missed(call.end_reason)) {
    ++stats_.calls_missed;
  } else if (call.end_reason == end_reason::kDeclined || call.end_reason == end_reason::kBusy) {
    ++stats_.calls_declined;
  }
  if (call.answered_at && call.ended_at) {
    stats_.call_duration.observe(
        std::chrono::duration<double>(*call.ended_at - *call.answered_at).count());
  }
}

std::optional<Call> CallService::storedCallOf(const std::string& call_id,
                                              const std::string& user_id) {
  auto stored = store_.loadCall(call_id);
  if (!stored || stored->participantOf(user_id) == nullptr) {
    return std::nullopt;
  }
  return stored;
}

}  // namespace turnpike::control
