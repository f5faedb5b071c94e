// Test support: the same Simulation (coordinator, services, records, checkpoints) on
// different backends, chosen by a BackendFactory, and a bit-for-bit comparison of
// everything a simulation exposes. Used by the CUDA backend's host-emulation tests
// (tests_cpp/backend/test_cuda_emulation.cpp) and its device tests
// (cuda/test_cuda_backend.cpp). Include after <catch2/catch.hpp>.
#pragma once

#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "spikegraph/backend/backend.hpp"
#include "spikegraph/config/schema.hpp"
#include "spikegraph/config/toml.hpp"
#include "spikegraph/graph/generators.hpp"
#include "spikegraph/graph/graph.hpp"
#include "spikegraph/sim/events.hpp"
#include "spikegraph/sim/records.hpp"
#include "spikegraph/sim/simulation.hpp"

namespace sgtest {

using namespace spikegraph;

/// The CPU backend with `threads` threads, whatever sim.backend says.
inline BackendFactory cpu_backend(int threads = 1) {
  return [threads](const Graph& g, const config::Config& c) {
    config::Config copy = c;
    copy.update({{"sim.backend", config::Value::string("cpu")}, {"sim.threads", config::Value::integer(threads)}});
    return make_backend("cpu", g, copy);
  };
}

/// A simulation of `g` with configuration `c` on the backend `make` builds.
inline std::unique_ptr<Simulation> simulation(std::shared_ptr<const Graph> g, const config::Config& c,
                                              const BackendFactory& make) {
  return std::make_unique<Simulation>(std::move(g), c, make);
}

/// Queue a stimulus (Simulation::schedule_stimulus checks it).
inline void stimulus(Simulation& sim, step_t at, Stimulus::Kind kind, double value, std::vector<index_t> nodes) {
  Stimulus s;
  s.step = at;
  s.kind = kind;
  s.value = value;
  s.nodes = std::move(nodes);
  sim.schedule_stimulus(std::move(s));
}

/// Same dtype, size and bytes.
inline bool same_bytes(const ArrayRef& a, const ArrayRef& b) {
  return a.dtype == b.dtype && a.size == b.size &&
         (a.size == 0 || std::memcmp(a.data, b.data, a.size * dtype_size(a.dtype)) == 0);
}

/// Every column equal (exactly).
inline bool same_ledger(const EnergyLedger& a, const EnergyLedger& b) {
  return a.step == b.step && a.total_before == b.total_before && a.inflow == b.inflow &&
         a.spike_cost == b.spike_cost && a.metabolism == b.metabolism && a.flow_out == b.flow_out &&
         a.flow_in == b.flow_in && a.overflow == b.overflow && a.transfers == b.transfers &&
         a.total_after == b.total_after;
}

/// Everything observable is identical, bit for bit: the step, spike records, synaptic
/// events since the last reset_perf, ledgers, homeostasis gains, every state array,
/// every edge state, the graph's edges.
inline void require_identical(Simulation& a, Simulation& b) {
  REQUIRE(a.current_step() == b.current_step());
  REQUIRE(a.spikes().steps == b.spikes().steps);
  REQUIRE(a.spikes().nodes == b.spikes().nodes);
  REQUIRE(a.perf().synaptic_events == b.perf().synaptic_events);
  const auto& la = a.ledger_history();
  const auto& lb = b.ledger_history();
  REQUIRE(la.size() == lb.size());
  for (std::size_t k = 0; k < la.size(); ++k) {
    INFO("ledger of step " << la[k].step);
    REQUIRE(same_ledger(la[k], lb[k]));
  }
  REQUIRE(same_ledger(a.ledger(), b.ledger()));
  REQUIRE(a.homeostasis().gains == b.homeostasis().gains);
  REQUIRE(a.state_names() == b.state_names());
  for (const auto& name : a.state_names()) {
    INFO("state " << name);
    REQUIRE(same_bytes(a.state(name), b.state(name)));
  }
  REQUIRE(a.edge_state_names() == b.edge_state_names());
  for (const auto& name : a.edge_state_names()) {
    INFO("edge state " << name);
    REQUIRE(same_bytes(a.edge_state(name), b.edge_state(name)));
  }
  REQUIRE(a.graph().num_edges() == b.graph().num_edges());
  REQUIRE(a.graph().edge_target() == b.graph().edge_target());
}

/// `c` with the TOML text applied on top.
inline config::Config with(config::Config c, const std::string& toml) {
  c.update(config::parse_toml(toml, "<test>"), "<test>");
  return c;
}

/// B1-like: Poisson-driven LIF on a Brunel network, dt 0.1 ms.
inline config::Config b1_config(const std::string& precision) {
  return with(config::Config(), "[sim]\ndt = 0.1\nseed = 11\nprecision = '" + precision +
                                    "'\n[node.dynamic]\ntau_m = 20.0\nthreshold = 20.0\nv_reset = 10.0\n"
                                    "t_ref = 2.0\nenergy_coupling = 0.0\npoisson_rate = 10000.0\n"
                                    "poisson_weight = 0.1\n[init]\nv_min = 0.0\nv_max = 20.0\n");
}

/// A Brunel network (fixed in-degree, one delay), optionally with plastic E->E edges.
inline std::shared_ptr<const Graph> brunel(std::int64_t n, std::int64_t k_in, std::int64_t delay,
                                          bool plastic = false) {
  BrunelParams p;
  p.n = n;
  p.k_in = k_in;
  p.delay_steps = delay;
  p.seed = 5;
  p.plastic_exc_exc = plastic;
  return make_brunel(p);
}

/// The default run (energy with flow, STDP, homeostasis, the moving grating) on a
/// smaller default network, plus `extra` (TOML).
inline config::Config full_model(const std::string& extra) {
  config::Config c = config::Config::from_toml(config::default_run_toml(), "<default run>");
  return with(c, "[graph]\nsensory_side = 8\nworkspace_side = 4\noscillators = 8\nrelays = 8\nhighways = 6\n"
                 "out_degree = 12.0\n[sim]\nseed = 3\n" + extra);
}

}  // namespace sgtest
