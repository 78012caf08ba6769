#include "control/calls/call_book.h"

#include <algorithm>
#include <cctype>

namespace turnpike::control {
namespace {

using namespace end_reason;

CallOutcome failure(int status, std::string code, std::string message) {
  CallOutcome out;
  out.status = status;
  out.error_code = std::move(code);
  out.message = std::move(message);
  return out;
}

CallOutcome notFound() { return failure(404, "not_found", "no such call"); }
CallOutcome callEnded() { return failure(409, "call_ended", "the call has ended"); }

bool contains(const std::vector<DeviceKey>& keys, const DeviceKey& key) {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

std::string lowercase(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// The callee's other rung devices: told when one of them answered or refused.
std::vector<DeviceKey> allBut(const std::vector<DeviceKey>& devices, const DeviceKey& one) {
  std::vector<DeviceKey> out;
  std::copy_if(devices.begin(), devices.end(), std::back_inserter(out),
               [&](const DeviceKey& d) { return !(d == one); });
  return out;
}

bool activeOnLine(CallState s) { return s == CallState::Connecting || s == CallState::Connected; }

}  // namespace

CallBook::CallBook(const conf::CallsConfig& config, const Clock& clock,
                   const DeviceRegistry& devices, const Presence& presence,
                   std::function<std::string()> new_id)
    : config_(config),
      clock_(clock),
      devices_(devices),
      presence_(presence),
      new_id_(std::move(new_id)),
      creates_(config.rate_limits.create_per_minute, std::chrono::minutes{1}),
      signals_(config.rate_limits.signals_per_second, std::chrono::seconds{1}) {}

CallOutcome CallBook::create(const CreateRequest& request, CallChanges& changes) {
  const UnixMillis now = clock_.unixMillis();
  if (request.mode != "p2p" || request.callees.size() != 1) {
    return failure(400, "unsupported_mode", "only p2p calls with one callee are supported");
  }
  const std::string& callee = request.callees.front();
  if (callee == request.caller.user_id) {
    return failure(400, "invalid_field", "callees: a user cannot call themselves");
  }
  if (devices_.find(request.caller) == nullptr) {
    return failure(404, "not_found", "deviceId: no such device");
  }
  if (calls_.size() >= kMaxActiveCalls) {
    return failure(503, "overloaded", "too many calls in progress");
  }
  if (auto wait = creates_.admit(request.caller.user_id, now)) {
    auto out = failure(429, "rate_limited", "too many calls created in the last minute");
    out.retry_after = wait;
    return out;
  }
  Entry entry;
  Call& call = entry.call;
  call.call_id = lowercase(new_id_());
  call.type = request.type;
  call.mode = request.mode;
  call.created_at = now;
  call.max_end = now + config_.max_duration;
  call.initiator_user_id = request.caller.user_id;
  call.caller_display_name = request.caller_display_name;
  call.caller_avatar_url = request.caller_avatar_url;
  call.participants.push_back({"p-" + lowercase(new_id_()), request.caller.user_id, Role::Host,
                               ParticipantState::Accepted, request.caller.device_id});
  call.participants.push_back(
      {"p-" + lowercase(new_id_()), callee, Role::Member, ParticipantState::Invited, ""});
  const std::string id = call.call_id;
  Entry& e = calls_.emplace(id, std::move(entry)).first->second;
  index(e.call);
  touch(e, "create", request.caller.device_id, changes, {{"callee", callee}});

  if (config_.busy_policy == conf::BusyPolicy::Busy && busy(callee)) {
    e.call.participants[1].state = ParticipantState::Busy;
    emit(e, "call.busy", {{"reason", kBusy}}, {e.call.callerDevice()}, changes);
    finish(e, kBusy, changes);
    return ok(e, &e.call.host(), 201);
  }
  if (Entry* other = glareWith(request.caller.user_id, callee)) {
    // Both ring at once: the smaller callId survives, answered for the
    // device that placed the other one (callIds compare as lowercase).
    Entry& loser = other->call.call_id > id ? *other : e;
    Entry& winner = &loser == &e ? *other : e;
    const DeviceKey placed_loser = loser.call.callerDevice();
    finish(loser, kGlare, changes);
    Participant& member = winner.call.participants[1];
    acceptFor(winner, member, placed_loser, changes);
    return ok(e, &e.call.host(), 201);
  }
  e.call.rung = ringTargets(callee);
  if (e.call.rung.empty()) {
    finish(e, kUnreachable, changes);
    return ok(e, &e.call.host(), 201);
  }
  setDeadline(e, std::min(now + config_.ring_timeout, e.call.max_end));
  nlohmann::json incoming{{"fromUserId", request.caller.user_id},
                          {"fromDeviceId", request.caller.device_id},
                          {"type", callTypeName(request.type)},
                          {"mode", request.mode},
                          {"expiresAt", rfc3339(now + config_.ring_timeout)}};
  if (!request.caller_display_name.empty()) {
    incoming["callerDisplayName"] = request.caller_display_name;
  }
  if (!request.caller_avatar_url.empty()) {
    incoming["callerAvatarUrl"] = request.caller_avatar_url;
  }
  emit(e, "call.incoming", std::move(incoming), e.call.rung, changes);
  for (const auto& device : std::vector<DeviceKey>(e.call.rung)) {
    if (presence_.online(device)) {
      markReached(e, device, changes);
    }
  }
  orderInvites(e, changes);
  return ok(e, &e.call.host(), 201);
}

CallOutcome CallBook::ringing(const std::string& call_id, const DeviceKey& actor,
                              CallChanges& changes) {
  Entry* e = nullptr;
  if (auto out = locate(call_id, actor, e); e == nullptr) {
    return out;
  }
  Participant* p = e->call.participantOf(actor.user_id);
  if (e->call.ended()) {
    return callEnded();
  }
  if (p->role == Role::Member && !e->call.answered()) {
    if (p->state == ParticipantState::Invited) {
      p->state = ParticipantState::Ringing;
    }
    touch(*e, "ringing", actor.device_id, changes);
    markReached(*e, actor, changes);
  }
  return ok(*e, p);
}

CallOutcome CallBook::accept(const std::string& call_id, const DeviceKey& actor,
                             CallChanges& changes) {
  Entry* e = nullptr;
  if (auto out = locate(call_id, actor, e); e == nullptr) {
    return out;
  }
  Participant* p = e->call.participantOf(actor.user_id);
  if (p->role == Role::Host) {
    return failure(409, "invalid_state", "the caller cannot accept its own call");
  }
  if (p->state == ParticipantState::Accepted) {
    // The first accept wins; the winner asking again gets the same answer.
    if (p->device_id == actor.device_id && !e->call.ended()) {
      return ok(*e, p);
    }
    if (p->device_id != actor.device_id) {
      return failure(409, "already_answered", "another device answered the call");
    }
  }
  if (e->call.ended()) {
    return callEnded();
  }
  acceptFor(*e, *p, actor, changes);
  return ok(*e, p);
}

CallOutcome CallBook::decline(const std::string& call_id, const DeviceKey& actor, bool busy,
                              CallChanges& changes) {
  Entry* e = nullptr;
  if (auto out = locate(call_id, actor, e); e == nullptr) {
    return out;
  }
  Participant* p = e->call.participantOf(actor.user_id);
  // After an answer or the end, a decline changes nothing.
  if (e->call.ended() || e->call.answered()) {
    return ok(*e, p);
  }
  if (p->role == Role::Host) {
    return end(call_id, actor, "", changes);
  }
  p->state = busy ? ParticipantState::Busy : ParticipantState::Declined;
  touch(*e, busy ? "busy" : "decline", actor.device_id, changes);
  if (busy) {
    emit(*e, "call.busy", {{"reason", kBusy}}, {e->call.callerDevice()}, changes);
  }
  if (auto others = allBut(e->call.rung, actor); !others.empty()) {
    emit(*e, "call.ended", {{"reason", kRejectedElsewhere}}, std::move(others), changes);
  }
  finish(*e, busy ? kBusy : kDeclined, changes, {}, {});
  return ok(*e, p);
}

CallOutcome CallBook::connected(const std::string& call_id, const DeviceKey& actor,
                                CallChanges& changes) {
  Entry* e = nullptr;
  if (auto out = locate(call_id, actor, e); e == nullptr) {
    return out;
  }
  Participant* p = e->call.participantOf(actor.user_id);
  if (e->call.ended()) {
    return callEnded();
  }
  if (e->call.state == CallState::Connected) {
    return ok(*e, p);
  }
  if (e->call.state != CallState::Connecting) {
    return failure(409, "invalid_state", "the call has not been answered");
  }
  e->call.state = CallState::Connected;
  setDeadline(*e, e->call.max_end);
  touch(*e, "connected", actor.device_id, changes);
  return ok(*e, p);
}

CallOutcome CallBook::end(const std::string& call_id, const DeviceKey& actor,
                          std::string_view reason, CallChanges& changes) {
  Entry* e = nullptr;
  if (auto out = locate(call_id, actor, e); e == nullptr) {
    return out;
  }
  Participant* p = e->call.participantOf(actor.user_id);
  if (e->call.ended()) {
    return ok(*e, p);
  }
  std::string_view why = kHangup;
  if (reason == kError) {
    why = kError;
  } else if (!e->call.answered()) {
    why = p->role == Role::Host ? kCallerCancelled : kDeclined;
  }
  if (p->role == Role::Member && !e->call.answered()) {
    p->state = ParticipantState::Declined;
  } else if (e->call.answered()) {
    p->state = ParticipantState::Left;
  }
  touch(*e, "end", actor.device_id, changes, {{"reason", why}});
  finish(*e, why, changes);
  return ok(*e, p);
}

CallOutcome CallBook::signal(const std::string& call_id, const DeviceKey& actor, SignalKind kind,
                             nlohmann::json data, CallChanges& changes) {
  Entry* e = nullptr;
  if (auto out = locate(call_id, actor, e); e == nullptr) {
    return out;
  }
  Participant* p = e->call.participantOf(actor.user_id);
  if (e->call.ended()) {
    return callEnded();
  }
  const UnixMillis now = clock_.unixMillis();
  if (auto wait = signals_.admit(call_id, now); wait || e->events.size() >= kMaxEventsPerCall) {
    auto out = failure(429, "rate_limited", "too many signaling messages for this call");
    out.retry_after = wait.value_or(UnixMillis{1000});
    return out;
  }
  const std::size_t bytes = data.dump().size();
  if (e->signal_bytes + bytes > kMaxSignalBytesPerCall) {
    return failure(409, "signaling_limit",
                   "this call has carried its limit of signaling (" +
                       std::to_string(kMaxSignalBytesPerCall / 1024) + " KiB)");
  }
  std::vector<DeviceKey> to;
  const auto answering = e->call.answeringDevice();
  if (p->role == Role::Host) {
    if (actor.device_id != p->device_id) {
      return failure(409, "invalid_state", "only the device that placed the call signals");
    }
    // Before an answer the offer goes to every ringing device (and is
    // replayed to those that connect later); after, only to the answerer.
    to = answering ? std::vector<DeviceKey>{*answering} : e->call.rung;
  } else {
    if (answering && !(*answering == actor)) {
      return failure(409, "already_answered", "another device answered the call");
    }
    to = {e->call.callerDevice()};
  }
  data["fromUserId"] = actor.user_id;
  data["fromDeviceId"] = actor.device_id;
  e->signal_bytes += bytes;
  static constexpr std::string_view kNames[] = {"signal.offer", "signal.answer", "signal.ice"};
  emit(*e, std::string(kNames[static_cast<int>(kind)]), std::move(data), std::move(to), changes);
  CallOutcome out = ok(*e, p, 202);
  return out;
}

CallOutcome CallBook::get(const std::string& call_id, const std::string& user_id) const {
  auto it = calls_.find(call_id);
  if (it == calls_.end() || it->second.call.participantOf(user_id) == nullptr) {
    return notFound();
  }
  CallOutcome out;
  out.call = &it->second.call;
  out.participant = it->second.call.participantOf(user_id);
  return out;
}

std::vector<std::pair<std::string, const CallEvent*>> CallBook::deviceOnline(
    const DeviceKey& device, CallChanges& changes) {
  std::vector<std::pair<std::string, const CallEvent*>> replay;
  auto range = active_by_user_.equal_range(device.user_id);
  std::vector<std::string> ids;
  for (auto it = range.first; it != range.second; ++it) {
    ids.push_back(it->second);
  }
  for (const auto& id : ids) {
    Entry* e = findEntry(id);
    if (e == nullptr || e->call.ended()) {
      continue;
    }
    if (contains(e->call.rung, device) && !e->call.answered()) {
      // A rung device opened its socket (woken by its push, say): in the
      // timeline, so the gap from push to app is there to read.
      touch(*e, "hello", device.device_id, changes);
      markReached(*e, device, changes);
    }
    for (const auto& event : e->events) {
      if (contains(event.recipients, device)) {
        replay.emplace_back(id, &event);
      }
    }
  }
  return replay;
}

void CallBook::pushAnswered(const std::string& call_id, const DeviceKey& device, bool delivered,
                            CallChanges& changes) {
  Entry* e = findEntry(call_id);
  if (e == nullptr || e->call.ended()) {
    return;
  }
  if (delivered) {
    markReached(*e, device, changes);
    return;
  }
  if (!contains(e->call.push_failed, device)) {
    e->call.push_failed.push_back(device);
    changes.calls.push_back(call_id);
  }
  if (e->call.answered()) {
    return;
  }
  const bool any_left = std::any_of(e->call.rung.begin(), e->call.rung.end(), [&](const auto& d) {
    return !contains(e->call.push_failed, d) || presence_.online(d);
  });
  if (!any_left) {
    touch(*e, "unreachable", "", changes, {{"why", "every invite push failed"}});
    finish(*e, kUnreachable, changes);
  }
}

bool CallBook::ringing(const std::string& call_id, const DeviceKey& device) const {
  const auto it = calls_.find(call_id);
  if (it == calls_.end()) {
    return false;
  }
  const Call& call = it->second.call;
  return !call.ended() && !call.answered() && contains(call.rung, device);
}

void CallBook::tick(CallChanges& changes) {
  const UnixMillis now = clock_.unixMillis();
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    const std::string id = deadlines_.begin()->second;
    Entry* e = findEntry(id);
    if (e == nullptr) {
      deadlines_.erase(deadlines_.begin());
      continue;
    }
    switch (e->call.state) {
      case CallState::Created:
      case CallState::Ringing:
        emit(*e, "call.timeout", {{"reason", kRingTimeout}}, {e->call.callerDevice()}, changes);
        touch(*e, "timeout", "", changes, {{"reason", kRingTimeout}});
        finish(*e, kRingTimeout, changes);
        break;
      case CallState::Connecting:
        touch(*e, "timeout", "", changes, {{"reason", kConnectTimeout}});
        finish(*e, kConnectTimeout, changes);
        break;
      case CallState::Connected:
        touch(*e, "timeout", "", changes, {{"reason", "max_duration"}});
        finish(*e, kHangup, changes, {}, {{"detail", "max_duration"}});
        break;
      case CallState::Ended: setDeadline(*e, std::nullopt); break;
    }
  }
}

std::optional<UnixMillis> CallBook::nextDeadline() const {
  if (deadlines_.empty()) {
    return std::nullopt;
  }
  return deadlines_.begin()->first;
}

void CallBook::restore(Call call, std::vector<CallEvent> events) {
  const std::string id = call.call_id;
  Entry& e = calls_[id];
  e.call = std::move(call);
  e.events = std::move(events);
  e.signal_bytes = 0;
  for (const auto& event : e.events) {
    if (event.name.rfind("signal.", 0) == 0) {
      e.signal_bytes += event.data.dump().size();
    }
  }
  if (!e.call.ended()) {
    index(e.call);
    if (e.call.deadline) {
      deadlines_.emplace(*e.call.deadline, id);
    }
  }
}

void CallBook::replace(Call call, std::vector<CallEvent> events) {
  drop(call.call_id);
  restore(std::move(call), std::move(events));
}

void CallBook::drop(const std::string& call_id) {
  auto it = calls_.find(call_id);
  if (it == calls_.end()) {
    return;
  }
  if (!it->second.call.ended()) {
    unindex(it->second.call);
  }
  setDeadline(it->second, std::nullopt);
  calls_.erase(it);
}

std::vector<std::string> CallBook::callIds() const {
  std::vector<std::string> out;
  out.reserve(calls_.size());
  for (const auto& [id, entry] : calls_) {
    out.push_back(id);
  }
  return out;
}

void CallBook::forgetEnded() {
  std::erase_if(calls_, [](const auto& entry) { return entry.second.call.ended(); });
}

void CallBook::note(const std::string& call_id, TimelineEntry entry, CallChanges& changes) {
  changes.timeline.emplace_back(call_id, std::move(entry));
}

const Call* CallBook::find(const std::string& call_id) const {
  auto it = calls_.find(call_id);
  return it == calls_.end() ? nullptr : &it->second.call;
}

const std::vector<CallEvent>* CallBook::eventsOf(const std::string& call_id) const {
  auto it = calls_.find(call_id);
  return it == calls_.end() ? nullptr : &it->second.events;
}

CallBook::Entry* CallBook::findEntry(const std::string& call_id) {
  auto it = calls_.find(call_id);
  return it == calls_.end() ? nullptr : &it->second;
}

CallOutcome CallBook::locate(const std::string& call_id, const DeviceKey& actor, Entry*& entry) {
  entry = nullptr;
  Entry* e = findEntry(call_id);
  // Existence is not leaked: not a participant and no such call look alike.
  if (e == nullptr || e->call.participantOf(actor.user_id) == nullptr) {
    return notFound();
  }
  if (devices_.find(actor) == nullptr) {
    return failure(404, "not_found", "deviceId: no such device");
  }
  entry = e;
  return {};
}

void CallBook::emit(Entry& e, std::string name, nlohmann::json data, std::vector<DeviceKey> to,
                    CallChanges& changes) {
  CallEvent event;
  event.seq = ++e.call.seq;
  event.name = std::move(name);
  event.at = clock_.unixMillis();
  event.data = std::move(data);
  event.recipients = std::move(to);
  e.events.push_back(event);
  if (event.name == "call.ended") {
    orderCancels(e, event, changes);
  }
  changes.events.emplace_back(e.call.call_id, std::move(event));
  changes.calls.push_back(e.call.call_id);
}

void CallBook::touch(Entry& e, std::string_view what, const std::string& device_id,
                     CallChanges& changes, nlohmann::json detail) {
  changes.timeline.emplace_back(
      e.call.call_id,
      TimelineEntry{clock_.unixMillis(), std::string(what), device_id, std::move(detail)});
  changes.calls.push_back(e.call.call_id);
}

void CallBook::setDeadline(Entry& e, std::optional<UnixMillis> deadline) {
  if (e.call.deadline) {
    deadlines_.erase({*e.call.deadline, e.call.call_id});
  }
  e.call.deadline = deadline;
  if (deadline) {
    deadlines_.emplace(*deadline, e.call.call_id);
  }
}

void CallBook::finish(Entry& e, std::string_view reason, CallChanges& changes,
                      std::vector<DeviceKey> also_tell, const nlohmann::json& detail) {
  Call& call = e.call;
  // Everyone involved hears the end once; the caller even when its 201
  // already shows it.
  std::vector<DeviceKey> to = involved(call);
  for (auto& d : also_tell) {
    if (!contains(to, d)) {
      to.push_back(std::move(d));
    }
  }
  // Devices that already heard a more specific end (answered/rejected
  // elsewhere) are not told twice.
  for (const auto& event : e.events) {
    if (event.name == "call.ended") {
      std::erase_if(to, [&](const DeviceKey& d) { return contains(event.recipients, d); });
    }
  }
  nlohmann::json data{{"reason", reason}};
  if (detail.is_object()) {
    data.update(detail);
  }
  unindex(call);
  call.state = CallState::Ended;
  call.end_reason = std::string(reason);
  call.ended_at = clock_.unixMillis();
  setDeadline(e, std::nullopt);
  emit(e, "call.ended", std::move(data), std::move(to), changes);
  touch(e, "ended", "", changes, {{"reason", reason}});
  changes.ended.push_back(call.call_id);
}

void CallBook::markReached(Entry& e, const DeviceKey& device, CallChanges& changes) {
  if (contains(e.call.reached, device) || e.call.ended() || e.call.answered()) {
    return;
  }
  e.call.reached.push_back(device);
  changes.calls.push_back(e.call.call_id);
  if (e.call.state == CallState::Created) {
    e.call.state = CallState::Ringing;
    e.call.participants[1].state = ParticipantState::Ringing;
    emit(e, "call.ringing", {{"deviceCount", e.call.rung.size()}}, {e.call.callerDevice()},
         changes);
  }
}

void CallBook::orderInvites(Entry& e, CallChanges& changes) {
  for (const auto& device : e.call.rung) {
    if (contains(e.call.pushed, device) || presence_.foreground(device)) {
      continue;
    }
    const Device* d = devices_.find(device);
    if (d == nullptr || !presence_.pushable(*d)) {
      continue;
    }
    e.call.pushed.push_back(device);
    changes.pushes.push_back({PushOrder::Kind::Invite, e.call.call_id, device, ""});
  }
}

void CallBook::orderCancels(const Entry& e, const CallEvent& ended, CallChanges& changes) {
  const auto answering = e.call.answeringDevice();
  const std::string reason = ended.data.value("reason", "");
  for (const auto& device : ended.recipients) {
    // The device that answered is past ringing; one whose invite failed has
    // nothing to cancel.
    if (!contains(e.call.pushed, device) || contains(e.call.push_failed, device) ||
        (answering && *answering == device)) {
      continue;
    }
    changes.pushes.push_back({PushOrder::Kind::Cancel, e.call.call_id, device, reason});
  }
}

void CallBook::acceptFor(Entry& e, Participant& callee, const DeviceKey& device,
                         CallChanges& changes) {
  const UnixMillis now = clock_.unixMillis();
  callee.state = ParticipantState::Accepted;
  callee.device_id = device.device_id;
  e.call.answered_at = now;
  e.call.state = CallState::Connecting;
  setDeadline(e, std::min(now + config_.connect_timeout, e.call.max_end));
  touch(e, "accept", device.device_id, changes);
  emit(e, "call.accepted", {{"byUserId", device.user_id}, {"byDeviceId", device.device_id}},
       {e.call.callerDevice()}, changes);
  if (auto others = allBut(e.call.rung, device); !others.empty()) {
    emit(e, "call.ended", {{"reason", kAnsweredElsewhere}}, std::move(others), changes);
  }
}

std::vector<DeviceKey> CallBook::involved(const Call& call, const DeviceKey* except) const {
  std::vector<DeviceKey> out{call.callerDevice()};
  if (const auto answering = call.answeringDevice()) {
    out.push_back(*answering);
  } else {
    for (const auto& d : call.rung) {
      out.push_back(d);
    }
  }
  if (except != nullptr) {
    std::erase(out, *except);
  }
  return out;
}

std::vector<DeviceKey> CallBook::ringTargets(const std::string& callee) const {
  std::vector<DeviceKey> out;
  for (const Device* d : devices_.devicesOf(callee)) {
    if (out.size() >= config_.max_ringing_devices) {
      break;
    }
    if (!d->capabilities.calls) {
      continue;
    }
    if (presence_.online(d->key) || presence_.pushable(*d)) {
      out.push_back(d->key);
    }
  }
  return out;
}

bool CallBook::busy(const std::string& user_id) const {
  auto range = active_by_user_.equal_range(user_id);
  for (auto it = range.first; it != range.second; ++it) {
    auto call = calls_.find(it->second);
    if (call != calls_.end() && activeOnLine(call->second.call.state)) {
      return true;
    }
  }
  return false;
}

CallBook::Entry* CallBook::glareWith(const std::string& caller, const std::string& callee) {
  auto range = active_by_user_.equal_range(callee);
  for (auto it = range.first; it != range.second; ++it) {
    Entry* e = findEntry(it->second);
    if (e != nullptr && !e->call.answered() && !e->call.ended() &&
        e->call.host().user_id == callee && e->call.participantOf(caller) != nullptr &&
        (e->call.state == CallState::Created || e->call.state == CallState::Ringing)) {
      return e;
    }
  }
  return nullptr;
}

CallOutcome CallBook::ok(Entry& e, const Participant* p, int status) const {
  CallOutcome out;
  out.status = status;
  out.call = &e.call;
  out.participant = p;
  return out;
}

void CallBook::index(const Call& call) {
  for (const auto& p : call.participants) {
    active_by_user_.emplace(p.user_id, call.call_id);
  }
}

void CallBook::unindex(const Call& call) {
  for (const auto& p : call.participants) {
    auto range = active_by_user_.equal_range(p.user_id);
    for (auto it = range.first; it != range.second; ++it) {
      if (it->second == call.call_id) {
        active_by_user_.erase(it);
        break;
      }
    }
  }
}

}  // namespace turnpike::control
