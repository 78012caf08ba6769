#pragma once

#include <poll.h>

#include <array>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "relay/stun/address_attribute.h"
#include "relay/stun/error_code_attribute.h"
#include "relay/stun/long_term_key.h"
#include "relay/stun/message_builder.h"
#include "relay/stun/message_view.h"
#include "relay/stun/text_attributes.h"
#include "relay/stun/turn_attributes.h"
#include "tests/integration/loopback_client.h"

namespace turnpike::testing {

/// A minimal TURN client over UDP (or, with SOCK_STREAM, TCP: one small
/// message per read) with long-term credentials (a static user or a TURN
/// REST username and password), for tests of the real binary.
class TurnClient {
 public:
  TurnClient(std::uint16_t port, std::string username, std::string password,
             std::string realm = "example.org", int type = SOCK_DGRAM)
      : socket_(type, port),
        username_(std::move(username)),
        password_(std::move(password)),
        realm_(std::move(realm)) {}

  /// Sends `method` with `fill`, authenticated once a nonce is known; returns
  /// the response (after one 401 round when needed).
  std::optional<std::vector<std::uint8_t>> request(
      stun::Method method, const std::function<void(stun::MessageBuilder&)>& fill) {
    for (int round = 0; round < 2; ++round) {
      std::array<std::uint8_t, 512> buf{};
      stun::TransactionId tid{};
      tid[0] = static_cast<std::uint8_t>(++counter_);
      tid[1] = 0x7C;
      stun::MessageBuilder b(buf, {method, stun::MessageClass::Request}, tid);
      if (fill) fill(b);
      if (!nonce_.empty()) {
        b.addText(stun::AttributeType::Username, username_);
        b.addText(stun::AttributeType::Realm, realm_);
        b.addText(stun::AttributeType::Nonce, nonce_);
        b.addMessageIntegrity(
            *stun::longTermKey(stun::PasswordAlgorithmId::Md5, username_, realm_, password_));
      }
      if (!socket_.send(b.bytes())) return std::nullopt;
      auto reply = socket_.receive();
      if (!reply) return std::nullopt;
      const auto view = stun::MessageView::parse(*reply);
      if (!view) return std::nullopt;
      if (errorOf(*reply) != 401 || round == 1) return reply;
      const auto nonce = view.value().find(stun::AttributeType::Nonce);
      nonce_.assign(nonce->value.begin(), nonce->value.end());
    }
    return std::nullopt;
  }

  /// Allocate a UDP relay; the response's error code (0: success, -1: no answer).
  int allocate() {
    const auto reply = request(stun::Method::Allocate, [](stun::MessageBuilder& b) {
      b.add(stun::AttributeType::RequestedTransport,
            stun::encodeRequestedTransport(stun::kProtocolUdp));
    });
    if (reply && errorOf(*reply) == 0) {
      const auto view = stun::MessageView::parse(*reply).value();
      if (const auto attr = view.find(stun::AttributeType::XorRelayedAddress)) {
        relayed_ = stun::decodeXorAddress(attr->value, view.transactionId()).value();
      }
    }
    return reply ? errorOf(*reply) : -1;
  }
  /// The relayed transport address of the last successful allocate().
  [[nodiscard]] const stun::TransportAddress& relayed() const { return relayed_; }
  /// Refresh with LIFETIME `seconds`; the error code as for allocate().
  int refresh(std::uint32_t seconds) {
    const auto reply = request(stun::Method::Refresh, [seconds](stun::MessageBuilder& b) {
      b.addU32(stun::AttributeType::Lifetime, seconds);
    });
    return reply ? errorOf(*reply) : -1;
  }
  int createPermission(const stun::TransportAddress& peer) {
    const auto reply = request(stun::Method::CreatePermission, [&](stun::MessageBuilder& b) {
      b.addXorAddress(stun::AttributeType::XorPeerAddress, peer);
    });
    return reply ? errorOf(*reply) : -1;
  }

  /// A Send indication to `peer` (no answer comes).
  void sendIndication(const stun::TransportAddress& peer, const std::string& data) {
    std::array<std::uint8_t, 1500> buf{};
    stun::MessageBuilder b(buf, {stun::Method::Send, stun::MessageClass::Indication},
                           stun::TransactionId{9});
    b.addXorAddress(stun::AttributeType::XorPeerAddress, peer);
    b.add(stun::AttributeType::Data,
          {reinterpret_cast<const std::uint8_t*>(data.data()), data.size()});
    socket_.send(b.bytes());
  }

  /// The socket, for what comes after a ConnectionBind (raw bytes).
  LoopbackSocket& socket() { return socket_; }

  static int errorOf(const std::vector<std::uint8_t>& bytes) {
    const auto view = stun::MessageView::parse(bytes);
    const auto attr = view ? view.value().find(stun::AttributeType::ErrorCode) : std::nullopt;
    return attr ? stun::decodeErrorCode(attr->value).value().code : 0;
  }

 private:
  LoopbackSocket socket_;
  std::string username_;
  std::string password_;
  std::string realm_;
  std::string nonce_;
  int counter_ = 0;
  stun::TransportAddress relayed_;
};

/// A UDP peer on 127.0.0.1 that receives what a relay sends it.
class LoopbackPeer {
 public:
  LoopbackPeer() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    address_ = *stun::TransportAddress::parse("127.0.0.1:" + std::to_string(bindLoopback(fd_)));
  }
  ~LoopbackPeer() { ::close(fd_); }
  LoopbackPeer(const LoopbackPeer&) = delete;
  LoopbackPeer& operator=(const LoopbackPeer&) = delete;

  [[nodiscard]] const stun::TransportAddress& address() const { return address_; }
  /// The next datagram, or nullopt after `timeout_ms`.
  std::optional<std::string> receive(int timeout_ms = 5000) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) != 1) return std::nullopt;
    std::array<char, 2048> got{};
    const ssize_t n = ::recv(fd_, got.data(), got.size(), 0);
    if (n < 0) return std::nullopt;
    return std::string(got.data(), static_cast<std::size_t>(n));
  }

 private:
  int fd_ = -1;
  stun::TransportAddress address_;
};

}  // namespace turnpike::testing
