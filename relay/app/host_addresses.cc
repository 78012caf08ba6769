#include "relay/app/host_addresses.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>

namespace turnpike::app {
namespace {

std::optional<std::string> addressText(const sockaddr* address) {
  std::array<char, INET6_ADDRSTRLEN> text{};
  const void* ip = nullptr;
  if (address->sa_family == AF_INET) {
    ip = &reinterpret_cast<const sockaddr_in*>(address)->sin_addr;
  } else if (address->sa_family == AF_INET6) {
    ip = &reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr;
  } else {
    return std::nullopt;
  }
  if (inet_ntop(address->sa_family, ip, text.data(), text.size()) == nullptr) {
    return std::nullopt;
  }
  return std::string(text.data());
}

bool isWildcard(const std::string& ip) { return ip == "0.0.0.0" || ip == "::"; }

}  // namespace

std::vector<std::string> interfaceAddresses() {
  std::vector<std::string> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) {
    return out;
  }
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr) {
      continue;
    }
    if (auto text = addressText(i->ifa_addr)) {
      out.push_back(std::move(*text));
    }
  }
  freeifaddrs(list);
  return out;
}

std::optional<std::string> firstHostIpv4() {
  for (const auto& ip : interfaceAddresses()) {
    if (ip.find(':') == std::string::npos && ip.rfind("127.", 0) != 0) {
      return ip;
    }
  }
  return std::nullopt;
}

std::vector<std::string> ownAddresses(const conf::Config& config) {
  std::vector<std::string> out = interfaceAddresses();
  for (const auto& relay : config.relay.addresses) {
    out.push_back(relay.bind);
    if (!relay.external.empty()) {
      out.push_back(relay.external);
    }
  }
  for (const auto* list : {&config.listen.udp, &config.listen.tcp, &config.listen.tls}) {
    for (const auto& endpoint : *list) {
      out.push_back(endpoint.ip);
    }
  }
  std::erase_if(out, isWildcard);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace turnpike::app
