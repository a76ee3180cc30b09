// One client WebSocket over a non-blocking socket driven by epoll: connect from a chosen source
// address, the opening handshake (checking Sec-WebSocket-Accept), masked text frames out, the
// core's FrameParser (client role) in, and the close handshake. What the messages mean is the
// owner's business, told through ConnectionEvents.
#pragma once

#include <netinet/in.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "loopback_address.hpp"
#include "presence/ws_frame.hpp"

namespace presence::sim {

// A 101 answer is a few hundred bytes; more than this before the blank line is not a server.
inline constexpr std::size_t kMaxHandshakeResponseBytes = 8 * 1024;
// Unsent bytes one connection may queue; a server this far behind is reported, not waited for.
inline constexpr std::size_t kMaxQueuedBytes = 1024 * 1024;

class ConnectionEvents {
 public:
  virtual void on_open(std::size_t id) = 0;
  virtual void on_text(std::size_t id, std::string_view text) = 0;
  // The socket is closed already; reason says why ("close:1000", "http:403", "connect:...").
  // Must not restart the connection from inside the callback.
  virtual void on_end(std::size_t id, const std::string& reason) = 0;

 protected:
  ~ConnectionEvents() = default;
};

class WsConnection {
 public:
  enum class Stage { idle, connecting, handshaking, open, closing };

  explicit WsConnection(std::size_t max_message_bytes) noexcept;

  // Starts connecting; on failure returns the reason and stays idle (on_end is not called).
  std::string start(int epoll_fd, std::size_t id, const in_addr& source, const Url& url,
                    const std::string& request_target);
  void handle(std::uint32_t epoll_events, std::span<std::uint8_t> scratch, ConnectionEvents& ev);
  // Queues one text message; false unless open.
  bool send_text(std::string_view text, ConnectionEvents& ev);
  // Starts the close handshake; the connection ends when the server closes the TCP connection.
  void close(ws::CloseCode code, ConnectionEvents& ev);
  // Closes the socket now and reports `reason` (a no-op when idle).
  void abort(const std::string& reason, ConnectionEvents& ev);

  Stage stage() const noexcept { return stage_; }
  bool active() const noexcept { return stage_ != Stage::idle; }

 private:
  void finish_connect(ConnectionEvents& ev);
  void read_all(std::span<std::uint8_t> scratch, ConnectionEvents& ev);
  void on_handshake_bytes(const std::uint8_t* data, std::size_t len, ConnectionEvents& ev);
  void on_frame_bytes(const std::uint8_t* data, std::size_t len, ConnectionEvents& ev);
  void send_frame(ws::Opcode op, std::string_view payload);
  void flush(ConnectionEvents& ev);
  void watch(bool want_write);
  void end(const std::string& reason, ConnectionEvents& ev);

  int fd_ = -1;
  int epoll_fd_ = -1;
  std::size_t id_ = 0;
  Stage stage_ = Stage::idle;
  bool watching_write_ = false;
  bool close_sent_ = false;
  std::size_t max_message_bytes_;
  std::array<char, 24> key_{};  // Sec-WebSocket-Key, base64 of 16 random bytes
  std::string in_;              // the handshake answer until its blank line
  std::string out_;             // bytes the socket did not take yet
  std::string end_reason_;      // decided while closing, reported at the end
  ws::FrameParser parser_;
};

}  // namespace presence::sim
