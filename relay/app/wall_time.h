#pragma once

#include <chrono>
#include <string>

#include "relay/base/clock.h"

namespace turnpike::app {

/// RFC 3339 UTC with milliseconds: "2026-11-21T12:00:00.123Z".
std::string isoTime(std::chrono::system_clock::time_point t);

/// When `at` (on the worker's steady clock) was on the wall clock.
std::chrono::system_clock::time_point wallTime(const Clock& clock, Clock::TimePoint at);

}  // namespace turnpike::app
