#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "control/cluster/node_directory.h"
#include "control/cluster/peers.h"
#include "control/store/change_message.h"
#include "control/store/redis_connection.h"

struct event_base;
struct event;
struct redisAsyncContext;

namespace turnpike::control::cluster {

/// The other nodes through Redis: a subscription to `tp:changes` on the
/// control loop (hiredis async on libevent), this node's announcement in
/// `tp:nodes` every second, device sockets in `tp:presence`. After every
/// (re)subscription, and after a write found Redis unreachable, it asks
/// for a full reload (`Hooks::catch_up`) and is not ready until one
/// succeeded: changes published while it was away are then in the reload.
class RedisPeers final : public Peers {
 public:
  struct Hooks {
    std::function<void(const ChangeMessage&)> change;  ///< from another node
    std::function<bool()> catch_up;                    ///< reload everything; false: retry
    std::function<NodeLoad()> load;
  };

  RedisPeers(event_base* base, RedisConnection& redis, const Clock& clock, NodeInfo self,
             Hooks hooks);
  ~RedisPeers() override;
  RedisPeers(const RedisPeers&) = delete;
  RedisPeers& operator=(const RedisPeers&) = delete;

  /// Subscribes and starts announcing; the node becomes ready on its own.
  void start();
  /// Withdraws the announcement and this node's sockets.
  void stop();

  [[nodiscard]] bool ready() const override { return subscribed_ && !behind_ && redis_.up(); }
  void lost() override { behind_ = true; }
  void presence(const DeviceKey& device, bool online, bool foreground) override;
  bool remoteSockets(std::vector<RemoteSocket>& out) override;
  [[nodiscard]] bool nodeAlive(const std::string& node) const override;
  [[nodiscard]] const std::string& nodeName() const override { return self_.name; }
  [[nodiscard]] std::vector<std::string> turnUris(std::string_view region) const override;

  [[nodiscard]] std::uint64_t messagesDropped() const { return dropped_; }

 private:
  static void onTimer(int fd, short what, void* arg);
  static void onMessage(redisAsyncContext* context, void* reply, void* arg);
  static void onConnect(const redisAsyncContext* context, int status);
  static void onDisconnect(const redisAsyncContext* context, int status);
  void subscribe();
  void second();
  void announce();
  void readNodes();

  event_base* base_;
  RedisConnection& redis_;
  const Clock& clock_;
  NodeInfo self_;
  Hooks hooks_;
  event* timer_ = nullptr;
  redisAsyncContext* subscriber_ = nullptr;
  bool subscribed_ = false;
  bool behind_ = true;
  std::uint64_t last_bytes_ = 0;
  std::vector<NodeInfo> nodes_;
  /// When each node last published a change: a node that just started is
  /// alive before the next read of `tp:nodes` shows it.
  std::map<std::string, std::chrono::milliseconds> heard_;
  std::uint64_t dropped_ = 0;
};

}  // namespace turnpike::control::cluster
