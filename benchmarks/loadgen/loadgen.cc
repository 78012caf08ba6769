// turnpike-loadgen: real SRTP-protected RTP through any TURN server with REST
// credentials. See benchmarks/README.md.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <thread>
#include <unordered_map>

#include "benchmarks/loadgen/kernel_echo.h"
#include "benchmarks/loadgen/media_packet.h"
#include "benchmarks/loadgen/srtp_stream.h"
#include "benchmarks/loadgen/stream_receiver.h"
#include "benchmarks/loadgen/turn_client.h"
#include "relay/stun/address_attribute.h"
#include "relay/stun/channel_data.h"
#include "relay/stun/crypto.h"
#include "relay/stun/message_view.h"

namespace turnpike::loadgen {
namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string server = "127.0.0.1:3478";
  std::string secret;
  std::string transport = "udp";
  std::string mode = "channel";
  unsigned clients = 10;
  double pps = 50;
  unsigned size = 172;
  double duration = 5;
  bool echo = false;
  bool ramp = false;
  double loss_threshold = 0.1;  // percent
  double ramp_step = 1.25;      // rate factor between ramp steps
  bool alloc_rate = false;
  unsigned concurrency = 4;
  std::string json;
  double hold = 0;                   // seconds to keep the allocations idle after the runs
  bool raw = false;                  // no TURN: bare SRTP to a forwarder at --server
  std::string sink = "127.0.0.1:0";  // where the peer sink listens (its ip is bound too)
  std::string bind = "127.0.0.1";    // local address of the client sockets
  bool precompute = false;           // protect a phase's packets before it starts
  unsigned verify_every = 1;         // unprotect one received packet in N
  std::string kernel_echo;           // interface whose TC ingress echoes for the peer
};

double us(std::uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

std::uint64_t nowNs() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
          .count());
}

std::string restUsername(const std::string& who) {
  return std::to_string(std::time(nullptr) + 3600) + ":" + who;
}

std::string restPassword(const std::string& secret, const std::string& username) {
  const auto mac = stun::crypto::hmacSha1(
      {reinterpret_cast<const std::uint8_t*>(secret.data()), secret.size()},
      {{reinterpret_cast<const std::uint8_t*>(username.data()), username.size()}});
  return stun::crypto::base64Encode(mac);
}

// A UDP socket bound to `local` (IPv4, network order) and `port` (0: any).
int udpSocket(in_addr local, const stun::TransportAddress* connect_to, std::uint16_t port = 0) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr = local;
  sin.sin_port = htons(port);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin) != 0) {
    std::perror("loadgen: bind");
  }
  // Deep buffers, past net.core.rmem_max where the process may (root): the
  // generator's receiver shares one core with its sender and the softirq
  // work, and a short stall of it must not read as loss in the relay.
  const int force = 32 << 20;
  const int buf = 4 << 20;
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &force, sizeof force) != 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  }
  if (::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &force, sizeof force) != 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
  }
  if (connect_to != nullptr) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    std::memcpy(&to.sin_addr, connect_to->ip.data(), 4);
    to.sin_port = htons(connect_to->port);
    ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to);
  }
  return fd;
}

/// The IPv4 address in `text` ("a.b.c.d"), or nothing.
std::optional<in_addr> parseIp(const std::string& text) {
  in_addr a{};
  if (::inet_pton(AF_INET, text.c_str(), &a) != 1) return std::nullopt;
  return a;
}

stun::TransportAddress localAddress(int fd) {
  sockaddr_in sin{};
  socklen_t len = sizeof sin;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sin), &len);
  stun::TransportAddress a;
  std::memcpy(a.ip.data(), &sin.sin_addr, 4);
  a.port = ntohs(sin.sin_port);
  return a;
}

/// One media stream: where it is received, and what arrived.
struct Receiving {
  std::unique_ptr<SrtpStream> srtp;
  std::uint64_t arrivals = 0;  // picks which packets --verify-every checks
  StreamReceiver stream;
  LatencyHistogram latency;
};

struct LoadClient {
  int fd = -1;
  std::unique_ptr<TurnClient> turn;
  std::uint32_t ssrc = 0;
  std::uint16_t channel = 0;
  std::uint16_t seq = 0;
  std::unique_ptr<SrtpStream> out;
  Receiving echo;  // what comes back when the sink echoes
};

