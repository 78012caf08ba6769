#include "relay/app/file_change.h"

#include <sys/stat.h>

namespace turnpike::app {

FileChange::FileChange(std::vector<std::string> paths)
    : paths_(std::move(paths)), seen_(paths_.size()) {
  for (std::size_t i = 0; i < paths_.size(); ++i) {
    look(paths_[i], seen_[i]);
  }
}

// stat, not lstat: the file the path leads to now.
bool FileChange::look(const std::string& path, Seen& out) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return false;
  }
  out = Seen{.device = static_cast<std::uint64_t>(st.st_dev),
             .inode = static_cast<std::uint64_t>(st.st_ino),
             .size = static_cast<std::int64_t>(st.st_size),
             .mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 +
                         static_cast<std::int64_t>(st.st_mtim.tv_nsec)};
  return true;
}

bool FileChange::changed() {
  bool any = false;
  for (std::size_t i = 0; i < paths_.size(); ++i) {
    Seen now;
    if (look(paths_[i], now) && !(now == seen_[i])) {
      seen_[i] = now;
      any = true;
    }
  }
  return any;
}

}  // namespace turnpike::app
