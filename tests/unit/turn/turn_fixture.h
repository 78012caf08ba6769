#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <memory>

#include "auth/authenticator.h"
#include "auth/call_credentials.h"
#include "auth/rest_credentials.h"
#include "auth/static_users.h"
#include "relay/stun/address_attribute.h"
#include "relay/stun/error_code_attribute.h"
#include "relay/stun/message_builder.h"
#include "relay/stun/text_attributes.h"
#include "relay/stun/turn_attributes.h"
#include "relay/turn/relay_port_pool.h"
#include "relay/turn/turn_server.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fake_network.h"

namespace turnpike::testing {

inline const char* kRealm = "example.org";
inline const char* kSecret = "s3cret";
/// Signs call-bound credentials (the control plane's secret).
inline const char* kCallSecret = "call-s3cret";

/// Records the lifecycle events the protocol layer reports.
struct RecordingObserver : turn::AllocationObserver {
  struct Usage {
    std::uint64_t id = 0;
    turn::TrafficCounters traffic;
  };
  std::vector<Usage> usage;
  std::vector<std::pair<std::uint64_t, turn::DeletionReason>> deleted;
  void onAllocationUsage(const turn::Allocation& a) override { usage.push_back({a.id, a.traffic}); }
  void onAllocationDeleted(const turn::Allocation& a, turn::DeletionReason reason) override {
    deleted.emplace_back(a.id, reason);
  }
};

/// A TurnServer with a fake clock and a fake network, and a client that
/// speaks to it: one worker's protocol layer, no sockets.
class TurnFixture : public ::testing::Test {
 protected:
  using Fill = std::function<void(stun::MessageBuilder&)>;

  TurnFixture() { rebuild(); }

  /// Calls whose credentials are refused (the control plane writes it).
  std::shared_ptr<auth::CallRevocations> revocations = std::make_shared<auth::CallRevocations>();
  /// Set before rebuild(): the server also has an IPv6 relay address.
  bool with_ipv6_relay = false;
  /// The transport requests arrive over (TCP for RFC 6062 tests).
  turn::Transport transport = turn::Transport::Udp;

  void rebuild(turn::TurnSettings settings = {}, std::uint32_t per_user = 10,
               std::uint32_t total = 1000, std::uint16_t min_port = 50000,
               std::uint16_t max_port = 50099) {
    std::vector<std::shared_ptr<const auth::CredentialProvider>> providers;
    providers.push_back(std::make_shared<auth::StaticUsers>(
        std::map<std::string, std::string>{{"alice", "alice-pw"}, {"bob", "bob-pw"}}, kRealm));
    providers.push_back(std::make_shared<auth::RestCredentials>(
        std::vector<std::string>{"old-secret", kSecret, kCallSecret}, std::chrono::hours{24},
        /*calls_elsewhere=*/true));
    providers.push_back(std::make_shared<auth::CallCredentials>(
        kCallSecret, std::chrono::hours{24}, std::chrono::hours{4}, revocations));
    std::array<std::uint8_t, 32> key{};
    key.fill(7);
    authenticator = std::make_unique<auth::Authenticator>(
        kRealm, auth::NonceCodec(key, std::chrono::minutes{10}), std::move(providers));
    policy = std::make_unique<turn::PeerPolicy>(false, std::vector<turn::IpPrefix>{},
                                                std::vector<turn::IpPrefix>{});
    quotas = std::make_unique<turn::QuotaLedger>(per_user, total);
    pool = std::make_unique<turn::RelayPortPool>(min_port, max_port, clock);
    pool6 = std::make_unique<turn::RelayPortPool>(min_port, max_port, clock);
    relay_ip = *stun::TransportAddress::parse("10.1.1.1:0");
    advertised_ip = *stun::TransportAddress::parse("198.51.100.1:0");
    std::vector<turn::RelayEndpoint> relays{{relay_ip, advertised_ip, pool.get()}};
    if (with_ipv6_relay) {
      const auto v6 = *stun::TransportAddress::parse("[2a00:1450::1]:0");
      relays.push_back({v6, v6, pool6.get()});
    }
    server.reset();
    core = std::make_unique<turn::TurnCore>(settings, clock, *authenticator, network, *policy,
                                            *quotas, std::move(relays), observer);
    server = std::make_unique<turn::TurnServer>(*core);
  }

  turn::FiveTuple tupleFor(const char* client) const {
    return {*stun::TransportAddress::parse(client), *stun::TransportAddress::parse("10.0.0.1:3478"),
            transport};
  }

  stun::TransactionId nextTid() {
    stun::TransactionId t{};
    ++tid_counter_;
    std::memcpy(t.data(), &tid_counter_, sizeof tid_counter_);
    return t;
  }

