#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "relay/stun/message_builder.h"
#include "relay/stun/transport_address.h"

namespace turnpike::loadgen {

/// A minimal TURN client over a connected UDP socket, for setting up load:
/// long-term authentication (401 -> retry, 438 -> new nonce), Allocate,
/// CreatePermission, ChannelBind, Refresh. Blocking, with bounded
/// retransmissions; the media path does not go through it.
class TurnClient {
 public:
  TurnClient(int fd, std::string username, std::string password);

  bool allocate();
  bool createPermission(const stun::TransportAddress& peer);
  bool channelBind(std::uint16_t channel, const stun::TransportAddress& peer);
  bool refresh(std::uint32_t lifetime);

  [[nodiscard]] const stun::TransportAddress& relayed() const { return relayed_; }
  [[nodiscard]] const std::string& error() const { return error_; }

 private:
  using Fill = std::function<void(stun::MessageBuilder&)>;
  /// Sends a request (authenticated once a nonce is known) until a response
  /// arrives; retries once on 401/438 with the new nonce. Returns the response bytes.
  std::optional<std::vector<std::uint8_t>> transact(stun::Method method, const Fill& fill);

  int fd_;
  std::string username_;
  std::string password_;
  std::string realm_;
  std::string nonce_;
  std::vector<std::uint8_t> key_;
  stun::TransportAddress relayed_;
  std::string error_;
};

}  // namespace turnpike::loadgen
