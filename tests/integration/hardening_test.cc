// What a stranger can send the real binary, item by item from issue 11:
// requests that must not end the process, output a client never reads,
// peers that are the host itself, caps on permissions and connections.

#include <gtest/gtest.h>

#include <fcntl.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "relay/net/accept_backoff.h"
#include "tests/integration/interop_tools.h"
#include "tests/integration/turn_client.h"
#include "tests/integration/turnpike_server.h"

namespace turnpike::testing {
namespace {

const std::string kToken = "hardening-test-token-01";
const std::string kControl = "control:\n  listen: \"127.0.0.1:0\"\n  admin_token: " + kToken + "\n";
const std::string kBearer = "Authorization: Bearer " + kToken + "\r\n";

bool alive(const TurnpikeServer& server) {
  return httpRequest(server.controlPort(), "GET", "/healthz").status == 200;
}

// Every answer is JSON that parses, whatever bytes the request carried.
void expectJsonAnswer(const HttpReply& reply, int status) {
  EXPECT_EQ(reply.status, status) << reply.body;
  EXPECT_TRUE(nlohmann::json::accept(reply.body)) << reply.body;
}

TEST(Hardening, InvalidUtf8InRequestsIsAnsweredNotFatal) {
  TurnpikeServer server(kTurnTop, kTurnRelay, TurnpikeServer::kLoopbackListen, kControl);
  ASSERT_TRUE(server.ready() && server.controlPort() != 0) << server.process().output();
  // An allocation whose user id is not UTF-8, listed by the admin API.
  const auto credential = restCredentials("caf\xe9\xff");
  TurnClient odd(server.udpPort(), credential.username, credential.password);
  ASSERT_EQ(odd.allocate(), 0);

  expectJsonAnswer(httpRequest(server.controlPort(), "GET", "/\xff"), 404);
  expectJsonAnswer(httpRequest(server.controlPort(), "GET", "/admin/\xc3\x28", kBearer), 404);
  expectJsonAnswer(httpRequest(server.controlPort(), "GET", "/admin/allocations/\xff\xfe", kBearer),
                   400);
  const auto listed = httpRequest(server.controlPort(), "GET", "/admin/allocations", kBearer);
  expectJsonAnswer(listed, 200);
  const auto body = nlohmann::json::parse(listed.body);
  ASSERT_EQ(body["count"], 1) << listed.body;
  EXPECT_EQ(body["allocations"][0]["user"], "caf\xef\xbf\xbd\xef\xbf\xbd");  // U+FFFD each
  ASSERT_TRUE(alive(server)) << server.process().output();
  EXPECT_GE(metricValue(server.metricsPort(), R"(turnpike_control_responses_total{code="404"})"),
            2);                    // counted as they are answered
  EXPECT_EQ(odd.refresh(600), 0);  // the relay never noticed
  EXPECT_EQ(server.stop(), 0) << server.process().output();
}

TEST(Hardening, OversizedHeadersAreRefused) {
  TurnpikeServer server(kTurnTop, kTurnRelay, TurnpikeServer::kLoopbackListen, kControl);
  ASSERT_TRUE(server.ready() && server.controlPort() != 0) << server.process().output();
  const std::string big = "X-Filler: " + std::string(64 * 1024, 'a') + "\r\n";
  const auto one_big = httpRequest(server.controlPort(), "GET", "/healthz", big);
  EXPECT_GE(one_big.status, 400);  // libevent answers before any handler
  EXPECT_LT(one_big.status, 500);
  std::string many;
  for (int i = 0; i < 5000; ++i) {
    many += "X-" + std::to_string(i) + ": 1\r\n";
  }
  const auto many_small = httpRequest(server.controlPort(), "GET", "/healthz", many);
  EXPECT_GE(many_small.status, 400);
  EXPECT_LT(many_small.status, 500);
  EXPECT_TRUE(alive(server)) << server.process().output();
  EXPECT_EQ(server.stop(), 0) << server.process().output();
}

// limits.permissions_per_allocation (default 100): the 101st peer gets 508,
// and the cap shows in turnpike_turn_errors_total.
TEST(Hardening, PermissionsPerAllocationAreCappedByDefault) {
  TurnpikeServer server(kTurnTop, kTurnRelay, TurnpikeServer::kLoopbackListen, kControl);
  ASSERT_TRUE(server.ready()) << server.process().output();
  TurnClient alice(server.udpPort(), "alice", "alice-pw");
  ASSERT_EQ(alice.allocate(), 0);
  const auto peer = [](int i) {
    return *stun::TransportAddress::parse("8.8." + std::to_string(i / 250) + "." +
                                          std::to_string(i % 250 + 1) + ":3478");
  };
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(alice.createPermission(peer(i)), 0) << i;
  }
  EXPECT_EQ(alice.createPermission(peer(100)), 508);
  EXPECT_EQ(alice.createPermission(peer(7)), 0);  // a refresh
  EXPECT_TRUE(eventually(
      [&] {
        return metricValue(
                   server.metricsPort(),
                   R"(turnpike_turn_errors_total{method="create_permission",code="508"})") == 1;
      },
      std::chrono::seconds{5}));
  EXPECT_EQ(server.stop(), 0) << server.process().output();
}

// Inside a network namespace of the test's own: public-looking addresses on
// its lo, one the relay address, one only an interface address, and an
// advertised (external) address on no interface. Run by the test below.
constexpr const char* kOwnRelay = "93.184.216.34";
constexpr const char* kOwnInterface = "93.184.216.40";
constexpr const char* kOwnExternal = "93.184.216.50";
constexpr const char* kNeighbour = "93.184.216.35";  // on no interface

std::string ownAddressRelay(const std::string& allow) {
  return std::string("  addresses:\n    - bind: ") + kOwnRelay +
         "\n      external: " + kOwnExternal + "\n" + allow;
}

TEST(Hardening, DISABLED_OwnAddressesInsideNamespace) {
  if (std::getenv("TURNPIKE_IN_TEST_NETNS") == nullptr) {
    GTEST_SKIP() << "run by Hardening.TheHostsOwnAddressesAreNotPeers";
  }
  // A service bound on 0.0.0.0, reachable through any of the host's addresses.
  const int service = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in any{};
  any.sin_family = AF_INET;
  ASSERT_EQ(::bind(service, reinterpret_cast<sockaddr*>(&any), sizeof any), 0);
  socklen_t len = sizeof any;
  ::getsockname(service, reinterpret_cast<sockaddr*>(&any), &len);
  const std::string port = std::to_string(ntohs(any.sin_port));
  const auto at = [&](const char* ip) { return *stun::TransportAddress::parse(ip + (":" + port)); };
  {
    TurnpikeServer server(kTurnTop, ownAddressRelay(""));
    ASSERT_TRUE(server.ready()) << server.process().output();
    TurnClient alice(server.udpPort(), "alice", "alice-pw");
    ASSERT_EQ(alice.allocate(), 0) << server.process().output();
    EXPECT_EQ(alice.createPermission(at(kOwnRelay)), 403);
    EXPECT_EQ(alice.createPermission(at(kOwnInterface)), 403);
    EXPECT_EQ(alice.createPermission(at(kOwnExternal)), 403);
    EXPECT_EQ(alice.createPermission(at(kNeighbour)), 0);
    EXPECT_EQ(server.stop(), 0) << server.process().output();
  }
  // relay.peers.allow opens one on purpose: then the service is reached.
  TurnpikeServer server(
      kTurnTop, ownAddressRelay(std::string("  peers:\n    allow: [\"") + kOwnRelay + "\"]\n"));
  ASSERT_TRUE(server.ready()) << server.process().output();
  TurnClient alice(server.udpPort(), "alice", "alice-pw");
  ASSERT_EQ(alice.allocate(), 0);
  EXPECT_EQ(alice.createPermission(at(kOwnInterface)), 403);
  ASSERT_EQ(alice.createPermission(at(kOwnRelay)), 0);
  alice.sendIndication(at(kOwnRelay), "through the relay");
  pollfd p{service, POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 5000), 1);
  std::array<char, 64> got{};
  const auto n = ::recv(service, got.data(), got.size(), 0);
  EXPECT_EQ(std::string(got.data(), static_cast<std::size_t>(std::max<ssize_t>(n, 0))),
            "through the relay");
  ::close(service);
  EXPECT_EQ(server.stop(), 0) << server.process().output();
}

