#include "relay/net/listen_socket.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "relay/net/socket_address.h"

namespace turnpike::net {
namespace {

OpenedSocket fail(int fd, const char* what) {
  OpenedSocket s;
  s.error = std::string(what) + ": " + std::strerror(errno);
  if (fd >= 0) {
    ::close(fd);
  }
  return s;
}

}  // namespace

void applySocketBuffers(int fd, std::uint32_t receive, std::uint32_t send) {
  const auto set = [fd](int option, std::uint32_t bytes, const char* name) {
    const int value = static_cast<int>(bytes);
    if (bytes != 0 && ::setsockopt(fd, SOL_SOCKET, option, &value, sizeof value) != 0) {
      spdlog::warn("{}({}): {}", name, bytes, std::strerror(errno));
    }
  };
  set(SO_RCVBUF, receive, "SO_RCVBUF");
  set(SO_SNDBUF, send, "SO_SNDBUF");
}

OpenedSocket openListenSocket(SocketKind kind, const stun::TransportAddress& address) {
  const int family = address.family == stun::AddressFamily::IPv6 ? AF_INET6 : AF_INET;
  const int type =
      (kind == SocketKind::Udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC;
  const int fd = ::socket(family, type, 0);
  if (fd < 0) {
    return fail(fd, "socket");
  }
  const int one = 1;
  if (::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
      ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) {
    return fail(fd, "setsockopt");
  }
  // An IPv6 listener serves IPv6 only; IPv4 has its own listen addresses.
  if (family == AF_INET6 && ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0) {
    return fail(fd, "setsockopt(IPV6_V6ONLY)");
  }
  sockaddr_storage ss{};
  const socklen_t len = toSockaddr(address, ss);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    return fail(fd, "bind");
  }
  if (kind == SocketKind::Tcp && ::listen(fd, SOMAXCONN) != 0) {
    return fail(fd, "listen");
  }
  sockaddr_storage bound{};
  socklen_t bound_len = sizeof bound;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_len) != 0) {
    return fail(fd, "getsockname");
  }
  OpenedSocket s;
  s.fd = fd;
  s.local = fromSockaddr(bound);
  return s;
}

}  // namespace turnpike::net
