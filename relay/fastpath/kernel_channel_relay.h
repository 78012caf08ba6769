#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "relay/fastpath/fast_path.h"
#include "relay/fastpath/route_lookup.h"
#include "relay/turn/kernel_relay.h"

namespace turnpike::fastpath {

/// turn::KernelRelay over the eBPF fast path, shared by the workers (a
/// mutex: installs and removals are per ChannelBind, counter reads once a
/// second; packets never come here). It finds the interfaces by asking the
/// routing table, attaches to an interface the first time a channel uses
/// it, and refuses channels it cannot relay (mixed families, loopback,
/// link-local, no route): those stay in user space.
class KernelChannelRelay final : public turn::KernelRelay {
 public:
  /// Loads the program; nullptr with `error` when the kernel or the
  /// privileges refuse it.
  static std::unique_ptr<KernelChannelRelay> create(std::string& error);

  std::optional<std::uint32_t> install(const turn::KernelChannel& channel) override;
  void extend(std::uint32_t id, Clock::TimePoint expires_at) override;
  void remove(std::uint32_t id) override;
  [[nodiscard]] turn::TrafficCounters relayed(std::uint32_t id) const override;

  /// For metrics: packets by verdict (verdictName order), flows in the kernel.
  [[nodiscard]] std::vector<std::uint64_t> verdicts() const;
  [[nodiscard]] std::size_t flows() const;
  /// Interfaces attached to so far.
  [[nodiscard]] std::size_t interfaces() const;

 private:
  explicit KernelChannelRelay(std::unique_ptr<FastPath> path) : path_(std::move(path)) {}

  mutable std::mutex mutex_;
  std::unique_ptr<FastPath> path_;
  RouteLookup routes_;  ///< under mutex_
  std::size_t interfaces_ = 0;
};

}  // namespace turnpike::fastpath
