#pragma once

#include <chrono>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace turnpike::control {

/// Wall-clock time in Unix milliseconds: call times survive a restart.
using UnixMillis = std::chrono::milliseconds;

/// A device is known by its user and the id the app gave it: two users may
/// pick the same deviceId.
struct DeviceKey {
  std::string user_id;
  std::string device_id;
  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 misreads a defaulted <=>
  auto operator<=>(const DeviceKey&) const = default;
};

enum class CallType { Audio, Video };
enum class CallState { Created, Ringing, Connecting, Connected, Ended };
enum class Role { Host, Member };
enum class ParticipantState { Invited, Ringing, Accepted, Declined, Busy, Left };

std::string_view callTypeName(CallType t);
std::string_view callStateName(CallState s);
std::string_view roleName(Role r);
std::string_view participantStateName(ParticipantState s);
std::optional<CallType> callTypeFromName(std::string_view name);

/// End reasons of the contract (control-plane.md, "State machine").
namespace end_reason {
inline constexpr std::string_view kCallerCancelled = "caller_cancelled";
inline constexpr std::string_view kDeclined = "declined";
inline constexpr std::string_view kBusy = "busy";
inline constexpr std::string_view kRingTimeout = "ring_timeout";
inline constexpr std::string_view kConnectTimeout = "connect_timeout";
inline constexpr std::string_view kHangup = "hangup";
inline constexpr std::string_view kUnreachable = "unreachable";
inline constexpr std::string_view kError = "error";
inline constexpr std::string_view kGlare = "glare";
/// What the callee's other devices hear when one of them answered.
inline constexpr std::string_view kAnsweredElsewhere = "answered_elsewhere";
inline constexpr std::string_view kRejectedElsewhere = "rejected_elsewhere";
}  // namespace end_reason

struct Participant {
  std::string participant_id;
  std::string user_id;
  Role role = Role::Member;
  ParticipantState state = ParticipantState::Invited;
  std::string device_id;  ///< the caller's device, or the callee device that answered
};

/// One event a call emitted, as sent on the WebSocket, and whom it is for.
struct CallEvent {
  std::uint64_t seq = 0;
  std::string name;  ///< "call.incoming", "signal.offer", ...
  UnixMillis at{0};
  nlohmann::json data = nlohmann::json::object();
  std::vector<DeviceKey> recipients;

  /// `{event, callId, seq, at, data}`.
  [[nodiscard]] nlohmann::json message(const std::string& call_id) const;
  /// Everything, for the store and for other nodes (recipients included).
  [[nodiscard]] nlohmann::json toStored() const;
  static std::optional<CallEvent> fromStored(const nlohmann::json& j);
};

/// What happened to a call, for `GET /admin/calls/{callId}`.
struct TimelineEntry {
  UnixMillis at{0};
  std::string event;  ///< "create", "ring", "accept", "turn.allocate", ...
  std::string device_id;
  nlohmann::json detail = nlohmann::json::object();
};

/// A 1:1 call (the model keeps room for more participants).
struct Call {
  std::string call_id;  ///< UUID, lowercase
  CallType type = CallType::Audio;
  std::string mode = "p2p";
  CallState state = CallState::Created;
  std::string end_reason;
  UnixMillis created_at{0};
  std::optional<UnixMillis> answered_at;
  std::optional<UnixMillis> ended_at;
  std::string initiator_user_id;
  std::vector<Participant> participants;  ///< host first
  std::string caller_display_name;
  std::string caller_avatar_url;

  /// When the current state times out: the ring, connect or duration deadline.
  std::optional<UnixMillis> deadline;
  UnixMillis max_end{0};  ///< created_at + calls.max_duration
  /// Callee devices rung (at most calls.max_ringing_devices), and those that
  /// were reached (event written to a socket).
  std::vector<DeviceKey> rung;
  std::vector<DeviceKey> reached;
  /// Rung devices sent an invite push (never a second one), and those whose
  /// invite failed for good.
  std::vector<DeviceKey> pushed;
  std::vector<DeviceKey> push_failed;
  std::uint64_t seq = 0;  ///< of the last event emitted

  [[nodiscard]] bool ended() const { return state == CallState::Ended; }
  [[nodiscard]] bool answered() const { return answered_at.has_value(); }
  [[nodiscard]] const Participant& host() const { return participants.front(); }
  [[nodiscard]] Participant* participantOf(std::string_view user_id);
  [[nodiscard]] const Participant* participantOf(std::string_view user_id) const;
  [[nodiscard]] DeviceKey callerDevice() const { return {host().user_id, host().device_id}; }
  /// The callee device that answered, when one did.
  [[nodiscard]] std::optional<DeviceKey> answeringDevice() const;

  /// The contract's JSON shape of a call.
  [[nodiscard]] nlohmann::json toJson() const;
  /// Everything, for the store (toJson plus deadlines and ringing state).
  [[nodiscard]] nlohmann::json toStored() const;
  static std::optional<Call> fromStored(const nlohmann::json& j);
};

/// RFC 3339 UTC with milliseconds: "2026-11-28T12:00:00.123Z".
std::string rfc3339(UnixMillis at);

}  // namespace turnpike::control
