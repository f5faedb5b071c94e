// The cortical microcircuit (graph/microcircuit.hpp): the paper's numbers, the network
// a configuration describes, and the neurons it needs.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <string>

#include "spikegraph/config/toml.hpp"
#include "spikegraph/core/error.hpp"
#include "spikegraph/graph/generators.hpp"
#include "spikegraph/graph/microcircuit.hpp"
#include "spikegraph/sim/simulation.hpp"

using namespace spikegraph;

TEST_CASE("microcircuit: the full-scale numbers", "[graph][microcircuit]") {
  const MicrocircuitDesign d = microcircuit_design(1.0, 1.0, true);
  std::int64_t neurons = 0, synapses = 0;
  for (int i = 0; i < kMicrocircuitPopulations; ++i) {
    neurons += d.sizes[i];
    for (int j = 0; j < kMicrocircuitPopulations; ++j) synapses += d.counts[i][j];
  }
  CHECK(neurons == 77169);
  CHECK(synapses == 298880968);
  CHECK(psc_per_psp(250.0, 10.0, 0.5) * 0.15 == Approx(87.81).margin(0.01));
  CHECK(d.psc[0][2] == Approx(2 * d.psc[0][0]));   // L4E -> L2/3E doubled
  CHECK(d.psc[0][1] == Approx(-4 * d.psc[0][0]));  // g = -4
  CHECK(d.poisson_rate[0] == 1600 * 8.0);
  CHECK(d.drive[0] == 0.0);  // full in-degrees: nothing to compensate
  const MicrocircuitDesign dc = microcircuit_design(1.0, 1.0, false);
  CHECK(dc.poisson_rate[0] == 0.0);
  CHECK(dc.drive[0] == Approx(8.0 * 1600 * d.poisson_weight * 0.5e-3));  // the Poisson input's mean current
  // Scaled in-degrees: weights x 1/sqrt(k), a current for what is missing.
  const MicrocircuitDesign half = microcircuit_design(0.1, 0.25, true);
  CHECK(half.psc[0][0] == Approx(2 * d.psc[0][0]));
  CHECK(half.poisson_rate[0] == 1600 * 8.0 * 0.25);
  CHECK(half.drive[0] > 0.0);
  CHECK_THROWS_AS(microcircuit_design(0.0, 1.0, true), ConfigError);
  CHECK_THROWS_AS(microcircuit_design(0.5, 1.5, true), ConfigError);
}

TEST_CASE("microcircuit: network.kind builds it with its initial values, for its own neurons only",
          "[graph][microcircuit]") {
  config::Config cfg;
  const MicrocircuitDesign d = microcircuit_design(0.01, 1.0, true);
  cfg.update(microcircuit_config(d, 0.01, 1.0));
  cfg.update(config::parse_toml("sim.dt = 0.1\nsim.threads = 2\n", "<test>"));
  const BuiltNetwork net = build_network(cfg);
  std::int64_t n = 0;
  for (std::int64_t s : d.sizes) n += s;
  CHECK(n == 771);  // round(0.01 N), half to even, per population
  CHECK(net.graph->num_nodes() == static_cast<std::uint64_t>(n));
  CHECK(net.initial_state.at("poisson_rate")[0] == 12800.0);
  CHECK(net.initial_state.at("v").size() == static_cast<std::size_t>(n));
  CHECK(make_network(cfg)->num_edges() == net.graph->num_edges());
  Simulation sim(net.graph, cfg);
  sim.set_initial_state(net.initial_state);
  sim.run(50.0);
  CHECK(sim.spikes().size() > 50);
  config::Config other = cfg;
  other.update(config::parse_toml("node.dynamic.tau_m = 20.0\nnode.dynamic.model = 'lif'\n", "<test>"));
  CHECK_THROWS_WITH(build_network(other), Catch::Contains("node.dynamic.model = \"lif_exp\" (is \"lif\")") &&
                                              Catch::Contains("node.dynamic.tau_m = 10.0 (is 20.0)"));
}
