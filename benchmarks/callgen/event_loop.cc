#include "benchmarks/callgen/event_loop.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <ctime>
#include <stdexcept>

namespace turnpike::callgen {

std::uint64_t nowNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

EventLoop::EventLoop() : epoll_fd_(epoll_create1(EPOLL_CLOEXEC)) {
  if (epoll_fd_ < 0) {
    throw std::runtime_error("epoll_create1 failed");
  }
}

EventLoop::~EventLoop() { ::close(epoll_fd_); }

void EventLoop::add(int fd, std::uint32_t events, IoHandler* handler) {
  if (static_cast<std::size_t>(fd) >= handlers_.size()) {
    handlers_.resize(static_cast<std::size_t>(fd) + 1024, nullptr);
  }
  handlers_[static_cast<std::size_t>(fd)] = handler;
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
}

void EventLoop::modify(int fd, std::uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev);
}

void EventLoop::remove(int fd) {
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  if (static_cast<std::size_t>(fd) < handlers_.size()) {
    handlers_[static_cast<std::size_t>(fd)] = nullptr;
  }
}

int EventLoop::poll(std::chrono::milliseconds timeout) {
  std::array<epoll_event, 256> events{};
  const int n = epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()),
                           static_cast<int>(timeout.count()));
  for (int i = 0; i < n; ++i) {
    const auto fd = static_cast<std::size_t>(events[static_cast<std::size_t>(i)].data.fd);
    if (fd < handlers_.size() && handlers_[fd] != nullptr) {
      handlers_[fd]->onIo(events[static_cast<std::size_t>(i)].events);
    }
  }
  return n < 0 && errno == EINTR ? 0 : n;
}

}  // namespace turnpike::callgen
