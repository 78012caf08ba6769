#include "control/devices/device_registry.h"

#include <algorithm>

namespace turnpike::control {
namespace {

std::string tokenKey(const PushToken& t) {
  return std::string(pushKindName(t.kind)) + ":" + t.token;
}

}  // namespace

DeviceRegistry::Registered DeviceRegistry::registerDevice(Device incoming, UnixMillis now) {
  Registered out;
  auto it = devices_.find(incoming.key);
  if (it == devices_.end()) {
    if (per_user_[incoming.key.user_id] >= kMaxDevicesPerUser) {
      out.error = RegisterError::TooManyDevices;
      return out;
    }
    if (devices_.size() >= max_devices_) {
      out.error = RegisterError::TooManyDevicesInTotal;
      return out;
    }
    incoming.registered_at = now;
  } else {
    incoming.registered_at = it->second.registered_at;
    unindexTokens(it->second);
  }
  incoming.last_seen_at = now;
  incoming.tokens_at = now;
  // One token, one device: a token registered here leaves its old owner.
  for (const auto& token : incoming.push_tokens) {
    const auto owner = token_owner_.find(tokenKey(token));
    if (owner == token_owner_.end() || owner->second == incoming.key) {
      continue;
    }
    auto previous = devices_.find(owner->second);
    token_owner_.erase(owner);
    if (previous != devices_.end()) {
      auto& tokens = previous->second.push_tokens;
      std::erase_if(tokens, [&](const PushToken& t) { return tokenKey(t) == tokenKey(token); });
      out.others_changed.push_back(&previous->second);
    }
  }
  const DeviceKey key = incoming.key;
  if (it == devices_.end()) {
    ++per_user_[key.user_id];
  }
  auto& stored = devices_[key];
  stored = std::move(incoming);
  indexTokens(stored);
  out.device = &stored;
  return out;
}

const Device* DeviceRegistry::heartbeat(const DeviceKey& key, UnixMillis now) {
  auto it = devices_.find(key);
  if (it == devices_.end()) {
    return nullptr;
  }
  it->second.last_seen_at = now;
  return &it->second;
}

bool DeviceRegistry::remove(const DeviceKey& key) {
  auto it = devices_.find(key);
  if (it == devices_.end()) {
    return false;
  }
  unindexTokens(it->second);
  if (--per_user_[key.user_id] == 0) {
    per_user_.erase(key.user_id);
  }
  devices_.erase(it);
  return true;
}

const Device* DeviceRegistry::removeToken(const DeviceKey& key, PushKind kind,
                                          const std::string& token,
                                          std::optional<UnixMillis> unless_after) {
  auto it = devices_.find(key);
  if (it == devices_.end() || (unless_after && it->second.tokens_at > *unless_after)) {
    return nullptr;
  }
  auto& tokens = it->second.push_tokens;
  const auto before = tokens.size();
  PushToken dead;
  dead.kind = kind;
  dead.token = token;
  std::erase_if(tokens, [&](const PushToken& t) { return t.kind == kind && t.token == token; });
  if (tokens.size() == before) {
    return nullptr;
  }
  token_owner_.erase(tokenKey(dead));
  return &it->second;
}

void DeviceRegistry::restore(Device device) {
  const DeviceKey key = device.key;
  if (devices_.count(key) == 0) {
    ++per_user_[key.user_id];
  }
  auto& stored = devices_[key];
  stored = std::move(device);
  indexTokens(stored);
}

void DeviceRegistry::replace(Device device) {
  auto it = devices_.find(device.key);
  if (it != devices_.end()) {
    unindexTokens(it->second);
  }
  restore(std::move(device));
}

void DeviceRegistry::clear() {
  devices_.clear();
  per_user_.clear();
  token_owner_.clear();
}

const Device* DeviceRegistry::find(const DeviceKey& key) const {
  auto it = devices_.find(key);
  return it == devices_.end() ? nullptr : &it->second;
}

std::vector<const Device*> DeviceRegistry::devicesOf(const std::string& user_id) const {
  std::vector<const Device*> out;
  for (auto it = devices_.lower_bound(DeviceKey{user_id, ""});
       it != devices_.end() && it->first.user_id == user_id; ++it) {
    out.push_back(&it->second);
  }
  std::stable_sort(out.begin(), out.end(), [](const Device* a, const Device* b) {
    return a->last_seen_at > b->last_seen_at;
  });
  return out;
}

void DeviceRegistry::indexTokens(const Device& device) {
  for (const auto& t : device.push_tokens) {
    token_owner_[tokenKey(t)] = device.key;
  }
}

void DeviceRegistry::unindexTokens(const Device& device) {
  for (const auto& t : device.push_tokens) {
    auto owner = token_owner_.find(tokenKey(t));
    if (owner != token_owner_.end() && owner->second == device.key) {
      token_owner_.erase(owner);
    }
  }
}

}  // namespace turnpike::control
