#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <memory>
#include <string>

namespace turnpike::loadgen {

/// The peer's echo done in the kernel (echo_peer.bpf.c at TC ingress of the
/// generator's interface) instead of by the sink socket: datagrams to the
/// sink go back as they came. Detaches when destroyed; a filter left by a
/// killed generator is replaced by the next one (same handle).
class KernelEcho {
 public:
  /// Loads and attaches; nullptr with `error` set when it cannot (no
  /// privileges, no such interface, or a build without libbpf).
  static std::unique_ptr<KernelEcho> attach(const std::string& interface, in_addr sink_ip,
                                            std::uint16_t sink_port, std::string& error);
  ~KernelEcho();
  KernelEcho(const KernelEcho&) = delete;
  KernelEcho& operator=(const KernelEcho&) = delete;

  /// Datagrams echoed so far.
  [[nodiscard]] std::uint64_t echoed() const;

 private:
  struct Program;
  explicit KernelEcho(std::unique_ptr<Program> program);
  std::unique_ptr<Program> program_;
};

}  // namespace turnpike::loadgen
