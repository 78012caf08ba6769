#include "benchmarks/loadgen/kernel_echo.h"

#include <net/if.h>

#include <cstring>

#ifdef TURNPIKE_KERNEL_ECHO
#include <bpf/libbpf.h>
#include <echo_peer.skel.h>

#include "relay/fastpath/tc_ingress.h"
#endif

namespace turnpike::loadgen {

#ifdef TURNPIKE_KERNEL_ECHO

namespace {
// Our own filter slot at the interface's ingress (the relay uses another).
constexpr fastpath::TcSlot kSlot{0x7e0, 7};

int silent(libbpf_print_level /*level*/, const char* /*format*/, va_list /*args*/) { return 0; }
}  // namespace

struct KernelEcho::Program {
  echo_peer_bpf* skeleton = nullptr;
  std::unique_ptr<fastpath::TcIngressFilter> filter;

  ~Program() {
    filter.reset();  // the filter goes before the program it runs
    echo_peer_bpf::destroy(skeleton);
  }
};

std::unique_ptr<KernelEcho> KernelEcho::attach(const std::string& interface, in_addr sink_ip,
                                               std::uint16_t sink_port, std::string& error) {
  libbpf_set_print(&silent);
  const unsigned ifindex = ::if_nametoindex(interface.c_str());
  if (ifindex == 0) {
    error = "no interface " + interface;
    return nullptr;
  }
  auto program = std::make_unique<Program>();
  program->skeleton = echo_peer_bpf::open();
  if (program->skeleton == nullptr) {
    error = "cannot open the echo program";
    return nullptr;
  }
  program->skeleton->rodata->sink_ip = sink_ip.s_addr;
  program->skeleton->rodata->sink_port = htons(sink_port);
  if (const int loaded = echo_peer_bpf::load(program->skeleton); loaded != 0) {
    error = std::string("cannot load the echo program: ") + std::strerror(-loaded);
    return nullptr;
  }
  program->filter = fastpath::TcIngressFilter::attach(
      ifindex, kSlot, bpf_program__fd(program->skeleton->progs.echo_peer), error);
  if (!program->filter) {
    return nullptr;
  }
  return std::unique_ptr<KernelEcho>(new KernelEcho(std::move(program)));
}

std::uint64_t KernelEcho::echoed() const {
  return __atomic_load_n(&program_->skeleton->bss->echoed, __ATOMIC_RELAXED);
}

#else

struct KernelEcho::Program {};

std::unique_ptr<KernelEcho> KernelEcho::attach(const std::string& /*interface*/,
                                               in_addr /*sink_ip*/, std::uint16_t /*sink_port*/,
                                               std::string& error) {
  error = "this loadgen was built without libbpf (clang, bpftool, libbpf-dev)";
  return nullptr;
}

std::uint64_t KernelEcho::echoed() const { return 0; }

#endif

KernelEcho::KernelEcho(std::unique_ptr<Program> program) : program_(std::move(program)) {}
KernelEcho::~KernelEcho() = default;

}  // namespace turnpike::loadgen
