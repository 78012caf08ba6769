#include "relay/app/call_relay_port.h"

#include <atomic>

#include "relay/turn/allocation.h"
#include "relay/turn/turn_server.h"

namespace turnpike::app {

void CallRelayPort::revokeCall(const std::string& call_id, std::chrono::seconds until,
                               std::function<void(std::size_t)> done) {
  revocations_->add(call_id, until);
  struct Tally {
    std::atomic<std::size_t> left;
    std::atomic<std::size_t> deleted{0};
  };
  auto tally = std::make_shared<Tally>();
  tally->left = workers_.size();
  for (net::Worker* w : workers_) {
    w->runOnLoop([tally, call_id, done, post = post_](turn::TurnServer& server) {
      tally->deleted += server.deleteAllocationsWhere(
          [&](const turn::Allocation& a) { return a.call_id == call_id; },
          turn::DeletionReason::CallEnded);
      if (--tally->left == 0) {
        post([done, n = tally->deleted.load()] { done(n); });
      }
    });
  }
}

void CallAllocationNotes::onAllocationCreated(const turn::Allocation& a) {
  if (!a.call_id.empty()) {
    plane_.noteAllocation(a.call_id, "turn.allocate",
                          {{"user", a.user_id},
                           {"transport", std::string(turn::transportName(a.five_tuple.transport))},
                           {"relayed", a.relayed.toString()}});
  }
}

void CallAllocationNotes::onAllocationDeleted(const turn::Allocation& a,
                                              turn::DeletionReason reason) {
  if (!a.call_id.empty()) {
    plane_.noteAllocation(a.call_id, "turn.deleted",
                          {{"user", a.user_id},
                           {"reason", std::string(turn::deletionReasonName(reason))},
                           {"bytesToPeer", a.traffic.bytes_to_peer},
                           {"bytesFromPeer", a.traffic.bytes_from_peer}});
  }
}

void ObserverFanout::onAllocationCreated(const turn::Allocation& a) {
  for (auto* o : observers_) {
    o->onAllocationCreated(a);
  }
}
void ObserverFanout::onAllocationRefreshed(const turn::Allocation& a) {
  for (auto* o : observers_) {
    o->onAllocationRefreshed(a);
  }
}
void ObserverFanout::onAllocationUsage(const turn::Allocation& a) {
  for (auto* o : observers_) {
    o->onAllocationUsage(a);
  }
}
void ObserverFanout::onAllocationDeleted(const turn::Allocation& a, turn::DeletionReason reason) {
  for (auto* o : observers_) {
    o->onAllocationDeleted(a, reason);
  }
}
void ObserverFanout::onPermissionInstalled(const turn::Allocation& a,
                                           const stun::TransportAddress& peer) {
  for (auto* o : observers_) {
    o->onPermissionInstalled(a, peer);
  }
}
void ObserverFanout::onChannelBound(const turn::Allocation& a, std::uint16_t channel,
                                    const stun::TransportAddress& peer) {
  for (auto* o : observers_) {
    o->onChannelBound(a, channel, peer);
  }
}

}  // namespace turnpike::app
