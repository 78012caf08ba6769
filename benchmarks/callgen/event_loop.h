#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

namespace turnpike::callgen {

using Clock = std::chrono::steady_clock;

/// Monotonic nanoseconds (CLOCK_MONOTONIC), the time base of every latency.
std::uint64_t nowNs();

/// Receives the readiness of one file descriptor.
class IoHandler {
 public:
  virtual ~IoHandler() = default;
  virtual void onIo(std::uint32_t events) = 0;
};

/// A level-triggered epoll loop on one thread. Handlers are looked up by fd
/// at dispatch, so an fd removed (and perhaps reused) during a batch never
/// reaches a handler that no longer owns it.
class EventLoop {
 public:
  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  /// Watches `fd` for `events` (EPOLLIN, EPOLLOUT); `handler` is not owned.
  void add(int fd, std::uint32_t events, IoHandler* handler);
  void modify(int fd, std::uint32_t events);
  /// Stops watching `fd` (call before closing it).
  void remove(int fd);
  /// Waits up to `timeout` and dispatches what is ready; returns how many.
  int poll(std::chrono::milliseconds timeout);

 private:
  int epoll_fd_ = -1;
  std::vector<IoHandler*> handlers_;  // by fd; not owned
};

}  // namespace turnpike::callgen