struct PhaseResult {
  double offered_pps = 0;
  double seconds = 0;
  std::uint64_t sent = 0;
  bool echo = false;
  StreamCounts at_peer;
  StreamCounts echoed;
  LatencyHistogram one_way;
  LatencyHistogram round_trip;
  /// Of the packets sent, those that did not arrive: at the peer, or with
  /// --echo back at the client (a relay that drops the way back is not
  /// loss-free either).
  [[nodiscard]] double lossPercent() const {
    const std::uint64_t arrived = echo ? echoed.received : at_peer.received;
    const double lost = static_cast<double>(sent - std::min(sent, arrived));
    return sent == 0 ? 0 : 100.0 * lost / static_cast<double>(sent);
  }
  [[nodiscard]] double relayedPps() const {
    return seconds <= 0 ? 0 : static_cast<double>(at_peer.received + echoed.received) / seconds;
  }
};

class Generator {
 public:
  explicit Generator(Options o) : opt_(std::move(o)) {}

  bool setUp();
  PhaseResult runPhase(double pps_per_client, double seconds);
  void tearDown();

 private:
  void receiveLoop(std::atomic<bool>& stop);
  void onSinkPacket(std::span<std::uint8_t> data);
  void onClientPacket(LoadClient& c, std::span<std::uint8_t> data);
  /// False when --verify-every leaves this packet unchecked; it is then
  /// counted by the sequence number of its (clear) RTP header only.
  bool verifies(Receiving& r, std::span<const std::uint8_t> srtp) const;
  std::size_t buildPacket(LoadClient& c, std::span<std::uint8_t> wire, std::uint64_t sent_ns);
  std::uint64_t sendPrecomputed(double pps_per_client, double seconds, double& elapsed);
  std::uint64_t sendLive(double pps_per_client, double seconds, double& elapsed);
  std::size_t wrap(LoadClient& c, std::span<std::uint8_t> out, std::size_t srtp_len,
                   std::span<const std::uint8_t> srtp);

  Options opt_;
  stun::TransportAddress server_;
  int sink_fd_ = -1;
  stun::TransportAddress sink_;
  std::vector<std::unique_ptr<LoadClient>> clients_;
  std::unordered_map<std::uint32_t, std::unique_ptr<Receiving>> at_sink_;
  std::unordered_map<int, LoadClient*> by_fd_;
  SrtpStream::MasterKey key_{};
  in_addr bind_{};                           // --bind
  std::unique_ptr<KernelEcho> kernel_echo_;  // --kernel-echo
};

bool Generator::setUp() {
  const auto server = stun::TransportAddress::parse(opt_.server);
  if (!server || server->family != stun::AddressFamily::IPv4) {
    std::cerr << "loadgen: --server must be an IPv4 ip:port\n";
    return false;
  }
  server_ = *server;
  stun::crypto::randomBytes(key_);
  const auto bind = parseIp(opt_.bind);
  const auto sink = stun::TransportAddress::parse(opt_.sink);
  if (!bind || !sink || sink->family != stun::AddressFamily::IPv4) {
    std::cerr << "loadgen: --bind must be an IPv4 address and --sink an IPv4 ip:port\n";
    return false;
  }
  bind_ = *bind;
  in_addr sink_ip{};
  std::memcpy(&sink_ip, sink->ip.data(), 4);
  sink_fd_ = udpSocket(sink_ip, nullptr, sink->port);
  sink_ = localAddress(sink_fd_);
  if (!opt_.kernel_echo.empty()) {
    std::string error;
    kernel_echo_ = KernelEcho::attach(opt_.kernel_echo, sink_ip, sink_.port, error);
    if (!kernel_echo_) {
      std::cerr << "loadgen: --kernel-echo " << opt_.kernel_echo << ": " << error << "\n";
      return false;
    }
  }
  for (unsigned i = 0; i < opt_.clients; ++i) {
    auto c = std::make_unique<LoadClient>();
    c->fd = udpSocket(bind_, &server_);
    const std::string user = restUsername("loadgen-" + std::to_string(i));
    c->turn = std::make_unique<TurnClient>(c->fd, user, restPassword(opt_.secret, user));
    c->ssrc = 0x1000 + i;
    c->channel = static_cast<std::uint16_t>(0x4000 + i % 0x1000);
    if (!opt_.raw && (!c->turn->allocate() || !c->turn->createPermission(sink_) ||
                      (opt_.mode == "channel" && !c->turn->channelBind(c->channel, sink_)))) {
      std::cerr << "loadgen: client " << i << ": " << c->turn->error() << "\n";
      return false;
    }
    c->out = std::make_unique<SrtpStream>(SrtpStream::Direction::Outbound, key_);
    c->echo.srtp = std::make_unique<SrtpStream>(SrtpStream::Direction::Inbound, key_);
    auto r = std::make_unique<Receiving>();
    r->srtp = std::make_unique<SrtpStream>(SrtpStream::Direction::Inbound, key_);
    at_sink_[c->ssrc] = std::move(r);
    by_fd_[c->fd] = c.get();
    clients_.push_back(std::move(c));
  }
  return true;
}

