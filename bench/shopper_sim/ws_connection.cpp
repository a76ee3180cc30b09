#include "ws_connection.hpp"

#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include "presence/ws_handshake.hpp"

namespace presence::sim {
namespace {

constexpr std::size_t kKeyBytes = 16;
constexpr std::size_t kSha1Bytes = 20;

std::string errno_name(int err) {
  const char* name = strerrorname_np(err);
  return name != nullptr ? name : std::to_string(err);
}

// Client frames must be masked with an unpredictable key (RFC 6455 5.3); a per-process
// xorshift seeded from libsodium is plenty for a load generator.
void next_mask(std::uint8_t* out) {
  static std::uint64_t state = 0;
  if (state == 0) state = (static_cast<std::uint64_t>(randombytes_random()) << 32) | 1u;
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  std::memcpy(out, &state, 4);
}

std::string expected_accept(std::string_view key) {
  std::string input(key);
  input += ws::kAcceptGuid;
  unsigned char digest[kSha1Bytes];
  unsigned int digest_len = 0;
  EVP_Digest(input.data(), input.size(), digest, &digest_len, EVP_sha1(), nullptr);
  char text[sodium_base64_ENCODED_LEN(kSha1Bytes, sodium_base64_VARIANT_ORIGINAL)];
  sodium_bin2base64(text, sizeof text, digest, digest_len, sodium_base64_VARIANT_ORIGINAL);
  return text;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// "" when the head is a valid 101 answer for this key, else the failure reason.
std::string check_answer(std::string_view head, std::string_view key) {
  const std::size_t line_end = head.find("\r\n");
  const std::string_view status_line = head.substr(0, line_end);
  if (!status_line.starts_with("HTTP/1.1 ") || status_line.size() < 12)
    return "handshake:malformed";
  const std::string_view code = status_line.substr(9, 3);
  if (code != "101") return "http:" + std::string(code);
  bool upgrade = false;
  bool accept = false;
  const std::string want = expected_accept(key);
  std::string_view rest = head.substr(line_end + 2);
  while (!rest.empty()) {
    const std::size_t eol = rest.find("\r\n");
    const std::string_view line = rest.substr(0, eol);
    rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol + 2);
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view name = trim(line.substr(0, colon));
    const std::string_view value = trim(line.substr(colon + 1));
    if (iequals(name, "upgrade")) upgrade = iequals(value, "websocket");
    if (iequals(name, "sec-websocket-accept")) accept = value == want;
  }
  if (!upgrade) return "handshake:no_upgrade";
  if (!accept) return "handshake:bad_accept";
  return "";
}

}  // namespace

WsConnection::WsConnection(std::size_t max_message_bytes) noexcept
    : max_message_bytes_(max_message_bytes), parser_(ws::Role::client, max_message_bytes) {}

std::string WsConnection::start(int epoll_fd, std::size_t id, const in_addr& source, const Url& url,
                                const std::string& request_target) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return "socket:" + errno_name(errno);
  const int one = 1;
  // The port is picked at connect() for the whole 4-tuple, so each source address offers the
  // full ephemeral range towards the one server port.
  setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  local.sin_addr = source;
  if (bind(fd, reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0) {
    const int err = errno;
    ::close(fd);
    return "bind:" + errno_name(err);
  }
  if (connect(fd, reinterpret_cast<const sockaddr*>(&url.address), sizeof url.address) != 0 &&
      errno != EINPROGRESS) {
    const int err = errno;
    ::close(fd);
    return "connect:" + errno_name(err);
  }
  epoll_event event{};
  event.events = EPOLLIN | EPOLLOUT;
  event.data.u64 = id;
  if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event) != 0) {
    const int err = errno;
    ::close(fd);
    return "epoll:" + errno_name(err);
  }
  fd_ = fd;
  epoll_fd_ = epoll_fd;
  id_ = id;
  stage_ = Stage::connecting;
  watching_write_ = true;
  close_sent_ = false;
  parser_ = ws::FrameParser(ws::Role::client, max_message_bytes_);
  in_.clear();
  out_.clear();
  end_reason_.clear();

  unsigned char raw[kKeyBytes];
  randombytes_buf(raw, sizeof raw);
  char key[sodium_base64_ENCODED_LEN(kKeyBytes, sodium_base64_VARIANT_ORIGINAL)];
  sodium_bin2base64(key, sizeof key, raw, sizeof raw, sodium_base64_VARIANT_ORIGINAL);
  std::memcpy(key_.data(), key, key_.size());
  out_ = "GET " + request_target + " HTTP/1.1\r\nHost: " + url.host +
         "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " +
         std::string(key_.data(), key_.size()) + "\r\nSec-WebSocket-Version: 13\r\n\r\n";
  return "";
}

void WsConnection::handle(std::uint32_t epoll_events, std::span<std::uint8_t> scratch,
                          ConnectionEvents& ev) {
  if (stage_ == Stage::connecting) {
    finish_connect(ev);
    return;
  }
  if ((epoll_events & EPOLLOUT) != 0) flush(ev);
  if (fd_ >= 0 && (epoll_events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0) read_all(scratch, ev);
}

void WsConnection::finish_connect(ConnectionEvents& ev) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err != 0) {
    end("connect:" + errno_name(err), ev);
    return;
  }
  stage_ = Stage::handshaking;
  flush(ev);
}

