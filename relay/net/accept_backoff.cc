#include "relay/net/accept_backoff.h"

#include <event2/listener.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

namespace turnpike::net {
namespace {

long descriptorLimit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) {
    return std::numeric_limits<long>::max();
  }
  return static_cast<long>(std::min<rlim_t>(limit.rlim_cur, std::numeric_limits<long>::max()));
}

}  // namespace

AcceptBackoff::AcceptBackoff(EventLoop& loop, evconnlistener* listener, const char* what)
    : loop_(loop), listener_(listener), what_(what), limit_(descriptorLimit()) {}

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
    startEpisode(fmt::format("accept failed: {}", std::strerror(error)));
  }
  pause();
}

bool AcceptBackoff::admit(int fd) {
  if (fd >= limit_ - kReserve) {
    limit_ = descriptorLimit();  // someone may have raised it since
  }
  if (fd < limit_ - kReserve) {
    if (in_episode_) {
      spdlog::info("{}: accepting again", what_);
      in_episode_ = false;
    }
    pause_ = kFirstPause;
    return true;
  }
  ::close(fd);
  if (!in_episode_) {
    startEpisode(
        fmt::format("descriptor {} is among the last {} below the limit of {}, kept for the "
                    "server's own use; closed that connection",
                    fd, kReserve, limit_));
  }
  pause();
  return false;
}

void AcceptBackoff::startEpisode(const std::string& why) {
  spdlog::warn("{}: {}; pausing accepts (up to {} ms at a time) until it passes", what_, why,
               kLongestPause.count());
  in_episode_ = true;
}

void AcceptBackoff::pause() {
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

}  // namespace turnpike::net
