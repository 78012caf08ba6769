#include "control/call_service.h"

#include <openssl/rand.h>

#include <spdlog/spdlog.h>

#include <set>

namespace turnpike::control {
namespace {

constexpr UnixMillis kIdempotencyWindow = std::chrono::hours{24};
constexpr UnixMillis kEndedCallRetention = std::chrono::hours{24};
constexpr std::chrono::seconds kStoreRetryAfter{2};
/// Ended calls whose last version is remembered (late changes of theirs).
constexpr std::size_t kFinishedRemembered = 50'000;

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
  for (auto& stored : snapshot.active_calls) {
    Known& k = known_[stored.call.call_id];
    k.version = stored.version;
    k.seq = stored.events.empty() ? 0 : stored.events.back().seq;
    book_.restore(std::move(stored.call), std::move(stored.events));
  }
  for (const auto& r : snapshot.revocations) {
    revoked_[r.call_id] = r.until;
  }
  revocations = std::move(snapshot.revocations);
  spdlog::info("control: restored {} devices, {} calls in progress, {} revoked calls",
               devices_.size(), book_.activeCalls(), revocations.size());
  return true;
}

ServiceAnswer CallService::registerDevice(Device device) {
  if (auto down = storeDown()) {
    return *down;
  }
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
  if (const auto result = commit(none, std::move(batch));
      result != CallStore::CommitResult::Stored) {
    return storeFailure(result);
  }
  return {200, {{"device", registered.device->toJson()}}, {}, {}, {}};
}

ServiceAnswer CallService::heartbeat(const DeviceKey& key) {
  if (auto down = storeDown()) {
    return *down;
  }
  const Device* d = devices_.heartbeat(key, clock_.unixMillis());
  if (d == nullptr) {
    return errorAnswer(404, "not_found", "deviceId: no such device");
  }
  CallStore::Batch batch;
  batch.devices.push_back(d);
  CallChanges none;
  if (const auto result = commit(none, std::move(batch));
      result != CallStore::CommitResult::Stored) {
    return storeFailure(result);
  }
  return {200, {{"deviceId", key.device_id}, {"lastSeenAt", rfc3339(d->last_seen_at)}}, {}, {}, {}};
}

ServiceAnswer CallService::listDevices(const std::string& user_id) {
  if (auto down = storeDown()) {
    return *down;
  }
  nlohmann::json list = nlohmann::json::array();
  for (const Device* d : devices_.devicesOf(user_id)) {
    list.push_back(d->toJson());
  }
  return {200, {{"devices", std::move(list)}}, {}, {}, {}};
}

ServiceAnswer CallService::removeDevice(const DeviceKey& key) {
  if (auto down = storeDown()) {
    return *down;
  }
  if (!devices_.remove(key)) {
    return errorAnswer(404, "not_found", "no such device");
  }
  CallStore::Batch batch;
  batch.removed_devices.push_back(key);
  CallChanges none;
  if (const auto result = commit(none, std::move(batch));
      result != CallStore::CommitResult::Stored) {
    return storeFailure(result);
  }
  return {204, nullptr, {}, {}, {}};
}

ServiceAnswer CallService::createCall(const CreateRequest& request,
                                      const std::string& idempotency_key) {
  if (auto down = storeDown()) {
    return *down;
  }
  const auto now = clock_.unixMillis();
  if (!idempotency_key.empty()) {
    if (auto earlier =
            store_.idempotent(request.caller.user_id, idempotency_key, now - kIdempotencyWindow)) {
      auto body = nlohmann::json::parse(earlier->body, nullptr, false);
      return {earlier->status, std::move(body), {}, {}, {}};
    }
  }
  ServiceAnswer answer;
  CallStore::Batch batch;
  const auto result = settle(
      [&](CallChanges& changes) {
        const CallOutcome outcome = book_.create(request, changes);
        if (!outcome.error_code.empty()) {
          answer = failure(outcome);
          return false;
        }
        answer = callAnswer(outcome, true);
        batch = {};
        if (!idempotency_key.empty()) {
          batch.idempotency = IdempotentAnswer{request.caller.user_id, idempotency_key, now,
                                               answer.status, dump(answer.body)};
        }
        return true;
      },
      &batch);
  if (result != CallStore::CommitResult::Stored) {
    return storeFailure(result);
  }
  if (answer.error_code.empty()) {
    ++stats_.calls_created;
  }
  return answer;
}

ServiceAnswer CallService::getCall(const std::string& call_id, const std::string& user_id) {
  if (auto down = storeDown()) {
    return *down;
  }
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
  if (auto down = storeDown()) {
    return *down;
  }
  ServiceAnswer answer;
  const auto result = settle([&](CallChanges& changes) {
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
        answer = endedAnswer(action, *stored, actor);
        return false;
      }
    }
    if (!outcome.error_code.empty()) {
      answer = failure(outcome);
      return false;
    }
    answer = callAnswer(outcome, action == Action::Accept);
    return true;
  });
  if (result != CallStore::CommitResult::Stored) {
    return storeFailure(result);
  }
  return answer;
}

