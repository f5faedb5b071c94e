// sim/simulation.hpp on tiny graphs: spike timing against the exact solution,
// delivery delays, effective weights by edge kind and node type, refractoriness,
// and the node-type rules (oscillator, sensory, integrator).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "spikegraph/core/error.hpp"
#include "spikegraph/sim/simulation.hpp"
#include "support/test_util.hpp"

using sgtest::E;
using sgtest::set;
using sgtest::sim_config;
using sgtest::small_graph;
using sgtest::state_of;
using spikegraph::Simulation;

namespace {

// Number of exact-integration updates that take v from v_start to >= theta under
// constant drive (v_inf = v_rest + R drive > theta), and how far the real-valued
// crossing is from an integer (to keep the test away from rounding ties).
struct Crossing {
  std::int64_t updates;
  double margin;
};
Crossing updates_to_threshold(double v_start, double v_inf, double theta, double a) {
  const double m = std::log((theta - v_inf) / (v_start - v_inf)) / std::log(a);
  return Crossing{static_cast<std::int64_t>(std::ceil(m)), std::ceil(m) - m};
}

}  // namespace

TEST_CASE("constant drive: spikes at the analytically predicted steps", "[sim][dynamics]") {
  const auto precision = GENERATE(as<std::string>{}, "float64", "float32");
  const double tau = 10.0, dt = 1.0, drive = 1.3, R = 1.0, theta = 1.0, v_reset = 0.1;
  const int t_ref_steps = 2;
  const auto cfg = sim_config("[sim]\nprecision = \"" + precision + R"("
[node.dynamic]
tau_m = 10.0
threshold = 1.0
v_reset = 0.1
t_ref = 2.0
energy_coupling = 0.0
drive = 1.3
)");
  Simulation sim(small_graph(1, {}), cfg);
  const double a = std::exp(-dt / tau);
  const double v_inf = R * drive;
  const Crossing first = updates_to_threshold(0.0, v_inf, theta, a);
  const Crossing later = updates_to_threshold(v_reset, v_inf, theta, a);
  REQUIRE(first.margin > 1e-3);
  REQUIRE(later.margin > 1e-3);
  REQUIRE(first.margin < 1 - 1e-3);
  REQUIRE(later.margin < 1 - 1e-3);
  // first spike after `first.updates` updates (steps 0 .. updates-1), then every
  // t_ref + later.updates steps
  std::vector<std::int64_t> expect;
  for (std::int64_t s = first.updates - 1; s < 200; s += t_ref_steps + later.updates) expect.push_back(s);
  REQUIRE(expect.size() >= 5);
  sim.run_steps(200);
  INFO("precision " << precision << ": first after " << first.updates << " updates, period "
                    << t_ref_steps + later.updates);
  CHECK(sim.spikes().steps == expect);
  CHECK(sim.spikes().nodes == std::vector<spikegraph::index_t>(expect.size(), 0));
  CHECK(state_of(sim, "last_spike")[0] == static_cast<double>(expect.back()));

  SECTION("v just before the first spike matches the closed form") {
    Simulation s2(small_graph(1, {}), cfg);
    s2.run_steps(first.updates - 1);
    CHECK(s2.spikes().size() == 0);
    const double closed = v_inf * (1 - std::pow(a, static_cast<double>(first.updates - 1)));
    CHECK(state_of(s2, "v")[0] == Approx(closed).epsilon(precision == "float64" ? 1e-13 : 1e-5));
    s2.run_steps(1);
    CHECK(s2.spikes().size() == 1);
    CHECK(state_of(s2, "v")[0] == Approx(v_reset).epsilon(1e-7));
    CHECK(state_of(s2, "refractory")[0] == t_ref_steps);
  }
}

TEST_CASE("a spike at step t reaches the target at step t + delay", "[sim][dynamics]") {
  const std::int64_t d = GENERATE(1, 3, 7);
  Simulation sim(small_graph(2, {E{0, 1, 0.4, d}}), sim_config());
  set(sim, "v", {5.0, 0.0});  // node 0 spikes at step 0
  for (std::int64_t t = 0; t <= d + 2; ++t) {
    sim.run_steps(1);
    INFO("delay " << d << ", after step " << t);
    const double v1 = state_of(sim, "v")[1];
    if (t < d) {
      CHECK(v1 == 0.0);
    } else if (t == d) {
      CHECK(v1 == static_cast<double>(0.4f));
    } else {
      CHECK(v1 < static_cast<double>(0.4f));  // leaking afterwards
      CHECK(v1 > 0.0);
    }
  }
  CHECK(sim.spikes().steps == std::vector<std::int64_t>{0});
  CHECK(sim.spikes().nodes == std::vector<spikegraph::index_t>{0});
}

