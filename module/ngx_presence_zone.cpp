// The shared-memory zone that holds the tracker for every worker, in nginx's
// shared-memory idiom (ngx_http_limit_req_module.c): the handle lives with the
// cycle (shm_zone->data), init_zone reuses the previous cycle's data on
// reload, and the only lock is the zone's shpool->mutex, which the master
// force-unlocks when a worker dies holding it. A cycle that fails after its
// zones were set up is simply dropped: nothing process-wide points into it.
#include "ngx_presence_zone.hpp"

#include <new>
#include <optional>
#include <string>
#include <type_traits>

#include "ngx_presence_cluster.hpp"
#include "ngx_presence_guard.hpp"
#include "presence/process_identity.hpp"

namespace presence::ngx {
namespace {

// Open sockets of the worker in one nginx process slot.
struct WorkerSockets {
  ngx_atomic_t pid;  // 0: free; published last by the worker taking the slot
  std::uint64_t start_time;
  ngx_atomic_t open;
};

// What the zone holds besides the tracker region, found again on reload
// through the previous cycle's ZoneState.
struct ZoneHeader {
  Counters counters;
  WorkerSockets workers[NGX_MAX_PROCESSES];
  ClusterShared cluster;
  u_char* region;
  size_t region_size;
};

// One cycle's view of its zone (shm_zone->data), in the cycle's pool.
struct ZoneState {
  MainConf* conf;
  size_t previous_size;  // of the zone this one replaces on reload, 0 if none
  ZoneHeader* shared;
  std::optional<presence::Tracker> tracker;
};

// The tracker handle owns process-local state (the catalogue), so the cycle's
// pool destroys the ZoneState it was placed in when the cycle goes.
void destroy_zone_state(void* data) noexcept {
  static_cast<ZoneState*>(data)->~ZoneState();
}

presence::ProcessIdentity g_self;

ZoneState* current_zone() noexcept {
  auto* cycle = const_cast<ngx_cycle_t*>(ngx_cycle);
  auto* pmcf =
      static_cast<MainConf*>(ngx_http_cycle_get_module_main_conf(cycle, ngx_http_presence_module));
  if (pmcf == nullptr || pmcf->zone == nullptr) return nullptr;
  auto* zone = static_cast<ZoneState*>(pmcf->zone->data);
  return zone != nullptr && zone->tracker ? zone : nullptr;
}

void lock_shpool(void* mutex) noexcept {
  ngx_shmtx_lock(static_cast<ngx_shmtx_t*>(mutex));
}
void unlock_shpool(void* mutex) noexcept {
  ngx_shmtx_unlock(static_cast<ngx_shmtx_t*>(mutex));
}

presence::TrackerConfig tracker_config(const MainConf* pmcf) {
  presence::TrackerConfig cfg;
  cfg.node_name.assign(reinterpret_cast<const char*>(pmcf->node_name.data), pmcf->node_name.len);
  // A replica is a node name plus a start generation: a restarted nginx is
  // a new replica, a reload is the same one.
  cfg.generation = static_cast<std::uint64_t>(ngx_time()) * 1000000u +
                   static_cast<std::uint64_t>(ngx_pid % 1000000);
  cfg.change_log_bytes = pmcf->change_log_bytes;
  cfg.tombstone_log_entries = pmcf->tombstones;
  cfg.history_seconds = static_cast<size_t>(pmcf->history_seconds);
  cfg.history_minutes = static_cast<size_t>(pmcf->history_minutes) / 60;
  cfg.stats_top = pmcf->stats_top;
  cfg.max_strings = pmcf->max_strings;
  if (pmcf->catalog != nullptr) cfg.catalog = *pmcf->catalog;
  return cfg;
}

ngx_int_t open_tracker(ngx_shm_zone_t* shm_zone, ZoneState* zone, bool fresh) noexcept {
  auto* shpool = reinterpret_cast<ngx_slab_pool_t*>(shm_zone->shm.addr);
  const presence::LockOps lock{&shpool->mutex, lock_shpool, unlock_shpool};
  std::string error;
  const bool opened = guarded(shm_zone->shm.log, NGX_LOG_EMERG, "presence_zone", [&] {
    zone->tracker = presence::Tracker::open(zone->shared->region, zone->shared->region_size, lock,
                                            tracker_config(zone->conf), fresh, &error);
  });
  if (!opened) return NGX_ERROR;
  if (!zone->tracker) {
    ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0, "presence_zone \"%V\": %s",
                  &shm_zone->shm.name, error.c_str());
    return NGX_ERROR;
  }
  return NGX_OK;
}

// A kept zone keeps its replica name and change log: changing them needs a
// new zone, which a restart (or another size) gives.
bool same_settings(ngx_shm_zone_t* shm_zone, const MainConf* now, const MainConf* before) {
  if (ngx_view(now->node_name) != ngx_view(before->node_name)) {
    ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                  "presence_zone \"%V\" cannot change node=%V to node=%V on reload: "
                  "restart nginx, or give the zone another size",
                  &shm_zone->shm.name, &before->node_name, &now->node_name);
    return false;
  }
  if (now->change_log_bytes != before->change_log_bytes) {
    ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                  "presence_zone \"%V\" cannot change change_log=%uz to %uz bytes on reload: "
                  "restart nginx, or give the zone another size",
                  &shm_zone->shm.name, before->change_log_bytes, now->change_log_bytes);
    return false;
  }
  if (now->tombstones != before->tombstones) {
    ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                  "presence_zone \"%V\" cannot change tombstones=%uz to %uz on reload: "
                  "restart nginx, or give the zone another size",
                  &shm_zone->shm.name, before->tombstones, now->tombstones);
    return false;
  }
  return true;
}

