#include "control/calls/call.h"
#include "control/calls/json_integer.h"

#include "control/calls/enum_names.h"

#include <ctime>

namespace turnpike::control {
namespace {

constexpr std::string_view kTypeNames[] = {"audio", "video"};
constexpr std::string_view kStateNames[] = {"created", "ringing", "connecting", "connected",
                                            "ended"};
constexpr std::string_view kRoleNames[] = {"host", "member"};
constexpr std::string_view kParticipantStateNames[] = {"invited",  "ringing", "accepted",
                                                       "declined", "busy",    "left"};

nlohmann::json deviceKeyJson(const DeviceKey& k) { return {k.user_id, k.device_id}; }

std::vector<DeviceKey> deviceKeys(const nlohmann::json& j) {
  std::vector<DeviceKey> out;
  for (const auto& item : j) {
    out.push_back({item.at(0).get<std::string>(), item.at(1).get<std::string>()});
  }
  return out;
}

nlohmann::json optionalTime(const std::optional<UnixMillis>& t) {
  return t ? nlohmann::json(rfc3339(*t)) : nlohmann::json(nullptr);
}

nlohmann::json optionalMillis(const std::optional<UnixMillis>& t) {
  return t ? nlohmann::json(t->count()) : nlohmann::json(nullptr);
}

std::optional<UnixMillis> millisFrom(const nlohmann::json& j) {
  if (j.is_number_integer()) {
    return UnixMillis{j.get<std::int64_t>()};
  }
  return std::nullopt;
}

}  // namespace

std::string_view callTypeName(CallType t) { return kTypeNames[static_cast<int>(t)]; }
std::string_view callStateName(CallState s) { return kStateNames[static_cast<int>(s)]; }
std::string_view roleName(Role r) { return kRoleNames[static_cast<int>(r)]; }
std::string_view participantStateName(ParticipantState s) {
  return kParticipantStateNames[static_cast<int>(s)];
}
std::optional<CallType> callTypeFromName(std::string_view name) {
  return enumFromName<CallType>(kTypeNames, name);
}

nlohmann::json CallEvent::message(const std::string& call_id) const {
  return {{"event", name}, {"callId", call_id}, {"seq", seq}, {"at", rfc3339(at)}, {"data", data}};
}

nlohmann::json CallEvent::toStored() const {
  nlohmann::json to = nlohmann::json::array();
  for (const auto& k : recipients) {
    to.push_back({k.user_id, k.device_id});
  }
  return {{"seq", seq}, {"name", name}, {"at", at.count()}, {"data", data}, {"to", to}};
}

std::optional<CallEvent> CallEvent::fromStored(const nlohmann::json& j) {
  if (!j.is_object()) {
    return std::nullopt;
  }
  try {
    CallEvent e;
    e.seq = jsonInteger<std::uint64_t>(j.at("seq"));
    e.name = j.at("name").get<std::string>();
    e.at = UnixMillis{jsonInteger<std::int64_t>(j.at("at"))};
    e.data = j.at("data");
    for (const auto& k : j.at("to")) {
      e.recipients.push_back({k.at(0).get<std::string>(), k.at(1).get<std::string>()});
    }
    return e;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

Participant* Call::participantOf(std::string_view user_id) {
  for (auto& p : participants) {
    if (p.user_id == user_id) {
      return &p;
    }
  }
  return nullptr;
}

const Participant* Call::participantOf(std::string_view user_id) const {
  return const_cast<Call*>(this)->participantOf(user_id);
}

std::optional<DeviceKey> Call::answeringDevice() const {
  for (const auto& p : participants) {
    // A callee's device is set only when it answers; it stays the answering
    // device after it hangs up (Left).
    if (p.role == Role::Member && !p.device_id.empty() &&
        (p.state == ParticipantState::Accepted || p.state == ParticipantState::Left)) {
      return DeviceKey{p.user_id, p.device_id};
    }
  }
  return std::nullopt;
}

nlohmann::json Call::toJson() const {
  nlohmann::json people = nlohmann::json::array();
  for (const auto& p : participants) {
    people.push_back({{"participantId", p.participant_id},
                      {"userId", p.user_id},
                      {"role", roleName(p.role)},
                      {"state", participantStateName(p.state)},
                      {"deviceId", p.device_id.empty() ? nlohmann::json(nullptr)
                                                       : nlohmann::json(p.device_id)}});
  }
  return {{"callId", call_id},
          {"type", callTypeName(type)},
          {"mode", mode},
          {"state", callStateName(state)},
          {"endReason", end_reason.empty() ? nlohmann::json(nullptr) : nlohmann::json(end_reason)},
          {"createdAt", rfc3339(created_at)},
          {"answeredAt", optionalTime(answered_at)},
          {"endedAt", optionalTime(ended_at)},
          {"initiatorUserId", initiator_user_id},
          {"participants", std::move(people)}};
}

nlohmann::json Call::toStored() const {
  nlohmann::json people = nlohmann::json::array();
  for (const auto& p : participants) {
    people.push_back({p.participant_id, p.user_id, static_cast<int>(p.role),
                      static_cast<int>(p.state), p.device_id});
  }
  auto keysJson = [](const std::vector<DeviceKey>& keys) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& k : keys) {
      out.push_back(deviceKeyJson(k));
    }
    return out;
  };
  return {{"id", call_id},
          {"type", static_cast<int>(type)},
          {"mode", mode},
          {"state", static_cast<int>(state)},
          {"endReason", end_reason},
          {"createdAt", created_at.count()},
          {"answeredAt", optionalMillis(answered_at)},
          {"endedAt", optionalMillis(ended_at)},
          {"initiator", initiator_user_id},
          {"participants", std::move(people)},
          {"displayName", caller_display_name},
          {"avatarUrl", caller_avatar_url},
          {"deadline", optionalMillis(deadline)},
          {"maxEnd", max_end.count()},
          {"rung", keysJson(rung)},
          {"reached", keysJson(reached)},
          {"pushed", keysJson(pushed)},
          {"pushFailed", keysJson(push_failed)},
          {"seq", seq}};
}

std::optional<Call> Call::fromStored(const nlohmann::json& j) {
  try {
    Call c;
    c.call_id = j.at("id").get<std::string>();
    c.type = jsonEnum(j.at("type"), CallType::Video);
    c.mode = j.at("mode").get<std::string>();
    c.state = jsonEnum(j.at("state"), CallState::Ended);
    c.end_reason = j.at("endReason").get<std::string>();
    c.created_at = UnixMillis{jsonInteger<std::int64_t>(j.at("createdAt"))};
    c.answered_at = millisFrom(j.at("answeredAt"));
    c.ended_at = millisFrom(j.at("endedAt"));
    c.initiator_user_id = j.at("initiator").get<std::string>();
    for (const auto& p : j.at("participants")) {
      c.participants.push_back(
          {p.at(0).get<std::string>(), p.at(1).get<std::string>(), jsonEnum(p.at(2), Role::Member),
           jsonEnum(p.at(3), ParticipantState::Left), p.at(4).get<std::string>()});
    }
    c.caller_display_name = j.at("displayName").get<std::string>();
    c.caller_avatar_url = j.at("avatarUrl").get<std::string>();
    c.deadline = millisFrom(j.at("deadline"));
    c.max_end = UnixMillis{jsonInteger<std::int64_t>(j.at("maxEnd"))};
    c.rung = deviceKeys(j.at("rung"));
    c.reached = deviceKeys(j.at("reached"));
    // Calls stored before push (schema 2) have neither list.
    c.pushed = deviceKeys(j.value("pushed", nlohmann::json::array()));
    c.push_failed = deviceKeys(j.value("pushFailed", nlohmann::json::array()));
    c.seq = jsonInteger<std::uint64_t>(j.at("seq"));
    if (c.participants.empty()) {
      return std::nullopt;
    }
    return c;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

std::string rfc3339(UnixMillis at) {
  const std::time_t seconds = static_cast<std::time_t>(at.count() / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[40];
  const auto n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out(text, n);
  char millis[8];
  std::snprintf(millis, sizeof millis, ".%03dZ", static_cast<int>(at.count() % 1000));
  return out + millis;
}

}  // namespace turnpike::control
