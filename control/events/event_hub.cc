#include "control/events/event_hub.h"

namespace turnpike::control {

void EventHub::bind(http::WebSocket& socket, const DeviceKey& device, bool foreground) {
  auto existing = by_device_.find(device);
  if (existing != by_device_.end() && existing->second != &socket) {
    http::WebSocket* older = existing->second;
    by_socket_.erase(older->id());
    by_device_.erase(existing);
    older->close(4000, "replaced by a newer connection of this device");
  }
  auto bound = by_socket_.find(socket.id());
  if (bound != by_socket_.end() && !(bound->second.device == device)) {
    by_device_.erase(bound->second.device);
  }
  by_socket_[socket.id()] = Binding{device, foreground};
  by_device_[device] = &socket;
}

const DeviceKey* EventHub::deviceOf(const http::WebSocket& socket) const {
  auto it = by_socket_.find(socket.id());
  return it == by_socket_.end() ? nullptr : &it->second.device;
}

std::optional<DeviceKey> EventHub::closed(http::WebSocket& socket) {
  auto it = by_socket_.find(socket.id());
  if (it == by_socket_.end()) {
    return std::nullopt;
  }
  std::optional<DeviceKey> gone;
  auto device = by_device_.find(it->second.device);
  if (device != by_device_.end() && device->second == &socket) {
    gone = device->first;
    by_device_.erase(device);
  }
  by_socket_.erase(it);
  return gone;
}

void EventHub::remoteOnline(RemoteSocket socket) {
  const DeviceKey key = socket.device;
  remote_[key] = std::move(socket);
}

void EventHub::remoteOffline(const DeviceKey& device, const std::string& node) {
  auto it = remote_.find(device);
  if (it != remote_.end() && it->second.node == node) {
    remote_.erase(it);
  }
}

std::vector<std::pair<DeviceKey, bool>> EventHub::localDevices() const {
  std::vector<std::pair<DeviceKey, bool>> out;
  for (const auto& [id, binding] : by_socket_) {
    if (by_device_.count(binding.device) != 0) {
      out.emplace_back(binding.device, binding.foreground);
    }
  }
  return out;
}

const RemoteSocket* EventHub::remote(const DeviceKey& device) const {
  auto it = remote_.find(device);
  if (it == remote_.end() || !alive_ || !alive_(it->second.node)) {
    return nullptr;
  }
  return &it->second;
}

bool EventHub::deliver(const DeviceKey& device, const std::string& message) {
  auto it = by_device_.find(device);
  return it != by_device_.end() && it->second->sendText(message);
}

bool EventHub::online(const DeviceKey& device) const {
  return by_device_.count(device) != 0 || remote(device) != nullptr;
}

bool EventHub::foreground(const DeviceKey& device) const {
  auto it = by_device_.find(device);
  if (it == by_device_.end()) {
    const RemoteSocket* r = remote(device);
    return r != nullptr && r->foreground;
  }
  auto binding = by_socket_.find(it->second->id());
  return binding != by_socket_.end() && binding->second.foreground;
}

}  // namespace turnpike::control
