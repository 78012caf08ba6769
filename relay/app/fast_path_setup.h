#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "conf/config.h"
#include "relay/turn/kernel_relay.h"

namespace turnpike::app {

/// relay.fast_path at start-up: the kernel data path, or null with one log
/// line saying why (off, not built, no privileges, a kernel that refuses
/// the program). `failed` is set when the mode is `on` and it cannot be
/// had: start-up then stops.
std::unique_ptr<turn::KernelRelay> startFastPath(conf::FastPathMode mode, bool& failed);

/// What the metrics show of it.
struct FastPathStats {
  bool on = false;
  std::size_t flows = 0;
  std::size_t interfaces = 0;
  std::vector<std::pair<std::string, std::uint64_t>> verdicts;  ///< packets by verdict
};
FastPathStats fastPathStats(const turn::KernelRelay* relay);

}  // namespace turnpike::app
