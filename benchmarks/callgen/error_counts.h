#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace turnpike::callgen {

/// Errors by kind ("create_429_rate_limited", "timeout_incoming", ...).
class ErrorCounts {
 public:
  void add(const std::string& kind) {
    ++by_kind_[kind];
    ++total_;
  }
  [[nodiscard]] std::uint64_t total() const { return total_; }
  [[nodiscard]] nlohmann::json toJson() const { return by_kind_; }

 private:
  std::map<std::string, std::uint64_t> by_kind_;
  std::uint64_t total_ = 0;
};

/// "<step>_<status>[_<error.code>]" for an HTTP answer that was not the one
/// expected, or "<step>_<transport error>" when there was none.
std::string httpErrorKind(const std::string& step, int status, const std::string& body,
                          const std::string& transport_error);

}  // namespace turnpike::callgen