TEST_CASE("several delays from one spike, and several sources into one target", "[sim][dynamics]") {
  // 0 -> 2 (delay 2, 0.1), 1 -> 2 (delay 2, 0.2), 0 -> 2 (delay 4, 0.3); integrator target: no leak.
  auto g = small_graph(3, {E{0, 2, 0.1, 2}, E{1, 2, 0.2, 2}, E{0, 2, 0.3, 4}}, {1, 1, 3});
  Simulation sim(g, sim_config());
  set(sim, "v", {5.0, 5.0, 0.0});
  sim.run_steps(2);
  CHECK(state_of(sim, "v")[2] == 0.0);
  sim.run_steps(1);  // step 2
  CHECK(state_of(sim, "v")[2] == Approx(0.3).epsilon(1e-6));
  sim.run_steps(1);  // step 3
  CHECK(state_of(sim, "v")[2] == Approx(0.3).epsilon(1e-6));
  sim.run_steps(1);  // step 4
  CHECK(state_of(sim, "v")[2] == Approx(0.6).epsilon(1e-6));
}

TEST_CASE("effective weights by edge kind, gate and relay gain", "[sim][dynamics]") {
  struct Case {
    const char* name;
    std::int64_t kind;
    std::int64_t source_type;
    double source_energy;
    double expect;
  };
  const Case c = GENERATE(Case{"excitatory", 0, 1, 5.0, 0.4}, Case{"inhibitory", 1, 1, 5.0, -0.4},
                          Case{"modulatory", 2, 1, 5.0, 0.2}, Case{"gated, open", 3, 1, 5.0, 0.4},
                          Case{"gated, open at exactly gate_energy", 3, 1, 0.5, 0.4},
                          Case{"gated, closed", 3, 1, 0.49, 0.0}, Case{"relay excitatory", 0, 4, 5.0, 0.6},
                          Case{"relay inhibitory", 1, 4, 5.0, -0.6}, Case{"relay modulatory", 2, 4, 5.0, 0.3},
                          Case{"relay gated closed", 3, 4, 0.2, 0.0});
  INFO(c.name);
  Simulation sim(small_graph(2, {E{0, 1, 0.4, 1, c.kind}}, {c.source_type, 1}), sim_config());
  set(sim, "energy", {c.source_energy, 5.0});
  set(sim, "v", {5.0, 0.0});
  sim.run_steps(1);
  REQUIRE(sim.spikes().size() == 1);  // the source spiked at step 0
  CHECK(state_of(sim, "v")[1] == 0.0);
  sim.run_steps(1);
  CHECK(state_of(sim, "v")[1] == Approx(c.expect).margin(1e-6));
}

TEST_CASE("edge parameters come from the configuration", "[sim][dynamics]") {
  const auto cfg = sim_config(
      "[edge]\nmodulatory_gain = 0.25\ngate_energy = 2.0\n[node.relay]\ngain = 3.0\n"
      "[node.dynamic]\nthreshold = 10.0\n");
  auto g = small_graph(4, {E{0, 2, 0.4, 1, 2}, E{0, 3, 0.4, 1, 3}, E{1, 3, 0.4, 1, 0}}, {1, 4, 1, 1});
  Simulation sim(g, cfg);
  set(sim, "energy", {1.5, 5.0, 5.0, 5.0});  // node 0 below the gate
  set(sim, "v", {50.0, 5.0, 0.0, 0.0});
  sim.run_steps(2);
  const auto v = state_of(sim, "v");
  CHECK(v[2] == Approx(0.1).margin(1e-7));  // 0.25 * 0.4
  CHECK(v[3] == Approx(1.2).margin(1e-6));  // relay 3.0 * 0.4; gated edge closed
}

TEST_CASE("input arriving while refractory is discarded", "[sim][dynamics]") {
  // Nodes 0 and 1 spike at step 0. 1 -> 0 with delays 1, 2, 3: the first two arrive
  // while 0 is refractory (t_ref = 2 steps) and are lost; the third is integrated.
  const auto cfg = sim_config("[node.dynamic]\nv_reset = -0.5\nt_ref = 2.0\nenergy_coupling = 0.0\n");
  Simulation sim(small_graph(2, {E{1, 0, 0.3, 1}, E{1, 0, 0.2, 2}, E{1, 0, 0.1, 3}}), cfg);
  set(sim, "v", {5.0, 5.0});
  sim.run_steps(1);
  REQUIRE(sim.spikes().size() == 2);
  CHECK(state_of(sim, "v")[0] == -0.5);
  CHECK(state_of(sim, "refractory")[0] == 2);
  CHECK(state_of(sim, "last_spike")[0] == 0);
  sim.run_steps(1);  // step 1: 0.3 arrives, discarded
  CHECK(state_of(sim, "v")[0] == -0.5);
  CHECK(state_of(sim, "refractory")[0] == 1);
  sim.run_steps(1);  // step 2: 0.2 arrives, discarded
  CHECK(state_of(sim, "v")[0] == -0.5);
  CHECK(state_of(sim, "refractory")[0] == 0);
  sim.run_steps(1);  // step 3: integrates again, 0.1 arrives
  const float a = static_cast<float>(std::exp(-0.1));
  CHECK(state_of(sim, "v")[0] == Approx(-0.5f * a + 0.1f).margin(1e-6));
  // Lost input does not come back later.
  sim.run_steps(1);
  CHECK(state_of(sim, "v")[0] == Approx((-0.5f * a + 0.1f) * a).margin(1e-6));
}

