// The shared-memory zone that holds the tracker for every worker, in nginx's
// shared-memory idiom: init_zone reuses the previous cycle's data on reload,
// and the only lock is the zone's shpool->mutex, which the master
// force-unlocks when a worker dies holding it.
#include "ngx_presence_zone.hpp"

#include <exception>
#include <new>
#include <optional>
#include <string>

namespace presence::ngx {
namespace {

// What the zone holds besides the tracker region, found again on reload
// through shpool->data.
struct ZoneHeader {
  Counters counters;
  u_char* region;
  size_t region_size;
};

std::optional<presence::Tracker> g_tracker;
Counters* g_counters;

void lock_shpool(void* mutex) noexcept {
  ngx_shmtx_lock(static_cast<ngx_shmtx_t*>(mutex));
}
void unlock_shpool(void* mutex) noexcept {
  ngx_shmtx_unlock(static_cast<ngx_shmtx_t*>(mutex));
}

ngx_int_t open_tracker(ngx_shm_zone_t* shm_zone, ZoneHeader* zh, bool fresh) noexcept {
  auto* shpool = reinterpret_cast<ngx_slab_pool_t*>(shm_zone->shm.addr);
  auto* pmcf = static_cast<MainConf*>(shm_zone->data);
  presence::LockOps lock{&shpool->mutex, lock_shpool, unlock_shpool};
  try {
    presence::TrackerConfig cfg;
    cfg.node_name.assign(reinterpret_cast<const char*>(pmcf->node_name.data), pmcf->node_name.len);
    // A replica is a node name plus a start generation: a restarted nginx is
    // a new replica, a reload is the same one.
    cfg.generation = static_cast<std::uint64_t>(ngx_time()) * 1000000u +
                     static_cast<std::uint64_t>(ngx_pid % 1000000);
    cfg.change_log_bytes = pmcf->change_log_bytes;
    cfg.stats_top = pmcf->stats_top;
    cfg.max_strings = pmcf->max_strings;
    if (pmcf->catalog != nullptr) cfg.catalog = *pmcf->catalog;
    std::string error;
    g_tracker = presence::Tracker::open(zh->region, zh->region_size, lock, cfg, fresh, &error);
    if (!g_tracker) {
      ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0, "presence zone \"%V\": %s",
                    &shm_zone->shm.name, error.c_str());
      return NGX_ERROR;
    }
  } catch (const std::exception& e) {
    ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0, "presence zone \"%V\": %s",
                  &shm_zone->shm.name, e.what());
    return NGX_ERROR;
  }
  g_counters = &zh->counters;
  return NGX_OK;
}

ngx_int_t init_zone(ngx_shm_zone_t* shm_zone, void* data) noexcept {
  auto* shpool = reinterpret_cast<ngx_slab_pool_t*>(shm_zone->shm.addr);

  if (data != nullptr) {
    // Reload with an unchanged zone: keep every presence and the counters.
    return open_tracker(shm_zone, static_cast<ZoneHeader*>(shpool->data), false);
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
    ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0, "presence zone \"%V\" has no free pages",
                  &shm_zone->shm.name);
    return NGX_ERROR;
  }
  zh->region = region;
  zh->region_size = pages * ngx_pagesize;
  shpool->data = zh;
  shpool->log_nomem = 0;  // a full zone is reported by the tracker, once per refusal

  return open_tracker(shm_zone, zh, true);
}

}  // namespace

char* zone_configure(ngx_conf_t* cf, MainConf* pmcf) noexcept {
  pmcf->zone->init = init_zone;
  pmcf->zone->data = pmcf;
  return NGX_CONF_OK;
}

presence::Tracker* zone_tracker() noexcept {
  return g_tracker ? &*g_tracker : nullptr;
}

Counters* zone_counters() noexcept {
  return g_counters;
}

}  // namespace presence::ngx
