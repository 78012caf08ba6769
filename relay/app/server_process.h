#pragma once

#include "conf/config.h"

namespace turnpike::app {

/// Binds every listen address for every worker, starts the workers, and runs
/// until SIGTERM or SIGINT; then stops them cleanly. Returns the exit code.
int runServer(const conf::Config& config);

}  // namespace turnpike::app