// The namespace needs root (CI runs as root); the test says so and skips
// where it cannot make one.
TEST(Hardening, TheHostsOwnAddressesAreNotPeers) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "needs root for a network namespace";
  }
  const std::string ns = "turnpike-own-" + std::to_string(::getpid());
  const auto made = runCommand(
      {"/bin/sh", "-c",
       "ip netns add " + ns + " && ip -n " + ns + " link set lo up && ip -n " + ns + " addr add " +
           kOwnRelay + "/32 dev lo && ip -n " + ns + " addr add " + kOwnInterface + "/32 dev lo"});
  ASSERT_EQ(made.exit_code, 0) << made.output;
  const std::string self = std::filesystem::read_symlink("/proc/self/exe");
  const auto inner = runCommand({"ip", "netns", "exec", ns, "env", "TURNPIKE_IN_TEST_NETNS=1", self,
                                 "--gtest_also_run_disabled_tests",
                                 "--gtest_filter=Hardening.DISABLED_OwnAddressesInsideNamespace"},
                                std::chrono::seconds{60});
  runCommand({"ip", "netns", "delete", ns});
  EXPECT_EQ(inner.exit_code, 0) << made.output << inner.output;
  EXPECT_NE(inner.output.find("[  PASSED  ] 1 test"), std::string::npos) << inner.output;
}

