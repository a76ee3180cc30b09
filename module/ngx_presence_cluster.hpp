// Replication between nginx nodes through Redis: the worker that holds the
// zone's lease owns the Redis link and drives the cluster protocol node.
#pragma once

#include "ngx_presence_nginx.hpp"
#include "presence/cluster_status.hpp"

namespace presence::ngx {

// nullptr when this configuration has no presence_cluster.
const presence::cluster::Status* cluster_status() noexcept;

}  // namespace presence::ngx
