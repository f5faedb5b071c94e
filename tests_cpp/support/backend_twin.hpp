// Test support: a twin of the Simulation's coordinator with a backend chosen by a
// factory, so two backends can be driven through identical call sequences by the real
// services, and a bit-for-bit comparison of everything they expose. Used by the CUDA
// backend's host emulation tests (tests_cpp/backend/test_cuda_emulation.cpp) and its
// device tests (cuda/test_cuda_backend.cpp). Include after <catch2/catch.hpp>.
#pragma once

#include <algorithm>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "spikegraph/backend/backend.hpp"
#include "spikegraph/config/schema.hpp"
#include "spikegraph/config/toml.hpp"
#include "spikegraph/graph/generators.hpp"
#include "spikegraph/graph/graph.hpp"
#include "spikegraph/services/default_services.hpp"
#include "spikegraph/services/service.hpp"
#include "spikegraph/sim/events.hpp"
#include "spikegraph/sim/metrics.hpp"
#include "spikegraph/sim/records.hpp"

namespace sgtest {

using namespace spikegraph;

/// Makes the backend a Coordinator runs on.
using Factory = std::function<std::unique_ptr<Backend>(const Graph&, const config::Config&)>;

/// The CPU backend with `threads` threads.
inline Factory cpu_factory(int threads = 1) {
  return [threads](const Graph& g, const config::Config& c) {
    config::Config copy = c;
    copy.update({{"sim.backend", config::Value::string("cpu")}, {"sim.threads", config::Value::integer(threads)}});
    return make_backend("cpu", g, copy);
  };
}

/// The Simulation's coordinator, with the backend chosen by a factory: the same
/// services in the same order, the same spare-node handling and step loop
/// (engine/src/sim/simulation.cpp), so both backends see identical call sequences.
struct Coordinator {
  std::shared_ptr<const Graph> graph;
  config::Config cfg;
  std::unique_ptr<Backend> backend;
  std::vector<std::unique_ptr<Service>> services;
  std::vector<std::vector<Service*>> pipeline;
  step_t step = 0;
  SpikeRecord spikes;
  MonitorRecord monitor;
  EnergyLedger ledger;
  std::vector<EnergyLedger> ledgers;
  HomeostasisState homeostasis;
  EventState events;
  SensoryInput sensory;
  LedgerTotals totals;
  std::vector<MetricsSample> metrics;
  std::vector<std::size_t> step_events;

  Coordinator(std::shared_ptr<const Graph> g, const config::Config& c, const Factory& make) : graph(std::move(g)), cfg(c) {
    const std::int64_t spare = cfg.boolean("structure.enabled") ? cfg.integer("structure.spare_nodes") : 0;
    if (spare > 0) graph = with_spare_nodes(*graph, static_cast<std::size_t>(spare));
    backend = make(*graph, cfg);
    const auto& types = graph->node_type();
    if (std::find(types.begin(), types.end(), static_cast<std::uint8_t>(NodeType::sensory)) != types.end()) {
      services.push_back(make_sensory_service());
    }
    services.push_back(make_neural_service());
    services.push_back(make_events_service());
    if (cfg.boolean("energy.enabled")) services.push_back(make_energy_service());
    if (cfg.boolean("learning.enabled")) services.push_back(make_learning_service());
    if (cfg.boolean("homeostasis.enabled")) services.push_back(make_homeostasis_service());
    if (cfg.boolean("structure.enabled")) services.push_back(make_structure_service());
    services.push_back(make_recording_service());
    StepContext c0 = ctx();
    for (auto& s : services) s->initialize(c0);
    pipeline.assign(static_cast<int>(Phase::count), {});
    for (auto& s : services) {
      for (Phase p : s->phases()) pipeline[static_cast<int>(p)].push_back(s.get());
    }
    if (spare > 0) {
      ArrayRef alive = backend->state("alive");
      auto* flags = static_cast<std::uint8_t*>(alive.data);
      for (std::size_t i = alive.size - static_cast<std::size_t>(spare); i < alive.size; ++i) flags[i] = 0;
    }
  }

  StepContext ctx() {
    return StepContext{step,        *backend, *graph,   cfg,   spikes, monitor, ledger,
                       ledgers,     homeostasis, events, graph, sensory, totals, metrics};
  }

  void run(std::int64_t n) {
    for (std::int64_t k = 0; k < n; ++k) {
      backend->begin_step(step);
      for (int p = 0; p < static_cast<int>(Phase::count); ++p) {
        StepContext c = ctx();
        for (Service* s : pipeline[p]) s->run(static_cast<Phase>(p), c);
      }
      if (ledger.step == step && !pipeline[static_cast<int>(Phase::energy)].empty()) totals.add(ledger);
      step_events.push_back(backend->last_synaptic_events());
      ++step;
    }
  }

  void stimulus(step_t at, Stimulus::Kind kind, double value, std::vector<index_t> nodes) {
    Stimulus s;
    s.step = at;
    s.kind = kind;
    s.value = value;
    s.nodes = std::move(nodes);
    events.pending.emplace(at, std::move(s));
  }
};

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

/// Everything observable is identical, bit for bit: spike records, events per step,
/// ledgers, homeostasis gains, every state array, every edge state, the graph's edges.
inline void require_identical(Coordinator& a, Coordinator& b) {
  REQUIRE(a.step == b.step);
  REQUIRE(a.spikes.steps == b.spikes.steps);
  REQUIRE(a.spikes.nodes == b.spikes.nodes);
  REQUIRE(a.step_events == b.step_events);
  REQUIRE(a.ledgers.size() == b.ledgers.size());
  for (std::size_t k = 0; k < a.ledgers.size(); ++k) {
    INFO("ledger of step " << a.ledgers[k].step);
    REQUIRE(same_ledger(a.ledgers[k], b.ledgers[k]));
  }
  REQUIRE(a.homeostasis.gains == b.homeostasis.gains);
  REQUIRE(a.backend->state_names() == b.backend->state_names());
  for (const auto& name : a.backend->state_names()) {
    INFO("state " << name);
    REQUIRE(same_bytes(a.backend->state(name), b.backend->state(name)));
  }
  REQUIRE(a.backend->edge_state_names() == b.backend->edge_state_names());
  for (const auto& name : a.backend->edge_state_names()) {
    INFO("edge state " << name);
    REQUIRE(same_bytes(a.backend->edge_state(name), b.backend->edge_state(name)));
  }
  REQUIRE(a.graph->num_edges() == b.graph->num_edges());
  REQUIRE(a.graph->edge_target() == b.graph->edge_target());
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
