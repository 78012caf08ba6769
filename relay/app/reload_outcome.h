#pragma once

#include <string>
#include <vector>

namespace turnpike::app {

/// What a reload did, for the log and POST /admin/reload.
struct ReloadOutcome {
  bool ok = false;
  std::string message;
  std::vector<std::string> changed;  ///< reloadable keys that changed (ok)
  std::vector<std::string> errors;   ///< config errors or restart-only keys (not ok)
  bool invalid_file = false;         ///< the file did not load or its certificate is bad
};

}  // namespace turnpike::app
