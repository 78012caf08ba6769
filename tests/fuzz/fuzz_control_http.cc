// Sends any bytes as an HTTP request to the real control server
// (control.listen: libevent's parser, then every route) on loopback, and
// reads the answer to the end. The process must not crash, leak or hang,
// and every JSON body it sends must parse. The hooks stand in for the
// workers: they echo what they are given (invalid UTF-8 included) and
// sometimes do not answer (503), as the first input byte decides.

#include <arpa/inet.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "relay/app/control_server.h"

namespace {

using turnpike::app::ControlServer;

// What the hooks do, set per input from its first byte.
std::atomic<std::uint8_t> g_mode{0};

ControlServer::Hooks fakeHooks() {
  ControlServer::Hooks h;
  h.draining = [] { return (g_mode.load() & 1) != 0; };
  h.drain = [] {};
  h.reload = [] {
    turnpike::app::ReloadOutcome o;
    o.ok = (g_mode.load() & 2) != 0;
    o.invalid_file = (g_mode.load() & 4) != 0;
    o.message = o.ok ? "reloaded" : "refused";
    o.errors = {"limits.x: line 1: \xff bad"};
    return o;
  };
  h.list = [](const std::string& user, std::size_t limit) -> std::optional<nlohmann::json> {
    if ((g_mode.load() & 8) != 0) {
      return std::nullopt;
    }
    return nlohmann::json{{"count", 1},
                          {"allocations", nlohmann::json::array({{{"user", user}}})},
                          {"truncated", limit < 1}};
  };
  h.show = [](std::uint64_t id) -> std::optional<nlohmann::json> {
    if ((g_mode.load() & 8) != 0) {
      return std::nullopt;
    }
    return (id & 1) != 0 ? nlohmann::json{{"id", id}} : nlohmann::json();
  };
  h.kick = [](const std::string& user,
              std::optional<std::uint64_t> id) -> std::optional<std::size_t> {
    if ((g_mode.load() & 8) != 0) {
      return std::nullopt;
    }
    return id ? std::size_t{*id & 1} : user.size();
  };
  return h;
}

struct Fixture {
  turnpike::app::ProcessTally tally;
  std::unique_ptr<ControlServer> server;

  Fixture() {
    evthread_use_pthreads();
    spdlog::set_level(spdlog::level::off);
    turnpike::conf::ControlConfig config;
    config.listen = turnpike::conf::Endpoint{"127.0.0.1", 0, false};
    config.admin_token = "fuzz-admin-token-0123456789";
    std::string error;
    server = ControlServer::start(config, fakeHooks(), tally, error);
    if (!server) {
      __builtin_trap();
    }
  }
};

// Each answer on the connection (keep-alive may give several): a body that
// says it is JSON must parse. Bodies are cut by Content-Length.
void checkAnswers(const std::string& answers) {
  std::size_t at = 0;
  while (at < answers.size()) {
    const auto head_end = answers.find("\r\n\r\n", at);
    if (head_end == std::string::npos) {
      return;
    }
    const std::string head = answers.substr(at, head_end - at);
    const auto length_at = head.find("Content-Length: ");
    if (length_at == std::string::npos) {
      return;
    }
    const std::size_t length = std::stoul(head.substr(length_at + 16));
    const std::string body = answers.substr(head_end + 4, length);
    if (head.find("Content-Type: application/json") != std::string::npos && body.size() == length &&
        !nlohmann::json::accept(body)) {
      __builtin_trap();  // we wrote JSON that does not parse
    }
    at = head_end + 4 + length;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Fixture fixture;
  if (size == 0) {
    return 0;
  }
  g_mode = data[0];
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  // Each connection from another 127/8 address: the server closes first,
  // and its TIME-WAIT entries would otherwise use up every port of one
  // client address in a long run.
  static std::uint32_t next_source = 0;
  next_source = next_source % (250U * 250U) + 1;
  sockaddr_in from{};
  from.sin_family = AF_INET;
  from.sin_addr.s_addr =
      htonl((127U << 24) | ((next_source / 250 + 1) << 16) | ((next_source % 250 + 1) << 8) | 1U);
  ::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(fixture.server->port());
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    if (errno == ECONNREFUSED) {
      __builtin_trap();  // the server went away
    }
    ::close(fd);  // out of local ports or the like: not the server's doing
    return 0;
  }
  ::send(fd, data + 1, size - 1, MSG_NOSIGNAL);
  ::shutdown(fd, SHUT_WR);
  std::string answer;
  char buffer[4096];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 2000) != 1) {
      break;  // a request libevent still waits on (it times out on its own)
    }
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) {
      break;
    }
    answer.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  checkAnswers(answer);
  return 0;
}
