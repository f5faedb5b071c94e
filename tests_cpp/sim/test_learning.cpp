// docs/model.md step 5 through Simulation: pair STDP at chosen lags (emission steps, not
// arrival), energy modulation, simultaneous spikes, plastic edges only, weight bounds,
// the eligibility (three-factor) rule and its neuromodulator, and the traces.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "spikegraph/core/error.hpp"
#include "spikegraph/sim/simulation.hpp"
#include "support/test_util.hpp"

using sgtest::E;
using sgtest::set;
using sgtest::state_of;
using spikegraph::Simulation;

namespace {

using sgtest::config_of;
using sgtest::Keys;

constexpr double kDt = 0.5, kTauPlus = 20.0, kTauMinus = 30.0, kAPlus = 0.02, kAMinus = 0.015;


// Learning on, float64, dt 0.5 ms, distinct time constants and amplitudes for the two
// sides (so that swapping them is caught), refractory 1 ms, no energy coupling.
Keys learning_keys() {
  return {{"sim.precision", "\"float64\""},
          {"sim.dt", "0.5"},
          {"learning.enabled", "true"},
          {"learning.tau_plus", "20.0"},
          {"learning.tau_minus", "30.0"},
          {"learning.a_plus", "0.02"},
          {"learning.a_minus", "0.015"},
          {"learning.energy_modulation", "false"},
          {"node.dynamic.energy_coupling", "0.0"},
          {"node.dynamic.t_ref", "1.0"}};
}

// A graph from edges with plastic flags.
std::shared_ptr<const spikegraph::Graph> plastic_graph(std::size_t n, const std::vector<E>& edges,
                                                       const std::vector<std::uint8_t>& plastic,
                                                       const std::vector<std::int64_t>& types = {}) {
  return sgtest::small_graph(n, edges, types, plastic);
}

double weight(Simulation& sim, std::size_t edge) {
  return static_cast<const float*>(sim.edge_state("weight").data)[edge];
}
double eligibility(Simulation& sim, std::size_t edge) {
  return static_cast<const float*>(sim.edge_state("eligibility").data)[edge];
}

// Makes the given nodes spike at the next step (v far above threshold).
void force(Simulation& sim, const std::vector<std::size_t>& nodes) {
  auto v = state_of(sim, "v");
  for (std::size_t i : nodes) v[i] = 10.0;
  set(sim, "v", v);
}

// Node 0 (pre) and node 1 (post), one plastic edge 0 -> 1 of weight 0.5 (below threshold:
// the pair is driven by set_state only) and delay 5 steps. `lag` = post step - pre step.
// Returns the weight change; checks that exactly the two forced spikes happened.
double pair_change(int lag, const Keys& overrides = {}, std::vector<double> energies = {}) {
  Simulation sim(plastic_graph(2, {E{0, 1, 0.5, 5, 0}}, {1}), config_of(learning_keys(), overrides));
  if (!energies.empty()) set(sim, "energy", energies);
  REQUIRE(lag != 0);
  const std::size_t first = lag > 0 ? 0 : 1, second = 1 - first;
  const int d = std::abs(lag);
  sim.run_steps(7);
  force(sim, {first});
  sim.run_steps(1);  // step 7
  sim.run_steps(d - 1);
  force(sim, {second});
  sim.run_steps(1);  // step 7 + d
  sim.run_steps(3);
  const auto& r = sim.spikes();
  INFO("lag " << lag);
  REQUIRE(r.size() == 2);
  CHECK(r.steps[0] == 7);
  CHECK(r.nodes[0] == first);
  CHECK(r.steps[1] == 7 + d);
  CHECK(r.nodes[1] == second);
  return weight(sim, 0) - static_cast<double>(0.5f);
}

}  // namespace

TEST_CASE("STDP: pre d steps before post potentiates by A_plus exp(-d dt / tau_plus)", "[learning][stdp][sim]") {
  for (int d : {1, 3, 10, 30}) {
    INFO("d = " << d);
    CHECK(pair_change(d) == Approx(kAPlus * std::exp(-d * kDt / kTauPlus)).margin(2e-7));
  }
}

TEST_CASE("STDP: post d steps before pre depresses by A_minus exp(-d dt / tau_minus)", "[learning][stdp][sim]") {
  for (int d : {1, 3, 10, 30}) {
    INFO("d = " << d);
    CHECK(pair_change(-d) == Approx(-kAMinus * std::exp(-d * kDt / kTauMinus)).margin(2e-7));
  }
}

