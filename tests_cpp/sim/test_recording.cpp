// Spike record, monitors, recorders, performance counters and the run summary.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "spikegraph/config/toml.hpp"
#include "spikegraph/core/error.hpp"
#include "spikegraph/graph/generators.hpp"
#include "spikegraph/io/snapshot.hpp"
#include "spikegraph/sim/simulation.hpp"
#include "spikegraph/sim/summary.hpp"
#include "support/test_util.hpp"

using spikegraph::Simulation;
using sgtest::sim_config;
using sgtest::state_of;

namespace {

// A small active network at dt = 1 ms: Poisson input drives the nodes to threshold.
const char* const kActive = R"(
[node.dynamic]
poisson_rate = 400.0
poisson_weight = 0.35
t_ref = 2.0
[init]
v_min = 0.0
v_max = 1.0
)";

std::shared_ptr<const spikegraph::Graph> small_brunel(std::int64_t n = 200, std::int64_t k = 10) {
  spikegraph::BrunelParams p;
  p.n = n;
  p.k_in = k;
  p.j = 0.05;
  p.g = 2.0;
  p.delay_steps = 2;
  p.seed = 11;
  return spikegraph::make_brunel(p);
}

}  // namespace

TEST_CASE("record.spikes = false records nothing but counts spikes", "[sim][recording]") {
  auto g = small_brunel();
  Simulation on(g, sim_config(kActive));
  Simulation off(g, sim_config(std::string(kActive) + "[record]\nspikes = false\n"));
  on.run_steps(100);
  off.run_steps(100);
  CHECK(on.spikes().size() > 100);
  CHECK(off.spikes().size() == 0);
  CHECK(off.perf().spikes == on.spikes().size());
  CHECK(on.perf().spikes == on.spikes().size());
  CHECK(state_of(on, "v") == state_of(off, "v"));  // recording does not change the dynamics
  // spike_counts over the record; clear_spikes empties it
  const auto counts = on.spike_counts();
  REQUIRE(counts.size() == 200);
  std::uint64_t total = 0;
  for (auto c : counts) total += c;
  CHECK(total == on.spikes().size());
  on.clear_spikes();
  CHECK(on.spikes().size() == 0);
  CHECK(on.current_step() == 100);
  on.run_steps(10);
  for (auto s : on.spikes().steps) CHECK(s >= 100);
}

TEST_CASE("monitor samples variables of nodes every k steps", "[sim][recording][monitor]") {
  auto g = small_brunel();
  const auto cfg = sim_config(std::string(kActive) + R"(
[monitor]
variables = ["v", "refractory", "last_spike", "energy"]
nodes = [5, 0, 199]
interval = 3.0
)");
  Simulation sim(g, cfg);
  // Expected samples, read from the state after each step.
  std::vector<std::int64_t> steps;
  std::vector<std::vector<double>> values(4);
  const std::vector<std::string> vars{"v", "refractory", "last_spike", "energy"};
  const std::vector<std::size_t> nodes{5, 0, 199};
  for (std::int64_t t = 0; t < 31; ++t) {
    sim.run_steps(1);
    if (t % 3 != 0) continue;
    steps.push_back(t);
    for (std::size_t v = 0; v < vars.size(); ++v) {
      const auto s = state_of(sim, vars[v]);
      for (auto n : nodes) values[v].push_back(s[n]);
    }
  }
  const auto& m = sim.monitor();
  CHECK(m.variables == vars);
  CHECK(m.nodes == std::vector<spikegraph::index_t>{5, 0, 199});
  CHECK(m.every_steps == 3);
  CHECK(m.steps == steps);
  CHECK(m.steps == std::vector<std::int64_t>{0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30});
  REQUIRE(m.values.size() == 4);
  for (std::size_t v = 0; v < vars.size(); ++v) {
    INFO(vars[v]);
    CHECK(m.values[v] == values[v]);
  }
  // The samples are not all the same (the monitor really reads the state).
  bool varies = false;
  for (std::size_t i = 1; i < m.values[0].size(); ++i) varies |= m.values[0][i] != m.values[0][0];
  CHECK(varies);
}

