#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace turnpike::fastpath {

/// Where a filter sits in an interface's clsact ingress. Fixed per program,
/// so a filter that a process which died left behind is found (and
/// replaced) by the next one.
struct TcSlot {
  std::uint32_t handle;
  std::uint32_t priority;
};

/// One BPF program attached as a filter at the TC ingress of an interface.
/// Destroying it removes the filter, and the clsact qdisc only when attach
/// made it: other programs may use a qdisc that was there before. A tc
/// filter outlives the process that added it, so nothing else removes it.
class TcIngressFilter {
 public:
  /// nullptr with `error` set when the kernel refuses the qdisc or the filter.
  static std::unique_ptr<TcIngressFilter> attach(std::uint32_t ifindex, TcSlot slot, int program_fd,
                                                 std::string& error);
  /// Removes whatever filter sits at `slot`; true when there was one.
  static bool detachAt(std::uint32_t ifindex, TcSlot slot);

  ~TcIngressFilter();
  TcIngressFilter(const TcIngressFilter&) = delete;
  TcIngressFilter& operator=(const TcIngressFilter&) = delete;

  [[nodiscard]] std::uint32_t ifindex() const { return ifindex_; }

 private:
  TcIngressFilter(std::uint32_t ifindex, TcSlot slot, bool created_qdisc)
      : ifindex_(ifindex), slot_(slot), created_qdisc_(created_qdisc) {}
  static void removeQdisc(std::uint32_t ifindex);

  std::uint32_t ifindex_;
  TcSlot slot_;
  bool created_qdisc_;
};

}  // namespace turnpike::fastpath
