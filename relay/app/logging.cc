#include "relay/app/logging.h"

#include "relay/app/json_text.h"
#include "relay/app/wall_time.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>

namespace turnpike::app {
namespace {

/// {"time":"2026-11-21T12:00:00.123Z","level":"info","msg":"..."}; the
/// message is escaped by nlohmann::json, so any text stays valid JSON.
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    nlohmann::json line = {
        {"time", isoTime(msg.time)},
        {"level", std::string(spdlog::level::to_string_view(msg.level).data(),
                              spdlog::level::to_string_view(msg.level).size())},
        {"msg", std::string(msg.payload.data(), msg.payload.size())},
    };
    const std::string text = jsonText(line);
    dest.append(text.data(), text.data() + text.size());
    dest.push_back('\n');
  }
  [[nodiscard]] std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

spdlog::level::level_enum toSpdlog(conf::LogLevel level) {
  switch (level) {
    case conf::LogLevel::Trace: return spdlog::level::trace;
    case conf::LogLevel::Debug: return spdlog::level::debug;
    case conf::LogLevel::Info: return spdlog::level::info;
    case conf::LogLevel::Warn: return spdlog::level::warn;
    case conf::LogLevel::Error: return spdlog::level::err;
    case conf::LogLevel::Critical: return spdlog::level::critical;
    case conf::LogLevel::Off: return spdlog::level::off;
  }
  return spdlog::level::info;
}

// Allocation events: their payload is already a JSON line.
std::shared_ptr<spdlog::logger>& eventLogger() {
  static std::shared_ptr<spdlog::logger> logger;
  return logger;
}

}  // namespace

void setLogLevel(conf::LogLevel level) {
  spdlog::default_logger()->set_level(toSpdlog(level));
  if (eventLogger()) {
    eventLogger()->set_level(toSpdlog(level));
  }
}

void logEvent(std::string_view json_line) {
  const auto& logger = eventLogger();
  if (logger) {
    logger->info("{}", json_line);
  }
}

void setupLogging(const conf::LogConfig& config) {
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>("turnpike", sink);
  // A sink of its own: spdlog formats per sink, and these lines go out as they are.
  auto events =
      std::make_shared<spdlog::logger>("events", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  events->set_pattern("%v");
  events->set_level(toSpdlog(config.level));
  events->flush_on(spdlog::level::trace);
  eventLogger() = events;
  spdlog::set_default_logger(logger);
  if (config.format == conf::LogFormat::Json) {
    logger->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  }
  logger->set_level(toSpdlog(config.level));
  logger->flush_on(spdlog::level::trace);
}

}  // namespace turnpike::app