// A Binding request, 20 bytes: what a stranger can send without credentials.
std::array<std::uint8_t, 20> bindingRequest(std::uint32_t n) {
  std::array<std::uint8_t, 20> b{0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42};
  std::memcpy(b.data() + 8, &n, sizeof n);
  return b;
}

// Binding requests written as fast as the server takes them, never reading
// an answer: `write` returns bytes taken (0: would block, -1: closed).
template <typename Write>
std::size_t floodWithoutReading(int fd, Write write) {
  std::vector<std::uint8_t> batch;
  for (std::uint32_t i = 0; i < 500; ++i) {
    const auto r = bindingRequest(i);
    batch.insert(batch.end(), r.begin(), r.end());
  }
  // At most 3,000,000 requests (issue 11 grew 92 MB with them); the server
  // should push back long before.
  constexpr std::size_t kAtMost = std::size_t{3'000'000} * 20;
  std::size_t sent = 0;
  while (sent < kAtMost) {
    const long n = write(batch);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    pollfd p{fd, POLLOUT, 0};
    if (n < 0 || ::poll(&p, 1, 3000) == 0) {
      break;  // closed, or nothing accepted for 3 s: the server stopped reading
    }
  }
  return sent;
}

// The server must stop reading once its answers pass 1 MiB (the client's
// writes then block), keep its memory bounded, and close the connection
// once it stays stalled; over TCP and over TLS.
void expectPushBack(TurnpikeServer& server, long rss_before, std::size_t sent) {
  EXPECT_LT(sent, std::size_t{3'000'000} * 20) << "the server read all " << sent / 20;
  const long grown_kb = server.rssKb() - rss_before;
#if defined(__SANITIZE_ADDRESS__)
  constexpr long kSlackKb = 128 * 1024;  // ASan keeps freed memory in quarantine
#else
  constexpr long kSlackKb = 24 * 1024;
#endif
  EXPECT_LT(grown_kb, kSlackKb) << "after " << sent / 20 << " requests";
  std::printf("pushed back after %zu requests; RSS grew %ld kB\n", sent / 20, grown_kb);
  EXPECT_TRUE(eventually(
      [&] {
        return metricValue(server.metricsPort(), "turnpike_connections_timed_out_total") >= 1;
      },
      std::chrono::seconds{10}));
  EXPECT_TRUE(alive(server));
}

