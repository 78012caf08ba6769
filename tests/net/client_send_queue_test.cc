// ClientSendQueue on real loopback sockets: datagrams are received with room
// in front, queued where they lie or copied, and leave in sendmmsg runs.

#include "relay/net/client_send_queue.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "relay/base/clock.h"
#include "relay/net/socket_address.h"

namespace turnpike::net {
namespace {

struct Socket {
  Socket() {
    fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    const int buffer = 1 << 20;  // every datagram of a test fits
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin);
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
    address = fromSockaddr(ss);
  }
  ~Socket() { ::close(fd); }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  void sendTo(const Socket& to, const std::string& text) const {
    sockaddr_storage ss{};
    const socklen_t len = toSockaddr(to.address, ss);
    ::sendto(fd, text.data(), text.size(), 0, reinterpret_cast<sockaddr*>(&ss), len);
  }
  std::vector<std::string> receiveAll() const {
    std::vector<std::string> got;
    char buf[4096];
    for (int tries = 0; tries < 200; ++tries) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n >= 0) {
        got.emplace_back(buf, static_cast<std::size_t>(n));
        tries = 0;
      } else {
        ::usleep(1000);
        if (!got.empty()) break;
      }
    }
    return got;
  }

  int fd = -1;
  stun::TransportAddress address;
};

TEST(ClientSendQueue, ReceivesWithHeadroomAndSendsInPlace) {
  SteadyClock clock;
  EventLoop loop(clock);
  ClientSendQueue queue(loop);
  Socket peer;
  Socket relay;
  Socket listener;
  Socket client;
  peer.sendTo(relay, "one");
  peer.sendTo(relay, "two");
  ::usleep(10000);
  ASSERT_EQ(queue.receive(relay.fd), 2);
  for (std::size_t i = 0; i < 2; ++i) {
    auto frame = queue.frame(i);
    ASSERT_EQ(frame.size(), turn::kPeerHeadroom + 3);
    EXPECT_EQ(queue.source(i), peer.address);
    std::memcpy(frame.data(), "HDR:", turn::kPeerHeadroom);  // the header room is ours
    queue.push(listener.fd, client.address, frame);
  }
  EXPECT_EQ(queue.pending(), 2U);
  queue.flush();
  EXPECT_EQ(queue.pending(), 0U);
  EXPECT_EQ(client.receiveAll(), (std::vector<std::string>{"HDR:one", "HDR:two"}));
}

TEST(ClientSendQueue, CopiesForeignBytesAndKeepsOrderAcrossSockets) {
  SteadyClock clock;
  EventLoop loop(clock);
  ClientSendQueue queue(loop);
  Socket a;
  Socket b;
  Socket client;
  std::vector<std::string> expected;
  for (int i = 0; i < 200; ++i) {  // more than the queue's slots: it flushes by itself
    std::string s = "m" + std::to_string(i);
    const Socket& from = i % 3 == 0 ? b : a;
    queue.push(from.fd, client.address,
               {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()});
    s.assign(s.size(), 'x');  // the queue holds its own copy
    expected.push_back("m" + std::to_string(i));
  }
  queue.flush();
  EXPECT_EQ(client.receiveAll(), expected);
}

TEST(ClientSendQueue, FlushesByItselfAfterTheLoopsIo) {
  SteadyClock clock;
  EventLoop loop(clock);
  ClientSendQueue queue(loop);
  Socket from;
  Socket client;
  const std::string s = "later";
  queue.push(from.fd, client.address, {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()});
  EXPECT_TRUE(client.receiveAll().empty());
  event_base_loop(loop.base(), EVLOOP_NONBLOCK);
  EXPECT_EQ(client.receiveAll(), std::vector<std::string>{"later"});
}

}  // namespace
}  // namespace turnpike::net
