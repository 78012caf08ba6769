#include "conf/config.h"

#include <thread>

namespace turnpike::conf {

unsigned effectiveWorkers(const Config& config) {
  if (config.relay.workers != 0) {
    return config.relay.workers;
  }
  const unsigned cores = std::thread::hardware_concurrency();
  return cores == 0 ? 1 : cores;
}

}  // namespace turnpike::conf