TEST(Hardening, AClientThatNeverReadsCannotGrowMemory) {
  TurnpikeServer server("  tcp_idle_timeout: 2s\n" + kTurnTop, kTurnRelay,
                        TurnpikeServer::kLoopbackListen, kControl);
  ASSERT_TRUE(server.ready()) << server.process().output();
  const long rss_before = server.rssKb();
  LoopbackSocket tcp(SOCK_STREAM, server.tcpPort());
  ASSERT_TRUE(tcp.connected());
  const std::size_t sent = floodWithoutReading(tcp.fd(), [&](const std::vector<std::uint8_t>& b) {
    const ssize_t n = ::send(tcp.fd(), b.data(), b.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    return n >= 0 ? static_cast<long>(n) : (errno == EAGAIN ? 0L : -1L);
  });
  expectPushBack(server, rss_before, sent);
  EXPECT_EQ(server.stop(), 0) << server.process().output();
}

TEST(Hardening, ATlsClientThatNeverReadsCannotGrowMemory) {
  TurnpikeServer server("  tcp_idle_timeout: 2s\n" + kTurnTop, kTurnRelay,
                        TurnpikeServer::kLoopbackListen, kControl);
  ASSERT_TRUE(server.ready()) << server.process().output();
  const long rss_before = server.rssKb();
  LoopbackSocket tcp(SOCK_STREAM, server.tlsPort());
  ASSERT_TRUE(tcp.connected());
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = SSL_new(ctx);  // the self-signed certificate is not checked: not the point here
  SSL_set_fd(ssl, tcp.fd());
  ASSERT_EQ(SSL_connect(ssl), 1);
  SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  const int flags = ::fcntl(tcp.fd(), F_GETFL);
  ::fcntl(tcp.fd(), F_SETFL, flags | O_NONBLOCK);
  const std::size_t sent = floodWithoutReading(tcp.fd(), [&](const std::vector<std::uint8_t>& b) {
    const int n = SSL_write(ssl, b.data(), static_cast<int>(b.size()));
    if (n > 0) return static_cast<long>(n);
    return SSL_get_error(ssl, n) == SSL_ERROR_WANT_WRITE ? 0L : -1L;
  });
  expectPushBack(server, rss_before, sent);
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  EXPECT_EQ(server.stop(), 0) << server.process().output();
}

// One byte now and then, never a whole frame: closed after tcp_idle_timeout.
TEST(Hardening, AFrameLeftIncompleteTimesOut) {
  TurnpikeServer server("  tcp_idle_timeout: 2s\n" + kTurnTop, kTurnRelay,
                        TurnpikeServer::kLoopbackListen, kControl);
  ASSERT_TRUE(server.ready()) << server.process().output();
  LoopbackSocket tcp(SOCK_STREAM, server.tcpPort());
  ASSERT_TRUE(tcp.connected());
  const auto request = bindingRequest(1);
  bool closed = false;
  for (std::size_t i = 0; i + 1 < request.size() && !closed; ++i) {  // never the last byte
    closed = !tcp.send(std::span(request).subspan(i, 1));
    pollfd p{tcp.fd(), POLLIN, 0};
    if (::poll(&p, 1, 1000) == 1) {
      std::array<std::uint8_t, 64> got{};
      closed = ::recv(tcp.fd(), got.data(), got.size(), 0) <= 0;
    }
  }
  EXPECT_TRUE(closed);
  EXPECT_EQ(server.stop(), 0) << server.process().output();
}

// Out of file descriptors (a low RLIMIT_NOFILE, soft and hard): clients take
// every descriptor but the reserve, and the connection that would dip into it
// is closed. The listener pauses and backs off instead of spinning and logging
// a line per pass; the reserve keeps the server's own work going (here a
// metrics scrape, and under UBSan the pipe its type check needs); it serves
// again once descriptors free up.
TEST(Hardening, OutOfFileDescriptorsBacksOffAndRecovers) {
  constexpr long kLimit = 64;
  TurnpikeServer server(
      kTurnTop, kTurnRelay, TurnpikeServer::kLoopbackListen, kControl,
      TurnpikeServer::kLoopbackMetrics,
      {"prlimit", "--nofile=" + std::to_string(kLimit) + ":" + std::to_string(kLimit), "--"});
  ASSERT_TRUE(server.ready()) << server.process().output();
  const auto served = [&] {
    LoopbackSocket tcp(SOCK_STREAM, server.tcpPort());
    const auto request = bindingRequest(7);
    return tcp.send(request) && tcp.receive(1000).has_value();
  };
  ASSERT_TRUE(served());
  std::vector<std::unique_ptr<LoopbackSocket>> hogs;
  for (int i = 0; i < 100; ++i) {  // more than the server has descriptors for
    hogs.push_back(std::make_unique<LoopbackSocket>(SOCK_STREAM, server.tcpPort()));
  }
  ASSERT_TRUE(server.process().waitForOutput("pausing accepts", std::chrono::seconds{5}))
      << server.process().output();
  std::this_thread::sleep_for(std::chrono::seconds{2});  // time to spin, were it spinning
  // Descriptors free below the limit (one inherited above it does not
  // count): the most over a few looks, so one open for a moment (a probe)
  // does not count either.
  const auto free_descriptors = [&] {
    long most = 0;
    for (int look = 0; look < 5; ++look) {
      long used = 0;
      for (const auto& entry : std::filesystem::directory_iterator(
               std::filesystem::path("/proc") / std::to_string(server.process().pid()) / "fd")) {
        used += std::stol(entry.path().filename().string()) < kLimit ? 1 : 0;
      }
      most = std::max(most, kLimit - used);
      std::this_thread::sleep_for(std::chrono::milliseconds{50});
    }
    return most;
  };
  EXPECT_EQ(free_descriptors(), net::AcceptBackoff::kReserve);
  EXPECT_GE(metricValue(server.metricsPort(), "turnpike_connections_refused_total"), 1.0);
  const std::string log = server.process().output();
  std::size_t episodes_logged = 0;
  for (auto at = log.find("pausing accepts"); at != std::string::npos;
       at = log.find("pausing accepts", at + 1)) {
    ++episodes_logged;
  }
  EXPECT_LE(episodes_logged, 3U) << log.substr(0, 2000);
  hogs.clear();
  // Descriptors free up: a new client is served again.
  EXPECT_TRUE(eventually(served, std::chrono::seconds{15})) << server.process().output();
  EXPECT_EQ(server.stop(), 0) << server.process().output();
}

// A TCP listener on 127.0.0.1 standing for an RFC 6062 peer.
class TcpPeerListener {
 public:
  TcpPeerListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    address_ = *stun::TransportAddress::parse("127.0.0.1:" + std::to_string(bindLoopback(fd_)));
    ::listen(fd_, 4);
  }
  ~TcpPeerListener() { ::close(fd_); }
  TcpPeerListener(const TcpPeerListener&) = delete;
  TcpPeerListener& operator=(const TcpPeerListener&) = delete;
  [[nodiscard]] const stun::TransportAddress& address() const { return address_; }
  /// The next connection from the relay, or -1 after 5 s.
  int accept() {
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, 5000) == 1 ? ::accept(fd_, nullptr, nullptr) : -1;
  }

 private:
  int fd_ = -1;
  stun::TransportAddress address_;
};