ngx_int_t init_zone(ngx_shm_zone_t* shm_zone, void* data) noexcept {
  auto* zone = static_cast<ZoneState*>(shm_zone->data);
  auto* shpool = reinterpret_cast<ngx_slab_pool_t*>(shm_zone->shm.addr);

  if (data != nullptr) {
    // Reload with the same size: the same region, every presence and counter kept.
    const auto* before = static_cast<ZoneState*>(data);
    if (!same_settings(shm_zone, zone->conf, before->conf)) return NGX_ERROR;
    zone->shared = before->shared;
    return open_tracker(shm_zone, zone, false);
  }

  auto* zh = static_cast<ZoneHeader*>(ngx_slab_calloc(shpool, sizeof(ZoneHeader)));
  if (zh == nullptr) return NGX_ERROR;
  // The rest of the zone, in whole pages, is the tracker's region.
  ngx_shmtx_lock(&shpool->mutex);
  size_t pages = shpool->pfree;
  u_char* region = nullptr;
  while (pages > 0 && region == nullptr) {
    region = static_cast<u_char*>(ngx_slab_alloc_locked(shpool, pages * ngx_pagesize));
    if (region == nullptr) pages--;
  }
  ngx_shmtx_unlock(&shpool->mutex);
  if (region == nullptr) {
    ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0, "presence_zone \"%V\" has no free pages",
                  &shm_zone->shm.name);
    return NGX_ERROR;
  }
  zh->region = region;
  zh->region_size = pages * ngx_pagesize;
  shpool->data = zh;
  shpool->log_nomem = 0;  // a full zone is reported by the tracker, once per refusal
  zone->shared = zh;
  if (zone->previous_size != 0) {
    // As nginx does for its own zones: another size is another zone.
    ngx_log_error(NGX_LOG_NOTICE, shm_zone->shm.log, 0,
                  "presence_zone \"%V\" resized from %uz to %uz bytes: a new, empty zone; "
                  "shoppers are tracked in it as they reconnect to the new workers",
                  &shm_zone->shm.name, zone->previous_size, shm_zone->shm.size);
  }
  return open_tracker(shm_zone, zone, true);
}

// The size of the running cycle's zone of this name, 0 when there is none.
size_t running_size(ngx_conf_t* cf, ngx_shm_zone_t* shm_zone) {
  ngx_cycle_t* old = cf->cycle->old_cycle;
  if (old == nullptr) return 0;
  ngx_list_part_t* part = &old->shared_memory.part;
  auto* zones = static_cast<ngx_shm_zone_t*>(part->elts);
  for (ngx_uint_t i = 0;; i++) {
    if (i >= part->nelts) {
      if (part->next == nullptr) return 0;
      part = part->next;
      zones = static_cast<ngx_shm_zone_t*>(part->elts);
      i = 0;
    }
    if (zones[i].tag == shm_zone->tag &&
        ngx_view(zones[i].shm.name) == ngx_view(shm_zone->shm.name))
      return zones[i].shm.size;
  }
}

