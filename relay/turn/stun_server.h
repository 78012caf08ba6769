#pragma once

#include <cstdint>
#include <span>

#include "relay/stun/stream_framer.h"
#include "relay/stun/transport_address.h"
#include "relay/turn/request_context.h"

namespace turnpike::turn {

/// What one worker's StunServer has seen. Plain counters owned by the worker
/// thread; read by others only after the worker stops (metrics arrive later).
struct StunCounters {
  std::uint64_t requests = 0;
  std::uint64_t indications = 0;
  std::uint64_t success_responses = 0;
  std::uint64_t error_responses = 0;
  std::uint64_t malformed = 0;      ///< not STUN/ChannelData, or failed to parse
  std::uint64_t unexpected = 0;     ///< responses, or indications we cannot use
  std::uint64_t no_allocation = 0;  ///< ChannelData with no allocation behind it

  StunCounters& operator+=(const StunCounters& o);
};

/// Entry point of the protocol layer for one worker: classifies a packet and
/// dispatches requests through a table keyed by (method, class).
class StunServer {
 public:
  explicit StunServer(ServerOptions options) : options_(std::move(options)) {}

  /// A datagram received on a UDP listener from `source`.
  Outcome handleDatagram(std::span<const std::uint8_t> packet, const stun::TransportAddress& source,
                         std::span<std::uint8_t> out);
  /// A frame received on a stream (TCP or TLS) connection.
  Outcome handleFrame(const stun::Frame& frame, const stun::TransportAddress& source,
                      Transport transport, std::span<std::uint8_t> out);
  /// Input that never reached the parser: a stream that cannot be framed, a
  /// datagram larger than any valid message.
  void countMalformed() { ++counters_.malformed; }

  [[nodiscard]] const StunCounters& counters() const { return counters_; }

 private:
  Outcome handleStun(std::span<const std::uint8_t> bytes, const stun::TransportAddress& source,
                     Transport transport, std::span<std::uint8_t> out);
  Outcome handleRequest(const RequestContext& ctx);
  Outcome handleChannelData(std::span<const std::uint8_t> bytes);
  Outcome counted(Outcome outcome, bool is_error);

  ServerOptions options_;
  StunCounters counters_;
};

}  // namespace turnpike::turn