std::size_t Generator::wrap(LoadClient& c, std::span<std::uint8_t> out, std::size_t srtp_len,
                            std::span<const std::uint8_t> srtp) {
  if (opt_.mode == "channel") {
    stun::writeChannelDataHeader(out.data(), c.channel, static_cast<std::uint16_t>(srtp_len));
    return stun::kChannelDataHeaderSize + srtp_len;
  }
  stun::TransactionId tid{};
  std::memcpy(tid.data(), &c.ssrc, 4);
  std::memcpy(tid.data() + 4, &c.seq, 2);
  stun::MessageBuilder b(out, {stun::Method::Send, stun::MessageClass::Indication}, tid);
  b.addXorAddress(stun::AttributeType::XorPeerAddress, sink_);
  b.add(stun::AttributeType::Data, srtp.first(srtp_len));
  return b.size();
}

bool Generator::verifies(Receiving& r, std::span<const std::uint8_t> srtp) const {
  if (opt_.verify_every <= 1 || ++r.arrivals % opt_.verify_every == 0) {
    return true;
  }
  r.stream.onPacket(static_cast<std::uint16_t>((srtp[2] << 8) | srtp[3]));
  return false;
}

void Generator::onSinkPacket(std::span<std::uint8_t> data) {
  if (data.size() < kRtpHeaderSize) return;
  const std::uint32_t ssrc = (std::uint32_t{data[8]} << 24) | (std::uint32_t{data[9]} << 16) |
                             (std::uint32_t{data[10]} << 8) | data[11];
  const auto it = at_sink_.find(ssrc);
  if (it == at_sink_.end()) return;
  Receiving& r = *it->second;
  if (!verifies(r, data)) return;

  std::size_t len = data.size();
  switch (r.srtp->unprotect(data, len)) {
    case SrtpStream::Verdict::Corrupted: r.stream.onCorrupted(); return;
    case SrtpStream::Verdict::Replayed:
      r.stream.onPacket(static_cast<std::uint16_t>((data[2] << 8) | data[3]));
      return;
    case SrtpStream::Verdict::Ok: break;
  }
  const auto media = readMedia(data.first(len));
  if (!media) {
    r.stream.onCorrupted();
    return;
  }
  r.stream.onPacket(media->seq);
  r.latency.record(nowNs() - media->sent_ns);
}

void Generator::onClientPacket(LoadClient& c, std::span<std::uint8_t> data) {
  std::span<std::uint8_t> srtp;
  if (opt_.raw) {
    srtp = data;
  } else if (!data.empty() && stun::looksLikeChannelData(data[0])) {
    const auto cd = stun::parseChannelData(data);
    if (!cd) return;
    srtp = data.subspan(stun::kChannelDataHeaderSize, cd->data.size());
  } else {
    const auto m = stun::MessageView::parse(data);
    if (!m || m->method() != stun::Method::Data) return;
    const auto d = m->find(stun::AttributeType::Data);
    if (!d) return;
    srtp = data.subspan(d->offset + 4, d->value.size());
  }
  if (srtp.size() < kRtpHeaderSize || !verifies(c.echo, srtp)) return;
  std::size_t len = srtp.size();
  const auto verdict = c.echo.srtp->unprotect(srtp, len);
  if (verdict == SrtpStream::Verdict::Corrupted) {
    c.echo.stream.onCorrupted();
    return;
  }
  if (verdict == SrtpStream::Verdict::Replayed) {
    c.echo.stream.onPacket(static_cast<std::uint16_t>((srtp[2] << 8) | srtp[3]));
    return;
  }
  const auto media = readMedia(srtp.first(len));
  if (!media) {
    c.echo.stream.onCorrupted();
    return;
  }
  c.echo.stream.onPacket(media->seq);
  c.echo.latency.record(nowNs() - media->sent_ns);
}

