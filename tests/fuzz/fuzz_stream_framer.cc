// Feeds the input to the stream framer in chunks whose sizes come from the
// input itself, and checks each frame against a one-shot parse.

#include <cstdint>
#include <span>

#include "relay/stun/channel_data.h"
#include "relay/stun/message_view.h"
#include "relay/stun/stream_framer.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t chunk = 1 + data[0] % 64;
  const std::span<const std::uint8_t> stream(data + 1, size - 1);
  turnpike::stun::StreamFramer framer;
  std::size_t framed = 0;
  for (std::size_t i = 0; i < stream.size(); i += chunk) {
    if (!framer.append(stream.subspan(i, std::min(chunk, stream.size() - i)))) return 0;
    while (true) {
      auto frame = framer.next();
      if (!frame) return 0;
      if (!frame.value()) break;
      const auto& f = *frame.value();
      framed += f.bytes.size();
      if (f.kind == turnpike::stun::FrameKind::ChannelData &&
          !turnpike::stun::parseChannelData(f.bytes)) {
        __builtin_trap();  // the framer and the parser must agree
      }
      (void)turnpike::stun::MessageView::parse(f.bytes);
    }
  }
  if (framed > stream.size()) __builtin_trap();
  return 0;
}