TEST_CASE("STDP: energy modulation m = 0.3 + 1.2 min((E_i + E_j) / (2 cap), 1)", "[learning][stdp][sim]") {
  const Keys on{{"learning.energy_modulation", "true"}};
  struct Case {
    double e_pre, e_post;
  };
  for (const Case c : {Case{1.0, 2.0}, Case{5.0, 5.0}, Case{4.5, 5.0}, Case{0.2, 0.3}, Case{0.05, 0.02}}) {
    const double m = 0.3 + 1.2 * std::min((c.e_pre + c.e_post) / (2.0 * 5.0), 1.0);
    INFO("E_pre " << c.e_pre << ", E_post " << c.e_post << ": m = " << m);
    // Energy is off in learning_keys(): the energies stay as set (all >= spike_cost_min).
    CHECK(pair_change(3, on, {c.e_pre, c.e_post}) == Approx(kAPlus * std::exp(-3 * kDt / kTauPlus) * m).margin(2e-7));
    CHECK(pair_change(-10, on, {c.e_pre, c.e_post}) ==
          Approx(-kAMinus * std::exp(-10 * kDt / kTauMinus) * m).margin(2e-7));
  }
  // energy.cap enters m
  const Keys cap2{{"learning.energy_modulation", "true"}, {"energy.cap", "2.0"}, {"energy.initial", "2.0"}};
  CHECK(pair_change(3, cap2, {1.0, 2.0}) ==
        Approx(kAPlus * std::exp(-3 * kDt / kTauPlus) * (0.3 + 1.2 * 0.75)).margin(2e-7));
  // With modulation off, energies do not matter.
  CHECK(pair_change(3, {}, {0.1, 0.2}) == Approx(kAPlus * std::exp(-3 * kDt / kTauPlus)).margin(2e-7));
}

TEST_CASE("STDP: the change of a pair does not depend on the synaptic delay", "[learning][stdp][sim]") {
  // Pairing uses emission steps: with delay 1 or 20 steps the same lag gives the same change.
  for (std::int64_t delay : {1, 20}) {
    Simulation sim(plastic_graph(2, {E{0, 1, 0.5, delay, 0}}, {1}), config_of(learning_keys()));
    sim.run_steps(3);
    force(sim, {0});
    sim.run_steps(4);  // pre at step 3
    force(sim, {1});
    sim.run_steps(1);  // post at step 7
    sim.run_steps(25);
    INFO("delay " << delay);
    REQUIRE(sim.spikes().size() == 2);
    CHECK(weight(sim, 0) - 0.5 == Approx(kAPlus * std::exp(-4 * kDt / kTauPlus)).margin(2e-7));
  }
}

TEST_CASE("STDP: simultaneous pre and post spikes change nothing", "[learning][stdp][sim]") {
  Simulation sim(plastic_graph(2, {E{0, 1, 0.5, 1, 0}, E{1, 0, 0.5, 1, 0}}, {1, 1}), config_of(learning_keys()));
  sim.run_steps(4);
  force(sim, {0, 1});
  sim.run_steps(1);
  REQUIRE(sim.spikes().size() == 2);
  CHECK(weight(sim, 0) == 0.5f);
  CHECK(weight(sim, 1) == 0.5f);
  CHECK(state_of(sim, "trace_pre") == std::vector<double>{1.0, 1.0});
  CHECK(state_of(sim, "trace_post") == std::vector<double>{1.0, 1.0});
}

TEST_CASE("STDP: all-to-all traces sum the pairs", "[learning][stdp][sim]") {
  // Pre at steps 2 and 6, post at step 12: +A_plus (e^{-10 dt/tau+} + e^{-6 dt/tau+}).
  Simulation sim(plastic_graph(2, {E{0, 1, 0.2, 1, 0}}, {1}), config_of(learning_keys()));
  sim.run_steps(2);
  force(sim, {0});
  sim.run_steps(4);
  force(sim, {0});
  sim.run_steps(6);
  force(sim, {1});
  sim.run_steps(1);
  REQUIRE(sim.spikes().size() == 3);
  const double expect = kAPlus * (std::exp(-10 * kDt / kTauPlus) + std::exp(-6 * kDt / kTauPlus));
  CHECK(weight(sim, 0) - static_cast<double>(0.2f) == Approx(expect).margin(2e-7));
}

