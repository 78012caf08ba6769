#pragma once

#include <string>
#include <vector>

#include "conf/config.h"

namespace turnpike::conf {

/// Which settings a running server can take from a reloaded file (SIGHUP,
/// POST /admin/reload): auth.*, relay.peers, relay.max_lifetime,
/// relay.rfc5766_channel_numbers, limits.*, tls.certificate / private_key,
/// drain.alternate_servers, control.admin_token, log.level and
/// server.software. Everything else (sockets,
/// workers, addresses, ports, realm, TLS protocol settings, node, usage,
/// store, metrics, control, log format) needs a restart.
///
/// Returns the keys that differ between `running` and `next` and need a
/// restart, e.g. {"listen.udp", "relay.workers"}; empty when `next` can be
/// applied as it is.
std::vector<std::string> restartOnlyChanges(const Config& running, const Config& next);

/// The reloadable keys that differ, for the log and the reload answer.
std::vector<std::string> reloadableChanges(const Config& running, const Config& next);

}  // namespace turnpike::conf
