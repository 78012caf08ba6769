#include "conf/duration.h"

#include <charconv>
#include <cstdint>

namespace turnpike::conf {

std::optional<Duration> parseDuration(std::string_view text) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end == text.data()) {
    return std::nullopt;
  }
  const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
  std::uint64_t ms_per_unit = 0;
  if (unit == "ms") {
    ms_per_unit = 1;
  } else if (unit == "s") {
    ms_per_unit = 1000;
  } else if (unit == "m") {
    ms_per_unit = 60'000;
  } else if (unit == "h") {
    ms_per_unit = 3'600'000;
  } else if (unit == "d") {
    ms_per_unit = 86'400'000;
  } else {
    return std::nullopt;
  }
  constexpr std::uint64_t kMaxMs = 365ULL * 86'400'000;  // a year is plenty for any timer here
  if (value > kMaxMs / ms_per_unit) {
    return std::nullopt;
  }
  return Duration{static_cast<Duration::rep>(value * ms_per_unit)};
}

std::string formatDuration(Duration d) {
  const auto ms = d.count();
  if (ms % 1000 != 0) {
    return std::to_string(ms) + "ms";
  }
  return std::to_string(ms / 1000) + "s";
}

}  // namespace turnpike::conf
