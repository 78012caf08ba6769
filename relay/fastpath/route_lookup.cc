#include "relay/fastpath/route_lookup.h"

#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstddef>
#include <cstring>

#include "relay/fastpath/mapped_address.h"

namespace turnpike::fastpath {
namespace {

// An owned file descriptor.
struct Socket {
  int fd;
  ~Socket() {
    if (fd >= 0) {
      ::close(fd);
    }
  }
};

bool interfaceIsLoopback(std::uint32_t ifindex) {
  std::array<char, IF_NAMESIZE> name{};
  if (if_indextoname(ifindex, name.data()) == nullptr) {
    return false;
  }
  const Socket s{::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
  ifreq request{};
  std::memcpy(request.ifr_name, name.data(), IF_NAMESIZE);
  return s.fd >= 0 && ::ioctl(s.fd, SIOCGIFFLAGS, &request) == 0 &&
         (request.ifr_flags & IFF_LOOPBACK) != 0;
}

// The answer's RTA_OIF and RTA_PREFSRC.
std::optional<Route> parseAnswer(const std::uint8_t* data, std::size_t size, bool v4) {
  if (size < sizeof(nlmsghdr)) {
    return std::nullopt;
  }
  nlmsghdr header{};
  std::memcpy(&header, data, sizeof header);
  if (header.nlmsg_type != RTM_NEWROUTE || header.nlmsg_len > size ||
      header.nlmsg_len < NLMSG_LENGTH(sizeof(rtmsg))) {
    return std::nullopt;  // NLMSG_ERROR: no route
  }
  Route route;
  std::size_t offset = NLMSG_LENGTH(sizeof(rtmsg));
  while (offset + sizeof(rtattr) <= header.nlmsg_len) {
    rtattr attribute{};
    std::memcpy(&attribute, data + offset, sizeof attribute);
    if (attribute.rta_len < sizeof(rtattr) || offset + attribute.rta_len > header.nlmsg_len) {
      break;
    }
    const std::uint8_t* value = data + offset + RTA_LENGTH(0);
    const std::size_t length = attribute.rta_len - RTA_LENGTH(0);
    if (attribute.rta_type == RTA_OIF && length >= 4) {
      std::memcpy(&route.ifindex, value, 4);
    } else if (attribute.rta_type == RTA_PREFSRC && v4 && length >= 4) {
      std::uint32_t source = 0;
      std::memcpy(&source, value, 4);
      route.source = v4Mapped(source);
    } else if (attribute.rta_type == RTA_PREFSRC && !v4 && length >= sizeof route.source) {
      std::memcpy(route.source.data(), value, sizeof route.source);
    }
    offset += RTA_ALIGN(attribute.rta_len);
  }
  if (route.ifindex == 0) {
    return std::nullopt;
  }
  return route;
}

}  // namespace

RouteLookup::RouteLookup()
    : netlink_(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE)) {}

RouteLookup::~RouteLookup() {
  if (netlink_ >= 0) {
    ::close(netlink_);
  }
}

bool RouteLookup::isLoopbackInterface(std::uint32_t ifindex) {
  if (const auto it = loopback_.find(ifindex); it != loopback_.end()) {
    return it->second;
  }
  if (loopback_.size() >= kMaxInterfaces) {
    loopback_.clear();
  }
  const bool loopback = interfaceIsLoopback(ifindex);
  loopback_.emplace(ifindex, loopback);
  return loopback;
}

std::optional<Route> RouteLookup::routeTo(const Address& destination) {
  if (netlink_ < 0) {
    return std::nullopt;
  }
  const bool v4 = isV4Mapped(destination);
  struct {
    nlmsghdr header;
    rtmsg route;
    rtattr destination_attribute;
    Address destination;
  } request{};
  // An IPv4 question carries 4 address bytes, an IPv6 one 16.
  const std::size_t address_size = v4 ? 4 : 16;
  const std::size_t size = offsetof(decltype(request), destination) + address_size;
  request.header.nlmsg_len = static_cast<std::uint32_t>(size);
  request.header.nlmsg_type = RTM_GETROUTE;
  request.header.nlmsg_flags = NLM_F_REQUEST;
  request.header.nlmsg_seq = ++sequence_;
  request.route.rtm_family = v4 ? AF_INET : AF_INET6;
  request.route.rtm_dst_len = static_cast<unsigned char>(address_size * 8);
  request.destination_attribute.rta_type = RTA_DST;
  request.destination_attribute.rta_len = static_cast<unsigned short>(RTA_LENGTH(address_size));
  if (v4) {
    request.destination[0] = destination[3];
  } else {
    request.destination = destination;
  }
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(netlink_, &request, size, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) !=
      static_cast<ssize_t>(size)) {
    return std::nullopt;
  }
  // The answer to this question: one left over from a question that failed
  // half way has another sequence number and is skipped.
  std::array<std::uint8_t, 1024> answer{};
  for (int read = 0; read < 4; ++read) {
    const ssize_t got = ::recv(netlink_, answer.data(), answer.size(), 0);
    if (got < static_cast<ssize_t>(sizeof(nlmsghdr))) {
      return std::nullopt;
    }
    nlmsghdr header{};
    std::memcpy(&header, answer.data(), sizeof header);
    if (header.nlmsg_seq != sequence_) {
      continue;
    }
    auto route = parseAnswer(answer.data(), static_cast<std::size_t>(got), v4);
    if (route) {
      route->loopback_interface = isLoopbackInterface(route->ifindex);
    }
    return route;
  }
  return std::nullopt;
}

}  // namespace turnpike::fastpath