void Generator::receiveLoop(std::atomic<bool>& stop) {
  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = sink_fd_;
  ::epoll_ctl(ep, EPOLL_CTL_ADD, sink_fd_, &ev);
  for (auto& c : clients_) {
    ev.data.fd = c->fd;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
  }
  constexpr std::size_t kBatch = 32;
  std::vector<std::uint8_t> buffers(kBatch * 2048);
  std::array<mmsghdr, kBatch> msgs{};
  std::array<iovec, kBatch> iov{};
  std::array<sockaddr_in, kBatch> from{};
  std::array<epoll_event, 64> events{};
  while (!stop.load(std::memory_order_relaxed)) {
    const int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), 50);
    for (int e = 0; e < n; ++e) {
      const int fd = events[static_cast<std::size_t>(e)].data.fd;
      for (int rounds = 0; rounds < 8; ++rounds) {
        for (std::size_t i = 0; i < kBatch; ++i) {
          iov[i] = {&buffers[i * 2048], 2048};
          msgs[i].msg_hdr = msghdr{};
          msgs[i].msg_hdr.msg_iov = &iov[i];
          msgs[i].msg_hdr.msg_iovlen = 1;
          msgs[i].msg_hdr.msg_name = &from[i];
          msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
        }
        const int got = ::recvmmsg(fd, msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
        if (got <= 0) break;
        if (fd == sink_fd_ && opt_.echo) {
          // The peer echoes the batch as received (before it is decrypted in
          // place), back to where each datagram came from: one sendmmsg.
          for (int k = 0; k < got; ++k) {
            const auto i = static_cast<std::size_t>(k);
            iov[i].iov_len = msgs[i].msg_len;
          }
          ::sendmmsg(sink_fd_, msgs.data(), static_cast<unsigned>(got), MSG_DONTWAIT);
        }
        for (int k = 0; k < got; ++k) {
          const auto i = static_cast<std::size_t>(k);
          std::span<std::uint8_t> data(&buffers[i * 2048], msgs[i].msg_len);
          if (fd == sink_fd_) {
            onSinkPacket(data);
          } else {
            onClientPacket(*by_fd_[fd], data);
          }
        }
        if (got < static_cast<int>(kBatch)) break;
      }
    }
  }
  ::close(ep);
}

std::size_t Generator::buildPacket(LoadClient& c, std::span<std::uint8_t> wire,
                                   std::uint64_t sent_ns) {
  MediaHeader h{c.ssrc, c.seq++, sent_ns};
  // The SRTP packet is built after the room a ChannelData header or a Send
  // indication's header needs, then moved into place.
  constexpr std::size_t kRoom = 64;
  std::span<std::uint8_t> srtp = wire.subspan(kRoom);
  writeMedia(srtp, opt_.size, h);
  const std::size_t srtp_len = c.out->protect(srtp, opt_.size);
  if (opt_.raw) {
    std::memmove(wire.data(), srtp.data(), srtp_len);
    return srtp_len;
  }
  if (opt_.mode == "channel") {
    std::memmove(wire.data() + stun::kChannelDataHeaderSize, srtp.data(), srtp_len);
    return wrap(c, wire, srtp_len, srtp);
  }
  std::array<std::uint8_t, 4096> plain{};
  std::memcpy(plain.data(), srtp.data(), srtp_len);
  return wrap(c, wire, srtp_len, std::span(plain).first(srtp_len));
}

// Protects and sends each packet at its time; latency counts from the send.
std::uint64_t Generator::sendLive(double pps_per_client, double seconds, double& elapsed) {
  const double total_pps = pps_per_client * static_cast<double>(clients_.size());
  const auto interval = std::chrono::nanoseconds(static_cast<std::int64_t>(1e9 / total_pps));
  const auto start = Clock::now();
  const auto end = start + std::chrono::nanoseconds(static_cast<std::int64_t>(seconds * 1e9));
  std::array<std::uint8_t, 4096> wire{};
  std::uint64_t sent = 0;
  auto next = start;
  std::size_t j = 0;
  while (next < end) {
    if (next > Clock::now() + std::chrono::microseconds(50)) {
      std::this_thread::sleep_until(next);
      continue;
    }
    LoadClient& c = *clients_[j++ % clients_.size()];
    next += interval;
    const std::size_t len = buildPacket(c, wire, nowNs());
    if (::send(c.fd, wire.data(), len, MSG_DONTWAIT) == static_cast<ssize_t>(len)) ++sent;
  }
  elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  return sent;
}

