#pragma once

#include <optional>
#include <string>

namespace turnpike::conf {

/// The whole of a file the config names (keys, certificates, JSON), or
/// nullopt when it cannot be read.
std::optional<std::string> readTextFile(const std::string& path);

}  // namespace turnpike::conf
