#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "relay/base/clock.h"

struct redisContext;
struct redisReply;

namespace turnpike::control {

/// A reply from Redis; freed with the object.
using RedisReply = std::unique_ptr<redisReply, void (*)(void*)>;

/// One blocking connection to Redis (hiredis), used from the control
/// thread only. Every command is bounded by `timeout`; a lost connection is
/// opened again by the next command, at most once per `retry_every`, so
/// while Redis is down a command fails at once instead of waiting.
class RedisConnection {
 public:
  struct Settings {
    std::string host = "127.0.0.1";
    std::uint16_t port = 6379;
    std::string password;
    std::chrono::milliseconds timeout{1000};
    std::chrono::milliseconds retry_every{500};
  };

  RedisConnection(Settings settings, const Clock& clock);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  /// Runs one command; null with `error` set when Redis did not answer or
  /// answered with an error.
  RedisReply command(const std::vector<std::string_view>& argv, std::string& error);
  /// Runs `script` (EVALSHA, loading it once per connection).
  RedisReply eval(const std::string& script, const std::vector<std::string_view>& args,
                  std::string& error);
  /// PING: whether Redis answers now (`error` says why not).
  bool ping(std::string& error);
  /// Whether the last command reached Redis.
  [[nodiscard]] bool up() const { return up_; }
  [[nodiscard]] std::uint64_t commands() const { return commands_; }
  [[nodiscard]] const Settings& settings() const { return settings_; }

 private:
  bool connect(std::string& error);
  void drop();

  Settings settings_;
  const Clock& clock_;
  redisContext* context_ = nullptr;
  bool up_ = false;
  Clock::TimePoint next_attempt_{};
  std::uint64_t commands_ = 0;
};

/// The SHA1 of a script, in hex, as EVALSHA names it.
std::string scriptSha(const std::string& script);

}  // namespace turnpike::control
