#pragma once

#include <string>

#include "conf/config.h"

namespace turnpike::app {

/// Binds every listen address for every worker, starts the workers, and runs
/// until SIGTERM or SIGINT (or the end of a drain); then stops them cleanly.
/// SIGHUP reloads `config_path` (empty: running on the built-in defaults).
/// Returns the exit code.
int runServer(const conf::Config& config, const std::string& config_path);

}  // namespace turnpike::app
