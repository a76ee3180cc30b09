// hiredis 0.14's asynchronous API on nginx's event loop. hiredis keeps the
// socket (it closes it itself when it frees a context), the output buffer and
// the reply parser; this file gives it an nginx connection for events, timers
// for what 0.14 lacks, and the bounds a hostile bus must not get past.
#include "ngx_presence_redis.hpp"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <array>
#include <new>
#include <utility>

#include "ngx_presence_guard.hpp"

namespace presence::ngx {

// One command awaiting its reply: its size (the unanswered bound) and, for a
// GET, what to call with the value.
struct RedisLink::Pending {
  RedisLink* link;
  std::size_t bytes;
  GetDone done;  // empty: not a GET
  const char* command;
};

namespace {

RedisLink* link_of(void* privdata) {
  return static_cast<RedisLink*>(privdata);
}

// SET key value PX ttl is the longest command sent.
constexpr std::size_t kMaxCommandArgs = 5;

double random_unit() {
  return static_cast<double>(ngx_random() % 1'000'000) / 1'000'000.0;
}

}  // namespace

RedisLink::RedisLink(Role role, const RedisEndpoint& endpoint, std::vector<std::string> channels,
                     std::size_t max_buffered, std::size_t max_unanswered,
                     RedisLinkObserver& observer, presence::cluster::Status* status, ngx_log_t* log)
    : role_(role),
      endpoint_(endpoint),
      channels_(std::move(channels)),
      max_buffered_(max_buffered),
      max_unanswered_(max_unanswered),
      observer_(observer),
      status_(status),
      log_(log) {
  for (Timer* timer : {&connect_timer_, &retry_timer_}) {
    timer->link = this;
    timer->ev.handler = on_timer;
    timer->ev.log = log_;
    timer->ev.data = timer_without_connection();
    timer->ev.cancelable = 1;
  }
}

RedisLink::~RedisLink() {
  stop();
}

const char* RedisLink::role_name() const noexcept {
  return role_ == Role::command ? "command" : "subscriber";
}

void RedisLink::start() noexcept {
  stopped_ = false;
  if (state_ == State::idle) connect();
}

void RedisLink::stop() noexcept {
  stopped_ = true;
  if (connect_timer_.ev.timer_set) ngx_del_timer(&connect_timer_.ev);
  if (retry_timer_.ev.timer_set) ngx_del_timer(&retry_timer_.ev);
  // Deferred by hiredis when called from one of this link's callbacks.
  if (ac_ != nullptr) redisAsyncFree(ac_);
  if (ac_ == nullptr) state_ = State::idle;
}

void RedisLink::restart(const char* why) noexcept {
  if (ac_ == nullptr) return;
  guarded(log_, NGX_LOG_ERR, "redis link", [&] { why_ = why; });
  redisAsyncFree(ac_);
}

bool RedisLink::stalled(std::int64_t now_ms, std::int64_t limit_ms) const noexcept {
  return unanswered_ > 0 && now_ms - last_answer_ms_ > limit_ms;
}

void RedisLink::connect() noexcept {
  state_ = State::connecting;
  subscribed_ = 0;
  why_.clear();
  const presence::cluster::RedisAddress& address = endpoint_.address;
  redisAsyncContext* ac = address.kind == presence::cluster::RedisAddress::Kind::unix_socket
                              ? redisAsyncConnectUnix(address.path.c_str())
                              : redisAsyncConnect(address.host.c_str(), address.port);
  if (ac == nullptr) {
    guarded(log_, NGX_LOG_ERR, "redis link", [&] { why_ = "out of memory"; });
    lost();
    return;
  }
  if (ac->err != 0) {
    guarded(log_, NGX_LOG_ERR, "redis link", [&] { why_ = ac->errstr; });
    redisAsyncFree(ac);
    lost();
    return;
  }
  ngx_connection_t* c = ngx_get_connection(ac->c.fd, log_);
  if (c == nullptr) {
    redisAsyncFree(ac);
    guarded(log_, NGX_LOG_ERR, "redis link",
            [&] { why_ = "no free connection (worker_connections)"; });
    lost();
    return;
  }
  c->data = this;
  c->read->handler = on_read_event;
  c->write->handler = on_write_event;
  c->read->log = log_;
  c->write->log = log_;
  // nginx calls an idle connection's read handler (with c->close) the moment
  // the worker is told to stop: the lease is handed over at once on reload.
  c->idle = 1;
  conn_ = c;
  ac_ = ac;
  ac->data = this;
  ac->ev.data = this;
  ac->ev.addRead = add_read;
  ac->ev.delRead = del_read;
  ac->ev.addWrite = add_write;
  ac->ev.delWrite = del_write;
  ac->ev.cleanup = cleanup;
  redisAsyncSetDisconnectCallback(ac, on_disconnect);
  // Waits for the socket to be writable: the connect's outcome.
  redisAsyncSetConnectCallback(ac, on_connect);
  ngx_add_timer(&connect_timer_.ev, kRedisConnectTimeoutMs);
}

void RedisLink::on_connected() noexcept {
  if (endpoint_.auth != nullptr) {
    send_auth();
  } else if (role_ == Role::subscriber) {
    subscribe();
  } else {
    became_ready();
  }
}

void RedisLink::send_auth() noexcept {
  state_ = State::authenticating;
  const presence::cluster::RedisAuth& auth = *endpoint_.auth;
  // AUTH password, or AUTH user password for an ACL user.
  std::array<const char*, 3> argv{"AUTH", auth.user.data(), auth.password.data()};
  std::array<std::size_t, 3> lens{4, auth.user.size(), auth.password.size()};
  int argc = 3;
  if (auth.user.empty()) {
    argv[1] = argv[2];
    lens[1] = lens[2];
    argc = 2;
  }
  if (redisAsyncCommandArgv(ac_, on_auth_reply, this, argc, argv.data(), lens.data()) != REDIS_OK) {
    restart("AUTH could not be sent");
  }
}

void RedisLink::subscribe() noexcept {
  state_ = State::subscribing;
  bool sent = guarded(log_, NGX_LOG_ERR, "redis subscribe", false, [&] {
    std::vector<const char*> argv{"SUBSCRIBE"};
    std::vector<std::size_t> lens{9};
    for (const std::string& channel : channels_) {
      argv.push_back(channel.data());
      lens.push_back(channel.size());
    }
    return redisAsyncCommandArgv(ac_, on_subscription, this, static_cast<int>(argv.size()),
                                 argv.data(), lens.data()) == REDIS_OK;
  });
  if (!sent) restart("SUBSCRIBE could not be sent");
}

void RedisLink::became_ready() noexcept {
  state_ = State::ready;
  ready_since_ms_ = ngx_now_ms();
  last_answer_ms_ = ready_since_ms_;
  // Redis answered (AUTH, SUBSCRIBE): the next failure waits the least again.
  // A command link without AUTH has not heard Redis yet: its first reply resets.
  if (role_ == Role::subscriber || endpoint_.auth != nullptr) backoff_.reset();
  if (connect_timer_.ev.timer_set) ngx_del_timer(&connect_timer_.ev);
  if (status_ != nullptr) presence::cluster::bump(status_->counters.redis_connects);
  if (up_log_.take()) {
    guarded(log_, NGX_LOG_ERR, "redis link", [&] {
      const std::string address = presence::cluster::describe(endpoint_.address);
      const std::string more = up_log_.note();
      ngx_log_error(NGX_LOG_NOTICE, log_, 0, "presence cluster: redis %s link to %s is up%s",
                    role_name(), address.c_str(), more.c_str());
    });
  }
  observer_.link_up(*this);
}

// The single place a connection ends: hiredis calls cleanup() when it frees a
// context (after an error, a close, a failed connect, or redisAsyncFree).
void RedisLink::lost() noexcept {
  const bool was_ready = state_ == State::ready;
  std::string why;
  guarded(log_, NGX_LOG_ERR, "redis link", [&] {
    if (!why_.empty()) {
      why = why_;
    } else if (ac_ != nullptr && ac_->c.err != 0) {
      why = scrub(ac_->c.errstr);
    } else {
      why = "connection closed";
    }
  });
  ac_ = nullptr;
  why_.clear();
  state_ = State::idle;
  unanswered_ = 0;
  unanswered_bytes_ = 0;
  if (connect_timer_.ev.timer_set) ngx_del_timer(&connect_timer_.ev);
  if (stopped_) return;
  if (status_ != nullptr) presence::cluster::bump(status_->counters.redis_errors);
  state_ = State::waiting;
  const std::int64_t delay = backoff_.next(random_unit());
  if (retry_timer_.ev.timer_set) ngx_del_timer(&retry_timer_.ev);
  ngx_add_timer(&retry_timer_.ev, static_cast<ngx_msec_t>(delay));
  log_failure(why, delay);
  if (was_ready) observer_.link_down(*this);
}

void RedisLink::log_failure(const std::string& why, std::int64_t delay_ms) noexcept {
  if (!failure_log_.take()) return;
  guarded(log_, NGX_LOG_ERR, "redis link", [&] {
    const std::string address = presence::cluster::describe(endpoint_.address);
    const std::string more = failure_log_.note();
    ngx_log_error(NGX_LOG_ERR, log_, 0,
                  "presence cluster: redis %s link to %s: %s; reconnecting in %L ms%s", role_name(),
                  address.c_str(), why.c_str(), static_cast<std::int64_t>(delay_ms), more.c_str());
  });
}

bool RedisLink::LogBudget::take() noexcept {
  const std::int64_t now = ngx_now_ms();
  if (lines == 0 || now - window_ms >= kRedisLogIntervalMs) {
    window_ms = now;
    lines = 0;
  }
  if (lines < kRedisLogLines) {
    ++lines;
    return true;
  }
  ++left_out;
  return false;
}

std::string RedisLink::LogBudget::note() {
  if (left_out == 0) return {};
  std::string text = " (" + std::to_string(left_out) + " like it left out before)";
  left_out = 0;
  return text;
}

std::string RedisLink::scrub(std::string_view redis_error) const {
  std::string text(redis_error.substr(0, kMaxLoggedRedisError));
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
  }
  // Redis does not echo a password, but a log line is no place to find out.
  if (endpoint_.auth != nullptr && !endpoint_.auth->password.empty()) {
    const std::string& password = endpoint_.auth->password;
    for (std::size_t at = text.find(password); at != std::string::npos;
         at = text.find(password, at)) {
      text.replace(at, password.size(), "<redacted>");
    }
  }
  return text;
}