void WsConnection::read_all(std::span<std::uint8_t> scratch, ConnectionEvents& ev) {
  while (fd_ >= 0) {
    const ssize_t n = ::read(fd_, scratch.data(), scratch.size());
    if (n > 0) {
      const auto len = static_cast<std::size_t>(n);
      if (stage_ == Stage::handshaking) {
        on_handshake_bytes(scratch.data(), len, ev);
      } else {
        on_frame_bytes(scratch.data(), len, ev);
      }
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n < 0 && errno == EINTR) continue;
    const std::string where = stage_ == Stage::handshaking ? "handshake:" : "";
    if (n == 0) {
      end(end_reason_.empty() ? where + "eof" : end_reason_, ev);
    } else {
      end(end_reason_.empty() ? where + "reset:" + errno_name(errno) : end_reason_, ev);
    }
    return;
  }
  if (fd_ >= 0) parser_.release_buffers();
}

void WsConnection::on_handshake_bytes(const std::uint8_t* data, std::size_t len,
                                      ConnectionEvents& ev) {
  const std::size_t before = in_.size();
  in_.append(reinterpret_cast<const char*>(data), len);
  const std::size_t blank = in_.find("\r\n\r\n", before < 3 ? 0 : before - 3);
  if (blank == std::string::npos) {
    if (in_.size() > kMaxHandshakeResponseBytes) end("handshake:too_long", ev);
    return;
  }
  const std::string failure = check_answer(std::string_view(in_).substr(0, blank + 2),
                                           std::string_view(key_.data(), key_.size()));
  if (!failure.empty()) {
    end(failure, ev);
    return;
  }
  const std::string rest = in_.substr(blank + 4);
  in_.clear();
  in_.shrink_to_fit();
  stage_ = Stage::open;
  ev.on_open(id_);
  if (fd_ >= 0 && !rest.empty()) {
    on_frame_bytes(reinterpret_cast<const std::uint8_t*>(rest.data()), rest.size(), ev);
  }
}

void WsConnection::on_frame_bytes(const std::uint8_t* data, std::size_t len, ConnectionEvents& ev) {
  while (len > 0 && fd_ >= 0) {
    std::size_t used = 0;
    const ws::FrameEvent frame = parser_.feed(data, len, &used);
    data += used;
    len -= used;
    switch (frame.kind) {
      case ws::FrameEvent::Kind::none:
        break;
      case ws::FrameEvent::Kind::message:
        if (stage_ == Stage::open) ev.on_text(id_, frame.payload);
        break;
      case ws::FrameEvent::Kind::ping:
        send_frame(ws::Opcode::pong, frame.payload);
        flush(ev);
        break;
      case ws::FrameEvent::Kind::pong:
        break;
      case ws::FrameEvent::Kind::close:
        if (end_reason_.empty()) {
          end_reason_ = "close:" + std::to_string(static_cast<unsigned>(frame.code));
        }
        if (!close_sent_) {
          std::string echo;
          std::uint8_t mask[4];
          next_mask(mask);
          ws::append_close(echo, frame.code, "", mask);
          out_ += echo;
          close_sent_ = true;
          flush(ev);
        }
        // The server closes the TCP connection first (RFC 6455 7.1.1); wait for its EOF.
        stage_ = Stage::closing;
        return;
      case ws::FrameEvent::Kind::error:
        end("protocol:" + std::to_string(static_cast<unsigned>(frame.code)), ev);
        return;
    }
  }
}

void WsConnection::send_frame(ws::Opcode op, std::string_view payload) {
  std::uint8_t mask[4];
  next_mask(mask);
  ws::append_frame(out_, op, payload, true, mask);
}

bool WsConnection::send_text(std::string_view text, ConnectionEvents& ev) {
  if (stage_ != Stage::open) return false;
  if (out_.size() + text.size() > kMaxQueuedBytes) {
    end("sim:send_queue_full", ev);
    return false;
  }
  send_frame(ws::Opcode::text, text);
  flush(ev);
  return true;
}

void WsConnection::close(ws::CloseCode code, ConnectionEvents& ev) {
  if (stage_ != Stage::open) {
    abort("closed_by_sim", ev);
    return;
  }
  std::uint8_t mask[4];
  next_mask(mask);
  ws::append_close(out_, code, "", mask);
  close_sent_ = true;
  end_reason_ = "closed_by_sim";
  stage_ = Stage::closing;
  flush(ev);
}

void WsConnection::abort(const std::string& reason, ConnectionEvents& ev) {
  if (fd_ >= 0) end(reason, ev);
}

void WsConnection::flush(ConnectionEvents& ev) {
  while (!out_.empty() && fd_ >= 0) {
    const ssize_t n = ::send(fd_, out_.data(), out_.size(), MSG_NOSIGNAL);
    if (n > 0) {
      out_.erase(0, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    end(end_reason_.empty() ? "send:" + errno_name(errno) : end_reason_, ev);
    return;
  }
  if (fd_ >= 0) watch(!out_.empty());
}

void WsConnection::watch(bool want_write) {
  if (want_write == watching_write_) return;
  epoll_event event{};
  event.events = EPOLLIN | (want_write ? EPOLLOUT : 0u);
  event.data.u64 = id_;
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd_, &event);
  watching_write_ = want_write;
}

void WsConnection::end(const std::string& reason, ConnectionEvents& ev) {
  ::close(fd_);  // also removes it from the epoll set
  fd_ = -1;
  stage_ = Stage::idle;
  out_.clear();
  out_.shrink_to_fit();
  in_.clear();
  in_.shrink_to_fit();
  parser_.release_buffers();
  ev.on_end(id_, reason);
}

}  // namespace presence::sim