// Protects the whole phase first, each packet stamped with the time it is
// scheduled for, then only sends: the generator's CPU goes to the sockets.
// Every client sends on the same tick (one packet each, back to back), so
// the server sees bursts as from clients with aligned 20 ms clocks.
// Latency then counts from the schedule, so any lag of the sender shows too.
std::uint64_t Generator::sendPrecomputed(double pps_per_client, double seconds, double& elapsed) {
  const double total_pps = pps_per_client * static_cast<double>(clients_.size());
  const auto count = static_cast<std::size_t>(total_pps * seconds);
  constexpr std::size_t kMaxPackets = 4'000'000;
  if (count > kMaxPackets) {
    std::cerr << "loadgen: --precompute holds at most " << kMaxPackets
              << " packets per run; lower --duration\n";
    return 0;
  }
  const std::size_t stride = opt_.size + 64 + SrtpStream::kMaxTrailer + 64;
  std::vector<std::uint8_t> wire(count * stride);
  std::vector<std::uint32_t> lengths(count);
  const std::size_t n = clients_.size();
  const auto tick_ns = static_cast<std::uint64_t>(1e9 / pps_per_client);
  // Protecting takes a few microseconds a packet: start the schedule after it.
  const std::uint64_t start_ns = nowNs() + 200'000'000 + count * 10'000;
  for (std::size_t k = 0; k < count; ++k) {
    lengths[k] = static_cast<std::uint32_t>(buildPacket(*clients_[k % clients_.size()],
                                                        std::span(&wire[k * stride], stride),
                                                        start_ns + k / n * tick_ns));
  }
  if (nowNs() > start_ns) {
    std::cerr << "loadgen: protecting the packets took longer than planned\n";
  }
  std::uint64_t sent = 0;
  for (std::size_t k = 0; k < count; ++k) {
    const std::uint64_t due = start_ns + k / n * tick_ns;
    const std::uint64_t now = nowNs();
    if (due > now + 50'000) {
      std::this_thread::sleep_for(std::chrono::nanoseconds(due - now));
    }
    const int fd = clients_[k % clients_.size()]->fd;
    if (::send(fd, &wire[k * stride], lengths[k], MSG_DONTWAIT) ==
        static_cast<ssize_t>(lengths[k])) {
      ++sent;
    }
  }
  elapsed = static_cast<double>(nowNs() - start_ns) / 1e9;
  return sent;
}

PhaseResult Generator::runPhase(double pps_per_client, double seconds) {
  // Fresh counters for this phase: snapshot what was there before.
  StreamCounts sink_before;
  StreamCounts echo_before;
  for (auto& [ssrc, r] : at_sink_) sink_before += r->stream.counts();
  for (auto& c : clients_) echo_before += c->echo.stream.counts();
  for (auto& [ssrc, r] : at_sink_) r->latency = LatencyHistogram{};
  for (auto& c : clients_) c->echo.latency = LatencyHistogram{};

  const std::uint64_t kernel_echoed_before = kernel_echo_ ? kernel_echo_->echoed() : 0;
  std::atomic<bool> stop{false};
  std::thread receiver([&] { receiveLoop(stop); });
  double elapsed = 0;
  const std::uint64_t sent = opt_.precompute ? sendPrecomputed(pps_per_client, seconds, elapsed)
                                             : sendLive(pps_per_client, seconds, elapsed);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // let the last packets arrive
  stop = true;
  receiver.join();

  PhaseResult r;
  r.offered_pps = pps_per_client * static_cast<double>(clients_.size());
  r.seconds = elapsed;
  r.sent = sent;
  StreamCounts sink_after;
  StreamCounts echo_after;
  for (auto& [ssrc, rx] : at_sink_) {
    sink_after += rx->stream.counts();
    r.one_way.merge(rx->latency);
  }
  for (auto& c : clients_) {
    echo_after += c->echo.stream.counts();
    r.round_trip.merge(c->echo.latency);
  }
  r.at_peer.received = sink_after.received - sink_before.received;
  r.at_peer.duplicates = sink_after.duplicates - sink_before.duplicates;
  r.at_peer.reordered = sink_after.reordered - sink_before.reordered;
  r.at_peer.corrupted = sink_after.corrupted - sink_before.corrupted;
  if (kernel_echo_) {
    // The kernel echo counts what reached the peer; the SRTP check of the
    // echoed packets covers both ways.
    r.at_peer.received = kernel_echo_->echoed() - kernel_echoed_before;
  }
  r.at_peer.expected = sent;
  r.echo = opt_.echo;
  r.echoed.received = echo_after.received - echo_before.received;
  r.echoed.duplicates = echo_after.duplicates - echo_before.duplicates;
  r.echoed.reordered = echo_after.reordered - echo_before.reordered;
  r.echoed.corrupted = echo_after.corrupted - echo_before.corrupted;
  r.echoed.expected = opt_.echo ? r.at_peer.received : 0;
  return r;
}

