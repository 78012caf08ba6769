#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "conf/config.h"
#include "relay/app/fault_tally.h"

struct redisContext;

namespace turnpike::app {

/// Usage records to a Redis stream (`XADD <stream> MAXLEN ~ <max_length> *
/// field value ...`) through hiredis, on a thread of its own, so workers
/// never wait on Redis. While Redis is away records wait in a queue of at
/// most `buffer`; beyond it the oldest are dropped and counted. A record
/// leaves the queue only once Redis has answered its XADD, so a restart of
/// Redis loses nothing that fits in the buffer.
class RedisUsageStream {
 public:
  using Record = std::vector<std::pair<std::string, std::string>>;

  /// Exceptions on the writer thread are caught, logged and counted in
  /// `tally` (which must outlive this).
  RedisUsageStream(conf::RedisConfig config, std::size_t buffer, ProcessTally& tally);
  /// Writes what is still queued while Redis answers, then stops: the first
  /// failure after the stop, or twice the command timeout in all, ends it,
  /// so a Redis that accepts connections but never answers cannot hold
  /// shutdown.
  ~RedisUsageStream();
  RedisUsageStream(const RedisUsageStream&) = delete;
  RedisUsageStream& operator=(const RedisUsageStream&) = delete;

  /// Thread-safe, never blocks on Redis.
  void push(Record record);

  [[nodiscard]] std::uint64_t written() const { return written_.load(); }
  [[nodiscard]] std::uint64_t dropped() const { return dropped_.load(); }
  [[nodiscard]] std::size_t queued() const;
  [[nodiscard]] bool connected() const { return connected_.load(); }

 private:
  void run();
  void writeQueued();
  /// Whether the writer should give up now (stopping and out of time).
  bool pastStopDeadline();
  bool connect();
  void disconnect();
  /// 1: written; 0: Redis unreachable (retry); -1: refused by Redis (drop).
  int write(const Record& record);

  const conf::RedisConfig config_;
  const std::size_t buffer_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Record> queue_;                             // guarded by mutex_
  bool stopping_ = false;                                // guarded by mutex_
  std::chrono::steady_clock::time_point stop_deadline_;  // guarded by mutex_
  ProcessTally& tally_;
  redisContext* redis_ = nullptr;  ///< the writer thread's only
  std::string last_error_;         ///< the writer thread's only
  std::atomic<bool> connected_{false};
  std::atomic<std::uint64_t> written_{0};
  std::atomic<std::uint64_t> dropped_{0};
  std::thread thread_;
};

}  // namespace turnpike::app
