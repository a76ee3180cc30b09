// The cluster driver: one worker per node, the holder of the zone's lease,
// owns the two Redis links and the protocol node (presence::cluster::Node),
// and carries out what the node asks. Every worker runs the lease timer, so
// that a dead owner (SIGKILL, even inside a merge: the master force-unlocks
// the zone's mutex and the tracker repairs) is replaced within about
// kLeaseRenewMs, and an owner told to stop (reload, quit) hands over at once.
// The master announces the node's permanent departure when nginx stops.
#include "ngx_presence_cluster.hpp"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <memory>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ngx_presence_guard.hpp"
#include "ngx_presence_redis.hpp"
#include "ngx_presence_zone.hpp"
#include "presence/cluster_metrics.hpp"
#include "presence/cluster_node.hpp"
#include "presence/process_identity.hpp"
#include "presence/replication.hpp"

namespace presence::ngx {

static_assert(std::is_trivially_copyable_v<ClusterShared>);

namespace {

using presence::cluster::Command;
using presence::cluster::Drop;

// Our own heartbeat not back for this many heartbeat periods: the subscribed
// connection is dead (PING on a subscribed 0.14 connection never answers).
constexpr std::int64_t kEchoMissesBeforeReconnect = 3;
// Each slice of a large merge holds the zone lock about this long.
constexpr std::int64_t kMergeBudgetNs = 2'000'000;
constexpr std::int64_t kDropLogIntervalMs = 10'000;
// A transfer stored in keys is cut into chunks of this size.
constexpr std::size_t kChunkBytes = 1024 * 1024;
// What a reply may hold unparsed: the largest message or chunk accepted, its
// RESP framing and one more 16 KiB read.
constexpr std::size_t kReplySlack = 64 * 1024;
constexpr std::size_t kMaxSubscriberBuffered =
    presence::cluster::kMaxInlineMessageBytes + kReplySlack;
constexpr std::size_t kMaxCommandBuffered =
    std::max(kChunkBytes, presence::cluster::kMaxInlineMessageBytes) + kReplySlack;
// Commands sent and not yet answered: room for the largest transfer.
constexpr std::size_t kMaxUnansweredBytes =
    presence::cluster::kMaxAssembledBytes + 2 * presence::cluster::kMaxInlineMessageBytes;
// A worker that failed to start the node (logged) tries again after this long.
constexpr std::int64_t kStartRetryMs = 5000;
// The master's announcement at a stop: connect, AUTH and PUBLISH each wait this long at most.
constexpr int kMasterPublishTimeoutMs = 200;

const MainConf* main_conf(const ngx_cycle_t* cycle) {
  return static_cast<const MainConf*>(ngx_http_cycle_get_module_main_conf(
      const_cast<ngx_cycle_t*>(cycle), ngx_http_presence_module));
}

bool clustered(const MainConf* pmcf) {
  return pmcf != nullptr && pmcf->zone != nullptr && pmcf->cluster != nullptr &&
         !pmcf->cluster->name.empty();
}

presence::cluster::Settings settings_of(const MainConf& pmcf) {
  presence::cluster::Settings settings;
  settings.cluster = pmcf.cluster->name;
  settings.key = pmcf.cluster->key;
  settings.batch_ms = static_cast<std::int64_t>(pmcf.cluster_batch);
  settings.heartbeat_ms = static_cast<std::int64_t>(pmcf.cluster_heartbeat);
  settings.down_ms = static_cast<std::int64_t>(pmcf.cluster_down);
  settings.permdown_ms = static_cast<std::int64_t>(pmcf.cluster_permdown);
  settings.chunk_bytes = kChunkBytes;
  settings.merge_slice_ns = kMergeBudgetNs;
  return settings;
}

presence::cluster::Lease read_lease(const ClusterShared& shared) {
  return {{static_cast<std::uint32_t>(shared.lease_pid),
           static_cast<std::uint64_t>(shared.lease_start_time)},
          static_cast<std::int64_t>(shared.lease_until_ms)};
}

void store_linked(presence::cluster::Status& status, bool linked) {
  std::atomic_ref<std::uint8_t>(status.linked).store(linked ? 1 : 0, std::memory_order_relaxed);
}

class Driver;
Driver* g_driver = nullptr;
ngx_event_t g_lease_timer;
ngx_event_t g_batch_timer;
ngx_event_t g_merge_event;

void on_lease_timer(ngx_event_t* ev) noexcept;
void on_batch_timer(ngx_event_t* ev) noexcept;
void on_merge_event(ngx_event_t* ev) noexcept;

class Driver final : public RedisLinkObserver {
 public:
  Driver(ngx_cycle_t* cycle, const MainConf& conf, ClusterShared& shared,
         presence::Tracker& tracker, ngx_shmtx_t& mutex)
      : log_(cycle->log), conf_(conf), shared_(shared), tracker_(tracker), mutex_(mutex) {
    endpoint_.address = conf.cluster->redis;
    endpoint_.auth = conf.cluster->auth ? &*conf.cluster->auth : nullptr;
    self_ = presence::ProcessIdentity{static_cast<std::uint32_t>(ngx_pid), 0};
    if (auto identity = presence::process_identity(self_.pid)) self_ = *identity;
  }

