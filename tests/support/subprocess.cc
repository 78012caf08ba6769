#include "tests/support/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

namespace turnpike::testing {

Subprocess::Subprocess(std::vector<std::string> argv) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    std::abort();
  }
  pid_ = fork();
  if (pid_ == 0) {
    dup2(fds[1], STDOUT_FILENO);
    dup2(fds[1], STDERR_FILENO);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(fds[1]);
  out_fd_ = fds[0];
  reader_ = std::thread([this] {
    char buf[4096];
    while (true) {
      const ssize_t n = read(out_fd_, buf, sizeof buf);
      if (n <= 0) break;
      const std::lock_guard lock(mutex_);
      output_.append(buf, static_cast<std::size_t>(n));
    }
  });
}

Subprocess::~Subprocess() {
  if (!reaped_) {
    stop(SIGKILL, std::chrono::seconds{5});
  }
  if (reader_.joinable()) reader_.join();
  close(out_fd_);
}

bool Subprocess::waitForOutput(const std::string& needle, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (output().find(needle) != std::string::npos) return true;
    if (!running()) return output().find(needle) != std::string::npos;
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  return false;
}

std::string Subprocess::output() const {
  const std::lock_guard lock(mutex_);
  return output_;
}

bool Subprocess::running() {
  if (reaped_) return false;
  if (waitpid(pid_, &status_, WNOHANG) == pid_) {
    reaped_ = true;
    return false;
  }
  return true;
}

int Subprocess::stop(int signal, std::chrono::milliseconds timeout) {
  if (running()) {
    kill(pid_, signal);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (running() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds{10});
    }
    if (!reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status_, 0);
      reaped_ = true;
      if (reader_.joinable()) reader_.join();
      return -1;
    }
  }
  if (reader_.joinable()) reader_.join();
  return WIFEXITED(status_) ? WEXITSTATUS(status_) : -1;
}

CommandResult runCommand(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  Subprocess p(argv);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (p.running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  CommandResult r;
  r.exit_code = p.stop(SIGKILL);
  r.output = p.output();
  return r;
}

}  // namespace turnpike::testing