bool RedisLink::send(std::initializer_list<std::string_view> argv, Pending* pending) noexcept {
  if (state_ != State::ready || ac_ == nullptr || role_ != Role::command) return false;
  if (unanswered_bytes_ + pending->bytes > max_unanswered_) return false;
  std::array<const char*, kMaxCommandArgs> ptrs{};
  std::array<std::size_t, kMaxCommandArgs> lens{};
  std::size_t argc = 0;
  for (std::string_view arg : argv) {
    if (argc == kMaxCommandArgs) return false;
    ptrs[argc] = arg.data();
    lens[argc] = arg.size();
    ++argc;
  }
  if (redisAsyncCommandArgv(ac_, on_reply, pending, static_cast<int>(argc), ptrs.data(),
                            lens.data()) != REDIS_OK) {
    return false;
  }
  if (unanswered_ == 0) last_answer_ms_ = ngx_now_ms();
  ++unanswered_;
  unanswered_bytes_ += pending->bytes;
  return true;
}

void RedisLink::answered(std::size_t bytes) noexcept {
  if (unanswered_ > 0) --unanswered_;
  unanswered_bytes_ -= std::min(bytes, unanswered_bytes_);
  last_answer_ms_ = ngx_now_ms();
}

bool RedisLink::publish(std::string_view channel, std::string_view message) noexcept {
  auto* pending = new (std::nothrow) Pending{this, channel.size() + message.size(), {}, "PUBLISH"};
  if (pending == nullptr) return false;
  if (send({"PUBLISH", channel, message}, pending)) return true;
  delete pending;
  return false;
}