  ~Driver() { stop_owning(nullptr); }

  // Every kLeaseRenewMs: renew, take or wait; the owner checks its links.
  void lease_tick() noexcept {
    if (stopping()) {
      give_up("this worker is stopping");
      return;
    }
    const std::int64_t now = ngx_now_ms();
    if (!owning() && now < start_again_ms_) {
      ngx_add_timer(&g_lease_timer, static_cast<ngx_msec_t>(presence::cluster::kLeaseRenewMs));
      return;
    }
    const presence::cluster::LeaseAction action = lease_step(now);
    using presence::cluster::LeaseAction;
    if (owning() && action != LeaseAction::renew) {
      stop_owning("another worker holds the lease now");
    } else if (!owning() && action != LeaseAction::wait) {
      start_owning(action == LeaseAction::take_over, now);
    }
    if (owning()) check_links(now);
    ngx_add_timer(&g_lease_timer, static_cast<ngx_msec_t>(presence::cluster::kLeaseRenewMs));
  }

  void batch_tick() noexcept {
    if (!owning()) return;
    // Stalled past the lease (a long block of this worker): another worker
    // took over, and one owner publishes at a time.
    if (static_cast<std::uint32_t>(shared_.lease_pid) != self_.pid) {
      stop_owning("another worker holds the lease now");
      return;
    }
    const std::int64_t now = ngx_now_ms();
    std::vector<Command> out;
    if (guarded(log_, NGX_LOG_ERR, "cluster tick", [&] { node_->tick(now, out); })) execute(out);
    log_drops(now);
    ngx_add_timer(&g_batch_timer, conf_.cluster_batch);
  }

  void merge_slice() noexcept {
    if (!owning() || !node_->merging()) return;
    const std::int64_t now = ngx_now_ms();
    std::vector<Command> out;
    if (guarded(log_, NGX_LOG_ERR, "cluster merge",
                [&] { node_->merge_some(now, kMergeBudgetNs, out); })) {
      execute(out);
    }
  }

  // Releases the lease and closes the links; the replica stays (no permdown).
  void give_up(const char* why) noexcept {
    if (g_lease_timer.timer_set) ngx_del_timer(&g_lease_timer);
    stop_owning(why);
    release_lease();
  }

  // --- RedisLinkObserver ---

  void link_up(RedisLink&) noexcept override { store_linked(shared_.status, linked()); }

  void link_down(RedisLink&) noexcept override { store_linked(shared_.status, false); }

  void link_message(RedisLink&, std::string_view channel,
                    std::string_view message) noexcept override {
    if (!owning()) return;
    const std::int64_t now = ngx_now_ms();
    std::vector<Command> out;
    if (guarded(log_, NGX_LOG_ERR, "cluster message",
                [&] { node_->on_message(channel, message, now, out); })) {
      execute(out);
    }
  }

  void worker_stopping() noexcept override { give_up("this worker is stopping"); }

 private:
  struct Fetch {
    std::vector<std::optional<std::string>> values;
    std::size_t remaining = 0;
    std::size_t bytes = 0;
    bool too_large = false;
  };

  static bool stopping() { return ngx_exiting || ngx_quit || ngx_terminate; }
  bool owning() const { return node_ != nullptr; }
  bool linked() const {
    return command_ && subscriber_ && command_->ready() && subscriber_->ready();
  }

