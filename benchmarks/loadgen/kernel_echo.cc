#include "benchmarks/loadgen/kernel_echo.h"

#include <net/if.h>

#include <cstring>

#ifdef TURNPIKE_KERNEL_ECHO
#include <bpf/libbpf.h>
#include <echo_peer.skel.h>
#endif

namespace turnpike::loadgen {

#ifdef TURNPIKE_KERNEL_ECHO

namespace {
// Our own filter slot at the interface's ingress (the relay uses another).
constexpr std::uint32_t kHandle = 0x7e0;
constexpr std::uint32_t kPriority = 7;

int silent(libbpf_print_level /*level*/, const char* /*format*/, va_list /*args*/) { return 0; }
}  // namespace

struct KernelEcho::Program {
  echo_peer_bpf* skeleton = nullptr;
  bpf_tc_hook hook{};
  bool created_qdisc = false;
  bool attached = false;

  ~Program() {
    if (attached) {
      bpf_tc_opts options{};
      options.sz = sizeof(options);
      options.handle = kHandle;
      options.priority = kPriority;
      bpf_tc_detach(&hook, &options);
    }
    if (created_qdisc) {
      hook.attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS);
      bpf_tc_hook_destroy(&hook);
    }
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
  program->hook.sz = sizeof(program->hook);
  program->hook.ifindex = static_cast<int>(ifindex);
  program->hook.attach_point = BPF_TC_INGRESS;
  const int created = bpf_tc_hook_create(&program->hook);
  if (created != 0 && created != -EEXIST) {
    error = std::string("cannot add a clsact qdisc: ") + std::strerror(-created);
    return nullptr;
  }
  program->created_qdisc = created == 0;
  bpf_tc_opts options{};
  options.sz = sizeof(options);
  options.handle = kHandle;
  options.priority = kPriority;
  options.prog_fd = bpf_program__fd(program->skeleton->progs.echo_peer);
  options.flags = BPF_TC_F_REPLACE;
  if (const int attached = bpf_tc_attach(&program->hook, &options); attached != 0) {
    error = std::string("cannot attach the echo program: ") + std::strerror(-attached);
    return nullptr;
  }
  program->attached = true;
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