// RFC 6062: a data connection whose client stops reading must still close
// with its allocation (kicked here), and what it carried is in the
// allocation's usage record.
// An RFC 6062 TCP allocation of alice's with one peer connection, bound to a
// data connection: what the tests below start from.
struct DataConnection {
  explicit DataConnection(const TurnpikeServer& server)
      : control(server.tcpPort(), "alice", "alice-pw", "example.org", SOCK_STREAM),
        data(server.tcpPort(), "alice", "alice-pw", "example.org", SOCK_STREAM) {
    const auto allocated = control.request(stun::Method::Allocate, [](stun::MessageBuilder& b) {
      b.add(stun::AttributeType::RequestedTransport,
            stun::encodeRequestedTransport(stun::kProtocolTcp));
    });
    if (!allocated || TurnClient::errorOf(*allocated) != 0) return;
    const auto connected = control.request(stun::Method::Connect, [&](stun::MessageBuilder& b) {
      b.addXorAddress(stun::AttributeType::XorPeerAddress, peer.address());
    });
    if (!connected || TurnClient::errorOf(*connected) != 0) return;
    peer_side = peer.accept();
    const auto id_attr =
        stun::MessageView::parse(*connected).value().find(stun::AttributeType::ConnectionId);
    const std::uint32_t id = stun::decodeU32(id_attr->value).value();
    const auto bound = data.request(stun::Method::ConnectionBind, [&](stun::MessageBuilder& b) {
      b.addU32(stun::AttributeType::ConnectionId, id);
    });
    ready = peer_side >= 0 && bound && TurnClient::errorOf(*bound) == 0;
  }
  ~DataConnection() {
    if (peer_side >= 0) ::close(peer_side);
  }
  DataConnection(const DataConnection&) = delete;
  DataConnection& operator=(const DataConnection&) = delete;

