// Prints the cluster section of /metrics for a sample cluster (every family
// with values), so that the integration tests can hand it to `promtool check
// metrics` next to a live scrape of a single node.
#include <iostream>
#include <string>

#include "cluster_metrics_sample.hpp"
#include "presence/cluster_metrics.hpp"

int main() {
  std::string out;
  presence::cluster::render_metrics(out, presence::test::sample_status(),
                                    presence::test::sample_replicas(),
                                    presence::test::kSampleNowMs);
  std::cout << out;
  return std::cout.good() ? 0 : 1;
}
