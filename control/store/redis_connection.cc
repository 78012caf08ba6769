#include "control/store/redis_connection.h"

#include <hiredis/hiredis.h>
#include <openssl/sha.h>

namespace turnpike::control {

std::string scriptSha(const std::string& script) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(script.data()), script.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : digest) {
    out += kHex[c >> 4];
    out += kHex[c & 0xF];
  }
  return out;
}

RedisConnection::RedisConnection(Settings settings, const Clock& clock)
    : settings_(std::move(settings)), clock_(clock) {}

RedisConnection::~RedisConnection() { drop(); }

void RedisConnection::drop() {
  if (context_ != nullptr) {
    redisFree(context_);
    context_ = nullptr;
  }
  up_ = false;
}

bool RedisConnection::connect(std::string& error) {
  if (clock_.now() < next_attempt_) {
    error = "redis is unreachable (next attempt soon)";
    return false;
  }
  next_attempt_ = clock_.now() + settings_.retry_every;
  const auto ms = settings_.timeout.count();
  const timeval tv{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
  context_ = redisConnectWithTimeout(settings_.host.c_str(), settings_.port, tv);
  if (context_ == nullptr || context_->err != 0) {
    error = context_ != nullptr ? context_->errstr : "out of memory";
    drop();
    return false;
  }
  redisSetTimeout(context_, tv);
  redisEnableKeepAlive(context_);
  if (!settings_.password.empty()) {
    up_ = true;
    if (!command({"AUTH", settings_.password}, error)) {
      error = "AUTH: " + error;
      drop();
      return false;
    }
  }
  up_ = true;
  return true;
}

RedisReply RedisConnection::command(const std::vector<std::string_view>& argv, std::string& error) {
  RedisReply none(nullptr, freeReplyObject);
  if (context_ == nullptr && !connect(error)) {
    return none;
  }
  std::vector<const char*> args;
  std::vector<size_t> lengths;
  for (auto a : argv) {
    args.push_back(a.data());
    lengths.push_back(a.size());
  }
  ++commands_;
  auto* raw = static_cast<redisReply*>(
      redisCommandArgv(context_, static_cast<int>(args.size()), args.data(), lengths.data()));
  if (raw == nullptr) {
    error = context_->errstr;
    drop();
    return none;
  }
  RedisReply reply(raw, freeReplyObject);
  up_ = true;
  if (reply->type == REDIS_REPLY_ERROR) {
    error.assign(reply->str, reply->len);
    return none;
  }
  return reply;
}

bool RedisConnection::ping(std::string& error) {
  return static_cast<bool>(command({"PING"}, error));
}

RedisReply RedisConnection::eval(const std::string& script,
                                 const std::vector<std::string_view>& args, std::string& error) {
  const std::string sha = scriptSha(script);
  const std::string count = "0";
  std::vector<std::string_view> argv{"EVALSHA", sha, count};
  argv.insert(argv.end(), args.begin(), args.end());
  auto reply = command(argv, error);
  if (!reply && up_ && error.rfind("NOSCRIPT", 0) == 0) {
    argv[0] = "EVAL";
    argv[1] = script;
    error.clear();
    reply = command(argv, error);
  }
  return reply;
}

}  // namespace turnpike::control
