// Analysis of a running simulation (spikegraph/sim/metrics.hpp) and the
// Simulation members that expose it.
#include "spikegraph/sim/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "spikegraph/backend/backend.hpp"
#include "spikegraph/config/schema.hpp"
#include "spikegraph/core/error.hpp"
#include "spikegraph/graph/graph.hpp"
#include "spikegraph/sim/branching.hpp"
#include "spikegraph/sim/simulation.hpp"

namespace spikegraph {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool has_name(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

/// numpy's default percentile: linear interpolation between the order statistics.
double percentile(const std::vector<double>& sorted, double level) {
  if (sorted.empty()) return kNaN;
  const double pos = level / 100.0 * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(sorted.size() - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - static_cast<double>(lo));
}

/// One line per state array with non-finite values: count and the first position.
void check_finite(const std::string& what, const std::string& name, const ArrayRef& a, ValidationReport& r) {
  if (a.dtype != DType::f32 && a.dtype != DType::f64) return;
  std::size_t bad = 0, first = 0;
  double first_value = 0.0;
  for (std::size_t i = 0; i < a.size; ++i) {
    const double x = read_element(a, i);
    if (!std::isfinite(x)) {
      if (bad++ == 0) {
        first = i;
        first_value = x;
      }
    }
  }
  if (bad == 0) return;
  std::ostringstream os;
  os << what << " '" << name << "': " << bad << (bad == 1 ? " value is" : " values are") << " not finite, first "
     << name << "[" << first << "] = " << first_value;
  r.problems.push_back(os.str());
  r.problem_count += bad;
  r.ok = false;
}

void size_problem(const std::string& what, const std::string& name, std::size_t got, std::size_t want,
                  const char* per, ValidationReport& r) {
  r.problems.push_back(what + " '" + name + "' has " + std::to_string(got) + " values, expected " +
                       std::to_string(want) + " (one per " + per + ")");
  ++r.problem_count;
  r.ok = false;
}

}  // namespace

GraphView simulation_view(Backend& backend, const Graph& graph, const config::Config& cfg) {
  GraphView v = GraphView::with_config(graph, cfg);
  const auto names = backend.state_names();
  if (has_name(names, "alive")) {
    const ArrayRef alive = backend.state("alive");
    if (alive.dtype == DType::u8 && alive.size == graph.num_nodes()) v.alive = static_cast<const std::uint8_t*>(alive.data);
  }
  const auto edge_names = backend.edge_state_names();
  if (has_name(edge_names, "weight")) {
    const ArrayRef w = backend.edge_state("weight");
    if (w.dtype == DType::f32 && w.size == graph.num_edges()) v.weights = static_cast<const float*>(w.data);
  }
  return v;
}

ValidationReport validate_simulation(Backend& backend, const Graph& graph, const config::Config& cfg, int threads) {
  const GraphView view = simulation_view(backend, graph, cfg);
  ValidationReport r = validate_graph(view, threads);
  const std::size_t n = graph.num_nodes(), m = graph.num_edges();
  const auto names = backend.state_names();
  if (!has_name(names, "alive")) {
    r.problems.push_back("state 'alive' is missing");
    ++r.problem_count;
    r.ok = false;
  } else if (!view.alive) {
    const ArrayRef a = backend.state("alive");
    if (a.size != n) {
      size_problem("state", "alive", a.size, n, "node", r);
    } else {
      r.problems.push_back(std::string("state 'alive' has dtype ") + dtype_name(a.dtype) + ", expected uint8");
      ++r.problem_count;
      r.ok = false;
    }
  }
  for (const auto& name : names) {
    const ArrayRef a = backend.state(name);
    if (a.size != n) {
      size_problem("state", name, a.size, n, "node", r);
      continue;
    }
    check_finite("state", name, a, r);
  }
  for (const auto& name : backend.edge_state_names()) {
    const ArrayRef a = backend.edge_state(name);
    if (a.size != m) {
      size_problem("edge state", name, a.size, m, "edge", r);
      continue;
    }
    if (name == "weight" && view.weights) continue;  // checked (finite, >= 0) by validate_graph
    check_finite("edge state", name, a, r);
  }
  return r;
}

ActivityMetrics activity_metrics(Backend& backend, const Graph& graph, const config::Config& cfg,
                                 const SpikeRecord& spikes, std::int64_t end_step,
                                 const HomeostasisState& homeostasis, const LedgerTotals& ledger) {
  ActivityMetrics a;
  a.step = end_step;
  a.ledger = ledger;
  const std::size_t n = graph.num_nodes();
  const GraphView view = simulation_view(backend, graph, cfg);
  auto alive = [&](std::size_t i) { return !view.alive || view.alive[i] != 0; };
  std::vector<index_t> nodes;
  nodes.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (alive(i)) nodes.push_back(static_cast<index_t>(i));
  }
  a.nodes = nodes.size();

