#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "conf/control_config.h"
#include "control/calls/call.h"
#include "control/calls/sliding_window.h"
#include "control/devices/device_registry.h"
#include "relay/base/clock.h"

namespace turnpike::control {

/// Which devices can be reached right now, and how.
class Presence {
 public:
  virtual ~Presence() = default;
  /// A live WebSocket (after hello).
  [[nodiscard]] virtual bool online(const DeviceKey& device) const = 0;
  /// That socket is in the foreground: no push needed.
  [[nodiscard]] virtual bool foreground(const DeviceKey& device) const = 0;
  /// A push provider is configured for one of the device's tokens.
  [[nodiscard]] virtual bool pushable(const Device& device) const = 0;
};

/// A push the state machine asks for: an invite to a rung device that has
/// no socket in the foreground, or a cancel to a device that had an invite
/// (control-plane.md "Push"). The sender picks provider and token.
struct PushOrder {
  enum class Kind { Invite, Cancel };
  Kind kind = Kind::Invite;
  std::string call_id;
  DeviceKey device;
  std::string reason;  ///< Cancel: the reason of that device's call.ended
};

/// What an action changed: the store commits it, then events go out.
struct CallChanges {
  std::vector<std::string> calls;  ///< ids of calls to store
  std::vector<std::pair<std::string, CallEvent>> events;
  std::vector<std::pair<std::string, TimelineEntry>> timeline;
  std::vector<std::string> ended;  ///< calls that ended: revoke their TURN credentials
  std::vector<PushOrder> pushes;   ///< sent once the rest is stored

  [[nodiscard]] bool empty() const {
    return calls.empty() && events.empty() && timeline.empty() && pushes.empty();
  }
};

/// The answer to an action: a call (the caller answers 200/201 with it) or
/// an error of the contract.
struct CallOutcome {
  int status = 200;
  std::string error_code;  ///< empty on success
  std::string message;
  const Call* call = nullptr;
  const Participant* participant = nullptr;  ///< the actor's, for its call token
  std::optional<UnixMillis> retry_after;     ///< 429
};

struct CreateRequest {
  DeviceKey caller;
  std::vector<std::string> callees;
  CallType type = CallType::Audio;
  std::string mode = "p2p";
  std::string caller_display_name;
  std::string caller_avatar_url;
};

enum class SignalKind { Offer, Answer, Ice };

/// The call state machine of the contract (control-plane.md "Calls"),
/// pure: no I/O; time from the injected clock; every change is reported in
/// `CallChanges` for the caller to store and announce.
class CallBook {
 public:
  static constexpr std::size_t kMaxEventsPerCall = 500;
  /// Signaling a call may carry in all (SDP and ICE, as stored for replay):
  /// a real call needs a few tens of KB; more would let one caller fill
  /// memory through calls nobody answers.
  static constexpr std::size_t kMaxSignalBytesPerCall = std::size_t{256} * 1024;
  static constexpr std::size_t kMaxActiveCalls = 200'000;

  CallBook(const conf::CallsConfig& config, const Clock& clock, const DeviceRegistry& devices,
           const Presence& presence, std::function<std::string()> new_id);

  CallOutcome create(const CreateRequest& request, CallChanges& changes);
  CallOutcome ringing(const std::string& call_id, const DeviceKey& actor, CallChanges& changes);
  CallOutcome accept(const std::string& call_id, const DeviceKey& actor, CallChanges& changes);
  CallOutcome decline(const std::string& call_id, const DeviceKey& actor, bool busy,
                      CallChanges& changes);
  CallOutcome connected(const std::string& call_id, const DeviceKey& actor, CallChanges& changes);
  CallOutcome end(const std::string& call_id, const DeviceKey& actor, std::string_view reason,
                  CallChanges& changes);
  CallOutcome signal(const std::string& call_id, const DeviceKey& actor, SignalKind kind,
                     nlohmann::json data, CallChanges& changes);
  /// A read: the call when `user_id` takes part in it (else 404).
  CallOutcome get(const std::string& call_id, const std::string& user_id) const;

