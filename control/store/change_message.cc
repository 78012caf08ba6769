#include "control/store/change_message.h"
#include "control/calls/json_integer.h"

#include <map>

namespace turnpike::control {
namespace {

std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json keyJson(const DeviceKey& k) {
  return nlohmann::json::array({k.user_id, k.device_id});
}

DeviceKey keyOf(const nlohmann::json& j) {
  return {j.at(0).get<std::string>(), j.at(1).get<std::string>()};
}

}  // namespace

std::string changeMessageOf(const CallStore::Batch& batch, const std::string& node) {
  std::map<std::string, nlohmann::json> events;
  for (const auto& [id, event] : batch.events) {
    events[id].push_back(event->toStored());
  }
  nlohmann::json calls = nlohmann::json::array();
  for (std::size_t i = 0; i < batch.calls.size(); ++i) {
    const Call& c = *batch.calls[i];
    const std::uint64_t expected = i < batch.versions.size() ? batch.versions[i] : 0;
    auto it = events.find(c.call_id);
    calls.push_back({{"call", c.toStored()},
                     {"version", expected + 1},
                     {"events", it != events.end() ? it->second : nlohmann::json::array()}});
  }
  nlohmann::json devices = nlohmann::json::array();
  for (const Device* d : batch.devices) {
    devices.push_back(d->toStored());
  }
  nlohmann::json removed = nlohmann::json::array();
  for (const auto& k : batch.removed_devices) {
    removed.push_back(keyJson(k));
  }
  nlohmann::json revoked = nlohmann::json::array();
  for (const auto& r : batch.revocations) {
    revoked.push_back({r.call_id, r.until.count()});
  }
  return dump({{"node", node},
               {"calls", std::move(calls)},
               {"devices", std::move(devices)},
               {"removed", std::move(removed)},
               {"revoked", std::move(revoked)}});
}

std::string presenceMessage(const std::string& node, const ChangeMessage::PresenceChange& change) {
  return dump({{"node", node},
               {"presence",
                {{{"device", keyJson(change.device)},
                  {"online", change.online},
                  {"foreground", change.foreground}}}}});
}

std::optional<ChangeMessage> parseChangeMessage(std::string_view text) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) {
    return std::nullopt;
  }
  const auto list = [&j](const char* name) {
    const auto it = j.find(name);
    return it != j.end() && it->is_array() ? *it : nlohmann::json::array();
  };
  try {
    ChangeMessage m;
    m.node = j.at("node").get<std::string>();
    for (const auto& c : list("calls")) {
      auto call = Call::fromStored(c.at("call"));
      if (!call) {
        return std::nullopt;
      }
      ChangeMessage::CallChange change{
          std::move(*call), jsonInteger<std::uint64_t>(c.at("version")), {}};
      for (const auto& e : c.at("events")) {
        auto event = CallEvent::fromStored(e);
        if (!event) {
          return std::nullopt;
        }
        change.events.push_back(std::move(*event));
      }
      m.calls.push_back(std::move(change));
    }
    for (const auto& d : list("devices")) {
      auto device = Device::fromStored(d);
      if (!device) {
        return std::nullopt;
      }
      m.devices.push_back(std::move(*device));
    }
    for (const auto& k : list("removed")) {
      m.removed_devices.push_back(keyOf(k));
    }
    for (const auto& r : list("revoked")) {
      m.revocations.push_back(
          {r.at(0).get<std::string>(), std::chrono::seconds{jsonInteger<std::int64_t>(r.at(1))}});
    }
    for (const auto& p : list("presence")) {
      m.presence.push_back(
          {keyOf(p.at("device")), p.at("online").get<bool>(), p.at("foreground").get<bool>()});
    }
    return m;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

}  // namespace turnpike::control