TEST_CASE("a node without enough energy does not spike", "[sim][dynamics]") {
  Simulation sim(small_graph(2, {}), sim_config("[energy]\nspike_cost_min = 0.2\n"));
  set(sim, "energy", {0.19, 0.2});
  set(sim, "v", {5.0, 5.0});
  sim.run_steps(1);
  CHECK(sim.spikes().nodes == std::vector<spikegraph::index_t>{1});
  CHECK(state_of(sim, "v")[0] > 1.0);  // integrated, not reset
}

TEST_CASE("energy coupling shortens the membrane time constant", "[sim][dynamics]") {
  // coupling 1: node 0 at full energy leaks with tau_m, node 1 at half energy with tau_m / 2.
  Simulation sim(small_graph(2, {}), sim_config("[node.dynamic]\nenergy_coupling = 1.0\n"));
  set(sim, "energy", {5.0, 2.5});
  set(sim, "v", {0.8, 0.8});
  sim.run_steps(1);
  const auto v = state_of(sim, "v");
  CHECK(v[0] == Approx(0.8 * std::exp(-0.1)).epsilon(1e-6));
  CHECK(v[1] == Approx(0.8 * std::exp(-0.2)).epsilon(1e-6));
}

TEST_CASE("oscillators spike every period steps whatever their input", "[sim][dynamics][oscillator]") {
  // Node 0 (dynamic, strongly driven) bombards oscillator 1; oscillator 2 gets nothing.
  const auto cfg = sim_config("[node.oscillator]\nperiod = 7.0\n[node.dynamic]\ndrive = 50.0\nt_ref = 0.0\n");
  Simulation sim(small_graph(3, {E{0, 1, 10.0}, E{0, 1, 10.0, 1, 1}, E{2, 1, 3.0}}, {1, 2, 2}), cfg);
  const auto phase0 = state_of(sim, "phase");
  CHECK(phase0[0] == 0);  // only oscillators have a phase
  for (int i = 1; i <= 2; ++i) {
    CHECK(phase0[i] >= 0);
    CHECK(phase0[i] < 7);
  }
  sim.run_steps(60);
  const auto& rec = sim.spikes();
  std::vector<std::int64_t> s1, s2;
  std::size_t n0 = 0;
  for (std::size_t i = 0; i < rec.size(); ++i) {
    if (rec.nodes[i] == 0) ++n0;
    if (rec.nodes[i] == 1) s1.push_back(rec.steps[i]);
    if (rec.nodes[i] == 2) s2.push_back(rec.steps[i]);
  }
  CHECK(n0 > 30);  // the driver really spikes
  for (const auto* s : {&s1, &s2}) {
    const std::int64_t first = (s == &s1) ? static_cast<std::int64_t>(phase0[1]) : static_cast<std::int64_t>(phase0[2]);
    std::vector<std::int64_t> expect;
    for (std::int64_t t = first; t < 60; t += 7) expect.push_back(t);
    CHECK(*s == expect);
  }
  CHECK(state_of(sim, "v")[1] == 0.0);  // input never integrated

  SECTION("no energy, no spikes; the phase keeps running") {
    Simulation s(small_graph(1, {}, {2}), cfg);
    const auto p = static_cast<std::int64_t>(state_of(s, "phase")[0]);
    set(s, "energy", {0.0});
    s.run_steps(20);
    CHECK(s.spikes().size() == 0);
    set(s, "energy", {5.0});
    s.run_steps(20);  // steps 20..39
    std::vector<std::int64_t> expect;
    for (std::int64_t t = p; t < 40; t += 7) {
      if (t >= 20) expect.push_back(t);
    }
    CHECK(s.spikes().steps == expect);
  }
}

