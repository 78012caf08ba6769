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

void EventHub::closed(http::WebSocket& socket) {
  auto it = by_socket_.find(socket.id());
  if (it == by_socket_.end()) {
    return;
  }
  auto device = by_device_.find(it->second.device);
  if (device != by_device_.end() && device->second == &socket) {
    by_device_.erase(device);
  }
  by_socket_.erase(it);
}

bool EventHub::deliver(const DeviceKey& device, const std::string& message) {
  auto it = by_device_.find(device);
  return it != by_device_.end() && it->second->sendText(message);
}

bool EventHub::online(const DeviceKey& device) const { return by_device_.count(device) != 0; }

bool EventHub::foreground(const DeviceKey& device) const {
  auto it = by_device_.find(device);
  if (it == by_device_.end()) {
    return false;
  }
  auto binding = by_socket_.find(it->second->id());
  return binding != by_socket_.end() && binding->second.foreground;
}

}  // namespace turnpike::control
