// Graph management and analysis (graph/analysis.hpp, sim/metrics.hpp): module-level
// functions on a Graph or a Simulation that return dicts of numbers and numpy arrays;
// python/spikegraph/analysis.py and Simulation wrap them. Long computations release
// the GIL.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>

#include <optional>

#include "common.hpp"
#include "spikegraph/core/error.hpp"
#include "spikegraph/graph/analysis.hpp"
#include "spikegraph/graph/graph.hpp"
#include "spikegraph/sim/branching.hpp"
#include "spikegraph/sim/metrics.hpp"
#include "spikegraph/sim/simulation.hpp"

namespace spikegraph::bindings {

namespace {

using U8 = nb::ndarray<const std::uint8_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using F32 = nb::ndarray<const float, nb::ndim<1>, nb::c_contig, nb::device::cpu>;

const char* const kKindNames[kEdgeKindCount] = {"excitatory", "inhibitory", "modulatory", "gated"};
const char* const kTypeNames[kNodeTypeCount] = {"sensory", "dynamic", "oscillator", "integrator",
                                                "relay", "highway", "workspace"};

nb::dict report_dict(const ValidationReport& r) {
  nb::dict d;
  d["ok"] = r.ok;
  nb::list problems;
  for (const auto& p : r.problems) problems.append(nb::str(p.c_str()));
  d["problems"] = problems;
  d["problem_count"] = r.problem_count;
  return d;
}

template <class T>
nb::object array_of(const std::vector<T>& v) {
  return owned_array(std::vector<T>(v));
}

nb::dict metrics_dict(GraphMetrics&& m) {
  nb::dict d;
  d["nodes"] = m.degrees.nodes;
  d["edges"] = m.degrees.edges;
  d["in_degree_histogram"] = owned_array(std::move(m.degrees.in_histogram));
  d["out_degree_histogram"] = owned_array(std::move(m.degrees.out_histogram));
  d["mean_degree"] = m.degrees.mean_in;
  d["max_in_degree"] = m.degrees.max_in;
  d["max_out_degree"] = m.degrees.max_out;
  nb::dict weights;
  for (int k = 0; k < kEdgeKindCount; ++k) {
    const WeightStats& w = m.weights[k];
    nb::dict wk;
    wk["count"] = w.count;
    wk["mean"] = w.mean;
    wk["std"] = w.std;
    wk["min"] = w.min;
    wk["max"] = w.max;
    weights[kKindNames[k]] = wk;
  }
  d["weights"] = weights;
  d["weak_components"] = m.weak.count;
  d["largest_weak_component"] = m.weak.largest;
  d["weak_component_sizes"] = owned_array(std::move(m.weak.sizes));
  d["weak_component"] = owned_array(std::move(m.weak.labels));
  d["strong_components"] = m.strong.count;
  d["largest_strong_component"] = m.strong.largest;
  d["strong_component_sizes"] = owned_array(std::move(m.strong.sizes));
  d["strong_component"] = owned_array(std::move(m.strong.labels));
  d["clustering"] = m.clustering.average;
  d["clustering_nodes"] = m.clustering.nodes;
  d["clustering_exact"] = m.clustering.exact;
  d["triangles"] = m.clustering.triangles;
  d["mean_path_length"] = m.paths.mean_length;
  d["reachable_fraction"] = m.paths.reachable_fraction;
  d["path_sources"] = m.paths.sources;
  d["reachable_pairs"] = m.paths.reachable_pairs;
  d["max_path_length"] = m.paths.max_length;
  d["paths_exact"] = m.paths.exact;
  d["spectral_radius"] = m.spectral.spectral_radius;
  d["perron_root"] = m.spectral.perron_root;
  d["power_iterations"] = m.spectral.iterations;
  d["spectral_spread"] = m.spectral.spread;
  nb::dict s;
  s["degrees"] = m.seconds.degrees;
  s["weights"] = m.seconds.weights;
  s["weak_components"] = m.seconds.weak_components;
  s["strong_components"] = m.seconds.strong_components;
  s["clustering"] = m.seconds.clustering;
  s["paths"] = m.seconds.paths;
  s["spectral"] = m.seconds.spectral;
  d["seconds"] = s;
  return d;
}

nb::dict totals_dict(const LedgerTotals& t) {
  nb::dict d;
  d["steps"] = t.steps;
  d["initial_total"] = t.initial_total;
  d["inflow"] = t.inflow;
  d["spike_cost"] = t.spike_cost;
  d["metabolism"] = t.metabolism;
  d["flow_out"] = t.flow_out;
  d["flow_in"] = t.flow_in;
  d["overflow"] = t.overflow;
  d["transfers"] = t.transfers;
  d["birth_cost"] = t.birth_cost;
  d["final_total"] = t.final_total;
  d["error"] = t.error();
  return d;
}

nb::dict activity_dict(const ActivityMetrics& a) {
  nb::dict d;
  d["step"] = a.step;
  d["nodes"] = a.nodes;
  d["rate_source"] = a.rate_source;
  d["rate_window_steps"] = a.rate_window_steps;
  d["rate_mean"] = a.rate_mean;
  d["rate_std"] = a.rate_std;
  d["rate_min"] = a.rate_min;
  d["rate_max"] = a.rate_max;
  d["rate_percentiles"] = owned_array(std::vector<double>(a.rate_percentiles.begin(), a.rate_percentiles.end()));
  d["rate_percentile_levels"] =
      owned_array(std::vector<double>(kRatePercentileLevels.begin(), kRatePercentileLevels.end()));
  nb::dict by_type;
  for (int t = 0; t < kNodeTypeCount; ++t) by_type[kTypeNames[t]] = a.mean_rate_by_type[t];
  d["mean_rate_by_type"] = by_type;
  d["branching_ratio"] = a.branching_ratio;
  d["branching_amplitude"] = a.branching_amplitude;
  d["branching_quality"] = a.branching_quality;
  d["branching_source"] = a.branching_source;
  d["synaptic_gain"] = a.synaptic_gain;
  d["energy_mean"] = a.energy_mean;
  d["energy_variance"] = a.energy_variance;
  d["energy_total"] = a.energy_total;
  d["energy_entropy_bits"] = a.energy_entropy_bits;
  d["energy_histogram"] =
      owned_array(std::vector<std::uint64_t>(a.energy_histogram.begin(), a.energy_histogram.end()));
  d["energy_cap"] = a.energy_cap;
  d["ledger"] = totals_dict(a.ledger);
  return d;
}

GraphView standalone_view(const Graph& g, double modulatory_gain, double relay_gain, const std::optional<U8>& alive,
                          const std::optional<F32>& weights, const char* op) {
  GraphView v(g);
  v.modulatory_gain = modulatory_gain;
  v.set_outgoing_gain(relay_gain);
  if (alive) {
    if (alive->shape(0) != g.num_nodes()) {
      throw InputError(std::string(op) + ": alive has " + std::to_string(alive->shape(0)) +
                       " flags, expected one per node (" + std::to_string(g.num_nodes()) + ")");
    }
    v.alive = alive->data();
  }
  if (weights) {
    if (weights->shape(0) != g.num_edges()) {
      throw InputError(std::string(op) + ": weights has " + std::to_string(weights->shape(0)) +
                       " values, expected one per edge (" + std::to_string(g.num_edges()) + ")");
    }
    v.weights = weights->data();
  }
  return v;
}

AnalysisOptions options_of(std::int64_t samples, std::int64_t power_iterations, std::int64_t seed,
                           std::int64_t threads, const char* op) {
  if (samples < 0) throw InputError(std::string(op) + ": samples must be >= 0, got " + std::to_string(samples));
  if (power_iterations < 1 || power_iterations > 1000000) {
    throw InputError(std::string(op) + ": power_iterations must be in [1, 1000000], got " +
                     std::to_string(power_iterations));
  }
  if (seed < 0) throw InputError(std::string(op) + ": seed must be >= 0, got " + std::to_string(seed));
  if (threads < 0 || threads > 4096) {
    throw InputError(std::string(op) + ": threads must be in [0, 4096], got " + std::to_string(threads));
  }
  AnalysisOptions o;
  o.samples = static_cast<std::size_t>(samples);
  o.power_iterations = static_cast<int>(power_iterations);
  o.seed = static_cast<std::uint64_t>(seed);
  o.threads = static_cast<int>(threads);
  return o;
}

}  // namespace

void register_analysis(nb::module_& m) {
  m.def("validate_graph", [](std::shared_ptr<Graph> g, std::int64_t threads, std::optional<U8> alive,
                             std::optional<F32> weights) {
    const GraphView v = standalone_view(*g, 0.5, 1.5, alive, weights, "validate");
    ValidationReport r;
    {
      nb::gil_scoped_release release;
      r = validate_graph(v, static_cast<int>(threads));
    }
    return report_dict(r);
  }, nb::arg("graph"), nb::arg("threads") = 0, nb::arg("alive") = nb::none(), nb::arg("weights") = nb::none(),
        "Validation report of a graph: {'ok', 'problems', 'problem_count'}.");
  m.def("graph_metrics", [](std::shared_ptr<Graph> g, std::int64_t samples, std::int64_t power_iterations,
                            std::int64_t seed, std::int64_t threads, double modulatory_gain, double relay_gain,
                            std::optional<U8> alive, std::optional<F32> weights) {
    const AnalysisOptions o = options_of(samples, power_iterations, seed, threads, "graph_metrics");
    const GraphView v = standalone_view(*g, modulatory_gain, relay_gain, alive, weights, "graph_metrics");
    GraphMetrics r;
    {
      nb::gil_scoped_release release;
      r = graph_metrics(v, o);
    }
    return metrics_dict(std::move(r));
  }, nb::arg("graph"), nb::arg("samples") = 0, nb::arg("power_iterations") = 100, nb::arg("seed") = 1,
        nb::arg("threads") = 0, nb::arg("modulatory_gain") = 0.5, nb::arg("relay_gain") = 1.5,
        nb::arg("alive") = nb::none(), nb::arg("weights") = nb::none(),
        "Structure metrics of a graph as a dict of numbers and numpy arrays.");

  m.def("simulation_validate", [](Simulation& sim) {
    ValidationReport r;
    {
      nb::gil_scoped_release release;
      r = sim.validate();
    }
    return report_dict(r);
  }, nb::arg("simulation"), "Validation report of the simulation's graph and state.");
  m.def("simulation_graph_metrics", [](Simulation& sim, std::optional<std::int64_t> samples,
                                       std::optional<std::int64_t> power_iterations, std::optional<std::int64_t> seed) {
    const AnalysisOptions cfg = analysis_options(sim.config());
    const AnalysisOptions o =
        options_of(samples.value_or(static_cast<std::int64_t>(cfg.samples)),
                   power_iterations.value_or(cfg.power_iterations),
                   seed.value_or(static_cast<std::int64_t>(cfg.seed)), cfg.threads, "graph_metrics");
    GraphMetrics r;
    {
      nb::gil_scoped_release release;
      r = sim.graph_metrics(o);
    }
    return metrics_dict(std::move(r));
  }, nb::arg("simulation"), nb::arg("samples") = nb::none(), nb::arg("power_iterations") = nb::none(),
        nb::arg("seed") = nb::none(),
        "Structure metrics of the current graph (alive nodes, learned weights); None = the configured value.");
  m.def("estimate_branching", [](nb::ndarray<const double, nb::ndim<1>, nb::c_contig, nb::device::cpu> activity,
                                  int max_lag) {
    if (max_lag < 1) throw InputError("branching_ratio: max_lag must be >= 1, got " + std::to_string(max_lag));
    const BranchingEstimate e = estimate_branching(activity.data(), activity.shape(0), max_lag);
    nb::dict d;
    d["m"] = e.m;
    d["amplitude"] = e.amplitude;
    d["quality"] = e.quality;
    d["slopes"] = owned_array(std::vector<double>(e.slopes));
    d["bins"] = e.bins;
    return d;
  }, nb::arg("activity"), nb::arg("max_lag"),
     "Multistep-regression branching ratio of an activity series (spikes per bin).");
  m.def("simulation_activity_metrics", [](Simulation& sim) { return activity_dict(sim.activity_metrics()); },
        nb::arg("simulation"), "Rates, branching ratio, energy distribution and ledger totals now.");
  m.def("simulation_ledger_totals", [](const Simulation& sim) { return totals_dict(sim.ledger_totals()); },
        nb::arg("simulation"), "The energy ledger summed over every step since the start.");
  m.def("simulation_metrics_history", [](const Simulation& sim) {
    nb::list out;
    for (const MetricsSample& s : sim.metrics_history()) {
      nb::dict d;
      d["step"] = s.step;
      d["activity"] = activity_dict(s.activity);
      if (s.has_structure) {
        d["validation"] = report_dict(s.validation);
        GraphMetrics g = s.graph;
        nb::dict gd = metrics_dict(std::move(g));
        gd.attr("pop")("weak_component");  // labels are not kept in the history
        gd.attr("pop")("strong_component");
        d["graph"] = gd;
      } else {
        d["validation"] = nb::none();
        d["graph"] = nb::none();
      }
      out.append(d);
    }
    return out;
  }, nb::arg("simulation"), "Samples of the metrics service, oldest first.");
  m.def("simulation_clear_metrics_history", [](Simulation& sim) { sim.clear_metrics_history(); },
        nb::arg("simulation"));
}

}  // namespace spikegraph::bindings