WorkerSockets* own_socket_slot() noexcept {
  ZoneState* zone = current_zone();
  if (zone == nullptr || ngx_process_slot < 0 || ngx_process_slot >= NGX_MAX_PROCESSES) {
    return nullptr;
  }
  return &zone->shared->workers[ngx_process_slot];
}

}  // namespace

char* zone_configure(ngx_conf_t* cf, MainConf* pmcf) noexcept {
  ngx_pool_cleanup_t* cleanup = ngx_pool_cleanup_add(cf->pool, sizeof(ZoneState));
  if (cleanup == nullptr) return static_cast<char*>(NGX_CONF_ERROR);
  auto* zone = new (cleanup->data) ZoneState{};
  cleanup->handler = destroy_zone_state;
  zone->conf = pmcf;
  const size_t before = running_size(cf, pmcf->zone);
  if (before != pmcf->zone->shm.size) zone->previous_size = before;
  pmcf->zone->init = init_zone;
  pmcf->zone->data = zone;
  return NGX_CONF_OK;
}

presence::Tracker* zone_tracker() noexcept {
  ZoneState* zone = current_zone();
  return zone != nullptr ? &*zone->tracker : nullptr;
}

Counters* zone_counters() noexcept {
  ZoneState* zone = current_zone();
  return zone != nullptr ? &zone->shared->counters : nullptr;
}

ClusterShared* zone_cluster() noexcept {
  ZoneState* zone = current_zone();
  return zone != nullptr ? &zone->shared->cluster : nullptr;
}

ngx_shmtx_t* zone_mutex() noexcept {
  ZoneState* zone = current_zone();
  if (zone == nullptr) return nullptr;
  return &reinterpret_cast<ngx_slab_pool_t*>(zone->conf->zone->shm.addr)->mutex;
}

void count_socket(ngx_atomic_int_t n) noexcept {
  if (WorkerSockets* slot = own_socket_slot()) ngx_atomic_fetch_add(&slot->open, n);
}

std::uint64_t sockets_open() {
  ZoneState* zone = current_zone();
  if (zone == nullptr) return 0;
  std::uint64_t open = 0;
  for (const WorkerSockets& w : zone->shared->workers) {
    const auto pid = static_cast<std::uint32_t>(w.pid);
    if (pid != 0 && presence::is_running({pid, w.start_time})) open += w.open;
  }
  return open;
}

presence::Owner worker_owner(std::uint64_t conn) noexcept {
  return presence::Owner{g_self.pid, conn, g_self.start_time};
}

void zone_worker_start(ngx_log_t* log) noexcept {
  const auto pid = static_cast<std::uint32_t>(ngx_pid);
  g_self = presence::ProcessIdentity{pid, 0};
  guarded(log, NGX_LOG_WARN, "reading this worker's start time", [&] {
    if (auto self = presence::process_identity(pid)) g_self = *self;
  });
  // The master reuses a slot only once its previous worker is gone.
  if (WorkerSockets* slot = own_socket_slot()) {
    slot->open = 0;
    slot->start_time = g_self.start_time;
    ngx_memory_barrier();
    slot->pid = pid;
  }
}

void zone_worker_exit() noexcept {
  if (WorkerSockets* slot = own_socket_slot()) slot->pid = 0;
}

std::size_t zone_forget_dead_workers() {
  ZoneState* zone = current_zone();
  if (zone == nullptr) return 0;
  std::size_t forgotten = 0;
  for (WorkerSockets& w : zone->shared->workers) {
    const ngx_atomic_uint_t pid = w.pid;
    if (pid == 0 || presence::is_running({static_cast<std::uint32_t>(pid), w.start_time})) continue;
    // A worker taking the slot meanwhile has published its own pid: kept.
    if (ngx_atomic_cmp_set(&w.pid, pid, 0)) ++forgotten;
  }
  return forgotten;
}

}  // namespace presence::ngx
