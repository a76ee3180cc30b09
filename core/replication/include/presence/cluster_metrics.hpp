// The cluster section of /metrics: what the Redis link's owner publishes in
// cluster::Status and the replicas the zone holds, as Prometheus text
// (exposition format 0.0.4, one HELP and TYPE per family).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "presence/cluster_status.hpp"
#include "presence/replica.hpp"

namespace presence::cluster {

// The label value of a drop reason ("bad_mac", ...), as the metrics name it.
std::string_view drop_reason_name(Drop reason) noexcept;

// Appends a family's "# HELP" and "# TYPE" lines (the module's own families use it too).
void append_family(std::string& out, std::string_view name, std::string_view type,
                   std::string_view help);

// Appends a label value escaped as the text format wants (\\, \", \n).
void append_label_value(std::string& out, std::string_view value);

// Appends every presence_cluster_* family to `out`. `replicas` comes from
// Tracker::replicas(); `now_ms` dates the peers' silence. Bounded: one series
// per replica slot and per peer slot (kMaxReplicas each).
void render_metrics(std::string& out, const Status& status,
                    const std::vector<ReplicaInfo>& replicas, std::int64_t now_ms);

}  // namespace presence::cluster
