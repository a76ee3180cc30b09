// shopper-sim: simulated shoppers of a sneaker launch against the presence endpoints, with a
// merged JSON report (bench/launch.sh runs the big benchmarks with it).
#include <iostream>

#include "options.hpp"
#include "orchestrator.hpp"

int main(int argc, char** argv) {
  const presence::sim::OptionsResult parsed = presence::sim::parse_options(argc, argv);
  if (parsed.help) {
    std::cout << presence::sim::usage();
    return 0;
  }
  if (!parsed.options) {
    std::cerr << "shopper-sim: " << parsed.error << "\n(see shopper-sim --help)\n";
    return 2;
  }
  return presence::sim::run_simulation(*parsed.options);
}
