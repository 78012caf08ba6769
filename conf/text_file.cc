#include "conf/text_file.h"

#include <fstream>
#include <sstream>

namespace turnpike::conf {

std::optional<std::string> readTextFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return std::nullopt;
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace turnpike::conf