  // The decision is taken under the zone's mutex (force-unlocked by the
  // master if a worker dies holding it), so two workers never both take it.
  presence::cluster::LeaseAction lease_step(std::int64_t now) noexcept {
    using presence::cluster::LeaseAction;
    const presence::cluster::Lease seen = read_lease(shared_);
    // /proc is read outside the lock; a lease that changed meanwhile is left to its new holder.
    const bool seen_running = seen.owner.pid != 0 && !(seen.owner == self_) &&
                              guarded(log_, NGX_LOG_WARN, "lease owner", true,
                                      [&] { return presence::is_running(seen.owner); });
    ngx_shmtx_lock(&mutex_);
    const presence::cluster::Lease current = read_lease(shared_);
    const bool running = current.owner == seen.owner ? seen_running : true;
    const LeaseAction action = presence::cluster::decide_lease(current, self_, running, now);
    if (action != LeaseAction::wait) {
      shared_.lease_until_ms = static_cast<ngx_atomic_uint_t>(now + presence::cluster::kLeaseMs);
      if (action != LeaseAction::renew) {
        shared_.lease_start_time = static_cast<ngx_atomic_uint_t>(self_.start_time);
        ngx_memory_barrier();
        shared_.lease_pid = self_.pid;
        taken_from_ = current.owner.pid;
      }
    }
    ngx_shmtx_unlock(&mutex_);
    return action;
  }

  // Messages dropped since the last line, by reason: one line per
  // kDropLogIntervalMs at most, whatever the bus carries.
  void log_drops(std::int64_t now) noexcept {
    if (now - drops_logged_ms_ < kDropLogIntervalMs) return;
    const auto& counted = shared_.status.counters.drops;
    std::string reasons;
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < presence::cluster::kDropReasons; ++i) {
      const std::uint64_t n = presence::cluster::read(counted[i]) - drops_logged_[i];
      if (n == 0) continue;
      total += n;
      drops_logged_[i] += n;
      reasons += reasons.empty() ? "" : ", ";
      reasons += std::string(presence::cluster::drop_reason_name(static_cast<Drop>(i)));
      reasons += ' ';
      reasons += std::to_string(n);
    }
    if (total == 0) return;
    drops_logged_ms_ = now;
    ngx_log_error(NGX_LOG_WARN, log_, 0,
                  "presence cluster: dropped %uL messages from the bus (%s); nothing of them was "
                  "merged",
                  total, reasons.c_str());
  }

  void release_lease() noexcept {
    ngx_shmtx_lock(&mutex_);
    if (read_lease(shared_).owner == self_) {
      shared_.lease_pid = 0;
      shared_.lease_until_ms = 0;
    }
    ngx_shmtx_unlock(&mutex_);
  }

  void start_owning(bool took_over, std::int64_t now) noexcept {
    const bool started = guarded(log_, NGX_LOG_ERR, "cluster start", [&] {
      presence::cluster::Settings settings = settings_of(conf_);
      node_ = std::make_unique<presence::cluster::Node>(
          presence::Replication(tracker_), std::move(settings),
          static_cast<std::uint64_t>(shared_.cursor), &shared_.status, now);
      for (std::size_t i = 0; i < presence::cluster::kDropReasons; ++i) {
        drops_logged_[i] = presence::cluster::read(shared_.status.counters.drops[i]);
      }
      command_ = std::make_unique<RedisLink>(RedisLink::Role::command, endpoint_,
                                             std::vector<std::string>{}, kMaxCommandBuffered,
                                             kMaxUnansweredBytes, *this, &shared_.status, log_);
      subscriber_ =
          std::make_unique<RedisLink>(RedisLink::Role::subscriber, endpoint_, node_->channels(),
                                      kMaxSubscriberBuffered, 0, *this, &shared_.status, log_);
    });
    if (!started) {
      // Logged by guarded(); another worker may fare better, this one waits.
      stop_owning(nullptr);
      release_lease();
      start_again_ms_ = now + kStartRetryMs;
      return;
    }
    if (took_over) {
      presence::cluster::bump(shared_.status.counters.takeovers);
      ngx_log_error(NGX_LOG_NOTICE, log_, 0,
                    "presence cluster: this worker took over the Redis link of node \"%V\" in "
                    "cluster \"%s\" from worker %ui, which exited or stalled",
                    &conf_.node_name, conf_.cluster->name.c_str(),
                    static_cast<ngx_uint_t>(taken_from_));
    } else {
      ngx_log_error(NGX_LOG_NOTICE, log_, 0,
                    "presence cluster: this worker owns the Redis link of node \"%V\" in "
                    "cluster \"%s\"",
                    &conf_.node_name, conf_.cluster->name.c_str());
    }
    command_->start();
    subscriber_->start();
    ngx_add_timer(&g_batch_timer, conf_.cluster_batch);
  }

