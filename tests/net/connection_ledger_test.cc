#include "relay/net/connection_ledger.h"

#include <gtest/gtest.h>

#include <vector>

namespace turnpike::net {
namespace {

stun::TransportAddress at(const char* text) { return *stun::TransportAddress::parse(text); }

TEST(ConnectionLedger, CountsIpv4SourcesPerAddressAndIpv6PerSlash64) {
  ConnectionLedger ledger(2, 100);
  std::vector<std::unique_ptr<ConnectionLedger::Ticket>> held;
  held.push_back(ledger.admit(at("198.51.100.1:1000")));
  held.push_back(ledger.admit(at("198.51.100.1:1001")));
  EXPECT_EQ(ledger.admit(at("198.51.100.1:1002")), nullptr);
  EXPECT_NE(ledger.admit(at("198.51.100.2:1000")), nullptr);  // another IPv4 address

  // Every address of one /64 is one source.
  held.push_back(ledger.admit(at("[2001:db8:1:2::1]:1000")));
  held.push_back(ledger.admit(at("[2001:db8:1:2:ffff:ffff:ffff:ffff]:1000")));
  EXPECT_EQ(ledger.admit(at("[2001:db8:1:2:abcd::9]:1000")), nullptr);
  EXPECT_NE(ledger.admit(at("[2001:db8:1:3::1]:1000")), nullptr);  // the next /64

  held.pop_back();  // a slot of that /64 comes back
  EXPECT_NE(ledger.admit(at("[2001:db8:1:2:abcd::9]:1000")), nullptr);
}

TEST(ConnectionLedger, TotalCapHolds) {
  ConnectionLedger ledger(10, 2);
  auto a = ledger.admit(at("198.51.100.1:1"));
  auto b = ledger.admit(at("198.51.100.2:1"));
  EXPECT_EQ(ledger.admit(at("198.51.100.3:1")), nullptr);
  a.reset();
  EXPECT_NE(ledger.admit(at("198.51.100.3:1")), nullptr);
  EXPECT_EQ(ledger.open(), 1U);  // b; the tickets above were given back at once
}

}  // namespace
}  // namespace turnpike::net