bool RedisLink::set_expiring(std::string_view key, std::string_view value,
                             std::int64_t ttl_ms) noexcept {
  auto* pending = new (std::nothrow) Pending{this, key.size() + value.size(), {}, "SET"};
  if (pending == nullptr) return false;
  char ttl[24];
  const u_char* end = ngx_sprintf(reinterpret_cast<u_char*>(ttl), "%L", ttl_ms);
  const std::string_view ttl_text(ttl,
                                  static_cast<std::size_t>(end - reinterpret_cast<u_char*>(ttl)));
  if (send({"SET", key, value, "PX", ttl_text}, pending)) return true;
  delete pending;
  return false;
}

bool RedisLink::ping() noexcept {
  auto* pending = new (std::nothrow) Pending{this, 4, {}, "PING"};
  if (pending == nullptr) return false;
  if (send({"PING"}, pending)) return true;
  delete pending;
  return false;
}

bool RedisLink::get(std::string_view key, GetDone done) noexcept {
  auto* pending = new (std::nothrow) Pending{this, key.size(), {}, "GET"};
  if (pending == nullptr) return false;
  pending->done = std::move(done);
  if (send({"GET", key}, pending)) return true;
  delete pending;
  return false;
}

// --- nginx events ---

void RedisLink::on_read_event(ngx_event_t* ev) noexcept {
  auto* c = static_cast<ngx_connection_t*>(ev->data);
  RedisLink* link = link_of(c->data);
  guarded(link->log_, NGX_LOG_ERR, "redis read", [&] {
    if (c->close) {
      // The worker is stopping (ngx_close_idle_connections): the observer
      // may free this connection, so nothing of it is touched after.
      c->close = 0;
      link->observer_.worker_stopping();
      return;
    }
    if (link->ac_ == nullptr) return;
    redisAsyncHandleRead(link->ac_);
    link->after_read();
  });
}

