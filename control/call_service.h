#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "conf/config.h"
#include "control/calls/call_book.h"
#include "control/cluster/peers.h"
#include "control/control_stats.h"
#include "control/devices/device_registry.h"
#include "control/events/event_hub.h"
#include "control/push/push_sender.h"
#include "control/relay_port.h"
#include "control/store/call_store.h"
#include "control/store/change_message.h"
#include "control/tokens/call_tokens.h"
#include "control/tokens/turn_credentials.h"

namespace turnpike::control {

/// An answer for the API layer: a status and a JSON body (or an error).
// NOLINTNEXTLINE(bugprone-exception-escape): json's copy may throw bad_alloc only
struct ServiceAnswer {
  int status = 200;
  nlohmann::json body;
  std::string error_code;  ///< set: body is {"error": ...}
  std::string message;
  std::optional<std::chrono::seconds> retry_after;
};

/// Calls, devices and events on the control thread: runs an action on the
/// state machine, commits what changed, then answers and announces it.
class CallService {
 public:
  struct Settings {
    conf::CallsConfig calls;
    std::chrono::seconds turn_ttl{300};
    std::string turn_secret;  ///< the first auth.rest_secrets entry (or generated)
    std::vector<std::string> turn_uris;
  };

  CallService(Settings settings, const Clock& clock, CallStore& store,
              tokens::CallTokenIssuer issuer, RelayPort* relay, ControlStats& stats);

  /// The relay to revoke ended calls on, and the URIs handed out with TURN
  /// credentials; before serving.
  void attach(RelayPort* relay, std::vector<std::string> turn_uris) {
    relay_ = relay;
    settings_.turn_uris = std::move(turn_uris);
  }
  /// The push sender rung devices without a foreground socket get invites
  /// from (none: they ring only over their socket); before serving.
  void attachPush(push::PushSender* sender) { push_ = sender; }
  /// The other nodes sharing the store (none: this node is alone); before
  /// serving.
  void attachPeers(Peers* peers);
  /// Another node stored a change: apply it here, deliver its events to the
  /// sockets on this node, revoke what it ended.
  void applyRemote(const ChangeMessage& change);
  /// Reloads devices, calls, sockets elsewhere and revocations from the
  /// shared store (after a lost subscription or write); false: try later.
  bool catchUp();
  /// What became of a push attempt (the sender's report hook).
  void pushReport(const push::PushReport& report);
  /// Whether the call still rings `device` (the sender's still_ringing hook).
  [[nodiscard]] bool stillRinging(const std::string& call_id, const DeviceKey& device) const {
    return book_.ringing(call_id, device);
  }

  /// Loads devices, calls in progress and revocations; false with `error`.
  bool restore(std::string& error, std::vector<Revocation>& revocations);

  ServiceAnswer registerDevice(Device device);
  ServiceAnswer heartbeat(const DeviceKey& key);
  ServiceAnswer listDevices(const std::string& user_id);
  ServiceAnswer removeDevice(const DeviceKey& key);

  ServiceAnswer createCall(const CreateRequest& request, const std::string& idempotency_key);
  ServiceAnswer getCall(const std::string& call_id, const std::string& user_id);
  enum class Action { Ringing, Accept, Decline, DeclineBusy, Connected, End };
  ServiceAnswer act(Action action, const std::string& call_id, const DeviceKey& actor,
                    std::string_view reason = {});
  ServiceAnswer signal(const std::string& call_id, const DeviceKey& actor, SignalKind kind,
                       nlohmann::json data);
  /// `POST /v1/turn/credentials` with a call token.
  /// `region` puts that region's relays first ("": this node's).
  ServiceAnswer turnCredentials(std::string_view call_token, const std::string& region = {});
  /// `GET /admin/calls/{callId}`: the call and its timeline.
  ServiceAnswer adminCall(const std::string& call_id);

