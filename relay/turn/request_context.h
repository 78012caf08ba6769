#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "relay/stun/message_view.h"
#include "relay/stun/transport_address.h"
#include "relay/turn/transport.h"

namespace turnpike::turn {

/// What a request handler sees: the parsed request, where it came from, and
/// the buffer its response goes into.
struct RequestContext {
  const stun::MessageView& request;
  stun::TransportAddress source;
  Transport transport;
  std::span<std::uint8_t> response_buffer;
};

/// What to do with an incoming packet.
struct Outcome {
  enum class Kind : std::uint8_t {
    Reply,   ///< send response_buffer.first(size) back to the source
    Ignore,  ///< valid, nothing to send (an indication)
    Drop,    ///< invalid or unwanted: silently discarded and counted
  };
  Kind kind = Kind::Drop;
  std::size_t size = 0;

  static Outcome reply(std::size_t size) { return {Kind::Reply, size}; }
  static Outcome ignore() { return {Kind::Ignore, 0}; }
  static Outcome drop() { return {Kind::Drop, 0}; }
};

/// Server-wide settings the handlers read.
struct ServerOptions {
  std::string software;  ///< SOFTWARE attribute; empty = not sent
};

}  // namespace turnpike::turn
