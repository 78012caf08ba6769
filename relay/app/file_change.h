#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace turnpike::app {

/// Notices when any of a few files changed on disk: another inode (a
/// rename over it, a Kubernetes secret's symlink swap), size or mtime.
/// A file that cannot be read counts as unchanged, so a rotation caught
/// half-way is picked up at the next look.
class FileChange {
 public:
  explicit FileChange(std::vector<std::string> paths);
  /// True once per change since the last call (or construction).
  bool changed();

 private:
  struct Seen {
    std::uint64_t device = 0;
    std::uint64_t inode = 0;
    std::int64_t size = 0;
    std::int64_t mtime_ns = 0;
    bool operator==(const Seen&) const = default;
  };
  static bool look(const std::string& path, Seen& out);

  std::vector<std::string> paths_;
  std::vector<Seen> seen_;
};

}  // namespace turnpike::app
