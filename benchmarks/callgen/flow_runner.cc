#include "benchmarks/callgen/flow_runner.h"

#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

#include "benchmarks/callgen/json_util.h"
#include "benchmarks/callgen/process_probe.h"

namespace turnpike::callgen {
namespace {

constexpr std::size_t kRememberedCalls = 4;
constexpr auto kSweepEvery = std::chrono::milliseconds(100);

nlohmann::json percentiles(const loadgen::LatencyHistogram& h) {
  const auto us = [](std::uint64_t ns) {
    return std::round(static_cast<double>(ns) / 100.0) / 10.0;
  };
  return {{"count", h.count()},
          {"p50_us", us(h.percentile(0.50))},
          {"p90_us", us(h.percentile(0.90))},
          {"p99_us", us(h.percentile(0.99))},
          {"p999_us", us(h.percentile(0.999))},
          {"max_us", us(h.max())}};
}

}  // namespace

/// Open-loop ticks from a timerfd: each expiration is one scheduled flow,
/// stamped with the time it was due (so a late generator shows as lag).
class FlowRunner::Pacer final : public IoHandler {
 public:
  Pacer(EventLoop& loop, FlowRunner& runner, double rate)
      : loop_(loop),
        runner_(runner),
        fd_(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)),
        period_ns_(static_cast<std::uint64_t>(1e9 / rate)) {
    start_ns_ = nowNs();
    itimerspec spec{};
    spec.it_interval.tv_sec = static_cast<time_t>(period_ns_ / 1'000'000'000ULL);
    spec.it_interval.tv_nsec = static_cast<long>(period_ns_ % 1'000'000'000ULL);
    spec.it_value = spec.it_interval;
    timerfd_settime(fd_, 0, &spec, nullptr);
    loop_.add(fd_, EPOLLIN, this);
  }
  ~Pacer() override {
    loop_.remove(fd_);
    ::close(fd_);
  }
  Pacer(const Pacer&) = delete;
  Pacer& operator=(const Pacer&) = delete;

  void onIo(std::uint32_t /*events*/) override {
    std::uint64_t expirations = 0;
    if (::read(fd_, &expirations, sizeof expirations) != sizeof expirations) {
      return;
    }
    for (std::uint64_t i = 0; i < expirations; ++i) {
      ++ticks_;
      runner_.tick(start_ns_ + ticks_ * period_ns_);
    }
  }

 private:
  EventLoop& loop_;
  FlowRunner& runner_;
  int fd_;
  std::uint64_t period_ns_;
  std::uint64_t start_ns_ = 0;
  std::uint64_t ticks_ = 0;
};

FlowRunner::FlowRunner(EventLoop& loop, DeviceFleet& fleet, const FlowOptions& options,
                       ErrorCounts& errors)
    : loop_(loop), fleet_(fleet), options_(options), errors_(errors) {
  const auto& devices = fleet_.devices();
  pairs_.resize(devices.size() / 2);
  for (std::size_t i = 0; i < pairs_.size(); ++i) {
    pairs_[i].caller = 2 * i;
    pairs_[i].callee = 2 * i + 1;
    pairs_[i].usable = devices[2 * i].ready && devices[2 * i + 1].ready;
    if (pairs_[i].usable) {
      free_.push_back(i);
    }
  }
  fleet_.on_event = [this](std::size_t device, const nlohmann::json& event) {
    onEvent(device, event);
  };
  fleet_.on_lost = [this](std::size_t device, const std::string&) {
    auto& pair = pairs_[device / 2];
    pair.usable = false;
    if (pair.flow && !pair.flow->failed) {
      fail(device / 2, "flow_aborted_ws_lost");
    }
  };
}

nlohmann::json FlowRunner::run() {
  CpuWindow cpu(options_.server_pid);
  const std::uint64_t t0 = nowNs();
  window_end_ns_ = t0 + static_cast<std::uint64_t>(options_.duration * 1e9);
  const std::uint64_t hard_end_ns =
      window_end_ns_ + static_cast<std::uint64_t>(options_.drain * 1e9);
  running_ = true;
  std::optional<Pacer> pacer;
  if (options_.rate > 0) {
    pacer.emplace(loop_, *this, options_.rate);
  } else {
    fillClosedLoop();
  }
  auto next_sweep = Clock::now() + kSweepEvery;
  for (;;) {
    const std::uint64_t now = nowNs();
    if (running_ && now >= window_end_ns_) {
      running_ = false;
      pacer.reset();
      cpu.stop();
    }
    if (!running_ && (in_flight_ == 0 || now >= hard_end_ns)) {
      break;
    }
    if (Clock::now() >= next_sweep) {
      sweepTimeouts();
      next_sweep += kSweepEvery;
    }
    loop_.poll(std::chrono::milliseconds(10));
  }
  for (const auto& pair : pairs_) {
    if (pair.flow && !pair.flow->failed) {
      errors_.add("unfinished_" + pendingStage(*pair.flow));
    }
  }
  return summary(options_.duration, cpu);
}

void FlowRunner::tick(std::uint64_t scheduled_ns) {
  ++offered_;
  const std::size_t limit = options_.max_in_flight == 0 ? pairs_.size() : options_.max_in_flight;
  if (!running_ || in_flight_ >= limit || !start(scheduled_ns)) {
    ++skipped_;
  }
}

void FlowRunner::fillClosedLoop() {
  while (running_ && in_flight_ < options_.concurrency && start(0)) {
  }
}

bool FlowRunner::start(std::uint64_t scheduled_ns) {
  while (!free_.empty() && !pairs_[free_.front()].usable) {
    free_.pop_front();
  }
  if (free_.empty()) {
    return false;
  }
  const std::size_t index = free_.front();
  free_.pop_front();
  auto& pair = pairs_[index];
  CallFlow& f = pair.flow.emplace();
  f.scheduled_ns = scheduled_ns;
  f.deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                  std::chrono::duration<double>(options_.flow_timeout));
  f.outstanding = 1;
  ++in_flight_;
  ++started_;
  const auto& devices = fleet_.devices();
  const auto& caller = devices[pair.caller];
  const nlohmann::json body = {{"deviceId", caller.device_id},
                               {"callees", {devices[pair.callee].user_id}},
                               {"type", options_.call_type}};
  caller.http->send(
      "POST", "/v1/calls", caller.token, body.dump(),
      [this, index](HttpResult& r) { onCreated(index, r); }, &f.create_ns);
  // A connection that failed at once has already failed (and released) the flow.
  if (pair.flow && scheduled_ns != 0 && pair.flow->create_ns != 0) {
    const std::uint64_t sent = pair.flow->create_ns;
    start_lag_.record(sent > scheduled_ns ? sent - scheduled_ns : 0);
  }
  return true;
}

void FlowRunner::onCreated(std::size_t index, const HttpResult& r) {
  CallFlow& f = *pairs_[index].flow;
  --f.outstanding;
  std::string call_id;
  std::string state;
  std::string end_reason;
  if (r.status == 201) {
    const auto body = nlohmann::json::parse(r.body, nullptr, false);
    if (body.is_object() && body.contains("call") && body["call"].is_object()) {
      const auto& call = body["call"];
      call_id = stringField(call, "callId");
      state = stringField(call, "state");
      end_reason = stringField(call, "endReason");
    }
  }
  if (f.failed) {
    // Timed out before the answer: end the call it created, if any.
    if (f.call_id.empty()) {
      f.call_id = call_id;
    }
    if (!f.call_id.empty() && !f.end_sent) {
      sendEnd(index, true);
    }
    release(index);
    return;
  }
  if (r.status != 201) {
    fail(index, httpErrorKind("create", r.status, r.body, r.transport_error));
    return;
  }
  if (call_id.empty()) {
    fail(index, "create_no_call_id");
    return;
  }
  const bool mismatch = !f.call_id.empty() && f.call_id != call_id;
  f.call_id = call_id;
  if (mismatch) {
    fail(index, "call_id_mismatch");
    return;
  }
  if (state == "ended") {
    fail(index, "create_ended_" + end_reason);
    return;
  }
  create_.record(nowNs() - f.create_ns);
  f.created = true;
  if (f.connected && !f.end_sent) {
    sendEnd(index, false);
  }
}

void FlowRunner::onEvent(std::size_t device, const nlohmann::json& event) {
  const auto& name = event["event"].get_ref<const std::string&>();
  ++events_[name];
  if (device % 2 == 0 || name != "call.incoming") {
    return;
  }
  const std::uint64_t parsed_ns = nowNs();
  const std::size_t index = device / 2;
  auto& pair = pairs_[index];
  const std::string call_id = stringField(event, "callId");
  const bool finished = std::find(pair.finished_calls.begin(), pair.finished_calls.end(),
                                  call_id) != pair.finished_calls.end();
  if (!pair.flow || pair.flow->incoming || pair.flow->failed || finished || call_id.empty() ||
      (!pair.flow->call_id.empty() && pair.flow->call_id != call_id)) {
    ++stale_events_;
    return;
  }
  CallFlow& f = *pair.flow;
  incoming_.record(parsed_ns - f.create_ns);
  f.incoming = true;
  f.call_id = call_id;
  ++f.outstanding;
  const auto& callee = fleet_.devices()[pair.callee];
  callee.http->send("POST", callPath(f, "accept"), callee.token, deviceBody(pair.callee),
                    [this, index](HttpResult& r) { onAccepted(index, r); });
}

void FlowRunner::onAccepted(std::size_t index, const HttpResult& r) {
  auto& pair = pairs_[index];
  CallFlow& f = *pair.flow;
  --f.outstanding;
  if (f.failed) {
    release(index);
    return;
  }
  if (r.status != 200) {
    fail(index, httpErrorKind("accept", r.status, r.body, r.transport_error));
    return;
  }
  ++f.outstanding;
  const auto& callee = fleet_.devices()[pair.callee];
  callee.http->send("POST", callPath(f, "connected"), callee.token, deviceBody(pair.callee),
                    [this, index](HttpResult& result) { onConnected(index, result); });
}

void FlowRunner::onConnected(std::size_t index, const HttpResult& r) {
  CallFlow& f = *pairs_[index].flow;
  --f.outstanding;
  if (f.failed) {
    release(index);
    return;
  }
  if (r.status != 200) {
    fail(index, httpErrorKind("connected", r.status, r.body, r.transport_error));
    return;
  }
  f.connected = true;
  if (f.created && !f.end_sent) {
    sendEnd(index, false);
  }
}

void FlowRunner::sendEnd(std::size_t index, bool cleanup) {
  auto& pair = pairs_[index];
  CallFlow& f = *pair.flow;
  f.end_sent = true;
  ++f.outstanding;
  const auto& caller = fleet_.devices()[pair.caller];
  caller.http->send("POST", callPath(f, "end"), caller.token, deviceBody(pair.caller),
                    [this, index, cleanup](HttpResult& r) { onEnded(index, cleanup, r); });
}

void FlowRunner::onEnded(std::size_t index, bool cleanup, const HttpResult& r) {
  CallFlow& f = *pairs_[index].flow;
  --f.outstanding;
  if (!cleanup && !f.failed) {
    if (r.status != 200) {
      fail(index, httpErrorKind("end", r.status, r.body, r.transport_error));
      return;
    }
    const std::uint64_t now = nowNs();
    flow_.record(now - f.create_ns);
    ++completed_;
    if (now <= window_end_ns_) {
      ++completed_in_window_;
    }
  }
  release(index);
}

void FlowRunner::fail(std::size_t index, const std::string& kind) {
  CallFlow& f = *pairs_[index].flow;
  if (f.failed) {
    return;
  }
  f.failed = true;
  ++failed_;
  errors_.add(kind);
  // A call left ringing would make the next flow of this pair busy.
  if (!f.call_id.empty() && !f.end_sent) {
    sendEnd(index, true);
  }
  release(index);
}

void FlowRunner::release(std::size_t index) {
  auto& pair = pairs_[index];
  if (!pair.flow || pair.flow->outstanding > 0 || (!pair.flow->failed && !pair.flow->end_sent)) {
    return;
  }
  if (!pair.flow->call_id.empty()) {
    pair.finished_calls.push_back(pair.flow->call_id);
    if (pair.finished_calls.size() > kRememberedCalls) {
      pair.finished_calls.pop_front();
    }
  }
  pair.flow.reset();
  --in_flight_;
  if (pair.usable) {
    free_.push_back(index);
  }
  if (options_.rate <= 0) {
    fillClosedLoop();
  }
}

void FlowRunner::sweepTimeouts() {
  const auto now = Clock::now();
  for (std::size_t i = 0; i < pairs_.size(); ++i) {
    const auto& flow = pairs_[i].flow;
    if (flow && !flow->failed && now >= flow->deadline) {
      fail(i, "timeout_" + pendingStage(*flow));
    }
  }
}

std::string FlowRunner::pendingStage(const CallFlow& f) {
  if (!f.incoming) {
    return "incoming";
  }
  if (!f.connected) {
    return "accept_or_connected";
  }
  if (!f.created) {
    return "create_response";
  }
  return "end";
}

std::string FlowRunner::callPath(const CallFlow& f, const char* action) {
  return "/v1/calls/" + f.call_id + "/" + action;
}

std::string FlowRunner::deviceBody(std::size_t device) const {
  return nlohmann::json{{"deviceId", fleet_.devices()[device].device_id}}.dump();
}

nlohmann::json FlowRunner::summary(double window_s, const CpuWindow& cpu) const {
  nlohmann::json j = {
      {"mode", "flows"},
      {"loop", options_.rate > 0 ? "open" : "closed"},
      {"rate", options_.rate},
      {"concurrency", options_.rate > 0 ? 0 : options_.concurrency},
      {"pairs", pairs_.size()},
      {"duration_s", window_s},
      {"started", started_},
      {"completed", completed_},
      {"completed_in_window", completed_in_window_},
      {"flows_per_second", static_cast<double>(completed_in_window_) / window_s},
      {"failed", failed_},
      {"stale_events", stale_events_},
      {"events", events_},
      {"incoming_latency", percentiles(incoming_)},
      {"create_response", percentiles(create_)},
      {"flow_duration", percentiles(flow_)},
      {"histogram", "log-linear, 64 sub-buckets per power of two: each percentile within 1.6%"},
  };
  cpu.addTo(j);
  if (options_.rate > 0) {
    j["offered"] = offered_;
    j["skipped"] = skipped_;
    j["start_lag"] = percentiles(start_lag_);
  }
  if (options_.server_pid > 0 && completed_in_window_ > 0) {
    j["server_cpu_us_per_flow"] =
        static_cast<double>(cpu.serverNs()) / 1000.0 / static_cast<double>(completed_in_window_);
  }
  return j;
}

}  // namespace turnpike::callgen
