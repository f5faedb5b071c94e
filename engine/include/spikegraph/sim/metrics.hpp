// spikegraph/sim/metrics.hpp
// Graph management and analysis of a running simulation (docs/model.md "Graph
// management and analysis"): validation of the graph together with the live state,
// the structure metrics of graph/analysis.hpp on the current graph (alive nodes,
// learned weights), and activity/energy metrics. Simulation::validate(),
// graph_metrics(), activity_metrics() and metrics_history() call these; the
// "metrics" service (services/default_services.hpp) records them every
// metrics.interval ms.
//
// Ownership: the functions borrow the backend, graph and records for the call;
// results are plain values.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "spikegraph/core/types.hpp"
#include "spikegraph/graph/analysis.hpp"
#include "spikegraph/sim/records.hpp"

namespace spikegraph {

class Backend;
namespace config {
class Config;
}

/// Bins of the energy histogram behind ActivityMetrics::energy_entropy_bits.
constexpr int kEnergyBins = 32;
/// Percentile levels (in %) of ActivityMetrics::rate_percentiles.
constexpr std::array<double, 5> kRatePercentileLevels = {5.0, 25.0, 50.0, 75.0, 95.0};

/// Activity and energy of the alive nodes at one moment.
struct ActivityMetrics {
  std::int64_t step = 0;  ///< steps completed when measured
  std::size_t nodes = 0;  ///< alive nodes
  /// Where the rates come from: "rate" (the running estimate, kept while
  /// homeostasis.enabled), "spike_record" (spikes per node over the recorded window
  /// divided by its duration), or "none" (neither is available: rates are NaN).
  std::string rate_source = "none";
  /// Steps of the window of "spike_record" rates (since the start or the last clear_spikes).
  std::int64_t rate_window_steps = 0;
  double rate_mean = 0.0;  ///< Hz, over alive nodes
  double rate_std = 0.0;   ///< Hz, population standard deviation
  double rate_min = 0.0;
  double rate_max = 0.0;
  /// Rates at kRatePercentileLevels (linear interpolation between order statistics,
  /// numpy's default).
  std::array<double, kRatePercentileLevels.size()> rate_percentiles{};
  /// Mean rate of the alive nodes of each NodeType (NaN where there are none).
  std::array<double, kNodeTypeCount> mean_rate_by_type{};
  /// The branching ratio m by multistep regression (sim/branching.hpp), its fit's
  /// amplitude b and quality R^2, from `branching_source`: "homeostasis" (its latest
  /// estimate), "spike_record" (the recorded spikes of input-driven nodes, in bins of
  /// homeostasis.bin), or "none" (NaN: too little activity to tell).
  double branching_ratio = 0.0;
  double branching_amplitude = 0.0;
  double branching_quality = 0.0;
  std::string branching_source = "none";
  double synaptic_gain = 1.0;  ///< homeostasis' global gain
  double energy_mean = 0.0;      ///< over alive nodes
  double energy_variance = 0.0;  ///< population variance
  double energy_total = 0.0;
  /// Shannon entropy in bits of the histogram of alive nodes' energy over kEnergyBins
  /// equal bins of [0, energy.cap] (0: all in one bin; log2(kEnergyBins) = 5: uniform).
  double energy_entropy_bits = 0.0;
  std::array<std::uint64_t, kEnergyBins> energy_histogram{};
  double energy_cap = 0.0;
  /// Energy ledger totals since the start, up to and including the last completed step.
  LedgerTotals ledger;
};

/// One record of the "metrics" service.
struct MetricsSample {
  std::int64_t step = 0;  ///< the step after which it was taken (0-based)
  ActivityMetrics activity;
  bool has_structure = false;  ///< metrics.structure: validation and graph are filled
  ValidationReport validation;
  GraphMetrics graph;          ///< component labels are not kept in the history
};

/// The analysis view of a simulation's current graph: its alive flags, learned weights
/// and the gains of `cfg`.
GraphView simulation_view(Backend& backend, const Graph& graph, const config::Config& cfg);

/// validate_graph() of the simulation view, plus: every state array (Backend::
/// state_names) one value per node and free of NaN/inf, every per-edge state array one
/// value per edge and finite, "alive" present as uint8. `threads`: 0 = all.
ValidationReport validate_simulation(Backend& backend, const Graph& graph, const config::Config& cfg,
                                     int threads = 0);

/// Activity metrics after `end_step` steps. `spikes` is the record (it covers steps
/// [spikes.start_step, end_step)), `homeostasis` and `ledger` the coordinator's.
ActivityMetrics activity_metrics(Backend& backend, const Graph& graph, const config::Config& cfg,
                                 const SpikeRecord& spikes, std::int64_t end_step,
                                 const HomeostasisState& homeostasis, const LedgerTotals& ledger);

/// The analysis options of a configuration: metrics.samples, metrics.power_iterations,
/// sim.seed and sim.threads.
AnalysisOptions analysis_options(const config::Config& cfg);

}  // namespace spikegraph
