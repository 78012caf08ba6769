#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "control/devices/device.h"

namespace turnpike::control {

/// Every registered device, by (user, deviceId), with the rule that one
/// push token belongs to one device. In memory; the caller stores changes.
class DeviceRegistry {
 public:
  static constexpr std::size_t kMaxDevicesPerUser = 20;
  static constexpr std::size_t kMaxTokensPerDevice = 4;

  enum class RegisterError { None, TooManyDevices, TooManyDevicesInTotal };
  struct Registered {
    RegisterError error = RegisterError::None;
    const Device* device = nullptr;
    /// Devices that lost a token to this one: store them too.
    std::vector<const Device*> others_changed;
  };

  explicit DeviceRegistry(std::size_t max_devices = 1'000'000) : max_devices_(max_devices) {}

  /// Upsert: keeps registered_at of a device seen before, replaces its
  /// tokens and capabilities, moves tokens away from other devices.
  Registered registerDevice(Device incoming, UnixMillis now);
  /// Sets last_seen_at; null when unknown.
  const Device* heartbeat(const DeviceKey& key, UnixMillis now);
  bool remove(const DeviceKey& key);
  /// A provider said `token` is dead: removes it from the device that holds
  /// it, unless that device registered its tokens after `unless_after`.
  /// The changed device, or null when nothing changed.
  const Device* removeToken(const DeviceKey& key, PushKind kind, const std::string& token,
                            std::optional<UnixMillis> unless_after = std::nullopt);
  /// Loads a stored device (start-up), tokens already unique.
  void restore(Device device);
  /// Another node stored `device`: it replaces this one's copy.
  void replace(Device device);
  /// Forgets every device (before a full reload from the store).
  void clear();

  [[nodiscard]] const Device* find(const DeviceKey& key) const;
  /// A user's devices, most recently seen first.
  [[nodiscard]] std::vector<const Device*> devicesOf(const std::string& user_id) const;
  [[nodiscard]] std::size_t size() const { return devices_.size(); }

 private:
  void indexTokens(const Device& device);
  void unindexTokens(const Device& device);

  std::size_t max_devices_;
  std::map<DeviceKey, Device> devices_;
  std::map<std::string, std::size_t> per_user_;
  /// "kind:token" -> owner.
  std::map<std::string, DeviceKey> token_owner_;
};

}  // namespace turnpike::control