// hiredis reads at most 16 KiB a call and keeps a reply until it is whole:
// what it holds unparsed is bounded here, one read past the bound at most.
void RedisLink::after_read() noexcept {
  if (ac_ == nullptr || ac_->c.reader == nullptr) return;
  const redisReader* reader = ac_->c.reader;
  const std::size_t buffered = reader->len - std::min(reader->pos, reader->len);
  if (buffered <= max_buffered_) return;
  if (status_ != nullptr) {
    presence::cluster::bump(
        status_->counters.drops[static_cast<std::size_t>(presence::cluster::Drop::oversized)]);
  }
  guarded(log_, NGX_LOG_ERR, "redis link", [&] {
    why_ = "a reply of more than " + std::to_string(max_buffered_) +
           " bytes (dropped with the connection)";
  });
  redisAsyncFree(ac_);
}

void RedisLink::on_write_event(ngx_event_t* ev) noexcept {
  auto* c = static_cast<ngx_connection_t*>(ev->data);
  RedisLink* link = link_of(c->data);
  guarded(link->log_, NGX_LOG_ERR, "redis write", [&] {
    if (link->ac_ != nullptr) redisAsyncHandleWrite(link->ac_);
  });
}

void RedisLink::on_timer(ngx_event_t* ev) noexcept {
  auto* timer = reinterpret_cast<Timer*>(ev);
  RedisLink* link = timer->link;
  guarded(link->log_, NGX_LOG_ERR, "redis timer", [&] {
    if (timer == &link->connect_timer_) {
      link->restart("not up within the connect timeout");
    } else if (!link->stopped_ && link->state_ == State::waiting) {
      link->connect();
    }
  });
}

// --- hiredis's event hooks ---

void RedisLink::add_read(void* privdata) noexcept {
  RedisLink* link = link_of(privdata);
  ngx_event_t* rev = link->conn_ != nullptr ? link->conn_->read : nullptr;
  if (rev != nullptr && !rev->active &&
      ngx_add_event(rev, NGX_READ_EVENT, NGX_LEVEL_EVENT) != NGX_OK) {
    link->restart("could not watch the socket for reading");
  }
}

void RedisLink::del_read(void* privdata) noexcept {
  RedisLink* link = link_of(privdata);
  ngx_event_t* rev = link->conn_ != nullptr ? link->conn_->read : nullptr;
  if (rev != nullptr && rev->active) ngx_del_event(rev, NGX_READ_EVENT, 0);
}

void RedisLink::add_write(void* privdata) noexcept {
  RedisLink* link = link_of(privdata);
  ngx_event_t* wev = link->conn_ != nullptr ? link->conn_->write : nullptr;
  if (wev != nullptr && !wev->active &&
      ngx_add_event(wev, NGX_WRITE_EVENT, NGX_LEVEL_EVENT) != NGX_OK) {
    link->restart("could not watch the socket for writing");
  }
}

void RedisLink::del_write(void* privdata) noexcept {
  RedisLink* link = link_of(privdata);
  ngx_event_t* wev = link->conn_ != nullptr ? link->conn_->write : nullptr;
  if (wev != nullptr && wev->active) ngx_del_event(wev, NGX_WRITE_EVENT, 0);
}