TEST_CASE("STDP: only plastic edges change", "[learning][stdp][sim]") {
  // 0 -> 1 plastic, 0 -> 2 not plastic, 2 -> 1 not plastic, 0 -> 1 (multapse) not plastic.
  Simulation sim(plastic_graph(3, {E{0, 1, 0.3, 1, 0}, E{0, 2, 0.3, 1, 0}, E{2, 1, 0.3, 1, 0}, E{0, 1, 0.4, 1, 0}},
                               {1, 0, 0, 0}),
                 config_of(learning_keys()));
  // edge order in the graph: by (source, target), stable: 0->1 (0.3, plastic), 0->1 (0.4), 0->2, 2->1
  REQUIRE(sim.graph().edge_plastic() == std::vector<std::uint8_t>{1, 0, 0, 0});
  sim.run_steps(2);
  force(sim, {0});
  sim.run_steps(3);
  force(sim, {1, 2});
  sim.run_steps(1);
  force(sim, {0});  // and a depression for good measure
  sim.run_steps(5);
  REQUIRE(sim.spikes().size() == 4);
  const double ltp = kAPlus * std::exp(-3 * kDt / kTauPlus);
  const double ltd = -kAMinus * std::exp(-1 * kDt / kTauMinus);
  CHECK(weight(sim, 0) - static_cast<double>(0.3f) == Approx(ltp + ltd).margin(3e-7));
  CHECK(weight(sim, 1) == 0.4f);
  CHECK(weight(sim, 2) == 0.3f);
  CHECK(weight(sim, 3) == 0.3f);
}

TEST_CASE("STDP: weights stay within [w_min, w_max]", "[learning][stdp][sim]") {
  SECTION("potentiation stops at w_max") {
    CHECK(pair_change(1, {{"learning.w_max", "0.51"}}) + 0.5 == Approx(0.51).margin(1e-7));
  }
  SECTION("depression stops at w_min") {
    CHECK(pair_change(-1, {{"learning.w_min", "0.495"}}) + 0.5 == Approx(0.495).margin(1e-7));
  }
  SECTION("many pairings") {
    // Pre then post every 6 steps for a long time: the weight climbs to w_max and stays.
    Simulation sim(plastic_graph(2, {E{0, 1, 0.5, 1, 0}}, {1}),
                   config_of(learning_keys(), {{"learning.w_max", "0.7"}, {"learning.a_plus", "0.05"}}));
    for (int k = 0; k < 20; ++k) {
      force(sim, {0});
      sim.run_steps(2);
      force(sim, {1});
      sim.run_steps(4);
      CHECK(weight(sim, 0) <= 0.7f);
      CHECK(weight(sim, 0) >= 0.5f);
    }
    CHECK(weight(sim, 0) == 0.7f);
  }
}

TEST_CASE("learning disabled: plastic edges keep their weight, traces stay 0", "[learning][sim]") {
  Simulation sim(plastic_graph(2, {E{0, 1, 0.5, 1, 0}}, {1}),
                 config_of(learning_keys(), {{"learning.enabled", "false"}}));
  force(sim, {0});
  sim.run_steps(2);
  force(sim, {1});
  sim.run_steps(3);
  REQUIRE(sim.spikes().size() == 2);
  CHECK(weight(sim, 0) == 0.5f);
  CHECK(state_of(sim, "trace_pre") == std::vector<double>{0.0, 0.0});
  const auto names = sim.service_names();
  CHECK(std::find(names.begin(), names.end(), "learning") == names.end());
}

TEST_CASE("eligibility rule: the change goes to eligibility, converted by the neuromodulator",
          "[learning][eligibility][sim]") {
  const double tau_e = 50.0, rate = 0.5;
  const double decay = std::exp(-kDt / tau_e);
  Simulation sim(plastic_graph(3, {E{0, 1, 0.5, 1, 0}, E{0, 2, 0.5, 1, 0}}, {1, 0}),
                 config_of(learning_keys(), {{"learning.rule", "\"eligibility\""},
                                             {"learning.tau_eligibility", "50.0"},
                                             {"learning.rate", "0.5"}}));
  const auto names = sim.edge_state_names();
  REQUIRE(std::find(names.begin(), names.end(), "eligibility") != names.end());
  CHECK(sim.neuromodulator() == 0.0);
  sim.run_steps(2);
  force(sim, {0});
  sim.run_steps(3);
  force(sim, {1});
  sim.run_steps(1);  // post 3 steps after pre
  const double delta = kAPlus * std::exp(-3 * kDt / kTauPlus);
  CHECK(eligibility(sim, 0) == Approx(delta).epsilon(1e-6));
  CHECK(eligibility(sim, 1) == 0.0);  // not plastic
  CHECK(weight(sim, 0) == 0.5f);      // the weight does not change while the signal is 0
  // Eligibility decays by exp(-dt / tau_eligibility) per step.
  for (int k = 1; k <= 10; ++k) {
    sim.run_steps(1);
    INFO("k = " << k);
    CHECK(eligibility(sim, 0) == Approx(delta * std::pow(decay, k)).epsilon(1e-5));
    CHECK(weight(sim, 0) == 0.5f);
  }
  // A signal converts it: every step w += rate * signal * eligibility (after that step's decay).
  sim.set_neuromodulator(2.0);
  CHECK(sim.neuromodulator() == 2.0);
  double w = 0.5;
  for (int k = 11; k <= 14; ++k) {
    sim.run_steps(1);
    w += rate * 2.0 * delta * std::pow(decay, k);
    INFO("k = " << k);
    CHECK(weight(sim, 0) == Approx(w).epsilon(1e-6));
    CHECK(eligibility(sim, 0) == Approx(delta * std::pow(decay, k)).epsilon(1e-5));
  }
  CHECK(weight(sim, 1) == 0.5f);
  // Back to 0: the weight stays; a negative signal turns potentiation into depression.
  sim.set_neuromodulator(0.0);
  const double held = weight(sim, 0);
  sim.run_steps(3);
  CHECK(weight(sim, 0) == held);
  sim.set_neuromodulator(-1.0);
  sim.run_steps(1);
  CHECK(weight(sim, 0) < held);
  // Conversion respects the bounds.
  sim.set_neuromodulator(1e6);
  sim.run_steps(1);
  CHECK(weight(sim, 0) == 1.0f);  // learning.w_max
  sim.set_neuromodulator(-1e6);
  sim.run_steps(1);
  CHECK(weight(sim, 0) == 0.0f);
}