  TcpPeerListener peer;
  TurnClient control;
  TurnClient data;
  int peer_side = -1;
  bool ready = false;
};

TEST(Hardening, DataConnectionsCloseWithTheirAllocationAndCountInUsage) {
  TurnpikeServer server(kTurnTop, kTurnRelay, TurnpikeServer::kLoopbackListen, kControl);
  ASSERT_TRUE(server.ready()) << server.process().output();
  DataConnection connection(server);
  ASSERT_TRUE(connection.ready) << server.process().output();
  TurnClient& data = connection.data;
  int& peer_side = connection.peer_side;

  const std::string hello = "hello, peer";
  ASSERT_TRUE(
      data.socket().send({reinterpret_cast<const std::uint8_t*>(hello.data()), hello.size()}));
  std::array<char, 64> got{};
  pollfd p{peer_side, POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 5000), 1);
  ASSERT_EQ(::recv(peer_side, got.data(), got.size(), 0), static_cast<ssize_t>(hello.size()));
  // The peer sends 8 MiB the client never reads: the relay's queue for the
  // client fills and stays full.
  const std::vector<char> block(64 * 1024, 'x');
  std::size_t pushed = 0;
  for (int i = 0; i < 128; ++i) {
    const ssize_t n = ::send(peer_side, block.data(), block.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n <= 0) break;
    pushed += static_cast<std::size_t>(n);
  }
  ASSERT_GT(pushed, 0U);
  // The relay has forwarded some of it (the client's socket has bytes it
  // does not read) before the kick: on a slow (ASan) build the kick could
  // otherwise come first and the record rightly show 0 bytes to the client.
  pollfd forwarded{data.socket().fd(), POLLIN, 0};
  ASSERT_EQ(::poll(&forwarded, 1, 5000), 1);

  const auto kicked =
      httpRequest(server.controlPort(), "DELETE", "/admin/allocations?user=alice", kBearer);
  ASSERT_EQ(kicked.status, 200) << kicked.body;
  // Closed within shutdown_grace (2 s in these tests) although never flushed:
  // the peer's end sees the close.
  bool peer_closed = false;
  for (int i = 0; i < 100 && !peer_closed; ++i) {
    pollfd q{peer_side, POLLIN, 0};
    if (::poll(&q, 1, 100) == 1) {
      std::array<char, 4096> sink{};
      peer_closed = ::recv(peer_side, sink.data(), sink.size(), 0) <= 0;
    }
  }
  EXPECT_TRUE(peer_closed) << server.process().output();
  // The deletion record carries the data connection's bytes.
  ASSERT_TRUE(server.process().waitForOutput(R"("reason":"admin")", std::chrono::seconds{5}));
  const std::string log = server.process().output();
  const auto line_start = log.rfind('\n', log.find(R"("reason":"admin")")) + 1;
  const auto record = nlohmann::json::parse(
      log.substr(line_start, log.find('\n', line_start) - line_start), nullptr, false);
  ASSERT_FALSE(record.is_discarded()) << log;
  EXPECT_EQ(record["bytes_client_to_peer"], hello.size()) << record.dump();
  EXPECT_GT(record["bytes_peer_to_client"].get<std::uint64_t>(), 0U) << record.dump();
  EXPECT_TRUE(alive(server));
  EXPECT_EQ(server.stop(), 0) << server.process().output();
}

