// spikegraph/sim/records.hpp
// What a simulation records: the spike record (step, node) and monitor samples
// (chosen variables of chosen nodes every k steps), the energy ledger, the homeostasis
// history and the performance counters. Plain data, owned by the services that
// fill them (services/default_services.hpp); read them between runs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <limits>
#include <vector>

#include "spikegraph/core/types.hpp"

namespace spikegraph {

/// Spikes in emission order: ascending step, ascending node within a step.
struct SpikeRecord {
  std::vector<std::int64_t> steps;
  std::vector<index_t> nodes;
  /// First step the record covers (0, or the step of the last Simulation::clear_spikes).
  std::int64_t start_step = 0;
  std::size_t size() const { return nodes.size(); }
  void clear() {
    steps.clear();
    nodes.clear();
  }
};

/// Monitor samples: values[v][s * nodes.size() + k] is variable `variables[v]`
/// of node `nodes[k]` at sample s, taken after step `steps[s]`.
struct MonitorRecord {
  std::vector<std::string> variables;
  std::vector<index_t> nodes;
  std::int64_t every_steps = 1;
  std::vector<std::int64_t> steps;
  std::vector<std::vector<double>> values;
  void clear() {
    steps.clear();
    for (auto& v : values) v.clear();
  }
};

/// What a recorder records (Simulation::add_recorder).
enum class RecorderKind : std::uint8_t {
  spikes,  ///< the spikes of its nodes: (step, node) in emission order
  state,   ///< chosen variables of its nodes every interval_steps steps
  rate     ///< the spike count of its nodes per bin of interval_steps steps
};

/// "spikes", "state" or "rate".
const char* recorder_kind_name(RecorderKind kind);

/// A recorder's definition: what it records, of which nodes, how often.
struct RecorderSpec {
  std::string name;                    ///< unique; letters, digits and '_' (a file name part)
  RecorderKind kind = RecorderKind::spikes;
  std::vector<index_t> nodes;          ///< node ids, ascending, no repeats, at least one
  std::vector<std::string> variables;  ///< state: the variables sampled (monitorable ones); else empty
  std::int64_t interval_steps = 1;     ///< state: sampling period; rate: bin width (steps, >= 1)
};

/// A recorder and what it holds (bounded by record.horizon, or streamed with
/// record.stream like the spike record). Steps are absolute simulation steps.
struct RecorderData {
  RecorderSpec spec;
  std::int64_t origin = 0;             ///< the step it was added at; rate bins start here
  std::int64_t start_step = 0;         ///< the first step it covers now
  /// spikes: the step of each spike; state: the step of each sample (taken after that
  /// step, at steps origin + k * interval); rate: the first step of each completed bin.
  std::vector<std::int64_t> steps;
  std::vector<index_t> nodes;          ///< spikes: the node of each spike
  /// state: values[v][s * spec.nodes.size() + k] is variable v of node spec.nodes[k] at sample s.
  std::vector<std::vector<double>> values;
  std::vector<std::uint64_t> counts;   ///< rate: the spikes of each completed bin
  std::uint64_t bin_count = 0;         ///< rate: the spikes of the bin in progress
};

/// One step's energy balance (docs/model.md step 4). Sums over alive nodes, in double.
/// Conservation: total_after = total_before + inflow - spike_cost - metabolism
/// - overflow - transfers - birth_cost, to float rounding (error() returns the difference);
/// each entry has one writer (StepContext::ledger);
/// flow_out and flow_in are equal up to rounding (flow moves energy, never makes it).
struct EnergyLedger {
  std::int64_t step = -1;
  double total_before = 0.0;
  double inflow = 0.0;       ///< sensory input (frames set sensory energy)
  double spike_cost = 0.0;
  double metabolism = 0.0;
  double flow_out = 0.0;     ///< energy that left sources along edges
  double flow_in = 0.0;      ///< energy that arrived at targets
  double overflow = 0.0;     ///< removed by the clamp to [0, cap]
  double transfers = 0.0;    ///< energy of the nodes that died (structural plasticity)
  double total_after = 0.0;
  double birth_cost = 0.0;   ///< the part of birth costs the children did not get
  double error() const {
    return total_after - (total_before + inflow - spike_cost - metabolism - overflow - transfers - birth_cost);
  }
};

/// The energy ledger summed over every step since the start (the coordinator adds
/// each step's EnergyLedger after the step): conservation over the whole run is
/// final_total = initial_total + inflow - spike_cost - metabolism - overflow - transfers
/// - birth_cost.
struct LedgerTotals {
  std::int64_t steps = 0;       ///< steps with a ledger (energy.enabled)
  double initial_total = 0.0;   ///< total_before of the first of them
  double inflow = 0.0;
  double spike_cost = 0.0;
  double metabolism = 0.0;
  double flow_out = 0.0;
  double flow_in = 0.0;
  double overflow = 0.0;
  double transfers = 0.0;
  double final_total = 0.0;     ///< total_after of the last of them
  double birth_cost = 0.0;
  void add(const EnergyLedger& l) {
    if (steps == 0) initial_total = l.total_before;
    inflow += l.inflow;
    spike_cost += l.spike_cost;
    metabolism += l.metabolism;
    flow_out += l.flow_out;
    flow_in += l.flow_in;
    overflow += l.overflow;
    transfers += l.transfers;
    birth_cost += l.birth_cost;
    final_total = l.total_after;
    ++steps;
  }
  double error() const {
    return final_total - (initial_total + inflow - spike_cost - metabolism - overflow - transfers - birth_cost);
  }
};

/// State of the homeostasis service (docs/model.md step 6).
struct HomeostasisState {
  double synaptic_gain = 1.0;          ///< global gain g on recurrent synaptic input
  /// Activity of the input-driven nodes: spikes per bin of homeostasis.bin, the last
  /// homeostasis.window of them, oldest first, and the spikes of the current bin.
  std::vector<double> activity;
  std::uint64_t bin_spikes = 0;
  /// The last multistep-regression estimate (sim/branching.hpp): m (NaN until the
  /// window holds enough bins), the fit's amplitude b and quality R^2.
  double branching_ratio = std::numeric_limits<double>::quiet_NaN();
  double branching_amplitude = std::numeric_limits<double>::quiet_NaN();
  double branching_quality = std::numeric_limits<double>::quiet_NaN();
  std::int64_t updates = 0;           ///< completed homeostasis updates
  std::vector<std::int64_t> steps;    ///< history: step of each update
  std::vector<double> branching;      ///< history: m per update (NaN while there is none)
  std::vector<double> amplitudes;     ///< history: b per update
  std::vector<double> qualities;      ///< history: R^2 per update
  std::vector<double> gains;          ///< history: g after each update
};

/// The horizon of the records (record.horizon): a record keeps at least the entries
/// of the steps >= now - steps; older ones are dropped in batches, each time they
/// amount to as many as the entries kept, so trimming costs O(1) per entry and a
/// record holds fewer than twice the entries of its horizon. steps = 0: keep everything.
struct RecordHorizon {
  std::int64_t steps = 0;
  /// The first step to keep at step `now`.
  std::int64_t cutoff(std::int64_t now) const { return now + 1 - steps; }
  /// Drop the first `old` of `kept + old` entries when due; true when it dropped.
  bool due(std::size_t old, std::size_t total) const { return steps > 0 && old > 0 && 2 * old >= total; }
};

/// The index of the first entry whose step (step_of(entry)) is >= cutoff, for entries
/// in ascending step order.
template <class V, class Step>
std::size_t first_kept(const V& entries, std::int64_t cutoff, Step step_of) {
  std::size_t lo = 0, hi = entries.size();
  while (lo < hi) {
    const std::size_t mid = (lo + hi) / 2;
    if (step_of(entries[mid]) < cutoff) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

/// The same for a list of steps.
inline std::size_t first_kept(const std::vector<std::int64_t>& steps, std::int64_t cutoff) {
  return first_kept(steps, cutoff, [](std::int64_t s) { return s; });
}

/// Drop the first `count` entries of each vector.
template <class... V>
void drop_front(std::size_t count, V&... vectors) {
  (vectors.erase(vectors.begin(), vectors.begin() + static_cast<std::ptrdiff_t>(count)), ...);
}

/// Performance counters since construction (or the last reset).
struct PerfStats {
  std::int64_t steps = 0;
  double seconds_total = 0.0;                 ///< wall time inside run_steps()
  std::vector<std::string> phase_names;       ///< phases that ran
  std::vector<double> phase_seconds;          ///< wall time per phase
  std::uint64_t spikes = 0;
  std::uint64_t synaptic_events = 0;          ///< spikes x out-degree delivered
  std::size_t graph_bytes = 0;
  std::size_t state_bytes = 0;
  std::size_t record_bytes = 0;
  std::uint64_t bytes_to_host = 0;    ///< device-to-host copies (GPU backends; 0 on the CPU)
  std::uint64_t bytes_to_device = 0;  ///< host-to-device copies (GPU backends; 0 on the CPU)
};

}  // namespace spikegraph