// The socket is still open here; hiredis closes it right after.
void RedisLink::cleanup(void* privdata) noexcept {
  RedisLink* link = link_of(privdata);
  if (ngx_connection_t* c = link->conn_) {
    if (c->read->active) ngx_del_event(c->read, NGX_READ_EVENT, 0);
    if (c->write->active) ngx_del_event(c->write, NGX_WRITE_EVENT, 0);
    // ngx_delete_posted_event is several statements: braces needed.
    if (c->read->posted) {
      ngx_delete_posted_event(c->read);
    }
    if (c->write->posted) {
      ngx_delete_posted_event(c->write);
    }
    ngx_free_connection(c);
    c->fd = static_cast<ngx_socket_t>(-1);
    link->conn_ = nullptr;
  }
  if (link->ac_ != nullptr) link->lost();
}

// --- hiredis's callbacks ---

void RedisLink::on_connect(const redisAsyncContext* ac, int status) noexcept {
  RedisLink* link = link_of(ac->data);
  if (status == REDIS_OK) {
    link->on_connected();
    return;
  }
  // hiredis frees the context next, which ends in cleanup().
  guarded(link->log_, NGX_LOG_ERR, "redis link",
          [&] { link->why_ = "connect failed: " + link->scrub(ac->errstr); });
}

void RedisLink::on_disconnect(const redisAsyncContext*, int) noexcept {}

void RedisLink::on_auth_reply(redisAsyncContext*, void* r, void* privdata) noexcept {
  RedisLink* link = link_of(privdata);
  const auto* reply = static_cast<const redisReply*>(r);
  if (reply == nullptr || link->state_ != State::authenticating) return;
  if (reply->type == REDIS_REPLY_STATUS) {
    if (link->role_ == Role::subscriber) {
      link->subscribe();
    } else {
      link->became_ready();
    }
    return;
  }
  std::string why;
  guarded(link->log_, NGX_LOG_ERR, "redis link", [&] {
    why =
        "AUTH refused: " + (reply->type == REDIS_REPLY_ERROR ? link->scrub({reply->str, reply->len})
                                                             : std::string("an unexpected reply"));
  });
  link->restart(why.c_str());
}

void RedisLink::on_subscription(redisAsyncContext*, void* r, void* privdata) noexcept {
  RedisLink* link = link_of(privdata);
  const auto* reply = static_cast<const redisReply*>(r);
  if (reply == nullptr || reply->type != REDIS_REPLY_ARRAY || reply->elements < 3) return;
  const redisReply* kind = reply->element[0];
  const redisReply* channel = reply->element[1];
  const redisReply* payload = reply->element[2];
  if (kind->type != REDIS_REPLY_STRING || channel->type != REDIS_REPLY_STRING) return;
  const std::string_view what(kind->str, kind->len);
  if (what == "message" && payload->type == REDIS_REPLY_STRING) {
    if (link->state_ == State::ready) {
      link->observer_.link_message(*link, {channel->str, channel->len},
                                   {payload->str, payload->len});
    }
  } else if (what == "subscribe" && link->state_ == State::subscribing) {
    if (++link->subscribed_ == link->channels_.size()) link->became_ready();
  }
}

void RedisLink::on_reply(redisAsyncContext*, void* r, void* privdata) noexcept {
  auto* pending = static_cast<Pending*>(privdata);
  RedisLink* link = pending->link;
  const auto* reply = static_cast<const redisReply*>(r);
  link->answered(pending->bytes);
  // null: the connection is going, every pending reply completes so.
  if (reply != nullptr) link->backoff_.reset();
  if (reply != nullptr && reply->type == REDIS_REPLY_ERROR) {
    if (link->status_ != nullptr) presence::cluster::bump(link->status_->counters.redis_errors);
    if (link->failure_log_.take()) {
      guarded(link->log_, NGX_LOG_ERR, "redis link", [&] {
        const std::string why = link->scrub({reply->str, reply->len});
        const std::string more = link->failure_log_.note();
        ngx_log_error(NGX_LOG_ERR, link->log_, 0, "presence cluster: redis refused %s: %s%s",
                      pending->command, why.c_str(), more.c_str());
      });
    }
  }
  if (pending->done) {
    std::optional<std::string_view> value;
    if (reply != nullptr && reply->type == REDIS_REPLY_STRING)
      value.emplace(reply->str, reply->len);
    guarded(link->log_, NGX_LOG_ERR, "redis GET reply", [&] { pending->done(value); });
  }
  delete pending;
}

}  // namespace presence::ngx
