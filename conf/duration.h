#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace turnpike::conf {

using Duration = std::chrono::milliseconds;

/// Parses "500ms", "30s", "10m", "1h", "1d". A unit is required.
std::optional<Duration> parseDuration(std::string_view text);
std::string formatDuration(Duration d);

}  // namespace turnpike::conf
