// Pushes per second through Turnpike's own push path on one thread: the
// APNs VoIP invite as PushSender builds it (shared provider token, payload,
// headers) over control::push::Http2Client, so one HTTP/2 connection with
// many streams, against a local server. Prints one JSON line.
//
//   turnpike-push-rate --url https://127.0.0.1:PORT --ca ca.pem --key AuthKey.p8
//                      [--count 20000] [--window 200] [--seconds 30]

#include <event2/event.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "control/push/apns.h"
#include "control/push/http2_client.h"
#include "relay/base/clock.h"

namespace {

using namespace turnpike;
using namespace turnpike::control;

double cpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

struct Run {
  event_base* base = nullptr;
  push::Http2Client* client = nullptr;
  push::ProviderToken* token = nullptr;
  Call call;
  std::string url;
  std::string bundle;
  std::uint64_t count = 0;
  std::uint64_t sent = 0;
  std::uint64_t done = 0;
  std::uint64_t ok = 0;
  std::uint64_t failed = 0;
  std::chrono::steady_clock::time_point deadline;

  void sendOne() {
    const std::string device = "bench" + std::to_string(sent % 1000);
    char apns_id[40];
    std::snprintf(apns_id, sizeof apns_id, "00000000-0000-4000-8000-%012llu",
                  static_cast<unsigned long long>(sent));
    auto notice = push::apnsInvite(call, device, bundle, call.created_at, apns_id);
    push::HttpRequest request;
    request.url = url + notice->path;
    request.headers = std::move(notice->headers);
    request.headers.push_back("authorization: bearer " + token->current());
    request.body = std::move(notice->body);
    ++sent;
    client->send(std::move(request), [this](push::HttpResponse response) {
      ++done;
      (response.status == 200 ? ok : failed) += 1;
      if (response.status != 200 && failed == 1) {
        std::fprintf(stderr, "first failure: %d %s%s\n", response.status, response.error.c_str(),
                     response.body.c_str());
      }
      if (sent < count && std::chrono::steady_clock::now() < deadline) {
        sendOne();
      } else if (done == sent) {
        event_base_loopbreak(base);
      }
    });
  }
};

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"turnpike-push-rate: APNs invites per second over one HTTP/2 connection"};
  std::string url;
  std::string ca;
  std::string key_path;
  std::uint64_t count = 20'000;
  unsigned window = 200;
  unsigned seconds = 30;
  app.add_option("--url", url, "base URL of the APNs-like server")->required();
  app.add_option("--ca", ca, "CA file the server's certificate chains to");
  app.add_option("--key", key_path, "P-256 PEM key for the provider token")->required();
  app.add_option("--count", count, "pushes in all");
  app.add_option("--window", window, "requests in flight");
  app.add_option("--seconds", seconds, "stop after this long whatever the count");
  CLI11_PARSE(app, argc, argv);

  std::string error;
  auto key = tokens::SigningKey::fromPem(readFile(key_path), error);
  if (!key) {
    std::cerr << "--key: " << error << "\n";
    return 2;
  }
  SteadyClock clock;
  push::ProviderToken token(key->withKid("KEY1234567"), "TEAM123456", clock);
  event_base* base = event_base_new();
  auto client =
      std::make_unique<push::Http2Client>(base, push::Http2Client::Options{ca, window + 10});

  Run run;
  run.base = base;
  run.client = client.get();
  run.token = &token;
  run.url = url;
  run.bundle = "com.example.turnpike";
  run.count = count;
  run.call.call_id = "00000000-0000-4000-8000-000000000000";
  run.call.created_at = clock.unixMillis();
  run.call.deadline = run.call.created_at + std::chrono::seconds{30};
  run.call.participants.push_back({"p-1", "alice", Role::Host, ParticipantState::Accepted, "a"});
  run.call.participants.push_back({"p-2", "bob", Role::Member, ParticipantState::Invited, ""});
  run.deadline = std::chrono::steady_clock::now() + std::chrono::seconds{seconds};

  const double cpu0 = cpuSeconds();
  const auto t0 = std::chrono::steady_clock::now();
  for (unsigned i = 0; i < window && run.sent < count; ++i) {
    run.sendOne();
  }
  event_base_dispatch(base);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = cpuSeconds() - cpu0;
  std::printf(
      "{\"pushes\": %llu, \"ok\": %llu, \"failed\": %llu, \"seconds\": %.3f, "
      "\"pushes_per_second\": %.0f, \"cpu_seconds\": %.3f, \"cpu_us_per_push\": %.1f, "
      "\"connections\": %llu, \"provider_tokens_signed\": %llu}\n",
      static_cast<unsigned long long>(run.done), static_cast<unsigned long long>(run.ok),
      static_cast<unsigned long long>(run.failed), wall, static_cast<double>(run.ok) / wall, cpu,
      run.done ? cpu * 1e6 / static_cast<double>(run.done) : 0.0,
      static_cast<unsigned long long>(client->connectionsOpened()),
      static_cast<unsigned long long>(token.signings()));
  // The client's connections are freed by the loop's finalizers: before the loop.
  client.reset();
  event_base_free(base);
  return run.failed == 0 && run.ok > 0 ? 0 : 1;
}