  // Closes the links (pending GETs complete as missing, and are ignored) and
  // drops the node; the zone keeps the cursor and the status.
  void stop_owning(const char* why) noexcept {
    if (!node_ && !command_ && !subscriber_) return;
    dropping_ = true;
    if (command_) command_->stop();
    if (subscriber_) subscriber_->stop();
    command_.reset();
    subscriber_.reset();
    fetches_.clear();
    if (node_) shared_.cursor = static_cast<ngx_atomic_uint_t>(node_->cursor());
    node_.reset();
    dropping_ = false;
    if (g_batch_timer.timer_set) ngx_del_timer(&g_batch_timer);
    if (g_merge_event.posted) {
      ngx_delete_posted_event(&g_merge_event);  // several statements
    }
    store_linked(shared_.status, false);
    if (why != nullptr) {
      ngx_log_error(NGX_LOG_NOTICE, log_, 0,
                    "presence cluster: this worker gave up the Redis link: %s", why);
    }
  }

  void check_links(std::int64_t now) noexcept {
    const std::int64_t limit =
        kEchoMissesBeforeReconnect * static_cast<std::int64_t>(conf_.cluster_heartbeat);
    store_linked(shared_.status, linked());
    if (linked()) {
      const std::int64_t since = std::max(
          {node_->last_echo_ms(), subscriber_->ready_since_ms(), command_->ready_since_ms()});
      if (now - since > limit) {
        subscriber_->restart("our own heartbeat did not come back for 3 heartbeat periods");
      }
    }
    if (command_->stalled(now, limit)) {
      command_->restart("no reply to a command for 3 heartbeat periods");
    }
  }

  // Carries out the node's commands in order. A command the link cannot take
  // (down, or over its bound) is dropped and counted as a Redis error: the
  // protocol recovers (a peer missing a delta asks for it).
  void execute(std::vector<Command>& commands) noexcept {
    std::uint64_t refused = 0;
    for (Command& command : commands) {
      switch (command.op) {
        case Command::Op::publish:
          if (!command_->publish(command.target, command.bytes)) ++refused;
          break;
        case Command::Op::set_chunk:
          if (!command_->set_expiring(command.target, command.bytes, command.ttl_ms)) ++refused;
          break;
        case Command::Op::get_chunks:
          // Nothing awaited (no key could be asked for): the node hears so now.
          if (!fetch(command)) finish_fetch(command.fetch_id);
          break;
      }
    }
    if (refused != 0) presence::cluster::bump(shared_.status.counters.redis_errors, refused);
    commands.clear();
    shared_.cursor = static_cast<ngx_atomic_uint_t>(node_->cursor());
    if (node_->merging() && !g_merge_event.posted) {
      // After the events already ready: sockets are served between slices.
      ngx_post_event(&g_merge_event, &ngx_posted_next_events);
    }
  }

  // False when nothing is awaited any more: the caller finishes the fetch.
  bool fetch(const Command& command) noexcept {
    const std::uint64_t id = command.fetch_id;
    Fetch* fetch = guarded(log_, NGX_LOG_ERR, "cluster fetch", static_cast<Fetch*>(nullptr), [&] {
      Fetch& entry = fetches_[id];
      entry.values.assign(command.keys.size(), std::nullopt);
      entry.remaining = command.keys.size();
      return &entry;
    });
    if (fetch == nullptr) return false;
    for (std::size_t i = 0; i < command.keys.size(); i++) {
      const bool sent = guarded(log_, NGX_LOG_ERR, "cluster fetch", false, [&] {
        return command_->get(command.keys[i], [this, id, i](std::optional<std::string_view> value) {
          chunk_arrived(id, i, value);
        });
      });
      if (!sent) {
        // The keys not asked for stay missing; those asked for still answer.
        fetch->remaining -= command.keys.size() - i;
        break;
      }
    }
    return fetch->remaining != 0;
  }