// limits.allocation_bytes_per_second holds for data connections too: what
// the client receives in a while is at most the burst plus the rate for
// that while (measured by the test, so a slow machine only lowers it). The
// budget is shared by the allocation's data connections, on any worker.
TEST(Hardening, DataConnectionsKeepTheAllocationsBandwidthLimit) {
  constexpr std::size_t kRate = 50'000;
  std::string top = kTurnTop;
  top.replace(top.find("limits:\n"), 8,
              "limits:\n  allocation_bytes_per_second: " + std::to_string(kRate) + "\n");
  TurnpikeServer server(top, kTurnRelay, TurnpikeServer::kLoopbackListen, kControl);
  ASSERT_TRUE(server.ready()) << server.process().output();
  DataConnection connection(server);
  ASSERT_TRUE(connection.ready) << server.process().output();
  const std::vector<char> block(64 * 1024, 'x');
  for (int i = 0; i < 8; ++i) {  // 512 KiB, ten seconds' worth
    if (::send(connection.peer_side, block.data(), block.size(), MSG_DONTWAIT | MSG_NOSIGNAL) <=
        0) {
      break;
    }
  }
  const auto start = std::chrono::steady_clock::now();
  std::size_t received = 0;
  while (std::chrono::steady_clock::now() - start < std::chrono::seconds{2}) {
    if (auto chunk = connection.data.socket().receive(200)) {
      received += chunk->size();
    }
  }
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_GT(received, 0U);
  // A second's burst, the rate while we read, a second of slack; unlimited,
  // all 512 KiB would arrive at once.
  EXPECT_LE(static_cast<double>(received), kRate * (elapsed + 2.0))
      << received << " bytes in " << elapsed << " s";
  std::printf("%zu bytes in %.2f s through a %zu B/s allocation\n", received, elapsed, kRate);
  EXPECT_EQ(server.stop(), 0) << server.process().output();
}

// A peer datagram larger than the relay takes (4 KB) is dropped and counted,
// not cut short; one that fits still goes through.
TEST(Hardening, OversizedPeerDatagramsAreCounted) {
  TurnpikeServer server(kTurnTop, kTurnRelay, TurnpikeServer::kLoopbackListen, kControl);
  ASSERT_TRUE(server.ready()) << server.process().output();
  TurnClient alice(server.udpPort(), "alice", "alice-pw");
  ASSERT_EQ(alice.allocate(), 0);
  const int peer = ::socket(AF_INET, SOCK_DGRAM, 0);
  const auto peer_address =
      *stun::TransportAddress::parse("127.0.0.1:" + std::to_string(bindLoopback(peer)));
  ASSERT_EQ(alice.createPermission(peer_address), 0);
  sockaddr_in relayed{};
  relayed.sin_family = AF_INET;
  relayed.sin_port = htons(alice.relayed().port);
  relayed.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const std::vector<std::uint8_t> big(5000, 0x55);
  const std::vector<std::uint8_t> small(1000, 0x66);
  for (const auto* datagram : {&big, &small}) {
    ::sendto(peer, datagram->data(), datagram->size(), 0, reinterpret_cast<sockaddr*>(&relayed),
             sizeof relayed);
  }
  const auto data = alice.socket().receive(5000);  // the small one, as a Data indication
  ASSERT_TRUE(data.has_value());
  EXPECT_GT(data->size(), small.size());
  EXPECT_LT(data->size(), big.size());
  EXPECT_TRUE(eventually(
      [&] {
        return metricValue(server.metricsPort(),
                           R"(turnpike_dropped_packets_total{reason="too_big"})") == 1;
      },
      std::chrono::seconds{5}));
  ::close(peer);
  EXPECT_EQ(server.stop(), 0) << server.process().output();
}

// /metrics has several threads and a request timeout: a connection that
// says nothing does not block the next scrape.
TEST(Hardening, ASilentMetricsConnectionDoesNotBlockScrapes) {
  TurnpikeServer server(kTurnTop, kTurnRelay, TurnpikeServer::kLoopbackListen, kControl);
  ASSERT_TRUE(server.ready()) << server.process().output();
  std::vector<std::unique_ptr<LoopbackSocket>> silent;
  for (int i = 0; i < 2; ++i) {
    silent.push_back(std::make_unique<LoopbackSocket>(SOCK_STREAM, server.metricsPort()));
    ASSERT_TRUE(silent.back()->connected());
  }
  const auto scrape = httpRequest(server.metricsPort(), "GET", "/metrics");
  EXPECT_EQ(scrape.status, 200);
  EXPECT_NE(scrape.body.find("turnpike_build_info"), std::string::npos);
  EXPECT_EQ(server.stop(), 0) << server.process().output();
}

}  // namespace
}  // namespace turnpike::testing
