// docs/model.md step 6 through Simulation: the running rate estimate, intrinsic plasticity
// of dynamic nodes' thresholds (direction and bounds; other types untouched), and the
// criticality control of the synaptic gain on the multistep-regression estimate of the
// branching ratio (the rule, and its effect on super- and sub-critical networks).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "spikegraph/sim/simulation.hpp"
#include "support/test_util.hpp"

using sgtest::set;
using sgtest::small_graph;
using sgtest::state_of;
using spikegraph::HomeostasisState;
using spikegraph::Simulation;

namespace {

using sgtest::config_of;
using sgtest::Keys;


Keys homeostasis_keys() {
  return {{"sim.precision", "\"float64\""}, {"homeostasis.enabled", "true"}};
}

// Checks the gain rule on a finished run: each update whose estimate is finite, with a
// good fit (quality >= min_quality) and a positive amplitude, moves the gain one step
// toward the target unless it lies within the dead band (clamped to the gain bounds); other
// updates keep it. Returns the number of updates that could move it.
// The gain rule of docs/model.md step 6, replayed from the history: one step toward the
// target when the fit can tell and the estimate is outside the dead band, within bounds.
struct GainRule {
  double tolerance = 0.0;
  double gain_min = 0.1;
  double gain_max = 10.0;
};

int check_gain_rule(const HomeostasisState& h, std::int64_t interval, std::int64_t steps, double step,
                    double target = 0.98, double min_quality = 0.5, GainRule rule = {}) {
  const std::size_t updates = static_cast<std::size_t>(steps / interval);
  REQUIRE(h.updates == static_cast<std::int64_t>(updates));
  REQUIRE(h.steps.size() == updates);
  REQUIRE(h.branching.size() == updates);
  REQUIRE(h.amplitudes.size() == updates);
  REQUIRE(h.qualities.size() == updates);
  REQUIRE(h.gains.size() == updates);
  int moved = 0;
  double g = 1.0;
  for (std::size_t w = 0; w < updates; ++w) {
    INFO("update " << w);
    CHECK(h.steps[w] == static_cast<std::int64_t>((w + 1) * interval - 1));
    const double m = h.branching[w];
    if (std::isfinite(m) && h.qualities[w] >= min_quality && h.amplitudes[w] > 0.0) {
      ++moved;
      if (m > target + rule.tolerance) g *= 1.0 - step;
      if (m < target - rule.tolerance) g *= 1.0 + step;
      g = std::min(rule.gain_max, std::max(rule.gain_min, g));
    }
    CHECK(h.gains[w] == Approx(g).epsilon(1e-12));
  }
  CHECK(h.synaptic_gain == h.gains.back());
  return moved;
}

// Deterministic generator (splitmix64).
struct Rng {
  std::uint64_t s;
  std::uint64_t next() {
    std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
};

// n integrator nodes (no leak: each spike hands k * w of potential to its targets and
// costs a threshold of 1, so the network branches with ratio about k * w * gain), each with
// k excitatory out-edges of weight w to random targets, all with the same delay.
std::shared_ptr<const spikegraph::Graph> branching_network(std::size_t n, int k, double w, std::int64_t delay,
                                                           std::uint64_t seed) {
  Rng rng{seed};
  std::vector<std::int64_t> types(n, 3);
  std::vector<sgtest::E> edges;
  for (std::size_t i = 0; i < n; ++i) {
    for (int e = 0; e < k; ++e) {
      edges.push_back(sgtest::E{static_cast<std::int64_t>(i), static_cast<std::int64_t>(rng.next() % n), w, delay});
    }
  }
  return small_graph(n, edges, types);
}

struct BranchingRun {
  HomeostasisState h;
  std::vector<double> sigma;  // the finite estimates of m, in order
  std::size_t spikes;
  std::int64_t last_spike_step;
};

// Integrator network with initial potentials uniform in [0, 1) and `seeds` nodes kicked
// over threshold at step 0; no external input.
BranchingRun run_branching(std::size_t n, int k, std::int64_t delay, std::int64_t interval, const std::string& step,
                           std::size_t seeds, std::int64_t steps,
                           const Keys& extra = {}) {
  Keys keys{{"sim.precision", "\"float32\""},
            {"homeostasis.interval", std::to_string(interval)},
            {"homeostasis.gain_step", step},
            {"homeostasis.bin", std::to_string(delay) + ".0"},
            {"homeostasis.eta", "0.0"},  // thresholds fixed
            {"homeostasis.max_lag", "4"},
            {"node.integrator.t_ref", "1.0"},
            {"node.integrator.energy_coupling", "0.0"},
            {"init.v_min", "0.0"},
            {"init.v_max", "1.0"}};
  for (const auto& [key, value] : extra) keys[key] = value;
  const auto cfg = config_of(homeostasis_keys(), keys);
  Simulation sim(branching_network(n, k, 0.1, delay, 5), cfg);
  auto v = state_of(sim, "v");
  for (std::size_t i = 0; i < seeds; ++i) v[i] = 1.5;
  set(sim, "v", v);
  sim.run_steps(steps);
  BranchingRun r;
  r.h = sim.homeostasis();
  for (double s : r.h.branching) {
    if (!std::isnan(s)) r.sigma.push_back(s);
  }
  r.spikes = sim.spikes().size();
  r.last_spike_step = r.spikes ? sim.spikes().steps.back() : -1;
  return r;
}

}  // namespace

TEST_CASE("homeostasis: the rate estimate of a regularly firing node converges to its rate in Hz",
          "[homeostasis][sim]") {
  const double dt = 0.5;
  const auto cfg = config_of(homeostasis_keys(), {{"sim.dt", "0.5"},
                                                  {"homeostasis.tau_rate", "50.0"},
                                                  {"homeostasis.eta", "0.0"},
                                                  {"node.oscillator.period", "10.0"},
                                                  {"node.dynamic.energy_coupling", "0.0"}});
  // An oscillator (every 20 steps: 100 Hz), a driven dynamic node, a silent dynamic node.
  Simulation sim(small_graph(3, {}, {2, 1, 1}), cfg);
  set(sim, "drive", {0.0, 3.0, 0.0});
  sim.run_steps(2000);  // 20 tau_rate
  const auto& r = sim.spikes();
  std::vector<std::int64_t> times[3];
  for (std::size_t i = 0; i < r.size(); ++i) times[r.nodes[i]].push_back(r.steps[i]);
  REQUIRE(times[0].size() > 50);
  REQUIRE(times[1].size() > 50);
  CHECK(times[2].empty());
  CHECK(times[0].back() - times[0][times[0].size() - 2] == 20);
  const std::int64_t period = times[1].back() - times[1][times[1].size() - 2];
  CHECK(times[1][times[1].size() - 2] - times[1][times[1].size() - 3] == period);  // regular
  // The mean of the estimate over one period is the rate (it saw-tooths around it).
  double mean[2] = {0.0, 0.0};
  const std::int64_t periods[2] = {20, period};
  for (int node = 0; node < 2; ++node) {
    Simulation s2(small_graph(3, {}, {2, 1, 1}), cfg);
    set(s2, "drive", {0.0, 3.0, 0.0});
    s2.run_steps(2000 - periods[node]);
    for (std::int64_t k = 0; k < periods[node]; ++k) {
      s2.run_steps(1);
      mean[node] += state_of(s2, "rate")[node] / static_cast<double>(periods[node]);
    }
  }
  CHECK(mean[0] == Approx(1000.0 / (20 * dt)).epsilon(1e-6));
  CHECK(mean[1] == Approx(1000.0 / (static_cast<double>(period) * dt)).epsilon(1e-6));
  const auto rate = state_of(sim, "rate");
  CHECK(rate[0] == Approx(100.0).epsilon(0.25));  // within the saw-tooth
  CHECK(rate[2] == 0.0);
}

TEST_CASE("homeostasis: thresholds of input-driven types move toward their target rates within [0.1, 10] x",
          "[homeostasis][sim]") {
  // 0: dynamic, driven far above threshold; 1: dynamic, silent; 2: dynamic, dead;
  // 3: workspace, 4: relay, 5: highway (all driven); 6: integrator (Poisson input);
  // 7: oscillator. Every input-driven type adapts, toward its own target rate; the
  // oscillator does not (nor would a sensory node).
  const double eta = 0.05, target = 5.0, t0 = 2.0;
  const auto cfg = config_of(homeostasis_keys(), {{"homeostasis.eta", "0.05"},
                                                  {"homeostasis.interval", "10"},
                                                  {"homeostasis.tau_rate", "100.0"},
                                                  {"node.dynamic.threshold", "2.0"},
                                                  {"node.relay.target_rate", "2000.0"},
                                                  {"node.integrator.poisson_rate", "500.0"},
                                                  {"node.integrator.poisson_weight", "0.5"},
                                                  {"node.oscillator.period", "5.0"}});
  Simulation sim(small_graph(8, {}, {1, 1, 1, 6, 4, 5, 3, 2}), cfg);
  set(sim, "drive", {1e4, 0.0, 1e4, 1e4, 1e4, 1e4, 0.0, 0.0});
  set(sim, "alive", {1, 1, 0, 1, 1, 1, 1, 1});
  const std::vector<double> initial{2.0, 2.0, 2.0, 1.0, 1.0, 1.0, 1.0, 1.0};
  CHECK(state_of(sim, "threshold") == initial);
  sim.run_steps(9);
  CHECK(state_of(sim, "threshold") == initial);  // not before the end of the first window
  sim.run_steps(1);
  const auto rate = state_of(sim, "rate");
  auto thr = state_of(sim, "threshold");
  REQUIRE(rate[0] > target);
  CHECK(thr[0] == Approx(t0 + eta * (rate[0] - target) / target).epsilon(1e-12));
  CHECK(thr[1] == Approx(t0 - eta).epsilon(1e-12));
  CHECK(thr[2] == initial[2]);  // dead
  CHECK(thr[3] == Approx(1.0 + eta * (rate[3] - target) / target).epsilon(1e-12));
  CHECK(thr[4] == Approx(1.0 + eta * (rate[4] - 2000.0) / 2000.0).epsilon(1e-12));  // the relay's own target
  CHECK(thr[7] == initial[7]);  // oscillator
  // Window by window: up for the fast node, down for the silent one, until the bounds.
  std::vector<double> prev = thr;
  for (int w = 0; w < 60; ++w) {
    sim.run_steps(10);
    thr = state_of(sim, "threshold");
    INFO("window " << w + 2);
    CHECK(thr[0] >= prev[0]);
    CHECK(thr[1] <= prev[1]);
    prev = thr;
  }
  CHECK(thr[0] == 20.0);  // 10 x the type's threshold
  CHECK(thr[1] == Approx(0.2).epsilon(1e-15));  // 0.1 x
  CHECK(thr[2] == initial[2]);
  CHECK(thr[3] > 1.0);
  CHECK(thr[5] > 1.0);
  CHECK(thr[7] == initial[7]);
  // The oscillator did fire well above the target rate (so it would have moved).
  CHECK(state_of(sim, "rate")[7] > 10 * target);
  CHECK(state_of(sim, "rate")[2] == 0.0);  // dead: no estimate either
}

TEST_CASE("homeostasis: a super-critical network sees its gain decrease and its branching ratio reach the target",
          "[homeostasis][gain][criticality][sim]") {
  // Integrators, 11 out-edges of weight 0.1 (about 1.1 spikes per spike at gain 1), delay
  // 5 steps = one bin of the estimate, started by 50 kicked nodes: the activity grows
  // slowly enough for the control to act before the network saturates (a saturated
  // network propagates no fluctuations, and reads as sub-critical).
  const std::int64_t steps = 1500, interval = 5;
  const BranchingRun r = run_branching(20000, 11, 5, interval, "0.02", 50, steps);
  const int moved = check_gain_rule(r.h, interval, steps, 0.02);
  INFO("first m " << r.sigma.front() << ", last m " << r.sigma.back() << ", final gain " << r.h.synaptic_gain
                  << ", estimates " << r.sigma.size() << ", moved " << moved);
  REQUIRE(r.sigma.size() >= 50);
  CHECK(moved >= 20);
  CHECK(r.sigma.front() > 1.03);
  // The first estimates are above the target: the gain goes down first.
  CHECK(*std::min_element(r.h.gains.begin(), r.h.gains.begin() + 60) < 0.95);
  // Then the estimate settles at the target.
  double late = 0.0;
  for (std::size_t k = r.sigma.size() - 50; k < r.sigma.size(); ++k) late += r.sigma[k] / 50.0;
  CHECK(std::abs(late - 0.98) < 0.03);
  CHECK(r.last_spike_step >= steps - 10);  // still active at the end
}

TEST_CASE("homeostasis: a sub-critical network sees its gain increase", "[homeostasis][gain][criticality][sim]") {
  // Integrators, 9 out-edges of weight 0.1 (about 0.9 at gain 1): the activity of 800
  // kicked nodes dies down unless the gain rises.
  const std::int64_t steps = 600, interval = 6;
  const BranchingRun r = run_branching(8000, 9, 3, interval, "0.05", 800, steps);
  check_gain_rule(r.h, interval, steps, 0.05);
  INFO("first m " << (r.sigma.empty() ? 0.0 : r.sigma.front()) << ", final gain " << r.h.synaptic_gain);
  REQUIRE(r.sigma.size() >= 20);
  CHECK(r.sigma.front() < 0.98);
  CHECK(r.h.synaptic_gain > 1.1);
  CHECK(*std::min_element(r.h.gains.begin(), r.h.gains.end()) >= 1.0);
}

TEST_CASE("homeostasis: the gain holds inside the dead band and stays within its bounds",
          "[homeostasis][gain][criticality][sim]") {
  // The super-critical network above, with a dead band of 0.05 around the target and the
  // gain kept in [0.95, 1.5]: it falls to its lower bound (about 0.90 without it), and estimates
  // within the band do not move it.
  const std::int64_t steps = 1500, interval = 5;
  const GainRule rule{0.05, 0.95, 1.5};
  const BranchingRun r = run_branching(20000, 11, 5, interval, "0.02", 50, steps,
                                       {{"homeostasis.branching_tolerance", "0.05"},
                                        {"homeostasis.gain_min", "0.95"},
                                        {"homeostasis.gain_max", "1.5"}});
  check_gain_rule(r.h, interval, steps, 0.02, 0.98, 0.5, rule);
  REQUIRE(r.sigma.size() >= 50);
  CHECK(*std::min_element(r.h.gains.begin(), r.h.gains.end()) == 0.95);
  CHECK(*std::max_element(r.h.gains.begin(), r.h.gains.end()) <= 1.5);
  std::size_t held = 0;
  for (std::size_t w = 1; w < r.h.gains.size(); ++w) {
    const double m = r.h.branching[w];
    if (std::isfinite(m) && std::abs(m - 0.98) <= 0.05 && r.h.qualities[w] >= 0.5) {
      CHECK(r.h.gains[w] == r.h.gains[w - 1]);
      ++held;
    }
  }
  CHECK(held > 0);
}

TEST_CASE("homeostasis: the gain bounds are checked", "[homeostasis][config]") {
  CHECK_THROWS_WITH(config_of(homeostasis_keys(), {{"homeostasis.gain_min", "2.0"}, {"homeostasis.gain_max", "1.0"}}),
                    Catch::Matchers::Contains("homeostasis.gain_min = 2 exceeds homeostasis.gain_max = 1"));
}

TEST_CASE("homeostasis disabled: no service, gain 1, no history, thresholds fixed", "[homeostasis][sim]") {
  Simulation sim(small_graph(2, {}), sgtest::sim_config("node.dynamic.drive = 50.0\n"));
  sim.run_steps(50);
  REQUIRE(sim.spikes().size() > 0);
  const auto names = sim.service_names();
  CHECK(std::find(names.begin(), names.end(), "homeostasis") == names.end());
  CHECK(sim.homeostasis().synaptic_gain == 1.0);
  CHECK(sim.homeostasis().updates == 0);
  CHECK(sim.homeostasis().gains.empty());
  CHECK(state_of(sim, "threshold") == std::vector<double>{1.0, 1.0});
}