TEST_CASE("oscillator phases are drawn per node from the seed", "[sim][dynamics][oscillator]") {
  auto g = small_graph(64, {}, std::vector<std::int64_t>(64, 2));
  Simulation a(g, sim_config("sim.seed = 3\n"));
  Simulation b(g, sim_config("sim.seed = 3\n"));
  Simulation c(g, sim_config("sim.seed = 4\n"));
  const auto pa = state_of(a, "phase");
  CHECK(pa == state_of(b, "phase"));
  CHECK(pa != state_of(c, "phase"));
  // period 100 steps: 64 phases are spread out, not all equal
  std::set<double> distinct(pa.begin(), pa.end());
  CHECK(distinct.size() > 30);
  for (double p : pa) {
    CHECK(p >= 0);
    CHECK(p < 100);
  }
}

TEST_CASE("sensory nodes ignore synaptic and Poisson input but follow their drive", "[sim][dynamics]") {
  const auto cfg = sim_config(R"(
[node.sensory]
drive = 0.5
energy_coupling = 0.0
poisson_rate = 5000.0
poisson_weight = 1.0
)");
  // node 1 sensory
  Simulation s(small_graph(2, {E{0, 1, 0.4}}, {1, 0}), cfg);
  set(s, "v", {5.0, 0.0});
  const double a = std::exp(-0.1);
  s.run_steps(1);
  CHECK(state_of(s, "v")[1] == Approx(0.5 * (1 - a)).epsilon(1e-6));
  s.run_steps(1);  // the spike of node 0 arrives now: ignored
  CHECK(state_of(s, "v")[1] == Approx(0.5 * (1 - a * a)).epsilon(1e-6));
  CHECK(s.spikes().nodes == std::vector<spikegraph::index_t>{0});
}

TEST_CASE("integrators do not leak", "[sim][dynamics]") {
  Simulation sim(small_graph(3, {E{0, 1, 0.3}, E{0, 2, 0.3}}, {1, 3, 1}), sim_config());
  set(sim, "v", {5.0, 0.2, 0.2});
  sim.run_steps(1);
  CHECK(state_of(sim, "v")[1] == Approx(0.2).epsilon(1e-7));  // unchanged by the leak
  CHECK(state_of(sim, "v")[2] < 0.2);                          // a dynamic node leaks
  sim.run_steps(1);
  const double v1 = state_of(sim, "v")[1];
  CHECK(v1 == Approx(0.5).epsilon(1e-6));
  sim.run_steps(50);
  CHECK(state_of(sim, "v")[1] == v1);  // exactly constant
}

TEST_CASE("integrators integrate their drive: R drive dt / tau_m per step", "[sim][dynamics]") {
  // R 2, tau_m 10 ms, dt 0.5 ms, drive 0.3: v grows by 2 * 0.3 * 0.5 / 10 = 0.03 a step,
  // the a -> 1 limit of the leaky update, until it reaches the threshold (1) and fires.
  Simulation sim(small_graph(1, {}, {3}),
                 sim_config("[sim]\ndt = 0.5\nprecision = 'float64'\n[node.integrator]\nresistance = 2.0\n"
                            "tau_m = 10.0\ndrive = 0.3\nt_ref = 0.0\n"));
  sim.run_steps(10);
  CHECK(state_of(sim, "v")[0] == Approx(0.3).epsilon(1e-12));
  sim.run_steps(30);  // 34 steps reach 1.02 >= 1
  REQUIRE(sim.spikes().size() == 1);
  CHECK(sim.spikes().steps[0] == 33);
}

TEST_CASE("dead nodes do not spike and send nothing", "[sim][dynamics]") {
  Simulation sim(small_graph(3, {E{0, 1, 0.4}, E{1, 2, 0.4}}, {1, 1, 3}), sim_config());
  set(sim, "alive", {1.0, 0.0, 1.0});
  set(sim, "v", {5.0, 3.0, 0.0});
  sim.run_steps(5);
  CHECK(sim.spikes().nodes == std::vector<spikegraph::index_t>{0});
  CHECK(state_of(sim, "last_spike")[1] == -1);
  CHECK(state_of(sim, "v")[2] == 0.0);  // the integrator behind the dead node got nothing
}

// docs/model.md step 3 updates alive nodes only: a dead node's visible state must not change.
TEST_CASE("dead nodes keep their state (MODEL step 3: per alive node)", "[sim][dynamics]") {
  Simulation sim(small_graph(2, {E{0, 1, 0.4}}), sim_config());
  set(sim, "alive", {1.0, 0.0});
  set(sim, "v", {5.0, 3.0});
  sim.run_steps(1);
  CHECK(state_of(sim, "v")[1] == 3.0);
  CHECK(state_of(sim, "refractory")[1] == 0);
}
