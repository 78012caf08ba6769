#include "relay/fastpath/tc_ingress.h"

#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>

namespace turnpike::fastpath {
namespace {

bpf_tc_hook ingressOf(std::uint32_t ifindex) {
  bpf_tc_hook hook{};
  hook.sz = sizeof(hook);
  hook.ifindex = static_cast<int>(ifindex);
  hook.attach_point = BPF_TC_INGRESS;
  return hook;
}

bpf_tc_opts optionsFor(TcSlot slot) {
  bpf_tc_opts options{};
  options.sz = sizeof(options);
  options.handle = slot.handle;
  options.priority = slot.priority;
  return options;
}

std::string failure(const char* what, std::uint32_t ifindex, int error) {
  return std::string(what) + " interface " + std::to_string(ifindex) + ": " +
         std::strerror(error < 0 ? -error : error);
}

}  // namespace

std::unique_ptr<TcIngressFilter> TcIngressFilter::attach(std::uint32_t ifindex, TcSlot slot,
                                                         int program_fd, std::string& error) {
  bpf_tc_hook hook = ingressOf(ifindex);
  const int created = bpf_tc_hook_create(&hook);
  if (created != 0 && created != -EEXIST) {
    error = failure("cannot add a clsact qdisc to", ifindex, created);
    return nullptr;
  }
  bpf_tc_opts options = optionsFor(slot);
  options.prog_fd = program_fd;
  options.flags = BPF_TC_F_REPLACE;
  if (const int attached = bpf_tc_attach(&hook, &options); attached != 0) {
    error = failure("cannot attach to", ifindex, attached);
    if (created == 0) {
      removeQdisc(ifindex);
    }
    return nullptr;
  }
  return std::unique_ptr<TcIngressFilter>(new TcIngressFilter(ifindex, slot, created == 0));
}

bool TcIngressFilter::detachAt(std::uint32_t ifindex, TcSlot slot) {
  bpf_tc_hook hook = ingressOf(ifindex);
  bpf_tc_opts options = optionsFor(slot);
  if (bpf_tc_query(&hook, &options) != 0) {
    return false;
  }
  // bpf_tc_detach wants the slot alone: what the query filled in goes.
  options.prog_fd = 0;
  options.prog_id = 0;
  options.flags = 0;
  return bpf_tc_detach(&hook, &options) == 0;
}

TcIngressFilter::~TcIngressFilter() {
  bpf_tc_hook hook = ingressOf(ifindex_);
  bpf_tc_opts options = optionsFor(slot_);
  bpf_tc_detach(&hook, &options);
  if (created_qdisc_) {
    removeQdisc(ifindex_);
  }
}

void TcIngressFilter::removeQdisc(std::uint32_t ifindex) {
  bpf_tc_hook hook = ingressOf(ifindex);
  // Both attach points: libbpf removes the clsact qdisc itself only so.
  hook.attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS);
  bpf_tc_hook_destroy(&hook);
}

}  // namespace turnpike::fastpath
