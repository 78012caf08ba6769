#pragma once

#include "conf/config.h"

namespace turnpike::app {

/// Sends spdlog output to stderr as text or as one JSON object per line.
void setupLogging(const conf::LogConfig& config);

}  // namespace turnpike::app