ServiceAnswer CallService::endedAnswer(Action action, const Call& stored, const DeviceKey& actor) {
  const bool idempotent =
      action == Action::End || action == Action::Decline || action == Action::DeclineBusy;
  if (idempotent) {
    return {200, {{"call", stored.toJson()}}, {}, {}, {}};
  }
  const auto* p = stored.participantOf(actor.user_id);
  if (action == Action::Accept && p->state == ParticipantState::Accepted &&
      p->device_id != actor.device_id) {
    return errorAnswer(409, "already_answered", "another device answered the call");
  }
  return errorAnswer(409, "call_ended", "the call has ended");
}

ServiceAnswer CallService::signal(const std::string& call_id, const DeviceKey& actor,
                                  SignalKind kind, nlohmann::json data) {
  if (auto down = storeDown()) {
    return *down;
  }
  ServiceAnswer answer{202, nlohmann::json::object(), {}, {}, {}};
  const auto result = settle([&](CallChanges& changes) {
    const CallOutcome outcome = book_.signal(call_id, actor, kind, data, changes);
    if (outcome.status == 404 && devices_.find(actor) != nullptr &&
        storedCallOf(call_id, actor.user_id)) {
      answer = errorAnswer(409, "call_ended", "the call has ended");
      return false;
    }
    if (!outcome.error_code.empty()) {
      answer = failure(outcome);
      return false;
    }
    return true;
  });
  if (result != CallStore::CommitResult::Stored) {
    return storeFailure(result);
  }
  return answer;
}

ServiceAnswer CallService::turnCredentials(std::string_view call_token, const std::string& region) {
  if (auto down = storeDown()) {
    return *down;
  }
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
                                 settings_.turn_ttl, clock_.unixTime(), turnUris(region));
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
  if (peers_ != nullptr) {
    peers_->presence(device, true, foreground);
  }
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

void CallService::socketClosed(http::WebSocket& socket) {
  const auto gone = hub_.closed(socket);
  if (gone && peers_ != nullptr) {
    peers_->presence(*gone, false, false);
  }
}

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
  std::erase_if(revoked_, [now = clock_.unixTime()](const auto& r) { return r.second <= now; });
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
                                 settings_.turn_ttl, now, turnUris({}));
  return {{"callToken", token},
          {"turn",
           {{"username", creds.username},
            {"password", creds.password},
            {"ttl", creds.ttl.count()},
            {"uris", creds.uris}}}};
}

template <typename Step>
CallStore::CommitResult CallService::settle(Step step, CallStore::Batch* batch) {
  auto result = CallStore::CommitResult::Conflict;
  // Each retry runs on the state another node stored first.
  for (int attempt = 0; attempt < 3 && result == CallStore::CommitResult::Conflict; ++attempt) {
    CallChanges changes;
    if (!step(changes)) {
      return CallStore::CommitResult::Stored;  // an answer without a change
    }
    result = commit(changes, batch != nullptr ? std::move(*batch) : CallStore::Batch{});
  }
  return result;
}

