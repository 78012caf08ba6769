#include "relay/app/fast_path_setup.h"

#include <spdlog/spdlog.h>

#ifdef TURNPIKE_FAST_PATH
#include "relay/fastpath/kernel_channel_relay.h"
#endif

namespace turnpike::app {

std::unique_ptr<turn::KernelRelay> startFastPath(conf::FastPathMode mode, bool& failed) {
  failed = false;
  if (mode == conf::FastPathMode::Off) {
    spdlog::info("fast path: off (relay.fast_path); every packet is relayed in user space");
    return nullptr;
  }
#ifdef TURNPIKE_FAST_PATH
  std::string error;
  auto relay = fastpath::KernelChannelRelay::create(error);
  if (relay) {
    spdlog::info(
        "fast path: on; UDP channels over IPv4 and IPv6 relay in the kernel (TC ingress, attached "
        "per interface as channels need it)");
    return relay;
  }
#else
  const std::string error = "not built in (needs clang, bpftool and libbpf-dev at build time)";
#endif
  if (mode == conf::FastPathMode::On) {
    spdlog::critical("fast path: {} (relay.fast_path: on)", error);
    failed = true;
  } else {
    spdlog::info("fast path: off, {}; every packet is relayed in user space", error);
  }
  return nullptr;
}

FastPathStats fastPathStats(const turn::KernelRelay* relay) {
  FastPathStats stats;
#ifdef TURNPIKE_FAST_PATH
  // startFastPath made it: the only kind there is.
  const auto* kernel = static_cast<const fastpath::KernelChannelRelay*>(relay);
  if (kernel == nullptr) {
    return stats;
  }
  stats.on = true;
  stats.flows = kernel->flows();
  stats.interfaces = kernel->interfaces();
  const auto counts = kernel->verdicts();
  for (std::size_t i = 0; i < counts.size(); ++i) {
    stats.verdicts.emplace_back(fastpath::verdictName(i), counts[i]);
  }
#else
  (void)relay;
#endif
  return stats;
}

}  // namespace turnpike::app