TEST_CASE("eligibility rule: depression is stored as negative eligibility", "[learning][eligibility][sim]") {
  Simulation sim(plastic_graph(2, {E{0, 1, 0.5, 1, 0}}, {1}),
                 config_of(learning_keys(), {{"learning.rule", "\"eligibility\""}}));
  force(sim, {1});
  sim.run_steps(4);
  force(sim, {0});
  sim.run_steps(1);  // pre 4 steps after post
  CHECK(eligibility(sim, 0) == Approx(-kAMinus * std::exp(-4 * kDt / kTauMinus)).epsilon(1e-6));
  CHECK(weight(sim, 0) == 0.5f);
}

TEST_CASE("set_neuromodulator: a non-finite signal is an InputError and changes nothing", "[learning][sim]") {
  Simulation sim(plastic_graph(2, {E{0, 1, 0.5, 1, 0}}, {1}),
                 config_of(learning_keys(), {{"learning.rule", "\"eligibility\""}}));
  sim.set_neuromodulator(0.25);
  CHECK_THROWS_AS(sim.set_neuromodulator(std::numeric_limits<double>::quiet_NaN()), spikegraph::InputError);
  CHECK_THROWS_AS(sim.set_neuromodulator(std::numeric_limits<double>::infinity()), spikegraph::InputError);
  CHECK_THROWS_AS(sim.set_neuromodulator(-std::numeric_limits<double>::infinity()), spikegraph::InputError);
  CHECK(sim.neuromodulator() == 0.25);
}

TEST_CASE("traces: decay by exp(-dt / tau) per step and jump by 1 at each spike", "[learning][traces][sim]") {
  Simulation sim(sgtest::small_graph(2, {}), config_of(learning_keys()));
  sim.run_steps(3);
  CHECK(state_of(sim, "trace_pre") == std::vector<double>{0.0, 0.0});
  force(sim, {0});
  sim.run_steps(1);
  CHECK(state_of(sim, "trace_pre")[0] == 1.0);
  CHECK(state_of(sim, "trace_post")[0] == 1.0);
  CHECK(state_of(sim, "trace_pre")[1] == 0.0);
  sim.run_steps(7);
  const double pre7 = std::exp(-7 * kDt / kTauPlus), post7 = std::exp(-7 * kDt / kTauMinus);
  CHECK(state_of(sim, "trace_pre")[0] == Approx(pre7).epsilon(1e-13));
  CHECK(state_of(sim, "trace_post")[0] == Approx(post7).epsilon(1e-13));
  force(sim, {0});
  sim.run_steps(1);
  CHECK(state_of(sim, "trace_pre")[0] == Approx(pre7 * std::exp(-kDt / kTauPlus) + 1.0).epsilon(1e-13));
  CHECK(state_of(sim, "trace_post")[0] == Approx(post7 * std::exp(-kDt / kTauMinus) + 1.0).epsilon(1e-13));
  CHECK(sim.spikes().size() == 2);
}

TEST_CASE("set_weights of a network without plastic edges does not touch the shared graph", "[learning][sim]") {
  auto graph = sgtest::small_graph(2, {E{0, 1, 0.5, 1, 0}});
  Simulation a(graph, config_of(learning_keys()));
  Simulation b(graph, config_of(learning_keys()));
  const std::vector<double> seven{7.0};
  a.set_weights(seven.data(), seven.size());
  CHECK(weight(a, 0) == 7.0);
  CHECK(graph->edge_weight()[0] == 0.5f);
  CHECK(weight(b, 0) == 0.5);
  const std::vector<double> bad{-1.0};
  CHECK_THROWS_AS(a.set_weights(bad.data(), bad.size()), spikegraph::InputError);
  CHECK_THROWS_AS(a.set_weights(bad.data(), 0), spikegraph::InputError);
  CHECK(weight(a, 0) == 7.0);
}
