#include "relay/app/redis_usage_stream.h"

#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>
#include <sys/time.h>

namespace turnpike::app {
namespace {

constexpr auto kRetryAfter = std::chrono::seconds{1};

timeval toTimeval(conf::Duration d) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  return timeval{static_cast<time_t>(us / 1'000'000), static_cast<suseconds_t>(us % 1'000'000)};
}

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

Reply command(redisContext* c, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  argv.reserve(args.size());
  lengths.reserve(args.size());
  for (const auto& a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  return Reply(static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(args.size()), argv.data(), lengths.data())));
}

}  // namespace

RedisUsageStream::RedisUsageStream(conf::RedisConfig config, std::size_t buffer,
                                   ProcessTally& tally)
    : config_(std::move(config)), buffer_(buffer), tally_(tally), thread_([this] { run(); }) {}

RedisUsageStream::~RedisUsageStream() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    stop_deadline_ =
        std::chrono::steady_clock::now() +
        std::max<std::chrono::steady_clock::duration>(2 * config_.timeout, std::chrono::seconds{1});
  }
  wake_.notify_all();
  thread_.join();
  disconnect();
  spdlog::info("usage records: {} written to Redis, {} dropped, {} not written", written(),
               dropped(), queued());
}

void RedisUsageStream::push(Record record) {
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= buffer_) {
      queue_.pop_front();
      ++dropped_;
    }
    queue_.push_back(std::move(record));
  }
  wake_.notify_one();
}

std::size_t RedisUsageStream::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

bool RedisUsageStream::connect() {
  const auto& a = *config_.address;
  const timeval timeout = toTimeval(config_.timeout);
  redis_ = redisConnectWithTimeout(a.ip.c_str(), a.port, timeout);
  if (redis_ == nullptr || redis_->err != 0) {
    last_error_ = redis_ != nullptr ? redis_->errstr : "out of memory";
    disconnect();
    return false;
  }
  redisSetTimeout(redis_, timeout);
  if (!config_.password.empty()) {
    const Reply reply = command(redis_, {"AUTH", config_.password});
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
      last_error_ = "AUTH refused: " + (reply ? std::string(reply->str, reply->len) : "no answer");
      disconnect();
      return false;
    }
  }
  connected_ = true;
  spdlog::info("store.redis: connected to {}, usage records go to stream {}", a.toString(),
               config_.stream);
  return true;
}

void RedisUsageStream::disconnect() {
  if (redis_ != nullptr) {
    redisFree(redis_);
    redis_ = nullptr;
  }
  connected_ = false;
}

int RedisUsageStream::write(const Record& record) {
  std::vector<std::string> args = {
      "XADD", config_.stream, "MAXLEN", "~", std::to_string(config_.max_length), "*"};
  for (const auto& [field, value] : record) {
    args.push_back(field);
    args.push_back(value);
  }
  const Reply reply = command(redis_, args);
  if (!reply) {
    return 0;
  }
  if (reply->type == REDIS_REPLY_ERROR) {
    spdlog::error("store.redis: XADD refused, record dropped: {}",
                  std::string(reply->str, reply->len));
    return -1;
  }
  return 1;
}

void RedisUsageStream::run() {
  // Nothing thrown here may leave the thread: that would end the process.
  try {
    writeQueued();
  } catch (const std::exception& error) {
    spdlog::error("store.redis: writer stopped by an internal error: {}", error.what());
    ++tally_.redis_errors;
  } catch (...) {
    spdlog::error("store.redis: writer stopped by an internal error");
    ++tally_.redis_errors;
  }
  disconnect();
}

bool RedisUsageStream::pastStopDeadline() {
  std::lock_guard lock(mutex_);
  if (!stopping_ || std::chrono::steady_clock::now() < stop_deadline_) {
    return false;
  }
  spdlog::warn("store.redis: stopping with {} usage records not written: Redis did not answer",
               queue_.size());
  return true;
}

void RedisUsageStream::writeQueued() {
  bool reported_down = false;
  for (;;) {
    Record next;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) {
        return;  // stopping, nothing left
      }
      next = queue_.front();
    }
    if (pastStopDeadline()) {
      return;
    }
    if (redis_ == nullptr && !connect()) {
      if (!reported_down) {
        spdlog::warn(
            "store.redis: {}: {}; usage records wait (up to {}) and it is retried every {}s",
            config_.address->toString(), last_error_, buffer_, kRetryAfter.count());
        reported_down = true;
      }
      std::unique_lock lock(mutex_);
      if (stopping_) {
        spdlog::warn("store.redis: stopping with {} usage records not written", queue_.size());
        return;
      }
      wake_.wait_for(lock, kRetryAfter, [this] { return stopping_; });
      continue;
    }
    reported_down = false;
    const int result = write(next);
    if (result == 0) {
      spdlog::warn("store.redis: connection lost: {}", redis_->errstr);
      disconnect();
      std::lock_guard lock(mutex_);
      if (stopping_) {
        spdlog::warn("store.redis: stopping with {} usage records not written", queue_.size());
        return;
      }
      continue;
    }
    std::lock_guard lock(mutex_);
    // Front is still `next` unless push() dropped it as the oldest meanwhile.
    if (!queue_.empty() && queue_.front() == next) {
      queue_.pop_front();
    }
    if (result > 0) {
      ++written_;
    } else {
      ++dropped_;
    }
  }
}

}  // namespace turnpike::app
