#pragma once

// Internal to conf/: the only place that touches yaml-cpp's types.

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "conf/config_loader.h"

namespace turnpike::conf {

/// Reads typed values out of YAML nodes, recording every problem with the
/// key path and line instead of stopping at the first.
class YamlReader {
 public:
  using Handler = std::function<void(const YAML::Node& value, const std::string& path)>;
  using Fields = std::vector<std::pair<std::string_view, Handler>>;

  explicit YamlReader(std::vector<ConfigError>& errors) : errors_(errors) {}

  /// Walks a mapping: known keys go to their handler, others are errors.
  void map(const YAML::Node& node, const std::string& path, const Fields& fields);

  bool string(const YAML::Node& node, const std::string& path, std::string& out);
  bool boolean(const YAML::Node& node, const std::string& path, bool& out);
  bool integer(const YAML::Node& node, const std::string& path, std::uint64_t min,
               std::uint64_t max, std::uint64_t& out);
  bool duration(const YAML::Node& node, const std::string& path, Duration& out);
  bool endpoint(const YAML::Node& node, const std::string& path, Endpoint& out);
  bool endpointList(const YAML::Node& node, const std::string& path, std::vector<Endpoint>& out);
  bool cidrList(const YAML::Node& node, const std::string& path, std::vector<Cidr>& out);
  bool stringList(const YAML::Node& node, const std::string& path, std::vector<std::string>& out);
  /// Calls `item(node, "path[i]")` for each element of a sequence.
  bool sequence(const YAML::Node& node, const std::string& path,
                const std::function<void(const YAML::Node&, const std::string&)>& item);

  void error(const YAML::Node& node, const std::string& path, std::string message);
  [[nodiscard]] bool failed() const { return !errors_.empty(); }

  static std::string join(const std::string& path, std::string_view key);
  static int lineOf(const YAML::Node& node);

 private:
  std::vector<ConfigError>& errors_;
};

}  // namespace turnpike::conf
