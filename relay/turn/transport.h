#pragma once

#include <cstdint>
#include <string_view>

namespace turnpike::turn {

/// The transport a client reached us over.
enum class Transport : std::uint8_t { Udp, Tcp, Tls };

constexpr std::string_view transportName(Transport t) {
  switch (t) {
    case Transport::Udp: return "udp";
    case Transport::Tcp: return "tcp";
    case Transport::Tls: return "tls";
  }
  return "unknown";
}

}  // namespace turnpike::turn
