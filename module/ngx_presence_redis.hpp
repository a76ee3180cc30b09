// One hiredis 0.14 asynchronous connection on nginx's event loop: hiredis
// owns the socket and the protocol, nginx's epoll wakes it (level-triggered,
// since hiredis reads 16 KiB a call), nginx's timers bound the connect and
// space the reconnects (hiredis 0.14 has neither). A link authenticates
// first, then either carries commands or only subscribes; whatever Redis
// sends is bounded, a reply past the bound drops the connection once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ngx_presence_nginx.hpp"
#include "presence/cluster_config.hpp"
#include "presence/cluster_status.hpp"

struct redisAsyncContext;

namespace presence::ngx {

// A connection must be up (connected, authenticated, subscribed) this soon.
inline constexpr ngx_msec_t kRedisConnectTimeoutMs = 2000;
// A link logs at most kRedisLogLines failures (and refused commands), and as
// many reconnects, every kRedisLogIntervalMs; the next line of the kind says
// how many were left out.
inline constexpr std::int64_t kRedisLogIntervalMs = 10'000;
inline constexpr std::size_t kRedisLogLines = 4;
// Redis error texts quoted in a log line are cut to this length.
inline constexpr std::size_t kMaxLoggedRedisError = 160;

struct RedisEndpoint {
  presence::cluster::RedisAddress address;
  const presence::cluster::RedisAuth* auth = nullptr;  // null: no AUTH
};

class RedisLink;

// What a link tells its owner. Called from nginx's event handlers, never
// while the link is in the middle of a call the owner made.
class RedisLinkObserver {
 public:
  virtual void link_up(RedisLink& link) = 0;
  virtual void link_down(RedisLink& link) = 0;
  // A published message (subscriber links only).
  virtual void link_message(RedisLink& link, std::string_view channel,
                            std::string_view message) = 0;
  // nginx asked this worker to stop (graceful shutdown or reload).
  virtual void worker_stopping() = 0;

 protected:
  ~RedisLinkObserver() = default;
};

class RedisLink {
 public:
  enum class Role : std::uint8_t { command, subscriber };
  using GetDone = std::function<void(std::optional<std::string_view> value)>;

  // `max_buffered`: the most unparsed bytes a reply may hold in the reader
  // after a read (hiredis reads 16 KiB a call) before the connection is
  // dropped, so a reply one read longer than it never completes; `max_unanswered`: the most bytes
  // of commands awaiting replies before new ones are refused. `status` (may be null) gets
  // redis_connects, redis_errors and oversized drops.
  RedisLink(Role role, const RedisEndpoint& endpoint, std::vector<std::string> channels,
            std::size_t max_buffered, std::size_t max_unanswered, RedisLinkObserver& observer,
            presence::cluster::Status* status, ngx_log_t* log);
  ~RedisLink();
  RedisLink(const RedisLink&) = delete;
  RedisLink& operator=(const RedisLink&) = delete;

  // Connects now; reconnects by itself until stop().
  void start() noexcept;
  // Closes without reconnecting; pending replies complete as missing.
  void stop() noexcept;
  // Drops the connection and reconnects after the backoff, logging why.
  void restart(const char* why) noexcept;

  bool ready() const noexcept { return state_ == State::ready; }
  std::int64_t ready_since_ms() const noexcept { return ready_since_ms_; }
  // A command unanswered for longer than `limit_ms` (command links).
  bool stalled(std::int64_t now_ms, std::int64_t limit_ms) const noexcept;
  const char* role_name() const noexcept;

  // Command links, once ready(); false when not sent (not ready, over the
  // bound, or hiredis refused it).
  bool publish(std::string_view channel, std::string_view message) noexcept;
  bool set_expiring(std::string_view key, std::string_view value, std::int64_t ttl_ms) noexcept;
  bool ping() noexcept;
  // `done` is called exactly once when true is returned: with the value, or
  // nullopt for a missing key, an error or a dropped connection.
  bool get(std::string_view key, GetDone done) noexcept;

 private:
  enum class State : std::uint8_t { idle, waiting, connecting, authenticating, subscribing, ready };
  struct Timer {
    ngx_event_t ev;  // first: the handler finds the Timer from its event
    RedisLink* link;
  };
  struct Pending;

  void connect() noexcept;
  void on_connected() noexcept;
  void send_auth() noexcept;
  void subscribe() noexcept;
  void became_ready() noexcept;
  void drop(const std::string& why) noexcept;
  void lost() noexcept;
  void schedule_reconnect() noexcept;
  void log_failure(const std::string& why, std::int64_t delay_ms) noexcept;
  // Lines of one kind logged in the current window, and those left out.
  struct LogBudget {
    std::int64_t window_ms = 0;
    std::size_t lines = 0;
    std::size_t left_out = 0;
    // True when a line may be logged now; counts the ones that may not.
    bool take() noexcept;
    // " (N ... left out before)" once, after lines were left out.
    std::string note();
  };
  bool send(std::initializer_list<std::string_view> argv, Pending* pending) noexcept;
  void answered(std::size_t bytes) noexcept;
  void after_read() noexcept;
  std::string scrub(std::string_view redis_error) const;

  static void on_read_event(ngx_event_t* ev) noexcept;
  static void on_write_event(ngx_event_t* ev) noexcept;
  static void on_timer(ngx_event_t* ev) noexcept;
  static void add_read(void* privdata) noexcept;
  static void del_read(void* privdata) noexcept;
  static void add_write(void* privdata) noexcept;
  static void del_write(void* privdata) noexcept;
  static void cleanup(void* privdata) noexcept;
  static void on_connect(const redisAsyncContext* ac, int status) noexcept;
  static void on_disconnect(const redisAsyncContext* ac, int status) noexcept;
  static void on_auth_reply(redisAsyncContext* ac, void* reply, void* privdata) noexcept;
  static void on_subscription(redisAsyncContext* ac, void* reply, void* privdata) noexcept;
  static void on_reply(redisAsyncContext* ac, void* reply, void* privdata) noexcept;

  Role role_;
  RedisEndpoint endpoint_;
  std::vector<std::string> channels_;
  std::size_t max_buffered_;
  std::size_t max_unanswered_;
  RedisLinkObserver& observer_;
  presence::cluster::Status* status_;
  ngx_log_t* log_;

  State state_ = State::idle;
  bool stopped_ = true;
  redisAsyncContext* ac_ = nullptr;
  ngx_connection_t* conn_ = nullptr;
  Timer connect_timer_{};
  Timer retry_timer_{};
  presence::cluster::ReconnectBackoff backoff_;
  std::string why_;  // why the current connection is being dropped
  std::size_t subscribed_ = 0;
  std::int64_t ready_since_ms_ = 0;
  // Replies awaited and the bytes of their commands; when one last came.
  std::size_t unanswered_ = 0;
  std::size_t unanswered_bytes_ = 0;
  std::int64_t last_answer_ms_ = 0;
  LogBudget failure_log_;
  LogBudget up_log_;
};

}  // namespace presence::ngx