void Generator::tearDown() {
  kernel_echo_.reset();  // the filter outlives the process otherwise
  for (auto& c : clients_) {
    if (!opt_.raw) c->turn->refresh(0);
    ::close(c->fd);
  }
  ::close(sink_fd_);
}

nlohmann::json toJson(const PhaseResult& r) {
  const auto counts = [](const StreamCounts& c) {
    return nlohmann::json{{"expected", c.expected},   {"received", c.received},
                          {"lost", c.lost()},         {"duplicates", c.duplicates},
                          {"reordered", c.reordered}, {"corrupted", c.corrupted}};
  };
  const auto lat = [](const LatencyHistogram& h) {
    return nlohmann::json{{"count", h.count()},
                          {"p50_us", us(h.percentile(0.5))},
                          {"p99_us", us(h.percentile(0.99))},
                          {"p999_us", us(h.percentile(0.999))},
                          {"max_us", us(h.max())}};
  };
  return {{"offered_pps", r.offered_pps},
          {"seconds", r.seconds},
          {"sent", r.sent},
          {"relayed_pps", r.relayedPps()},
          {"loss_percent", r.lossPercent()},
          {"to_peer", counts(r.at_peer)},
          {"echoed", counts(r.echoed)},
          {"one_way_latency", lat(r.one_way)},
          {"round_trip_latency", lat(r.round_trip)}};
}

void printRow(const PhaseResult& r) {
  std::printf("%10.0f %8.2f %10llu %10llu %7.3f%% %6llu %6llu %6llu %10.0f %9.1f %9.1f %9.1f\n",
              r.offered_pps, r.seconds, static_cast<unsigned long long>(r.sent),
              static_cast<unsigned long long>(r.at_peer.received), r.lossPercent(),
              static_cast<unsigned long long>(r.at_peer.duplicates),
              static_cast<unsigned long long>(r.at_peer.reordered),
              static_cast<unsigned long long>(r.at_peer.corrupted + r.echoed.corrupted),
              r.relayedPps(), us(r.one_way.percentile(0.5)), us(r.one_way.percentile(0.99)),
              us(r.one_way.percentile(0.999)));
}

/// The floor of an allocation cycle: five round trips of datagrams the sizes
/// of this generator's TURN requests (Allocate unauthenticated, Allocate,
/// CreatePermission, ChannelBind, Refresh), each echoed by
/// `turnpike-forwarder --echo`, waited for as TurnClient waits (poll, recv).
/// What a server costs per cycle above this is its own work.
bool echoCycle(int fd, std::mt19937& random) {
  constexpr std::array<std::size_t, 5> kSizes{36, 148, 152, 160, 148};
  std::array<std::uint8_t, 256> out{};
  std::array<std::uint8_t, 2048> in{};
  for (const std::size_t size : kSizes) {
    for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<std::uint8_t>(random());
    if (::send(fd, out.data(), size, 0) != static_cast<ssize_t>(size)) return false;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 400) != 1) return false;
    const ssize_t got = ::recv(fd, in.data(), in.size(), 0);
    if (got != static_cast<ssize_t>(size) || std::memcmp(in.data(), out.data(), size) != 0) {
      return false;
    }
  }
  return true;
}

