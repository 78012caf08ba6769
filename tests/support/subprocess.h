#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace turnpike::testing {

/// A child process with its stderr (and stdout) captured by a reader thread.
/// The test owns the PID: stop() signals only this process.
class Subprocess {
 public:
  explicit Subprocess(std::vector<std::string> argv);
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  /// Waits (bounded) until the captured output contains `needle`.
  bool waitForOutput(const std::string& needle, std::chrono::milliseconds timeout);
  [[nodiscard]] std::string output() const;
  [[nodiscard]] bool running();
  /// Sends `signal` and waits (bounded) for the exit; returns the exit code,
  /// or -1 when the process died from a signal or did not exit in time.
  int stop(int signal, std::chrono::milliseconds timeout = std::chrono::seconds{10});
  [[nodiscard]] int pid() const { return pid_; }

 private:
  int pid_ = -1;
  int out_fd_ = -1;
  bool reaped_ = false;
  int status_ = 0;
  mutable std::mutex mutex_;
  std::string output_;
  std::thread reader_;
};

/// Runs a command to completion (bounded), returning exit code and output.
struct CommandResult {
  int exit_code = -1;
  std::string output;
};
CommandResult runCommand(const std::vector<std::string>& argv,
                         std::chrono::milliseconds timeout = std::chrono::seconds{20});

}  // namespace turnpike::testing
