// Feeds any bytes to what one node reads from the others through Redis: a
// change message (tp:changes) and a node announcement (tp:nodes). Each is
// parsed whole or dropped whole, never a crash or an exception; what parses
// as an announcement survives being written and read again.
//
// Input: byte 0 picks the reader; the rest is the text.

#include <cstdint>
#include <string_view>

#include "control/cluster/node_directory.h"
#include "control/store/change_message.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) {
    return 0;
  }
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  if (data[0] % 2 == 0) {
    if (auto m = turnpike::control::parseChangeMessage(text)) {
      for (const auto& c : m->calls) {
        if (c.call.call_id.size() > text.size()) {
          __builtin_trap();
        }
      }
    }
  } else if (auto node = turnpike::control::cluster::NodeInfo::fromJson(text)) {
    const auto again = turnpike::control::cluster::NodeInfo::fromJson(node->toJson());
    if (!again || again->name != node->name || again->turn_uris != node->turn_uris ||
        again->seen_at != node->seen_at) {
      __builtin_trap();
    }
  }
  return 0;
}
