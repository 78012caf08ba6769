// turnpike-forwarder: the least a UDP relay must do, to measure what fraction
// of the machine's limit a relay reaches. Each client's datagrams arriving on
// the listen socket are sent from a socket of that client's own to --peer;
// what the peer sends back goes to the client from the listen socket. No
// parsing, no authentication, no permissions: recvmmsg in, send out.
// With --echo each datagram goes back to its sender from the listen socket
// instead (one sendmmsg per batch): the least a server must do to answer a
// STUN request, the floor of `turnpike-loadgen --alloc-rate --raw`.
//
//   turnpike-forwarder --listen 127.0.0.1:4000 --peer 127.0.0.1:5000 --duration 60
//   turnpike-forwarder --listen 127.0.0.1:4000 --echo --duration 60

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <array>
#include <chrono>
#include <csignal>
#include <cstring>
#include <iostream>
#include <map>
#include <unordered_map>
#include <vector>

namespace {

volatile std::sig_atomic_t g_stop = 0;

sockaddr_in parse(const std::string& text) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  const auto colon = text.rfind(':');
  inet_pton(AF_INET, text.substr(0, colon).c_str(), &sin.sin_addr);
  sin.sin_port = htons(static_cast<std::uint16_t>(std::stoi(text.substr(colon + 1))));
  return sin;
}

std::uint64_t key(const sockaddr_in& a) {
  return (std::uint64_t{a.sin_addr.s_addr} << 16) | a.sin_port;
}

}  // namespace

int main(int argc, char** argv) {
  std::string listen_text = "127.0.0.1:4000";
  std::string peer_text;
  double duration = 60;
  bool echo = false;
  CLI::App cli{"turnpike-forwarder: a bare UDP forwarder (the relay's lower bound)"};
  cli.add_option("--listen", listen_text, "ip:port clients send to");
  auto* peer_option = cli.add_option("--peer", peer_text, "ip:port every datagram goes to");
  cli.add_flag("--echo", echo, "answer each datagram to its sender instead (no --peer)")
      ->excludes(peer_option);
  cli.add_option("--duration", duration, "seconds before exiting (bounded)")
      ->check(CLI::Range(0.1, 3600.0));
  CLI11_PARSE(cli, argc, argv);
  if (!echo && peer_text.empty()) {
    std::cerr << "--peer or --echo is required\n";
    return 2;
  }
  std::signal(SIGTERM, [](int) { g_stop = 1; });
  std::signal(SIGINT, [](int) { g_stop = 1; });

  const sockaddr_in listen_addr = parse(listen_text);
  const sockaddr_in peer = echo ? sockaddr_in{} : parse(peer_text);
  const int front = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  if (::bind(front, reinterpret_cast<const sockaddr*>(&listen_addr), sizeof listen_addr) != 0) {
    std::perror("bind");
    return 1;
  }
  const int buf = 4 << 20;
  ::setsockopt(front, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  const int ep = ::epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = front;
  ::epoll_ctl(ep, EPOLL_CTL_ADD, front, &ev);
  std::unordered_map<std::uint64_t, int> back_of;  // client -> its socket toward the peer
  std::unordered_map<int, sockaddr_in> client_of;  // that socket -> the client

  constexpr std::size_t kBatch = 32;
  std::vector<std::uint8_t> data(kBatch * 2048);
  std::array<mmsghdr, kBatch> in{};
  std::array<iovec, kBatch> iov{};
  std::array<sockaddr_in, kBatch> from{};
  std::array<mmsghdr, kBatch> out{};
  std::array<sockaddr_in, kBatch> to{};
  std::array<epoll_event, 64> events{};
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(duration);
  std::uint64_t forwarded = 0;
  std::cout << (echo ? "echoing on " + listen_text
                     : "forwarding " + listen_text + " <-> " + peer_text)
            << std::endl;
  while (g_stop == 0 && std::chrono::steady_clock::now() < end) {
    const int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), 100);
    for (int e = 0; e < n; ++e) {
      const int fd = events[static_cast<std::size_t>(e)].data.fd;
      for (int round = 0; round < 8; ++round) {
        for (std::size_t i = 0; i < kBatch; ++i) {
          iov[i] = {&data[i * 2048], 2048};
          in[i].msg_hdr = msghdr{};
          in[i].msg_hdr.msg_iov = &iov[i];
          in[i].msg_hdr.msg_iovlen = 1;
          in[i].msg_hdr.msg_name = &from[i];
          in[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
        }
        const int got = ::recvmmsg(fd, in.data(), kBatch, MSG_DONTWAIT, nullptr);
        if (got <= 0) break;
        if (fd == front && echo) {
          for (int k = 0; k < got; ++k) {
            const auto i = static_cast<std::size_t>(k);
            iov[i].iov_len = in[i].msg_len;
          }
          const int sent = ::sendmmsg(front, in.data(), static_cast<unsigned>(got), MSG_DONTWAIT);
          forwarded += sent > 0 ? static_cast<std::uint64_t>(sent) : 0;
        } else if (fd == front) {
          // Toward the peer: each client's own socket, one send each.
          for (int k = 0; k < got; ++k) {
            const auto i = static_cast<std::size_t>(k);
            auto it = back_of.find(key(from[i]));
            if (it == back_of.end()) {
              const int b = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
              sockaddr_in any{};
              any.sin_family = AF_INET;
              any.sin_addr = listen_addr.sin_addr;
              ::bind(b, reinterpret_cast<sockaddr*>(&any), sizeof any);
              ::setsockopt(b, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
              epoll_event bev{};
              bev.events = EPOLLIN;
              bev.data.fd = b;
              ::epoll_ctl(ep, EPOLL_CTL_ADD, b, &bev);
              it = back_of.emplace(key(from[i]), b).first;
              client_of[b] = from[i];
            }
            ::sendto(it->second, &data[i * 2048], in[i].msg_len, MSG_DONTWAIT,
                     reinterpret_cast<const sockaddr*>(&peer), sizeof peer);
            ++forwarded;
          }
        } else {
          // Back to the client: one sendmmsg from the front socket.
          const sockaddr_in client = client_of[fd];
          for (int k = 0; k < got; ++k) {
            const auto i = static_cast<std::size_t>(k);
            to[i] = client;
            out[i].msg_hdr = msghdr{};
            out[i].msg_hdr.msg_iov = &iov[i];
            out[i].msg_hdr.msg_iovlen = 1;
            iov[i].iov_len = in[i].msg_len;
            out[i].msg_hdr.msg_name = &to[i];
            out[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
          }
          const int sent = ::sendmmsg(front, out.data(), static_cast<unsigned>(got), MSG_DONTWAIT);
          forwarded += sent > 0 ? static_cast<std::uint64_t>(sent) : 0;
        }
        if (got < static_cast<int>(kBatch)) break;
      }
    }
  }
  for (const auto& [k, fd] : back_of) ::close(fd);
  ::close(front);
  ::close(ep);
  std::cout << "forwarded " << forwarded << " datagrams" << std::endl;
  return 0;
}
