#include "relay/fastpath/fast_path.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <net/if.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "relay/fastpath/mapped_address.h"

// Generated at build time by bpftool from channel_data.bpf.o (build/generated/bpf).
#include <channel_data.skel.h>

namespace turnpike::fastpath {
namespace {

// Our filter's place in each interface's clsact ingress: fixed, so a
// process that died without detaching leaves a filter the next one replaces.
constexpr TcSlot kFilterSlot{0x7470, 0x7470};  // "tp"

std::string errorText(const std::string& what, int error) {
  return what + ": " + std::strerror(error < 0 ? -error : error);
}

std::size_t cpuCount() {
  const int n = libbpf_num_possible_cpus();
  return n > 0 ? static_cast<std::size_t>(n) : 1;
}

// libbpf's own lines ("Kernel error message: ...") go to the debug log: by
// default they would land raw on stderr, between JSON log lines, and every
// failure that matters is reported by our own message.
int libbpfLine(libbpf_print_level /*level*/, const char* format, va_list arguments) {
  std::array<char, 512> line{};
  const int n = std::vsnprintf(line.data(), line.size(), format, arguments);
  if (n > 0) {
    std::string_view text(line.data(), std::min<std::size_t>(n, line.size() - 1));
    while (!text.empty() && text.back() == '\n') {
      text.remove_suffix(1);
    }
    spdlog::debug("libbpf: {}", text);
  }
  return n;
}

}  // namespace

Endpoint Endpoint::v4(std::uint32_t address, std::uint16_t port) {
  return Endpoint{.ip = v4Mapped(address), .port = port};
}

Endpoint Endpoint::v6(const std::uint8_t* address, std::uint16_t port) {
  Endpoint e;
  std::memcpy(e.ip.data(), address, sizeof e.ip);
  e.port = port;
  return e;
}

bool Endpoint::isV4() const { return isV4Mapped(ip); }

bool Endpoint::isWildcard() const { return isV4() ? ip[3] == 0 : ip == Address{}; }

std::string_view verdictName(std::size_t verdict) {
  static constexpr std::string_view kNames[TP_VERDICTS] = {
      "relayed_to_peer",  "relayed_to_client", "not_ip_udp", "no_flow",
      "checksum_partial", "resize_failed",     "expired"};
  return verdict < TP_VERDICTS ? kNames[verdict] : "unknown";
}

std::unique_ptr<FastPath> FastPath::load(std::string& error) {
  libbpf_set_print(&libbpfLine);
  std::unique_ptr<FastPath> path(new FastPath());
  path->skeleton_ = channel_data_bpf::open();
  if (path->skeleton_ == nullptr) {
    error = errorText("cannot open the BPF object", errno);
    return nullptr;
  }
  if (const int loaded = channel_data_bpf::load(path->skeleton_); loaded != 0) {
    error = errorText(
        "the kernel refused the BPF program (needs CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN, kernel "
        "6.3+)",
        loaded);
    return nullptr;
  }
  return path;
}

std::unique_ptr<FastPath> FastPath::attach(const std::vector<std::uint32_t>& ifindexes,
                                           std::string& error) {
  auto path = load(error);
  for (const std::uint32_t ifindex : ifindexes) {
    if (path && !path->attachTo(ifindex, error)) {
      return nullptr;  // the destructor detaches what was attached
    }
  }
  return path;
}

std::size_t FastPath::detachLeftovers() {
  libbpf_set_print(&libbpfLine);
  std::size_t removed = 0;
  struct if_nameindex* interfaces = ::if_nameindex();
  if (interfaces == nullptr) {
    return 0;
  }
  for (const struct if_nameindex* i = interfaces; i->if_index != 0; ++i) {
    removed += TcIngressFilter::detachAt(i->if_index, kFilterSlot) ? 1 : 0;
  }
  if_freenameindex(interfaces);
  return removed;
}

bool FastPath::attachedTo(std::uint32_t ifindex) const {
  return std::any_of(filters_.begin(), filters_.end(),
                     [&](const auto& f) { return f->ifindex() == ifindex; });
}

bool FastPath::attachTo(std::uint32_t ifindex, std::string& error) {
  if (attachedTo(ifindex)) {
    return true;
  }
  auto filter = TcIngressFilter::attach(ifindex, kFilterSlot,
                                        bpf_program__fd(skeleton_->progs.tp_ingress), error);
  if (!filter) {
    return false;
  }
  filters_.push_back(std::move(filter));
  return true;
}

FastPath::~FastPath() {
  filters_.clear();  // the filters go before the program they run
  channel_data_bpf::destroy(skeleton_);
}

namespace {

tp_rewrite rewriteTo(const Endpoint& source, const Endpoint& destination, std::uint16_t channel,
                     std::uint32_t ifindex, std::uint32_t slot, std::uint64_t expires_ns) {
  tp_rewrite to{};
  std::memcpy(to.source_ip, source.ip.data(), sizeof to.source_ip);
  std::memcpy(to.destination_ip, destination.ip.data(), sizeof to.destination_ip);
  to.source_port = source.port;
  to.destination_port = destination.port;
  to.channel = channel;
  to.out_ifindex = ifindex;
  to.slot = slot;
  to.expires_ns = expires_ns;
  return to;
}

}  // namespace

FastPath::MapKeys FastPath::mapKeys(const Installed& entry) const {
  if (entry.v6) {
    return {bpf_map__fd(skeleton_->maps.from_clients6), &entry.client6,
            bpf_map__fd(skeleton_->maps.from_peers6), &entry.peer6};
  }
  return {bpf_map__fd(skeleton_->maps.from_clients), &entry.client,
          bpf_map__fd(skeleton_->maps.from_peers), &entry.peer};
}

std::optional<std::uint32_t> FastPath::install(const ChannelFlow& flow) {
  const bool full = free_.empty() && slots_.size() >= TP_MAX_FLOWS;
  const bool v4 = flow.client.isV4();
  // The program rewrites addresses in place: it cannot turn an IPv4
  // datagram into an IPv6 one (RFC 6156 relaying stays in user space).
  const bool one_family =
      flow.server.isV4() == v4 && flow.relayed.isV4() == v4 && flow.peer.isV4() == v4;
  if (full || !one_family || flow.channel < 0x4000 || flow.channel > 0x7fff) {
    return std::nullopt;
  }
  // Slots grow with use (a full table would be megabytes few servers need).
  const auto slot = free_.empty() ? static_cast<std::uint32_t>(slots_.size()) : free_.back();
  Installed entry;
  entry.v6 = !v4;
  if (v4) {
    entry.client = tp_client_key{.client_ip = flow.client.v4Address(),
                                 .server_ip = flow.server.v4Address(),
                                 .client_port = flow.client.port,
                                 .server_port = flow.server.port,
                                 .channel = flow.channel,
                                 .zero = 0};
    entry.peer = tp_peer_key{.relayed_ip = flow.relayed.v4Address(),
                             .peer_ip = flow.peer.v4Address(),
                             .relayed_port = flow.relayed.port,
                             .peer_port = flow.peer.port};
  } else {
    std::memcpy(entry.client6.client_ip, flow.client.ip.data(), sizeof entry.client6.client_ip);
    std::memcpy(entry.client6.server_ip, flow.server.ip.data(), sizeof entry.client6.server_ip);
    entry.client6.client_port = flow.client.port;
    entry.client6.server_port = flow.server.port;
    entry.client6.channel = flow.channel;
    std::memcpy(entry.peer6.relayed_ip, flow.relayed.ip.data(), sizeof entry.peer6.relayed_ip);
    std::memcpy(entry.peer6.peer_ip, flow.peer.ip.data(), sizeof entry.peer6.peer_ip);
    entry.peer6.relayed_port = flow.relayed.port;
    entry.peer6.peer_port = flow.peer.port;
  }
  const tp_rewrite to_peer =
      rewriteTo(flow.relayed, flow.peer, 0, flow.peer_ifindex, slot, flow.expires_ns);
  const tp_rewrite to_client =
      rewriteTo(flow.server, flow.client, flow.channel, flow.client_ifindex, slot, flow.expires_ns);
  // Counters start from zero before the first packet can count.
  const std::vector<tp_flow_counters> zero(cpuCount());
  const int counters = bpf_map__fd(skeleton_->maps.counters);
  const MapKeys maps = mapKeys(entry);
  if (bpf_map_update_elem(counters, &slot, zero.data(), BPF_ANY) != 0 ||
      bpf_map_update_elem(maps.clients, maps.client, &to_peer, BPF_NOEXIST) != 0) {
    return std::nullopt;
  }
  if (bpf_map_update_elem(maps.peers, maps.peer, &to_client, BPF_NOEXIST) != 0) {
    bpf_map_delete_elem(maps.clients, maps.client);
    return std::nullopt;
  }
  entry.used = true;
  entry.to_peer = to_peer;
  entry.to_client = to_client;
  if (free_.empty()) {
    slots_.push_back(entry);
  } else {
    slots_[slot] = entry;
    free_.pop_back();
  }
  return slot;
}

void FastPath::remove(std::uint32_t id) {
  if (id >= slots_.size() || !slots_[id].used) {
    return;
  }
  const MapKeys maps = mapKeys(slots_[id]);
  bpf_map_delete_elem(maps.clients, maps.client);
  bpf_map_delete_elem(maps.peers, maps.peer);
  slots_[id].used = false;
  free_.push_back(id);
}

bool FastPath::extend(std::uint32_t id, std::uint64_t expires_ns) {
  if (id >= slots_.size() || !slots_[id].used) {
    return false;
  }
  Installed& entry = slots_[id];
  if (entry.to_peer.expires_ns == expires_ns) {
    return true;
  }
  entry.to_peer.expires_ns = expires_ns;
  entry.to_client.expires_ns = expires_ns;
  const MapKeys maps = mapKeys(entry);
  return bpf_map_update_elem(maps.clients, maps.client, &entry.to_peer, BPF_EXIST) == 0 &&
         bpf_map_update_elem(maps.peers, maps.peer, &entry.to_client, BPF_EXIST) == 0;
}

FlowCounters FastPath::counters(std::uint32_t id) const {
  FlowCounters sum;
  std::vector<tp_flow_counters> per_cpu(cpuCount());
  if (id >= slots_.size() ||
      bpf_map_lookup_elem(bpf_map__fd(skeleton_->maps.counters), &id, per_cpu.data()) != 0) {
    return sum;
  }
  for (const auto& c : per_cpu) {
    sum.to_peer_packets += c.to_peer_packets;
    sum.to_peer_bytes += c.to_peer_bytes;
    sum.to_client_packets += c.to_client_packets;
    sum.to_client_bytes += c.to_client_bytes;
  }
  return sum;
}

std::vector<std::uint64_t> FastPath::verdicts() const {
  std::vector<std::uint64_t> sums(TP_VERDICTS, 0);
  std::vector<std::uint64_t> per_cpu(cpuCount());
  for (std::uint32_t v = 0; v < TP_VERDICTS; ++v) {
    if (bpf_map_lookup_elem(bpf_map__fd(skeleton_->maps.verdicts), &v, per_cpu.data()) == 0) {
      for (const auto n : per_cpu) {
        sums[v] += n;
      }
    }
  }
  return sums;
}

std::size_t FastPath::flows() const { return slots_.size() - free_.size(); }

}  // namespace turnpike::fastpath