  void chunk_arrived(std::uint64_t id, std::size_t index,
                     std::optional<std::string_view> value) noexcept {
    if (dropping_ || !owning()) return;
    auto it = fetches_.find(id);
    if (it == fetches_.end()) return;
    Fetch& fetch = it->second;
    if (value) {
      if (fetch.bytes + value->size() > presence::cluster::kMaxAssembledBytes) {
        fetch.too_large = true;
      } else if (!fetch.too_large) {
        guarded(log_, NGX_LOG_ERR, "cluster chunk", [&] {
          fetch.values[index].emplace(*value);
          fetch.bytes += value->size();
        });
      }
    }
    if (--fetch.remaining == 0) finish_fetch(id);
  }

  void finish_fetch(std::uint64_t id) noexcept {
    auto it = fetches_.find(id);
    if (it == fetches_.end() || !owning()) return;
    std::vector<std::optional<std::string>> values = std::move(it->second.values);
    if (it->second.too_large) {
      presence::cluster::bump(
          shared_.status.counters
              .drops[static_cast<std::size_t>(presence::cluster::Drop::oversized)]);
      for (auto& value : values) value.reset();
    }
    fetches_.erase(it);
    const std::int64_t now = ngx_now_ms();
    std::vector<Command> out;
    if (guarded(log_, NGX_LOG_ERR, "cluster chunks",
                [&] { node_->on_chunks(id, values, now, out); })) {
      execute(out);
    }
  }

  ngx_log_t* log_;
  const MainConf& conf_;
  ClusterShared& shared_;
  presence::Tracker& tracker_;
  ngx_shmtx_t& mutex_;
  RedisEndpoint endpoint_;
  presence::ProcessIdentity self_;
  std::uint64_t taken_from_ = 0;
  std::int64_t start_again_ms_ = 0;
  std::unique_ptr<presence::cluster::Node> node_;
  std::unique_ptr<RedisLink> command_;
  std::unique_ptr<RedisLink> subscriber_;
  std::unordered_map<std::uint64_t, Fetch> fetches_;
  bool dropping_ = false;
  // The drop counters as last logged (they live in the zone: a new owner
  // starts from what they hold, and logs only what it saw dropped).
  std::array<std::uint64_t, presence::cluster::kDropReasons> drops_logged_{};
  std::int64_t drops_logged_ms_ = 0;
};

void on_lease_timer(ngx_event_t* ev) noexcept {
  guarded(ev->log, NGX_LOG_ERR, "cluster lease", [] {
    if (g_driver != nullptr) g_driver->lease_tick();
  });
}

void on_batch_timer(ngx_event_t* ev) noexcept {
  guarded(ev->log, NGX_LOG_ERR, "cluster batch", [] {
    if (g_driver != nullptr) g_driver->batch_tick();
  });
}

void on_merge_event(ngx_event_t* ev) noexcept {
  guarded(ev->log, NGX_LOG_ERR, "cluster merge", [] {
    if (g_driver != nullptr) g_driver->merge_slice();
  });
}

void init_event(ngx_event_t& ev, ngx_event_handler_pt handler, ngx_log_t* log) {
  ev = ngx_event_t{};
  ev.handler = handler;
  ev.log = log;
  ev.data = timer_without_connection();
  ev.cancelable = 1;
}

// The master's last word: a blocking connection is fine here (workers are
// gone), each step bounded by kMasterPublishTimeoutMs.
void publish_blocking(const ClusterConf& cluster, const std::string& channel,
                      const std::string& message, ngx_log_t* log) {
  const timeval timeout{0, kMasterPublishTimeoutMs * 1000};
  const presence::cluster::RedisAddress& address = cluster.redis;
  redisContext* c = address.kind == presence::cluster::RedisAddress::Kind::unix_socket
                        ? redisConnectUnixWithTimeout(address.path.c_str(), timeout)
                        : redisConnectWithTimeout(address.host.c_str(), address.port, timeout);
  const std::string where = presence::cluster::describe(address);
  if (c == nullptr || c->err != 0) {
    ngx_log_error(NGX_LOG_WARN, log, 0,
                  "presence cluster: could not tell the cluster this node leaves: redis at %s: "
                  "%s",
                  where.c_str(), c != nullptr ? c->errstr : "out of memory");
    if (c != nullptr) redisFree(c);
    return;
  }
  std::unique_ptr<redisContext, void (*)(redisContext*)> context(c, redisFree);
  redisSetTimeout(c, timeout);
  auto command = [&](std::vector<std::string_view> args) -> bool {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (std::string_view arg : args) {
      argv.push_back(arg.data());
      lens.push_back(arg.size());
    }
    auto* reply = static_cast<redisReply*>(
        redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()));
    const bool ok = reply != nullptr && reply->type != REDIS_REPLY_ERROR;
    if (reply != nullptr) freeReplyObject(reply);
    return ok;
  };
  bool ok = true;
  if (cluster.auth) {
    ok = cluster.auth->user.empty() ? command({"AUTH", cluster.auth->password})
                                    : command({"AUTH", cluster.auth->user, cluster.auth->password});
  }
  ok = ok && command({"PUBLISH", channel, message});
  if (!ok) {
    ngx_log_error(NGX_LOG_WARN, log, 0,
                  "presence cluster: could not tell the cluster this node leaves: redis at %s "
                  "refused or did not answer",
                  where.c_str());
  }
}

}  // namespace

