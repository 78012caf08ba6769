#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>

#include "relay/base/clock.h"
#include "relay/net/connection_ledger.h"
#include "relay/net/peer_pipe.h"
#include "relay/stun/stream_framer.h"
#include "relay/stun/transport_address.h"
#include "relay/turn/turn_server.h"

struct bufferevent;
struct event_base;
struct ssl_st;

namespace turnpike::net {

class TcpConnection;

/// Told when a connection is finished, so its owner can free it.
class ConnectionOwner {
 public:
  virtual ~ConnectionOwner() = default;
  virtual void onConnectionClosed(TcpConnection* connection) = 0;
};

/// A client's TCP or TLS connection: frames the byte stream (STUN and
/// ChannelData, RFC 8656 §12.5) and writes responses back on the same stream.
class TcpConnection {
 public:
  /// With `ssl` (owned from here on) the stream is TLS, server side.
  TcpConnection(event_base* base, int fd, ssl_st* ssl, turn::FiveTuple five_tuple,
                turn::TurnServer& server, const Clock& clock, ConnectionOwner& owner,
                std::unique_ptr<ConnectionLedger::Ticket> ticket);

  /// Output a client may leave unread before relayed data is dropped and
  /// its requests are no longer read (so answers cannot pile up either).
  static constexpr std::size_t kMaxPendingOutput = 1 << 20;
  /// Reading resumes once the client has read its output down to this.
  static constexpr std::size_t kResumeOutput = kMaxPendingOutput / 2;
  ~TcpConnection();
  TcpConnection(const TcpConnection&) = delete;
  TcpConnection& operator=(const TcpConnection&) = delete;

  /// When the last whole frame (or, for a data connection, any byte) came.
  [[nodiscard]] Clock::TimePoint lastActivity() const { return last_activity_; }
  /// Since when reading is paused because the client does not read its
  /// output; nullopt while reading.
  [[nodiscard]] std::optional<Clock::TimePoint> stalledSince() const { return stalled_since_; }
  /// Since when part of a frame has waited for the rest; nullopt if none.
  [[nodiscard]] std::optional<Clock::TimePoint> partialFrameSince() const { return partial_since_; }
  /// Since when it has been closing (waiting for its output to flush).
  [[nodiscard]] std::optional<Clock::TimePoint> closingSince() const { return closing_since_; }
  [[nodiscard]] Clock::TimePoint openedAt() const { return opened_at_; }
  /// TCP: always; TLS: once the handshake is done.
  [[nodiscard]] bool established() const { return established_; }
  [[nodiscard]] const turn::FiveTuple& fiveTuple() const { return five_tuple_; }
  /// Queues bytes for the client (responses, relayed data).
  void send(std::span<const std::uint8_t> bytes);
  /// Stops reading and closes once pending output is written.
  void closeWhenFlushed();
  /// RFC 6062 §5.4: after the reply being written now (ConnectionBind
  /// success), carry raw bytes to and from `peer_fd`.
  void becomePipe(std::uint32_t connection_id, int peer_fd,
                  std::shared_ptr<turn::PipeTraffic> traffic);
  /// The CONNECTION-ID this connection is a data connection for; 0 if none.
  [[nodiscard]] std::uint32_t pipeId() const { return pipe_id_; }

 private:
  static void onRead(bufferevent* bev, void* self);
  static void onWrite(bufferevent* bev, void* self);
  static void onEvent(bufferevent* bev, short what, void* self);
  /// Returns false when the stream is broken and the connection must go.
  bool processInput();
  /// Handles one frame; true when the connection just became a data pipe.
  bool handleFrame(const stun::Frame& frame);
  [[nodiscard]] bool outputFull() const;

  bufferevent* bev_ = nullptr;
  turn::FiveTuple five_tuple_;
  turn::TurnServer& server_;
  const Clock& clock_;
  ConnectionOwner& owner_;
  stun::StreamFramer framer_;
  Clock::TimePoint last_activity_;
  Clock::TimePoint opened_at_;
  bool established_ = false;
  bool closing_ = false;
  std::optional<Clock::TimePoint> stalled_since_;
  std::optional<Clock::TimePoint> partial_since_;
  std::optional<Clock::TimePoint> closing_since_;
  std::unique_ptr<ConnectionLedger::Ticket> ticket_;
  event_base* base_;
  std::uint32_t pipe_id_ = 0;
  int pending_peer_fd_ = -1;
  std::shared_ptr<turn::PipeTraffic> pending_traffic_;
  std::unique_ptr<PeerPipe> pipe_;
  std::array<std::uint8_t, 2048> response_{};
};

}  // namespace turnpike::net
