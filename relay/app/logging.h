#pragma once

#include <string_view>

#include "conf/config.h"

namespace turnpike::app {

/// Sends spdlog output to stderr as text or as one JSON object per line.
void setupLogging(const conf::LogConfig& config);

/// Changes the level of the running logger (reload); thread-safe.
void setLogLevel(conf::LogLevel level);

/// Writes `json_line` (a whole JSON object, with its own time and level) as
/// one line at info level, whatever log.format says: allocation events.
void logEvent(std::string_view json_line);
/// Whether logEvent would write anything at the level set now: callers
/// skip building lines nobody reads (log.level warn or above).
bool eventsLogged();

}  // namespace turnpike::app