TEST_CASE("monitor interval in ms is rounded to steps", "[sim][recording][monitor]") {
  auto g = small_brunel(20, 2);
  Simulation sim(g, sim_config("[sim]\ndt = 0.1\n[monitor]\nvariables = [\"v\"]\nnodes = [1]\ninterval = 0.26\n"));
  sim.run_steps(10);
  CHECK(sim.monitor().every_steps == 3);
  CHECK(sim.monitor().steps == std::vector<std::int64_t>{0, 3, 6, 9});
  CHECK(sim.monitor().values[0].size() == 4);
}

TEST_CASE("monitor with nodes out of range is rejected at construction", "[sim][recording][monitor]") {
  auto g = small_brunel(20, 2);
  CHECK_THROWS_AS(Simulation(g, sim_config("[monitor]\nvariables = [\"v\"]\nnodes = [0, 20]\n")),
                  spikegraph::InputError);
  CHECK_THROWS_WITH(Simulation(g, sim_config("[monitor]\nvariables = [\"v\"]\nnodes = [25]\n")),
                    Catch::Contains("25"));
  CHECK_NOTHROW(Simulation(g, sim_config("[monitor]\nvariables = [\"v\"]\nnodes = [19]\n")));
}

TEST_CASE("perf counters: phases, spikes and synaptic events", "[sim][recording][perf]") {
  auto g = small_brunel();
  Simulation sim(g, sim_config(kActive));
  const std::int64_t T = 120;
  sim.run_steps(50);
  sim.run_steps(T - 50);
  const auto p = sim.perf();
  CHECK(p.steps == T);
  CHECK(p.spikes == sim.spikes().size());
  CHECK(p.phase_names == std::vector<std::string>{"delivery", "neuron_update", "recording"});
  CHECK(p.phase_seconds.size() == p.phase_names.size());
  for (double s : p.phase_seconds) CHECK(s >= 0.0);
  CHECK(p.seconds_total > 0.0);
  CHECK(p.graph_bytes >= g->num_edges() * (4 + 4 + 2 + 1));
  CHECK(p.state_bytes > 0);
  CHECK(p.record_bytes >= sim.spikes().size() * 12);
  // Spikes of step t are delivered at step t + 1: all but the last step's spikes.
  const auto& off = g->out_offsets();
  std::uint64_t events = 0;
  for (std::size_t i = 0; i < sim.spikes().size(); ++i) {
    if (sim.spikes().steps[i] < T - 1) events += off[sim.spikes().nodes[i] + 1] - off[sim.spikes().nodes[i]];
  }
  REQUIRE(events > 0);
  CHECK(p.synaptic_events == events);
  sim.reset_perf();
  const auto z = sim.perf();
  CHECK(z.steps == 0);
  CHECK(z.spikes == 0);
  CHECK(z.synaptic_events == 0);
  CHECK(z.seconds_total == 0.0);
}

TEST_CASE("summarize and format_summary", "[sim][recording][summary]") {
  auto g = small_brunel();
  Simulation sim(g, sim_config(kActive));
  sim.run_steps(100);
  const auto s = spikegraph::summarize(sim);
  CHECK(s.nodes == 200);
  CHECK(s.edges == 2000);
  CHECK(s.steps == 100);
  CHECK(s.model_ms == 100.0);
  CHECK(s.spikes == sim.spikes().size());
  CHECK(s.mean_rate_hz == Approx(static_cast<double>(s.spikes) / 200.0 / 0.1));
  CHECK(s.backend == "cpu");
  CHECK(s.threads == 1);
  CHECK(s.precision == "float32");
  CHECK(s.bytes_per_edge > 11.0);
  const std::string text = spikegraph::format_summary(s);
  CHECK_THAT(text, Catch::Contains("nodes         200"));
  CHECK_THAT(text, Catch::Contains("edges         2000"));
  CHECK_THAT(text, Catch::Contains("100 steps"));
  CHECK_THAT(text, Catch::Contains("spikes        " + std::to_string(s.spikes)));
  CHECK_THAT(text, Catch::Contains("mean rate"));
  CHECK_THAT(text, Catch::Contains("Hz"));
  CHECK_THAT(text, Catch::Contains("cpu backend, 1 thread,"));
  // Before any step: no division by zero.
  Simulation fresh(g, sim_config(kActive));
  const auto f = spikegraph::summarize(fresh);
  CHECK(f.mean_rate_hz == 0.0);
  CHECK(f.ms_per_step == 0.0);
}