CallStore::CommitResult CallService::commit(CallChanges& changes, CallStore::Batch batch) {
  std::set<std::string> seen;
  std::vector<std::string> ids;
  for (const auto& id : changes.calls) {
    if (seen.insert(id).second) {
      if (const Call* c = book_.find(id)) {
        batch.calls.push_back(c);
        auto k = known_.find(id);
        batch.versions.push_back(k != known_.end() ? k->second.version : 0);
        ids.push_back(id);
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
  const auto result = store_.commit(batch, error);
  if (result == CallStore::CommitResult::Conflict) {
    ++stats_.store_conflicts;
    for (const auto& id : ids) {
      refresh(id);
    }
    return result;
  }
  if (result != CallStore::CommitResult::Stored) {
    ++stats_.store_errors;
    spdlog::error("control: the store refused a change: {}", error);
    if (peers_ != nullptr) {
      // Memory may now hold what the store does not: reload it all.
      peers_->lost();
    }
    return result;
  }
  for (const auto& id : ids) {
    ++known_[id].version;
  }
  for (const auto& [id, event] : changes.events) {
    Known& k = known_[id];
    k.seq = std::max(k.seq, event.seq);
  }
  announce(changes);
  sendPushes(changes);
  for (const auto& id : changes.ended) {
    revokeHere(id, until);
    finished(id);
  }
  book_.forgetEnded();
  return result;
}

void CallService::revokeHere(const std::string& call_id, std::chrono::seconds until) {
  if (!revoked_.emplace(call_id, until).second || relay_ == nullptr) {
    return;
  }
  relay_->revokeCall(call_id, until, [this, call_id](std::size_t deleted) {
    stats_.allocations_revoked += deleted;
    if (deleted > 0) {
      noteAllocation(call_id, "turn.revoked", {{"allocations", deleted}});
    }
  });
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
  settle([&](CallChanges& changes) {
    book_.note(report.call_id,
               TimelineEntry{clock_.unixMillis(), "push", report.device.device_id, detail},
               changes);
    if (report.kind == "invite" && report.final && report.result != "dropped") {
      book_.pushAnswered(report.call_id, report.device, report.result == "delivered", changes);
    }
    return true;
  });
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

void CallService::attachPeers(Peers* peers) {
  peers_ = peers;
  hub_.setNodeAlive(
      [this](const std::string& node) { return peers_ != nullptr && peers_->nodeAlive(node); });
}

std::optional<ServiceAnswer> CallService::storeDown() const {
  if (peers_ == nullptr || peers_->ready()) {
    return std::nullopt;
  }
  ServiceAnswer a = errorAnswer(503, "store_unavailable",
                                "the shared store is out of reach; nothing was changed");
  a.retry_after = kStoreRetryAfter;
  return a;
}

ServiceAnswer CallService::storeFailure(CallStore::CommitResult result) {
  if (result == CallStore::CommitResult::Failed) {
    return errorAnswer(500, "internal_error", "the store failed");
  }
  ServiceAnswer a = errorAnswer(503, "store_unavailable",
                                result == CallStore::CommitResult::Conflict
                                    ? "the call kept changing on other nodes; nothing was changed"
                                    : "the shared store is out of reach; nothing was changed");
  a.retry_after = kStoreRetryAfter;
  return a;
}

std::vector<std::string> CallService::turnUris(const std::string& region) const {
  return peers_ != nullptr ? peers_->turnUris(region) : settings_.turn_uris;
}

bool CallService::refresh(const std::string& call_id) {
  std::string error;
  auto stored = store_.fetchCall(call_id, error);
  if (!error.empty()) {
    return false;
  }
  if (!stored) {
    // Never stored (a create the store refused): it never happened.
    book_.drop(call_id);
    known_.erase(call_id);
    return true;
  }
  adopt(std::move(*stored), nullptr);
  return true;
}

void CallService::adopt(StoredCall stored, const std::vector<CallEvent>* fresh) {
  const std::string id = stored.call.call_id;
  Known& k = known_[id];
  std::vector<CallEvent> to_send;
  if (fresh != nullptr) {
    to_send = *fresh;
  } else {
    for (const auto& e : stored.events) {
      if (e.seq > k.seq) {
        to_send.push_back(e);
      }
    }
  }
  k.version = stored.version;
  for (const auto& e : stored.events) {
    k.seq = std::max(k.seq, e.seq);
  }
  const bool ended = stored.call.ended();
  book_.replace(std::move(stored.call), std::move(stored.events));
  for (const auto& e : to_send) {
    const std::string text = dump(e.message(id));
    for (const auto& device : e.recipients) {
      if (hub_.deliver(device, text)) {
        ++stats_.events_sent;
      }
    }
  }
  if (ended) {
    book_.drop(id);
    finished(id);
  }
}

void CallService::finished(const std::string& call_id) {
  const auto it = known_.find(call_id);
  if (it == known_.end()) {
    return;
  }
  if (finished_.insert_or_assign(call_id, it->second.version).second) {
    finished_order_.push_back(call_id);
  }
  known_.erase(it);
  while (finished_order_.size() > kFinishedRemembered) {
    finished_.erase(finished_order_.front());
    finished_order_.pop_front();
  }
}

void CallService::applyRemote(const ChangeMessage& change) {
  for (const auto& d : change.devices) {
    devices_.replace(d);
  }
  for (const auto& k : change.removed_devices) {
    devices_.remove(k);
  }
  for (const auto& c : change.calls) {
    const std::string& id = c.call.call_id;
    const auto it = known_.find(id);
    const bool have = it != known_.end() && book_.find(id) != nullptr;
    const Known k = have ? it->second : Known{};
    if (have && c.version <= k.version) {
      continue;  // this node stored it, or saw it already
    }
    if (const auto done = finished_.find(id);
        !have && done != finished_.end() && c.version <= done->second) {
      continue;  // a late change of a call that ended here
    }
    if ((have && c.version == k.version + 1) || (!have && c.version == 1)) {
      // The next change: this node's events up to its last known seq (none
      // it failed to store), then the new ones.
      std::vector<CallEvent> events;
      if (const auto* mine = book_.eventsOf(id)) {
        for (const auto& e : *mine) {
          if (e.seq <= k.seq) {
            events.push_back(e);
          }
        }
      }
      events.insert(events.end(), c.events.begin(), c.events.end());
      adopt({c.call, std::move(events), c.version}, &c.events);
      continue;
    }
    // A change missed (or a call this node does not hold): the store has
    // all of it. What to deliver: what this node has not announced, or for
    // a call it does not hold, this change's events and any after them.
    std::string error;
    auto stored = store_.fetchCall(id, error);
    if (!stored) {
      continue;
    }
    if (!have) {
      const std::uint64_t before =
          c.call.seq - std::min<std::uint64_t>(c.call.seq, c.events.size());
      known_[id].seq = before;
    }
    adopt(std::move(*stored), nullptr);
  }
  for (const auto& p : change.presence) {
    if (p.online) {
      hub_.remoteOnline({p.device, change.node, p.foreground});
    } else {
      hub_.remoteOffline(p.device, change.node);
    }
  }
  for (const auto& r : change.revocations) {
    revokeHere(r.call_id, r.until);
  }
}

bool CallService::catchUp() {
  CallStore::Snapshot snapshot;
  std::string error;
  if (!store_.load(snapshot, clock_.unixTime(), error)) {
    spdlog::warn("control: cannot reload from the store yet: {}", error);
    return false;
  }
  std::vector<RemoteSocket> sockets;
  if (peers_ != nullptr && !peers_->remoteSockets(sockets)) {
    return false;
  }
  devices_.clear();
  for (auto& d : snapshot.devices) {
    devices_.restore(std::move(d));
  }
  std::set<std::string> active;
  for (auto& stored : snapshot.active_calls) {
    active.insert(stored.call.call_id);
    adopt(std::move(stored), nullptr);
  }
  for (const auto& id : book_.callIds()) {
    if (active.count(id) == 0 && !refresh(id)) {
      return false;
    }
  }
  hub_.clearRemote();
  for (auto& s : sockets) {
    hub_.remoteOnline(std::move(s));
  }
  if (peers_ != nullptr) {
    // The store may have lost them (a Redis restarted without its data).
    for (const auto& [device, foreground] : hub_.localDevices()) {
      peers_->presence(device, true, foreground);
    }
  }
  for (const auto& r : snapshot.revocations) {
    revokeHere(r.call_id, r.until);
  }
  return true;
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
