// spikegraph/sim/records.hpp
// What a simulation records: the spike record (step, node) and monitor samples
// (chosen variables of chosen nodes every k steps). Plain data, owned by the
// Simulation; read them between runs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "spikegraph/core/types.hpp"

namespace spikegraph {

/// Spikes in emission order: ascending step, ascending node within a step.
struct SpikeRecord {
  std::vector<std::int64_t> steps;
  std::vector<index_t> nodes;
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
};

}  // namespace spikegraph
