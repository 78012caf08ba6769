#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "auth/call_credentials.h"
#include "control/control_plane.h"
#include "control/relay_port.h"
#include "relay/net/worker.h"
#include "relay/turn/allocation_observer.h"

namespace turnpike::app {

/// The relay as the control plane sees it: revoking a call refuses its
/// credentials at once (the shared revocation set every authenticator
/// reads) and deletes its allocations on every worker, each on its own
/// loop; the count comes back posted to the control loop. Nothing waits.
class CallRelayPort final : public control::RelayPort {
 public:
  CallRelayPort(std::vector<net::Worker*> workers,
                std::shared_ptr<auth::CallRevocations> revocations,
                std::function<void(std::function<void()>)> post_to_control)
      : workers_(std::move(workers)),
        revocations_(std::move(revocations)),
        post_(std::move(post_to_control)) {}

  void revokeCall(const std::string& call_id, std::chrono::seconds until,
                  std::function<void(std::size_t)> done) override;

 private:
  std::vector<net::Worker*> workers_;
  std::shared_ptr<auth::CallRevocations> revocations_;
  std::function<void(std::function<void()>)> post_;
};

/// Tells the control plane when an allocation of a call comes and goes
/// (the admin timeline). Runs on worker threads; posting is thread-safe.
class CallAllocationNotes final : public turn::AllocationObserver {
 public:
  explicit CallAllocationNotes(control::ControlPlane& plane) : plane_(plane) {}
  void onAllocationCreated(const turn::Allocation& a) override;
  void onAllocationDeleted(const turn::Allocation& a, turn::DeletionReason reason) override;

 private:
  control::ControlPlane& plane_;
};

/// Hands every event to each observer in turn.
class ObserverFanout final : public turn::AllocationObserver {
 public:
  explicit ObserverFanout(std::vector<turn::AllocationObserver*> observers)
      : observers_(std::move(observers)) {}
  void onAllocationCreated(const turn::Allocation& a) override;
  void onAllocationRefreshed(const turn::Allocation& a) override;
  void onAllocationUsage(const turn::Allocation& a) override;
  void onAllocationDeleted(const turn::Allocation& a, turn::DeletionReason reason) override;
  void onPermissionInstalled(const turn::Allocation& a,
                             const stun::TransportAddress& peer) override;
  void onChannelBound(const turn::Allocation& a, std::uint16_t channel,
                      const stun::TransportAddress& peer) override;

 private:
  std::vector<turn::AllocationObserver*> observers_;
};

}  // namespace turnpike::app