  // Rates (Hz).
  std::vector<double> rate(n, kNaN);
  const auto names = backend.state_names();
  if (cfg.boolean("homeostasis.enabled") && has_name(names, "rate")) {
    a.rate_source = "rate";
    const ArrayRef r = backend.state("rate");
    for (index_t i : nodes) rate[i] = read_element(r, i);
  } else if (cfg.boolean("record.spikes") && end_step > spikes.start_step) {
    a.rate_source = "spike_record";
    a.rate_window_steps = end_step - spikes.start_step;
    std::vector<std::uint64_t> counts(n, 0);
    for (std::size_t k = 0; k < spikes.size(); ++k) {
      if (spikes.steps[k] >= spikes.start_step && spikes.steps[k] < end_step && spikes.nodes[k] < n) {
        ++counts[spikes.nodes[k]];
      }
    }
    const double seconds = static_cast<double>(a.rate_window_steps) * cfg.real("sim.dt") * 1e-3;
    for (index_t i : nodes) rate[i] = static_cast<double>(counts[i]) / seconds;
  } else {
    a.rate_source = "none";
  }
  std::vector<double> sorted;
  sorted.reserve(nodes.size());
  for (index_t i : nodes) sorted.push_back(rate[i]);
  if (a.rate_source == "none" || sorted.empty()) {
    a.rate_mean = a.rate_std = a.rate_min = a.rate_max = kNaN;
    a.rate_percentiles.fill(kNaN);
    a.mean_rate_by_type.fill(kNaN);
  } else {
    double sum = 0.0;
    for (double x : sorted) sum += x;
    a.rate_mean = sum / static_cast<double>(sorted.size());
    double sq = 0.0;
    for (double x : sorted) sq += (x - a.rate_mean) * (x - a.rate_mean);
    a.rate_std = std::sqrt(sq / static_cast<double>(sorted.size()));
    std::sort(sorted.begin(), sorted.end());
    a.rate_min = sorted.front();
    a.rate_max = sorted.back();
    for (std::size_t k = 0; k < kRatePercentileLevels.size(); ++k) {
      a.rate_percentiles[k] = percentile(sorted, kRatePercentileLevels[k]);
    }
    std::array<double, kNodeTypeCount> type_sum{};
    std::array<std::size_t, kNodeTypeCount> type_count{};
    const auto& types = graph.node_type();
    for (index_t i : nodes) {
      if (types[i] >= kNodeTypeCount) continue;
      type_sum[types[i]] += rate[i];
      ++type_count[types[i]];
    }
    for (int t = 0; t < kNodeTypeCount; ++t) {
      a.mean_rate_by_type[t] = type_count[t] ? type_sum[t] / static_cast<double>(type_count[t]) : kNaN;
    }
  }

  // Branching ratio (multistep regression): homeostasis' latest estimate, else one of
  // the spike record's activity of input-driven nodes, with homeostasis' bin and lags.
  a.synaptic_gain = homeostasis.synaptic_gain;
  a.branching_ratio = a.branching_amplitude = a.branching_quality = kNaN;
  a.branching_source = "none";
  if (!std::isnan(homeostasis.branching_ratio)) {
    a.branching_source = "homeostasis";
    a.branching_ratio = homeostasis.branching_ratio;
    a.branching_amplitude = homeostasis.branching_amplitude;
    a.branching_quality = homeostasis.branching_quality;
  } else if (!spikes.steps.empty()) {
    std::vector<std::uint8_t> counted(n, 0);
    const auto& types = graph.node_type();
    for (std::size_t i = 0; i < n; ++i) counted[i] = kNodeTypes[types[i]].ignores_input ? 0 : 1;
    const std::vector<double> activity =
        binned_activity(spikes.steps.data(), spikes.nodes.data(), spikes.steps.size(), spikes.start_step, end_step,
                        cfg.steps("homeostasis.bin", 1), counted);
    const BranchingEstimate e =
        estimate_branching(activity.data(), activity.size(), static_cast<int>(cfg.integer("homeostasis.max_lag")));
    if (!std::isnan(e.m)) {
      a.branching_source = "spike_record";
      a.branching_ratio = e.m;
      a.branching_amplitude = e.amplitude;
      a.branching_quality = e.quality;
    }
  }

  // Energy.
  a.energy_cap = cfg.real("energy.cap");
  if (!nodes.empty() && has_name(names, "energy")) {
    const ArrayRef e = backend.state("energy");
    double sum = 0.0;
    for (index_t i : nodes) sum += read_element(e, i);
    a.energy_total = sum;
    a.energy_mean = sum / static_cast<double>(nodes.size());
    double sq = 0.0;
    for (index_t i : nodes) {
      const double d = read_element(e, i) - a.energy_mean;
      sq += d * d;
    }
    a.energy_variance = sq / static_cast<double>(nodes.size());
    for (index_t i : nodes) {
      const double x = read_element(e, i) / a.energy_cap;
      const double clamped = std::isfinite(x) ? std::min(1.0, std::max(0.0, x)) : 0.0;
      const int bin = std::min(kEnergyBins - 1, static_cast<int>(clamped * kEnergyBins));
      ++a.energy_histogram[bin];
    }
    double h = 0.0;
    for (std::uint64_t c : a.energy_histogram) {
      if (c == 0) continue;
      const double p = static_cast<double>(c) / static_cast<double>(nodes.size());
      h -= p * std::log2(p);
    }
    a.energy_entropy_bits = h;
  } else {
    a.energy_mean = a.energy_variance = kNaN;
  }
  return a;
}

AnalysisOptions analysis_options(const config::Config& cfg) {
  AnalysisOptions o;
  o.samples = static_cast<std::size_t>(cfg.integer("metrics.samples"));
  o.power_iterations = static_cast<int>(cfg.integer("metrics.power_iterations"));
  o.seed = static_cast<std::uint64_t>(cfg.integer("sim.seed"));
  o.threads = static_cast<int>(cfg.integer("sim.threads"));
  return o;
}

}  // namespace spikegraph
