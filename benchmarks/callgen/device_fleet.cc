#include "benchmarks/callgen/device_fleet.h"

#include <ctime>
#include <utility>

#include "benchmarks/callgen/json_util.h"
#include "benchmarks/callgen/user_token.h"

namespace turnpike::callgen {
namespace {

constexpr std::int64_t kTokenLifetime = std::int64_t{4} * 3600;

}  // namespace

DeviceFleet::DeviceFleet(EventLoop& loop, std::vector<Target> targets, const FleetOptions& options,
                         ErrorCounts& errors)
    : loop_(loop), targets_(std::move(targets)), options_(options), errors_(errors) {
  const std::size_t connections =
      options_.http_connections == 0 ? options_.devices : options_.http_connections;
  // Connection i serves devices i, i + connections, ...: the same target as
  // long as connections is a multiple of targets_.size() (one per device is).
  for (std::size_t i = 0; i < connections; ++i) {
    http_.push_back(std::make_unique<HttpConnection>(loop_, targets_[i % targets_.size()]));
  }
  const std::int64_t now = std::time(nullptr);
  const std::size_t per_user = std::max<std::size_t>(1, options_.devices_per_user);
  devices_.resize(options_.devices);
  for (std::size_t i = 0; i < devices_.size(); ++i) {
    auto& d = devices_[i];
    d.user_id = options_.user_prefix + "u" + std::to_string(i / per_user);
    d.device_id = "dev-" + std::to_string(i);
    d.token = i % per_user == 0
                  ? mintUserToken(options_.secret, d.user_id, now, now + kTokenLifetime)
                  : devices_[i - i % per_user].token;
    d.http = http_[i % http_.size()].get();
  }
}

void DeviceFleet::waitUntil(Clock::time_point deadline, const std::function<bool()>& done) {
  while (!done() && Clock::now() < deadline) {
    loop_.poll(std::chrono::milliseconds(20));
  }
}

bool DeviceFleet::registerAll(Clock::time_point deadline) {
  next_ = in_flight_ = finished_ = 0;
  startMore(&DeviceFleet::registerOne);
  waitUntil(deadline, [&] { return finished_ == devices_.size(); });
  std::size_t registered = 0;
  for (const auto& d : devices_) {
    registered += d.registered ? 1 : 0;
  }
  if (registered < devices_.size() && finished_ < devices_.size()) {
    errors_.add("setup_register_timeout");
  }
  return registered == devices_.size();
}

void DeviceFleet::registerOne(std::size_t index) {
  auto& d = devices_[index];
  const nlohmann::json body = {{"deviceId", d.device_id},
                               {"platform", "web"},
                               {"pushTokens", nlohmann::json::array()},
                               {"capabilities", {{"calls", true}}}};
  ++in_flight_;
  d.http->send("POST", "/v1/devices/register", d.token, body.dump(), [this, index](HttpResult& r) {
    --in_flight_;
    ++finished_;
    if (r.status == 200) {
      devices_[index].registered = true;
    } else {
      errors_.add(httpErrorKind("setup_register", r.status, r.body, r.transport_error));
    }
    startMore(&DeviceFleet::registerOne);
  });
}

bool DeviceFleet::connectAll(Clock::time_point deadline) {
  next_ = in_flight_ = finished_ = 0;
  startMore(&DeviceFleet::connectOne);
  waitUntil(deadline, [&] { return finished_ == devices_.size(); });
  if (finished_ < devices_.size()) {
    errors_.add("setup_hello_timeout");
  }
  return ready_ == devices_.size();
}

void DeviceFleet::connectOne(std::size_t index) {
  auto& d = devices_[index];
  if (!d.registered) {
    ++finished_;  // already counted as a registration error
    return;
  }
  ++in_flight_;
  WsConnection::Callbacks callbacks;
  callbacks.opened = [this, index] {
    const auto& dev = devices_[index];
    const nlohmann::json hello = {
        {"event", "hello"}, {"deviceId", dev.device_id}, {"foreground", true}};
    dev.ws->sendText(hello.dump());
  };
  callbacks.text = [this, index](std::string_view text) { onText(index, text); };
  callbacks.closed = [this, index](const std::string& why) { onClosed(index, why); };
  d.ws = std::make_unique<WsConnection>(loop_, targets_[index % targets_.size()],
                                        std::move(callbacks));
  d.ws->open("/v1/events?access_token=" + d.token);
}

void DeviceFleet::onText(std::size_t index, std::string_view text) {
  auto& d = devices_[index];
  const auto event = nlohmann::json::parse(text, nullptr, false);
  if (!event.is_object() || !event.contains("event") || !event["event"].is_string()) {
    errors_.add("event_not_json");
    return;
  }
  if (d.ready) {
    if (on_event) {
      on_event(index, event);
    }
    return;
  }
  const auto& name = event["event"].get_ref<const std::string&>();
  if (name == "hello.ok") {
    d.ready = true;
    ++ready_;
  } else if (name == "error") {
    // Left open: closing it here would free wslay's context under its own callback.
    errors_.add("setup_hello_error_" + stringField(event, "code"));
  } else {
    return;  // replayed events of earlier calls: none in a fresh run
  }
  settle(d);
}

void DeviceFleet::settle(FleetDevice& d) {
  if (d.settled) {
    return;
  }
  d.settled = true;
  --in_flight_;
  ++finished_;
  startMore(&DeviceFleet::connectOne);
}

void DeviceFleet::startMore(void (DeviceFleet::*start)(std::size_t)) {
  while (next_ < devices_.size() && in_flight_ < options_.parallel) {
    (this->*start)(next_++);
  }
}

void DeviceFleet::onClosed(std::size_t index, const std::string& why) {
  auto& d = devices_[index];
  if (d.ready) {
    d.lost = true;
    errors_.add("ws_lost_" + why);
    if (on_lost) {
      on_lost(index, why);
    }
    return;
  }
  if (!d.settled) {
    errors_.add("setup_ws_" + why);
    settle(d);
  }
}

void DeviceFleet::closeHttp() {
  for (auto& h : http_) {
    h->close();
  }
}

}  // namespace turnpike::callgen