  /// A WebSocket said hello: bind it, answer hello.ok, replay.
  void hello(http::WebSocket& socket, const DeviceKey& device, bool foreground);
  void socketClosed(http::WebSocket& socket);
  [[nodiscard]] const DeviceKey* deviceOf(const http::WebSocket& socket) const {
    return hub_.deviceOf(socket);
  }

  /// Fires due timers; returns the next deadline.
  std::optional<UnixMillis> tick();
  /// Drops old idempotency keys, revocations and ended calls from the store.
  void expireStored();
  /// A TURN allocation of a call came or went (from the relay).
  void noteAllocation(const std::string& call_id, std::string_view what, nlohmann::json detail);

  [[nodiscard]] std::size_t activeCalls() const { return book_.activeCalls(); }
  [[nodiscard]] std::size_t devicesOnline() const { return hub_.devicesOnline(); }

 private:
  ServiceAnswer failure(const CallOutcome& outcome) const;
  ServiceAnswer callAnswer(const CallOutcome& outcome, bool with_tokens);
  /// Stores `changes`, then sends their events and revokes ended calls.
  /// On a Conflict the calls involved are read again from the store.
  CallStore::CommitResult commit(CallChanges& changes, CallStore::Batch batch = {});
  /// Runs `step` (a state-machine step) and commits it; on a Conflict
  /// (another node changed the call first) runs it again on the fresh state.
  template <typename Step>
  CallStore::CommitResult settle(Step step, CallStore::Batch* batch = nullptr);
  /// The answer to an action on a call only the store still has.
  static ServiceAnswer endedAnswer(Action action, const Call& stored, const DeviceKey& actor);
  /// 503 while the shared store is out of reach (nothing changes then).
  [[nodiscard]] std::optional<ServiceAnswer> storeDown() const;
  static ServiceAnswer storeFailure(CallStore::CommitResult result);
  /// Reads a call from the store into the book; false when the store failed.
  bool refresh(const std::string& call_id);
  /// Puts a stored call in the book, delivers the events this node has not
  /// announced yet to its sockets, and forgets it when ended.
  void adopt(StoredCall stored, const std::vector<CallEvent>* fresh);
  void revokeHere(const std::string& call_id, std::chrono::seconds until);
  [[nodiscard]] std::vector<std::string> turnUris(const std::string& region) const;
  void announce(const CallChanges& changes);
  void sendPushes(const CallChanges& changes);
  void removeDeadToken(const push::PushReport& report);
  void logEvent(const Call& call, std::string_view what, const std::string& device_id);
  void countEnd(const Call& call);
  /// A call's answer when it is only in the store (ended and forgotten).
  std::optional<Call> storedCallOf(const std::string& call_id, const std::string& user_id);
  nlohmann::json tokensFor(const Call& call, const Participant& participant);

  Settings settings_;
  const Clock& clock_;
  CallStore& store_;
  tokens::CallTokenIssuer issuer_;
  RelayPort* relay_;
  ControlStats& stats_;
  push::PushSender* push_ = nullptr;
  Peers* peers_ = nullptr;
  /// What this node knows of each call in memory: the store's version and
  /// the last seq it announced (or saw announced).
  struct Known {
    std::uint64_t version = 0;
    std::uint64_t seq = 0;
  };
  std::map<std::string, Known> known_;
  /// Calls that ended here recently, at their last version: a change of
  /// theirs that arrives late is old news, not a call to read again.
  std::map<std::string, std::uint64_t> finished_;
  std::deque<std::string> finished_order_;
  void finished(const std::string& call_id);
  /// Calls revoked here (relay told), until when: a reload does not tell
  /// the relay twice.
  std::map<std::string, std::chrono::seconds> revoked_;
  DeviceRegistry devices_;
  EventHub hub_;
  CallBook book_;
};

/// A random UUID (version 4), lowercase.
std::string randomUuid();

}  // namespace turnpike::control