int allocationRate(const Options& opt) {
  const auto server = stun::TransportAddress::parse(opt.server);
  const auto bind = parseIp(opt.bind);
  const auto sink_text = stun::TransportAddress::parse(opt.sink);
  if (!server || !bind || !sink_text || sink_text->family != stun::AddressFamily::IPv4) return 2;
  in_addr sink_ip{};
  std::memcpy(&sink_ip, sink_text->ip.data(), 4);
  const int sink = udpSocket(sink_ip, nullptr);
  const auto sink_addr = localAddress(sink);
  std::atomic<std::uint64_t> cycles{0};
  std::atomic<std::uint64_t> failures{0};
  const auto end = Clock::now() + std::chrono::duration<double>(opt.duration);
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < opt.concurrency; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 random(t);
      for (unsigned k = 0; Clock::now() < end; ++k) {
        const int fd = udpSocket(*bind, &*server);
        if (opt.raw) {
          ++(echoCycle(fd, random) ? cycles : failures);
          ::close(fd);
          continue;
        }
        const std::string user =
            restUsername("rate-" + std::to_string(t) + "-" + std::to_string(k));
        TurnClient c(fd, user, restPassword(opt.secret, user));
        const bool ok = c.allocate() && c.createPermission(sink_addr) &&
                        c.channelBind(0x4000, sink_addr) && c.refresh(0);
        ++(ok ? cycles : failures);
        ::close(fd);
      }
    });
  }
  for (auto& th : threads) th.join();
  ::close(sink);
  const double rate = static_cast<double>(cycles.load()) / opt.duration;
  std::printf("%s: %llu in %.1f s = %.0f/s, %llu failed\n",
              opt.raw
                  ? "echoed cycles (5 round trips the sizes of the TURN cycle's)"
                  : "allocation cycles (401, Allocate, CreatePermission, ChannelBind, Refresh 0)",
              static_cast<unsigned long long>(cycles.load()), opt.duration, rate,
              static_cast<unsigned long long>(failures.load()));
  if (!opt.json.empty()) {
    std::ofstream(opt.json) << nlohmann::json{
        {"mode", "alloc_rate"},
        {"cycles", cycles.load()},
        {"failures", failures.load()},
        {"seconds", opt.duration},
        {"per_second", rate}}.dump(2);
  }
  return failures.load() == 0 ? 0 : 1;
}

}  // namespace
}  // namespace turnpike::loadgen

