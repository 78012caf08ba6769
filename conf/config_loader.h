#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.h"

namespace turnpike::conf {

/// One problem in a config file, located by key path and line.
struct ConfigError {
  std::string path;  ///< "listen.udp[1]"
  int line = 0;      ///< 1-based; 0 when unknown
  std::string message;

  /// "listen.udp[1]: line 7: port 70000 is out of range"
  [[nodiscard]] std::string toString() const;
};

struct LoadResult {
  std::optional<Config> config;  ///< set only when there are no errors
  std::vector<ConfigError> errors;
};

/// Reads YAML text into a validated Config. Unknown keys, wrong types,
/// out-of-range values and keys whose feature is not built yet are errors;
/// every error is reported, not only the first.
LoadResult loadConfig(std::string_view yaml_text);
LoadResult loadConfigFile(const std::string& path);

}  // namespace turnpike::conf
