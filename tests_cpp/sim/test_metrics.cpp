// sim/metrics.hpp through Simulation: validate() of the live state, graph_metrics()
// on the current graph (alive flags, learned weights), activity_metrics() (rates from
// the estimate or the spike record, branching ratio, energy entropy, ledger totals),
// and the periodic "metrics" service.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "spikegraph/core/error.hpp"
#include "spikegraph/graph/generators.hpp"
#include "spikegraph/sim/metrics.hpp"
#include "spikegraph/sim/simulation.hpp"
#include "support/test_util.hpp"

using namespace spikegraph;
using sgtest::config_of;
using sgtest::E;
using sgtest::Keys;
using sgtest::small_graph;

namespace {

/// A small Poisson-driven balanced network that spikes a few times per node.
Keys active_keys() {
  return {{"network.kind", "\"brunel\""},   {"network.n", "300"},
          {"network.k_in", "20"},           {"network.delay", "1.0"},
          {"node.dynamic.poisson_rate", "3000.0"}, {"node.dynamic.poisson_weight", "0.4"},
          {"node.dynamic.threshold", "1.0"}};
}

/// Alive flags of n nodes with `dead` killed. (Built element by element: GCC 12.2 at
/// -O3 -march=native on AVX-512 miscompiles some braced lists such as
/// std::vector<double>{1, 1, 1, 0} into {1, 1, 1, 1}.)
std::vector<double> alive_except(std::size_t n, std::size_t dead) {
  std::vector<double> a(n, 1.0);
  if (dead < n) a[dead] = 0.0;
  return a;
}

bool mentions(const ValidationReport& r, const std::string& text) {
  for (const auto& p : r.problems) {
    if (p.find(text) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("Simulation::validate reports dead-node edges and NaN state", "[sim][metrics][validate]") {
  Simulation sim(small_graph(4, {E{0, 1, 0.5}, E{1, 2, 0.5}, E{2, 3, 0.5}}), sgtest::sim_config());
  sim.run_steps(3);
  ValidationReport r = sim.validate();
  CHECK(r.ok);
  CHECK(r.problems.empty());
  // Killing a node keeps its edges until the next structure step.
  sgtest::set(sim, "alive", alive_except(4, 2));
  r = sim.validate();
  CHECK_FALSE(r.ok);
  CHECK(r.problem_count == 2);
  CHECK(mentions(r, "edge 1 (1 -> 2) touches dead node 2"));
  CHECK(mentions(r, "until the next structure step"));
  sgtest::set(sim, "alive", alive_except(4, 4));
  // NaN written through a state view (set_state refuses it) is found and located.
  static_cast<float*>(sim.state("v").data)[3] = std::numeric_limits<float>::quiet_NaN();
  static_cast<float*>(sim.state("threshold").data)[0] = std::numeric_limits<float>::infinity();
  static_cast<float*>(sim.state("threshold").data)[2] = -std::numeric_limits<float>::infinity();
  r = sim.validate();
  CHECK_FALSE(r.ok);
  CHECK(r.problem_count == 3);
  CHECK(mentions(r, "state 'v': 1 value is not finite, first v[3] = nan"));
  CHECK(mentions(r, "state 'threshold': 2 values are not finite, first threshold[0] = inf"));
}

TEST_CASE("Simulation::graph_metrics uses the alive flags and the learned weights", "[sim][metrics]") {
  // A 3-cycle plus a tail; weights changed with set_weights; node 3 killed.
  Simulation sim(small_graph(4, {E{0, 1, 0.5}, E{1, 2, 0.5}, E{2, 0, 0.5}, E{2, 3, 0.5}}),
                 sgtest::sim_config());
  std::vector<double> w(4, 0.8);  // edge order: 0->1, 1->2, 2->0, 2->3
  w[3] = 3.0;
  sim.set_weights(w.data(), w.size());
  sgtest::set(sim, "alive", alive_except(4, 3));
  AnalysisOptions o = analysis_options(sim.config());
  o.samples = 0;
  const GraphMetrics m = sim.graph_metrics(o);
  CHECK(m.degrees.nodes == 3);
  CHECK(m.degrees.edges == 3);
  CHECK(m.weights[0].count == 3);
  CHECK(m.weights[0].max == Approx(0.8));
  CHECK(m.strong.count == 1);
  CHECK(m.strong.labels[3] == kNoComponent);
  CHECK(m.spectral.spectral_radius == Approx(static_cast<double>(0.8f)).epsilon(1e-12));
  CHECK(m.clustering.average == 1.0);
  CHECK(m.paths.reachable_fraction == 1.0);
  CHECK(o.power_iterations == 100);
  CHECK(o.seed == 1);
}

TEST_CASE("Simulation: spare slots of structural plasticity are not analysed", "[sim][metrics]") {
  auto cfg = config_of({{"structure.enabled", "true"}, {"structure.spare_nodes", "6"}});
  Simulation sim(small_graph(4, {E{0, 1, 0.5}, E{1, 2, 0.5}, E{2, 3, 0.5}}), cfg);
  REQUIRE(sim.graph().num_nodes() == 10);
  const GraphMetrics m = sim.graph_metrics(analysis_options(sim.config()));
  CHECK(m.degrees.nodes == 4);
  CHECK(m.weak.count == 1);
  CHECK(sim.activity_metrics().nodes == 4);
  CHECK(sim.validate().ok);
}

TEST_CASE("activity_metrics: rates from the spike record or the estimate", "[sim][metrics][activity]") {
  const auto cfg = config_of(active_keys());
  Simulation sim(make_network(cfg), cfg);
  sim.run_steps(200);
  ActivityMetrics a = sim.activity_metrics();
  CHECK(a.step == 200);
  CHECK(a.nodes == 300);
  CHECK(a.rate_source == "spike_record");
  CHECK(a.rate_window_steps == 200);
  const auto counts = sim.spike_counts();
  const double total = std::accumulate(counts.begin(), counts.end(), 0.0);
  REQUIRE(total > 300);
  const double seconds = 200 * sim.dt() * 1e-3;
  CHECK(a.rate_mean == Approx(total / 300.0 / seconds).epsilon(1e-12));
  std::vector<double> rates;
  for (auto c : counts) rates.push_back(static_cast<double>(c) / seconds);
  std::sort(rates.begin(), rates.end());
  CHECK(a.rate_min == rates.front());
  CHECK(a.rate_max == rates.back());
  // The median of 300 values lies between the 150th and 151st.
  CHECK(a.rate_percentiles[2] == Approx((rates[149] + rates[150]) / 2.0));
  // 5th percentile: position 0.05 * 299 = 14.95.
  CHECK(a.rate_percentiles[0] == Approx(rates[14] + 0.95 * (rates[15] - rates[14])));
  double sq = 0.0;
  for (double r : rates) sq += (r - a.rate_mean) * (r - a.rate_mean);
  CHECK(a.rate_std == Approx(std::sqrt(sq / 300.0)));
  CHECK(a.mean_rate_by_type[1] == Approx(a.rate_mean));
  CHECK(std::isnan(a.mean_rate_by_type[0]));
  // Homeostasis is off: the branching ratio comes from the spike record, when it can tell.
  CHECK(a.branching_source != "homeostasis");
  CHECK(std::isnan(a.branching_ratio) == (a.branching_source == "none"));
  // clear_spikes starts a new window.
  sim.clear_spikes();
  sim.run_steps(50);
  a = sim.activity_metrics();
  CHECK(a.rate_window_steps == 50);
  const auto later = sim.spike_counts();
  CHECK(a.rate_mean == Approx(std::accumulate(later.begin(), later.end(), 0.0) / 300.0 / (50 * sim.dt() * 1e-3)));

  // Without recording and homeostasis there is no rate.
  auto quiet = active_keys();
  quiet["record.spikes"] = "false";
  const auto qcfg = config_of(quiet);
  Simulation q(make_network(qcfg), qcfg);
  q.run_steps(20);
  a = q.activity_metrics();
  CHECK(a.rate_source == "none");
  CHECK(std::isnan(a.rate_mean));

  // With homeostasis: the running estimate and the branching ratio of the last window.
  auto homeo = active_keys();
  homeo["homeostasis.enabled"] = "true";
  const auto hcfg = config_of(homeo);
  Simulation h(make_network(hcfg), hcfg);
  h.run_steps(200);
  a = h.activity_metrics();
  CHECK(a.rate_source == "rate");
  const std::vector<double> rate = sgtest::state_of(h, "rate");
  CHECK(a.rate_mean == Approx(std::accumulate(rate.begin(), rate.end(), 0.0) / 300.0).epsilon(1e-12));
  REQUIRE_FALSE(h.homeostasis().branching.empty());
  CHECK(a.branching_ratio == h.homeostasis().branching_ratio);
  CHECK(a.synaptic_gain == h.homeostasis().synaptic_gain);
}

TEST_CASE("activity_metrics: energy distribution and ledger totals", "[sim][metrics][energy]") {
  auto keys = active_keys();
  keys["energy.enabled"] = "true";
  keys["network.n"] = "64";
  keys["network.k_in"] = "8";
  const auto cfg = config_of(keys);
  Simulation sim(make_network(cfg), cfg);
  const double cap = cfg.real("energy.cap");
  // Every node at the same energy: one bin, entropy 0.
  std::vector<double> e(64, 2.0);
  sgtest::set(sim, "energy", e);
  ActivityMetrics a = sim.activity_metrics();
  CHECK(a.energy_entropy_bits == 0.0);
  CHECK(a.energy_mean == Approx(2.0));
  CHECK(a.energy_variance == Approx(0.0).margin(1e-12));
  CHECK(a.energy_histogram[12] == 64);  // 2.0 / 5 * 32 = 12.8
  // Two nodes in the middle of each of the 32 bins: uniform, log2(32) = 5 bits.
  for (int k = 0; k < 64; ++k) e[k] = (static_cast<double>(k / 2) + 0.5) / kEnergyBins * cap;
  sgtest::set(sim, "energy", e);
  a = sim.activity_metrics();
  CHECK(a.energy_entropy_bits == Approx(5.0).epsilon(1e-12));
  CHECK(a.energy_total == Approx(std::accumulate(e.begin(), e.end(), 0.0)).epsilon(1e-6));
  // Half at 0, half at the cap: 1 bit.
  for (int k = 0; k < 64; ++k) e[k] = k < 32 ? 0.0 : cap;
  sgtest::set(sim, "energy", e);
  a = sim.activity_metrics();
  CHECK(a.energy_entropy_bits == Approx(1.0).epsilon(1e-12));
  CHECK(a.energy_variance == Approx(cap * cap / 4.0).epsilon(1e-9));
  CHECK(a.ledger.steps == 0);

  sim.run_steps(120);
  const LedgerTotals& t = sim.ledger_totals();
  const auto& hist = sim.ledger_history();
  REQUIRE(hist.size() == 120);
  CHECK(t.steps == 120);
  double cost = 0.0, metabolism = 0.0, flow = 0.0;
  for (const auto& l : hist) {
    cost += l.spike_cost;
    metabolism += l.metabolism;
    flow += l.flow_out;
  }
  CHECK(t.spike_cost == Approx(cost).epsilon(1e-12));
  CHECK(t.metabolism == Approx(metabolism).epsilon(1e-12));
  CHECK(t.flow_out == Approx(flow).epsilon(1e-12));
  CHECK(t.spike_cost > 0.0);
  CHECK(t.initial_total == hist.front().total_before);
  CHECK(t.final_total == hist.back().total_after);
  CHECK(std::fabs(t.error()) < 1e-3);
  CHECK(sim.activity_metrics().ledger.spike_cost == t.spike_cost);
  // The totals outlive the per-step history.
  sim.clear_ledger_history();
  sim.run_steps(1);
  CHECK(sim.ledger_totals().steps == 121);
}

TEST_CASE("metrics service: periodic samples every metrics.interval", "[sim][metrics][service]") {
  auto keys = active_keys();
  keys["energy.enabled"] = "true";
  keys["metrics.interval"] = "10.0";
  keys["sim.dt"] = "0.5";
  Simulation sim(make_network(config_of(keys)), config_of(keys));
  const auto names = sim.service_names();
  CHECK(std::find(names.begin(), names.end(), "graph") != names.end());
  sim.run_steps(65);  // interval = 20 steps: after steps 19, 39, 59
  const auto& h = sim.metrics_history();
  REQUIRE(h.size() == 3);
  CHECK(h[0].step == 19);
  CHECK(h[2].step == 59);
  CHECK_FALSE(h[0].has_structure);
  CHECK(h[0].activity.step == 20);
  CHECK(h[0].activity.ledger.steps == 20);
  CHECK(h[2].activity.ledger.steps == 60);
  // A sample equals the on-demand metrics at the same moment.
  Simulation twin(make_network(config_of(keys)), config_of(keys));
  twin.run_steps(60);
  const ActivityMetrics now = twin.activity_metrics();
  CHECK(now.rate_mean == h[2].activity.rate_mean);
  CHECK(now.energy_entropy_bits == h[2].activity.energy_entropy_bits);
  CHECK(now.energy_mean == h[2].activity.energy_mean);
  CHECK(now.ledger.final_total == h[2].activity.ledger.final_total);
  CHECK(now.ledger.spike_cost == h[2].activity.ledger.spike_cost);
  sim.clear_metrics_history();
  CHECK(sim.metrics_history().empty());

  // With metrics.structure: validation and structure metrics, without labels.
  keys["metrics.structure"] = "true";
  keys["metrics.samples"] = "20";
  Simulation s(make_network(config_of(keys)), config_of(keys));
  s.run_steps(20);
  REQUIRE(s.metrics_history().size() == 1);
  const MetricsSample& m = s.metrics_history()[0];
  CHECK(m.has_structure);
  CHECK(m.validation.ok);
  CHECK(m.graph.degrees.nodes == 300);
  CHECK(m.graph.degrees.edges == 300 * 20);
  CHECK(m.graph.paths.sources == 20);
  CHECK_FALSE(m.graph.paths.exact);
  CHECK(m.graph.weak.count == 1);
  CHECK(m.graph.weak.labels.empty());
  CHECK(m.graph.spectral.perron_root > 0.0);

  // Off by default.
  Simulation off(make_network(config_of(active_keys())), config_of(active_keys()));
  off.run_steps(30);
  CHECK(off.metrics_history().empty());
}