int main(int argc, char** argv) {
  using namespace turnpike::loadgen;
  Options opt;
  CLI::App cli{"turnpike-loadgen: SRTP media through a TURN server"};
  cli.add_option("--server", opt.server, "TURN server ip:port (IPv4)");
  cli.add_option("--secret", opt.secret, "TURN REST shared secret")->required();
  cli.add_option("--transport", opt.transport, "udp (tcp and tls: not supported yet)")
      ->check(CLI::IsMember({"udp"}));
  cli.add_option("--mode", opt.mode, "channel or send")->check(CLI::IsMember({"channel", "send"}));
  cli.add_option("--clients", opt.clients, "clients, each with its own allocation")
      ->check(CLI::Range(1U, 5000U));
  cli.add_option("--pps", opt.pps, "packets per second per client")->check(CLI::Range(0.1, 1e6));
  cli.add_option("--size", opt.size, "RTP packet size before SRTP")->check(CLI::Range(20U, 1400U));
  cli.add_option("--duration", opt.duration, "seconds per run (bounded)")
      ->check(CLI::Range(0.1, 600.0));
  cli.add_flag("--echo", opt.echo, "the peer echoes every packet back (both directions)");
  cli.add_flag("--ramp", opt.ramp, "raise the rate until loss passes --loss-threshold");
  cli.add_option("--loss-threshold", opt.loss_threshold, "percent, for --ramp");
  cli.add_option("--ramp-step", opt.ramp_step, "rate factor from one ramp step to the next")
      ->check(CLI::Range(1.01, 4.0));
  cli.add_flag("--alloc-rate", opt.alloc_rate, "measure full allocation cycles per second");
  cli.add_option("--concurrency", opt.concurrency, "threads for --alloc-rate")
      ->check(CLI::Range(1U, 64U));
  cli.add_option("--json", opt.json, "write results as JSON to this file");
  cli.add_option("--hold", opt.hold, "seconds to keep the allocations after the runs (for RSS)")
      ->check(CLI::Range(0.0, 600.0));
  cli.add_flag("--raw", opt.raw,
               "no TURN: bare SRTP to --server (turnpike-forwarder); with --alloc-rate, "
               "5 echoed round trips per cycle (turnpike-forwarder --echo)");
  cli.add_option("--sink", opt.sink,
                 "ip:port the peer sink binds (default: a free loopback port; port 0: any)");
  cli.add_option("--bind", opt.bind,
                 "local IPv4 address of the client sockets (default 127.0.0.1)");
  cli.add_flag("--precompute", opt.precompute,
               "protect each run's packets before it starts (latency from the schedule)");
  cli.add_option("--verify-every", opt.verify_every,
                 "unprotect one received packet in N; the rest are counted by RTP sequence")
      ->check(CLI::Range(1U, 1000000U));
  cli.add_option("--kernel-echo", opt.kernel_echo,
                 "echo for the peer in the kernel, at TC ingress of this interface (root; "
                 "implies --echo; the sink's ip must be on it)");
  CLI11_PARSE(cli, argc, argv);
  if (!opt.kernel_echo.empty()) opt.echo = true;

  if (opt.alloc_rate) {
    return allocationRate(opt);
  }
  Generator gen(opt);
  if (!gen.setUp()) {
    return 2;
  }
  std::printf("%10s %8s %10s %10s %8s %6s %6s %6s %10s %9s %9s %9s\n", "offered", "seconds", "sent",
              "at_peer", "loss", "dup", "reord", "corrupt", "relayed/s", "p50_us", "p99_us",
              "p99.9_us");
  nlohmann::json runs = nlohmann::json::array();
  // The ramp's answer is the highest rate relayed (over the time the sending
  // really took) in a step without loss. It ends at the first loss, or when
  // the generator itself falls a quarter behind its schedule: its own limit,
  // past which a higher offered rate is not offered at all.
  std::optional<PhaseResult> best;
  std::string ended_by = "steps";
  double pps = opt.pps;
  for (int step = 0; step < (opt.ramp ? 32 : 1); ++step) {
    const PhaseResult r = gen.runPhase(pps, opt.duration);
    printRow(r);
    runs.push_back(toJson(r));
    const bool clean = r.lossPercent() <= opt.loss_threshold && r.at_peer.corrupted == 0 &&
                       r.echoed.corrupted == 0;
    if (clean && (!best || r.relayedPps() > best->relayedPps())) best = r;
    if (!clean) {
      ended_by = "loss";
      break;
    }
    if (r.seconds > 1.25 * opt.duration) {
      ended_by = "generator";
      break;
    }
    if (!opt.ramp) break;
    pps *= opt.ramp_step;
  }
  if (opt.hold > 0) {
    std::printf("holding %u allocations for %.1f s\n", opt.clients, opt.hold);
    std::fflush(stdout);
    std::this_thread::sleep_for(std::chrono::duration<double>(opt.hold));
  }
  gen.tearDown();
  if (opt.ramp && best) {
    std::printf("highest rate with loss <= %.2f%%: %.0f offered pkt/s, %.0f relayed pkt/s\n",
                opt.loss_threshold, best->offered_pps, best->relayedPps());
  }
  if (opt.ramp) {
    std::printf("the ramp ended by %s\n", ended_by == "generator"
                                              ? "the generator falling behind its schedule"
                                              : ended_by.c_str());
  }
  if (!opt.json.empty()) {
    std::ofstream(opt.json) << nlohmann::json{{"mode", opt.mode},
                                              {"clients", opt.clients},
                                              {"size", opt.size},
                                              {"echo", opt.echo},
                                              {"runs", runs},
                                              {"ended_by", opt.ramp ? ended_by : ""},
                                              {"best_relayed_pps", best ? best->relayedPps() : 0.0}}
                                   .dump(2);
  }
  // Corruption is never acceptable; loss is for the reader to judge.
  int code = 0;
  for (const auto& run : runs) {
    if (run["to_peer"]["corrupted"] != 0 || run["echoed"]["corrupted"] != 0) code = 1;
  }
  // Skip destructors: Debian's libsrtp2 frees contexts through NSS, which
  // takes minutes for thousands of streams. The sockets close with the process.
  std::fflush(stdout);
  std::_Exit(code);
}
