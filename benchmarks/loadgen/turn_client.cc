#include "benchmarks/loadgen/turn_client.h"

#include <poll.h>
#include <sys/socket.h>

#include <array>

#include "relay/stun/address_attribute.h"
#include "relay/stun/crypto.h"
#include "relay/stun/error_code_attribute.h"
#include "relay/stun/long_term_key.h"
#include "relay/stun/message_view.h"
#include "relay/stun/text_attributes.h"
#include "relay/stun/turn_attributes.h"

namespace turnpike::loadgen {

TurnClient::TurnClient(int fd, std::string username, std::string password)
    : fd_(fd), username_(std::move(username)), password_(std::move(password)) {}

std::optional<std::vector<std::uint8_t>> TurnClient::transact(stun::Method method,
                                                              const Fill& fill) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    stun::TransactionId tid{};
    stun::crypto::randomBytes(tid);
    std::array<std::uint8_t, 1024> buf{};
    stun::MessageBuilder b(buf, {method, stun::MessageClass::Request}, tid);
    if (fill) fill(b);
    if (!nonce_.empty()) {
      b.addText(stun::AttributeType::Username, username_);
      b.addText(stun::AttributeType::Realm, realm_);
      b.addText(stun::AttributeType::Nonce, nonce_);
      b.addMessageIntegrity(key_);
    }
    b.addFingerprint();
    // RFC 8489 §6.2.1 retransmissions, shortened for loopback: 100, 200, 400 ms.
    std::array<std::uint8_t, 2048> in{};
    ssize_t n = -1;
    for (int rto = 100; rto <= 400 && n < 0; rto *= 2) {
      ::send(fd_, b.bytes().data(), b.size(), 0);
      pollfd p{fd_, POLLIN, 0};
      while (::poll(&p, 1, rto) == 1) {
        const ssize_t got = ::recv(fd_, in.data(), in.size(), 0);
        if (got <= 0) break;
        const auto view =
            stun::MessageView::parse(std::span(in).first(static_cast<std::size_t>(got)));
        if (view && view->transactionId() == tid) {  // skip stray media
          n = got;
          break;
        }
      }
    }
    if (n < 0) {
      error_ = std::string(stun::methodName(method)) + ": no response";
      return std::nullopt;
    }
    const auto response =
        stun::MessageView::parse(std::span(in).first(static_cast<std::size_t>(n))).value();
    if (response.messageClass() == stun::MessageClass::SuccessResponse) {
      return std::vector<std::uint8_t>(in.begin(), in.begin() + n);
    }
    const auto code_attr = response.find(stun::AttributeType::ErrorCode);
    const std::uint16_t code = code_attr ? stun::decodeErrorCode(code_attr->value)->code : 0;
    const auto realm = response.find(stun::AttributeType::Realm);
    const auto nonce = response.find(stun::AttributeType::Nonce);
    if ((code == 401 || code == 438) && realm && nonce && attempt < 2) {
      const bool first = nonce_.empty();
      realm_ = std::string(stun::decodeText(stun::AttributeType::Realm, realm->value).value());
      nonce_ = std::string(stun::decodeText(stun::AttributeType::Nonce, nonce->value).value());
      key_ = *stun::longTermKey(stun::PasswordAlgorithmId::Md5, username_, realm_, password_);
      if (first || code == 438) continue;
    }
    error_ = std::string(stun::methodName(method)) + ": error " + std::to_string(code);
    return std::nullopt;
  }
  error_ = std::string(stun::methodName(method)) + ": authentication failed";
  return std::nullopt;
}

bool TurnClient::allocate() {
  const auto r = transact(stun::Method::Allocate, [](stun::MessageBuilder& b) {
    b.add(stun::AttributeType::RequestedTransport,
          stun::encodeRequestedTransport(stun::kProtocolUdp));
  });
  if (!r) return false;
  const auto view = stun::MessageView::parse(*r).value();
  const auto attr = view.find(stun::AttributeType::XorRelayedAddress);
  if (!attr) {
    error_ = "Allocate: no XOR-RELAYED-ADDRESS";
    return false;
  }
  relayed_ = stun::decodeXorAddress(attr->value, view.transactionId()).value();
  return true;
}

bool TurnClient::createPermission(const stun::TransportAddress& peer) {
  return transact(stun::Method::CreatePermission,
                  [&](stun::MessageBuilder& b) {
                    b.addXorAddress(stun::AttributeType::XorPeerAddress, peer);
                  })
      .has_value();
}

bool TurnClient::channelBind(std::uint16_t channel, const stun::TransportAddress& peer) {
  return transact(stun::Method::ChannelBind,
                  [&](stun::MessageBuilder& b) {
                    b.add(stun::AttributeType::ChannelNumber, stun::encodeChannelNumber(channel));
                    b.addXorAddress(stun::AttributeType::XorPeerAddress, peer);
                  })
      .has_value();
}

bool TurnClient::refresh(std::uint32_t lifetime) {
  return transact(
             stun::Method::Refresh,
             [&](stun::MessageBuilder& b) { b.addU32(stun::AttributeType::Lifetime, lifetime); })
      .has_value();
}

}  // namespace turnpike::loadgen
