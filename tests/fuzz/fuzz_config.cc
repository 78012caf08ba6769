// Feeds any text to the config loader: it must come back with a config or
// with errors (each naming a key path), never crash or throw; a config it
// accepts must be accepted again from the same text, identically.

#include <cstdint>
#include <string_view>

#include "conf/config_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto first = turnpike::conf::loadConfig(text);
  if (first.config.has_value() != first.errors.empty()) {
    __builtin_trap();  // a config with errors, or neither
  }
  for (const auto& error : first.errors) {
    if (error.path.empty() || error.message.empty()) {
      __builtin_trap();  // every error says where and what
    }
  }
  if (first.config) {
    const auto again = turnpike::conf::loadConfig(text);
    if (!again.config || !(*again.config == *first.config)) {
      __builtin_trap();
    }
  }
  return 0;
}
