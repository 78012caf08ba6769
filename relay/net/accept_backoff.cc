#include "relay/net/accept_backoff.h"

#include <event2/listener.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace turnpike::net {

AcceptBackoff::AcceptBackoff(EventLoop& loop, evconnlistener* listener, const char* what)
    : loop_(loop), listener_(listener), what_(what) {}

AcceptBackoff::~AcceptBackoff() {
  if (timer_) {
    loop_.cancel(*timer_);
  }
}

void AcceptBackoff::failed() {
  const int error = errno;
  if (error == EAGAIN || error == EWOULDBLOCK || error == EINTR || error == ECONNABORTED) {
    return;  // nothing to wait for
  }
  if (!in_episode_) {
    spdlog::warn("{}: accept failed: {}; pausing accepts (up to {} ms at a time) until it passes",
                 what_, std::strerror(error), kLongestPause.count());
    in_episode_ = true;
  }
  evconnlistener_disable(listener_);
  if (timer_) {
    return;
  }
  timer_ = loop_.runAfter(pause_, [this] {
    timer_.reset();
    evconnlistener_enable(listener_);
  });
  pause_ = std::min(pause_ * 2, kLongestPause);
}

void AcceptBackoff::succeeded() {
  if (in_episode_) {
    spdlog::info("{}: accepting again", what_);
    in_episode_ = false;
  }
  pause_ = kFirstPause;
}

}  // namespace turnpike::net