const presence::cluster::Status* cluster_status() noexcept {
  if (!clustered(main_conf(const_cast<ngx_cycle_t*>(ngx_cycle)))) return nullptr;
  ClusterShared* shared = zone_cluster();
  return shared != nullptr ? &shared->status : nullptr;
}

void cluster_worker_start(ngx_cycle_t* cycle) noexcept {
  const MainConf* pmcf = main_conf(cycle);
  if (!clustered(pmcf)) return;
  ClusterShared* shared = zone_cluster();
  presence::Tracker* tracker = zone_tracker();
  ngx_shmtx_t* mutex = zone_mutex();
  if (shared == nullptr || tracker == nullptr || mutex == nullptr) return;
  init_event(g_lease_timer, on_lease_timer, cycle->log);
  init_event(g_batch_timer, on_batch_timer, cycle->log);
  init_event(g_merge_event, on_merge_event, cycle->log);
  g_driver = guarded(cycle->log, NGX_LOG_ERR, "cluster", static_cast<Driver*>(nullptr),
                     [&] { return new Driver(cycle, *pmcf, *shared, *tracker, *mutex); });
  // At once: this worker may replace an owner that just died.
  if (g_driver != nullptr) g_driver->lease_tick();
}

void cluster_worker_exit(ngx_cycle_t*) noexcept {
  if (g_driver == nullptr) return;
  g_driver->give_up(nullptr);
  delete g_driver;
  g_driver = nullptr;
}

void cluster_master_exit(ngx_cycle_t* cycle) noexcept {
  const MainConf* pmcf = main_conf(cycle);
  if (!clustered(pmcf)) return;
  presence::Tracker* tracker = zone_tracker();
  if (tracker == nullptr) return;
  guarded(cycle->log, NGX_LOG_WARN, "announcing this node's departure", [&] {
    ngx_time_update();
    const std::int64_t now = ngx_now_ms();
    const presence::ReplicaName self = tracker->local_replica();
    const presence::cluster::Settings settings = settings_of(*pmcf);
    // Above every seq the owner sent in this millisecond or before.
    const std::uint64_t seq = (static_cast<std::uint64_t>(now) << 16) | 0xffffu;
    const std::string sealed = presence::cluster::seal_permdown(settings, self, seq, now);
    publish_blocking(*pmcf->cluster, presence::cluster::broadcast_channel(settings.cluster), sealed,
                     cycle->log);
    ngx_log_error(NGX_LOG_NOTICE, cycle->log, 0,
                  "presence cluster: node \"%s\" generation %uL leaves cluster \"%s\" for good",
                  self.node.c_str(), self.generation, settings.cluster.c_str());
  });
}

}  // namespace presence::ngx