  /// Builds a request; with `username` set it carries REALM, NONCE and
  /// MESSAGE-INTEGRITY with the long-term key of (username, password).
  std::vector<std::uint8_t> request(stun::Method method, const Fill& fill,
                                    const std::string& username = "",
                                    const std::string& password = "", const std::string& nonce = "",
                                    std::optional<stun::TransactionId> tid = std::nullopt) {
    std::array<std::uint8_t, 1024> buf{};
    last_tid = tid ? *tid : nextTid();
    stun::MessageBuilder b(buf, {method, stun::MessageClass::Request}, last_tid);
    if (fill) fill(b);
    if (!username.empty()) {
      b.addText(stun::AttributeType::Username, username);
      b.addText(stun::AttributeType::Realm, kRealm);
      b.addText(stun::AttributeType::Nonce, nonce);
      const auto key =
          stun::longTermKey(stun::PasswordAlgorithmId::Md5, username, kRealm, password);
      b.addMessageIntegrity(*key);
    }
    return {b.bytes().begin(), b.bytes().end()};
  }

  /// Sends bytes from `client`; returns the parsed response (or nullopt).
  std::optional<stun::MessageView> send(const std::vector<std::uint8_t>& bytes,
                                        const char* client = "192.0.2.10:40000") {
    last_request = bytes;
    const auto o = server->handleDatagram(last_request, tupleFor(client), out);
    if (o.kind != turn::Outcome::Kind::Reply) return std::nullopt;
    auto r = stun::MessageView::parse(std::span(out).first(o.size));
    EXPECT_TRUE(r.ok());
    if (!r.ok()) return std::nullopt;
    return r.value();
  }

  /// A nonce for `client` as the server would hand it out now.
  std::string nonceFor(const char* client = "192.0.2.10:40000") {
    return authenticator->nonceFor(*stun::TransportAddress::parse(client), clock.unixTime());
  }

  std::string restUsername(std::chrono::seconds valid_for, const std::string& user = "carol") {
    return std::to_string((clock.unixTime() + valid_for).count()) + ":" + user;
  }

  static std::uint16_t errorCode(const std::optional<stun::MessageView>& r) {
    if (!r) return 0;
    const auto attr = r->find(stun::AttributeType::ErrorCode);
    if (!attr) return 0;
    return stun::decodeErrorCode(attr->value)->code;
  }

  static Fill udpAllocate(const Fill& more = {}) {
    return [more](stun::MessageBuilder& b) {
      b.add(stun::AttributeType::RequestedTransport,
            stun::encodeRequestedTransport(stun::kProtocolUdp));
      if (more) more(b);
    };
  }

  static Fill peer(const char* address) {
    return [address](stun::MessageBuilder& b) {
      b.addXorAddress(stun::AttributeType::XorPeerAddress, *stun::TransportAddress::parse(address));
    };
  }

  /// Allocates from `client`; returns the relayed address.
  stun::TransportAddress allocate(const char* client = "192.0.2.10:40000",
                                  const std::string& user = "alice",
                                  const std::string& pw = "alice-pw") {
    const auto r =
        send(request(stun::Method::Allocate, udpAllocate(), user, pw, nonceFor(client)), client);
    EXPECT_TRUE(r.has_value());
    if (!r) return {};
    EXPECT_EQ(r->messageClass(), stun::MessageClass::SuccessResponse) << errorCode(r);
    const auto relayed = r->find(stun::AttributeType::XorRelayedAddress);
    if (!relayed) return {};
    return stun::decodeXorAddress(relayed->value, r->transactionId()).value();
  }

  /// An authenticated request from alice at the default client.
  std::optional<stun::MessageView> aliceSends(stun::Method method, const Fill& fill,
                                              const char* client = "192.0.2.10:40000") {
    return send(request(method, fill, "alice", "alice-pw", nonceFor(client)), client);
  }

  FakeClock clock;
  FakeNetwork network;
  RecordingObserver observer;
  std::unique_ptr<auth::Authenticator> authenticator;
  std::unique_ptr<turn::PeerPolicy> policy;
  std::unique_ptr<turn::QuotaLedger> quotas;
  std::unique_ptr<turn::RelayPortPool> pool;
  std::unique_ptr<turn::RelayPortPool> pool6;
  std::unique_ptr<turn::TurnCore> core;
  std::unique_ptr<turn::TurnServer> server;
  stun::TransportAddress relay_ip;
  stun::TransportAddress advertised_ip;
  stun::TransactionId last_tid{};
  std::vector<std::uint8_t> last_request;
  std::array<std::uint8_t, 2048> out{};

 private:
  std::uint64_t tid_counter_ = 0;
};

}  // namespace turnpike::testing