  /// A device said hello: rung-but-unreached calls become reached. Returns
  /// the events of its calls in progress addressed to it, in seq order.
  std::vector<std::pair<std::string, const CallEvent*>> deviceOnline(const DeviceKey& device,
                                                                     CallChanges& changes);
  /// An invite push to `device` was accepted by its provider (`delivered`:
  /// the device is reached) or failed for good; a call whose every rung
  /// device failed so, with none online, ends `unreachable`.
  void pushAnswered(const std::string& call_id, const DeviceKey& device, bool delivered,
                    CallChanges& changes);
  /// Whether an invite to `device` is still wanted: the call rings it.
  [[nodiscard]] bool ringing(const std::string& call_id, const DeviceKey& device) const;

  /// Fires every deadline at or before now.
  void tick(CallChanges& changes);
  /// The earliest pending deadline.
  [[nodiscard]] std::optional<UnixMillis> nextDeadline() const;

  /// Start-up: a stored call and its events.
  void restore(Call call, std::vector<CallEvent> events);
  /// Another node changed a call: its stored state replaces this one's
  /// (indexes and deadline follow).
  void replace(Call call, std::vector<CallEvent> events);
  /// Forgets a call at once (one the store does not have).
  void drop(const std::string& call_id);
  /// Ids of every call in memory.
  [[nodiscard]] std::vector<std::string> callIds() const;
  /// Forgets ended calls (kept in the store); call after storing them.
  void forgetEnded();
  /// Records something for the admin timeline (TURN allocations, pushes).
  void note(const std::string& call_id, TimelineEntry entry, CallChanges& changes);

  [[nodiscard]] const Call* find(const std::string& call_id) const;
  [[nodiscard]] std::size_t activeCalls() const { return calls_.size(); }
  [[nodiscard]] const std::vector<CallEvent>* eventsOf(const std::string& call_id) const;

 private:
  struct Entry {
    Call call;
    std::vector<CallEvent> events;
    std::size_t signal_bytes = 0;  ///< of signal.* events, against the budget
  };

  Entry* findEntry(const std::string& call_id);
  /// 404 unless the user takes part; 404 too for a device not theirs.
  CallOutcome locate(const std::string& call_id, const DeviceKey& actor, Entry*& entry);
  void emit(Entry& e, std::string name, nlohmann::json data, std::vector<DeviceKey> to,
            CallChanges& changes);
  void touch(Entry& e, std::string_view what, const std::string& device_id, CallChanges& changes,
             nlohmann::json detail = nlohmann::json::object());
  void setDeadline(Entry& e, std::optional<UnixMillis> deadline);
  void finish(Entry& e, std::string_view reason, CallChanges& changes,
              std::vector<DeviceKey> also_tell = {}, const nlohmann::json& detail = {});
  void markReached(Entry& e, const DeviceKey& device, CallChanges& changes);
  /// Invite pushes for the rung devices with no socket in the foreground.
  void orderInvites(Entry& e, CallChanges& changes);
  /// Cancel pushes for the invited devices an event ends the call for.
  void orderCancels(const Entry& e, const CallEvent& ended, CallChanges& changes);
  void acceptFor(Entry& e, Participant& callee, const DeviceKey& device, CallChanges& changes);
  /// Everyone the call rang or joined, without `except`.
  std::vector<DeviceKey> involved(const Call& call, const DeviceKey* except = nullptr) const;
  std::vector<DeviceKey> ringTargets(const std::string& callee) const;
  bool busy(const std::string& user_id) const;
  Entry* glareWith(const std::string& caller, const std::string& callee);
  CallOutcome ok(Entry& e, const Participant* p, int status = 200) const;
  void index(const Call& call);
  void unindex(const Call& call);

  const conf::CallsConfig& config_;
  const Clock& clock_;
  const DeviceRegistry& devices_;
  const Presence& presence_;
  std::function<std::string()> new_id_;
  std::map<std::string, Entry, std::less<>> calls_;  ///< calls in memory (active + just ended)
  std::set<std::pair<UnixMillis, std::string>> deadlines_;
  std::multimap<std::string, std::string> active_by_user_;  ///< user -> call id
  SlidingWindow creates_;
  SlidingWindow signals_;
};

}  // namespace turnpike::control
