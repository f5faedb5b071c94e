// libFuzzer harness for configuration changes during a run (Simulation::update_config):
// the input is TOML text whose keys and values are the change. A change must be applied
// whole or refused whole with a ConfigError (the configuration then byte for byte as
// before), and an applied one must leave a simulation that keeps stepping.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "spikegraph/config/schema.hpp"
#include "spikegraph/config/toml.hpp"
#include "spikegraph/core/error.hpp"
#include "spikegraph/graph/generators.hpp"
#include "spikegraph/sim/simulation.hpp"

namespace {

// A small default network with every phase on (built once; each input gets a fresh
// simulation of it).
struct Base {
  spikegraph::config::Config cfg;
  std::shared_ptr<const spikegraph::Graph> graph;
  Base() : cfg(spikegraph::config::Config::from_toml(spikegraph::config::default_run_toml(), "<default run>")) {
    cfg.update(spikegraph::config::parse_toml(R"(
sim.threads = 1
graph.sensory_side = 4
graph.workspace_side = 2
graph.oscillators = 2
graph.relays = 2
graph.highways = 2
structure.enabled = true
structure.spare_nodes = 5
structure.interval = 5
metrics.interval = 5.0
)", "<fuzz base>"));
    graph = spikegraph::make_network(cfg);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Base base;
  spikegraph::config::FlatTable changes;
  try {
    changes = spikegraph::config::parse_toml(std::string(reinterpret_cast<const char*>(data), size), "<fuzz>");
  } catch (const spikegraph::Error&) {
    return 0;
  }
  spikegraph::Simulation sim(base.graph, base.cfg);
  sim.run_steps(3);
  const std::string before = sim.config().to_toml();
  try {
    sim.update_config(changes);
  } catch (const spikegraph::ConfigError&) {
    if (sim.config().to_toml() != before) std::abort();  // a refused change changed something
    return 0;
  }
  try {
    sim.run_steps(12);
  } catch (const spikegraph::Error&) {
    // A refusal at run time (e.g. a value the kernels cannot use) is allowed; a crash is not.
  }
  return 0;
}