TEST_CASE("record.horizon bounds every record and keeps the recent past exactly", "[sim][recording]") {
  auto cfg = spikegraph::config::Config::from_toml(spikegraph::config::default_run_toml(), "<default run>");
  cfg.update(spikegraph::config::parse_toml(R"(
graph.sensory_side = 6
graph.workspace_side = 3
energy.record_ledger = true
metrics.interval = 20.0
monitor.variables = ["v"]
monitor.nodes = [0, 40]
)", "<test>"));
  auto bounded_cfg = cfg;
  bounded_cfg.update({{"record.horizon", spikegraph::config::Value::real(100.0)}});
  const auto graph = spikegraph::make_network(cfg);
  Simulation all(graph, cfg), bounded(graph, bounded_cfg);
  const std::int64_t horizon = bounded_cfg.steps("record.horizon");
  for (int chunk = 0; chunk < 12; ++chunk) {
    all.run_steps(97);
    bounded.run_steps(97);
    const std::int64_t now = bounded.current_step();
    const std::int64_t keep_from = std::max<std::int64_t>(0, now - horizon);
    // Every step of the horizon is held, and fewer older entries than recent ones.
    const auto older = [&](const auto& steps) {
      return static_cast<std::size_t>(std::count_if(steps.begin(), steps.end(), [&](std::int64_t t) { return t < keep_from; }));
    };
    const auto& s = bounded.spikes();
    REQUIRE(!s.steps.empty());
    CHECK(s.start_step <= keep_from);
    CHECK(2 * older(s.steps) < s.steps.size() + 1);
    std::vector<std::int64_t> ledger_steps;
    for (const auto& l : bounded.ledger_history()) ledger_steps.push_back(l.step);
    CHECK(ledger_steps.front() <= keep_from);
    CHECK(2 * older(ledger_steps) < ledger_steps.size() + 1);
    CHECK(bounded.monitor().steps.front() <= keep_from);
    CHECK(2 * older(bounded.monitor().steps) < bounded.monitor().steps.size() + 1);
    CHECK(bounded.monitor().values[0].size() == bounded.monitor().steps.size() * 2);
    CHECK(2 * older(bounded.homeostasis().steps) < bounded.homeostasis().steps.size() + 1);
  }
  // The kept part is exactly the unbounded record's tail; the dynamics are the same.
  const auto& s = bounded.spikes();
  const auto& a = all.spikes();
  const std::size_t offset = a.steps.size() - s.steps.size();
  CHECK(std::equal(s.nodes.begin(), s.nodes.end(), a.nodes.begin() + static_cast<std::ptrdiff_t>(offset)));
  CHECK(a.steps[offset] >= s.start_step);
  CHECK(all.ledger_totals().final_total == bounded.ledger_totals().final_total);
  CHECK(all.ledger_history().size() == static_cast<std::size_t>(all.current_step()));
  CHECK(bounded.ledger_history().size() < all.ledger_history().size() / 3);
  CHECK(bounded.metrics_history().size() < all.metrics_history().size());
  CHECK(bounded.homeostasis().gains.back() == all.homeostasis().gains.back());
  CHECK(bounded.homeostasis().updates == all.homeostasis().updates);
}

namespace {

spikegraph::RecorderSpec recorder_spec(const std::string& name, spikegraph::RecorderKind kind,
                                       std::vector<spikegraph::index_t> nodes, std::int64_t interval = 1,
                                       std::vector<std::string> variables = {}) {
  spikegraph::RecorderSpec spec;
  spec.name = name;
  spec.kind = kind;
  spec.nodes = std::move(nodes);
  spec.interval_steps = interval;
  spec.variables = std::move(variables);
  return spec;
}

}  // namespace

TEST_CASE("recorders: spikes, state and rate of chosen nodes, from the step they are added",
          "[sim][recording][recorders]") {
  using spikegraph::RecorderKind;
  auto g = small_brunel();
  Simulation sim(g, sim_config(kActive));
  sim.run_steps(7);
  std::vector<spikegraph::index_t> range, scattered;
  for (spikegraph::index_t i = 50; i < 120; ++i) range.push_back(i);
  for (spikegraph::index_t i : {150u, 3u, 77u, 199u}) scattered.push_back(i);  // sorted by add_recorder
  sim.add_recorder(recorder_spec("range", RecorderKind::spikes, range));
  sim.add_recorder(recorder_spec("scattered", RecorderKind::spikes, scattered));
  sim.add_recorder(recorder_spec("rate", RecorderKind::rate, range, 5));
  sim.add_recorder(recorder_spec("v", RecorderKind::state, {9, 2}, 4, {"v", "threshold"}));
  std::vector<double> v_expected;
  for (int k = 0; k < 60; ++k) {
    sim.run_steps(1);
    if ((sim.current_step() - 1 - 7) % 4 == 0) {
      for (const char* var : {"v", "threshold"}) {
        for (spikegraph::index_t node : {2u, 9u}) v_expected.push_back(state_of(sim, var)[node]);
      }
    }
  }
  CHECK(sim.recorder_names() == std::vector<std::string>{"range", "scattered", "rate", "v"});
  // Spike recorders hold exactly the record's spikes of their nodes from step 7 on.
  const auto& all = sim.spikes();
  for (const char* name : {"range", "scattered"}) {
    const auto& r = sim.recorder(name);
    std::vector<std::int64_t> steps;
    std::vector<spikegraph::index_t> nodes;
    for (std::size_t k = 0; k < all.size(); ++k) {
      if (all.steps[k] >= 7 && std::binary_search(r.spec.nodes.begin(), r.spec.nodes.end(), all.nodes[k])) {
        steps.push_back(all.steps[k]);
        nodes.push_back(all.nodes[k]);
      }
    }
    CHECK(!steps.empty());
    CHECK(r.steps == steps);
    CHECK(r.nodes == nodes);
    CHECK(r.origin == 7);
  }
  CHECK(sim.recorder("scattered").spec.nodes == std::vector<spikegraph::index_t>{3, 77, 150, 199});
  // Rate: 12 complete bins of 5 steps, each the count of the range's spikes in it.
  const auto& rate = sim.recorder("rate");
  REQUIRE(rate.counts.size() == 12);
  const auto& spikes_in_range = sim.recorder("range");
  for (std::size_t b = 0; b < rate.counts.size(); ++b) {
    CHECK(rate.steps[b] == 7 + 5 * static_cast<std::int64_t>(b));
    const auto n = std::count_if(spikes_in_range.steps.begin(), spikes_in_range.steps.end(),
                                 [&](std::int64_t t) { return t >= rate.steps[b] && t < rate.steps[b] + 5; });
    CHECK(rate.counts[b] == static_cast<std::uint64_t>(n));
  }
  // State: samples after steps 7, 11, ..., of nodes 2 and 9 (sorted).
  const auto& v = sim.recorder("v");
  REQUIRE(v.steps.size() == 15);
  CHECK(v.steps[1] == 11);
  std::vector<double> got;
  for (std::size_t s = 0; s < v.steps.size(); ++s) {
    for (std::size_t var = 0; var < 2; ++var) {
      for (std::size_t k = 0; k < 2; ++k) got.push_back(v.values[var][s * 2 + k]);
    }
  }
  CHECK(got == v_expected);
  sim.remove_recorder("range");
  CHECK(sim.recorder_names() == std::vector<std::string>{"scattered", "rate", "v"});
  CHECK_THROWS_AS(sim.recorder("range"), spikegraph::InputError);
  CHECK_THROWS_AS(sim.remove_recorder("range"), spikegraph::InputError);
}

TEST_CASE("recorders: bad definitions are refused and change nothing", "[sim][recording][recorders]") {
  using spikegraph::RecorderKind;
  auto g = small_brunel();
  Simulation sim(g, sim_config(kActive));
  sim.add_recorder(recorder_spec("a", RecorderKind::spikes, {1}));
  const auto refused = [&](spikegraph::RecorderSpec spec, const std::string& words) {
    try {
      sim.add_recorder(std::move(spec));
      FAIL("accepted");
    } catch (const spikegraph::InputError& e) {
      INFO(e.what());
      CHECK(std::string(e.what()).find(words) != std::string::npos);
    }
  };
  refused(recorder_spec("a", RecorderKind::spikes, {2}), "in use");
  refused(recorder_spec("bad name", RecorderKind::spikes, {2}), "letters, digits");
  refused(recorder_spec("b", RecorderKind::spikes, {}), "at least one node");
  refused(recorder_spec("b", RecorderKind::spikes, {200}), "out of range");
  refused(recorder_spec("b", RecorderKind::spikes, {4, 4}), "without repeats");
  refused(recorder_spec("b", RecorderKind::rate, {4}, 0), "at least one step");
  refused(recorder_spec("b", RecorderKind::spikes, {4}, 3), "every step");
  refused(recorder_spec("b", RecorderKind::rate, {4}, 1, {"v"}), "variables are for state");
  refused(recorder_spec("b", RecorderKind::state, {4}), "at least one variable");
  refused(recorder_spec("b", RecorderKind::state, {4}, 1, {"nope"}), "unknown variable");
  refused(recorder_spec("b", RecorderKind::state, {4}, 1, {"alive"}), "cannot be recorded");
  refused(recorder_spec("b", RecorderKind::state, {4}, 1, {"u"}), "not allocated");
  refused(recorder_spec("b", RecorderKind::state, {4}, 1, {"v", "v"}), "twice");
  CHECK(sim.recorder_names() == std::vector<std::string>{"a"});
}

TEST_CASE("recorders follow record.horizon and checkpoints, and resume exactly", "[sim][recording][recorders]") {
  using spikegraph::RecorderKind;
  auto g = small_brunel();
  const auto cfg = sim_config(std::string(kActive) + "[record]\nhorizon = 20.0\n");
  Simulation sim(g, cfg), whole(g, sim_config(kActive));
  std::vector<spikegraph::index_t> nodes;
  for (spikegraph::index_t i = 0; i < 200; i += 3) nodes.push_back(i);
  for (Simulation* s : {&sim, &whole}) {
    s->add_recorder(recorder_spec("s", RecorderKind::spikes, nodes));
    s->add_recorder(recorder_spec("r", RecorderKind::rate, nodes, 3));
    s->add_recorder(recorder_spec("v", RecorderKind::state, {0, 5}, 2, {"v"}));
    s->run_steps(95);
  }
  // Bounded: the recent past only, and it equals the unbounded record's tail.
  const auto& r = sim.recorder("s");
  const auto& w = whole.recorder("s");
  CHECK(r.start_step > 0);
  CHECK(r.steps.size() < w.steps.size());
  CHECK(std::equal(r.steps.begin(), r.steps.end(), w.steps.end() - static_cast<std::ptrdiff_t>(r.steps.size())));
  CHECK(sim.recorder("v").values[0].size() == sim.recorder("v").steps.size() * 2);
  CHECK(sim.recorder("r").counts.size() == sim.recorder("r").steps.size());
  // A checkpoint in the middle of a rate bin resumes to the same records.
  spikegraph::io::SnapshotWriter out;
  whole.save_to(out);
  auto resumed = Simulation::load(spikegraph::io::SnapshotReader::from_bytes(out.bytes(), "<mem>"));
  CHECK(resumed->recorder_names() == whole.recorder_names());
  whole.run_steps(40);
  resumed->run_steps(40);
  for (const char* name : {"s", "r", "v"}) {
    const auto& a = whole.recorder(name);
    const auto& b = resumed->recorder(name);
    CHECK(a.steps == b.steps);
    CHECK(a.nodes == b.nodes);
    CHECK(a.counts == b.counts);
    CHECK(a.values == b.values);
    CHECK(a.origin == b.origin);
  }
}
