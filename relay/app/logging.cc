#include "relay/app/logging.h"

#include "relay/app/json_text.h"
#include "relay/app/wall_time.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>

namespace turnpike::app {
namespace {

// The syslog priority of a level, as journald's "<N>" line prefix.
std::string journalPrefix(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
    case spdlog::level::debug: return "<7>";
    case spdlog::level::info: return "<6>";
    case spdlog::level::warn: return "<4>";
    case spdlog::level::err: return "<3>";
    case spdlog::level::critical: return "<2>";
    default: return "<6>";
  }
}

// systemd sets JOURNAL_STREAM to "device:inode" of the stream it connected
// stderr to; it only counts while stderr is still that stream.
bool stderrIsJournal() {
  const char* value = std::getenv("JOURNAL_STREAM");
  struct stat st {};
  if (value == nullptr || ::fstat(STDERR_FILENO, &st) != 0) {
    return false;
  }
  return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) == value;
}

/// {"time":"2026-11-21T12:00:00.123Z","level":"info","msg":"..."}; the
/// message is escaped by nlohmann::json, so any text stays valid JSON.
/// Under journald (`to_journal`) there is no time: the journal stamps each line.
class JsonFormatter final : public spdlog::formatter {
 public:
  explicit JsonFormatter(bool to_journal) : to_journal_(to_journal) {}
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    nlohmann::json line = {
        {"level", std::string(spdlog::level::to_string_view(msg.level).data(),
                              spdlog::level::to_string_view(msg.level).size())},
        {"msg", std::string(msg.payload.data(), msg.payload.size())},
    };
    if (!to_journal_) {
      line["time"] = isoTime(msg.time);
    }
    const std::string text = (to_journal_ ? journalPrefix(msg.level) : "") + jsonText(line);
    dest.append(text.data(), text.data() + text.size());
    dest.push_back('\n');
  }
  [[nodiscard]] std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>(to_journal_);
  }

 private:
  bool to_journal_;
};

/// "<N>level message": journald reads the syslog priority off the prefix
/// (sd-daemon(3)) and stamps the time itself.
class JournalFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto level = spdlog::level::to_string_view(msg.level);
    const std::string prefix = journalPrefix(msg.level);
    dest.append(prefix.data(), prefix.data() + prefix.size());
    dest.append(level.data(), level.data() + level.size());
    dest.push_back(' ');
    dest.append(msg.payload.data(), msg.payload.data() + msg.payload.size());
    dest.push_back('\n');
  }
  [[nodiscard]] std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JournalFormatter>();
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

bool eventsLogged() {
  const auto& logger = eventLogger();
  return logger && logger->should_log(spdlog::level::info);
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
  const bool to_journal = stderrIsJournal();
  if (config.format == conf::LogFormat::Json) {
    logger->set_formatter(std::make_unique<JsonFormatter>(to_journal));
  } else if (to_journal) {
    logger->set_formatter(std::make_unique<JournalFormatter>());
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  }
  logger->set_level(toSpdlog(config.level));
  logger->flush_on(spdlog::level::trace);
}

}  // namespace turnpike::app
