// A line-driven front end to turnpike::fastpath::FastPath, so a script can
// drive the kernel path from inside a network namespace:
//
//   fast_path_tool IFNAME...      attach at TC ingress of each interface
//
// then one command per stdin line, one JSON line back on stdout for each:
//   install client=ADDR server=ADDR relayed=ADDR peer=ADDR (IP:PORT or [IPv6]:PORT)
//           channel=N client_if=NAME peer_if=NAME
//           [expires_in_ms=N]                           -> {"id":N}
//   remove ID                                           -> {"removed":ID}
//   counters ID                                         -> {"to_peer_packets":..,...}
//   verdicts                                            -> {"relayed_to_peer":..,...}
//   quit (or end of input)                              -> detach, exit 0
// A bad command answers {"error":"..."}; an attach failure prints one and
// exits 3 (the test tells a missing privilege or kernel feature from that).

#include <arpa/inet.h>
#include <net/if.h>

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "relay/fastpath/fast_path.h"

namespace {

using turnpike::fastpath::ChannelFlow;
using turnpike::fastpath::Endpoint;
using turnpike::fastpath::FastPath;
using Json = nlohmann::json;

// The script reads line by line, so every answer must leave at once.
void answer(const Json& j) { std::cout << j.dump() << std::endl; }

Json error(const std::string& message) { return Json{{"error", message}}; }

// "10.77.1.2:30000" or "[fd77:1::2]:30000" -> the maps' address and port.
std::optional<Endpoint> parse_endpoint(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  std::string host = text.substr(0, colon);
  const bool v6 = host.size() > 2 && host.front() == '[' && host.back() == ']';
  if (v6) host = host.substr(1, host.size() - 2);
  unsigned long port = 0;
  try {
    std::size_t used = 0;
    port = std::stoul(text.substr(colon + 1), &used, 10);
    if (used != text.size() - colon - 1) return std::nullopt;
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (port == 0 || port > 65535) return std::nullopt;
  const auto network_port = htons(static_cast<std::uint16_t>(port));
  if (v6) {
    in6_addr addr{};
    if (inet_pton(AF_INET6, host.c_str(), &addr) != 1) return std::nullopt;
    return Endpoint::v6(addr.s6_addr, network_port);
  }
  in_addr addr{};
  if (inet_pton(AF_INET, host.c_str(), &addr) != 1) return std::nullopt;
  return Endpoint::v4(addr.s_addr, network_port);
}

// A number in decimal or 0x-hex, the whole word, at most `max`.
std::optional<std::uint32_t> parse_number(const std::string& text, std::uint32_t max) {
  try {
    std::size_t used = 0;
    const unsigned long value = std::stoul(text, &used, 0);
    if (used != text.size() || value > max) return std::nullopt;
    return static_cast<std::uint32_t>(value);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

Json install(FastPath& fast_path, std::istringstream& words) {
  std::map<std::string, std::string> fields;
  for (std::string word; words >> word;) {
    const auto eq = word.find('=');
    if (eq == std::string::npos) return error("expected key=value, got " + word);
    fields[word.substr(0, eq)] = word.substr(eq + 1);
  }
  ChannelFlow flow;
  const std::pair<const char*, Endpoint*> endpoints[] = {{"client", &flow.client},
                                                         {"server", &flow.server},
                                                         {"relayed", &flow.relayed},
                                                         {"peer", &flow.peer}};
  for (const auto& [key, out] : endpoints) {
    const auto parsed = parse_endpoint(fields[key]);
    if (!parsed) return error(std::string("bad or missing ") + key + "=IP:PORT or [IPv6]:PORT");
    *out = *parsed;
  }
  const auto channel = parse_number(fields["channel"], 0xFFFF);
  if (!channel) return error("bad or missing channel=N");
  flow.channel = static_cast<std::uint16_t>(*channel);
  flow.client_ifindex = if_nametoindex(fields["client_if"].c_str());
  flow.peer_ifindex = if_nametoindex(fields["peer_if"].c_str());
  if (flow.client_ifindex == 0 || flow.peer_ifindex == 0) {
    return error("unknown client_if or peer_if");
  }
  if (!fields["expires_in_ms"].empty()) {  // else never
    const auto ms = parse_number(fields["expires_in_ms"], UINT32_MAX);
    if (!ms) return error("bad expires_in_ms=N");
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    flow.expires_ns = static_cast<std::uint64_t>(now.tv_sec) * 1'000'000'000ULL +
                      static_cast<std::uint64_t>(now.tv_nsec) + std::uint64_t{*ms} * 1'000'000ULL;
  }
  const auto id = fast_path.install(flow);
  if (!id) return error("install refused (table full or map update failed)");
  return Json{{"id", *id}};
}

Json verdicts(const FastPath& fast_path) {
  const auto counts = fast_path.verdicts();
  Json out = Json::object();
  for (std::size_t i = 0; i < TP_VERDICTS; ++i) {
    out[std::string(turnpike::fastpath::verdictName(i))] = i < counts.size() ? counts[i] : 0;
  }
  return out;
}

// One command line -> its answer; false when the tool should stop.
bool run(FastPath& fast_path, const std::string& line) {
  std::istringstream words(line);
  std::string command;
  if (!(words >> command)) return true;  // blank line: nothing to answer
  if (command == "quit") return false;
  if (command == "install") {
    answer(install(fast_path, words));
  } else if (command == "remove" || command == "counters") {
    std::string word;
    words >> word;
    const auto id = parse_number(word, UINT32_MAX);
    if (!id) {
      answer(error(command + " needs an id"));
    } else if (command == "remove") {
      fast_path.remove(*id);
      answer(Json{{"removed", *id}});
    } else {
      const auto c = fast_path.counters(*id);
      answer(Json{{"to_peer_packets", c.to_peer_packets},
                  {"to_peer_bytes", c.to_peer_bytes},
                  {"to_client_packets", c.to_client_packets},
                  {"to_client_bytes", c.to_client_bytes}});
    }
  } else if (command == "verdicts") {
    answer(verdicts(fast_path));
  } else {
    answer(error("unknown command " + command));
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: fast_path_tool IFNAME... (then commands on stdin)\n";
    return 2;
  }
  std::vector<std::uint32_t> ifindexes;
  for (int i = 1; i < argc; ++i) {
    const std::uint32_t index = if_nametoindex(argv[i]);
    if (index == 0) {
      answer(error(std::string("no interface ") + argv[i]));
      return 3;
    }
    ifindexes.push_back(index);
  }
  std::string attach_error;
  auto fast_path = FastPath::attach(ifindexes, attach_error);
  if (!fast_path) {
    answer(error(attach_error.empty() ? "attach failed" : attach_error));
    return 3;
  }
  // Tells the script the hooks are in place before it sends any traffic.
  answer(Json{{"attached", ifindexes.size()}});
  for (std::string line; std::getline(std::cin, line);) {
    if (!run(*fast_path, line)) break;
  }
  fast_path.reset();  // detaches before we exit
  return 0;
}
