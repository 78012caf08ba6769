#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "relay/stun/message_view.h"
#include "relay/stun/transport_address.h"
#include "relay/turn/five_tuple.h"

namespace turnpike::turn {

/// What a request handler sees: the parsed request, the five-tuple it
/// arrived on, and the buffer its response goes into.
struct RequestContext {
  const stun::MessageView& request;
  FiveTuple five_tuple;
  std::span<std::uint8_t> response_buffer;

  [[nodiscard]] const stun::TransportAddress& source() const { return five_tuple.client; }
};

/// What to do with an incoming packet.
struct Outcome {
  enum class Kind : std::uint8_t {
    Reply,   ///< send response_buffer.first(size) back to the source
    Ignore,  ///< valid, nothing to send (an indication, relayed data)
    Drop,    ///< invalid or unwanted: silently discarded and counted
  };
  Kind kind = Kind::Drop;
  std::size_t size = 0;

  static Outcome reply(std::size_t size) { return {Kind::Reply, size}; }
  static Outcome ignore() { return {Kind::Ignore, 0}; }
  static Outcome drop() { return {Kind::Drop, 0}; }
};

}  // namespace turnpike::turn
