#include <cstdint>
#include <span>

#include "relay/stun/channel_data.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto parsed = turnpike::stun::parseChannelData(std::span(data, size));
  if (parsed) {
    // The view must lie inside the input.
    const auto& view = parsed.value();
    if (view.data.data() < data || view.data.data() + view.data.size() > data + size ||
        view.channel < turnpike::stun::kMinChannel ||
        view.channel > turnpike::stun::kMaxRfc5766Channel) {
      __builtin_trap();
    }
  }
  return 0;
}
